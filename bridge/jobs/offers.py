"""Task ``offers``: PrestaShop stock and prices to Mirakl as OF01 deltas (NORMAL mode, never REPLACE).

gather → plan → apply → record:
1. an import left running by the previous run is polled (OF02) and recorded first; while it runs,
   nothing new is sent (the run is skipped);
2. one pass over the catalogue builds every line, compares its digest with what Mirakl last
   accepted and writes the new/changed ones (every one on a full resync) to the CSV, plus vanished
   offers at quantity 0; the lines to record are spooled to a temporary file. A delta run skips the
   rows whose inputs digest (row, specific price applying now, run context) is the one stored with
   the accepted line, without building it;
3. OF01 (no call when nothing is to be sent; ``--dry-run`` keeps the file and sends nothing), then
   the import row;
4. OF02 until a final state or ``import_wait_s``; OF03 error report → rejected lines keep their last
   accepted state (retried next run), the others advance. The spooled lines are written once with
   that outcome -- on MariaDB/MySQL loaded while Mirakl processes the file, on a transaction
   committed only with the outcome; when the import is still running that load is rolled back and
   they are written ``pending`` under its id (loaded the same way), and a later run records the
   outcome. A crash before that
   write leaves the state as it was: the lines are computed and sent again (sending an offer twice
   is harmless).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from typing import TextIO

import structlog

from bridge.jobs.context import TaskContext
from bridge.jobs.offers_pass import MAX_LISTED, PassResult, compute_pass
from bridge.state.offers import OfferStateRepo
from bridge.state.offers_sent import SentLines

log = structlog.get_logger(__name__)
FULL_CURSOR = "offers_full"


def run(ctx: TaskContext) -> None:
    started = time.monotonic()
    code, report = ctx.platform.code, ctx.report
    repo = OfferStateRepo(ctx.app.engine, ctx.app.prefix)
    if not ctx.dry_run:
        repo.clear_orphans(code, ctx.now())
        if not _settle_open_imports(ctx, repo):
            return
    full = _full_due(ctx)
    stream: TextIO
    if ctx.dry_run:
        stream = tempfile.NamedTemporaryFile("w+", encoding="utf-8", newline="", prefix=f"offers-{code}-",  # noqa: SIM115
                                             suffix=".csv", delete=False)
    else:
        stream = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
    with stream:
        result = compute_pass(ctx, repo, stream, full=full)
        try:
            _report_pass(ctx, result, full)
            to_send = result.writer.lines
            if ctx.dry_run:
                report.extra["csv_path"] = stream.name
                report.count("sent", 0)
            elif to_send == 0:
                report.count("sent", 0)
                if full:
                    ctx.app.state.set_cursor(code, FULL_CURSOR, ctx.now(), ctx.now())
            else:
                stream.seek(0)
                import_id = ctx.mirakl.import_offers_file(stream, import_mode="NORMAL")
                repo.record_import(code, import_id=import_id, lines=to_send, full_sync=full, now=ctx.now())
                report.count("sent", to_send)
                report.extra["import_id"] = import_id
                log.info("offers.import_submitted", import_id=import_id, lines=to_send, full_sync=full)
                _wait_and_record(ctx, repo, import_id, full_sync=full, submitted_at=ctx.now(), sent=result.spool)
        finally:
            result.spool.close()
    report.extra["duration_s"] = round(time.monotonic() - started, 3)


def _full_due(ctx: TaskContext) -> bool:
    last = ctx.app.state.get_cursor(ctx.platform.code, FULL_CURSOR)
    return last is None or ctx.now() - last >= timedelta(hours=ctx.platform.offers.full_every_hours)


def _report_pass(ctx: TaskContext, r: PassResult, full: bool) -> None:
    report, s = ctx.report, r.summary
    for key, n in (("catalogue", r.catalogue), ("sellable", r.sellable), ("new", s.new), ("changed", s.changed),
                   ("unchanged", s.unchanged), ("resent", s.resent), ("zeroed", r.zeroed),
                   ("excluded", sum(r.excluded.values()))):
        report.count(key, n)
    report.extra["full_sync"] = full
    report.extra["excluded_by_reason"] = dict(sorted(r.excluded.items()))
    if r.not_sent:
        report.items["not_sent"] = r.not_sent
    if r.next_change_at is not None:
        report.extra["next_price_change_at"] = r.next_change_at.isoformat()
    log.info("offers.planned", catalogue=r.catalogue, sellable=r.sellable, new=s.new, changed=s.changed,
             unchanged=s.unchanged, zeroed=r.zeroed, to_send=r.writer.lines, full_sync=full,
             excluded=dict(r.excluded))


def _settle_open_imports(ctx: TaskContext, repo: OfferStateRepo) -> bool:
    """Record imports a previous run left running; False (run skipped) while one still runs."""
    for imp in repo.open_imports(ctx.platform.code):
        if not _wait_and_record(ctx, repo, imp.import_id, full_sync=imp.full_sync, submitted_at=imp.submitted_at):
            ctx.report.status = "skipped"
            ctx.report.reason = f"Mirakl import {imp.import_id} is still running; the next run picks it up"
            return False
    return True


def _wait_and_record(ctx: TaskContext, repo: OfferStateRepo, import_id: str, *, full_sync: bool,
                     submitted_at: datetime, sent: SentLines | None = None) -> bool:
    """Poll OF02 (bounded), then apply OF03. False when the import is still running.

    ``sent``: the lines of an import sent by this run, not recorded yet (written here, once).
    """
    cfg, code = ctx.platform.offers, ctx.platform.code
    deadline = time.monotonic() + cfg.import_wait_s
    began = time.monotonic()
    status = ctx.mirakl.offer_import_status(import_id)
    waited = time.monotonic() - began  # in OF02 calls and pauses: time the run spent only waiting for Mirakl
    prepared = None
    try:
        # the state rows loaded while Mirakl processes the file (unless there is no wait to fill)
        if sent is not None and not status.is_final and cfg.import_wait_s > 0:
            prepared = repo.prepare_outcome(code, sent, ctx.now())
        began = time.monotonic()
        while not status.is_final and time.monotonic() < deadline and not ctx.stop.is_set():
            ctx.stop.wait(min(cfg.poll_interval_s, max(0.0, deadline - time.monotonic())))
            status = ctx.mirakl.offer_import_status(import_id)
        waited += time.monotonic() - began
        extra = ctx.report.extra
        extra["mirakl_wait_s"] = round(extra.get("mirakl_wait_s", 0.0) + waited, 3)
        if not status.is_final:
            if prepared is not None:
                prepared.close()  # rolled back: the lines are written as pending instead
            if sent is not None:
                repo.record_pending(code, sent, import_id, ctx.now())
            extra["import_still_running"] = import_id
            log.info("offers.import_pending", import_id=import_id, status=status.status, waited_s=round(waited, 3))
            return False
        errors = ctx.mirakl.offer_import_errors(import_id) if status.has_error_report else []
    except BaseException:
        if prepared is not None:
            prepared.close()
        raise
    rejected = [(e.sku, e.message) for e in errors if e.sku]
    if sent is not None:
        accepted = repo.record_outcome(code, import_id, sent, status=status.status,
                                       rejected=rejected, lines_in_error=status.lines_in_error, now=ctx.now(),
                                       reason=status.reason_status, prepared=prepared)
    else:
        accepted = repo.finish_import(code, import_id, status=status.status, rejected=rejected,
                                      lines_in_error=status.lines_in_error, now=ctx.now(),
                                      reason=status.reason_status)
    report = ctx.report
    report.count("accepted", accepted)
    report.count("rejected", len(errors))
    for e in errors:
        log.warning("offers.line_rejected", import_id=import_id, sku=e.sku, reason=e.message)
        if len(report.errors) < MAX_LISTED:
            report.error(e.sku or f"line {e.line}", e.message, code="rejected_by_mirakl", import_id=import_id)
    if status.status == "FAILED":
        report.error(f"import {import_id}", status.reason_status or "import failed", code="import_failed")
    elif full_sync:
        ctx.app.state.set_cursor(code, FULL_CURSOR, submitted_at, ctx.now())
    log.info("offers.import_finished", import_id=import_id, status=status.status, accepted=accepted,
             rejected=len(errors), waited_s=round(waited, 3))
    return True
