"""Mirakl CSV: ``;`` separated, every cell ``"``-quoted, UTF-8, dot decimals.

``write_csv`` builds OF01/STO01 files; ``parse_error_report`` reads OF03/STO03 reports and never
raises: a row it cannot read becomes an :class:`OfferLineError` with ``sku=""`` and a message.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from bridge.mirakl.models import OfferLineError

DELIMITER = ";"
QUOTECHAR = '"'
MAX_REPORT_ROWS = 1_000_000
MAX_FIELD_CHARS = 10_000_000
MAX_MESSAGE_CHARS = 1_000
"""An error message longer than this is cut (it goes into logs, reports and the task-run table)."""
_SKU_COLUMNS = ("sku", "offer-sku", "shop_sku", "shop-sku")
_MESSAGE_COLUMNS = ("error-message", "error_message", "error")
_LINE_COLUMNS = ("error-line", "error_line", "line")


def cell(value: object) -> str:
    """One CSV cell: Decimal in plain notation, dates ISO, booleans true/false, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def write_csv(header: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """A Mirakl import file; keys missing from a row are written as empty cells."""
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=DELIMITER, quotechar=QUOTECHAR, quoting=csv.QUOTE_ALL, lineterminator="\n"
    )
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(row.get(col)) for col in header])
    return out.getvalue()


def _rows(text: str) -> Iterator[list[str] | csv.Error]:
    reader = csv.reader(io.StringIO(text.replace("\x00", "")), delimiter=DELIMITER, quotechar=QUOTECHAR)
    for _ in range(MAX_REPORT_ROWS):
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc
            continue
        yield row


def _pick(header: list[str], names: Sequence[str]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _to_line(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def parse_error_report(text: str | bytes) -> list[OfferLineError]:
    """Rows of an error report: sku, message (``error-message`` or last column), line, raw row."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        return _parse_report(text)
    finally:
        csv.field_size_limit(previous_limit)


def _parse_report(text: str) -> list[OfferLineError]:
    errors: list[OfferLineError] = []
    header: list[str] | None = None
    sku_i = msg_i = line_i = None
    for position, row in enumerate(_rows(text), start=1):
        if isinstance(row, csv.Error):
            errors.append(OfferLineError(sku="", message=f"unreadable error report row {position}: {row}"))
            continue
        if not row or all(not c.strip() for c in row):
            continue
        if header is None:
            header = [h.strip() for h in row]
            sku_i = _pick(header, _SKU_COLUMNS)
            msg_i, line_i = _pick(header, _MESSAGE_COLUMNS), _pick(header, _LINE_COLUMNS)
            continue
        raw = {(header[i] if i < len(header) else f"_extra_{i}"): v for i, v in enumerate(row)}
        sku = row[sku_i].strip() if sku_i is not None and sku_i < len(row) else ""
        if msg_i is not None and msg_i < len(row):
            message = row[msg_i].strip()
        else:
            message = row[-1].strip() if len(row) > 1 else ""
        if len(row) != len(header):
            shape = f"error report row {position} has {len(row)} cells, header has {len(header)}"
            sku, message = "", f"{shape}: {message}" if message else shape
        line = _to_line(row[line_i]) if line_i is not None and line_i < len(row) else None
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "…"
        errors.append(OfferLineError(sku=sku[:MAX_MESSAGE_CHARS], message=message or "rejected (no message)",
                                     line=line, row=raw))
    return errors
