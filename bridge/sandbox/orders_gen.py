"""Realistic Mirakl OR11 order dicts, deterministic for a seed.

The dicts have exactly the keys of a real OR11 order (order, line, customer and address level),
amounts as ``Decimal``, prices tax included with ``taxes`` arrays holding the included VAT (the
simulator derives the tax-excluded view). Addresses are always filled: the simulator hides them
until the order reaches SHIPPING, as platforms do.

Hostile-but-legal data on purpose: accents, 4-byte emoji, a quote and a backslash in names,
streets longer than 128 characters, missing phone, null company, several currencies, free
shipping next to paid shipping.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
DEFAULT_START = datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)
ACCEPTED_LINE_STATES = (
    "WAITING_DEBIT",
    "WAITING_DEBIT_PAYMENT",
    "SHIPPING",
    "SHIPPED",
    "TO_COLLECT",
    "RECEIVED",
    "CLOSED",
)

# alpha-3 code -> (country label, VAT rate %, zip pattern, cities)
COUNTRIES: dict[str, tuple[str, Decimal, str, tuple[str, ...]]] = {
    "FRA": ("France", Decimal("20"), "#####", ("Paris", "Lyon", "Saint-Étienne", "Besançon", "Nîmes")),
    "BEL": ("Belgique", Decimal("21"), "####", ("Liège", "Bruxelles", "Namur")),
    "DEU": ("Deutschland", Decimal("19"), "#####", ("München", "Köln", "Düsseldorf")),
    "ESP": ("España", Decimal("21"), "#####", ("A Coruña", "Málaga", "Cádiz")),
    "ITA": ("Italia", Decimal("22"), "#####", ("Forlì", "Cantù", "Roma")),
}
FIRSTNAMES = (
    "Léa",
    "Zoë",
    "François",
    "Anaïs",
    "Jürgen",
    "Íñigo",
    "Chloé 🌸",
    "Noël",
    "Renée",
    "Björn",
    "Marie-Ève",
)
LASTNAMES = (
    "Dubois",
    "Müller",
    "Lefèvre",
    "García Núñez",
    "O'Brien",
    "D\\Angelo",
    "Nguyễn",
    "Østergård",
    "Martin",
)
STREETS = (
    "rue des Tanneurs",
    "avenue Jean-Jaurès",
    "Hauptstraße",
    "calle de Alcalá",
    "via dei Mille",
    "chemin du Moulin à Vent",
)
TITLES = (
    "Mug en céramique 35 cl",
    "Théière en fonte 0,8 L",
    "Plaid en laine 130×170",
    "Café en grains 1 kg 🌍",
    "Coffret « Découverte »",
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _included_tax(amount: Decimal, rate: Decimal) -> Decimal:
    """VAT contained in a tax-included amount."""
    return _money(amount * rate / (Decimal(100) + rate))


def iso(value: datetime, *, millis: bool = False) -> str:
    value = value.astimezone(timezone.utc)
    if millis:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _zip(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randint(0, 9)) if c == "#" else c for c in pattern)


def _address(rng: random.Random, first: str, last: str, iso3: str, *, shipping: bool) -> dict[str, Any]:
    label, _rate, zip_pattern, cities = COUNTRIES[iso3]
    street = f"{rng.randint(1, 240)} {rng.choice(STREETS)}"
    if rng.random() < 0.15:  # longer than PrestaShop's address1 (128)
        street += ", résidence " + " ".join(["Les Jardins de l'Observatoire"] * 5)
    address: dict[str, Any] = {
        "city": rng.choice(cities),
        "civility": rng.choice((None, "M.", "Mme", "Mr", "Dr.")),
        "company": None if rng.random() < 0.8 else "Atelier Ève & Fils SARL",
        "company_2": None,
        "country": label,
        "country_iso_code": iso3,
        "firstname": first,
        "lastname": last,
        "phone": None
        if rng.random() < 0.2
        else f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} 00 0{rng.randint(0, 9)}",
        "phone_secondary": None,
        "state": None,
        "street_1": street,
        "street_2": rng.choice(("", None, "Bâtiment C", "3e étage, porte gauche")),
        "zip_code": _zip(rng, zip_pattern),
    }
    if shipping:
        address["additional_info"] = rng.choice((None, "Digicode 4521B", "Laisser chez le voisin « Émile »"))
    return address


def _taxes(amount: Decimal, rate: Decimal, iso3: str) -> list[dict[str, Any]]:
    if amount == 0:
        return []
    return [
        {
            "code": f"TVA_{iso3[:2]}_{rate}",
            "amount": _included_tax(amount, rate),
            "rate": rate.quantize(Decimal("0.1")),
        }
    ]


def _line(
    rng: random.Random,
    order_id: str,
    index: int,
    sku: str,
    qty: int,
    unit: Decimal,
    shipping: Decimal,
    rate: Decimal,
    iso3: str,
    state: str,
    created: str,
    debited: str | None,
) -> dict[str, Any]:
    price = _money(unit * qty)
    commission = _money(price * Decimal("0.12"))
    commission_tax = _money(commission * Decimal("0.2"))
    return {
        "order_line_id": f"{order_id}-{index}",
        "order_line_index": index,
        "order_line_state": state,
        "order_line_state_reason_code": None,
        "order_line_state_reason_label": None,
        "offer_id": 100000 + rng.randint(1, 99999),
        "offer_sku": sku,
        "offer_state_code": "11",
        "product_sku": f"PRD-{rng.randint(0, 9999999999):010d}",
        "product_shop_sku": sku,
        "product_title": rng.choice(TITLES),
        "product_medias": [],
        "category_code": "CAT_MAISON",
        "category_label": "Maison & Cuisine",
        "quantity": qty,
        "price_unit": unit,
        "origin_unit_price": unit,
        "price": price,
        "price_additional_info": None,
        "shipping_price": shipping,
        "total_price": price + shipping,
        "taxes": _taxes(price, rate, iso3),
        "shipping_taxes": _taxes(shipping, rate, iso3),
        "commission_fee": commission,
        "commission_taxes": [{"code": "TVA_FR_20", "amount": commission_tax, "rate": Decimal("20.0")}],
        "total_commission": commission + commission_tax,
        "fees": [],
        "promotions": [],
        "cancelations": [],
        "refunds": [],
        "can_refund": state in ACCEPTED_LINE_STATES,
        "created_date": created,
        "debited_date": debited,
        "shipped_date": None,
        "received_date": None,
        "last_updated_date": created,
        "order_line_additional_fields": [],
    }


def generate_order(
    rng: random.Random,
    skus: Sequence[str],
    *,
    state: str,
    currency: str,
    n_lines: int,
    created: datetime,
    prices: Mapping[str, Decimal] | None = None,
    quantities: Sequence[int] | None = None,
    countries: Sequence[str] = tuple(COUNTRIES),
) -> dict[str, Any]:
    commercial = f"{rng.randint(4_000_000_000, 4_999_999_999)}"
    order_id = f"{commercial}-{rng.choice('AB')}"
    iso3 = rng.choice(tuple(countries))
    rate = COUNTRIES[iso3][1]
    first, last = rng.choice(FIRSTNAMES), rng.choice(LASTNAMES)
    accepted = state in ACCEPTED_LINE_STATES
    updated = created + timedelta(minutes=rng.randint(1, 50))
    debited = iso(updated, millis=True) if accepted else None
    chosen = list(skus[:n_lines]) if len(skus) <= n_lines else rng.sample(list(skus), n_lines)
    shipping_total = rng.choice((Decimal("0"), Decimal("0"), Decimal("4.90"), Decimal("7.50")))
    lines = []
    for i, sku in enumerate(chosen, start=1):
        unit = prices[sku] if prices and sku in prices else _money(Decimal(rng.randint(299, 14999)) / 100)
        qty = quantities[i - 1] if quantities is not None and i <= len(quantities) else rng.randint(1, 3)
        shipping = shipping_total if i == 1 else Decimal("0.00")
        lines.append(
            _line(rng, order_id, i, sku, qty, unit, shipping, rate, iso3, state, iso(created), debited)
        )
    for line in lines:
        line["last_updated_date"] = iso(updated)
    price = sum((line["price"] for line in lines), Decimal("0"))
    shipping = sum((line["shipping_price"] for line in lines), Decimal("0"))
    return {
        "order_id": order_id,
        "commercial_id": commercial,
        "order_state": state,
        "order_state_reason_code": None,
        "order_state_reason_label": None,
        "created_date": iso(created),
        "last_updated_date": iso(updated),
        "acceptance_decision_date": iso(updated - timedelta(seconds=30)) if accepted else None,
        "customer_debited_date": debited,
        "shipping_deadline": iso((created + timedelta(days=3)).replace(hour=21, minute=59, second=59)),
        "leadtime_to_ship": 2,
        "delivery_date": None,
        "currency_iso_code": currency,
        "order_tax_mode": "TAX_INCLUDED",
        "price": price,
        "shipping_price": shipping,
        "total_price": price + shipping,
        "total_commission": sum((line["total_commission"] for line in lines), Decimal("0")),
        "payment_type": "CREDIT_CARD",
        "payment_workflow": "PAY_ON_ACCEPTANCE",
        "customer_directly_pays_seller": False,
        "transaction_number": None,
        "transaction_date": None,
        "shipping_type_code": "STD",
        "shipping_type_label": "Livraison standard",
        "shipping_type_standard_code": None,
        "shipping_zone_code": f"{iso3}_STD",
        "shipping_zone_label": COUNTRIES[iso3][0],
        "shipping_carrier_code": None,
        "shipping_carrier_standard_code": None,
        "shipping_company": None,
        "shipping_tracking": None,
        "shipping_tracking_url": None,
        "shipping_pudo_id": None,
        "channel": {"code": "WEB", "label": "Site web"},
        "references": {"order_reference_for_customer": None, "order_reference_for_seller": None},
        "fulfillment": {"center": {"code": "DEFAULT"}},
        "can_cancel": False,
        "can_shop_ship": state == "SHIPPING",
        "fully_refunded": False,
        "has_customer_message": False,
        "has_incident": False,
        "has_invoice": False,
        "customer_notification_email": f"r{rng.randint(10**9, 10**10 - 1)}.zt4r8w@notification.mirakl.net",
        "order_additional_fields": [],
        "customer": {
            "customer_id": f"CUST-{rng.randint(10**7, 10**8 - 1)}",
            "civility": None,
            "firstname": first,
            "lastname": last,
            "locale": "fr_FR",
            "billing_address": _address(rng, first, last, iso3, shipping=False),
            "shipping_address": _address(rng, first, last, iso3, shipping=True),
        },
        "order_lines": lines,
    }


def generate_orders(
    n: int,
    skus: Sequence[str],
    *,
    seed: int = 0,
    state: str = "WAITING_ACCEPTANCE",
    currencies: Sequence[str] = ("EUR",),
    lines: tuple[int, int] = (1, 3),
    start: datetime = DEFAULT_START,
    prices: Mapping[str, Decimal] | None = None,
) -> list[dict[str, Any]]:
    """``n`` orders over ``skus``, created 7 minutes apart from ``start``; unique order ids."""
    if not skus:
        raise ValueError("skus must not be empty")
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(n):
        while True:
            order = generate_order(
                rng,
                skus,
                state=state,
                currency=rng.choice(tuple(currencies)),
                n_lines=min(len(skus), rng.randint(lines[0], lines[1])),
                created=start + timedelta(minutes=7 * i),
                prices=prices,
            )
            if order["order_id"] not in seen:
                break
        seen.add(order["order_id"])
        out.append(order)
    return out
