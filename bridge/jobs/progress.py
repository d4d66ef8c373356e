"""Terminal progress on stderr for long tasks; silent when stderr is not a TTY (never in JSON or logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None, min_interval_s: float = 0.2):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._label = ""

    def step(self, label: str, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.min_interval_s and (total is None or done < total):
            return
        self._last = now
        self._label = label
        if total:
            width = 30
            filled = int(width * min(done, total) / total)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{label:<18} [{bar}] {done}/{total}")
        else:
            self.stream.write(f"\r{label:<18} {done}")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._label:
            self.stream.write("\n")
            self.stream.flush()
            self._label = ""


class NullProgress(Progress):
    def __init__(self) -> None:
        super().__init__(enabled=False)
