"""Golden cases of PrestaShop's visitor price, worked by hand from prestashop-db.md §2.

Every expected value is a literal; the comment above it shows the arithmetic.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from bridge.domain.pricing import (
    PriceInputs,
    PriceSettings,
    SpecificPrice,
    TaxRule,
    Visitor,
    compute_price,
    next_price_change,
    priority_list,
    ps_round,
    score,
    select_specific_price,
    tax_rate_for,
)

UTC = timezone.utc
NOW = datetime(2026, 3, 10, 12, 30, 45, tzinfo=UTC)
FR, DE, EUR, USD, SHOP, VISITORS = 8, 1, 1, 2, 1, 1
VISITOR = Visitor(id_shop=SHOP, id_currency=EUR, id_country=FR, id_group=VISITORS)
PRIO = priority_list(None)  # id_customer;id_shop;id_currency;id_country;id_group
EUR_SETTINGS = PriceSettings()
USD_SETTINGS = PriceSettings(target_is_default_currency=False, conversion_rate=D("1.2"))


def price(inputs: PriceInputs, sp: SpecificPrice | None = None, settings: PriceSettings = EUR_SETTINGS) -> D:
    return compute_price(inputs, settings, sp).price


def before(inputs: PriceInputs, sp: SpecificPrice | None = None, settings: PriceSettings = EUR_SETTINGS) -> D:
    return compute_price(inputs, settings, sp).price_before_reduction


def pick(*sps: SpecificPrice, ipa: int = 0, now: datetime = NOW, visitor: Visitor = VISITOR,
         prio: tuple[str, ...] = PRIO) -> int | None:
    sp = select_specific_price(sps, visitor=visitor, id_product_attribute=ipa, now=now, priorities=prio)
    return sp.id_specific_price if sp else None


# --- base, combination, tax ------------------------------------------------------------------------


class TestBaseAndTax:
    def test_price_without_tax_rules_is_the_shop_price_rounded(self) -> None:
        # 10.004 -> 10.00 (half-up, 2 decimals)
        assert price(PriceInputs(base_price=D("10.004"))) == D("10.00")

    def test_twenty_percent_vat_is_added(self) -> None:
        # 16.6667 x 1.20 = 20.00004 -> 20.00
        assert price(PriceInputs(base_price=D("16.6667"), tax_rate=D(20))) == D("20.00")

    def test_combination_impact_is_added_before_tax(self) -> None:
        # (10 + 2.50) x 1.20 = 15.00
        assert price(PriceInputs(base_price=D(10), attribute_price=D("2.5"), tax_rate=D(20))) == D("15.00")

    def test_negative_combination_impact_lowers_the_price(self) -> None:
        # (10 - 3) x 1.055 = 7.385 -> 7.39
        assert price(PriceInputs(base_price=D(10), attribute_price=D(-3), tax_rate=D("5.5"))) == D("7.39")

    def test_price_never_goes_below_zero(self) -> None:
        # 5 - 8 = -3 -> clamped to 0
        assert price(PriceInputs(base_price=D(5), attribute_price=D(-8))) == D("0.00")

    def test_currency_conversion_multiplies_base_and_impact(self) -> None:
        # (10 + 2) x 1.2 (rate) = 14.40 ; x 1.20 VAT = 17.28
        assert price(PriceInputs(base_price=D(10), attribute_price=D(2), tax_rate=D(20)),
                     settings=USD_SETTINGS) == D("17.28")


class TestTaxRules:
    def test_rule_for_another_country_does_not_apply(self) -> None:
        rules = [TaxRule(id_country=DE, rate=D(19))]
        assert tax_rate_for(rules, id_country=FR) == D(0)

    def test_country_rule_gives_its_rate(self) -> None:
        rules = [TaxRule(id_country=FR, rate=D(20)), TaxRule(id_country=DE, rate=D(19))]
        assert tax_rate_for(rules, id_country=DE) == D(19)

    def test_state_rule_wins_over_the_whole_country_rule(self) -> None:
        # ORDER BY ... id_state DESC: the state row (7 %) comes first, behaviour 0 stops the walk
        rules = [TaxRule(id_country=FR, rate=D(20)), TaxRule(id_country=FR, rate=D(7), id_state=5)]
        assert tax_rate_for(rules, id_country=FR, id_state=5) == D(7)
        assert tax_rate_for(rules, id_country=FR, id_state=6) == D(20)

    def test_combined_behaviour_sums_the_rates(self) -> None:
        # state row first (behaviour 1 = combine): 5 + country 10 = 15 %
        rules = [TaxRule(id_country=FR, rate=D(10)), TaxRule(id_country=FR, rate=D(5), id_state=3, behavior=1)]
        assert tax_rate_for(rules, id_country=FR, id_state=3) == D(15)

    def test_one_after_another_behaviour_compounds(self) -> None:
        # (1.05 x 1.10 - 1) x 100 = 15.5 %
        rules = [TaxRule(id_country=FR, rate=D(10)), TaxRule(id_country=FR, rate=D(5), id_state=3, behavior=2)]
        assert tax_rate_for(rules, id_country=FR, id_state=3) == D("15.5")

    def test_zip_range_rule_applies_only_inside_its_range(self) -> None:
        # '20100' BETWEEN '20000' AND '20999' -> the 13 % row sorts first (zipcode_from DESC)
        rules = [TaxRule(id_country=FR, rate=D(20)),
                 TaxRule(id_country=FR, rate=D(13), zipcode_from="20000", zipcode_to="20999")]
        assert tax_rate_for(rules, id_country=FR, zipcode="20100") == D(13)
        assert tax_rate_for(rules, id_country=FR, zipcode="75001") == D(20)
        # visitor postcode '0' -> only the open row
        assert tax_rate_for(rules, id_country=FR) == D(20)

    def test_compound_rate_is_used_in_the_price(self) -> None:
        # 100 x 1.155 = 115.50
        assert price(PriceInputs(base_price=D(100), tax_rate=D("15.5"))) == D("115.50")


# --- specific prices: amounts ------------------------------------------------------------------------


def sp(id_: int, **kw: object) -> SpecificPrice:
    return SpecificPrice(id_specific_price=id_, id_product=1, **kw)  # type: ignore[arg-type]


class TestSpecificPriceAmounts:
    def test_fixed_price_replaces_the_base_price(self) -> None:
        # fixed 8 (+ impact 2, product-level row) x 1.2 = 12.00
        s = sp(1, price=D(8))
        assert price(PriceInputs(base_price=D(10), attribute_price=D(2), tax_rate=D(20)), s) == D("12.00")

    def test_fixed_price_for_the_combination_ignores_the_impact(self) -> None:
        # fixed 8 for ipa 5: impact not added -> 8 x 1.2 = 9.60
        s = sp(1, price=D(8), id_product_attribute=5)
        assert price(PriceInputs(base_price=D(10), attribute_price=D(2), tax_rate=D(20)), s) == D("9.60")

    def test_minus_one_keeps_the_base_price_and_applies_the_reduction(self) -> None:
        # (10 + 2) x 1.2 = 14.40 ; 10 % off -> 14.40 - 1.44 = 12.96
        s = sp(1, price=D(-1), reduction=D("0.1"), reduction_type="percentage", id_product_attribute=5)
        assert price(PriceInputs(base_price=D(10), attribute_price=D(2), tax_rate=D(20)), s) == D("12.96")

    def test_percentage_reduction_applies_to_the_taxed_price(self) -> None:
        # 19.99 x 1.2 = 23.988 ; x (1 - 0.15) = 20.3898 -> 20.39 ; before: 23.99
        s = sp(1, reduction=D("0.15"), reduction_type="percentage")
        inputs = PriceInputs(base_price=D("19.99"), tax_rate=D(20))
        assert price(inputs, s) == D("20.39")
        assert before(inputs, s) == D("23.99")

    def test_tax_included_amount_reduction_is_subtracted_as_is(self) -> None:
        # 50 x 1.2 = 60 ; - 5 (tax incl) = 55.00
        s = sp(1, reduction=D(5), reduction_type="amount", reduction_tax=True)
        assert price(PriceInputs(base_price=D(50), tax_rate=D(20)), s) == D("55.00")

    def test_tax_excluded_amount_reduction_gets_the_tax_added(self) -> None:
        # 60 - 5 x 1.2 = 60 - 6 = 54.00
        s = sp(1, reduction=D(5), reduction_type="amount", reduction_tax=False)
        assert price(PriceInputs(base_price=D(50), tax_rate=D(20)), s) == D("54.00")

    def test_fixed_price_and_reduction_together(self) -> None:
        # fixed 40 x 1.2 = 48 ; 25 % off = 36.00 ; before reduction = 48.00
        s = sp(1, price=D(40), reduction=D("0.25"), reduction_type="percentage")
        inputs = PriceInputs(base_price=D(50), tax_rate=D(20))
        assert (price(inputs, s), before(inputs, s)) == (D("36.00"), D("48.00"))

    def test_amount_reduction_in_all_currencies_is_converted(self) -> None:
        # 50 x 1.2 (rate) = 60 ; x 1.2 VAT = 72 ; reduction 5 (id_currency 0) x 1.2 = 6 -> 66.00
        s = sp(1, reduction=D(5), reduction_type="amount")
        assert price(PriceInputs(base_price=D(50), tax_rate=D(20)), s, USD_SETTINGS) == D("66.00")

    def test_amount_reduction_in_the_target_currency_is_not_converted(self) -> None:
        # 72 - 5 = 67.00
        s = sp(1, reduction=D(5), reduction_type="amount", id_currency=USD)
        assert price(PriceInputs(base_price=D(50), tax_rate=D(20)), s, USD_SETTINGS) == D("67.00")

    def test_fixed_price_in_the_target_currency_is_not_converted(self) -> None:
        # fixed 30 USD (id_currency set) -> 30 x 1.2 VAT = 36.00 ; impact 1 x 1.2 rate = 1.2 -> (30+1.2) x 1.2 = 37.44
        s = sp(1, price=D(30), id_currency=USD)
        assert price(PriceInputs(base_price=D(50), attribute_price=D(1), tax_rate=D(20)), s,
                     USD_SETTINGS) == D("37.44")

    def test_fixed_price_for_all_currencies_is_converted(self) -> None:
        # fixed 30 (id_currency 0) x 1.2 rate = 36 ; x 1.2 VAT = 43.20
        s = sp(1, price=D(30))
        assert price(PriceInputs(base_price=D(50), tax_rate=D(20)), s, USD_SETTINGS) == D("43.20")


# --- ecotax, group reduction, rounding -----------------------------------------------------------------


class TestEcotaxGroupRounding:
    def test_ecotax_is_ignored_when_ps_use_ecotax_is_off(self) -> None:
        # 10 x 1.2 = 12.00 (ecotax 0.5 ignored)
        assert price(PriceInputs(base_price=D(10), ecotax=D("0.5"), tax_rate=D(20))) == D("12.00")

    def test_ecotax_without_ecotax_rules_group_is_added_untaxed(self) -> None:
        # 10 x 1.2 + 0.5 = 12.50
        s = PriceSettings(use_ecotax=True)
        assert price(PriceInputs(base_price=D(10), ecotax=D("0.5"), tax_rate=D(20)), settings=s) == D("12.50")

    def test_ecotax_is_taxed_by_the_ecotax_group_and_combination_ecotax_wins(self) -> None:
        # 10 x 1.2 = 12 ; ecotax of the combination 1 (> 0, wins over 0.5) x 1.2 = 1.2 -> 13.20
        s = PriceSettings(use_ecotax=True, ecotax_tax_rate=D(20))
        inputs = PriceInputs(base_price=D(10), ecotax=D("0.5"), attribute_ecotax=D(1), tax_rate=D(20))
        assert price(inputs, settings=s) == D("13.20")

    def test_percentage_reduction_also_applies_to_the_ecotax(self) -> None:
        # (10 x 1.2 + 1) = 13 ; 10 % off = 11.70
        s = PriceSettings(use_ecotax=True)
        red = sp(1, reduction=D("0.1"), reduction_type="percentage")
        assert price(PriceInputs(base_price=D(10), ecotax=D(1), tax_rate=D(20)), red, s) == D("11.70")

    def test_group_reduction_percent_applies_after_the_specific_price(self) -> None:
        # 100 x 1.2 = 120 ; - 20 (amount) = 100 ; group 10 % -> 90.00 ; before: 120 x 0.9 = 108.00
        s = PriceSettings(group_reduction_percent=D(10))
        red = sp(1, reduction=D(20), reduction_type="amount")
        inputs = PriceInputs(base_price=D(100), tax_rate=D(20))
        assert (price(inputs, red, s), before(inputs, red, s)) == (D("90.00"), D("108.00"))

    def test_product_group_reduction_cache_wins_over_the_group_percent(self) -> None:
        # 120 x (1 - 0.05) = 114.00 (the group's 10 % is not used)
        s = PriceSettings(group_reduction_percent=D(10))
        inputs = PriceInputs(base_price=D(100), tax_rate=D(20), group_reduction=D("0.05"))
        assert price(inputs, settings=s) == D("114.00")

    @pytest.mark.parametrize(
        ("mode", "value", "expected"),
        [
            (0, D("1.231"), D("1.24")),  # up: ceil
            (1, D("1.239"), D("1.23")),  # down: floor
            (2, D("1.235"), D("1.24")),  # half up
            (3, D("1.235"), D("1.23")),  # half down
            (4, D("1.245"), D("1.24")),  # half even: 4 is even
            (4, D("1.235"), D("1.24")),  # half even: 3 -> 4
            (5, D("1.245"), D("1.25")),  # half odd: 4 -> 5
            (5, D("1.235"), D("1.23")),  # half odd: 3 stays
            (5, D("1.236"), D("1.24")),  # half odd, not a tie: nearest
        ],
    )
    def test_ps_round_modes(self, mode: int, value: D, expected: D) -> None:
        assert ps_round(value, 2, mode) == expected

    def test_precision_zero_rounds_to_whole_units(self) -> None:
        # 1234.5 x 1 -> half up -> 1235
        s = PriceSettings(precision=0)
        assert price(PriceInputs(base_price=D("1234.5")), settings=s) == D("1235")

    def test_round_down_mode_is_used_for_the_final_price(self) -> None:
        # 9.99 x 1.2 = 11.988 -> floor -> 11.98
        s = PriceSettings(round_mode=1)
        assert price(PriceInputs(base_price=D("9.99"), tax_rate=D(20)), settings=s) == D("11.98")


# --- specific prices: which row wins -------------------------------------------------------------------


class TestSelection:
    def test_row_for_another_country_currency_group_shop_or_customer_is_ignored(self) -> None:
        assert pick(sp(1, id_country=DE), sp(2, id_currency=USD), sp(3, id_group=3), sp(4, id_shop=2),
                    sp(5, id_customer=9), sp(6, id_cart=4)) is None

    def test_row_with_from_quantity_above_one_is_ignored(self) -> None:
        assert pick(sp(1, from_quantity=2)) is None
        # from_quantity DESC: 1 beats 0
        assert pick(sp(1, from_quantity=0), sp(2, from_quantity=1)) == 2

    def test_combination_row_beats_product_row_whatever_the_score(self) -> None:
        # ORDER BY id_product_attribute DESC comes before score
        assert pick(sp(1, id_country=FR, id_shop=SHOP), sp(2, id_product_attribute=5), ipa=5) == 2
        # another combination's row never applies
        assert pick(sp(1), sp(2, id_product_attribute=6), ipa=5) == 1

    def test_manual_row_beats_catalogue_price_rule_row(self) -> None:
        # id_specific_price_rule ASC before the score
        assert pick(sp(1, id_specific_price_rule=3, id_country=FR), sp(2)) == 2

    def test_default_priorities_prefer_shop_then_currency_then_country_then_group(self) -> None:
        # weights (reversed list): id_group 2, id_country 4, id_currency 8, id_shop 16, id_customer 32
        assert score(sp(1, id_shop=SHOP), VISITOR, PRIO) == 32 + 16
        assert pick(sp(1, id_country=FR, id_group=VISITORS), sp(2, id_shop=SHOP)) == 2  # 38 < 48
        assert pick(sp(1, id_country=FR), sp(2, id_group=VISITORS)) == 1  # 36 > 34

    def test_product_priority_order_changes_the_winner(self) -> None:
        # id_country;id_group;id_shop;id_currency: country 16+32 beats shop 4+32
        prio = priority_list("id_country;id_group;id_shop;id_currency")
        assert pick(sp(1, id_shop=SHOP), sp(2, id_country=FR), prio=prio) == 2

    def test_row_with_an_end_date_beats_an_open_ended_row_at_equal_score(self) -> None:
        # `to` DESC: zero date sorts lowest
        end = NOW + timedelta(days=3)
        assert pick(sp(1), sp(2, ends_at=end)) == 2
        # then `from` DESC: the later start wins
        assert pick(sp(3, starts_at=NOW - timedelta(days=5), ends_at=end),
                    sp(4, starts_at=NOW - timedelta(days=1), ends_at=end)) == 4

    def test_dates_are_inclusive_at_minute_granularity(self) -> None:
        # now 12:30:45 counts as 12:30:00
        assert pick(sp(1, starts_at=datetime(2026, 3, 10, 12, 30, 0, tzinfo=UTC))) == 1
        assert pick(sp(1, starts_at=datetime(2026, 3, 10, 12, 30, 30, tzinfo=UTC))) is None
        assert pick(sp(1, ends_at=datetime(2026, 3, 10, 12, 30, 0, tzinfo=UTC))) == 1
        assert pick(sp(1, ends_at=datetime(2026, 3, 10, 12, 29, 59, tzinfo=UTC))) is None

    def test_next_price_change_is_the_first_future_boundary(self) -> None:
        # starts 14:00:30 -> applies from 14:01 ; ends 13:15:00 -> stops at 13:16 -> soonest 13:16
        a = sp(1, starts_at=datetime(2026, 3, 10, 14, 0, 30, tzinfo=UTC))
        b = sp(2, ends_at=datetime(2026, 3, 10, 13, 15, 0, tzinfo=UTC))
        c = sp(3, id_country=DE, starts_at=datetime(2026, 3, 10, 12, 45, tzinfo=UTC))  # not ours
        when = next_price_change([a, b, c], visitor=VISITOR, id_product_attribute=0, now=NOW)
        assert when == datetime(2026, 3, 10, 13, 16, tzinfo=UTC)
        assert next_price_change([a], visitor=VISITOR, id_product_attribute=0, now=NOW) == datetime(
            2026, 3, 10, 14, 1, tzinfo=UTC)
        assert next_price_change([], visitor=VISITOR, id_product_attribute=0, now=NOW) is None

    def test_time_bounded_reduction_is_reported_with_its_dates(self) -> None:
        end = datetime(2026, 3, 20, 23, 59, 59, tzinfo=UTC)
        s = sp(1, reduction=D("0.2"), reduction_type="percentage", ends_at=end)
        res = compute_price(PriceInputs(base_price=D(10), tax_rate=D(20)), EUR_SETTINGS, s)
        # 12.00 before, 12 x 0.8 = 9.60 after
        assert (res.price, res.price_before_reduction, res.time_bounded_reduction) == (D("9.60"), D("12.00"), True)
        assert res.reduction_ends_at == end
