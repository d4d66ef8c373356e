"""OF01 offer file, written line by line to a text stream (``;``, every cell ``"``-quoted, dot decimals).

Columns: ``sku;product-id;product-id-type;price;quantity;state`` then ``leadtime-to-ship`` and
``logistic-class`` when configured, the three ``discount-*`` columns when discounts are sent (empty
cells clear a previous discount), and ``update-delete`` (always ``update``: offers are never deleted,
a vanished offer is sent with quantity 0).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import TextIO

from bridge.domain.offers import OfferLine, line_cells
from bridge.mirakl.csvfmt import DELIMITER, QUOTECHAR


class OfferCsvWriter:
    def __init__(
        self,
        stream: TextIO,
        *,
        state_code: str,
        leadtime_to_ship_days: int = 0,
        logistic_class: str = "",
        send_discounts: bool = True,
    ) -> None:
        self.stream = stream
        self.lines = 0
        self._constants = [state_code]
        header = ["sku", "product-id", "product-id-type", "price", "quantity", "state"]
        if leadtime_to_ship_days:
            header.append("leadtime-to-ship")
            self._constants.append(str(leadtime_to_ship_days))
        if logistic_class:
            header.append("logistic-class")
            self._constants.append(logistic_class)
        self.discounts = send_discounts
        if send_discounts:
            header += ["discount-price", "discount-start-date", "discount-end-date"]
        header.append("update-delete")
        self.header = header
        self._writer = csv.writer(
            stream, delimiter=DELIMITER, quotechar=QUOTECHAR, quoting=csv.QUOTE_ALL, lineterminator="\n"
        )
        self._writer.writerow(header)
        self._write = stream.write
        self._quoted_constants = any('"' in c for c in self._constants)

    @property
    def salt(self) -> str:
        """The platform-wide cells: a change of any of them changes every line's digest."""
        return "|".join(self.header) + "|" + "|".join(self._constants)

    def write(self, line: OfferLine, cells: tuple[str, ...] | None = None) -> None:
        """``cells``: the line's :func:`line_cells` when the caller has them already."""
        if cells is None:
            cells = line_cells(line)
        row = [*cells[:5], *self._constants, *cells[5:8], "update"] if self.discounts else [
            *cells[:5], *self._constants, "update"]
        if self._quoted_constants or '"' in cells[0] or '"' in cells[1] or '"' in cells[2]:  # quotes doubled
            self._writer.writerow(row)
        else:  # what the writer gives for cells without quotes (every cell quoted), without its per-cell work
            self._write('"' + '";"'.join(row) + '"\n')
        self.lines += 1

    def write_zero(self, sku: str, price: Decimal) -> None:
        """A vanished offer: quantity 0 at its last price, no discount (never ``delete``)."""
        self.write(OfferLine(sku, "", "", price.quantize(Decimal("0.01")), 0))


def skus_in(stream: TextIO) -> Iterator[tuple[str, list[str]]]:
    """(sku, row) of every data line of a file written by :class:`OfferCsvWriter`."""
    reader = csv.reader(stream, delimiter=DELIMITER, quotechar=QUOTECHAR)
    next(reader, None)
    for row in reader:
        if row:
            yield row[0], row
