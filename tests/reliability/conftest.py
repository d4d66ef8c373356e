"""Fixtures of the reliability suite (the shop fixtures come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.e2e.import_support import API_KEY


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    """The Mirakl simulator on loopback; accepted orders are debited at the next OR11 poll."""
    with MiraklSimulator(api_key=API_KEY) as s:
        yield s


# --- a database user with exactly the documented GRANTs --------------------------------------------

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def documented_grants() -> list[str]:
    """The GRANT statements of docs/security.md (between the grants:begin / grants:end markers)."""
    doc = SECURITY_DOC.read_text(encoding="utf-8")
    block = doc.split("<!-- grants:begin -->", 1)[1].split("<!-- grants:end -->", 1)[0]
    return [ln.strip() for ln in block.splitlines() if ln.strip().upper().startswith("GRANT ")]


@dataclass(frozen=True)
class LimitedUser:
    url: str  # the shop database, as this user (password included)
    user: str
    password: str
    grants: list[str]


@pytest.fixture
def limited_user(shop: Any) -> Iterator[LimitedUser]:
    """A MariaDB user created with the GRANTs of docs/security.md on the test shop's database only."""
    user, password = f"mbt_{secrets.token_hex(4)}", "pw-" + secrets.token_urlsafe(18)
    root = create_engine(shop.url, isolation_level="AUTOCOMMIT")
    tables = set(inspect(root).get_table_names())
    grants = []
    for stmt in documented_grants():
        table = re.search(r"ON `shop_db`\.`([^`]+)`", stmt)
        assert table, stmt
        if table.group(1).startswith("ps_") and not table.group(1).startswith("ps_mirakl_bridge_") \
                and table.group(1) not in tables:
            continue  # a PrestaShop table this version does not have (the doc says: leave it out)
        grants.append(stmt.replace("`shop_db`", f"`{shop.name}`").replace(
            "'mirakl_bridge'@'127.0.0.1'", f"'{user}'@'%'").replace("`ps_", f"`{shop.prefix}"))
    try:
        with root.connect() as conn:
            conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY :pw"), {"pw": password})
            for stmt in grants:
                conn.execute(text(stmt))
        url = make_url(shop.url).set(username=user, password=password).render_as_string(hide_password=False)
        yield LimitedUser(url=url, user=user, password=password, grants=grants)
    finally:
        with root.connect() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
        root.dispose()
