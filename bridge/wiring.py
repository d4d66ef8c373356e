"""Composition root: builds the engine, the reflected shop, the state repository and Mirakl clients.

Nothing connects at import time or in the constructor; each piece is created on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bridge.config import Config
from bridge.logging import register_secret

if TYPE_CHECKING:
    from bridge.jobs.report import TaskReport
    from bridge.mirakl.client import MiraklClient
    from bridge.shop.shop import Shop
    from bridge.state.repository import StateRepo


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class App:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] = utcnow,
        mirakl_factory: Callable[[Any], MiraklClient] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self._mirakl_factory = mirakl_factory
        self._clients: dict[str, MiraklClient] = {}
        self._lock = threading.Lock()
        self.observers: list[Callable[[TaskReport], None]] = []
        # called for every Mirakl request: (platform code, endpoint code, HTTP status or None, duration_s)
        self.request_hooks: list[Callable[[str, str, int | None, float], None]] = []
        for p in config.platforms:
            register_secret(p.api_key_value())
        register_secret(config.http_token())
        url = config.shop.database_url.get_secret_value()
        try:
            from sqlalchemy.engine import make_url

            pw = make_url(url).password
            if pw:
                register_secret(str(pw))
        except Exception:  # noqa: BLE001 - a malformed URL is reported by make_engine later
            pass

    @property
    def prefix(self) -> str:
        return self.config.shop.table_prefix

    @cached_property
    def engine(self) -> Engine:
        from bridge.shop.db import make_engine

        shop = self.config.shop
        return make_engine(
            shop.database_url.get_secret_value(), connect_timeout_s=shop.connect_timeout_s, pool_size=shop.pool_size
        )

    @cached_property
    def shop(self) -> Shop:
        from bridge.shop.shop import Shop

        return Shop.from_engine(
            self.engine, prefix=self.prefix, id_shop=self.config.shop.id_shop, id_lang=self.config.shop.id_lang
        )

    @cached_property
    def state(self) -> StateRepo:
        from bridge.state.repository import StateRepo

        return StateRepo(self.engine, self.prefix)

    def mirakl(self, code: str) -> MiraklClient:
        with self._lock:
            client = self._clients.get(code)
            if client is None:
                platform = self.config.platform(code)
                if self._mirakl_factory is not None:
                    client = self._mirakl_factory(platform)
                else:
                    from bridge.mirakl.client import MiraklClient

                    client = MiraklClient(platform, on_request=self._request_hook(platform.code))
                self._clients[code] = client
            return client

    def _request_hook(self, code: str) -> Callable[[str, int | None, float], None]:
        def hook(endpoint: str, status: int | None, duration_s: float) -> None:
            for h in list(self.request_hooks):
                h(code, endpoint, status, duration_s)

        return hook

    def lock_name(self, *parts: str) -> str:
        """Server-wide named-lock name for this shop database (MySQL caps names at 64 chars)."""
        import hashlib

        db = self.engine.url.database or ""
        base = f"mirakl_bridge:{db}:{self.config.shop.id_shop}:" + ":".join(parts)
        if len(base) <= 64:
            return base
        return "mirakl_bridge:" + hashlib.sha1(base.encode()).hexdigest()

    def notify(self, report: TaskReport) -> None:
        for obs in list(self.observers):
            obs(report)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
