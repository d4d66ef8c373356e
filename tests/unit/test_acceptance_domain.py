"""Acceptance decisions: stock allocation order by order, policies, shared products, property tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain.acceptance import AcceptancePolicy, OrderDecision, decide
from bridge.domain.orders import WAITING_ACCEPTANCE, Customer, MiraklOrder, OrderLine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ref:
    id_product: int
    id_product_attribute: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.id_product, self.id_product_attribute)


@dataclass(frozen=True)
class Match:
    ref: Ref | None
    problem: str = ""


@dataclass(frozen=True)
class Level:
    quantity: int
    allows_backorder: bool = False


# SKU -> product: A=(1,0), B=(2,0), C=(3,7) (a combination); GHOST unknown; TWIN ambiguous
MATCHES = {
    "A": Match(Ref(1)),
    "B": Match(Ref(2)),
    "C": Match(Ref(3, 7)),
    "GHOST": Match(None, "unknown_sku"),
    "TWIN": Match(None, "ambiguous_sku"),
}


def order(order_id: str, *lines: tuple[str, int], minutes: int = 0) -> MiraklOrder:
    return MiraklOrder(
        order_id=order_id,
        state=WAITING_ACCEPTANCE,
        created_date=T0 + timedelta(minutes=minutes),
        last_updated_date=T0 + timedelta(minutes=minutes),
        currency_iso_code="EUR",
        lines=tuple(
            OrderLine(
                order_line_id=f"{order_id}-{i + 1}",
                offer_sku=sku,
                quantity=qty,
                state=WAITING_ACCEPTANCE,
                order_line_index=i + 1,
            )
            for i, (sku, qty) in enumerate(lines)
        ),
        customer=Customer(customer_id="c1"),
    )


def one(decisions: list[OrderDecision], order_id: str) -> OrderDecision:
    return next(d for d in decisions if d.order_id == order_id)


LEAVE = AcceptancePolicy()
REFUSE = AcceptancePolicy(on_shortage="refuse", on_unknown_sku="refuse")
PARTIAL = AcceptancePolicy(partial=True)


class TestEnoughStock:
    def test_an_order_within_stock_is_accepted_and_reserves_its_units(self) -> None:
        [d] = decide(
            [order("O1", ("A", 2), ("B", 1))], {(1, 0): Level(5), (2, 0): Level(1)}, {}, MATCHES, LEAVE
        )
        assert d.outcome == "accept"
        assert d.answers == {"O1-1": True, "O1-2": True}
        assert [(ln.wanted, ln.stock, ln.reserved_before, ln.available, ln.reason) for ln in d.lines] == [
            (2, 5, 0, 5, "in_stock"),
            (1, 1, 0, 1, "in_stock"),
        ]
        assert d.reserved_by_key() == {(1, 0): 2, (2, 0): 1}

    def test_units_already_accepted_and_the_buffer_are_not_available(self) -> None:
        # stock 5, 2 accepted on Mirakl not yet imported, buffer 1 -> 2 available; 3 wanted
        [d] = decide(
            [order("O1", ("A", 3))],
            {(1, 0): Level(5)},
            {(1, 0): 2},
            MATCHES,
            AcceptancePolicy(stock_buffer=1),
        )
        assert d.outcome == "leave"
        assert (d.lines[0].available, d.lines[0].reserved_before, d.lines[0].reason) == (
            2,
            2,
            "stock_shortage",
        )
        [d] = decide(
            [order("O1", ("A", 2))],
            {(1, 0): Level(5)},
            {(1, 0): 2},
            MATCHES,
            AcceptancePolicy(stock_buffer=1),
        )
        assert d.outcome == "accept"

    def test_a_combination_is_looked_up_by_its_own_key(self) -> None:
        [d] = decide([order("O1", ("C", 1))], {(3, 7): Level(1), (3, 0): Level(0)}, {}, MATCHES, LEAVE)
        assert d.outcome == "accept" and d.lines[0].key == (3, 7)


class TestShortage:
    def test_leave_policy_leaves_the_whole_order_without_reserving(self) -> None:
        [d] = decide(
            [order("O1", ("A", 1), ("B", 2))], {(1, 0): Level(3), (2, 0): Level(1)}, {}, MATCHES, LEAVE
        )
        assert d.outcome == "leave" and d.answers == {}
        assert [(ln.decision, ln.reason) for ln in d.lines] == [
            ("leave", "order_incomplete"),
            ("leave", "stock_shortage"),
        ]
        assert d.reserved_by_key() == {}
        assert d.reason == "stock_shortage"

    def test_refuse_policy_refuses_every_line_of_the_order(self) -> None:
        [d] = decide(
            [order("O1", ("A", 1), ("B", 2))], {(1, 0): Level(3), (2, 0): Level(1)}, {}, MATCHES, REFUSE
        )
        assert d.outcome == "refuse"
        assert d.answers == {"O1-1": False, "O1-2": False}
        assert d.reasons == ["stock_shortage"]

    def test_partial_policy_accepts_what_can_be_served_and_refuses_the_rest(self) -> None:
        [d] = decide(
            [order("O1", ("A", 1), ("B", 2))], {(1, 0): Level(3), (2, 0): Level(1)}, {}, MATCHES, PARTIAL
        )
        assert d.outcome == "partial"
        assert d.answers == {"O1-1": True, "O1-2": False}
        assert d.reserved_by_key() == {(1, 0): 1}

    def test_partial_policy_with_nothing_servable_follows_on_shortage(self) -> None:
        pol = AcceptancePolicy(partial=True, on_shortage="refuse")
        [d] = decide([order("O1", ("B", 2))], {(2, 0): Level(1)}, {}, MATCHES, pol)
        assert d.outcome == "refuse"
        [d] = decide([order("O1", ("B", 2))], {(2, 0): Level(1)}, {}, MATCHES, PARTIAL)
        assert d.outcome == "leave"

    def test_a_product_without_a_stock_row_has_no_stock(self) -> None:
        [d] = decide([order("O1", ("A", 1))], {}, {}, MATCHES, REFUSE)
        assert d.outcome == "refuse" and d.lines[0].stock == 0

    def test_negative_stock_counts_as_nothing_available(self) -> None:
        [d] = decide([order("O1", ("A", 1))], {(1, 0): Level(-3)}, {}, MATCHES, LEAVE)
        assert d.lines[0].available == 0 and d.outcome == "leave"


class TestCompetingOrders:
    def test_the_oldest_order_gets_the_last_unit(self) -> None:
        newer = order("NEW", ("A", 1), minutes=5)
        older = order("OLD", ("A", 1), minutes=1)
        ds = decide([newer, older], {(1, 0): Level(1)}, {}, MATCHES, REFUSE)
        assert [d.order_id for d in ds] == ["OLD", "NEW"]
        assert one(ds, "OLD").outcome == "accept"
        new = one(ds, "NEW")
        assert new.outcome == "refuse"
        assert (new.lines[0].reserved_before, new.lines[0].available) == (1, 0)

    def test_a_left_order_does_not_hold_stock_for_later_orders(self) -> None:
        # stock 2: the oldest wants 3 (left), the next wants 2 (accepted)
        ds = decide(
            [order("O1", ("A", 3)), order("O2", ("A", 2), minutes=1)], {(1, 0): Level(2)}, {}, MATCHES, LEAVE
        )
        assert [d.outcome for d in ds] == ["leave", "accept"]

    def test_same_creation_time_is_ordered_by_order_id(self) -> None:
        ds = decide([order("B-1", ("A", 1)), order("A-1", ("A", 1))], {(1, 0): Level(1)}, {}, MATCHES, LEAVE)
        assert [(d.order_id, d.outcome) for d in ds] == [("A-1", "accept"), ("B-1", "leave")]


class TestLinesSharingAProduct:
    def test_lines_of_one_order_on_the_same_product_are_counted_together(self) -> None:
        # 2 + 2 of A with 3 in stock: each line alone fits, together they do not
        [d] = decide([order("O1", ("A", 2), ("A", 2))], {(1, 0): Level(3)}, {}, MATCHES, REFUSE)
        assert d.outcome == "refuse"
        assert [ln.reason for ln in d.lines] == ["order_incomplete", "stock_shortage"]

    def test_with_partial_the_first_lines_that_fit_are_accepted(self) -> None:
        [d] = decide([order("O1", ("A", 2), ("A", 2), ("A", 1))], {(1, 0): Level(3)}, {}, MATCHES, PARTIAL)
        assert d.answers == {"O1-1": True, "O1-2": False, "O1-3": True}
        assert d.reserved_by_key() == {(1, 0): 3}

    def test_exactly_enough_for_both_lines_accepts(self) -> None:
        [d] = decide([order("O1", ("A", 2), ("A", 1))], {(1, 0): Level(3)}, {}, MATCHES, LEAVE)
        assert d.outcome == "accept" and d.reserved_by_key() == {(1, 0): 3}


class TestUnknownSkus:
    def test_unknown_sku_leaves_the_order_by_default(self) -> None:
        [d] = decide([order("O1", ("A", 1), ("GHOST", 1))], {(1, 0): Level(5)}, {}, MATCHES, LEAVE)
        assert d.outcome == "leave" and d.reason == "unknown_sku"
        assert d.lines[1].key is None

    def test_unknown_sku_with_refuse_refuses_the_whole_order_without_partial(self) -> None:
        [d] = decide([order("O1", ("A", 1), ("GHOST", 1))], {(1, 0): Level(5)}, {}, MATCHES, REFUSE)
        assert d.outcome == "refuse" and d.answers == {"O1-1": False, "O1-2": False}

    def test_unknown_sku_with_refuse_and_partial_refuses_only_that_line(self) -> None:
        pol = AcceptancePolicy(partial=True, on_unknown_sku="refuse")
        [d] = decide([order("O1", ("A", 1), ("TWIN", 1))], {(1, 0): Level(5)}, {}, MATCHES, pol)
        assert d.outcome == "partial" and d.answers == {"O1-1": True, "O1-2": False}
        assert d.lines[1].reason == "ambiguous_sku"

    def test_a_line_that_must_be_left_wins_over_refusing_another(self) -> None:
        pol = AcceptancePolicy(on_shortage="refuse", on_unknown_sku="leave")
        [d] = decide([order("O1", ("B", 9), ("GHOST", 1))], {(2, 0): Level(1)}, {}, MATCHES, pol)
        assert d.outcome == "leave"

    def test_a_sku_missing_from_the_matches_is_unknown(self) -> None:
        [d] = decide([order("O1", ("NEVER-RESOLVED", 1))], {}, {}, MATCHES, REFUSE)
        assert d.outcome == "refuse" and d.lines[0].reason == "unknown_sku"


class TestOddLines:
    def test_backorder_products_are_accepted_beyond_stock_and_still_reserved(self) -> None:
        [d] = decide([order("O1", ("A", 4))], {(1, 0): Level(1, allows_backorder=True)}, {}, MATCHES, LEAVE)
        assert d.outcome == "accept" and d.reason == "backorder"
        assert d.reserved_by_key() == {(1, 0): 4}

    def test_a_zero_quantity_is_left_to_a_person_whatever_the_policy(self) -> None:
        [d] = decide([order("O1", ("A", 0))], {(1, 0): Level(5)}, {}, MATCHES, REFUSE)
        assert d.outcome == "leave" and d.reason == "invalid_quantity"

    def test_lines_no_longer_waiting_are_not_answered(self) -> None:
        o = order("O1", ("A", 1), ("B", 1))
        o = MiraklOrder(
            **{**o.__dict__, "lines": (o.lines[0], OrderLine("O1-2", "B", 1, "REFUSED", order_line_index=2))}
        )
        [d] = decide([o], {(1, 0): Level(1)}, {}, MATCHES, LEAVE)
        assert d.answers == {"O1-1": True}

    def test_an_order_without_waiting_lines_is_left(self) -> None:
        o = order("O1", ("A", 1))
        o = MiraklOrder(**{**o.__dict__, "lines": (OrderLine("O1-1", "A", 1, "REFUSED"),)})
        [d] = decide([o], {(1, 0): Level(1)}, {}, MATCHES, LEAVE)
        assert d.outcome == "leave" and d.reason == "no_waiting_lines" and d.lines == ()


# --- properties ------------------------------------------------------------------------------

SKUS = ["A", "B", "C", "GHOST"]
KEYS = {"A": (1, 0), "B": (2, 0), "C": (3, 7)}

lines_st = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=4)
orders_st = st.lists(st.tuples(lines_st, st.integers(0, 100)), max_size=8)
stock_st = st.fixed_dictionaries({k: st.integers(-3, 12) for k in KEYS.values()})
reserved_st = st.fixed_dictionaries({k: st.integers(0, 6) for k in KEYS.values()})
policy_st = st.builds(
    AcceptancePolicy,
    on_shortage=st.sampled_from(["leave", "refuse"]),
    partial=st.booleans(),
    on_unknown_sku=st.sampled_from(["leave", "refuse"]),
    stock_buffer=st.integers(0, 3),
)


def _orders(spec: list[tuple[list[tuple[str, int]], int]]) -> list[MiraklOrder]:
    return [order(f"O{i}", *lines, minutes=m) for i, (lines, m) in enumerate(spec)]


@settings(max_examples=400, deadline=None)
@given(spec=orders_st, stock=stock_st, reserved=reserved_st, policy=policy_st)
def test_accepted_units_never_exceed_what_is_available(
    spec: list[tuple[list[tuple[str, int]], int]],
    stock: dict[tuple[int, int], int],
    reserved: dict[tuple[int, int], int],
    policy: AcceptancePolicy,
) -> None:
    decisions = decide(_orders(spec), {k: Level(q) for k, q in stock.items()}, reserved, MATCHES, policy)
    accepted: dict[tuple[int, int], int] = {}
    for d in decisions:
        for ln in d.lines:
            if ln.decision == "accept":
                accepted[KEYS[ln.offer_sku]] = accepted.get(KEYS[ln.offer_sku], 0) + ln.wanted
    for key, units in accepted.items():
        assert units <= max(0, stock[key] - reserved[key] - policy.stock_buffer)


@settings(max_examples=400, deadline=None)
@given(spec=orders_st, stock=stock_st, reserved=reserved_st, policy=policy_st)
def test_without_partial_no_order_is_partly_accepted(
    spec: list[tuple[list[tuple[str, int]], int]],
    stock: dict[tuple[int, int], int],
    reserved: dict[tuple[int, int], int],
    policy: AcceptancePolicy,
) -> None:
    pol = AcceptancePolicy(
        on_shortage=policy.on_shortage,
        partial=False,
        on_unknown_sku=policy.on_unknown_sku,
        stock_buffer=policy.stock_buffer,
    )
    for d in decide(_orders(spec), {k: Level(q) for k, q in stock.items()}, reserved, MATCHES, pol):
        kinds = {ln.decision for ln in d.lines}
        assert len(kinds) == 1
        assert d.outcome == {"accept": "accept", "refuse": "refuse", "leave": "leave"}[kinds.pop()]


@settings(max_examples=200, deadline=None)
@given(spec=orders_st, stock=stock_st, policy=policy_st)
def test_every_order_is_decided_once_and_answered_on_every_waiting_line(
    spec: list[tuple[list[tuple[str, int]], int]],
    stock: dict[tuple[int, int], int],
    policy: AcceptancePolicy,
) -> None:
    orders = _orders(spec)
    decisions = decide(orders, {k: Level(q) for k, q in stock.items()}, {}, MATCHES, policy)
    assert sorted(d.order_id for d in decisions) == sorted(o.order_id for o in orders)
    for d in decisions:
        if d.outcome != "leave":
            assert set(d.answers) == {ln.order_line_id for ln in d.order.lines}


@settings(max_examples=300, deadline=None)
@given(
    spec=orders_st,
    stock=stock_st,
    reserved=reserved_st,
    policy=policy_st,
    batch_size=st.integers(1, 5),
)
def test_deciding_in_batches_that_carry_the_earlier_reservations_gives_the_same_decisions(
    spec: list[tuple[list[tuple[str, int]], int]],
    stock: dict[tuple[int, int], int],
    reserved: dict[tuple[int, int], int],
    policy: AcceptancePolicy,
    batch_size: int,
) -> None:
    """What the accept task relies on: batches, oldest first, each seeing what the earlier ones reserved."""
    levels = {k: Level(q) for k, q in stock.items()}
    orders = sorted(_orders(spec), key=lambda o: (o.created_date, o.order_id))
    whole = decide(orders, levels, reserved, MATCHES, policy)
    promised = dict(reserved)
    batched: list[OrderDecision] = []
    for i in range(0, len(orders), batch_size):
        part = decide(orders[i : i + batch_size], levels, promised, MATCHES, policy)
        for d in part:
            for key, n in d.reserved_by_key().items():
                promised[key] = promised.get(key, 0) + n
        batched.extend(part)
    assert batched == whole
