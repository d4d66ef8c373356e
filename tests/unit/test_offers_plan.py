"""Offer lines (SKU, product-id, exclusions, quantity, platform prices) and the delta plan."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from bridge.domain.offers import (
    BELOW_FLOOR,
    EXCLUDED_MANUFACTURER,
    EXCLUDED_REFERENCE,
    GONE,
    INACTIVE,
    NOT_AVAILABLE_FOR_ORDER,
    PACK,
    PRICE_NOT_POSITIVE,
    VIRTUAL,
    Identifiers,
    NewSkus,
    OfferLine,
    OfferPlanner,
    OfferRules,
    StoredDigests,
    allows_backorders,
    exclusion_reason,
    line_digest,
    offer_line,
    offer_quantity,
    offer_sku,
    plan_offer_updates,
    platform_price,
    product_id_for,
)
from bridge.domain.pricing import PriceResult, SpecificPrice

PARIS = ZoneInfo("Europe/Paris")
COMBI = Identifiers(7, 70, reference="TS-RED", ean13="", upc="", product_reference="TS", product_ean13="3000000000017")
PRODUCT = Identifiers(8, 0, product_reference="MUG", product_ean13="")


class TestIdentifiers:
    def test_reference_sku_takes_the_combination_reference_first(self) -> None:
        assert offer_sku(COMBI, "reference") == "TS-RED"

    def test_ean13_sku_falls_back_to_the_product_ean(self) -> None:
        assert offer_sku(COMBI, "ean13") == "3000000000017"

    def test_id_sku_is_product_dash_combination(self) -> None:
        assert offer_sku(COMBI, "id") == "7-70"
        assert offer_sku(PRODUCT, "id") == "8-0"

    def test_empty_identifier_gives_an_empty_sku(self) -> None:
        assert offer_sku(PRODUCT, "ean13") == ""

    def test_product_id_is_the_ean_with_its_type(self) -> None:
        assert product_id_for(COMBI, "TS-RED", OfferRules()) == ("3000000000017", "EAN")

    def test_product_id_without_ean_falls_back_to_the_sku(self) -> None:
        assert product_id_for(PRODUCT, "MUG", OfferRules()) == ("MUG", "SHOP_SKU")
        assert product_id_for(PRODUCT, "MUG", OfferRules(fallback_product_id_type="")) == ("", "")
        assert product_id_for(PRODUCT, "MUG", OfferRules(product_id="none")) == ("", "")


class TestSellability:
    def _reason(self, rules: OfferRules = OfferRules(), **kw: object) -> str | None:
        base: dict[str, object] = dict(active=True, available_for_order=True, is_virtual=False, is_pack=False,
                                       id_manufacturer=0, in_excluded_category=False, references=("A",))
        base.update(kw)
        return exclusion_reason(rules=rules, **base)  # type: ignore[arg-type]

    def test_active_product_available_for_order_is_sellable(self) -> None:
        assert self._reason() is None

    def test_flags_and_exclusions_give_their_reason(self) -> None:
        assert self._reason(active=False) == INACTIVE
        assert self._reason(available_for_order=False) == NOT_AVAILABLE_FOR_ORDER
        assert self._reason(is_virtual=True) == VIRTUAL
        assert self._reason(is_pack=True) == PACK
        assert self._reason(OfferRules(exclude_manufacturers=frozenset({4})), id_manufacturer=4) == EXCLUDED_MANUFACTURER
        assert self._reason(OfferRules(exclude_references=frozenset({"A"}))) == EXCLUDED_REFERENCE

    def test_packs_and_virtual_products_can_be_allowed(self) -> None:
        rules = OfferRules(include_packs=True, exclude_virtual=False)
        assert self._reason(rules, is_pack=True, is_virtual=True) is None


class TestQuantity:
    def test_buffer_is_subtracted_and_never_below_zero(self) -> None:
        rules = OfferRules(stock_buffer=2)
        assert offer_quantity(10, allows_backorders=False, rules=rules) == 8
        assert offer_quantity(1, allows_backorders=False, rules=rules) == 0
        assert offer_quantity(-4, allows_backorders=False, rules=rules) == 0

    def test_cap_applies_last(self) -> None:
        assert offer_quantity(500, allows_backorders=False, rules=OfferRules(max_quantity=100)) == 100

    def test_backorder_products_send_the_fixed_quantity_when_configured(self) -> None:
        rules = OfferRules(backorders="fixed_quantity", backorder_quantity=5, max_quantity=3)
        # max(0, 5) = 5, capped to 3
        assert offer_quantity(0, allows_backorders=True, rules=rules) == 3
        assert offer_quantity(0, allows_backorders=False, rules=rules) == 0
        assert offer_quantity(0, allows_backorders=True, rules=OfferRules()) == 0

    def test_out_of_stock_two_follows_the_shop_default(self) -> None:
        assert allows_backorders(2, True) and not allows_backorders(2, False)
        assert allows_backorders(1, False) and not allows_backorders(0, True)


class TestPlatformPrice:
    def test_multiplier_then_addition_to_the_cent(self) -> None:
        # 10.00 x 1.15 + 0.50 = 12.00
        assert platform_price(D("10.00"), OfferRules(price_multiplier=D("1.15"), price_addition=D("0.5"))) == D("12.00")
        # 9.99 x 1.075 = 10.73925 -> 10.74
        assert platform_price(D("9.99"), OfferRules(price_multiplier=D("1.075"))) == D("10.74")

    def test_ninety_nine_ending(self) -> None:
        rules = OfferRules(price_rounding=".99")
        assert platform_price(D("23.45"), rules) == D("23.99")
        assert platform_price(D("24.00"), rules) == D("24.99")

    def test_ten_cents_ending(self) -> None:
        rules = OfferRules(price_rounding=".x0")
        assert platform_price(D("23.41"), rules) == D("23.50")
        assert platform_price(D("23.40"), rules) == D("23.40")


def _result(price: str, before: str | None = None, sp: SpecificPrice | None = None) -> PriceResult:
    return PriceResult(D(price), D(before or price), sp)


class TestOfferLine:
    def test_time_bounded_reduction_is_sent_as_discount_with_local_dates(self) -> None:
        sp = SpecificPrice(1, reduction=D("0.2"), reduction_type="percentage",
                           starts_at=datetime(2026, 5, 31, 22, 30, tzinfo=timezone.utc),  # 1 June 00:30 Paris
                           ends_at=datetime(2026, 6, 15, 21, 59, 59, tzinfo=timezone.utc))  # 15 June 23:59:59
        line = offer_line(COMBI, sku="TS-RED", quantity=4, price=_result("9.60", "12.00", sp), rules=OfferRules(),
                          tz=PARIS)
        assert isinstance(line, OfferLine)
        assert (line.price, line.discount_price, line.discount_start, line.discount_end) == (
            D("12.00"), D("9.60"), date(2026, 6, 1), date(2026, 6, 15))

    def test_permanent_reduction_is_sent_as_the_price(self) -> None:
        sp = SpecificPrice(1, reduction=D("0.2"), reduction_type="percentage")
        line = offer_line(COMBI, sku="TS-RED", quantity=4, price=_result("9.60", "12.00", sp), rules=OfferRules(),
                          tz=PARIS)
        assert isinstance(line, OfferLine)
        assert (line.price, line.discount_price) == (D("9.60"), None)

    def test_discounts_can_be_switched_off(self) -> None:
        sp = SpecificPrice(1, reduction=D("0.2"), reduction_type="percentage",
                           ends_at=datetime(2026, 6, 15, tzinfo=timezone.utc))
        line = offer_line(COMBI, sku="X", quantity=1, price=_result("9.60", "12.00", sp),
                          rules=OfferRules(send_discounts=False), tz=PARIS)
        assert isinstance(line, OfferLine) and (line.price, line.discount_price) == (D("9.60"), None)

    def test_zero_price_and_price_under_the_floor_are_not_sent(self) -> None:
        assert offer_line(COMBI, sku="X", quantity=1, price=_result("0.00"), rules=OfferRules(), tz=PARIS) == (
            PRICE_NOT_POSITIVE)
        assert offer_line(COMBI, sku="X", quantity=1, price=_result("4.99"),
                          rules=OfferRules(floor_price=D(5)), tz=PARIS) == BELOW_FLOOR


def line(sku: str, qty: int = 1, price: str = "10.00", ref: tuple[int, int] = (1, 0)) -> OfferLine:
    return OfferLine(sku, "", "", D(price), qty, id_product=ref[0], id_product_attribute=ref[1])


class TestPlan:
    def test_first_run_sends_every_line_as_new(self) -> None:
        plan = plan_offer_updates([line("A"), line("B")], {}, full=False)
        assert [(l.sku, why) for l, _d, why in plan.send] == [("A", "new"), ("B", "new")]

    def test_unchanged_line_is_not_sent_and_a_changed_one_is(self) -> None:
        stored: dict[str, object] = {"A": line_digest(line("A")), "B": line_digest(line("B"))}
        plan = plan_offer_updates([line("A"), line("B", qty=2)], stored, full=False)
        assert [(l.sku, why) for l, _d, why in plan.send] == [("B", "changed")]
        assert (plan.summary.unchanged, plan.summary.changed) == (1, 1)

    def test_full_resync_sends_unchanged_lines_too(self) -> None:
        stored: dict[str, object] = {"A": line_digest(line("A"))}
        plan = plan_offer_updates([line("A")], stored, full=True)
        assert [(l.sku, why) for l, _d, why in plan.send] == [("A", "resent")]

    def test_salt_change_makes_every_line_changed(self) -> None:
        stored: dict[str, object] = {"A": line_digest(line("A"), "11|2")}
        plan = plan_offer_updates([line("A")], stored, full=False, salt="11|3")
        assert plan.summary.changed == 1

    def test_rejected_line_is_sent_again(self) -> None:
        plan = plan_offer_updates([line("A")], {"A": b""}, full=False)
        assert [why for _l, _d, why in plan.send] == ["changed"]

    def test_offer_gone_from_the_catalogue_is_zeroed_once(self) -> None:
        stored: dict[str, object] = {"A": line_digest(line("A")), "OLD": line_digest(line("OLD")), "DONE": GONE,
                                     "NEVER": None}
        plan = plan_offer_updates([line("A")], stored, full=True)
        assert plan.summary.disappeared == ["OLD"]

    def test_duplicated_skus_are_not_sent_and_name_every_product(self) -> None:
        stored: dict[str, object] = {"D": line_digest(line("D"))}
        lines = [line("D", ref=(1, 11)), line("U", ref=(2, 0)), line("D", ref=(3, 0)), line("N", ref=(4, 0)),
                 line("N", ref=(5, 0))]
        plan = plan_offer_updates(lines, stored, full=False)
        assert [l.sku for l, _d, _w in plan.send] == ["U"]
        assert plan.summary.duplicates == {"D": [(1, 11), (3, 0)], "N": [(4, 0), (5, 0)]}
        # D was on Mirakl: it is zeroed; N never was
        assert plan.summary.disappeared == ["D"]


class TestStoredDigests:
    """The compact form the task loads (16 bytes per SKU, names streamed again) plans like the dict."""

    def _catalogue(self) -> tuple[dict[str, object], list[OfferLine]]:
        stored: dict[str, object] = {}
        lines = []
        for n in range(400):
            sku = f"SKU-{n}"
            kind = n % 8
            if kind == 0:
                stored[sku] = line_digest(line(sku))  # unchanged
            elif kind == 1:
                stored[sku] = line_digest(line(sku, qty=5))  # changed
            elif kind == 2:
                stored[sku] = b""  # rejected last time
            elif kind == 3:
                stored[sku] = None  # never accepted
            elif kind == 4:
                stored[sku] = GONE  # zeroed before
            elif kind == 5:
                stored[sku] = line_digest(line(sku))  # vanishes from the catalogue
                continue
            if kind != 6 or n % 16 == 6:  # kind 6: new SKUs, kind 7: nothing stored, half of 6 absent
                lines.append(line(sku, ref=(n, 0)))
            if n % 50 == 0:
                lines.append(line(sku, ref=(n, 1)))  # a duplicate
        return stored, lines

    def _plan(self, stored: StoredDigests | dict[str, object], lines: list[OfferLine], full: bool) -> tuple:
        planner = OfferPlanner(stored, full=full, salt="s")
        decisions = [planner.consider(ln) for ln in lines]
        s = planner.finish()
        return decisions, (s.new, s.changed, s.unchanged, s.resent), s.duplicates, s.disappeared

    def test_same_decisions_as_the_dict_and_names_read_only_when_an_offer_vanished(self) -> None:
        stored, lines = self._catalogue()
        streamed = []

        def names() -> list[str]:
            streamed.append(1)
            return list(stored)

        for full in (False, True):
            expected = self._plan(dict(stored), lines, full)
            compact = StoredDigests(stored.items(), names)
            assert len(compact) == len(stored)
            assert self._plan(compact, lines, full) == expected
            assert expected[3] and "SKU-5" in expected[3] and "SKU-0" in expected[3]  # vanished + duplicate on Mirakl
        assert streamed == [1, 1]
        dupes = {f"SKU-{n}" for n in range(0, 400, 50)}
        unique = [ln for ln in lines if ln.sku not in dupes]
        quiet = {sku: v for sku, v in stored.items() if sku in {ln.sku for ln in unique}}
        compact = StoredDigests(quiet.items(), lambda: pytest.fail("names read although nothing vanished"))
        assert self._plan(compact, unique, False) == self._plan(dict(quiet), unique, False)


class TestNewSkus:
    """The compact table of SKUs not stored yet answers like the dict it replaced."""

    def test_first_ref_of_each_key_kept_across_growth_with_clashing_low_bits(self) -> None:
        table = NewSkus(capacity=4)
        expected: dict[int, int] = {}
        # keys sharing their low bits (same first slot), negative keys, 0, and plain ones
        keys = [(n + 1) << 40 for n in range(300)] + [-(n << 33) - 1 for n in range(300)] + [0] + list(range(1, 2000, 7))
        for n, key in enumerate(keys):
            assert table.first_or_add(key, n) == -1
            expected[key] = n
        assert len(table) == len(expected) == len(set(keys))
        assert table.capacity >= 2 * len(table)
        for n, key in enumerate(keys):
            assert table.first_or_add(key, 10_000 + n) == expected[key]
        assert len(table) == len(expected)

    def test_duplicates_among_thousands_of_new_skus_are_refused_with_every_product(self) -> None:
        lines = [line(f"NEW-{n}", ref=(n, 0)) for n in range(5000)]
        lines += [line("NEW-7", ref=(9001, 3)), line("NEW-4999", ref=(9002, 0)), line("NEW-7", ref=(9003, 0))]
        plan = plan_offer_updates(lines, {}, full=False)
        assert plan.summary.new == 5000
        assert plan.summary.duplicates == {"NEW-7": [(7, 0), (9001, 3), (9003, 0)], "NEW-4999": [(4999, 0), (9002, 0)]}
        assert len(plan.send) == 4998
        assert {l.sku for l, _d, _w in plan.send}.isdisjoint({"NEW-7", "NEW-4999"})


class TestSkipUnchanged:
    """A row is skipped only when its SKU is stored, accepted, unseen, with the same inputs digest."""

    def test_only_an_accepted_unseen_sku_with_the_same_inputs_is_skipped(self) -> None:
        inputs = 0x1234_5678_9ABC_DEF0
        accepted = line_digest(line("A"))[:8] + inputs.to_bytes(8, "big")
        stored: dict[str, object] = {"A": accepted, "R": b"", "N": None, "G": GONE,
                                     "OLD": line_digest(line("OLD"))}
        planner = OfferPlanner(stored, full=False)
        assert not planner.skip_unchanged("A", 1, 0, inputs + 1)  # other inputs
        assert planner.skip_unchanged("A", 1, 0, inputs)
        assert not planner.skip_unchanged("A", 2, 0, inputs)  # seen: the line is built, a duplicate
        assert planner.consider(line("A", ref=(2, 0)), inputs) is None
        assert planner.summary.duplicates == {"A": [(1, 0), (2, 0)]}
        for sku in ("R", "N", "G", "NEW"):
            assert not planner.skip_unchanged(sku, 3, 0, 0)
        assert not planner.skip_unchanged("OLD", 4, 0, int.from_bytes(line_digest(line("OLD"))[8:], "big") + 1)
        assert planner.summary.unchanged == 1

    def test_the_stored_digest_carries_the_inputs_and_a_full_resync_refreshes_it(self) -> None:
        stored: dict[str, object] = {"A": line_digest(line("A"))}
        decision = OfferPlanner(dict(stored), full=True).consider(line("A"), 42)
        assert decision == ("refreshed", line_digest(line("A"))[:8] + (42).to_bytes(8, "big"))
        stored["A"] = decision[1]
        assert OfferPlanner(dict(stored), full=True).consider(line("A"), 42) == ("resent", decision[1])
        assert OfferPlanner(dict(stored), full=False).consider(line("A"), 42) is None
        assert OfferPlanner(dict(stored), full=False).consider(line("A", qty=9), 43)[0] == "changed"  # type: ignore[index]


class TestInputsDigest:
    """``OfferBuilder.inputs``: the digest a delta run skips unchanged rows on."""

    ROW = (7, 70, "TS-RED", "3000000000017", "", "TS", "", "", 3, 0, 0, 1, 1, 1, D("20.000000"), D("2.000000"),
           D("0.000000"), None, 1, 5, 2)

    @staticmethod
    def builder(**changes: object) -> object:
        from bridge.domain.offer_builder import OfferBuilder, PricingData
        from bridge.domain.pricing import PriceSettings, Visitor

        pricing = PricingData(visitor=Visitor(1, 1, 8, 1), settings=PriceSettings(),
                              tax_rates=changes.pop("tax_rates", {1: D("20")}),  # type: ignore[arg-type]
                              specific_prices=changes.pop("specific_prices", {}),  # type: ignore[arg-type]
                              group_reductions=changes.pop("group_reductions", {}))  # type: ignore[arg-type]
        args: dict[str, object] = {"rules": OfferRules(exclude_references=frozenset({"X1", "X2", "X3"})),
                                   "pricing": pricing, "tz": PARIS, "now": datetime(2025, 6, 1, tzinfo=timezone.utc),
                                   "salt": "s", **changes}
        return OfferBuilder(**args)  # type: ignore[arg-type]

    def test_the_same_inputs_give_the_same_digest_and_any_input_another(self) -> None:
        sku, base = self.builder().inputs(self.ROW)  # type: ignore[attr-defined]
        assert sku == "TS-RED"
        assert self.builder().inputs(self.ROW) == (sku, base)  # type: ignore[attr-defined]
        sp = SpecificPrice(1, id_product=7, reduction=D("0.1"), reduction_type="percentage",
                           ends_at=datetime(2025, 6, 3, tzinfo=timezone.utc))
        others = [
            self.builder().inputs((*self.ROW[:19], 6, 2)),  # type: ignore[attr-defined]  # stock
            self.builder().inputs((*self.ROW[:14], D("20.01"), *self.ROW[15:])),  # type: ignore[attr-defined]
            self.builder(tax_rates={1: D("21")}).inputs(self.ROW),  # type: ignore[attr-defined]
            self.builder(group_reductions={7: D("0.05")}).inputs(self.ROW),  # type: ignore[attr-defined]
            self.builder(excluded_products=frozenset({9})).inputs(self.ROW),  # type: ignore[attr-defined]
            self.builder(salt="t").inputs(self.ROW),  # type: ignore[attr-defined]
            self.builder(specific_prices={7: [sp]}).inputs(self.ROW),  # type: ignore[attr-defined]
            self.builder(shop_allows_backorders=True).inputs(self.ROW),  # type: ignore[attr-defined]
            self.builder(rules=OfferRules(price_multiplier=D("1.1"))).inputs(self.ROW),  # type: ignore[attr-defined]
        ]
        assert len({d for _sku, d in others} | {base}) == len(others) + 1
        # the specific price applies until June 3: from then on, the row's digest is the one without it
        late = self.builder(specific_prices={7: [sp]}, now=datetime(2025, 6, 4, tzinfo=timezone.utc))
        assert late.inputs(self.ROW) == (sku, base)  # type: ignore[attr-defined]

    def test_the_digest_is_the_same_in_another_process(self) -> None:
        import subprocess
        import sys
        from pathlib import Path

        root = str(Path(__file__).resolve().parents[2])
        code = ("from tests.unit.test_offers_plan import TestInputsDigest as T; "
                "print(T.builder().inputs(T.ROW)[1])")
        digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  cwd=root, env={"PYTHONHASHSEED": seed, "PYTHONPATH": root}).stdout.strip()
                   for seed in ("1", "2", "3")}
        assert len(digests) == 1 and digests != {""}


def test_stored_digests_from_the_state_rows_equal_the_ones_from_bytes() -> None:
    from bridge.domain.offers import StoredDigests

    stored: dict[str, object] = {f"S{n}": bytes([n % 7, 0, 0, 0, 0, 0, 0, n % 3]) + bytes([n]) * 8 for n in range(50)}
    stored.update({"NEVER": None, "REJ": b"", "GONE": GONE, "LOW": bytes(7) + b"\x01" + bytes(8)})
    rows = [(sku, None if v is None else "ff" * 16 if v == b"" else v.hex(),  # type: ignore[union-attr]
             "rejected" if v == b"" else "accepted", -1, 0) for sku, v in stored.items()]
    a, b = StoredDigests(stored.items()), StoredDigests.from_state([rows[:20], rows[20:]])
    assert (a.keys, a.values, a.inputs) == (b.keys, b.values, b.inputs)


def test_stored_digests_find_lines_by_ref_then_by_key_and_rows_are_skipped_by_ref_and_inputs_digest() -> None:
    """Rows given out of ref order are kept in ref order; a SKU is found under its ref, or (renamed,
    moved) through the key index; a ref stored under two SKUs answers the one with the digest."""
    def hexd(line: int, inputs: int) -> str:
        return f"{line:016x}{inputs:016x}"

    rows = [("B", hexd(20, 2), "accepted", 7, 1), ("A", hexd(10, 1), "accepted", 3, 0),
            ("OLD", hexd(30, 3), "accepted", 7, 1), ("GONE", None, "rejected", 9, 0)]
    stored = StoredDigests.from_state([rows])
    assert list(stored.refs) == sorted(r[3] << 32 | r[4] for r in rows)
    i = stored.find(hash("B"), (7 << 32) | 1)
    assert stored.refs[i] == (7 << 32) | 1 and stored.inputs[i] == 2
    assert stored.find(hash("A"), (5 << 32) | 0) == stored.find(hash("A")) >= 0  # moved: by key
    assert stored.find(hash("NEW"), (3 << 32) | 0) == -1
    planner = OfferPlanner(stored, full=False)

    def inputs_of(_id_product: int, _ipa: int, digest: str) -> int:
        return int(digest)

    rows = [(3, 0, "1"), (3, 0, "1"), (9, 0, "0"), (7, 1, "3"), (7, 1, "4"), (8, 0, "2")]
    # A once (seen), never-accepted GONE built, the ref stored twice: the line with its digest (OLD), no 4, no ref 8
    assert planner.skip_rows(rows, inputs_of) == [3 << 32, 9 << 32, (7 << 32) | 1, 8 << 32]
    assert planner.summary.unchanged == 2 and stored.seen[stored.find(hash("OLD"))] == ((7 << 32) | 1) + 1
    assert not stored.seen[stored.find(hash("B"))]
    planner.unskip()
    assert planner.summary.unchanged == 0 and planner.skip_rows(rows[:1], inputs_of) == []


def test_the_key_index_sorts_signed_keys_in_order() -> None:
    from array import array

    from bridge.domain.offers import _key_index

    keys = array("q", [5, -(2**63), 2**63 - 1, -1, 0, 5 << 56, -(5 << 56), 3])
    sorted_keys, at = _key_index(keys)
    assert list(sorted_keys) == sorted(keys) and [keys[i] for i in at] == list(sorted_keys)


def test_amounts_are_formatted_with_two_decimals_whatever_their_exponent() -> None:
    from bridge.domain.offers import _money

    for text in ("12.50", "12.5", "12.500", "12", "0.01", "-0.01", "0.00", "-0.00", "1E+2", "1.23E+5", "100.00",
                 "0.005", "0.015", "19.999", "1234567.89", "7.9200000"):
        assert _money(D(text)) == f"{D(text):.2f}", text
    assert _money(None) == ""
