"""Every log event the code emits is documented in docs/support.md (the support guide cannot drift)."""

from __future__ import annotations

from pathlib import Path

from bridge.logevents import scan

ROOT = Path(__file__).resolve().parents[2]


def test_every_log_event_is_in_the_support_guide() -> None:
    guide = (ROOT / "docs" / "support.md").read_text(encoding="utf-8")
    missing = [name for name in scan(ROOT / "bridge") if f"`{name}`" not in guide]
    assert not missing, f"docs/support.md lacks: {missing}"


def test_the_scanner_finds_events_chosen_at_run_time() -> None:
    events = scan(ROOT / "bridge")
    assert {"order.accepted", "order.left_pending", "mirakl.request", "task.finished"} <= set(events)
    assert "order_id" in events["order.left_pending"].fields
