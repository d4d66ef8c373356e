"""Offer lines for Mirakl: SKU, exclusions, quantity, platform price rules, hashing and the delta plan.

Pure. One catalogue row becomes at most one :class:`OfferLine`; :class:`OfferPlanner` compares each
line, as it streams by, with the digest of what Mirakl last accepted and says whether to send it.
Memory: 40 bytes per stored SKU (:class:`StoredDigests`), plus 16–32 bytes per SKU not stored yet
(:class:`NewSkus`). The stored 16-byte digest is the first 8 bytes of the line's digest
(:func:`line_digest`) followed by 8 bytes of the digest of the inputs it was computed from
(``OfferBuilder.inputs``), which lets a delta run skip unchanged rows without building them.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from bridge.domain.pricing import PriceResult, SpecificPrice

CENT = Decimal("0.01")
TEN_CENTS = Decimal("0.1")
ZERO = Decimal(0)
NINETY_NINE = Decimal("0.99")

# Digest stored for an offer that disappeared and was sent with quantity 0 (accepted).
GONE = bytes(16)

# exclusion / not-sent reasons (report keys)
INACTIVE = "inactive"
NOT_AVAILABLE_FOR_ORDER = "not_available_for_order"
EXCLUDED_CATEGORY = "excluded_category"
EXCLUDED_MANUFACTURER = "excluded_manufacturer"
EXCLUDED_REFERENCE = "excluded_reference"
VIRTUAL = "virtual"
PACK = "pack"
EMPTY_SKU = "empty_sku"
DUPLICATE_SKU = "duplicate_sku"
PRICE_NOT_POSITIVE = "price_not_positive"
BELOW_FLOOR = "below_floor_price"


@dataclass(frozen=True, slots=True)
class OfferRules:
    """The platform's ``[offers]`` settings the domain needs (built from OffersConfig by the job)."""

    sku: str = "reference"  # reference | ean13 | id
    product_id: str = "ean13"  # ean13 | upc | reference | sku | none
    product_id_type: str = "EAN"
    fallback_product_id_type: str = "SHOP_SKU"
    stock_buffer: int = 0
    max_quantity: int = 0
    backorders: str = "real_stock"  # real_stock | fixed_quantity
    backorder_quantity: int = 0
    exclude_manufacturers: frozenset[int] = frozenset()
    exclude_references: frozenset[str] = frozenset()
    exclude_virtual: bool = True
    include_packs: bool = False
    send_discounts: bool = True
    price_multiplier: Decimal = Decimal(1)
    price_addition: Decimal = ZERO
    price_rounding: str = "none"  # none | .99 | .x0
    floor_price: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Identifiers:
    """A combination's identifiers with its product's as fallback (product rows: both the same)."""

    id_product: int
    id_product_attribute: int
    reference: str = ""
    ean13: str = ""
    upc: str = ""
    product_reference: str = ""
    product_ean13: str = ""
    product_upc: str = ""

    def pick(self, name: str) -> str:
        own = (getattr(self, name) or "").strip()
        return own or (getattr(self, "product_" + name) or "").strip()


class OfferLine(NamedTuple):
    """One offer as sent (a tuple: built once per catalogue row, so cheap to build)."""

    sku: str
    product_id: str
    product_id_type: str
    price: Decimal  # 2 decimals; the price before reduction when a discount is sent
    quantity: int
    discount_price: Decimal | None = None
    discount_start: date | None = None
    discount_end: date | None = None
    id_product: int = 0
    id_product_attribute: int = 0

    @property
    def ref(self) -> tuple[int, int]:
        return (self.id_product, self.id_product_attribute)


# --- identifiers -----------------------------------------------------------------------------------


def offer_sku(ids: Identifiers, rule: str) -> str:
    """``reference`` / ``ean13``: the combination's, else the product's; ``id``: ``<id_product>-<ipa>``."""
    if rule == "id":
        return f"{ids.id_product}-{ids.id_product_attribute}"
    return ids.pick(rule)


def product_id_for(ids: Identifiers, sku: str, rules: OfferRules) -> tuple[str, str]:
    """(product-id, product-id-type): the configured identifier, else the SKU with the fallback type."""
    if rules.product_id == "none":
        return "", ""
    value = sku if rules.product_id == "sku" else ids.pick(rules.product_id)
    if value:
        return value, rules.product_id_type
    if rules.fallback_product_id_type:
        return sku, rules.fallback_product_id_type
    return "", ""


# --- sellability and quantity ----------------------------------------------------------------------


def exclusion_reason(
    *,
    active: bool,
    available_for_order: bool,
    is_virtual: bool,
    is_pack: bool,
    id_manufacturer: int,
    in_excluded_category: bool,
    references: Iterable[str],
    rules: OfferRules,
) -> str | None:
    """Why a product/combination is not offered, or None when it is sellable."""
    if not active:
        return INACTIVE
    if not available_for_order:
        return NOT_AVAILABLE_FOR_ORDER
    if is_virtual and rules.exclude_virtual:
        return VIRTUAL
    if is_pack and not rules.include_packs:
        return PACK
    if in_excluded_category:
        return EXCLUDED_CATEGORY
    if id_manufacturer and id_manufacturer in rules.exclude_manufacturers:
        return EXCLUDED_MANUFACTURER
    if rules.exclude_references and any(r and r in rules.exclude_references for r in references):
        return EXCLUDED_REFERENCE
    return None


def offer_quantity(stock: int, *, allows_backorders: bool, rules: OfferRules) -> int:
    """Stock minus the buffer, never below 0, capped by ``max_quantity`` (0 = no cap).

    Products that can be ordered out of stock send ``max(real, backorder_quantity)`` when
    ``backorders = "fixed_quantity"``, the real figure otherwise.
    """
    qty = max(0, stock - rules.stock_buffer)
    if allows_backorders and rules.backorders == "fixed_quantity":
        qty = max(qty, rules.backorder_quantity)
    if rules.max_quantity:
        qty = min(qty, rules.max_quantity)
    return qty


def allows_backorders(out_of_stock: int, shop_default: bool) -> bool:
    """``out_of_stock``: 0 deny, 1 allow, 2 (or anything else) the shop's ``PS_ORDER_OUT_OF_STOCK``."""
    if out_of_stock == 0:
        return False
    if out_of_stock == 1:
        return True
    return shop_default


# --- platform price rules ----------------------------------------------------------------------------


def platform_price(price: Decimal, rules: OfferRules) -> Decimal:
    """Multiplier, then fixed addition, then the ending, to the cent.

    ``.99``: the same whole amount ending in .99 (23.45 → 23.99, 24.00 → 24.99);
    ``.x0``: up to the next ten cents (23.41 → 23.50, 23.40 stays).
    """
    value = price * rules.price_multiplier + rules.price_addition
    if rules.price_rounding == ".99":
        return value.quantize(Decimal(1), rounding=ROUND_FLOOR) + NINETY_NINE
    if rules.price_rounding == ".x0":
        return value.quantize(TEN_CENTS, rounding=ROUND_CEILING).quantize(CENT)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_problem(price: Decimal, rules: OfferRules) -> str | None:
    if price <= 0:
        return PRICE_NOT_POSITIVE
    if rules.floor_price and price < rules.floor_price:
        return BELOW_FLOOR
    return None


# --- hashing --------------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    """The amount with 2 decimals. A Decimal with exponent -2 (every price the line rules quantize to the
    cent) prints as such: ``str`` is then the same text as the (slower) ``.2f`` formatting."""
    if value is None:
        return ""
    text = str(value)
    return text if len(text) > 3 and text[-3] == "." else f"{value:.2f}"


def price_texts(price: Decimal, discount_price: Decimal | None, discount_start: date | None,
                discount_end: date | None) -> tuple[str, str, str, str]:
    """A line's price, discount price and discount days formatted as sent."""
    return (_money(price), _money(discount_price), discount_start.isoformat() if discount_start else "",
            discount_end.isoformat() if discount_end else "")


def line_cells(line: OfferLine) -> tuple[str, ...]:
    """The varying cells of the line, formatted as sent (the CSV writer adds the constant columns)."""
    price, discount, start, end = price_texts(line.price, line.discount_price, line.discount_start, line.discount_end)
    return (line.sku, line.product_id, line.product_id_type, price, str(line.quantity), discount, start, end)


def cells_digest(cells: tuple[str, ...], salt: str = "") -> bytes:
    """16-byte digest of a line's :func:`line_cells`; ``salt`` carries the platform's constant columns."""
    return hashlib.blake2b("\x1f".join((salt, *cells)).encode(), digest_size=16).digest()


def line_digest(line: OfferLine, salt: str = "") -> bytes:
    """16-byte digest of what Mirakl would receive (:func:`cells_digest` of the line's cells)."""
    return cells_digest(line_cells(line), salt)


# --- the delta plan ----------------------------------------------------------------------------------


@dataclass
class PlanSummary:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    resent: int = 0  # unchanged lines sent again by a full resync
    duplicates: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    disappeared: list[str] = field(default_factory=list)  # on Mirakl, gone from the catalogue: send 0


_NEVER, _REJECTED, _GONE = 0, 1, 2  # stored values that are not a digest
_GONE_HEX = GONE.hex()


def _short(digest: bytes) -> int:
    """The first 8 bytes of a 16-byte line digest as an unsigned int, clear of the three sentinels."""
    value = int.from_bytes(digest[:8], "big")
    return value + 3 if value < 3 else value


StateRow = tuple[str, str | None, str, int, int]  # sku, 32-hex-digit digest or None, status, id_product, ipa


def _columns(chunks: Iterable[Iterable[StateRow]]) -> tuple[array[int], array[int], array[int], array[int]]:
    """``hash(sku)``, digest prefix (or sentinel), inputs digest and ref (``id_product << 32 | ipa``, -1 for a
    negative id_product: no ref) columns of state rows, given in chunks (one loop, no per-row call)."""
    keys, values, inputs, refs = array("q"), array("Q"), array("Q"), array("q")
    add_key, add_value, add_inputs, add_ref = keys.append, values.append, inputs.append, refs.append
    gone = _GONE_HEX
    for chunk in chunks:
        for sku, digest, status, id_product, ipa in chunk:
            add_key(hash(sku))
            add_ref(id_product << 32 | ipa if id_product >= 0 else -1)
            if digest is None:
                add_value(_NEVER)
                add_inputs(0)
            elif status == "rejected" or digest == gone:
                add_value(_REJECTED if status == "rejected" else _GONE)
                add_inputs(0)
            else:
                value = int(digest[:16], 16)
                add_value(value + 3 if value < 3 else value)
                add_inputs(int(digest[16:32], 16))
    return keys, values, inputs, refs


def _key_index(keys: array[int]) -> tuple[array[int], array[int]]:
    """(``keys`` sorted, the position of each): sorted one bucket of the top 8 bits at a time, so that the
    sort's Python lists hold 1/256 of the keys, not all of them (memory stays near the two arrays)."""
    buckets = [array("q") for _ in range(256)]
    for i, key in enumerate(keys):
        buckets[((key >> 56) + 128) & 0xFF].append(i)  # signed keys: bucket order is key order
    sorted_keys, at = array("q"), array("q")
    for bucket in buckets:
        for i in sorted(bucket, key=keys.__getitem__):
            at.append(i)
            sorted_keys.append(keys[i])
    return sorted_keys, at


class StoredDigests:
    """What Mirakl accepted per SKU, in 40 bytes per SKU (four ``array`` columns in ref order and the
    ``seen`` column of the run), not a dict; 16 bytes more per SKU once a lookup by key alone is needed.

    Keys are ``hash(sku)`` (64-bit SipHash of the string, per process: built and probed in the same
    run); values are the first 8 bytes of the 16-byte stored digest (the line's), or a sentinel
    (never accepted / rejected / zeroed); ``inputs`` its last 8 bytes (the digest of the inputs the
    line was computed from, see :meth:`OfferPlanner.skip_unchanged`; 0 for a sentinel). Collision safety: two different SKUs sharing a
    64-bit key among n = 200,000 has probability ~ n²/2⁶⁵ ≈ 10⁻⁹ per run; a changed line keeping the
    same 64-bit digest prefix, 2⁻⁶⁴ per changed line. The SKU names are not kept: ``names()``
    streams them again (from the state table) only when some stored SKU left the catalogue.
    """

    def __init__(self, items: Iterable[tuple[str, object]], names: Callable[[], Iterable[str]] | None = None) -> None:
        """From (sku, 16-byte digest, ``b""`` rejected, None never accepted, or ``GONE``); no refs (every
        :meth:`find_ref` answers -1)."""
        rows = [(sku, None if stored is None else stored.hex(), "rejected" if stored == b"" else "",  # type: ignore[attr-defined]
                 -1, 0) for sku, stored in items]
        self._set(*_columns((rows,)), names)

    @classmethod
    def from_state(cls, chunks: Iterable[Iterable[StateRow]],
                   names: Callable[[], Iterable[str]] | None = None) -> StoredDigests:
        """The same from the state table's rows as stored, in chunks: (sku, 32-hex-digit digest or None,
        status, id_product, id_product_attribute) -- fastest in ref order (then kept as given)."""
        self = cls.__new__(cls)
        self._set(*_columns(chunks), names)
        return self

    def _set(self, keys: array[int], values: array[int], inputs: array[int], refs: array[int],
             names: Callable[[], Iterable[str]] | None) -> None:
        n = len(keys)
        if any(refs[i] > refs[i + 1] for i in range(n - 1)):  # kept in ref order (the state table is read so)
            order = sorted(range(n), key=refs.__getitem__)
            keys = array("q", (keys[i] for i in order))
            values = array("Q", (values[i] for i in order))
            inputs = array("Q", (inputs[i] for i in order))
            refs = array("q", (refs[i] for i in order))
            del order
        self.keys, self.values, self.inputs, self.refs = keys, values, inputs, refs
        self.seen = array("q", bytes(8 * n))  # 0, or the (id_product << 32 | ipa) + 1 of the line
        self._names = names
        self._by_key: tuple[array[int], array[int]] | None = None  # built on the first lookup it is needed for

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, key: int, ref: int = -1) -> int:
        """Index of ``key``, or -1. Looked up under ``ref`` first (a line usually keeps its ref); else in the
        key index, sorted on the first such lookup (16 bytes per SKU more: new SKUs, renamed ones)."""
        if ref >= 0:
            refs, keys = self.refs, self.keys
            i, n = bisect_left(refs, ref), len(refs)
            while i < n and refs[i] == ref:
                if keys[i] == key:
                    return i
                i += 1
        if self._by_key is None:
            self._by_key = _key_index(self.keys)
        sorted_keys, at = self._by_key
        i = bisect_left(sorted_keys, key)
        return at[i] if i < len(sorted_keys) and sorted_keys[i] == key else -1

    def names(self) -> Iterable[str]:
        if self._names is None:
            raise RuntimeError("no source for the SKU names")
        return self._names()


class NewSkus:
    """``hash(sku)`` → the first line's ref, for SKUs not in the stored digests: an open-addressing table
    (linear probing, load ≤ 1/2) in two ``array('q')`` columns, 16 bytes per slot instead of a dict
    entry with two int objects (~100 bytes). A slot is free while its ref column is 0 (refs are
    stored + 1). Same key semantics as :class:`StoredDigests` (64-bit, per-process ``hash``).
    """

    __slots__ = ("_keys", "_mask", "_n", "_refs")

    def __init__(self, capacity: int = 1024) -> None:
        size = 1
        while size < capacity:
            size *= 2
        self._keys = array("q", [0]) * size
        self._refs = array("q", [0]) * size
        self._mask = size - 1
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        return self._mask + 1

    def first_or_add(self, key: int, ref: int) -> int:
        """The ref recorded for ``key``, or -1 after recording ``ref`` for it (first time seen)."""
        keys, refs, mask = self._keys, self._refs, self._mask
        i = key & mask
        while True:
            r = refs[i]
            if not r:
                keys[i] = key
                refs[i] = ref + 1
                self._n += 1
                if 2 * self._n > mask:
                    self._grow()
                return -1
            if keys[i] == key:
                return r - 1
            i = (i + 1) & mask

    def _grow(self) -> None:
        old_keys, old_refs = self._keys, self._refs
        size = 2 * len(old_keys)
        keys, refs, mask = array("q", [0]) * size, array("q", [0]) * size, size - 1
        for key, r in zip(old_keys, old_refs):
            if r:
                i = key & mask
                while refs[i]:
                    i = (i + 1) & mask
                keys[i], refs[i] = key, r
        self._keys, self._refs, self._mask = keys, refs, mask


class OfferPlanner:
    """Streams lines against ``stored`` (what Mirakl accepted per SKU: :class:`StoredDigests`, or a
    dict sku → 16-byte digest, ``b""`` rejected, None never accepted).

    ``consider(line)`` answers the reason to send the line now (``new``/``changed``/``resent``) or
    None. A SKU seen twice is a duplicate: the later lines are refused here and ``finish`` lists
    every SKU involved so that the caller withdraws the first line if it already queued it. Memory:
    the compact stored digests, plus 16–32 bytes per SKU not stored yet (:class:`NewSkus`).
    """

    def __init__(self, stored: StoredDigests | dict[str, object], *, full: bool, salt: str = "") -> None:
        if isinstance(stored, dict):
            snapshot = dict(stored)
            stored = StoredDigests(snapshot.items(), names=snapshot.keys)
        self.stored = stored
        self.full = full
        self.salt = salt
        self.summary = PlanSummary()
        self._new = NewSkus()  # hash(sku) → ref, SKUs not in ``stored``

    def skip_unchanged(self, sku: str, id_product: int, id_product_attribute: int, inputs: int) -> bool:
        """True (the row counts as unchanged, nothing to build) when ``sku`` is stored, accepted, not
        seen yet in this run, and its line was computed from the same ``inputs`` digest (see
        ``OfferBuilder.inputs``). Any doubt answers False: the line is built and :meth:`consider`-ed."""
        stored = self.stored
        ref = (id_product << 32) | id_product_attribute
        i = stored.find(hash(sku), ref)
        if i < 0 or stored.inputs[i] != inputs or stored.seen[i] or stored.values[i] <= _GONE:
            return False
        stored.seen[i] = ref + 1
        self.summary.unchanged += 1
        return True

    def skip_rows(self, rows: Iterable[tuple[int, int, str]], inputs_of: Callable[[int, int, str], int]) -> list[int]:
        """:meth:`skip_unchanged` by ref (``id_product << 32 | ipa``) instead of SKU, for rows read without
        their columns: (id_product, id_product_attribute, row digest), ``inputs_of`` giving each row's
        inputs digest. A row is skipped when the line stored for its ref has the same inputs digest (which
        covers the columns the SKU comes from: same SKU), is accepted and not seen yet. Returns the refs
        not skipped (one loop: a delta run's hot path)."""
        stored, summary = self.stored, self.summary
        refs, stored_inputs, values, seen = stored.refs, stored.inputs, stored.values, stored.seen
        n = len(refs)
        left = []
        for id_product, ipa, digest in rows:
            ref = id_product << 32 | ipa
            inputs = inputs_of(id_product, ipa, digest)
            i = bisect_left(refs, ref)
            while i < n and refs[i] == ref:  # the stored line of this ref with the same inputs digest
                if stored_inputs[i] == inputs:
                    break
                i += 1
            else:
                left.append(ref)
                continue
            if seen[i] or values[i] <= _GONE:
                left.append(ref)
                continue
            seen[i] = ref + 1
            summary.unchanged += 1
        return left

    def unskip(self) -> None:
        """Forget every :meth:`skip_rows` / :meth:`skip_unchanged` made so far (the pass starts over)."""
        stored = self.stored
        stored.seen = array("q", bytes(8 * len(stored)))
        self.summary.unchanged = 0

    def consider(self, line: OfferLine, inputs: int = 0, cells: tuple[str, ...] | None = None
                 ) -> tuple[str, bytes] | None:
        """``inputs``: the digest of the row's inputs, stored as the last 8 bytes of the line's digest;
        ``cells``: the line's :func:`line_cells` when the caller has them already.

        A full resync also answers ``refreshed`` (sent, like ``resent``, and recorded) for an
        unchanged line whose stored inputs digest differs, so that later runs can skip it.
        """
        stored = self.stored
        sku = line.sku
        key = hash(sku)
        ref = (line.id_product << 32) | line.id_product_attribute
        i = stored.find(key, ref)
        s = self.summary
        if i < 0:
            first = self._new.first_or_add(key, ref)
            if first >= 0:
                self._duplicate(sku, first, line)
                return None
            s.new += 1
            return ("new", self._digest(line, inputs, cells))
        seen = stored.seen[i]
        if seen:
            self._duplicate(sku, seen - 1, line)
            return None
        stored.seen[i] = ref + 1
        previous = stored.values[i]
        digest = self._digest(line, inputs, cells)
        if previous == _NEVER or previous == _GONE:
            s.new += 1
            return ("new", digest)
        if previous != _short(digest):
            s.changed += 1
            return ("changed", digest)
        s.unchanged += 1
        if self.full:
            s.resent += 1
            return ("refreshed" if inputs and stored.inputs[i] != inputs else "resent", digest)
        return None

    def _digest(self, line: OfferLine, inputs: int, cells: tuple[str, ...] | None) -> bytes:
        digest = cells_digest(cells if cells is not None else line_cells(line), self.salt)
        return digest[:8] + inputs.to_bytes(8, "big") if inputs else digest

    def _duplicate(self, sku: str, first: int, line: OfferLine) -> None:
        refs = self.summary.duplicates.get(sku)
        if refs is None:
            refs = self.summary.duplicates[sku] = [(first >> 32, first & 0xFFFFFFFF)]
        refs.append(line.ref)

    def finish(self) -> PlanSummary:
        """Lists the SKUs to zero: on Mirakl but not (or no longer uniquely) in the catalogue."""
        stored = self.stored
        values, seen = stored.values, stored.seen
        gone = []
        for sku in self.summary.duplicates:
            i = stored.find(hash(sku))
            if i >= 0 and values[i] != _NEVER and values[i] != _GONE:
                gone.append(sku)
        wanted = {stored.keys[i] for i in range(len(stored))
                  if not seen[i] and values[i] != _NEVER and values[i] != _GONE}
        if wanted:
            gone.extend({sku for sku in stored.names() if hash(sku) in wanted})
        self.summary.disappeared = sorted(set(gone))
        return self.summary




@dataclass
class Plan:
    send: list[tuple[OfferLine, bytes, str]]
    summary: PlanSummary


def plan_offer_updates(lines: Iterable[OfferLine], stored: dict[str, object], *, full: bool,
                       salt: str = "") -> Plan:
    """All-in-memory form of :class:`OfferPlanner` (tests, small catalogues)."""
    planner = OfferPlanner(dict(stored), full=full, salt=salt)
    send = []
    for line in lines:
        decision = planner.consider(line)
        if decision is not None:
            send.append((line, decision[1], decision[0]))
    summary = planner.finish()
    dupes = summary.duplicates
    return Plan([s for s in send if s[0].sku not in dupes], summary)


# --- one line from a computed price ------------------------------------------------------------------


def _local_date(instant: datetime | None, tz: tzinfo, *, end: bool) -> date | None:
    if instant is None:
        return None
    local = instant.astimezone(tz)
    if end and local.time() == time(0, 0):  # ends at midnight: the previous day is the last one
        return local.date() - timedelta(days=1)
    return local.date()


def offer_line(
    ids: Identifiers, *, sku: str, quantity: int, price: PriceResult, rules: OfferRules, tz: tzinfo
) -> OfferLine | str:
    """The line to send, or the reason it cannot be sent (price ≤ 0 or under the floor)."""
    pid, ptype = product_id_for(ids, sku, rules)
    return make_line(sku, pid, ptype, quantity, price, rules, tz, ids.id_product, ids.id_product_attribute)


def make_line(
    sku: str, pid: str, ptype: str, quantity: int, price: PriceResult, rules: OfferRules, tz: tzinfo,
    id_product: int = 0, id_product_attribute: int = 0,
) -> OfferLine | str:
    """A time-bounded reduction becomes ``discount-price`` with its dates (shop-local days) and
    ``price`` is then the price before reduction; any other price is sent as ``price`` alone."""
    return line_from_prices(sku, pid, ptype, quantity, price.price, price.price_before_reduction,
                            price.specific_price, rules, tz, id_product, id_product_attribute)


def line_from_prices(
    sku: str, pid: str, ptype: str, quantity: int, price: Decimal, before: Decimal, sp: SpecificPrice | None,
    rules: OfferRules, tz: tzinfo, id_product: int = 0, id_product_attribute: int = 0,
) -> OfferLine | str:
    """:func:`make_line` from the two rounded prices and the specific price that produced them."""
    prices = line_prices(price, before, sp, rules, tz)
    if type(prices) is str:
        return prices
    regular, discount, start, end = prices  # type: ignore[misc]
    return OfferLine(sku, pid, ptype, regular, quantity, discount, start, end, id_product, id_product_attribute)


def line_prices(price: Decimal, before: Decimal, sp: SpecificPrice | None, rules: OfferRules,
                tz: tzinfo) -> str | tuple[Decimal, Decimal | None, date | None, date | None]:
    """(regular price, discount price, discount start, discount end) of a line, or its price problem."""
    discount = start = end = None
    if rules.send_discounts and price < before and sp is not None and sp.time_bounded:
        regular = platform_price(before, rules)
        discount = platform_price(price, rules)
        if discount >= regular:
            regular, discount = discount, None
        else:
            start = _local_date(sp.starts_at, tz, end=False)
            end = _local_date(sp.ends_at, tz, end=True)
    else:
        regular = platform_price(price, rules)
    problem = price_problem(regular, rules) or (price_problem(discount, rules) if discount is not None else None)
    if problem:
        return problem
    return regular, discount, start, end
