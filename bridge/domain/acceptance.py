"""Which Mirakl orders to accept, refuse or leave, given the shop's stock. Pure: values in, decisions out.

Rules (``decide``):

1. Orders are taken oldest first (``created_date``, then ``order_id``); stock is allocated order by
   order, so an older order is never starved by a newer one and two orders never get the same unit.
2. Units a line may take from a product/combination ("key") are
   ``available = max(0, stock − reserved_before − buffer)`` where ``reserved_before`` = units already
   promised on Mirakl and not yet imported into PrestaShop (the ``reserved`` input, all platforms)
   + units allocated earlier in this run. Lines of one order that share a key are counted together
   (line after line, in line order).
3. A product whose stock row allows orders when out of stock (PrestaShop ``out_of_stock`` = 1, or 2
   with ``PS_ORDER_OUT_OF_STOCK`` = 1) is accepted whatever the stock, reason ``backorder``: PrestaShop
   itself would sell it. Its units are still reserved, since the import will take them from stock.
4. Line problems: ``unknown_sku`` / ``ambiguous_sku`` follow ``on_unknown_sku`` (leave | refuse);
   ``invalid_quantity`` (≤ 0) is always left to a person; ``stock_shortage`` follows the policy below.
5. OR21 answers every line of an order in one call, so an order is either wholly left or wholly
   answered. Any line that must be left leaves the whole order (leaving is the reversible choice).
   Otherwise, when some lines cannot be served: with ``partial`` and at least one servable line, the
   servable lines are accepted and the rest refused (outcome ``partial``); else shortage follows
   ``on_shortage`` (leave: the whole order is left; refuse: every line is refused) and a refused
   unknown SKU refuses the whole order.
6. ``leave`` means no OR21 call and no reservation. Only accepted lines reserve units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bridge.domain.orders import WAITING_ACCEPTANCE, MiraklOrder, OrderLine

Key = tuple[int, int]  # (id_product, id_product_attribute)
LineDecisionKind = Literal["accept", "refuse", "leave"]
Outcome = Literal["accept", "partial", "refuse", "leave"]

# reason codes (stable: they go into reports, logs and the order-line table)
IN_STOCK = "in_stock"
BACKORDER = "backorder"
STOCK_SHORTAGE = "stock_shortage"
UNKNOWN_SKU = "unknown_sku"
AMBIGUOUS_SKU = "ambiguous_sku"
INVALID_QUANTITY = "invalid_quantity"
ORDER_INCOMPLETE = "order_incomplete"  # this line could be served, another line of the order cannot
NO_WAITING_LINES = "no_waiting_lines"
_NOT_PROBLEMS = frozenset({IN_STOCK, BACKORDER, ORDER_INCOMPLETE})


class ProductRefLike(Protocol):
    @property
    def key(self) -> Key: ...


class SkuMatchLike(Protocol):
    """What SKU resolution gives (``bridge.shop.skus.SkuMatch``): one product, or a problem code."""

    @property
    def ref(self) -> ProductRefLike | None: ...

    @property
    def problem(self) -> str: ...


class StockLike(Protocol):
    """One stock row (``bridge.shop.skus.StockLevel``): sellable quantity and the backorder rule."""

    @property
    def quantity(self) -> int: ...

    @property
    def allows_backorder(self) -> bool: ...


@dataclass(frozen=True)
class AcceptancePolicy:
    on_shortage: Literal["leave", "refuse"] = "leave"
    partial: bool = False
    on_unknown_sku: Literal["leave", "refuse"] = "leave"
    stock_buffer: int = 0


@dataclass(frozen=True)
class LinePlan:
    order_line_id: str
    offer_sku: str
    key: Key | None
    wanted: int
    stock: int  # stock_available.quantity (0 when unknown)
    reserved_before: int  # promised units before this order: accepted-not-imported + earlier in this run
    available: int  # max(0, stock − reserved_before − buffer): what this order may take
    decision: LineDecisionKind
    reason: str
    backorder: bool = False

    @property
    def units_reserved(self) -> int:
        return self.wanted if self.decision == "accept" else 0


@dataclass(frozen=True)
class OrderDecision:
    order: MiraklOrder
    outcome: Outcome
    reason: str  # the main reason (first problem found), or in_stock / backorder
    lines: tuple[LinePlan, ...]

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def answers(self) -> dict[str, bool]:
        """The OR21 body: every line, accepted or not (empty for ``leave``)."""
        if self.outcome == "leave":
            return {}
        return {ln.order_line_id: ln.decision == "accept" for ln in self.lines}

    @property
    def reasons(self) -> list[str]:
        """The problems that drove the decision (not the lines that were merely fine)."""
        return sorted({ln.reason for ln in self.lines if ln.reason not in _NOT_PROBLEMS})

    def reserved_by_key(self) -> dict[Key, int]:
        out: dict[Key, int] = {}
        for ln in self.lines:
            if ln.key is not None and ln.units_reserved:
                out[ln.key] = out.get(ln.key, 0) + ln.units_reserved
        return out


def oldest_first(orders: Iterable[MiraklOrder]) -> list[MiraklOrder]:
    return sorted(orders, key=lambda o: (o.created_date, o.order_id))


def decide(
    orders: Iterable[MiraklOrder],
    stock: Mapping[Key, StockLike],
    reserved: Mapping[Key, int],
    sku_matches: Mapping[str, SkuMatchLike],
    policy: AcceptancePolicy,
) -> list[OrderDecision]:
    """One decision per order, oldest first, allocating stock order by order (see the module rules)."""
    promised: dict[Key, int] = {k: max(0, v) for k, v in reserved.items()}
    out = []
    for order in oldest_first(orders):
        decision = _decide_order(order, stock, promised, sku_matches, policy)
        for key, n in decision.reserved_by_key().items():
            promised[key] = promised.get(key, 0) + n
        out.append(decision)
    return out


# --- one order -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    line: OrderLine
    key: Key | None
    stock: int
    reserved_before: int
    available: int
    problem: str  # "" when servable
    backorder: bool


def _decide_order(
    order: MiraklOrder,
    stock: Mapping[Key, StockLike],
    promised: Mapping[Key, int],
    sku_matches: Mapping[str, SkuMatchLike],
    policy: AcceptancePolicy,
) -> OrderDecision:
    verdicts = _verdicts(order, stock, promised, sku_matches, policy.stock_buffer)
    if not verdicts:
        return OrderDecision(order, "leave", NO_WAITING_LINES, ())
    outcome = _outcome(verdicts, policy)
    lines = tuple(_line_plan(v, outcome, policy) for v in verdicts)
    problems = [v.problem for v in verdicts if v.problem]
    if problems:
        reason = problems[0]
    else:
        reason = BACKORDER if any(v.backorder for v in verdicts) else IN_STOCK
    return OrderDecision(order, outcome, reason, lines)


def _verdicts(
    order: MiraklOrder,
    stock: Mapping[Key, StockLike],
    promised: Mapping[Key, int],
    sku_matches: Mapping[str, SkuMatchLike],
    buffer: int,
) -> list[_Verdict]:
    """Per waiting line: its product, the figures, and whether it can be served (in line order)."""
    taken: dict[Key, int] = {}  # units given to earlier lines of this order
    out = []
    for line in sorted(order.lines, key=lambda ln: (ln.order_line_index, ln.order_line_id)):
        if line.state != WAITING_ACCEPTANCE:
            continue
        match = sku_matches.get(line.offer_sku)
        key = match.ref.key if match is not None and match.ref is not None else None
        level = stock.get(key) if key is not None else None
        qty = level.quantity if level is not None else 0
        before = promised.get(key, 0) if key is not None else 0
        available = max(0, qty - before - buffer)
        backorder = bool(level is not None and level.allows_backorder)
        if line.quantity <= 0:
            problem = INVALID_QUANTITY
        elif key is None:
            problem = (match.problem if match is not None else "") or UNKNOWN_SKU
        elif backorder:
            problem = ""
        elif taken.get(key, 0) + line.quantity > available:
            problem = STOCK_SHORTAGE
        else:
            problem = ""
        if key is not None and not problem:
            taken[key] = taken.get(key, 0) + line.quantity
        out.append(_Verdict(line, key, qty, before, available, problem, backorder))
    return out


def _line_action(problem: str, policy: AcceptancePolicy) -> str:
    """What a problem asks for on its own: ok | refuse | leave | short."""
    if not problem:
        return "ok"
    if problem == INVALID_QUANTITY:
        return "leave"
    if problem in (UNKNOWN_SKU, AMBIGUOUS_SKU):
        return policy.on_unknown_sku
    return "short"


def _outcome(verdicts: Sequence[_Verdict], policy: AcceptancePolicy) -> Outcome:
    actions = [_line_action(v.problem, policy) for v in verdicts]
    if "leave" in actions:
        return "leave"
    if all(a == "ok" for a in actions):
        return "accept"
    if policy.partial and "ok" in actions:
        return "partial"
    if "short" in actions and policy.on_shortage == "leave":
        return "leave"
    return "refuse"


def _line_plan(v: _Verdict, outcome: Outcome, policy: AcceptancePolicy) -> LinePlan:
    if outcome == "leave":
        decision: LineDecisionKind = "leave"
    elif outcome == "refuse":
        decision = "refuse"
    else:  # accept / partial: servable lines accepted, the others refused
        decision = "accept" if not v.problem else "refuse"
    if v.problem:
        reason = v.problem
    elif decision == "accept":
        reason = BACKORDER if v.backorder else IN_STOCK
    else:
        reason = ORDER_INCOMPLETE
    return LinePlan(
        order_line_id=v.line.order_line_id,
        offer_sku=v.line.offer_sku,
        key=v.key,
        wanted=v.line.quantity,
        stock=v.stock,
        reserved_before=v.reserved_before,
        available=v.available,
        decision=decision,
        reason=reason,
        backorder=v.backorder,
    )


__all__ = [
    "AMBIGUOUS_SKU",
    "BACKORDER",
    "INVALID_QUANTITY",
    "IN_STOCK",
    "NO_WAITING_LINES",
    "ORDER_INCOMPLETE",
    "STOCK_SHORTAGE",
    "UNKNOWN_SKU",
    "AcceptancePolicy",
    "Key",
    "LinePlan",
    "OrderDecision",
    "decide",
    "oldest_first",
]
