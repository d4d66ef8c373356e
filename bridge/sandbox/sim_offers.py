"""Offer and stock imports of the simulator (OF01/OF02/OF03, STO01/STO02/STO03).

NORMAL mode: create-or-update by ``sku``; only the columns present in the file are updated;
``update-delete=delete`` deletes. REPLACE also deletes every offer missing from the file. Lines are
checked when the file is uploaded and applied when the import becomes COMPLETE, after
``polls_to_complete`` status polls (0 = at once), like a platform that processes imports later.

An upload is ``register``-ed (WAITING) and then *processed* (its parsed lines checked) by ``process``:
at once in the upload request, or later by the simulator's import worker (``async_imports``); an
import cannot complete before it is processed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_PRICE_RE = re.compile(r"^\d{1,9}(\.\d{1,6})?$")
_QTY_RE = re.compile(r"^\d{1,10}$")
MAX_QUANTITY = 1_000_000_000
DECIMAL_COLUMNS = ("price", "discount-price")


@dataclass
class SimImport:
    import_id: str
    kind: str  # "OF01" or "STO01"
    mode: str
    date_created: str
    header: list[str] = field(default_factory=list)
    accepted: list[dict[str, str]] = field(default_factory=list)
    rejected: list[tuple[int, list[str], str]] = field(default_factory=list)  # (file line, cells, message)
    lines_read: int = 0
    polls: int = 0
    status: str = "WAITING"
    reason_status: str = ""
    failed_reason: str = ""
    processed: bool = False  # set by OfferBook.process; an import is final only once processed

    @property
    def final(self) -> bool:
        return self.status in ("COMPLETE", "FAILED")


def _positive_decimal(value: str) -> Decimal | None:
    if not _PRICE_RE.match(value):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number > 0 else None


def read_csv(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (file line number, cells) of a ``;``/``"`` CSV; the header is line 1.

    An unreadable file gives an empty header (the import then FAILS for lack of columns).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";", quotechar='"')
    try:
        rows = [(reader.line_num, row) for row in reader if row and any(c.strip() for c in row)]
    except csv.Error:
        return [], []
    if not rows:
        return [], []
    return [h.strip() for h in rows[0][1]], rows[1:]


class OfferBook:
    def __init__(self, *, known_product_ids: set[str] | None = None, polls_to_complete: int = 1) -> None:
        self.offers: dict[str, dict[str, Any]] = {}
        self.imports: dict[str, SimImport] = {}
        self.known_product_ids = known_product_ids
        self.polls_to_complete = polls_to_complete
        self._next_id = 1000

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def register(self, kind: str, mode: str, date_created: str) -> SimImport:
        """A new import, WAITING and not processed yet (see ``process``)."""
        imp = SimImport(self.new_id(), kind, mode, date_created)
        self.imports[imp.import_id] = imp
        return imp

    def process(self, imp: SimImport, csv_file: tuple[list[str], list[tuple[int, list[str]]]]) -> None:
        """Check every line of a parsed file (``read_csv``) into the import; final at once if
        ``polls_to_complete`` is 0, else after enough polls."""
        header, rows = csv_file
        imp.header, imp.lines_read = header, len(rows)
        if imp.kind == "STO01":
            self._check_stock(imp, rows)
        else:
            self._check_offers(imp, rows)
        imp.processed = True
        if self.polls_to_complete <= 0:
            self._finish(imp)

    def fail(self, imp: SimImport, reason: str) -> None:
        """The import could not be processed at all: FAILED with this reason."""
        imp.failed_reason, imp.processed = reason, True
        self._finish(imp)

    # --- OF01 --------------------------------------------------------------------------------------

    def check_offer_line(self, row: dict[str, str], seen: set[str]) -> str:
        """Error message for one OF01 line, or "" when it can be applied."""
        sku = row.get("sku", "").strip()
        if not sku:
            return "The sku is missing"
        if sku in seen:
            return f"The sku {sku} appears several times in the file"
        action = row.get("update-delete", "").strip().lower()
        if action not in ("", "update", "delete"):
            return f"Invalid value for update-delete: {row['update-delete']}"
        if action == "delete":
            return (
                "" if sku in self.offers else f"The offer with sku {sku} does not exist and cannot be deleted"
            )
        creating = sku not in self.offers
        if creating:
            product_id = row.get("product-id", "").strip()
            if not product_id:
                return "The product-id is required to create an offer"
            if self.known_product_ids is not None and product_id not in self.known_product_ids:
                return f"The product {product_id} does not exist in the catalog"
            for col in ("price", "quantity"):
                if not row.get(col, "").strip():
                    return f"The {col} is required to create an offer"
        if "price" in row and _positive_decimal(row["price"].strip()) is None:
            return f"The price is invalid: {row['price']!r} (a positive decimal with a dot is expected)"
        if "quantity" in row:
            qty = row["quantity"].strip()
            if not _QTY_RE.match(qty) or int(qty) > MAX_QUANTITY:
                return f"The quantity is invalid: {row['quantity']!r} (an integer >= 0 is expected)"
        discount = row.get("discount-price", "").strip()
        if discount:
            value = _positive_decimal(discount)
            price = _positive_decimal(row.get("price", "").strip()) or self.offers.get(sku, {}).get("price")
            if value is None:
                return f"The discount price is invalid: {discount!r}"
            if price is not None and value >= price:
                return "The discount price must be lower than the price"
        return ""

    def _check_offers(self, imp: SimImport, rows: list[tuple[int, list[str]]]) -> None:
        header = imp.header
        if "sku" not in header:
            imp.failed_reason = "The column 'sku' is missing from the file header"
        elif len(set(header)) != len(header):
            imp.failed_reason = "The file header contains duplicate columns"
        else:
            seen: set[str] = set()
            for line_no, cells in rows:
                if len(cells) != len(header):
                    imp.rejected.append(
                        (line_no, cells, f"The line has {len(cells)} columns, the header {len(header)}")
                    )
                    continue
                row = dict(zip(header, cells))
                message = self.check_offer_line(row, seen)
                if message:
                    imp.rejected.append((line_no, cells, message))
                else:
                    seen.add(row["sku"].strip())
                    imp.accepted.append(row)

    def _apply_offer(self, row: dict[str, str]) -> None:
        sku = row["sku"].strip()
        if row.get("update-delete", "").strip().lower() == "delete":
            self.offers.pop(sku, None)
            return
        offer = self.offers.setdefault(sku, {"sku": sku})
        for col, value in row.items():
            if col in ("sku", "update-delete"):
                continue
            value = value.strip()
            if col == "quantity":
                offer[col] = int(value)
            elif col in DECIMAL_COLUMNS:
                offer[col] = Decimal(value) if value else None
            else:
                offer[col] = value

    # --- STO01 -------------------------------------------------------------------------------------

    def _check_stock(self, imp: SimImport, rows: list[tuple[int, list[str]]]) -> None:
        header = imp.header
        if "offer-sku" not in header or "quantity" not in header:
            imp.failed_reason = "The columns 'offer-sku' and 'quantity' are required"
        else:
            for line_no, cells in rows:
                row = dict(zip(header, cells))
                sku, qty = row.get("offer-sku", "").strip(), row.get("quantity", "").strip()
                if len(cells) != len(header):
                    message = f"The line has {len(cells)} columns, the header {len(header)}"
                elif sku not in self.offers:
                    message = f"The offer with sku {sku!r} does not exist"
                elif not _QTY_RE.match(qty) or int(qty) > MAX_QUANTITY:
                    message = f"The quantity is invalid: {qty!r}"
                else:
                    imp.accepted.append(row)
                    continue
                imp.rejected.append((line_no, cells, message))

    def _apply_stock(self, rows: list[dict[str, str]]) -> None:
        for row in rows:
            offer = self.offers[row["offer-sku"].strip()]
            warehouse = row.get("warehouse-code", "").strip()
            if warehouse:
                offer.setdefault("warehouses", {})[warehouse] = int(row["quantity"])
                offer["quantity"] = sum(offer["warehouses"].values())
            else:
                offer["quantity"] = int(row["quantity"])

    # --- progress, status, error report --------------------------------------------------------------

    def _finish(self, imp: SimImport) -> None:
        if imp.final or not imp.processed:
            return
        if imp.failed_reason:
            imp.status, imp.reason_status = "FAILED", imp.failed_reason
            return
        if imp.kind == "STO01":
            self._apply_stock(imp.accepted)
        else:
            for row in imp.accepted:
                self._apply_offer(row)
            if imp.mode == "REPLACE":
                keep = {row["sku"].strip() for row in imp.accepted}
                for sku in [s for s in self.offers if s not in keep]:
                    del self.offers[sku]
        imp.status = "COMPLETE"

    def poll(self, import_id: str, kind: str) -> SimImport | None:
        imp = self.imports.get(import_id)
        if imp is None or imp.kind != kind:
            return None
        if not imp.final:
            imp.polls += 1
            if not imp.processed:  # queued (WAITING) or being processed (RUNNING): left as it is
                return imp
            if imp.polls > self.polls_to_complete:
                self._finish(imp)
            else:
                imp.status = "WAITING" if imp.polls == 1 and self.polls_to_complete > 1 else "RUNNING"
        return imp

    def advance(self) -> None:
        for imp in self.imports.values():
            self._finish(imp)

    def error_report(self, imp: SimImport) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", quotechar='"', quoting=csv.QUOTE_ALL, lineterminator="\n")
        if imp.kind == "STO01":
            writer.writerow(["error-line", "error-message"])
            for line_no, _cells, message in imp.rejected:
                writer.writerow([line_no, message])
        else:
            writer.writerow([*imp.header, "error-line", "error-message"])
            for line_no, cells, message in imp.rejected:
                writer.writerow([*cells, line_no, message])
        return out.getvalue()

    @staticmethod
    def status_body(imp: SimImport) -> dict[str, Any]:
        done = imp.final
        success = len(imp.accepted) if imp.status == "COMPLETE" else 0
        errors = len(imp.rejected) if done else 0
        body: dict[str, Any] = {
            "import_id": int(imp.import_id) if imp.kind == "OF01" else imp.import_id,
            "date_created": imp.date_created,
            "status": imp.status,
            "has_error_report": bool(imp.rejected) and done,
            "lines_in_success": success,
            "lines_in_error": errors,
        }
        if imp.kind == "OF01":
            body.update(
                {
                    "reason_status": imp.reason_status or None,
                    "mode": imp.mode,
                    "lines_read": imp.lines_read if done else 0,
                    "lines_in_pending": 0,
                    "offer_inserted": 0,
                    "offer_updated": 0,
                    "offer_deleted": 0,
                }
            )
        return body
