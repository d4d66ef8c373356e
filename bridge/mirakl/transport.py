"""HTTP plumbing for the Mirakl client: one attempt, its outcome, and the retry budget.

Everything that decides *what a response means* is here and in ``MiraklClient._request``;
endpoint methods never look at status codes themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from bridge.errors import (
    MiraklAuthError,
    MiraklError,
    MiraklFatalError,
    MiraklNotFoundError,
    MiraklRetriableError,
)
from bridge.logging import scrub
from bridge.mirakl.parsing import loads

BACKOFF_BASE_S = 1.0
"""First backoff wait in seconds (doubled on each retry, then jittered)."""
BACKOFF_CAP_S = 30.0
"""Longest single backoff wait in seconds (a Retry-After is honoured even when longer)."""
MESSAGE_MAX_CHARS = 300


class AttemptFailed(Exception):
    """One attempt failed. ``ambiguous``: a write may have been applied by the server anyway."""

    def __init__(self, error: MiraklError, *, ambiguous: bool, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.ambiguous = ambiguous
        self.retry_after_s = retry_after_s

    @property
    def retriable(self) -> bool:
        return isinstance(self.error, MiraklRetriableError)


@dataclass(frozen=True)
class Budget:
    """``max_attempts`` attempts and ``max_retry_s`` seconds for one logical call."""

    max_attempts: int
    max_retry_s: float
    started: float

    def next_wait(
        self, attempt: int, now: float, retry_after_s: float | None, rng: Callable[[], float]
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when the budget is spent."""
        remaining = self.max_retry_s - (now - self.started)
        if attempt >= self.max_attempts or remaining <= 0:
            return None
        if retry_after_s is not None:
            return max(0.0, min(retry_after_s, remaining))
        backoff = min(BACKOFF_BASE_S * 2.0 ** (attempt - 1), BACKOFF_CAP_S) * (0.5 + 0.5 * rng())
        return min(backoff, remaining)


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form or garbage: fall back to exponential backoff
    return seconds if seconds >= 0 else None


def mirakl_message(response: requests.Response) -> str:
    """Mirakl's ``message`` from a JSON error body, else the status text."""
    message = ""
    try:
        body = loads(response.content)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
    except ValueError:
        pass
    message = message or response.reason or f"HTTP {response.status_code}"
    return scrub(" ".join(message.split()))[:MESSAGE_MAX_CHARS]


def classify_status(response: requests.Response, *, platform: str, endpoint: str) -> AttemptFailed:
    """A non-2xx response as the error it means (the caller decides whether to retry)."""
    status = response.status_code
    message = mirakl_message(response)
    kw: dict[str, Any] = {
        "platform": platform,
        "endpoint": endpoint,
        "status": status,
        "body_excerpt": scrub(response.text[:500]),
    }
    if status == 429:
        wait = retry_after_seconds(response)
        return AttemptFailed(
            MiraklRetriableError(message, retry_after_s=wait, **kw), ambiguous=False, retry_after_s=wait
        )
    if status >= 500:
        return AttemptFailed(MiraklRetriableError(message, **kw), ambiguous=True)
    if status in (401, 403):
        text = f"API key refused by platform {platform!r}: {message}"
        return AttemptFailed(MiraklAuthError(text, **kw), ambiguous=False)
    if status == 404:
        return AttemptFailed(MiraklNotFoundError(message, **kw), ambiguous=False)
    return AttemptFailed(MiraklFatalError(message, **kw), ambiguous=False)


def classify_exception(exc: requests.RequestException, *, platform: str, endpoint: str) -> AttemptFailed:
    """A transport failure as a retriable error; a connect failure cannot have reached the server."""
    kw: dict[str, Any] = {"platform": platform, "endpoint": endpoint}
    if isinstance(exc, requests.ConnectTimeout):
        return AttemptFailed(MiraklRetriableError("connect timeout", **kw), ambiguous=False)
    if isinstance(exc, requests.Timeout):
        return AttemptFailed(MiraklRetriableError("read timeout", **kw), ambiguous=True)
    if isinstance(exc, requests.ConnectionError) and _refused(exc):
        return AttemptFailed(MiraklRetriableError("connection refused", **kw), ambiguous=False)
    name = type(exc).__name__
    return AttemptFailed(MiraklRetriableError(f"connection error ({name})", **kw), ambiguous=True)


def _refused(exc: BaseException) -> bool:
    """True when the TCP connection was never established (nothing was sent)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if type(cur).__name__ in ("NewConnectionError", "ConnectionRefusedError", "NameResolutionError"):
            return True
        reason = getattr(cur, "reason", None)  # urllib3 errors: an exception; ssl.SSLError: a str
        stack.extend([cur.__cause__, cur.__context__, reason if isinstance(reason, BaseException) else None])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return False
