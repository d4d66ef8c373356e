"""Task runs and cursors in the bridge-owned tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, Engine

from bridge.state.tables import BridgeTables, bridge_tables


@dataclass(frozen=True)
class RunRecord:
    platform: str
    task: str
    run_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    duration_s: float | None
    error: str | None


class StateRepo:
    """Reads and writes of the bridge's own bookkeeping (not the shop's tables)."""

    def __init__(self, engine: Engine, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.t: BridgeTables = bridge_tables(prefix)

    # --- task runs --------------------------------------------------------------------------

    def start_run(self, *, platform: str, task: str, run_id: str, trigger: str, started_at: datetime) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                insert(self.t.task_run).values(
                    platform=platform, task=task, run_id=run_id, trigger=trigger,
                    started_at=started_at, status="running",
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, row_id: int, *, finished_at: datetime, status: str, duration_s: float,
                   report: dict[str, Any], error: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(self.t.task_run).where(self.t.task_run.c.id == row_id).values(
                    finished_at=finished_at, status=status, duration_s=Decimal(str(duration_s)),
                    report=json.dumps(report, ensure_ascii=False, default=str), error=error,
                )
            )

    def last_run(self, platform: str, task: str, *, status_in: tuple[str, ...] | None = None,
                 exclude_skipped: bool = False) -> RunRecord | None:
        tr = self.t.task_run
        cond = [tr.c.platform == platform, tr.c.task == task]
        if status_in:
            cond.append(tr.c.status.in_(status_in))
        if exclude_skipped:
            cond.append(tr.c.status != "skipped")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tr).where(and_(*cond)).order_by(tr.c.started_at.desc(), tr.c.id.desc()).limit(1)
            ).mappings().first()
        if row is None:
            return None
        return RunRecord(
            platform=row["platform"], task=row["task"], run_id=row["run_id"], trigger=row["trigger"],
            started_at=row["started_at"], finished_at=row["finished_at"], status=row["status"],
            duration_s=float(row["duration_s"]) if row["duration_s"] is not None else None,
            error=row["error"],
        )

    def last_report(self, platform: str, task: str) -> dict[str, Any] | None:
        tr = self.t.task_run
        with self.engine.connect() as conn:
            raw = conn.execute(
                select(tr.c.report).where(tr.c.platform == platform, tr.c.task == task, tr.c.report.is_not(None))
                .order_by(tr.c.started_at.desc(), tr.c.id.desc()).limit(1)
            ).scalar()
        return json.loads(raw) if raw else None

    def mark_interrupted_runs(self, now: datetime) -> int:
        """Runs left 'running' by a killed process are closed as failed at start-up."""
        tr = self.t.task_run
        with self.engine.begin() as conn:
            res = conn.execute(
                update(tr).where(tr.c.status == "running").values(
                    status="failed", finished_at=now, error="interrupted (process stopped during the run)"
                )
            )
            return int(res.rowcount or 0)

    # --- cursors ----------------------------------------------------------------------------

    def get_cursor(self, platform: str, name: str, conn: Connection | None = None) -> datetime | None:
        c = self.t.cursor
        q = select(c.c.value_at).where(c.c.platform == platform, c.c.name == name)
        if conn is not None:
            return conn.execute(q).scalar()
        with self.engine.connect() as own:
            return own.execute(q).scalar()

    def set_cursor(self, platform: str, name: str, value: datetime, now: datetime,
                   conn: Connection | None = None) -> None:
        if conn is None:
            with self.engine.begin() as own:
                self.set_cursor(platform, name, value, now, own)
            return
        c = self.t.cursor
        values = {"platform": platform, "name": name, "value_at": value, "updated_at": now}
        # one atomic upsert: an update-then-insert pair can deadlock when two processes create the row
        if conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(c).values(**values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["platform", "name"],
                                                    set_={"value_at": value, "updated_at": now}))
        else:
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            stmt = mysql_insert(c).values(**values)
            conn.execute(stmt.on_duplicate_key_update(value_at=stmt.inserted.value_at,
                                                      updated_at=stmt.inserted.updated_at))
