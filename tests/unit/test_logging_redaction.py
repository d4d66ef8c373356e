"""No API key, token, password or full database URL reaches a log line."""

from __future__ import annotations

import io
import json
import logging

import structlog

from bridge.logging import configure_logging, get_logger, register_secret, scrub


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_secret_fields_and_registered_values_are_redacted_in_json_logs() -> None:
    register_secret("KEY-7f3a9c1d")
    stream = io.StringIO()
    configure_logging("json", "debug", stream=stream)
    log = get_logger("t")
    log.info("mirakl.request", api_key="KEY-7f3a9c1d", headers={"Authorization": "KEY-7f3a9c1d"},
             note="the key KEY-7f3a9c1d leaked in text", url="mysql+pymysql://bridge:hunter2@db:3306/shop",
             path="/tasks/offers?token=abc123&platform=x")
    logging.getLogger("sqlalchemy.engine").warning("connect failed for mysql+pymysql://root:hunter2@h/db")
    try:
        raise RuntimeError("boom with KEY-7f3a9c1d")
    except RuntimeError:
        log.exception("task.crashed")
    text = stream.getvalue()
    structlog.reset_defaults()
    for secret in ("KEY-7f3a9c1d", "hunter2", "abc123"):
        assert secret not in text
    events = _lines(stream)
    assert events[0]["api_key"] == "***"
    assert events[0]["headers"]["Authorization"] == "***"
    assert events[0]["url"] == "mysql+pymysql://***@db:3306/shop"
    assert events[1]["logger"] == "sqlalchemy.engine"  # stdlib loggers go through the same pipeline


def test_console_format_is_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream)
    get_logger("t").info("x", password="p4ssw0rd-long")
    structlog.reset_defaults()
    assert "p4ssw0rd-long" not in stream.getvalue()


def test_scrub_hides_credentials_in_urls() -> None:
    assert scrub("see mysql+pymysql://a:b@h/db") == "see mysql+pymysql://***@h/db"
