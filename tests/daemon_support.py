"""Helpers for the daemon / HTTP endpoint tests: one platform ``mkp`` on the simulator, the test shop."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bridge.config import Config, config_from_dict
from bridge.state.tables import bridge_tables
from bridge.wiring import App, utcnow

SIM_KEY = "sim-key-daemon-4711"
TOKEN = "http-token-daemon-s3cret"
CODE = "mkp"
ENV = {"TEST_MIRAKL_KEY": SIM_KEY, "BRIDGE_HTTP_TOKEN": TOKEN}


def raw_config(db_url: str, prefix: str, sim_url: str, *, schedule: dict[str, str] | None = None,
               http: dict[str, Any] | None = None, daemon: dict[str, Any] | None = None,
               **platform: Any) -> dict[str, Any]:
    return {
        "shop": {"database_url": db_url, "table_prefix": prefix},
        "daemon": {"min_manual_interval_s": 0, "stop_timeout_s": 30, **(daemon or {})},
        "http": {"enabled": False, "port": 8787, **(http or {})},
        "platforms": [{
            "code": CODE, "api_url": sim_url, "api_key_env": "TEST_MIRAKL_KEY", "max_attempts": 3,
            "max_retry_s": 10, "read_timeout_s": 10, "schedule": schedule or {}, **platform,
        }],
    }


def make_config(shop: Any, sim_url: str, **kw: Any) -> Config:
    return config_from_dict(raw_config(shop.url, shop.prefix, sim_url, **kw), ENV)


def make_app(shop: Any, sim_url: str, *, clock: Callable[[], datetime] = utcnow, **kw: Any) -> App:
    return App(make_config(shop, sim_url, **kw), clock=clock)


def task_runs(engine: Any, prefix: str) -> list[dict[str, Any]]:
    """Every task-run row, oldest first, with its report parsed."""
    tr = bridge_tables(prefix).task_run
    with engine.connect() as conn:
        rows = conn.execute(select(tr).order_by(tr.c.id)).mappings().all()
    return [{**r, "report": json.loads(r["report"]) if r["report"] else None} for r in rows]


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v).__name__)


def write_toml(raw: dict[str, Any], path: Path) -> Path:
    """The config dicts above as TOML (tables, arrays of tables, scalars): enough for these tests."""
    lines: list[str] = []

    def table(name: str, data: dict[str, Any], header: str) -> None:
        lines.append(header)
        subs = []
        for k, v in data.items():
            if isinstance(v, dict):
                subs.append((k, v))
            else:
                lines.append(f"{k} = {toml_value(v)}")
        for k, v in subs:
            table(f"{name}.{k}", v, f"[{name}.{k}]")

    for key, value in raw.items():
        if isinstance(value, list):
            for item in value:
                table(key, item, f"[[{key}]]")
        else:
            table(key, value, f"[{key}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
