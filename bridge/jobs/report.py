"""The JSON report every task answers with (CLI stdout, HTTP endpoint, task-runs table)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Status = Literal["ok", "partial", "skipped", "failed"]


@dataclass
class TaskReport:
    """Counts and items of one task run. ``status``: ok | partial | skipped | failed.

    - ok: everything planned was done (possibly nothing to do);
    - partial: the run went through but some items failed or were held;
    - skipped: the run did not start (locked, too soon, disabled), ``reason`` says why;
    - failed: the run could not complete (Mirakl down, auth error, database error).
    """

    task: str
    platform: str
    run_id: str
    started_at: datetime
    dry_run: bool = False
    status: Status = "ok"
    reason: str = ""
    finished_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def add(self, kind: str, **item: Any) -> None:
        self.items.setdefault(kind, []).append(item)

    def error(self, ref: str, message: str, *, code: str = "error", **more: Any) -> None:
        self.errors.append({"ref": ref, "code": code, "message": message, **more})

    def finish(self, now: datetime, status: Status | None = None) -> TaskReport:
        self.finished_at = now
        if status is not None:
            self.status = status
        elif self.status == "ok" and self.errors:
            self.status = "partial"
        return self

    @property
    def duration_s(self) -> float:
        if self.finished_at is None:
            return 0.0
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "platform": self.platform,
            "run_id": self.run_id,
            "status": self.status,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_s": self.duration_s,
            "counts": dict(sorted(self.counts.items())),
            "items": self.items,
            "errors": self.errors,
            **({"extra": self.extra} if self.extra else {}),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=json_default)


def json_default(o: object) -> Any:
    """``json.dumps`` default for reports and CLI/HTTP answers: Decimal as a string, datetime as ISO 8601."""
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
