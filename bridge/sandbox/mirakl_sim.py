"""A Mirakl seller API over real HTTP (stdlib ThreadingHTTPServer on 127.0.0.1), for tests and demos.

    with MiraklSimulator(api_key="sim-key") as sim:
        sim.add_orders(generate_orders(3, ["SKU-1", "SKU-2"]))
        client = MiraklClient(platform_with(api_url=sim.url, key="sim-key"))

State: offers and imports (OF01-OF03, STO01-STO03), orders with their lifecycle (OR11, OR21, OR23,
OR24), carriers (SH21), account (A01). Faults: ``fail_next``, ``slow_next``, ``truncate_next``,
``malformed_next``, ``fail_after_apply_next``, ``repeat_page``. Inspection: ``requests``,
``uploads``, ``decisions``, ``offers``, ``orders``, ``tracking``.

Imports: by default an OF01/STO01 file is parsed and checked inside the upload request. With
``async_imports=True`` the upload only checks the request and answers 201 with the import id; one
worker thread then processes the queued files in arrival order (OF02/STO02 say WAITING while queued,
RUNNING while processed). Either way ``import_polls`` more polls are needed before the import is
final (``advance()`` finishes it now). ``wait_imports``, ``hold_imports`` and ``queued_imports``
control and inspect the queue.
"""

from __future__ import annotations

import copy
import json
import random
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bridge.sandbox import faults as F
from bridge.sandbox.http_util import WRITE_ENDPOINTS, error_body, parse_multipart, route, to_json
from bridge.sandbox.import_queue import ImportQueue
from bridge.sandbox.orders_gen import generate_order, iso
from bridge.sandbox.sim_offers import OfferBook, SimImport, read_csv
from bridge.sandbox.sim_orders import OrderBook, SimError

DEFAULT_CARRIERS: tuple[dict[str, Any], ...] = (
    {
        "code": "CHRONOPOST",
        "label": "Chronopost",
        "standard_code": "CHRONOPOST",
        "tracking_url": "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={trackingId}",
    },
    {
        "code": "COLISSIMO",
        "label": "Colissimo",
        "standard_code": "COLISSIMO",
        "tracking_url": "https://www.laposte.fr/outils/suivre-vos-envois?code={trackingId}",
    },
    {
        "code": "DHL",
        "label": "DHL Express",
        "standard_code": "DHL",
        "tracking_url": "https://www.dhl.com/fr-fr/home/suivi.html?tracking-id={trackingId}",
    },
)


@dataclass(frozen=True)
class SimRequest:
    """One request as the simulator saw it (the Authorization value is never kept)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    endpoint: str
    authorized: bool
    status: int | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class SimUpload:
    endpoint: str  # OF01 or STO01
    import_id: str
    filename: str
    text: str
    import_mode: str = ""
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sim: MiraklSimulator

    def __init__(self, address: tuple[str, int], sim: MiraklSimulator) -> None:
        self.sim = sim
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MiraklSimulator/1.0"
    timeout = 30
    wbufsize = -1  # one write per answer (headers + body), flushed by the stdlib after each request
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        answer = self.server.sim._handle(self.command, self.path, dict(self.headers.items()), body)
        try:
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            if answer.status != 204:
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.status != 204:
                self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class MiraklSimulator:
    def __init__(
        self,
        api_key: str = "sim-key",
        shop_id: int | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        debit_after_polls: int = 1,
        import_polls: int = 1,
        sto01_enabled: bool = True,
        accept_any_product: bool = True,
        known_product_ids: Iterable[str] = (),
        carriers: Sequence[Mapping[str, Any]] | None = None,
        clock: Callable[[], datetime] | None = None,
        async_imports: bool = False,
    ) -> None:
        self.api_key = api_key
        self.shop_id = shop_id
        self.sto01_enabled = sto01_enabled
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(timezone.utc))
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._orders = OrderBook(lambda: self.clock(), debit_after_polls=debit_after_polls)
        self._orders.carriers = [dict(c) for c in (carriers if carriers is not None else DEFAULT_CARRIERS)]
        known = None if accept_any_product else set(known_product_ids)
        self._offers = OfferBook(known_product_ids=known, polls_to_complete=import_polls)
        self.async_imports = async_imports
        self._import_queue: ImportQueue[tuple[SimImport, str]] = ImportQueue(self._process_import)
        self._faults = F.Faults()
        self._requests: list[SimRequest] = []
        self._uploads: list[SimUpload] = []
        self._repeat_page = False
        self._order_seq = 0
        self.internal_errors: list[str] = []

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> MiraklSimulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="mirakl-sim", daemon=True
        )
        self._thread.start()
        if self.async_imports:
            self._import_queue.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._import_queue.stop()
        server.shutdown()
        with server.conn_lock:
            for conn in list(server.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MiraklSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # --- test controls -------------------------------------------------------------------------------

    def add_orders(self, orders: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for order in orders:
                self._orders.add(order)

    def add_order(
        self,
        *,
        skus: Sequence[str] = ("SKU-1",),
        quantities: Sequence[int] | None = None,
        state: str = "WAITING_ACCEPTANCE",
        currency: str = "EUR",
        prices: Mapping[str, Decimal] | None = None,
        seed: int | None = None,
        countries: Sequence[str] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """One generated order (one line per sku), created an hour ago, updated now; top-level overrides.

        ``countries`` (alpha-3) restricts the delivery country drawn, e.g. ("FRA",).
        """
        with self._lock:
            self._order_seq += 1
            rng = random.Random(seed if seed is not None else 1_000_003 * self._order_seq)
            now = self.clock()
            order = generate_order(
                rng,
                list(skus),
                state=state,
                currency=currency,
                n_lines=len(skus),
                created=now - timedelta(hours=1),
                prices=prices,
                quantities=quantities,
                **({"countries": tuple(countries)} if countries else {}),
            )
            order["last_updated_date"] = iso(now)
            order.update(overrides)
            for i, line in enumerate(order["order_lines"], start=1):
                line["order_line_id"] = f"{order['order_id']}-{i}"
                line["last_updated_date"] = iso(now)
            self._orders.add(order)
            return copy.deepcopy(order)

    def advance(self, timeout: float = 10.0) -> None:
        """Accepted orders are debited (-> SHIPPING) and pending imports complete, now.

        Queued imports are processed first (TimeoutError if the worker does not get through them
        within ``timeout``, e.g. while ``hold_imports`` is on or the simulator is stopped).
        """
        if not self.wait_imports(timeout):
            raise TimeoutError(f"{self.queued_imports} queued import(s) not processed in {timeout:g} s")
        with self._lock:
            self._orders.advance()
            self._offers.advance()

    def wait_imports(self, timeout: float = 10.0) -> bool:
        """True once every queued import is processed (at once without ``async_imports``)."""
        return self._import_queue.wait_idle(timeout)

    def hold_imports(self, held: bool = True) -> None:
        """While held, the import worker starts no new import: uploads stay queued (WAITING)."""
        self._import_queue.hold(held)

    @property
    def queued_imports(self) -> int:
        """Imports uploaded and not processed yet (the one being processed included)."""
        return self._import_queue.pending

    def set_state(self, order_id: str, state: str, *, line_state: str | None = None) -> None:
        with self._lock:
            self._orders.set_state(order_id, state, line_state=line_state)

    def cancel_line(self, order_id: str, line_id: str) -> None:
        """Operator-side cancellation of one line (all lines dead -> order CANCELED)."""
        with self._lock:
            self._orders.cancel_line(order_id, line_id)

    def set_offer(self, sku: str, **values: Any) -> None:
        """Put an offer on the platform directly (price as Decimal, quantity as int, other columns)."""
        with self._lock:
            self._offers.offers[sku] = {"sku": sku, **values}

    def set_tax_mode_default(self, mode: str) -> None:
        self._orders.default_tax_mode = mode

    @property
    def carriers(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._orders.carriers)

    @carriers.setter
    def carriers(self, value: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self._orders.carriers = [dict(c) for c in value]

    # --- faults ------------------------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        endpoint: str | None = None,
        message: str = "",
    ) -> None:
        self._faults.add(
            F.Fault(F.STATUS, n, endpoint, status=status, retry_after=retry_after, message=message)
        )

    def slow_next(self, n: int = 1, delay_s: float = 1.0, endpoint: str | None = None) -> None:
        self._faults.add(F.Fault(F.SLOW, n, endpoint, delay_s=delay_s))

    def truncate_next(self, n: int = 1, endpoint: str | None = None) -> None:
        self._faults.add(F.Fault(F.TRUNCATE, n, endpoint))

    def malformed_next(self, n: int = 1, endpoint: str | None = None) -> None:
        self._faults.add(F.Fault(F.MALFORMED, n, endpoint))

    def fail_after_apply_next(self, n: int = 1, endpoint: str | None = "OR21", status: int = 500) -> None:
        self._faults.add(F.Fault(F.FAIL_AFTER_APPLY, n, endpoint, status=status))

    def repeat_page(self, enabled: bool = True) -> None:
        """OR11 answers the first page whatever the offset (a broken paginator)."""
        self._repeat_page = enabled

    def clear_faults(self) -> None:
        self._faults.clear()
        self._repeat_page = False

    # --- inspection ----------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[SimRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[SimRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def uploads(self) -> list[SimUpload]:
        with self._lock:
            return list(self._uploads)

    @property
    def decisions(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return copy.deepcopy(self._orders.decisions)

    @property
    def offers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._offers.offers)

    @property
    def orders(self) -> dict[str, dict[str, Any]]:
        """Current orders as stored (their own tax mode, addresses not hidden)."""
        with self._lock:
            return copy.deepcopy(self._orders.orders)

    @property
    def tracking(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._orders.tracking)

    # --- request handling -------------------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Answer:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        authorized = headers.get("Authorization") == self.api_key
        kept = {k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in headers.items()}
        try:
            code, name, params = route(method, parts.path)
        except SimError as exc:
            code, name, params = "?", "", {}
            answer: _Answer | None = _Answer(exc.status, error_body(exc.status, exc.message))
        else:
            answer = None
        with self._lock:  # recorded on arrival, so a request the client gave up on is still seen
            record = SimRequest(method, parts.path, query, kept, body, code, authorized)
            self._requests.append(record)
        if answer is None:
            answer = self._dispatch(
                code, name, {k: unquote(v) for k, v in params.items()}, query, headers, body, authorized
            )
        with self._lock:
            for i, seen in enumerate(self._requests):
                if seen is record:
                    self._requests[i] = replace(record, status=answer.status)
                    break
        return answer

    def _dispatch(
        self,
        code: str,
        name: str,
        params: dict[str, str],
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        authorized: bool,
    ) -> _Answer:
        if not authorized:
            return _Answer(401, error_body(401, "Unauthorized"))
        if self.shop_id is not None and "shop_id" in query and query["shop_id"] != str(self.shop_id):
            return _Answer(403, error_body(403, f"You are not allowed to access shop {query['shop_id']}"))
        slow = self._faults.take(F.SLOW, code)
        if slow is not None:
            self._stopping.wait(slow.delay_s)
        fail = self._faults.take(F.STATUS, code)
        if fail is not None:
            extra = {"Retry-After": f"{fail.retry_after:g}"} if fail.retry_after is not None else {}
            message = fail.message or ("Too Many Requests" if fail.status == 429 else "Internal Server Error")
            return _Answer(fail.status, error_body(fail.status, message), headers=extra)
        try:
            with self._lock:
                answer = getattr(self, f"_ep_{name}")(params, query, headers, body)
        except SimError as exc:
            return _Answer(exc.status, error_body(exc.status, exc.message))
        except Exception as exc:  # noqa: BLE001 - a simulator bug must show up as a 500, not a hung client
            self.internal_errors.append(f"{code}: {type(exc).__name__}: {exc}")
            return _Answer(500, error_body(500, "simulator internal error"))
        return self._mangle(code, answer)

    def _mangle(self, code: str, answer: _Answer) -> _Answer:
        after = self._faults.take(F.FAIL_AFTER_APPLY, code) if code in WRITE_ENDPOINTS else None
        if after is not None:
            return _Answer(after.status, error_body(after.status, "Internal Server Error"))
        if self._faults.take(F.TRUNCATE, code) is not None:
            return _Answer(
                answer.status if answer.status != 204 else 200, answer.body[: max(1, len(answer.body) // 2)]
            )
        if self._faults.take(F.MALFORMED, code) is not None:
            return _Answer(
                answer.status if answer.status != 204 else 200, b"<html><body>Bad Gateway</body></html>"
            )
        return answer

    # --- endpoints (called under the lock) --------------------------------------------------------------

    def _json(self, status: int, obj: Any) -> _Answer:
        return _Answer(status, to_json(obj))

    def _ep_account(self, *_: Any) -> _Answer:
        return self._json(
            200,
            {
                "shop_id": self.shop_id or 2001,
                "shop_name": "Boutique Sandbox",
                "shop_state": "OPEN",
                "currency_iso_code": "EUR",
                "is_professional": True,
                "channels": [],
            },
        )

    def _ep_version(self, *_: Any) -> _Answer:
        return self._json(200, {"version": "3.210"})

    def _upload(self, headers: dict[str, str], body: bytes) -> tuple[str, str, dict[str, str]]:
        parts = parse_multipart(headers.get("Content-Type", ""), body)
        if "file" not in parts:
            raise SimError(400, "The 'file' part is missing")
        try:
            text = parts["file"].content.decode("utf-8")
        except UnicodeDecodeError:
            raise SimError(400, "The file must be encoded in UTF-8") from None
        form = {k: p.content.decode("utf-8", errors="replace") for k, p in parts.items() if k != "file"}
        return text, parts["file"].filename or "", form

    def _ep_offer_import(self, _p: Any, _q: Any, headers: dict[str, str], body: bytes) -> _Answer:
        text, filename, form = self._upload(headers, body)
        mode = form.get("import_mode", "NORMAL") or "NORMAL"
        if mode not in ("NORMAL", "REPLACE", "PARTIAL_UPDATE"):
            raise SimError(400, f"Invalid import mode: {mode}")
        imp = self._receive("OF01", mode, text)
        self._uploads.append(SimUpload("OF01", imp.import_id, filename, text, mode, form))
        return self._json(201, {"import_id": int(imp.import_id)})

    def _receive(self, kind: str, mode: str, text: str) -> SimImport:
        """A new import: processed now, or queued for the import worker with ``async_imports``."""
        imp = self._offers.register(kind, mode, iso(self.clock()))
        if self.async_imports:
            self._import_queue.put((imp, text))
        else:
            self._offers.process(imp, read_csv(text))
        return imp

    def _process_import(self, job: tuple[SimImport, str]) -> None:
        """The import worker's job: parse outside the lock, check and record under it."""
        imp, text = job
        with self._lock:
            imp.status = "RUNNING"
        try:
            parsed = read_csv(text)
            with self._lock:
                self._offers.process(imp, parsed)
        except Exception as exc:  # noqa: BLE001 - a simulator bug fails the import instead of hanging it
            with self._lock:
                self.internal_errors.append(f"{imp.kind} import {imp.import_id}: {type(exc).__name__}: {exc}")
                self._offers.fail(imp, "simulator internal error")

    def _poll(self, import_id: str, kind: str) -> Any:
        if kind == "STO01" and not self.sto01_enabled:
            raise SimError(404, "Not Found")
        imp = self._offers.poll(import_id, kind)
        if imp is None:
            raise SimError(404, f"Import with id {import_id} not found")
        return imp

    def _ep_offer_import_status(self, params: dict[str, str], *_: Any) -> _Answer:
        return self._json(200, self._offers.status_body(self._poll(params["id"], "OF01")))

    def _report(self, import_id: str, kind: str) -> _Answer:
        if kind == "STO01" and not self.sto01_enabled:
            raise SimError(404, "Not Found")
        imp = self._offers.imports.get(import_id)
        if imp is None or imp.kind != kind or imp.status not in ("COMPLETE", "FAILED") or not imp.rejected:
            raise SimError(404, f"No error report for import {import_id}")
        return _Answer(200, self._offers.error_report(imp).encode("utf-8"), "text/csv;charset=UTF-8")

    def _ep_offer_import_errors(self, params: dict[str, str], *_: Any) -> _Answer:
        return self._report(params["id"], "OF01")

    def _ep_stock_import(self, _p: Any, _q: Any, headers: dict[str, str], body: bytes) -> _Answer:
        if not self.sto01_enabled:
            raise SimError(404, "Not Found")
        text, filename, form = self._upload(headers, body)
        imp = self._receive("STO01", "NORMAL", text)
        self._uploads.append(SimUpload("STO01", imp.import_id, filename, text, "", form))
        return self._json(201, {"import_id": imp.import_id})

    def _ep_stock_import_status(self, params: dict[str, str], *_: Any) -> _Answer:
        imp = self._poll(params["id"], "STO01")
        return self._json(200, {**self._offers.status_body(imp), "shop_id": self.shop_id or 2001})

    def _ep_stock_import_errors(self, params: dict[str, str], *_: Any) -> _Answer:
        return self._report(params["id"], "STO01")

    def _ep_list_orders(self, _p: Any, query: dict[str, str], *_: Any) -> _Answer:
        answer = self._json(200, self._orders.list_orders(query, repeat_page=self._repeat_page))
        self._orders.after_poll()
        return answer

    def _body(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null", parse_float=Decimal)
        except ValueError:
            raise SimError(400, "The request body is not valid JSON") from None

    def _ep_accept(self, params: dict[str, str], _q: Any, _h: Any, body: bytes) -> _Answer:
        self._orders.accept(params["id"], self._body(body))
        return _Answer(204)

    def _ep_tracking(self, params: dict[str, str], _q: Any, _h: Any, body: bytes) -> _Answer:
        self._orders.update_tracking(params["id"], self._body(body))
        return _Answer(204)

    def _ep_ship(self, params: dict[str, str], *_: Any) -> _Answer:
        self._orders.ship(params["id"])
        return _Answer(204)

    def _ep_carriers(self, *_: Any) -> _Answer:
        return self._json(
            200, {"carriers": sorted(self._orders.carriers, key=lambda c: str(c.get("label", "")))}
        )
