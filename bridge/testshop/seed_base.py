"""Seed the reference data of the test shop: shops, languages, currencies, countries, taxes, groups,
carriers, order states, stock movement reasons and configuration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from bridge.testshop import data

SEED_TIME = datetime(2024, 1, 15, 10, 0, 0)


def insert(conn: Connection, md: MetaData, prefix: str, table: str, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(md.tables[prefix + table].insert(), list(rows))


def seed_shops(conn: Connection, md: MetaData, p: str, shop_ids: Sequence[int], share_stock: bool) -> None:
    stamp = {"color": "", "active": 1, "deleted": 0}
    insert(
        conn,
        md,
        p,
        "shop_group",
        [
            dict(
                id_shop_group=1,
                name="Default",
                share_customer=int(share_stock),
                share_order=0,
                share_stock=int(share_stock),
                **stamp,
            )
        ],
    )
    insert(
        conn,
        md,
        p,
        "shop",
        [
            dict(id_shop=s, id_shop_group=1, name=f"Shop {s}", id_category=2, theme_name="classic", **stamp)
            for s in shop_ids
        ],
    )


def seed_localisation(conn: Connection, md: MetaData, p: str, shop_ids: Sequence[int]) -> None:
    lang_ids = [lang[0] for lang in data.LANGS]
    insert(
        conn,
        md,
        p,
        "lang",
        [
            dict(
                id_lang=i,
                name=n,
                active=1,
                iso_code=iso,
                language_code=lc,
                locale=loc,
                date_format_lite="Y-m-d",
                date_format_full="Y-m-d H:i:s",
                is_rtl=0,
            )
            for i, iso, lc, loc, n in data.LANGS
        ],
    )
    insert(conn, md, p, "lang_shop", [dict(id_lang=i, id_shop=s) for i in lang_ids for s in shop_ids])
    insert(
        conn,
        md,
        p,
        "currency",
        [
            dict(
                id_currency=i,
                iso_code=iso,
                numeric_iso_code=num,
                precision=2,
                conversion_rate=rate,
                deleted=0,
                active=1,
                unofficial=0,
                modified=0,
            )
            for i, iso, num, rate, _names in data.CURRENCIES
        ],
    )
    insert(
        conn,
        md,
        p,
        "currency_lang",
        [
            dict(
                id_currency=i,
                id_lang=lang,
                name=names[k],
                symbol={"EUR": "€", "USD": "$", "GBP": "£"}[iso],
                pattern="",
            )
            for i, iso, _n, _r, names in data.CURRENCIES
            for k, lang in enumerate(lang_ids)
        ],
    )
    insert(
        conn,
        md,
        p,
        "currency_shop",
        [
            dict(id_currency=i, id_shop=s, conversion_rate=rate)
            for i, _iso, _n, rate, _names in data.CURRENCIES
            for s in shop_ids
        ],
    )
    insert(conn, md, p, "zone", [dict(id_zone=i, name=n, active=1) for i, n in data.ZONES])
    insert(conn, md, p, "zone_shop", [dict(id_zone=i, id_shop=s) for i, _n in data.ZONES for s in shop_ids])
    insert(
        conn,
        md,
        p,
        "country",
        [
            dict(
                id_country=i,
                id_zone=1,
                id_currency=0,
                iso_code=iso,
                call_prefix=prefix,
                active=1,
                contains_states=0,
                need_identification_number=0,
                need_zip_code=need_zip,
                zip_code_format=fmt,
                display_tax_label=1,
            )
            for i, iso, prefix, need_zip, fmt, _names in data.COUNTRIES
        ],
    )
    insert(
        conn,
        md,
        p,
        "country_lang",
        [
            dict(id_country=i, id_lang=lang, name=names[k])
            for i, *_rest, names in data.COUNTRIES
            for k, lang in enumerate(lang_ids)
        ],
    )
    insert(
        conn,
        md,
        p,
        "country_shop",
        [dict(id_country=c[0], id_shop=s) for c in data.COUNTRIES for s in shop_ids],
    )


def seed_taxes_and_groups(conn: Connection, md: MetaData, p: str, shop_ids: Sequence[int]) -> None:
    insert(conn, md, p, "tax", [dict(id_tax=i, rate=rate, active=1, deleted=0) for i, rate, _l in data.TAXES])
    insert(
        conn,
        md,
        p,
        "tax_rules_group",
        [
            dict(id_tax_rules_group=i, name=name, active=1, deleted=0, date_add=SEED_TIME, date_upd=SEED_TIME)
            for i, _key, name, _rules in data.TAX_RULES_GROUPS
        ],
    )
    insert(
        conn,
        md,
        p,
        "tax_rule",
        [
            dict(
                id_tax_rules_group=g,
                id_country=country,
                id_state=0,
                zipcode_from="0",
                zipcode_to="0",
                id_tax=tax,
                behavior=0,
                description="",
            )
            for g, _key, _name, rules in data.TAX_RULES_GROUPS
            for country, tax in rules
        ],
    )
    insert(
        conn,
        md,
        p,
        "group",
        [
            dict(
                id_group=i,
                reduction="0.00",
                price_display_method=pdm,
                show_prices=1,
                date_add=SEED_TIME,
                date_upd=SEED_TIME,
            )
            for i, _key, _names, pdm in data.GROUPS
        ],
    )
    insert(conn, md, p, "group_shop", [dict(id_group=g[0], id_shop=s) for g in data.GROUPS for s in shop_ids])


def seed_carriers(conn: Connection, md: MetaData, p: str, shop_ids: Sequence[int]) -> None:
    insert(
        conn,
        md,
        p,
        "carrier",
        [
            dict(
                id_carrier=i,
                id_reference=ref,
                name=name,
                url=url,
                active=active,
                deleted=deleted,
                shipping_handling=1,
                range_behavior=0,
                is_module=0,
                is_free=0,
                shipping_external=0,
                need_range=0,
                external_module_name="",
                shipping_method=2,
                position=pos,
                max_width=0,
                max_height=0,
                max_depth=0,
                max_weight="0.000000",
                grade=0,
            )
            for i, ref, name, url, active, deleted, pos, _delay in data.CARRIERS
        ],
    )
    lang_ids = [lang[0] for lang in data.LANGS]
    insert(
        conn,
        md,
        p,
        "carrier_lang",
        [
            dict(id_carrier=c[0], id_shop=s, id_lang=lang, delay=c[7])
            for c in data.CARRIERS
            for s in shop_ids
            for lang in lang_ids
        ],
    )
    insert(
        conn,
        md,
        p,
        "carrier_shop",
        [dict(id_carrier=c[0], id_shop=s) for c in data.CARRIERS for s in shop_ids],
    )
    insert(
        conn,
        md,
        p,
        "carrier_tax_rules_group_shop",
        [dict(id_carrier=c[0], id_tax_rules_group=1, id_shop=s) for c in data.CARRIERS for s in shop_ids],
    )


def seed_states_and_reasons(conn: Connection, md: MetaData, p: str) -> None:
    insert(
        conn,
        md,
        p,
        "order_state",
        [
            dict(
                id_order_state=i,
                invoice=inv,
                send_email=mail,
                module_name=module,
                color=color,
                unremovable=1,
                hidden=0,
                logable=logable,
                delivery=delivery,
                shipped=shipped,
                paid=paid,
                pdf_delivery=pdf_d,
                pdf_invoice=pdf_i,
                deleted=0,
            )
            for i, _k, inv, mail, module, color, logable, delivery, shipped, paid, pdf_d, pdf_i, *_n in (
                data.ORDER_STATES
            )
        ],
    )
    insert(
        conn,
        md,
        p,
        "order_state_lang",
        [
            dict(id_order_state=row[0], id_lang=lang, name=row[13 + k], template=row[12])
            for row in data.ORDER_STATES
            for k, lang in enumerate((1, 2))
        ],
    )
    insert(
        conn,
        md,
        p,
        "stock_mvt_reason",
        [
            dict(id_stock_mvt_reason=i, sign=sign, date_add=SEED_TIME, date_upd=SEED_TIME, deleted=0)
            for i, sign, _name in data.STOCK_MVT_REASONS
        ],
    )
    insert(
        conn,
        md,
        p,
        "stock_mvt_reason_lang",
        [
            dict(id_stock_mvt_reason=i, id_lang=lang, name=name)
            for i, _sign, name in data.STOCK_MVT_REASONS
            for lang in (1, 2)
        ],
    )


def seed_configuration(conn: Connection, md: MetaData, p: str, values: dict[str, str]) -> None:
    insert(
        conn,
        md,
        p,
        "configuration",
        [
            dict(
                id_shop_group=None,
                id_shop=None,
                name=name,
                value=value,
                date_add=SEED_TIME,
                date_upd=SEED_TIME,
            )
            for name, value in values.items()
        ],
    )
