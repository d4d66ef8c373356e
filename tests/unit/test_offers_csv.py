"""The OF01 file writer: every line exactly what the csv module writes for the same cells."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest

from bridge.domain.offers import OfferLine, line_cells
from bridge.mirakl.offers_csv import OfferCsvWriter

LINES = [
    OfferLine("PLAIN", "3000000000017", "EAN", D("12.50"), 3),
    OfferLine('QU"OTE', 'PID"', "SHOP_SKU", D("1.00"), 0, D("0.90"), date(2025, 6, 1), date(2025, 6, 30)),
    OfferLine("semi;colon", "new\nline", "EAN", D("7.00"), 1),
    OfferLine("é€😀", "", "", D("100.00"), 12),
]


@pytest.mark.parametrize("logistic_class", ["", "M", 'big "L"'])
@pytest.mark.parametrize("discounts", [True, False])
def test_each_line_is_what_the_csv_module_writes(logistic_class: str, discounts: bool) -> None:
    out = io.StringIO()
    writer = OfferCsvWriter(out, state_code="11", leadtime_to_ship_days=2, logistic_class=logistic_class,
                            send_discounts=discounts)
    for line in LINES:
        writer.write(line, line_cells(line) if line.quantity % 2 else None)  # cells given or not
    expected = io.StringIO()
    ref = csv.writer(expected, delimiter=";", quotechar='"', quoting=csv.QUOTE_ALL, lineterminator="\n")
    ref.writerow(writer.header)
    constants = ["11", "2", *([logistic_class] if logistic_class else [])]
    for line in LINES:
        cells = line_cells(line)
        ref.writerow([*cells[:5], *constants, *(cells[5:8] if discounts else ()), "update"])
    assert out.getvalue() == expected.getvalue()
    assert writer.lines == len(LINES)
    rows = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";", quotechar='"'))
    assert [r[0] for r in rows[1:]] == [ln.sku for ln in LINES]
