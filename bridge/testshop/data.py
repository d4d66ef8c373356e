"""Static seed data of the test shop, as PrestaShop 8/9 installs it (ids are positional there too)."""

from __future__ import annotations

# (id, iso_code, language_code, locale, name)
LANGS = ((1, "en", "en-us", "en-US", "English (English)"), (2, "fr", "fr-fr", "fr-FR", "Français (French)"))

# (id, iso_code, numeric_iso_code, conversion_rate, names by lang)
CURRENCIES = (
    (1, "EUR", "978", "1.000000", ("Euro", "Euro")),
    (2, "USD", "840", "1.080000", ("US Dollar", "Dollar des États-Unis")),
    (3, "GBP", "826", "0.850000", ("British Pound", "Livre sterling")),
)

ZONES = ((1, "Europe"),)

# PrestaShop's country.xml ids: (id, iso, call_prefix, need_zip_code, zip_code_format, names by lang)
COUNTRIES = (
    (1, "DE", 49, 1, "NNNNN", ("Germany", "Allemagne")),
    (3, "BE", 32, 1, "NNNN", ("Belgium", "Belgique")),
    (6, "ES", 34, 1, "NNNNN", ("Spain", "Espagne")),
    (8, "FR", 33, 1, "NNNNN", ("France", "France")),
    (10, "IT", 39, 1, "NNNNN", ("Italy", "Italie")),
)

# (id_tax, rate, label)
TAXES = ((1, "20.000", "FR 20%"), (2, "5.500", "FR 5.5%"), (3, "21.000", "BE 21%"), (4, "19.000", "DE 19%"))
# (id_tax_rules_group, key, name, [(id_country, id_tax)])
TAX_RULES_GROUPS = (
    (1, "standard", "FR Taux standard (20%)", ((8, 1), (3, 3), (1, 4))),
    (2, "reduced", "FR Taux réduit (5.5%)", ((8, 2),)),
)

# (id_group, key, names by lang, price_display_method)
GROUPS = (
    (1, "visitor", ("Visitor", "Visiteur"), 0),
    (2, "guest", ("Guest", "Invité"), 0),
    (3, "customer", ("Customer", "Client"), 0),
)

# order_state.xml (9.0): (id, config key, invoice, send_email, module_name, color, logable, delivery,
# shipped, paid, pdf_delivery, pdf_invoice, template, en name, fr name)
ORDER_STATES = (
    (
        1,
        "PS_OS_CHEQUE",
        0,
        1,
        "ps_checkpayment",
        "#34209E",
        0,
        0,
        0,
        0,
        0,
        0,
        "cheque",
        "Awaiting check payment",
        "En attente du paiement par chèque",
    ),
    (
        2,
        "PS_OS_PAYMENT",
        1,
        1,
        "",
        "#3498D8",
        1,
        0,
        0,
        1,
        0,
        1,
        "payment",
        "Payment accepted",
        "Paiement accepté",
    ),
    (
        3,
        "PS_OS_PREPARATION",
        1,
        1,
        "",
        "#3498D8",
        1,
        1,
        0,
        1,
        0,
        0,
        "preparation",
        "Processing in progress",
        "En cours de préparation",
    ),
    (4, "PS_OS_SHIPPING", 1, 1, "", "#01B887", 1, 1, 1, 1, 0, 0, "shipped", "Shipped", "Expédié"),
    (5, "PS_OS_DELIVERED", 1, 0, "", "#01B887", 1, 1, 1, 1, 0, 0, "", "Delivered", "Livré"),
    (6, "PS_OS_CANCELED", 0, 1, "", "#2C3E50", 0, 0, 0, 0, 0, 0, "order_canceled", "Canceled", "Annulé"),
    (7, "PS_OS_REFUND", 1, 1, "", "#01B887", 0, 0, 0, 0, 0, 0, "refund", "Refunded", "Remboursé"),
    (
        8,
        "PS_OS_ERROR",
        0,
        1,
        "",
        "#E74C3C",
        0,
        0,
        0,
        0,
        0,
        0,
        "payment_error",
        "Payment error",
        "Erreur de paiement",
    ),
    (
        9,
        "PS_OS_OUTOFSTOCK_PAID",
        1,
        1,
        "",
        "#3498D8",
        0,
        0,
        0,
        1,
        0,
        0,
        "outofstock",
        "On backorder (paid)",
        "En attente de réapprovisionnement (payé)",
    ),
    (
        10,
        "PS_OS_BANKWIRE",
        0,
        1,
        "ps_wirepayment",
        "#34209E",
        0,
        0,
        0,
        0,
        0,
        0,
        "bankwire",
        "Awaiting bank wire payment",
        "En attente de virement bancaire",
    ),
    (
        11,
        "PS_OS_WS_PAYMENT",
        1,
        1,
        "",
        "#3498D8",
        1,
        0,
        0,
        1,
        0,
        0,
        "payment",
        "Remote payment accepted",
        "Paiement à distance accepté",
    ),
    (
        12,
        "PS_OS_OUTOFSTOCK_UNPAID",
        0,
        1,
        "",
        "#34209E",
        0,
        0,
        0,
        0,
        0,
        0,
        "outofstock",
        "On backorder (not paid)",
        "En attente de réapprovisionnement (non payé)",
    ),
    (
        13,
        "PS_OS_COD_VALIDATION",
        0,
        0,
        "ps_cashondelivery",
        "#34209E",
        0,
        0,
        0,
        0,
        0,
        0,
        "cashondelivery",
        "Awaiting Cash On Delivery validation",
        "En attente de validation (paiement à la livraison)",
    ),
)

# stock_mvt_reason.xml (9.0): (id, sign, en name)
STOCK_MVT_REASONS = (
    (1, -1, "Customer Order"),
    (2, 1, "Customer Order (cancel)"),
    (3, 1, "Product Return"),
    (4, 1, "Employee Edition"),
    (5, -1, "Employee Edition"),
)

# Carriers: (id_carrier, id_reference, name, url, active, deleted, position, delay)
# Colissimo was edited once: id 1 is the deleted old version, id 2 the current one (same reference).
CARRIERS = (
    (1, 1, "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code=@", 0, 1, 0, "2-3 days"),
    (2, 1, "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code=@", 1, 0, 0, "2-3 days"),
    (3, 3, "DHL Express", "https://www.dhl.com/fr-fr/home/tracking.html?tracking-id=@", 1, 0, 1, "24 h"),
)
CARRIER_KEYS = {"colissimo": 1, "dhl": 3}  # key -> id_reference


def configuration(version: str, *, id_country_default: int = 8) -> dict[str, str]:
    """Global configuration rows (name -> value), 9.0 install defaults plus the test shop's choices."""
    values = {
        "PS_VERSION_DB": version,
        "PS_INSTALL_VERSION": version,
        "PS_SHOP_NAME": "Test shop",
        "PS_SHOP_EMAIL": "shop@example.test",
        "PS_LANG_DEFAULT": "1",
        "PS_CURRENCY_DEFAULT": "1",
        "PS_COUNTRY_DEFAULT": str(id_country_default),
        "PS_SHOP_DEFAULT": "1",
        "PS_SHOP_COUNTRY_ID": str(id_country_default),
        "PS_TIMEZONE": "Europe/Paris",
        "PS_TAX": "1",
        "PS_TAX_ADDRESS_TYPE": "id_address_delivery",
        "PS_PRICE_ROUND_MODE": "2",
        "PS_ROUND_TYPE": "2",
        "PS_PRICE_DISPLAY_PRECISION": "2",
        "PS_SPECIFIC_PRICE_PRIORITIES": "id_group;id_currency;id_country;id_shop",
        "PS_SPECIFIC_PRICE_FEATURE_ACTIVE": "1",
        "PS_QTY_DISCOUNT_ON_COMBINATION": "0",
        "PS_USE_ECOTAX": "0",
        "PS_ECOTAX_TAX_RULES_GROUP_ID": "0",
        "PS_STOCK_MANAGEMENT": "1",
        "PS_ADVANCED_STOCK_MANAGEMENT": "0",
        "PS_ORDER_OUT_OF_STOCK": "0",
        "PS_ENABLE_BACKORDER_STATUS": "0",
        "PS_STOCK_CUSTOMER_ORDER_REASON": "1",
        "PS_STOCK_CUSTOMER_ORDER_CANCEL_REASON": "2",
        "PS_STOCK_CUSTOMER_RETURN_REASON": "3",
        "PS_STOCK_MVT_INC_EMPLOYEE_EDITION": "4",
        "PS_STOCK_MVT_DEC_EMPLOYEE_EDITION": "5",
        "PS_UNIDENTIFIED_GROUP": "1",
        "PS_GUEST_GROUP": "2",
        "PS_CUSTOMER_GROUP": "3",
        "PS_GUEST_CHECKOUT_ENABLED": "1",
        "PS_PASSWD_TIME_FRONT": "360",
        "PS_INVOICE": "1",
        "PS_INVOICE_START_NUMBER": "1",
        "PS_INVOICE_PREFIX": "#IN",
        "PS_INVOICE_RESET": "0",
        "PS_DELIVERY_NUMBER": "1",
        "PS_CARRIER_DEFAULT": "1",  # an id_reference
        "PS_SHIPPING_HANDLING": "2",
        "PS_ORDER_RECALCULATE_SHIPPING": "1",
        "PS_GIFT_WRAPPING_TAX_RULES_GROUP": "0",
        "PS_ATCP_SHIPWRAP": "0",
        "PS_MULTISHOP_FEATURE_ACTIVE": "0",
    }
    values.update({key: str(row[0]) for row in ORDER_STATES for key in (row[1],)})
    values["PS_OS_OUTOFSTOCK"] = "9"
    return values
