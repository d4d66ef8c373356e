"""Pure order amounts and text cleaning; every expected value is computed by hand in the comment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.domain.countries import alpha2, fold_label
from bridge.domain.order_amounts import (
    AmountError,
    LineAmounts,
    Rounding,
    TaxCalc,
    TaxPart,
    line_amounts,
    round_total_products,
    spread,
)
from bridge.domain.order_draft import DraftError, ProductFacts, build_draft, clean_name, split_tax
from bridge.domain.order_text import clean_address_line, clean_phone, clean_postcode, customer_email
from tests.order_samples import D, line, order

FR20 = TaxCalc(1, (TaxPart(1, D("20"), "TVA FR 20%"),), 0)
FR55 = TaxCalc(2, (TaxPart(2, D("5.5"), "TVA FR 5.5%"),), 0)
NO_TAX = TaxCalc(0)
LINE = Rounding(mode=2, type=2, precision=2)


def amounts(price: str, qty: int = 1, *, tax: str | None = None, included: bool = True, rate: str = "20",
            rounding: Rounding = LINE, unit: str | None = None) -> LineAmounts:
    return line_amounts(quantity=qty, price=D(price), price_unit=D(unit) if unit else D(price) / qty,
                        mirakl_tax=D(tax) if tax is not None else None, tax_included=included, rate=D(rate),
                        rounding=rounding)


class TestSplitTax:
    def test_an_exact_split_needs_no_rounding(self) -> None:
        assert split_tax(D("12.00"), D("20"), 2, 2) == (D("10.00"), D("2.00"))

    @pytest.mark.parametrize(("mode", "te"), [
        (0, "8.33"),  # up: 9.99 / 1.2 = 8.325 -> 8.33
        (1, "8.32"),  # down
        (2, "8.33"),  # half up
        (3, "8.32"),  # half down
        (4, "8.32"),  # half even: 2 is even
        (5, "8.33"),  # half odd: 3 is odd
    ])
    def test_each_prestashop_round_mode_on_a_half_cent(self, mode: int, te: str) -> None:
        assert split_tax(D("9.99"), D("20"), mode, 2) == (D(te), D("9.99") - D(te))

    def test_a_zero_rate_keeps_the_amount(self) -> None:
        assert split_tax(D("7.30"), D("0"), 2, 2) == (D("7.30"), D("0.00"))


class TestLineAmounts:
    def test_round_per_item_rounds_the_unit_then_multiplies(self) -> None:
        # 9.99 / 1.2 = 8.325 -> 8.33 ; x3 = 24.99 ; paid 29.97
        a = amounts("29.97", 3, unit="9.99", rounding=Rounding(2, 1, 2))
        assert (a.unit_te, a.unit_ti, a.total_te, a.total_ti) == (D("8.33"), D("9.99"), D("24.99"), D("29.97"))

    def test_round_per_line_rounds_the_line_and_keeps_six_decimals_per_unit(self) -> None:
        # 29.97 / 1.2 = 24.975 -> 24.98 ; unit 24.98 / 3 = 8.326667
        a = amounts("29.97", 3, unit="9.99")
        assert (a.unit_te, a.total_te, a.total_ti) == (D("8.326667"), D("24.98"), D("29.97"))

    def test_round_on_total_keeps_the_line_at_six_decimals(self) -> None:
        a = amounts("29.97", 3, unit="9.99", rounding=Rounding(2, 3, 2))
        assert a.total_te == D("24.975000")

    def test_mirakl_tax_included_is_taken_out_of_the_price(self) -> None:
        a = amounts("12.00", 2, tax="2.00", unit="6.00")
        assert (a.unit_te, a.unit_ti, a.total_te, a.total_ti) == (D("5.000000"), D("6.00"), D("10.00"), D("12.00"))

    def test_mirakl_tax_excluded_is_added_to_the_price(self) -> None:
        # TAX_EXCLUDED: price 10.00 + tax 2.00 = 12.00 paid ; unit 12.00 / 2 = 6.000000
        a = amounts("10.00", 2, tax="2.00", included=False, unit="5.00")
        assert (a.unit_te, a.unit_ti, a.total_te, a.total_ti) == (D("5.000000"), D("6.000000"), D("10.00"),
                                                                  D("12.00"))

    def test_without_taxes_both_modes_book_the_paid_price(self) -> None:
        assert amounts("12.00", included=False) == amounts("12.00", included=True)

    def test_a_tax_above_the_price_is_refused(self) -> None:
        with pytest.raises(AmountError):
            amounts("5.00", tax="6.00")

    def test_a_zero_quantity_is_refused(self) -> None:
        with pytest.raises(AmountError):
            line_amounts(quantity=0, price=D("1"), price_unit=D("1"), mirakl_tax=None, tax_included=True,
                         rate=D("20"), rounding=LINE)


class TestRoundTotal:
    def test_the_rounding_difference_goes_to_the_largest_line(self) -> None:
        # 10.01 / 1.2 = 8.341667 twice = 16.683334 -> 16.68 ; first largest line takes -0.003334
        r = Rounding(2, 3, 2)
        lines = [amounts("10.01", rounding=r), amounts("10.01", rounding=r)]
        out = round_total_products(lines, r)
        assert [a.total_te for a in out] == [D("8.338333"), D("8.341667")]
        assert sum(a.total_te for a in out) == D("16.68")

    def test_other_round_types_are_left_alone(self) -> None:
        lines = [amounts("10.01")]
        assert round_total_products(lines, LINE) == lines


def test_spread_shares_by_rate_and_gives_the_rest_to_the_last_tax() -> None:
    parts = (TaxPart(1, D("5")), TaxPart(2, D("10")))
    # 1.00 x 5/15 = 0.333333 ; rest 0.666667
    assert spread(D("1.00"), parts) == [D("0.333333"), D("0.666667")]
    assert spread(D("1.00"), ()) == []


def test_one_after_another_taxes_compound() -> None:
    calc = TaxCalc(9, (TaxPart(1, D("10")), TaxPart(2, D("10"))), 2)
    assert calc.rate == D("21.000")  # 1.1 x 1.1 = 1.21
    assert TaxCalc(9, calc.parts, 1).rate == D("20")


class TestCleanName:
    @pytest.mark.parametrize(("raw", "clean"), [
        ("Jean-Pierre O'Neil", "Jean-Pierre O'Neil"),
        ("Élodie Ñúñez", "Élodie Ñúñez"),
        ("Zoé 😀", "Zoé 😀"),  # 4-byte characters are not forbidden by isCustomerName
        ('Quote"Back\\slash', "Quote Back slash"),
        ("R2-D2", "R -D"),
        ("J.R. Smith", "J R. Smith"),  # a dot only before a space or at the end
        ("Dr.", "Dr."),
        ("a@b#c{d}", "a b c d"),
        ("", "-"),
        ("1234", "-"),
    ])
    def test_names_pass_prestashop_customer_name_rules(self, raw: str, clean: str) -> None:
        assert clean_name(raw, 255) == clean

    def test_names_are_truncated_to_the_column(self) -> None:
        assert clean_name("Anne Marie", 5) == "Anne"
        assert clean_name("Maximilienne", 3) == "Max"


def test_address_phone_and_postcode_cleaning() -> None:
    assert clean_address_line("12 rue <de> la Paix!") == "12 rue de la Paix"
    assert clean_phone("+33 (0)1 23-45 x67") == "+33 (0)1 23-45 67"
    assert clean_postcode("75002 CEDEX_1") == "75002 CEDEX 1"


def test_customer_email_uses_the_relay_or_the_placeholder() -> None:
    kw = {"template": "{customer_id}@{platform}.mirakl.invalid", "platform": "Fnac", "order_id": "O-1"}
    assert customer_email(notification_email="x1@notification.mirakl.net", mode="notification",
                          customer_id="C 9", **kw) == "x1@notification.mirakl.net"
    assert customer_email(notification_email="x1@notification.mirakl.net", mode="placeholder",
                          customer_id="C 9", **kw) == "c-9@fnac.mirakl.invalid"
    assert customer_email(notification_email="", mode="notification", customer_id="", **kw) == \
        "o-1@fnac.mirakl.invalid"


def test_country_codes() -> None:
    assert alpha2("FRA") == "FR" and alpha2("deu") == "DE" and alpha2("FR") == "FR" and alpha2("XXX") == ""
    assert fold_label("  Côte  d'Ivoire ") == "cote d'ivoire"


def facts(key: tuple[int, int], tax: TaxCalc = FR20, price: str = "10") -> ProductFacts:
    return ProductFacts(key[0], key[1], f"P{key[0]}", tax, price_te=D(price), wholesale_price=D("4"))


def draft(*lines: object, products: dict[str, ProductFacts] | None = None, fallback: dict | None = None,
          carrier: TaxCalc = FR20, **kw: object):  # type: ignore[no-untyped-def]
    return build_draft(order("D-1", *lines, **kw),  # type: ignore[arg-type]
                       products=products or {"A": facts((1, 0)), "B": facts((2, 5), FR55)},
                       carrier_tax=carrier, fallback_taxes=fallback or {}, tax_included=True, rounding=LINE,
                       conversion_rate=D("1.08"), email="x@y.z")


class TestBuildDraft:
    def test_totals_are_the_sum_of_the_lines_and_shipping(self) -> None:
        # A: 24.00 / 1.2 = 20.00 ; B: 2 x 10.55 = 21.10 / 1.055 = 20.00 ; shipping 6.00 / 1.2 = 5.00
        d = draft(line("A", 1, "24.00", shipping="6.00"), line("B", 2, "10.55"))
        assert [(ln.total_price_te, ln.total_price_ti) for ln in d.lines] == [
            (D("20.00"), D("24.00")), (D("20.00"), D("21.10"))]
        assert (d.total_products, d.total_products_wt) == (D("40.00"), D("45.10"))
        assert (d.shipping_te, d.shipping_ti, d.carrier_tax_rate) == (D("5.00"), D("6.00"), D("20"))
        assert (d.total_paid_te, d.total_paid_ti) == (D("45.00"), D("51.10"))
        assert d.lines[1].taxes[0].total_amount == D("1.10") and d.lines[1].tax_rate == D("5.5")
        assert d.lines[0].original_product_price == D("10.800000")  # 10 x 1.08 in the order currency

    def test_lines_of_one_product_are_merged_like_a_cart(self) -> None:
        d = draft(line("A", 1, "12.00", line_id="L1"), line("A", 2, "12.00", line_id="L2"))
        assert len(d.lines) == 1
        merged = d.lines[0]
        assert (merged.quantity, merged.unit_price_ti, merged.total_price_ti) == (3, D("12.00"), D("36.00"))
        assert merged.total_price_te == D("30.00") and merged.mirakl_line_ids == ("L1", "L2")

    def test_mirakl_taxes_win_over_the_product_rule(self) -> None:
        # Mirakl says 2.00 of tax in 12.00 (20 %), the product's rule would say 5.5 %
        d = draft(line("B", 1, "12.00", taxes=(("2.00", "20"),)),
                  fallback={D("20"): TaxPart(1, D("20.000"), "TVA 20")})
        assert (d.lines[0].total_price_te, d.lines[0].tax_rate) == (D("10.00"), D("20"))
        assert [(t.id_tax, t.total_amount) for t in d.lines[0].taxes] == [(1, D("2.00"))]

    def test_a_mirakl_tax_without_any_prestashop_tax_is_refused(self) -> None:
        with pytest.raises(DraftError) as err:
            draft(line("C", 1, "12.00", taxes=(("2.00", "20"),)),
                  products={"C": facts((3, 0), NO_TAX)})
        assert err.value.code == "invalid_amounts"

    def test_mirakl_shipping_taxes_are_booked(self) -> None:
        d = draft(line("A", 1, "12.00", shipping="5.00", shipping_taxes=(("0.83", "20"),)))
        assert (d.shipping_te, d.shipping_ti, d.carrier_tax_rate) == (D("4.17"), D("5.00"), D("20"))
        assert [(t.id_tax, t.total_amount) for t in d.shipping_taxes] == [(1, D("0.83"))]

    def test_an_order_whose_lines_are_all_refused_has_no_lines(self) -> None:
        with pytest.raises(DraftError) as err:
            draft(line("A", 1, "12.00", state="REFUSED"))
        assert err.value.code == "no_lines"

    def test_free_shipping_has_no_tax(self) -> None:
        d = draft(line("A", 1, "12.00"))
        assert (d.shipping_te, d.shipping_ti) == (Decimal("0.00"), Decimal(0))
        assert all(t.total_amount == 0 for t in d.shipping_taxes)
