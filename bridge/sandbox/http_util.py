"""Small HTTP helpers of the simulator: JSON with Decimals, multipart parsing, routing table."""

from __future__ import annotations

import email.policy
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from email.parser import BytesParser
from typing import Any

from bridge.sandbox.sim_orders import SimError

# (method, path regex, endpoint code, handler name)
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", r"/api/account", "A01", "account"),
    ("GET", r"/api/version", "V01", "version"),
    ("POST", r"/api/offers/imports", "OF01", "offer_import"),
    ("GET", r"/api/offers/imports/(?P<id>[^/]+)", "OF02", "offer_import_status"),
    ("GET", r"/api/offers/imports/(?P<id>[^/]+)/error_report", "OF03", "offer_import_errors"),
    ("POST", r"/api/offers/stock/imports", "STO01", "stock_import"),
    ("GET", r"/api/offers/stock/imports/(?P<id>[^/]+)/status", "STO02", "stock_import_status"),
    ("GET", r"/api/offers/stock/imports/(?P<id>[^/]+)/error_report", "STO03", "stock_import_errors"),
    ("GET", r"/api/orders", "OR11", "list_orders"),
    ("PUT", r"/api/orders/(?P<id>[^/]+)/accept", "OR21", "accept"),
    ("PUT", r"/api/orders/(?P<id>[^/]+)/tracking", "OR23", "tracking"),
    ("PUT", r"/api/orders/(?P<id>[^/]+)/ship", "OR24", "ship"),
    ("GET", r"/api/shipping/carriers", "SH21", "carriers"),
)
_COMPILED = tuple((m, re.compile(p + r"/?"), code, name) for m, p, code, name in ROUTES)
WRITE_ENDPOINTS = frozenset({"OF01", "STO01", "OR21", "OR23", "OR24"})


def route(method: str, path: str) -> tuple[str, str, dict[str, str]]:
    """(endpoint code, handler name, path params); SimError 404/405 when nothing matches."""
    path_known = False
    for m, regex, code, name in _COMPILED:
        match = regex.fullmatch(path)
        if match:
            if m == method:
                return code, name, match.groupdict()
            path_known = True
    if path_known:
        raise SimError(405, f"Method {method} is not allowed on {path}")
    raise SimError(404, f"No endpoint {method} {path}")


def _default(value: object) -> Any:
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(obj: Any) -> bytes:
    return json.dumps(obj, default=_default, ensure_ascii=False).encode("utf-8")


def error_body(status: int, message: str) -> bytes:
    return to_json({"message": message, "status": status})


@dataclass
class FormPart:
    filename: str | None
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormPart]:
    if not content_type.lower().startswith("multipart/form-data"):
        raise SimError(400, "The request must be multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise SimError(400, "Malformed multipart body")
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        parts[name] = FormPart(
            part.get_filename(),
            payload if isinstance(payload, bytes) else b"",
            {k: str(v) for k, v in part.items()},
        )
    return parts
