"""The offers task's single pass: stream the catalogue, build each line, compare, queue what changed.

Memory: the stored digests (40 bytes per SKU, :class:`StoredDigests`), 16-32 bytes per new SKU
(:class:`NewSkus`) and one chunk of rows; lines to send go straight to the CSV stream and, unless
dry-run, to a spool file in the state table's load format (:class:`SentLines`). Each line's cells are
formatted once, for its digest, the CSV and the spool. The job writes the spooled lines to the state
table once, after the upload: with their final outcome when the import finishes within the wait,
else as ``pending`` under the import id.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from bridge.domain.offer_builder import OfferBuilder
from bridge.domain.offers import OfferPlanner, OfferRules, PlanSummary
from bridge.mirakl.offers_csv import OfferCsvWriter, skus_in
from bridge.shop.catalog import excluded_products, load_pricing, shop_timezone, stream_catalog, stream_digests
from bridge.state.offers import GONE_HEX, OfferStateRepo, PendingLine
from bridge.state.offers_sent import SentLines

if TYPE_CHECKING:
    from bridge.config import OffersConfig
    from bridge.jobs.context import TaskContext

MAX_LISTED = 100  # report items listed per kind (counts are always complete)
MAX_TODO_SHARE = 0.05  # a delta run re-reads the changed rows while they are at most 5 % of the stored lines
MIN_TODO = 1000  # (or this many)


@dataclass
class PassResult:
    summary: PlanSummary
    writer: OfferCsvWriter
    catalogue: int = 0
    sellable: int = 0
    excluded: collections.Counter[str] = field(default_factory=collections.Counter)
    not_sent: list[dict[str, Any]] = field(default_factory=list)
    next_change_at: datetime | None = None
    zeroed: int = 0
    spool: SentLines = field(default_factory=SentLines)


def rules_from(cfg: OffersConfig) -> OfferRules:
    return OfferRules(
        sku=cfg.sku, product_id=cfg.product_id, product_id_type=cfg.product_id_type,
        fallback_product_id_type=cfg.fallback_product_id_type, stock_buffer=cfg.stock_buffer,
        max_quantity=cfg.max_quantity, backorders=cfg.backorders, backorder_quantity=cfg.backorder_quantity,
        exclude_manufacturers=frozenset(cfg.exclude_manufacturers), exclude_references=frozenset(cfg.exclude_references),
        exclude_virtual=cfg.exclude_virtual, include_packs=cfg.include_packs, send_discounts=cfg.send_discounts,
        price_multiplier=cfg.price_multiplier, price_addition=cfg.price_addition, price_rounding=cfg.price_rounding,
        floor_price=cfg.floor_price,
    )


def compute_pass(ctx: TaskContext, repo: OfferStateRepo, stream: TextIO, *, full: bool) -> PassResult:
    cfg, code, now = ctx.platform.offers, ctx.platform.code, ctx.now()
    shop = ctx.app.shop
    writer = OfferCsvWriter(stream, state_code=cfg.state_code, leadtime_to_ship_days=cfg.leadtime_to_ship_days,
                            logistic_class=cfg.logistic_class, send_discounts=cfg.send_discounts)
    with shop.engine.connect() as conn:
        pricing = load_pricing(conn, shop.tables, shop.context, country_iso=ctx.platform.country,
                               currency_iso=ctx.platform.currency, now=now)
        builder = OfferBuilder(
            rules=rules_from(cfg), pricing=pricing, tz=shop_timezone(shop.context), now=now,
            excluded_products=excluded_products(conn, shop.tables, cfg.exclude_categories),
            shop_allows_backorders=shop.context.config_bool("PS_ORDER_OUT_OF_STOCK"),
            stock_management=shop.context.config_bool("PS_STOCK_MANAGEMENT", True), salt=writer.salt,
        )
        # a delta run's first read starts before the stored digests are loaded (another connection): the
        # database computes the digests meanwhile
        digests = None if full else stream_digests(conn, shop.tables, shop.context, inputs_key=builder.inputs_key)
        try:
            first = next(digests, None) if digests is not None else None
            planner = OfferPlanner(repo.load_compact_digests(code), full=full, salt=writer.salt)
            result = PassResult(planner.summary, writer)
            todo = None
            if digests is not None and len(planner.stored):
                todo = _unchanged_by_digest(ctx, builder, planner, result, first, digests)
        finally:
            if digests is not None:
                digests.close()  # its cursor closed before the connection's next statement
        spool = None if ctx.dry_run else result.spool
        if todo is None:  # every row, each compared on its own inputs digest
            rows = stream_catalog(conn, shop.tables, shop.context, inputs_key=builder.inputs_key)
        else:  # only the products with a row left to build
            rows = stream_catalog(conn, shop.tables, shop.context, inputs_key=builder.inputs_key,
                                  products=sorted({ref >> 32 for ref in todo}))
        skip, consider, write = planner.skip_unchanged, planner.consider, writer.write
        build, row_inputs = builder.build_cells, builder.row_inputs
        for chunk in rows:
            ctx.check_stop()
            for row in chunk:
                if todo is not None and (row[0] << 32 | row[1]) not in todo:
                    continue  # skipped by the first read
                inputs = -1  # computed after the line when there is nothing to skip
                if todo is None and not full:
                    key = builder.inputs(row)
                    if key is not None and skip(key[0], row[0], row[1], key[1]):
                        result.sellable += 1  # same inputs as the line Mirakl accepted: same line
                        continue
                    inputs = key[1] if key is not None else 0
                built = build(row)
                if type(built) is str:
                    result.excluded[built] += 1
                    if len(result.not_sent) < MAX_LISTED:
                        result.not_sent.append({"reason": built, "id_product": row[0], "id_product_attribute": row[1]})
                    continue
                out, cells = built  # type: ignore[misc]
                result.sellable += 1
                decision = consider(out, inputs if inputs >= 0 else row_inputs(row), cells)
                if decision is not None:
                    write(out, cells)
                    if spool is not None and decision[0] != "resent":
                        spool.add(out, decision[1], cells)
            if todo is None:
                result.catalogue += len(chunk)
                ctx.progress.step("offers", result.catalogue)
    result.next_change_at = builder.next_change_at
    planner.finish()
    _handle_duplicates(ctx, result, stream)
    _zero_vanished(ctx, repo, result)
    ctx.progress.done()
    return result


def _unchanged_by_digest(ctx: TaskContext, builder: OfferBuilder, planner: OfferPlanner, result: PassResult,
                         first: list[tuple[int, int, str]] | None,
                         chunks: Iterator[list[tuple[int, int, str]]]) -> set[int] | None:
    """A delta run's first read (``first`` chunk, then ``chunks``): only (ref, inputs digest) of every row;
    rows whose digest is the one stored with their accepted line count as unchanged (and sellable).
    Returns the refs left to build, or None -- every skip undone -- as soon as they exceed
    ``MAX_TODO_SHARE`` of the stored lines (a change touching much of the catalogue: one full read is
    cheaper than reading those rows again)."""
    limit = max(MIN_TODO, int(len(planner.stored) * MAX_TODO_SHARE))
    todo: set[int] = set()
    rows = 0
    skip, inputs_of = planner.skip_rows, builder.inputs_of
    for chunk in itertools.chain((first,) if first else (), chunks):
        ctx.check_stop()
        todo.update(skip(chunk, inputs_of))
        rows += len(chunk)
        if len(todo) > limit:
            planner.unskip()
            return None
        ctx.progress.step("offers", rows)
    result.catalogue = rows
    result.sellable = planner.summary.unchanged
    return todo


def _handle_duplicates(ctx: TaskContext, result: PassResult, stream: TextIO) -> None:
    """Duplicated SKUs are not sent: withdraw the first line if it was queued (rare: rewrite the file)."""
    dupes = result.summary.duplicates
    if not dupes:
        return
    for sku, refs in dupes.items():
        result.excluded["duplicate_sku"] += len(refs)
        result.sellable -= len(refs)
        if len(result.not_sent) < MAX_LISTED:
            result.not_sent.append({"reason": "duplicate_sku", "sku": sku,
                                    "products": [{"id_product": p, "id_product_attribute": a} for p, a in refs]})
    stream.seek(0)
    kept = [row for sku, row in skus_in(stream) if sku not in dupes]
    stream.seek(0)
    stream.truncate()
    writer = result.writer
    writer._writer.writerow(writer.header)  # noqa: SLF001 - same writer, same stream
    writer._writer.writerows(kept)  # noqa: SLF001
    writer.lines = len(kept)
    result.spool.withdraw(frozenset(dupes))


def _zero_vanished(ctx: TaskContext, repo: OfferStateRepo, result: PassResult) -> None:
    """Offers on Mirakl that left the catalogue (or became ambiguous): quantity 0 at their last price."""
    gone = result.summary.disappeared
    if not gone:
        return
    code = ctx.platform.code
    last = repo.last_values(code, gone)
    for sku in gone:
        if sku not in last:
            continue
        price, id_product, ipa = last[sku]
        result.writer.write_zero(sku, price)
        if not ctx.dry_run:
            result.spool.add_pending(PendingLine(sku, id_product, ipa, bytes.fromhex(GONE_HEX), 0, price))
        result.zeroed += 1
