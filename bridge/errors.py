"""Every error the bridge raises, classified by what the caller should do next.

BridgeError
├─ ConfigError(errors)          startup: print each problem with its path, exit 2
├─ ShopError                    the PrestaShop database misbehaves
│  ├─ ShopSchemaError           a table/column the bridge needs is missing: fatal at startup
│  └─ ShopDataError             a row the bridge needs is missing (country, currency, state...)
├─ LockBusyError                a named lock is held by another process: skip this run
├─ MiraklError                  anything from the Mirakl API
│  ├─ MiraklRetriableError      429, 5xx, timeouts, connection errors: back off, then give up this run
│  └─ MiraklFatalError          other 4xx: fail this call, keep Mirakl's message
│     ├─ MiraklAuthError        401/403: loud, names the platform
│     └─ MiraklNotFoundError    404: unknown resource or feature not enabled on the platform
└─ SkippableError(item_ref)     one order/offer/line is bad: report it, go on with the rest

Control-flow signals are not errors: StopRequested derives from BaseException so that a plain
``except Exception`` never swallows a shutdown request.
"""

from __future__ import annotations

__all__ = [
    "BridgeError",
    "ConfigError",
    "LockBusyError",
    "MiraklAuthError",
    "MiraklError",
    "MiraklFatalError",
    "MiraklNotFoundError",
    "MiraklRetriableError",
    "ShopDataError",
    "ShopError",
    "ShopSchemaError",
    "SkippableError",
    "StopRequested",
]


class BridgeError(Exception):
    """Root of every error raised on purpose by the bridge."""


# --- configuration -----------------------------------------------------------------------------


class ConfigError(BridgeError):
    """The configuration is invalid; ``errors`` lists every problem as ``path: message``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid configuration:\n" + "\n".join(f"  {e}" for e in self.errors))


# --- PrestaShop database -----------------------------------------------------------------------


class ShopError(BridgeError):
    """The shop database could not be used."""


class ShopSchemaError(ShopError):
    """The database is not a PrestaShop schema the bridge can use (names the table/column)."""


class ShopDataError(ShopError):
    """A row the bridge needs does not exist in the shop (names what is missing)."""


class LockBusyError(BridgeError):
    """A named database lock is held elsewhere (another bridge process or task)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"lock {name!r} is held by another process")


# --- Mirakl ------------------------------------------------------------------------------------


class MiraklError(BridgeError):
    """Base for Mirakl API failures. Never carries the API key or a full URL with secrets."""

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        endpoint: str = "",
        status: int | None = None,
        body_excerpt: str = "",
    ) -> None:
        self.platform = platform
        self.endpoint = endpoint
        self.status = status
        self.body_excerpt = body_excerpt[:500]
        self.mirakl_message = message
        where = " ".join(p for p in (platform, endpoint) if p)
        status_txt = f" HTTP {status}" if status is not None else ""
        super().__init__(f"{where}{status_txt}: {message}" if where or status_txt else message)


class MiraklRetriableError(MiraklError):
    """Transient failure (429, 5xx, timeout, connection): retry later."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: object) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, **kw)  # type: ignore[arg-type]


class MiraklFatalError(MiraklError):
    """The request was refused (4xx): retrying the same call will not help."""


class MiraklAuthError(MiraklFatalError):
    """401/403: the API key is wrong or lacks rights on this platform."""


class MiraklNotFoundError(MiraklFatalError):
    """404: unknown order/import, or an endpoint the platform does not enable (STO01, ST01...)."""


# --- per-item ----------------------------------------------------------------------------------


class SkippableError(BridgeError):
    """One item (order, offer, line) cannot be processed; the run goes on with the others."""

    def __init__(self, item_ref: str, message: str, *, code: str = "invalid") -> None:
        self.item_ref = item_ref
        self.code = code
        self.reason = message
        super().__init__(f"{item_ref}: {message}")


# --- control flow ------------------------------------------------------------------------------


class StopRequested(BaseException):
    """Raised between items when the daemon was asked to stop. Not an error."""
