"""The read side of the order writer: map a Mirakl order onto the shop, or say which mapping is missing.

Raises ``SkippableError`` (codes ``unknown_sku``, ``ambiguous_sku``, ``missing_address``,
``unknown_country``, ``inactive_country``, ``unknown_currency``, ``unknown_carrier``) or
``DraftError`` (``no_lines``, ``invalid_amounts``) before anything is written, and ``ShopDataError``
when the configured order state does not exist (a configuration problem, not an order problem).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from bridge.config import PlatformConfig
from bridge.domain.order_amounts import Rounding, TaxCalc, TaxPart
from bridge.domain.order_draft import DraftError, build_draft, draft_address
from bridge.domain.order_text import customer_email
from bridge.domain.orders import MiraklOrder
from bridge.domain.rounding import normalize_round_mode, normalize_round_type
from bridge.errors import ShopDataError, SkippableError
from bridge.shop import order_reads as reads
from bridge.shop.addresses import PlacedAddress
from bridge.shop.context import DEFAULT_PRECISION
from bridge.shop.shop import Shop
from bridge.shop.skus import SkuMatch, resolve_skus
from bridge.shop.stock_writer import lock_stock

WARM_CHUNK = 500  # product keys per product_rows query when warming


class Preparer:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self._countries: dict[tuple[str, str], reads.CountryRow | None] = {}
        self._states: dict[tuple[int, str], int] = {}
        self._currencies: dict[str, reads.CurrencyRow | None] = {}
        self._carriers: dict[int, reads.CarrierRow | None] = {}
        self._order_states: dict[int, reads.StateFlags] = {}
        self._taxes_by_rate: dict[Decimal, TaxPart] | None = None
        self._attributes: dict[int, str] = {}
        self._rules: dict[tuple[int, int, int], list[reads.TaxRuleRow]] = {}
        self._skus: dict[str, SkuMatch] = {}  # SKUs of the run with exactly one match (see ``warm``)
        self._products: dict[tuple[int, int], dict[str, Any]] = {}  # product rows of those SKUs

    # --- cached reference data -----------------------------------------------------------------

    def _country(self, conn: Connection, iso: str, label: str) -> reads.CountryRow | None:
        key = (iso.strip().upper(), label.strip())
        if key not in self._countries:
            self._countries[key] = reads.find_country(conn, self.shop.tables, *key)
        return self._countries[key]

    def _state(self, conn: Connection, id_country: int, name: str) -> int:
        key = (id_country, name.strip())
        if key not in self._states:
            self._states[key] = reads.find_state(conn, self.shop.tables, id_country, name)
        return self._states[key]

    def _currency(self, conn: Connection, iso: str) -> reads.CurrencyRow | None:
        if iso not in self._currencies:
            ctx = self.shop.context
            default = ctx.config_int("PS_PRICE_DISPLAY_PRECISION", DEFAULT_PRECISION)
            self._currencies[iso] = reads.find_currency(conn, self.shop.tables, iso, id_shop=ctx.id_shop,
                                                        default_precision=default)
        return self._currencies[iso]

    def _carrier(self, conn: Connection, id_reference: int) -> reads.CarrierRow | None:
        if id_reference not in self._carriers:
            self._carriers[id_reference] = reads.find_carrier(conn, self.shop.tables, id_reference,
                                                              id_shop=self.shop.context.id_shop)
        return self._carriers[id_reference]

    def _order_state(self, conn: Connection, setting: str, *, required: bool) -> reads.StateFlags | None:
        ctx = self.shop.context
        id_state = int(setting) if setting.strip().isdigit() else ctx.config_int(setting.strip(), 0)
        if not id_state:
            if required:
                raise ShopDataError(f"order state {setting!r}: no such configuration key in "
                                    f"{self.shop.tables.configuration.name}")
            return None
        if id_state not in self._order_states:
            self._order_states.update(reads.order_states(conn, self.shop.tables, [id_state]))
        flags = self._order_states.get(id_state)
        if flags is None or flags.deleted:
            if required:
                raise ShopDataError(f"order state {setting!r} (id {id_state}) does not exist or is deleted")
            return None
        return flags

    def _tax_calcs(self, conn: Connection, groups: set[int], address: PlacedAddress) -> dict[int, TaxCalc]:
        """Tax calculators of an address; the rules are read once per (group, country, state) and run,
        the zip code ranges are applied here (so addresses with another zip code need no query)."""
        ctx = self.shop.context
        zipcode = address.address.postcode.strip()
        if not ctx.config_bool("PS_TAX", True):
            return {g: TaxCalc(g) for g in groups}
        place = (address.id_country, address.id_state)
        missing = {g for g in groups if g and (g, *place) not in self._rules}
        if missing:
            found = reads.tax_rule_rows(conn, self.shop.tables, missing, id_country=address.id_country,
                                        id_state=address.id_state, id_lang=ctx.id_lang)
            for g, rules in found.items():
                self._rules[(g, *place)] = rules
        rules = {g: self._rules.get((g, *place), []) for g in groups if g}
        calcs = reads.calcs_from_rules(rules, groups, zipcode=zipcode)
        return {g: calcs.get(g, TaxCalc(g)) for g in groups}

    def warm(self, conn: Connection, orders: Iterable[MiraklOrder], platform: PlatformConfig) -> None:
        """Read the SKUs and product rows of all the orders of a run at once (chunks), so that ``prepare``
        finds them cached; what is not found here (unknown/ambiguous SKU, later orders) is read per order."""
        t, ctx = self.shop.tables, self.shop.context
        skus = sorted({ln.offer_sku for o in orders for ln in o.live_lines if ln.offer_sku}
                      - set(self._skus))
        if not skus:
            return
        matches = resolve_skus(conn, t, id_shop=ctx.id_shop, rule=platform.offers.sku, skus=skus)
        unique = {s: m for s, m in matches.items() if not m.problem}
        keys = sorted({m.refs[0].key for m in unique.values()} - set(self._products))
        for i in range(0, len(keys), WARM_CHUNK):
            self._products.update(reads.product_rows(conn, t, keys[i : i + WARM_CHUNK], id_shop=ctx.id_shop,
                                                     id_lang=ctx.id_lang, attribute_cache=self._attributes))
        self._skus.update((s, m) for s, m in unique.items() if m.refs[0].key in self._products)

    def _resolve(self, conn: Connection, platform: PlatformConfig, skus: list[str]) -> dict[str, SkuMatch]:
        missing = [s for s in skus if s not in self._skus]
        found = resolve_skus(conn, self.shop.tables, id_shop=self.shop.context.id_shop, rule=platform.offers.sku,
                             skus=missing) if missing else {}
        return {**{s: self._skus[s] for s in skus if s in self._skus}, **found}

    def _product_rows(self, conn: Connection, keys: set[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
        ctx = self.shop.context
        missing = {k for k in keys if k not in self._products}
        found = reads.product_rows(conn, self.shop.tables, missing, id_shop=ctx.id_shop, id_lang=ctx.id_lang,
                                   attribute_cache=self._attributes) if missing else {}
        return {**{k: self._products[k] for k in keys if k in self._products}, **found}

    def _fallback_taxes(self, conn: Connection) -> dict[Decimal, TaxPart]:
        if self._taxes_by_rate is None:
            self._taxes_by_rate = reads.taxes_by_rate(conn, self.shop.tables, self.shop.context.id_lang)
        return self._taxes_by_rate

    # --- the mapping -----------------------------------------------------------------------------

    def _place(self, conn: Connection, ref: str, address: Any, what: str, warnings: list[str]) -> PlacedAddress:
        a = draft_address(address)
        country = self._country(conn, a.country_iso, a.country_label)
        if country is None:
            raise SkippableError(ref, f"{what} country {a.country_iso or a.country_label!r} is not a PrestaShop "
                                 "country (no iso_code or country name matches)", code="unknown_country")
        if not country.active:
            raise SkippableError(ref, f"{what} country {country.iso_code} (id {country.id_country}) is not "
                                 "active in PrestaShop", code="inactive_country")
        id_state = self._state(conn, country.id_country, a.state) if country.contains_states else 0
        if country.contains_states and not id_state:
            warnings.append(f"{what} state {a.state!r} not found for country {country.iso_code}: id_state 0")
        if country.need_zip_code and not a.postcode.strip():
            warnings.append(f"{what} address has no postcode but {country.iso_code} requires one")
        return PlacedAddress(a, country.id_country, id_state)

    def prepare(self, conn: Connection, order: MiraklOrder, platform: PlatformConfig) -> dict[str, Any]:
        t, ctx, cfg = self.shop.tables, self.shop.context, platform.orders
        ref = f"order {order.order_id}"
        warnings: list[str] = []
        live = order.live_lines
        if not live:
            raise DraftError("no_lines", "the order has no line left to import (all refused or cancelled)")
        matches = self._resolve(conn, platform, [ln.offer_sku for ln in live])
        problems: dict[str, list[str]] = {}
        for sku in sorted({ln.offer_sku for ln in live}):
            code = matches[sku].problem if sku in matches else "unknown_sku"
            if code:
                problems.setdefault(code, []).append(sku)
        for code, what in (("unknown_sku", "matches no"), ("ambiguous_sku", "matches several")):
            if code in problems:
                raise SkippableError(ref, f"SKU {', '.join(problems[code])} {what} PrestaShop product/combination "
                                     f"(offers.sku = {platform.offers.sku})", code=code)
        cust = order.customer
        if cust.shipping_address is None and cust.billing_address is None:
            raise SkippableError(ref, "the order has no shipping or billing address yet", code="missing_address")
        delivery = self._place(conn, ref, cust.shipping_address or cust.billing_address, "delivery", warnings)
        invoice = delivery if cust.billing_address in (None, cust.shipping_address) else \
            self._place(conn, ref, cust.billing_address, "billing", warnings)
        currency = self._currency(conn, order.currency_iso_code.upper())
        if currency is None:
            raise SkippableError(ref, f"currency {order.currency_iso_code!r} does not exist in PrestaShop",
                                 code="unknown_currency")
        id_reference = cfg.carriers.get(order.shipping_type_code) or cfg.default_carrier_reference
        carrier = self._carrier(conn, id_reference) if id_reference else None
        if carrier is None:
            raise SkippableError(ref, f"shipping type {order.shipping_type_code!r}: no carrier mapped in "
                                 "orders.carriers (or default_carrier_reference) with a live PrestaShop carrier "
                                 f"(id_reference {id_reference or 'none'})", code="unknown_carrier")
        state = self._order_state(conn, cfg.order_state, required=True)
        oos_state = self._order_state(conn, cfg.out_of_stock_state, required=False)
        keys = {matches[ln.offer_sku].refs[0].key for ln in live}
        product_rows = self._product_rows(conn, keys)
        tax_address = invoice if ctx.config_str("PS_TAX_ADDRESS_TYPE") == "id_address_invoice" else delivery
        groups = {r["id_tax_rules_group"] for r in product_rows.values()} | {carrier.id_tax_rules_group}
        calcs = self._tax_calcs(conn, groups, tax_address)
        facts = {ln.offer_sku: reads.product_facts(product_rows[matches[ln.offer_sku].refs[0].key],
                                                   calcs.get(product_rows[matches[ln.offer_sku].refs[0].key]
                                                             ["id_tax_rules_group"], TaxCalc()))
                 for ln in live}
        rounding = Rounding(normalize_round_mode(ctx.config_int("PS_PRICE_ROUND_MODE", 2)),
                            normalize_round_type(ctx.config_int("PS_ROUND_TYPE", 2)), currency.precision)
        email = customer_email(notification_email=order.customer_notification_email, mode=cfg.customer_email,
                               template=cfg.placeholder_email, platform=platform.code,
                               customer_id=cust.customer_id, order_id=order.order_id)
        draft = build_draft(order, products=facts, carrier_tax=calcs.get(carrier.id_tax_rules_group, TaxCalc()),
                            fallback_taxes=self._fallback_taxes(conn), rounding=rounding,
                            tax_included=(order.tax_mode or cfg.tax_mode) != "TAX_EXCLUDED",
                            conversion_rate=currency.conversion_rate, email=email,
                            name_max_len=0)  # cleaned here, truncated (with a warning) when written
        stock = lock_stock(conn, t, ctx, {k[0] for k in keys})
        shortages: list[tuple[str, int, int]] = []
        if ctx.config_bool("PS_STOCK_MANAGEMENT", True):
            for line in draft.lines:
                available = stock[line.key].quantity if line.key in stock else 0
                if line.quantity > available:
                    shortages.append((line.sku, line.quantity, available))
        message = ""
        if cfg.private_message:
            message = f"Mirakl order {order.order_id} ({platform.display_name})"
            if order.commercial_id and order.commercial_id != order.order_id:
                message += f", commercial id {order.commercial_id}"
        return {
            "order": order, "platform": platform.code, "draft": draft, "delivery": delivery, "invoice": invoice,
            "id_currency": currency.id_currency, "conversion_rate": currency.conversion_rate,
            "id_carrier": carrier.id_carrier, "id_lang": ctx.id_lang, "state": state,
            "out_of_stock_state": oos_state, "stock": stock, "shortages": shortages, "guest": cfg.guest,
            "payment_label": cfg.payment_label or platform.display_name, "payment_module": cfg.payment_module,
            "private_message": message, "warnings": tuple(warnings) + draft.warnings,
        }
