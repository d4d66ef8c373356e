"""CI guard: a skipped database/schema test counts as a failure when BRIDGE_REQUIRE_DB=1 (.ci/run sets it)."""

from __future__ import annotations

import os
from typing import Any

DB_FIXTURES = frozenset({"db_server_url", "fresh_db_url", "shop", "multishop", "make_db", "schemas_checked"})
DB_MARKERS = ("db", "schemas")


def guard_report(item: Any, report: Any) -> None:
    """Turn the skip of a test that needs the database into a failure naming the reason."""
    if not report.skipped or os.environ.get("BRIDGE_REQUIRE_DB") != "1":
        return
    uses_db = bool(DB_FIXTURES & set(getattr(item, "fixturenames", ()))) or any(
        item.get_closest_marker(m) for m in DB_MARKERS
    )
    if uses_db:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"database/schema test skipped while BRIDGE_REQUIRE_DB=1: {reason}"
