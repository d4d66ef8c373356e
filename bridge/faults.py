"""Fault-injection points for crash tests; inert unless ``$BRIDGE_FAULT_POINT`` names one.

``BRIDGE_FAULT_POINT=<point>[:N]`` makes the process SIGKILL itself the N-th time (default 1st) it
reaches ``<point>``. Points: ``accept.after_or21`` (OR21 answered, decision not yet recorded),
``import.after_write`` (PrestaShop rows written, transaction open), ``import.before_commit``.
Used by tests/integration/test_accept_crash.py, tests/e2e/test_import_crash.py and tests/reliability.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "BRIDGE_FAULT_POINT"
_hits: dict[str, int] = {}


def fault_point(point: str) -> None:
    """Die here, as a SIGKILL would, when the environment asks for this point."""
    spec = os.environ.get(FAULT_ENV, "")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] >= int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
