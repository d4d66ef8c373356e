"""Fault injection rules for the simulator: the next N matching requests misbehave."""

from __future__ import annotations

import threading
from dataclasses import dataclass

STATUS = "status"  # answer an error status without touching state
SLOW = "slow"  # wait delay_s before handling (the request is still applied)
TRUNCATE = "truncate"  # handle, then send only the first half of the JSON body
MALFORMED = "malformed"  # handle, then send a body that is not JSON
FAIL_AFTER_APPLY = "fail_after_apply"  # handle (apply the change), then answer an error status


@dataclass
class Fault:
    kind: str
    remaining: int
    endpoint: str | None = None
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 0.0
    message: str = ""


class Faults:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("n must be >= 1")
        with self._lock:
            self._rules.append(fault)

    def take(self, kind: str, endpoint: str) -> Fault | None:
        """The first active rule of ``kind`` for ``endpoint`` (or any endpoint), consumed once."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.remaining > 0 and rule.endpoint in (None, endpoint):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)
