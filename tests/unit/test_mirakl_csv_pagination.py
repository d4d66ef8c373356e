"""Mirakl CSV files, OF03 error reports (hostile input), the offset paginator and the retry budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bridge.errors import MiraklRetriableError
from bridge.mirakl.csvfmt import parse_error_report, write_csv
from bridge.mirakl.pagination import iter_offset_pages
from bridge.mirakl.transport import Budget


def test_write_csv_quotes_every_cell_with_semicolons_and_plain_decimals() -> None:
    text = write_csv(
        ["sku", "price", "quantity", "discount-price"],
        [{"sku": 'MUG "bleu"; 35cl', "price": Decimal("12.90"), "quantity": 48}],
    )
    assert text == '"sku";"price";"quantity";"discount-price"\n"MUG ""bleu""; 35cl";"12.90";"48";""\n'


def test_error_report_gives_sku_message_line_and_row() -> None:
    report = (
        '"sku";"price";"quantity";"error-line";"error-message"\n'
        '"POT-2";"abc";"7";"3";"The price is invalid"\n'
    )
    [err] = parse_error_report(report)
    assert (err.sku, err.message, err.line) == ("POT-2", "The price is invalid", 3)
    assert err.row == {
        "sku": "POT-2",
        "price": "abc",
        "quantity": "7",
        "error-line": "3",
        "error-message": "The price is invalid",
    }


def test_without_an_error_message_column_the_last_column_is_the_message() -> None:
    [err] = parse_error_report('"shop_sku";"error"\n"MH12-L-Green";"Operator error"\n')
    assert (err.sku, err.message, err.line) == ("MH12-L-Green", "Operator error", None)


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "\ufeff",
        '"sku";"error-message"\n"A";"unterminated\n',
        '"sku";"error-message"\n"A";"x";"extra";"cells"\n',
        '"sku";"error-message"\n"A"\n',
        'sku;error-message\n"A"x"y;bad quote\n',
        '"sku";"error-message"\n"A\x00B";"nul"\n',
        '"sku";"error-message"\n"' + "x" * 300_000 + '";"huge"\n',
        b'"sku";"error-message"\n"\xff\xfe";"not utf-8"\n',
        "\n\n\n",
        '"error-message"\n"only a message"\n',
    ],
)
def test_hostile_error_reports_never_raise(hostile: Any) -> None:
    errors = parse_error_report(hostile)
    assert all(isinstance(e.message, str) and e.message for e in errors)


def test_a_row_with_the_wrong_number_of_cells_becomes_an_error_without_sku() -> None:
    [err] = parse_error_report('"sku";"error-message"\n"A";"x";"extra"\n')
    assert err.sku == ""
    assert "3 cells" in err.message


def _fetcher(pages: dict[int, tuple[list[Any], int | None]]):
    calls: list[tuple[int, int]] = []

    def fetch(offset: int, size: int) -> tuple[list[Any], int | None]:
        calls.append((offset, size))
        return pages[offset]

    return fetch, calls


def test_pages_are_read_until_total_count() -> None:
    fetch, calls = _fetcher({0: ([{"order_id": "a"}, {"order_id": "b"}], 3), 2: ([{"order_id": "c"}], 3)})
    pages = list(iter_offset_pages(fetch, page_size=2))
    assert [p.offset for p in pages] == [0, 2]
    assert calls == [(0, 2), (2, 2)]


def test_an_empty_first_page_is_yielded_once() -> None:
    fetch, calls = _fetcher({0: ([], 0)})
    assert [p.items for p in iter_offset_pages(fetch, page_size=100)] == [[]]
    assert calls == [(0, 100)]


def test_an_empty_page_before_total_count_is_a_pagination_loop() -> None:
    fetch, _ = _fetcher({0: ([{"order_id": "a"}], 5), 1: ([], 5)})
    with pytest.raises(MiraklRetriableError, match="pagination loop"):
        list(iter_offset_pages(fetch, page_size=1))


def test_a_repeated_page_is_a_pagination_loop() -> None:
    page = ([{"order_id": "a"}, {"order_id": "b"}], 10)
    fetch, _ = _fetcher({0: page, 2: page})
    with pytest.raises(MiraklRetriableError, match="repeats"):
        list(iter_offset_pages(fetch, page_size=2))


def test_more_pages_than_total_count_allows_is_a_pagination_loop() -> None:
    # a server whose total_count grows with every page and always has one more item
    pages = iter_offset_pages(lambda offset, size: ([{"order_id": f"id-{offset}"}], offset + 2), page_size=1)
    with pytest.raises(MiraklRetriableError, match="more than 4 pages"):
        list(pages)


def test_without_total_count_a_short_page_ends_the_listing() -> None:
    fetch, _ = _fetcher({0: ([{"order_id": "a"}, {"order_id": "b"}], None), 2: ([{"order_id": "c"}], None)})
    assert [len(p.items) for p in iter_offset_pages(fetch, page_size=2)] == [2, 1]


def test_page_size_must_be_1_to_100() -> None:
    fetch, _ = _fetcher({})
    with pytest.raises(ValueError):
        list(iter_offset_pages(fetch, page_size=250))


def test_budget_backoff_doubles_with_jitter_and_stops_at_max_attempts() -> None:
    budget = Budget(max_attempts=4, max_retry_s=100.0, started=0.0)
    assert budget.next_wait(1, 0.0, None, lambda: 1.0) == 1.0
    assert budget.next_wait(2, 0.0, None, lambda: 0.0) == 1.0
    assert budget.next_wait(3, 0.0, None, lambda: 0.5) == 3.0
    assert budget.next_wait(4, 0.0, None, lambda: 0.5) is None


def test_budget_caps_waits_by_the_time_left_and_stops_when_none_is_left() -> None:
    budget = Budget(max_attempts=10, max_retry_s=10.0, started=0.0)
    assert budget.next_wait(1, 7.0, 60.0, lambda: 0.0) == 3.0
    assert budget.next_wait(1, 10.0, 1.0, lambda: 0.0) is None
