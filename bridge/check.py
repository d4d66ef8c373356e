"""``mirakl-bridge check``: config, shop database, schema + version, bridge tables, each platform's key."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from sqlalchemy import text

from bridge.config import redacted_url
from bridge.errors import BridgeError, MiraklAuthError, MiraklError
from bridge.logging import scrub
from bridge.wiring import App


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def run_check(app: App, *, as_json: bool, offline: bool, out: TextIO) -> int:
    checks = collect_checks(app, offline=offline)
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        payload = {
            "ok": not failed,
            "config": app.config.source_path,
            "prestashop_version": next((c.data.get("version") for c in checks if c.name == "schema"), None),
            "checks": [asdict(c) for c in checks],
            "warnings": list(app.config.warnings),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=out)
    else:
        print(f"mirakl-bridge check: {app.config.source_path or '(config)'}", file=out)
        for c in checks:
            print(f"  {c.status.upper():<5} {c.name:<16} {c.detail}", file=out)
        for w in app.config.warnings:
            print(f"  WARN  config           {w}", file=out)
        verdict = "OK" if not failed else f"FAILED ({len(failed)} problem{'s' if len(failed) > 1 else ''})"
        print(f"verdict: {verdict}", file=out)
    return 1 if failed else 0


def collect_checks(app: App, *, offline: bool = False) -> list[Check]:
    cfg = app.config
    checks = [Check("config", "ok", f"{len(cfg.platforms)} platform(s): {', '.join(cfg.codes)}")]
    url = redacted_url(cfg.shop.database_url.get_secret_value())
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks.append(Check("shop database", "ok", f"connected to {url}"))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks.append(Check("shop database", "fail", f"cannot connect to {url}: {_short(exc)}"))
        return checks + [Check(p.code, "skip", "not checked (no database)") for p in cfg.platforms]
    checks += _schema_checks(app)
    checks.append(_bridge_tables_check(app))
    for p in cfg.platforms:
        checks.append(Check(p.code, "skip", "Mirakl not called (--offline)") if offline else _platform_check(app, p.code))
    return checks


def _schema_checks(app: App) -> list[Check]:
    from bridge.shop.context import load_shop_context
    from bridge.shop.schema import detect_version, reflect_shop_tables

    try:
        tables = reflect_shop_tables(app.engine, app.prefix)
    except BridgeError as exc:
        return [Check("schema", "fail", scrub(str(exc)))]
    with app.engine.connect() as conn:
        version = detect_version(conn, tables)
        checks = [Check("schema", "ok", f"PrestaShop {version} (PS_VERSION_DB), {len(list(tables))} tables reflected "
                        f"with prefix {app.prefix!r}", {"version": version})]
        try:
            ctx = load_shop_context(conn, tables, id_shop=app.config.shop.id_shop, id_lang=app.config.shop.id_lang)
        except BridgeError as exc:
            return checks + [Check("shop context", "fail", str(exc))]
    checks.append(Check(
        "shop context", "ok",
        f"shop {ctx.id_shop} (group {ctx.id_shop_group}, shared stock: {'yes' if ctx.share_stock else 'no'}), "
        f"language {ctx.id_lang}, time zone {ctx.timezone}",
    ))
    return checks


def _bridge_tables_check(app: App) -> Check:
    from bridge.migrate import current_revision, head_revision

    try:
        current, head = current_revision(app.engine, app.prefix), head_revision()
    except Exception as exc:  # noqa: BLE001
        return Check("bridge tables", "fail", f"cannot read the migration state: {_short(exc)}")
    if current == head:
        return Check("bridge tables", "ok", f"at revision {head}")
    return Check("bridge tables", "warn", f"at revision {current or 'none'}, head is {head}: run `mirakl-bridge migrate`")


def _platform_check(app: App, code: str) -> Check:
    p = app.config.platform(code)
    try:
        account = app.mirakl(code).account()
    except MiraklAuthError as exc:
        return Check(code, "fail", f"{p.display_name}: Mirakl refused the API key ({_short(exc)})")
    except MiraklError as exc:
        return Check(code, "fail", f"{p.display_name}: Mirakl API not reachable ({_short(exc)})")
    name = account.get("shop_name") or account.get("name") or "?"
    sid = account.get("shop_id")
    return Check(code, "ok", f"{p.display_name}: Mirakl account {name!r}" + (f" (shop_id {sid})" if sid else ""),
                 {"shop_id": sid})


def _short(exc: BaseException) -> str:
    return scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
