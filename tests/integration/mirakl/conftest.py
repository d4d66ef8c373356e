"""Fixtures for the Mirakl client contract tests: a live simulator and a client with a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.config import PlatformConfig
from bridge.mirakl import MiraklClient
from bridge.sandbox import MiraklSimulator

SIM_KEY = "sim-key-0123456789"


class FakeClock:
    """monotonic() that only moves when sleep() is called; sleep() records every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY) as simulator:
        yield simulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(sim: MiraklSimulator, clock: FakeClock) -> Iterator[Callable[..., MiraklClient]]:
    clients: list[MiraklClient] = []

    def make(
        *, on_request: Any = None, rng: Callable[[], float] = lambda: 0.0, **overrides: Any
    ) -> MiraklClient:
        fields: dict[str, Any] = {
            "code": "simshop",
            "api_url": sim.url,
            "api_key": SIM_KEY,
            "max_attempts": 5,
            "max_retry_s": 120.0,
            "read_timeout_s": 5.0,
            "connect_timeout_s": 2.0,
        }
        fields.update(overrides)
        client = MiraklClient(
            PlatformConfig(**fields),
            sleep=clock.sleep,
            monotonic=clock.monotonic,
            rng=rng,
            on_request=on_request,
        )
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def client(make_client: Callable[..., MiraklClient]) -> MiraklClient:
    return make_client()
