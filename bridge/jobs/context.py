"""What a task receives: the app, its platform, the Mirakl client, its report, a clock and a stop flag."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bridge.errors import StopRequested
from bridge.jobs.progress import NullProgress, Progress
from bridge.jobs.report import TaskReport

if TYPE_CHECKING:
    from bridge.config import PlatformConfig
    from bridge.mirakl.client import MiraklClient
    from bridge.wiring import App


@dataclass
class TaskContext:
    app: App
    platform: PlatformConfig
    mirakl: MiraklClient
    report: TaskReport
    run_id: str
    dry_run: bool
    clock: Callable[[], datetime]
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Progress = field(default_factory=NullProgress)
    log: Any = None

    def now(self) -> datetime:
        return self.clock()

    def check_stop(self) -> None:
        """Call between orders/pages: raises StopRequested once a stop was asked for."""
        if self.stop.is_set():
            raise StopRequested()
