"""Offset pagination (``max`` / ``offset`` until ``total_count``) with a loop guard.

The guard turns a misbehaving server into a retriable error instead of an endless loop: a page
that repeats the previous page's ids, an empty page before ``total_count`` is reached, or more
pages than ``total_count / page_size + 2``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bridge.errors import MiraklRetriableError

# fetch(offset, max) -> (items, total_count or None when the server omitted it)
Fetch = Callable[[int, int], tuple[list[Any], "int | None"]]
MAX_PAGES_WITHOUT_TOTAL = 10_000


@dataclass(frozen=True)
class RawPage:
    items: list[Any]
    offset: int
    total_count: int


def _ids(items: list[Any], key: str) -> list[str]:
    return [str(item.get(key)) if isinstance(item, dict) else repr(item) for item in items]


def iter_offset_pages(
    fetch: Fetch, *, page_size: int, id_key: str = "order_id", endpoint: str = "", platform: str = ""
) -> Iterator[RawPage]:
    """Yield raw pages; the offset advances by the number of items actually received."""
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be between 1 and 100")
    offset, pages = 0, 0
    previous_ids: list[str] | None = None
    first_total: int | None = None
    while True:
        items, total = fetch(offset, page_size)
        pages += 1
        if first_total is None:
            first_total = total
        # measured against the first total_count: a server whose count keeps growing still stops
        max_pages = first_total // page_size + 2 if first_total is not None else MAX_PAGES_WITHOUT_TOTAL

        problem = ""
        ids = _ids(items, id_key)
        if not items and total is not None and offset < total:
            problem = f"empty page before total_count {total}"
        elif items and previous_ids is not None and ids == previous_ids:
            problem = "page repeats the previous page"
        elif pages > max_pages:
            problem = f"more than {max_pages} pages for total_count {first_total}"
        if problem:
            raise MiraklRetriableError(
                f"pagination loop ({problem}) at offset {offset}", endpoint=endpoint, platform=platform
            )
        if items or offset == 0:
            yield RawPage(
                items=items, offset=offset, total_count=total if total is not None else offset + len(items)
            )
        offset += len(items)
        previous_ids = ids
        if not items or (total is not None and offset >= total) or (total is None and len(items) < page_size):
            return
