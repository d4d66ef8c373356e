"""The one door to a Mirakl platform's seller API.

Every call goes through :meth:`MiraklClient._request`: one ``requests.Session`` per platform,
raw ``Authorization`` key, explicit ``(connect, read)`` timeouts, TLS always verified, status
classification and retries in one place, one ``mirakl.request`` log event per attempt.

Reads are retried (429 honouring ``Retry-After``, 5xx, timeouts, connection errors, malformed
JSON) within ``max_attempts`` and ``max_retry_s``. Writes are only resent when the server cannot
have applied them (429, connect failure) or after a re-read proved they were not applied:

* OR21 / OR24 / OR23: after an ambiguous failure (read timeout, 5xx, dropped connection,
  unreadable answer) the order is re-read with OR11; already in the target state -> ``"done"``,
  otherwise the call is resent within the budget.
* OF01 / STO01: an ambiguous failure is NOT resent (a second file could be applied twice, or
  race the first); ``MiraklRetriableError`` is raised and the offers job resends its file on its
  next run, which is harmless because offer imports are absolute values, not increments.
"""

from __future__ import annotations

import io
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import structlog

import bridge
from bridge.config import LOOPBACK_HOSTS, PlatformConfig
from bridge.domain.orders import SHIPPED, WAITING_ACCEPTANCE, MiraklOrder
from bridge.errors import ConfigError, MiraklError, MiraklFatalError, MiraklRetriableError, SkippableError
from bridge.logging import register_secret
from bridge.mirakl import parsing
from bridge.mirakl.csvfmt import parse_error_report
from bridge.mirakl.models import Carrier, OfferImportStatus, OfferLineError, OrderPage
from bridge.mirakl.pagination import iter_offset_pages
from bridge.mirakl.transport import AttemptFailed, Budget, classify_exception, classify_status

log = structlog.get_logger(__name__)

T = TypeVar("T")
OnRequest = Callable[[str, "int | None", float], None]
IMPORT_MODES = ("NORMAL", "PARTIAL_UPDATE", "REPLACE")
ORDER_IDS_PER_CALL = 100
SHIPPED_OR_LATER = frozenset({SHIPPED, "TO_COLLECT", "RECEIVED", "CLOSED"})


def _utc_param(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("start_update_date must be an aware datetime")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


class MultipartFileBody:
    """A ``multipart/form-data`` body (text fields, then one file part) read from the file as it is sent.

    Given to requests as ``data``: it has a length (so ``Content-Length`` is set, not chunked) and is
    read in blocks by the HTTP connection; only one block of the file is in memory at a time. Same
    parts as requests' own ``files=``/``data=`` encoding.
    """

    BLOCK = 64 * 1024

    def __init__(self, fields: Mapping[str, str], name: str, filename: str, content_type: str,
                 fileobj: IO[bytes]) -> None:
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + str(v).encode()
            + b"\r\n" for k, v in fields.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n").encode()
        self._head, self._tail = head, f"\r\n--{boundary}--\r\n".encode()
        self._file = fileobj
        self._start = fileobj.tell()
        self._size = fileobj.seek(0, os.SEEK_END) - self._start
        fileobj.seek(self._start)
        self._parts: list[bytes] = []
        self._in_file = False
        self.rewind()

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def rewind(self) -> None:
        self._file.seek(self._start)
        self._pending = [self._head]
        self._in_file = True
        self._left = self._size

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            return self._pending.pop()
        if self._in_file:
            want = self.BLOCK if size is None or size < 0 else min(size, self.BLOCK)
            block = self._file.read(min(want, self._left)) if self._left > 0 else b""
            if block:
                self._left -= len(block)
                return block
            self._in_file = False
            return self._tail
        return b""

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(self.BLOCK):
            yield block


class MiraklClient:
    """Seller API client for one platform (see module docstring for the retry rules)."""

    def __init__(
        self,
        platform: PlatformConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        on_request: OnRequest | None = None,
    ) -> None:
        parts = urlsplit(platform.api_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            raise ConfigError(
                [f"platforms.{platform.code}.api_url: https is required (http only for loopback)"]
            )
        self.platform = platform
        self.code = platform.code
        self._key = platform.api_key_value()
        register_secret(self._key)
        self._base = platform.api_url.rstrip("/")
        self._timeout = (float(platform.connect_timeout_s), float(platform.read_timeout_s))
        self._verify: str | bool = platform.ca_bundle or True
        self._sleep, self._monotonic, self._rng = sleep, monotonic, rng
        self._on_request = on_request
        self._session = session if session is not None else self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # no ~/.netrc (it would replace our Authorization header), no env CA override; proxies from
        # the environment are still honoured for non-loopback hosts.
        session.trust_env = False
        host = urlsplit(self._base).hostname or ""
        if host not in LOOPBACK_HOSTS:
            session.proxies.update(requests.utils.get_environ_proxies(self._base))
        return session

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> MiraklClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one request path ----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": self._key,
            "Accept": "application/json",
            "User-Agent": f"mirakl-bridge/{bridge.__version__}",
        }

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = dict(params or {})
        if self.platform.shop_id is not None:
            merged["shop_id"] = str(self.platform.shop_id)
        return merged

    def _request(
        self,
        method: str,
        path: str,
        *,
        code: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        expect: str = "json",
        write: bool = False,
        verify: Callable[[], bool] | None = None,
        body: MultipartFileBody | None = None,
    ) -> Any:
        """Send, classify, retry. ``expect``: "json" (parsed), "text", or "none" (body ignored).

        A ``write`` is resent only when the failure cannot have been applied, or after
        ``verify()`` (a re-read) says it was not; when ``verify()`` says it was, the call
        returns None as if the server had answered 2xx.
        """
        budget = Budget(self.platform.max_attempts, float(self.platform.max_retry_s), self._monotonic())
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, path, code, attempt, params, json_body, files, data, expect, body)
            except AttemptFailed as failed:
                if not failed.retriable:
                    raise failed.error from None
                if write and failed.ambiguous:
                    if verify is None:
                        raise failed.error from None
                    if self._verified(verify, code, path, failed.error):
                        return None
                wait = budget.next_wait(attempt, self._monotonic(), failed.retry_after_s, self._rng)
                if wait is None:
                    raise failed.error from None
                log.warning(
                    "mirakl.retry",
                    platform=self.code,
                    endpoint=code,
                    path=path,
                    attempt=attempt,
                    wait_s=round(wait, 3),
                    reason=failed.error.mirakl_message,
                    status=failed.error.status,
                )
                self._sleep(wait)

    def _verified(self, verify: Callable[[], bool], code: str, path: str, error: MiraklError) -> bool:
        try:
            applied = verify()
        except MiraklError as exc:
            log.warning(
                "mirakl.write_unverified", platform=self.code, endpoint=code, path=path, error=str(exc)
            )
            raise error from None
        log.info("mirakl.write_verified", platform=self.code, endpoint=code, path=path, applied=applied)
        return applied

    def _attempt(
        self,
        method: str,
        path: str,
        code: str,
        attempt: int,
        params: Mapping[str, Any] | None,
        json_body: Any,
        files: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
        expect: str,
        body: MultipartFileBody | None = None,
    ) -> Any:
        headers = self._headers()
        payload: Any = data
        if body is not None:  # streamed multipart body, rewound for each attempt
            body.rewind()
            payload = body
            headers["Content-Type"] = body.content_type
        started = self._monotonic()
        status: int | None = None
        try:
            response = self._session.request(
                method,
                self._base + path,
                params=self._params(params),
                json=json_body,
                files=files,
                data=payload,
                headers=headers,
                timeout=self._timeout,
                verify=self._verify,
                allow_redirects=False,
            )
            status = response.status_code
        except requests.RequestException as exc:
            self._record(method, path, code, attempt, None, started, error=type(exc).__name__)
            raise classify_exception(exc, platform=self.code, endpoint=code) from None
        self._record(method, path, code, attempt, status, started)
        if not 200 <= status < 300:
            raise classify_status(response, platform=self.code, endpoint=code)
        if expect == "none":
            return None
        if expect == "text":
            return response.content.decode("utf-8", errors="replace")
        try:
            return parsing.loads(response.content)
        except ValueError:
            error = MiraklRetriableError(
                "malformed or truncated JSON in a 2xx answer",
                platform=self.code,
                endpoint=code,
                status=status,
                body_excerpt=response.text[:200],
            )
            raise AttemptFailed(error, ambiguous=True) from None

    def _record(
        self,
        method: str,
        path: str,
        code: str,
        attempt: int,
        status: int | None,
        started: float,
        error: str = "",
    ) -> None:
        duration = max(0.0, self._monotonic() - started)
        level = log.info if status is not None and status < 400 else log.warning
        level(
            "mirakl.request",
            platform=self.code,
            method=method,
            endpoint=code,
            path=path,
            status=status,
            duration_ms=round(duration * 1000, 1),
            attempt=attempt,
            **({"error": error} if error else {}),
        )
        if self._on_request is not None:
            self._on_request(code, status, duration)

    # --- account, carriers -----------------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        """A01: the shop account (cheap authenticated call for check-config)."""
        payload = self._request("GET", "/api/account", code="A01")
        if not isinstance(payload, dict):
            raise MiraklFatalError("A01 answer is not a JSON object", platform=self.code, endpoint="A01")
        return payload

    def carriers(self) -> list[Carrier]:
        """SH21: carriers configured on the platform."""
        payload = self._request("GET", "/api/shipping/carriers", code="SH21")
        return self._shape(lambda: parsing.parse_carriers(payload), "SH21")

    def _shape(self, parse: Callable[[], T], code: str) -> T:
        try:
            return parse()
        except parsing.PayloadError as exc:
            raise MiraklFatalError(f"unexpected answer: {exc}", platform=self.code, endpoint=code) from None

    # --- offers and stock imports ----------------------------------------------------------------

    def import_offers(
        self, csv_text: str, *, import_mode: str = "NORMAL", allow_replace: bool = False
    ) -> str:
        """OF01: upload an offer file; returns the import id. Never resent after an ambiguous failure."""
        if import_mode not in IMPORT_MODES:
            raise ValueError(f"import_mode must be one of {IMPORT_MODES}")
        if import_mode == "REPLACE" and not allow_replace:
            raise ValueError("REPLACE deletes every offer missing from the file; pass allow_replace=True")
        return self.import_offers_file(io.BytesIO(csv_text.encode("utf-8")), import_mode=import_mode,
                                       allow_replace=allow_replace)

    def import_offers_file(
        self, source: str | os.PathLike[str] | IO[Any], *, import_mode: str = "NORMAL", allow_replace: bool = False
    ) -> str:
        """OF01 from a file (a path, or a binary/text file object read from its current position).

        The multipart body is streamed from the file block by block (nothing of the file is held in
        memory); each attempt rewinds to the same position. A text file object is flushed and its
        underlying binary buffer is read (it must be UTF-8, as :class:`OfferCsvWriter` writes it).
        """
        if import_mode not in IMPORT_MODES:
            raise ValueError(f"import_mode must be one of {IMPORT_MODES}")
        if import_mode == "REPLACE" and not allow_replace:
            raise ValueError("REPLACE deletes every offer missing from the file; pass allow_replace=True")
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as fh:  # noqa: PTH123
                return self.import_offers_file(fh, import_mode=import_mode, allow_replace=allow_replace)
        fileobj: IO[bytes]
        if isinstance(source, io.TextIOBase):
            source.flush()
            position = source.tell()  # flushed, no decoder state: the byte offset
            fileobj = source.buffer  # type: ignore[attr-defined]
            fileobj.seek(position)
        else:
            fileobj = source  # type: ignore[assignment]
        body = MultipartFileBody({"import_mode": import_mode}, "file", "offers.csv", "text/csv", fileobj)
        payload = self._request("POST", "/api/offers/imports", code="OF01", body=body, write=True)
        return self._import_id(payload, "OF01")

    def _import_id(self, payload: Any, code: str) -> str:
        try:
            return parsing.parse_import_id(payload)
        except parsing.PayloadError as exc:
            raise MiraklRetriableError(
                f"upload answer unreadable, outcome unknown: {exc}", platform=self.code, endpoint=code
            ) from None

    def offer_import_status(self, import_id: str | int) -> OfferImportStatus:
        """OF02."""
        payload = self._request("GET", f"/api/offers/imports/{quote(str(import_id), safe='')}", code="OF02")
        return self._shape(lambda: parsing.parse_import_status(payload, str(import_id)), "OF02")

    def offer_import_errors(self, import_id: str | int) -> list[OfferLineError]:
        """OF03: the rejected lines of an import (never raises on a malformed report)."""
        path = f"/api/offers/imports/{quote(str(import_id), safe='')}/error_report"
        return parse_error_report(self._request("GET", path, code="OF03", expect="text"))

    def import_stock(self, csv_text: str) -> str:
        """STO01; MiraklNotFoundError (404) means the platform does not offer it (use OF01)."""
        files = {"file": ("stock.csv", csv_text.encode("utf-8"), "text/csv")}
        payload = self._request("POST", "/api/offers/stock/imports", code="STO01", files=files, write=True)
        return self._import_id(payload, "STO01")

    def stock_import_status(self, import_id: str | int) -> OfferImportStatus:
        """STO02 (lines_read = success + error)."""
        path = f"/api/offers/stock/imports/{quote(str(import_id), safe='')}/status"
        payload = self._request("GET", path, code="STO02")
        return self._shape(lambda: parsing.parse_import_status(payload, str(import_id)), "STO02")

    def stock_import_errors(self, import_id: str | int) -> list[OfferLineError]:
        """STO03: rejected stock lines."""
        path = f"/api/offers/stock/imports/{quote(str(import_id), safe='')}/error_report"
        return parse_error_report(self._request("GET", path, code="STO03", expect="text"))

    # --- orders: reading -------------------------------------------------------------------------

    def iter_order_pages(
        self,
        *,
        states: Iterable[str] | str | None = None,
        order_ids: Iterable[str] | None = None,
        start_update_date: datetime | None = None,
        tax_mode: str | None = None,
        page_size: int = 100,
    ) -> Iterator[OrderPage]:
        """OR11 pages; ``order_ids`` are sent 100 at a time, one pagination per chunk."""
        params: dict[str, str] = {}
        if states is not None:
            codes = [states] if isinstance(states, str) else list(states)
            params["order_state_codes"] = ",".join(codes)
        if start_update_date is not None:
            params["start_update_date"] = _utc_param(start_update_date)
        if tax_mode is not None:
            params["order_tax_mode"] = tax_mode
        if order_ids is None:
            yield from self._paginate(params, page_size)
            return
        ids = list(dict.fromkeys(str(i) for i in order_ids))
        for chunk in _chunks(ids, ORDER_IDS_PER_CALL):
            yield from self._paginate({**params, "order_ids": ",".join(chunk)}, page_size)

    def _paginate(self, params: dict[str, str], page_size: int) -> Iterator[OrderPage]:
        def fetch(offset: int, size: int) -> tuple[list[Any], int | None]:
            payload = self._request(
                "GET", "/api/orders", code="OR11", params={**params, "max": str(size), "offset": str(offset)}
            )
            try:
                return parsing.orders_payload(payload)
            except parsing.PayloadError as exc:
                raise MiraklRetriableError(str(exc), platform=self.code, endpoint="OR11") from None

        for raw in iter_offset_pages(fetch, page_size=page_size, endpoint="OR11", platform=self.code):
            orders, invalid = parsing.parse_orders(raw.items, offset=raw.offset)
            yield OrderPage(orders=orders, invalid=invalid, offset=raw.offset, total_count=raw.total_count)

    def list_orders(self, **kwargs: Any) -> tuple[list[MiraklOrder], list[SkippableError]]:
        """Every page of :meth:`iter_order_pages` (same arguments), concatenated."""
        orders: list[MiraklOrder] = []
        invalid: list[SkippableError] = []
        for page in self.iter_order_pages(**kwargs):
            orders.extend(page.orders)
            invalid.extend(page.invalid)
        return orders, invalid

    def get_order(self, order_id: str) -> MiraklOrder | None:
        """One order via OR11 ``order_ids`` (OR12 is deprecated); SkippableError if it does not parse."""
        orders, invalid = self.list_orders(order_ids=[order_id])
        for order in orders:
            if order.order_id == order_id:
                return order
        for error in invalid:
            if error.item_ref == f"order {order_id}":
                raise error
        return None

    # --- orders: writing -------------------------------------------------------------------------

    def _order_path(self, order_id: str, action: str) -> str:
        return f"/api/orders/{quote(order_id, safe='')}/{action}"

    def accept_order(self, order_id: str, decisions: Mapping[str, bool]) -> str:
        """OR21: accept (True) / refuse (False) each line. Returns "done" or "already_decided"."""
        if not decisions:
            raise ValueError("decisions must name at least one order line")
        body = {
            "order_lines": [{"accepted": bool(ok), "id": str(line_id)} for line_id, ok in decisions.items()]
        }

        def decided() -> bool:
            order = self.get_order(order_id)
            return order is not None and all(line.state != WAITING_ACCEPTANCE for line in order.lines)

        try:
            self._request(
                "PUT",
                self._order_path(order_id, "accept"),
                code="OR21",
                json_body=body,
                expect="none",
                write=True,
                verify=decided,
            )
        except MiraklFatalError as exc:
            if exc.status == 400 and decided():
                log.info("mirakl.already_decided", platform=self.code, order_id=order_id)
                return "already_decided"
            raise
        return "done"

    def update_tracking(
        self,
        order_id: str,
        *,
        carrier_code: str | None = None,
        carrier_name: str | None = None,
        carrier_url: str | None = None,
        tracking_number: str | None = None,
    ) -> str:
        """OR23: carrier + tracking (flat JSON body). Returns "done"."""
        fields = {
            "carrier_code": carrier_code,
            "carrier_name": carrier_name,
            "carrier_url": carrier_url,
            "tracking_number": tracking_number,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        if "carrier_code" not in body and "carrier_name" not in body:
            raise ValueError("carrier_code (registered carrier) or carrier_name (other carrier) is required")

        def stored() -> bool:
            order = self.get_order(order_id)
            return (
                order is not None
                and tracking_number is not None
                and order.shipping_tracking == tracking_number
            )

        self._request(
            "PUT",
            self._order_path(order_id, "tracking"),
            code="OR23",
            json_body=body,
            expect="none",
            write=True,
            verify=stored,
        )
        return "done"

    def ship_order(self, order_id: str) -> str:
        """OR24: confirm shipment. Returns "done" or "already_shipped"."""

        def shipped() -> bool:
            order = self.get_order(order_id)
            return order is not None and order.state in SHIPPED_OR_LATER

        try:
            self._request(
                "PUT",
                self._order_path(order_id, "ship"),
                code="OR24",
                expect="none",
                write=True,
                verify=shipped,
            )
        except MiraklFatalError as exc:
            if exc.status == 400 and "current status is" in exc.mirakl_message.lower() and shipped():
                log.info("mirakl.already_shipped", platform=self.code, order_id=order_id)
                return "already_shipped"
            raise
        return "done"
