"""Mirakl seller API door: client, JSON parsing, CSV formats, pagination."""

from __future__ import annotations

from bridge.mirakl.client import MiraklClient
from bridge.mirakl.models import Carrier, OfferImportStatus, OfferLineError, OrderPage
from bridge.mirakl.parsing import parse_order

__all__ = ["Carrier", "MiraklClient", "OfferImportStatus", "OfferLineError", "OrderPage", "parse_order"]
