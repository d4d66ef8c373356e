"""Mirakl simulator (real HTTP, stdlib only) and a realistic order generator, for tests and demos."""

from __future__ import annotations

from bridge.sandbox.mirakl_sim import MiraklSimulator, SimRequest, SimUpload
from bridge.sandbox.orders_gen import generate_orders
from bridge.sandbox.serve import serve

__all__ = ["MiraklSimulator", "SimRequest", "SimUpload", "generate_orders", "serve"]
