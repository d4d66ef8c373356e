"""Ship rules: confirm with a code or a name, wait for tracking, already shipped, cancellations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bridge.domain.orders import Customer, MiraklOrder, OrderLine
from bridge.domain.shipping import (
    AlreadyShipped,
    CancelOrder,
    Confirm,
    PartialCancellation,
    ShipRules,
    ShopShipment,
    Tracking,
    WaitForTracking,
    decide,
    tracking_url,
)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
CANCELLED_STATE = 6


def shipment(**kw: object) -> ShopShipment:
    base = ShopShipment(
        mirakl_order_id="M-1",
        id_order=42,
        reference="ABCDEFGHI",
        current_state=4,
        shipped=True,
        shipped_since=NOW - timedelta(minutes=10),
        tracking_number="6A123",
        carrier_reference=1,
        carrier_name="Colissimo",
        carrier_url="https://track.example/?code=@",
        units=3,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def mirakl(
    state: str = "SHIPPING",
    line_states: tuple[str, ...] = ("SHIPPING", "SHIPPING"),
    quantities: tuple[int, ...] = (1, 2),
) -> MiraklOrder:
    pairs = enumerate(zip(line_states, quantities, strict=True), 1)
    lines = tuple(OrderLine(f"M-1-{i}", f"SKU-{i}", q, s) for i, (s, q) in pairs)
    return MiraklOrder(
        "M-1", state, NOW - timedelta(days=1), NOW - timedelta(hours=1), "EUR", lines, Customer("C-1")
    )


OPEN = shipment(shipped=False, current_state=2)  # imported, not shipped in PrestaShop, 3 units
OPEN_1 = shipment(shipped=False, current_state=2, units=1)

RULES = ShipRules(
    carriers={"1": "COLISSIMO"}, wait_for_tracking=timedelta(minutes=180), cancelled_state=CANCELLED_STATE
)


class TestConfirm:
    def test_a_shipped_order_with_tracking_and_a_mapped_carrier_is_confirmed_with_the_code(self) -> None:
        assert decide(shipment(), mirakl(), RULES, NOW) == [
            Confirm(
                "M-1",
                42,
                Tracking("6A123", carrier_code="COLISSIMO"),
                carrier_reference=1,
                carrier_name="Colissimo",
            )
        ]

    def test_an_unmapped_carrier_is_sent_by_name_and_url_and_flagged(self) -> None:
        [decision] = decide(
            shipment(
                carrier_reference=3, carrier_name="DHL Express", carrier_url="https://dhl.example/t?id=@&x=1"
            ),
            mirakl(),
            RULES,
            NOW,
        )
        assert isinstance(decision, Confirm)
        assert decision.tracking == Tracking(
            "6A123", carrier_name="DHL Express", carrier_url="https://dhl.example/t?id=6A123&x=1"
        )
        assert decision.unmapped_carrier and decision.unknown_code == ""

    def test_a_carrier_without_url_is_sent_by_name_only(self) -> None:
        [decision] = decide(shipment(carrier_reference=9, carrier_url=" "), mirakl(), RULES, NOW)
        assert isinstance(decision, Confirm)
        assert decision.tracking == Tracking("6A123", carrier_name="Colissimo", carrier_url=None)

    def test_a_mapped_code_the_platform_does_not_list_is_sent_by_name_and_reported(self) -> None:
        rules = replace(RULES, known_carrier_codes=frozenset({"DHL"}))
        [decision] = decide(shipment(), mirakl(), rules, NOW)
        assert isinstance(decision, Confirm)
        assert decision.tracking is not None and decision.tracking.carrier_code is None
        assert decision.tracking.carrier_name == "Colissimo"
        assert decision.unknown_code == "COLISSIMO" and not decision.unmapped_carrier

    def test_a_mapped_code_the_platform_lists_is_sent_as_is(self) -> None:
        rules = replace(RULES, known_carrier_codes=frozenset({"COLISSIMO"}))
        [decision] = decide(shipment(), mirakl(), rules, NOW)
        assert isinstance(decision, Confirm) and decision.tracking is not None
        assert decision.tracking.carrier_code == "COLISSIMO"

    def test_an_order_not_returned_by_mirakl_is_still_confirmed(self) -> None:
        [decision] = decide(shipment(), None, RULES, NOW)
        assert isinstance(decision, Confirm)

    def test_the_tracking_number_is_trimmed(self) -> None:
        [decision] = decide(shipment(tracking_number="  6A123 \n"), mirakl(), RULES, NOW)
        assert isinstance(decision, Confirm) and decision.tracking is not None
        assert decision.tracking.tracking_number == "6A123"


class TestNothingToDo:
    def test_an_order_not_shipped_in_prestashop_gives_no_decision(self) -> None:
        assert decide(OPEN, mirakl(), RULES, NOW) == []

    def test_an_order_already_shipped_on_mirakl_counts_as_done(self) -> None:
        for state in ("SHIPPED", "RECEIVED", "CLOSED", "TO_COLLECT"):
            assert decide(shipment(), mirakl(state, (state, state)), RULES, NOW) == [
                AlreadyShipped("M-1", 42, state)
            ]


class TestWaitForTracking:
    def test_without_tracking_it_waits_with_the_minutes_left(self) -> None:
        # shipped 10 minutes ago, 180 minutes to wait: 170 left
        assert decide(shipment(tracking_number=""), mirakl(), RULES, NOW) == [
            WaitForTracking("M-1", 42, 170, False, "no_tracking")
        ]

    def test_a_partial_minute_left_rounds_up(self) -> None:
        since = NOW - timedelta(minutes=179, seconds=30)
        [decision] = decide(shipment(tracking_number="", shipped_since=since), mirakl(), RULES, NOW)
        assert decision == WaitForTracking("M-1", 42, 1, False, "no_tracking")

    def test_after_the_wait_it_is_confirmed_without_tracking_when_allowed(self) -> None:
        rules = replace(RULES, allow_without_tracking=True)
        since = NOW - timedelta(minutes=180)
        [decision] = decide(shipment(tracking_number="", shipped_since=since), mirakl(), rules, NOW)
        assert isinstance(decision, Confirm) and decision.tracking is None

    def test_after_the_wait_it_keeps_waiting_when_not_allowed(self) -> None:
        since = NOW - timedelta(minutes=600)
        [decision] = decide(shipment(tracking_number="", shipped_since=since), mirakl(), RULES, NOW)
        assert decision == WaitForTracking("M-1", 42, 0, True, "no_tracking")

    def test_before_the_wait_it_waits_even_when_allowed(self) -> None:
        rules = replace(RULES, allow_without_tracking=True)
        [decision] = decide(shipment(tracking_number=""), mirakl(), rules, NOW)
        assert isinstance(decision, WaitForTracking)

    def test_a_zero_wait_confirms_at_once_when_allowed(self) -> None:
        rules = replace(RULES, allow_without_tracking=True, wait_for_tracking=timedelta(0))
        [decision] = decide(shipment(tracking_number=""), mirakl(), rules, NOW)
        assert isinstance(decision, Confirm) and decision.tracking is None

    def test_an_unknown_shipping_date_starts_the_wait_now(self) -> None:
        [decision] = decide(shipment(tracking_number="", shipped_since=None), mirakl(), RULES, NOW)
        assert decision == WaitForTracking("M-1", 42, 180, False, "no_tracking")

    def test_tracking_without_a_carrier_is_handled_like_no_tracking(self) -> None:
        [decision] = decide(shipment(carrier_reference=None, carrier_name=""), mirakl(), RULES, NOW)
        assert decision == WaitForTracking("M-1", 42, 170, False, "no_carrier")


class TestCancellations:
    def test_a_fully_cancelled_order_is_cancelled_in_prestashop_when_synced(self) -> None:
        rules = replace(RULES, sync_cancellations=True)
        [decision] = decide(OPEN, mirakl("CANCELED", ("CANCELED", "CANCELED")), rules, NOW)
        assert isinstance(decision, CancelOrder)
        assert decision.change_shop and not decision.conflict and decision.mirakl_state == "CANCELED"

    def test_refused_and_cancelled_lines_together_make_a_cancelled_order(self) -> None:
        rules = replace(RULES, sync_cancellations=True)
        [decision] = decide(OPEN, mirakl("SHIPPING", ("REFUSED", "CANCELED")), rules, NOW)
        assert isinstance(decision, CancelOrder) and decision.change_shop

    def test_without_sync_a_cancelled_order_is_only_reported(self) -> None:
        [decision] = decide(OPEN, mirakl("CANCELED", ("CANCELED", "CANCELED")), RULES, NOW)
        assert isinstance(decision, CancelOrder) and not decision.change_shop and not decision.conflict

    def test_an_order_already_cancelled_in_prestashop_is_not_changed_again(self) -> None:
        rules = replace(RULES, sync_cancellations=True)
        [decision] = decide(
            shipment(shipped=False, current_state=CANCELLED_STATE),
            mirakl("CANCELED", ("CANCELED", "CANCELED")),
            rules,
            NOW,
        )
        assert isinstance(decision, CancelOrder) and not decision.change_shop

    def test_an_order_shipped_in_prestashop_but_cancelled_on_mirakl_is_a_conflict(self) -> None:
        rules = replace(RULES, sync_cancellations=True)
        [decision] = decide(shipment(), mirakl("CANCELED", ("CANCELED", "CANCELED")), rules, NOW)
        assert isinstance(decision, CancelOrder) and decision.conflict and not decision.change_shop

    def test_a_cancelled_line_leaves_prestashop_alone_and_is_reported(self) -> None:
        # PrestaShop holds 1 + 2 units; line 2 (2 units) is cancelled: 1 unit live
        decisions = decide(
            OPEN, mirakl("SHIPPING", ("SHIPPING", "CANCELED")), replace(RULES, sync_cancellations=True), NOW
        )
        assert decisions == [PartialCancellation("M-1", 42, 3, 1, ("M-1-2",))]

    def test_a_shipped_order_with_a_cancelled_line_is_confirmed_and_the_line_reported(self) -> None:
        decisions = decide(shipment(), mirakl("SHIPPING", ("SHIPPING", "CANCELED")), RULES, NOW)
        assert isinstance(decisions[0], PartialCancellation) and isinstance(decisions[1], Confirm)

    def test_a_line_refused_before_import_is_not_a_partial_cancellation(self) -> None:
        # PrestaShop got only the live line (1 unit): nothing was cancelled after the import
        assert decide(OPEN_1, mirakl("SHIPPING", ("SHIPPING", "REFUSED")), RULES, NOW) == []

    def test_units_refunded_in_prestashop_end_the_partial_report(self) -> None:
        assert decide(OPEN_1, mirakl("SHIPPING", ("SHIPPING", "CANCELED")), RULES, NOW) == []


def test_tracking_url_replaces_every_placeholder() -> None:
    assert tracking_url("https://t.example/@?again=@", "X1") == "https://t.example/X1?again=X1"
    assert tracking_url("", "X1") is None
    assert tracking_url("https://t.example/static", "X1") == "https://t.example/static"
