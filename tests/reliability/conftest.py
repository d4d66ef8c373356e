"""Fixtures of the reliability suite (the shop fixtures come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.e2e.import_support import API_KEY


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    """The Mirakl simulator on loopback; accepted orders are debited at the next OR11 poll."""
    with MiraklSimulator(api_key=API_KEY) as s:
        yield s
