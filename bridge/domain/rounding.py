"""Rounding settings of orders; ``ps_round`` itself is :func:`bridge.domain.pricing.ps_round`.

``PS_PRICE_ROUND_MODE`` (config/defines.inc.php): 0 = up (towards +infinity), 1 = down (towards
-infinity), 2 = half up (the install default), 3 = half down, 4 = half even, 5 = half odd.
``PS_ROUND_TYPE`` decides *where* rounding happens when amounts are summed: per unit (1), per line
(2, the install default) or on the total (3).
"""

from __future__ import annotations

from decimal import Decimal

from bridge.domain.pricing import ROUND_HALF_UP_MODE, ps_round

__all__ = ["INTERNAL_PRECISION", "ROUND_HALF_UP_MODE", "ROUND_ITEM", "ROUND_LINE", "ROUND_TOTAL",
           "normalize_round_mode", "normalize_round_type", "ps_round", "quantum"]

ROUND_ITEM = 1
ROUND_LINE = 2
ROUND_TOTAL = 3

INTERNAL_PRECISION = 6  # PrestaShop keeps unit prices with 6 decimals (decimal(20,6) columns)


def quantum(precision: int) -> Decimal:
    return Decimal(1).scaleb(-precision)


def normalize_round_mode(value: int) -> int:
    return value if value in (0, 1, 2, 3, 4, 5) else ROUND_HALF_UP_MODE


def normalize_round_type(value: int) -> int:
    return value if value in (ROUND_ITEM, ROUND_LINE, ROUND_TOTAL) else ROUND_LINE
