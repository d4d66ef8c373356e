"""Shared pieces of the benchmark scripts: database lifetime, machine facts, phases in subprocesses, counters.

Every benchmark creates its own database on the server found by ``bridge.testshop.dbserver`` (or
``--server``) and drops it at the end (``--keep`` keeps it). Each measured phase runs in its own
Python process so that its peak RSS is its own; the Mirakl simulator runs in the orchestrating
process (its CPU is not counted in the phase's RSS, but it shares the machine's cores).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

KEY = "bench-key-0123456789"
PREFIX = "ps_"
CODE = "bench"


def peak_rss_mb() -> float:
    """Peak RSS of this process since its exec (``VmHWM``).

    Not ``getrusage().ru_maxrss``: on Linux it survives ``execve`` and so starts at the forking
    parent's peak (here the orchestrator, whose simulator holds every uploaded offer).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB (inherits the parent's peak)


def server_url(explicit: str | None) -> str:
    from bridge.testshop import dbserver

    return explicit.rstrip("/") + "/" if explicit else dbserver.find_server().url


@contextmanager
def scratch_database(server: str, tag: str, *, keep: bool = False) -> Iterator[str]:
    from bridge.testshop import dbserver

    name = dbserver.new_database_name(tag)
    url = dbserver.create_database(server, name)
    try:
        yield url
    finally:
        if keep:
            print(f"(database kept: {name})")
        else:
            dbserver.drop_database(server, name)


def build_shop(url: str) -> None:
    """The test shop with two shops sharing their stock, and the bridge tables (alembic migration)."""
    from bridge.migrate import upgrade
    from bridge.shop.db import make_engine
    from bridge.testshop.seed import build_test_shop

    engine = make_engine(url)
    try:
        build_test_shop(engine, prefix=PREFIX, multishop=True, products=False)
        upgrade(engine, PREFIX)
    finally:
        engine.dispose()


def analyze(url: str) -> None:
    """Fresh index statistics after a bulk load, as a live shop has them. Without them the first
    catalogue read picked a nested full scan of ``stock_available`` (11 minutes), and the order
    writer's attribute-name read started from ``attribute`` and walked every combination (2.9 ms)."""
    from sqlalchemy import text

    from bridge.shop.db import make_engine

    engine = make_engine(url)
    try:
        if engine.dialect.name in ("mysql", "mariadb"):
            with engine.connect() as conn:
                tables = ("product", "product_shop", "product_lang", "product_attribute", "product_attribute_shop",
                          "product_attribute_combination", "attribute", "attribute_lang", "attribute_group",
                          "attribute_group_lang", "category_product", "stock_available", "specific_price",
                          "specific_price_priority")
                conn.execute(text("ANALYZE TABLE " + ", ".join(f"`{PREFIX}{t}`" for t in tables))).all()
    finally:
        engine.dispose()


def production_logging() -> None:
    """Logging as the daemon configures it (JSON lines, level info), written to /dev/null: the runs pay
    for producing their log lines, not for a terminal."""
    from bridge.logging import configure_logging

    configure_logging("json", "info", stream=open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def app_for(url: str, sim_url: str, **platform: Any) -> Any:
    from bridge.config import config_from_dict
    from bridge.wiring import App

    production_logging()
    raw = {"shop": {"database_url": url, "table_prefix": PREFIX, "id_shop": 1},
           "daemon": {"min_manual_interval_s": 0},
           "platforms": [{"code": CODE, "api_url": sim_url, "api_key_env": "BENCH_KEY", "read_timeout_s": 300,
                          **platform}]}
    return App(config_from_dict(raw, {"BENCH_KEY": KEY}))


@dataclass
class SqlCounter:
    """Statements, commits/rollbacks and pool resets seen by an engine (each one is a round trip)."""

    statements: int = 0
    commits: int = 0
    rollbacks: int = 0
    resets: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)

    def attach(self, engine: Any) -> SqlCounter:
        from sqlalchemy import event

        def before(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
            self.statements += 1
            verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "commit", lambda *_: setattr(self, "commits", self.commits + 1))
        event.listen(engine, "rollback", lambda *_: setattr(self, "rollbacks", self.rollbacks + 1))
        event.listen(engine.pool, "reset", lambda *_: setattr(self, "resets", self.resets + 1))
        return self

    @property
    def round_trips(self) -> int:
        return self.statements + self.commits + self.rollbacks + self.resets


def run_phase(script: str, *args: str) -> dict[str, Any]:
    """Run ``script --phase args...`` in a fresh interpreter; its last stdout line is a JSON object."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = subprocess.run([sys.executable, script, "--phase", *args], check=False, capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        raise RuntimeError(f"phase {args[0]} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def phase_main(phases: dict[str, Callable[..., dict[str, Any]]], argv: Sequence[str]) -> None:
    kind, *rest = argv
    print(json.dumps(phases[kind](*rest), default=str))


def spread(values: Sequence[float]) -> str:
    """``best (min–max over n)`` for repeated measurements."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{min(values):.2f} ({min(values):.2f}–{max(values):.2f}, n={len(values)})"


def best(values: Sequence[float]) -> float:
    return min(values)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, str]:
    """What the README's results table names: cores, memory, versions, commit, load."""
    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    mem = sh("free", "-h").splitlines()
    return {
        "nproc": sh("nproc"),
        "memory": mem[1].split()[1] if len(mem) > 1 else "?",
        "python": platform.python_version(),
        "commit": sh("git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "time": time.strftime("%Y-%m-%d %H:%M"),
    }


def server_version(url: str) -> str:
    from sqlalchemy import text

    from bridge.shop.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name in ("mysql", "mariadb"):
                row = conn.execute(text("SELECT VERSION(), @@innodb_flush_log_at_trx_commit")).one()
                return f"{row[0]} (innodb_flush_log_at_trx_commit={row[1]})"
            return engine.dialect.name
    finally:
        engine.dispose()


def print_machine(url: str) -> None:
    m = machine()
    print(f"machine: {m['nproc']} cores, {m['memory']} RAM, Python {m['python']}, {server_version(url)}, "
          f"commit {m['commit']}, load average {m['load']} at {m['time']}")
