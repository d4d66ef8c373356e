"""The lines of an OF01 file that the state table must record once the import's outcome is known.

Written during the catalogue pass, one line per offer, to a temporary file in ``LOAD DATA``'s
default escaped format (:mod:`bridge.state.offers_load`): the columns of :data:`COLUMNS`, tab
separated, ``\\N`` for NULL. When Mirakl rejects nothing (the common case) that file is loaded as it
is; otherwise, and for the paths that write through the driver, it is read back as
:class:`~bridge.state.offers.PendingLine` tuples. Memory stays flat whatever the catalogue size.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bridge.domain.offers import OfferLine
from bridge.state.offers_load import NULL, escape, tsv_cell, unescape

if TYPE_CHECKING:
    from bridge.state.offers import PendingLine

# the offer table's columns, in file order (platform, status and the times are constants of the load)
COLUMNS = ("sku", "id_product", "id_product_attribute", "hash", "quantity", "price", "discount_price",
           "discount_start", "discount_end")
BATCH = 5000  # PendingLine tuples per batch read back


def _day_text(value: date) -> str:
    """A discount day as the UTC DATETIME text the state table stores (midnight UTC)."""
    return f"{value.isoformat()} 00:00:00"


class SentLines:
    """Append-only spool of the lines sent (:meth:`add` in the pass), read back once the outcome is known."""

    def __init__(self) -> None:
        # removed when closed, or when garbage-collected after an error (no leftover in the temp directory)
        self._file = tempfile.NamedTemporaryFile("w+", encoding="utf-8", newline="\n",  # noqa: SIM115
                                                 prefix="bridge-offers-", suffix=".tsv")
        self.path = self._file.name
        self._write: Callable[[str], Any] = self._file.file.write  # the file's own (not the wrapper's) write
        self.lines = 0
        self._withdrawn: frozenset[str] = frozenset()
        self._withdrawn_before = 0

    def add(self, line: OfferLine, digest: bytes, cells: tuple[str, ...]) -> None:
        """A line of the file, with its stored digest and its :func:`~bridge.domain.offers.line_cells`."""
        start, end = line.discount_start, line.discount_end
        self._write(f"{escape(line.sku)}\t{line.id_product}\t{line.id_product_attribute}\t{digest.hex()}\t{cells[4]}\t{cells[3]}\t"
                    f"{cells[5] or NULL}\t{_day_text(start) if start else NULL}\t{_day_text(end) if end else NULL}\n")
        self.lines += 1

    def add_pending(self, ln: PendingLine) -> None:
        """A line given as its state values (zeroed offers, tests)."""
        cells = (ln.sku, ln.id_product, ln.id_product_attribute, ln.digest.hex(), ln.quantity, ln.price,
                 ln.discount_price, None if ln.discount_start is None else _day_text(ln.discount_start),
                 None if ln.discount_end is None else _day_text(ln.discount_end))
        self._write("\t".join(tsv_cell(c) for c in cells) + "\n")
        self.lines += 1

    def withdraw(self, skus: frozenset[str]) -> None:
        """Drop these SKUs from the lines added so far (lines added later, e.g. zeroed offers, stay)."""
        self._withdrawn, self._withdrawn_before = skus, self.lines

    def _rows(self) -> Iterator[tuple[str, str]]:
        """(sku, file line) of every line kept, in file order."""
        self._file.flush()
        withdrawn, before = self._withdrawn, self._withdrawn_before
        with open(self.path, encoding="utf-8", newline="\n") as f:
            for i, text in enumerate(f):
                sku = unescape(text[:text.index("\t")])
                if i < before and sku in withdrawn:
                    continue
                yield sku, text

    @contextmanager
    def load_file(self) -> Iterator[tuple[str, int]]:
        """(path, line count) of a file of the kept lines: this spool's own file unless some were withdrawn."""
        if not self._withdrawn:
            self._file.flush()
            yield self.path, self.lines
            return
        fd, path = tempfile.mkstemp(prefix="bridge-offers-", suffix=".tsv")
        try:
            n = 0
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                for _sku, text in self._rows():
                    out.write(text)
                    n += 1
            yield path, n
        finally:
            os.unlink(path)

    def lines_of(self, skus: set[str] | frozenset[str]) -> list[PendingLine]:
        """The kept lines of these SKUs."""
        return [_parse(sku, text) for sku, text in self._rows() if sku in skus] if skus else []

    def batches(self) -> Iterator[list[PendingLine]]:
        """The kept lines as :class:`~bridge.state.offers.PendingLine` tuples, in batches."""
        batch: list[PendingLine] = []
        for sku, text in self._rows():
            batch.append(_parse(sku, text))
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self._file.close()


def _parse(sku: str, text: str) -> PendingLine:
    from bridge.state.offers import PendingLine

    _, id_product, ipa, digest, quantity, price, discount, start, end = text.rstrip("\n").split("\t")
    return PendingLine(sku, int(id_product), int(ipa), bytes.fromhex(digest), int(quantity), Decimal(price),
                       None if discount == NULL else Decimal(discount),
                       None if start == NULL else date.fromisoformat(start[:10]),
                       None if end == NULL else date.fromisoformat(end[:10]))
