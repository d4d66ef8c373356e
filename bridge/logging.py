"""structlog configuration, done once at the entry point (CLI / daemon).

JSON lines on stdout by default, console renderer on request; stdlib loggers (apscheduler,
sqlalchemy, urllib3) are routed through the same processors; a redaction processor removes API
keys, tokens, passwords and database URLs from every event before it is rendered.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_KEYS = frozenset(
    {"api_key", "apikey", "authorization", "token", "password", "passwd", "secret", "database_url", "dsn",
     "http_token", "x-bridge-token", "cookie"}
)
REDACTED = "***"
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<cred>[^/@\s:]*(:[^/@\s]*)?)@", re.I)
_QUERY_SECRET = re.compile(r"(?P<k>[?&](?:token|api_key|apikey|key|password)=)[^&\s\"']+", re.I)
_registered_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Values (API keys, tokens, passwords) scrubbed from every log line wherever they appear."""
    if value and len(value) >= 4:
        _registered_secrets.add(value)


def scrub(text: str) -> str:
    for s in _registered_secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
    return _QUERY_SECRET.sub(lambda m: m.group("k") + REDACTED, text)


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in SECRET_KEYS and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value("", v) for v in value)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no secret reaches a rendered log line."""
    for key in list(event_dict.keys()):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _scrub_rendered(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # exceptions rendered by format_exc_info / dict_tracebacks may quote secrets too
    for key in ("exception", "stack"):
        if isinstance(event_dict.get(key), str):
            event_dict[key] = scrub(event_dict[key])
    return event_dict


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        redact,
    ]


def configure_logging(fmt: str = "json", level: str = "info", *, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger. Call once, from the entry point."""
    stream = stream or sys.stdout
    lvl = getattr(logging, level.upper(), logging.INFO)
    if fmt == "console":
        renderer: Any = structlog.dev.ConsoleRenderer(colors=stream.isatty())
        final = [_scrub_rendered, renderer]
    else:
        final = [structlog.processors.format_exc_info, _scrub_rendered, structlog.processors.JSONRenderer()]

    structlog.configure(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(lvl)
    # chatty libraries: keep their warnings, drop their debug noise unless asked
    for name in ("apscheduler", "sqlalchemy.engine", "urllib3", "alembic"):
        logging.getLogger(name).setLevel(max(lvl, logging.WARNING) if lvl > logging.DEBUG else lvl)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
