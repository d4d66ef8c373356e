"""systemd readiness protocol (``Type=notify``): one datagram to ``$NOTIFY_SOCKET``, no dependency.

Inert when ``NOTIFY_SOCKET`` is unset (not started by systemd). Abstract sockets (``@name``) are
supported. Errors are swallowed: a notification must never stop the daemon.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + addr[1:] if addr.startswith("@") else addr
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog_on = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        self.watchdog_interval_s: float | None = int(usec) / 1_000_000 / 2 if watchdog_on else None
        """Ping period: half of systemd's WatchdogSec, or None when the watchdog is off."""

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str) -> bool:
        """``send(READY="1", STATUS="...")`` -> True when the datagram was sent."""
        if not self.address:
            return False
        lines = (f"{k}={' '.join(str(v).split())}" for k, v in fields.items())  # one line per field
        payload = "\n".join(lines).encode("utf-8", errors="replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(payload)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def status(self, status: str) -> bool:
        return self.send(STATUS=status)

    def stopping(self, status: str = "stopping") -> bool:
        return self.send(STOPPING="1", STATUS=status)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG="1")
