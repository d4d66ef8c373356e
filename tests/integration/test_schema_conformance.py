"""The bridge against the real PrestaShop schemas (1.6.1.24, 1.7.8, 8.1, 9.0); the test shop vs 8.1/9.0.

``BRIDGE_PS_SCHEMAS`` names a folder of ``*.sql`` structure dumps (CI: ../shared/prestashop/schemas).
Each dump is loaded as PrestaShop loads it (the files start with ``SET SESSION sql_mode=''``) through
one multi-statement pymysql call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pymysql.constants import CLIENT
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bridge.errors import ShopSchemaError
from bridge.shop.context import load_shop_context
from bridge.shop.db import make_engine
from bridge.shop.schema import REQUIRED, detect_version, reflect_shop_tables
from bridge.testshop.schema import shop_metadata

SCHEMAS_ENV = "BRIDGE_PS_SCHEMAS"
SCHEMAS_DIR = os.environ.get(SCHEMAS_ENV, "").strip()
DUMPS = sorted(Path(SCHEMAS_DIR).glob("*.sql")) if SCHEMAS_DIR else []
NO_DUMPS = f"{SCHEMAS_ENV} is not set (CI points it at ../shared/prestashop/schemas)"
# dump file stem -> the PS_VERSION_DB such a shop carries
VERSIONS = {"1.6.1.24": "1.6.1.24", "1.7.8-upgraded": "1.7.8.8", "8.1-upgraded": "8.1.7", "9.0.0": "9.0.0"}
NOW = datetime(2024, 3, 1, 9, 0, 0)

pytestmark = pytest.mark.db


def _dump_ids() -> list[Any]:
    if SCHEMAS_DIR and not DUMPS:
        return [pytest.param(Path(SCHEMAS_DIR) / "*.sql", id="no-sql-files")]  # fails: set but empty
    if not DUMPS:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_DUMPS), id="no-dumps")]
    return [pytest.param(path, id=path.stem) for path in DUMPS]


def load_dump(db_url: str, path: Path) -> None:
    """Execute a whole dump file in one multi-statement call (what the ``mariadb`` client would do)."""
    u = make_url(db_url)
    conn = pymysql.connect(
        host=u.host,
        port=u.port or 3306,
        user=u.username,
        password=u.password or "",
        database=u.database,
        charset="utf8mb4",
        client_flag=CLIENT.MULTI_STATEMENTS,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(path.read_text(encoding="utf-8"))
            while cur.nextset():
                pass
        conn.commit()
    finally:
        conn.close()


def _seed_minimal_shop(db_url: str, prefix: str, version: str) -> None:
    """Structure-only dumps: the rows load_shop_context needs, in PrestaShop's non-strict sql_mode."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET SESSION sql_mode = ''"))
            t = reflect_shop_tables(conn, prefix)
            conn.execute(
                insert(t.shop_group), [dict(id_shop_group=1, name="Default", share_stock=0, active=1)]
            )
            conn.execute(
                insert(t.shop), [dict(id_shop=1, id_shop_group=1, name="Shop", id_category=2, active=1)]
            )
            conn.execute(
                insert(t.lang),
                [dict(id_lang=1, name="English", active=1, iso_code="en", language_code="en-us")],
            )
            conn.execute(
                insert(t.currency), [dict(id_currency=1, iso_code="EUR", conversion_rate=1, active=1)]
            )
            conn.execute(
                insert(t.configuration),
                [
                    dict(name=name, value=value, id_shop=None, id_shop_group=None, date_add=NOW, date_upd=NOW)
                    for name, value in (
                        ("PS_VERSION_DB", version),
                        ("PS_LANG_DEFAULT", "1"),
                        ("PS_CURRENCY_DEFAULT", "1"),
                        ("PS_TIMEZONE", "Europe/Paris"),
                    )
                ],
            )
    finally:
        engine.dispose()


@pytest.mark.schemas
@pytest.mark.parametrize("dump", _dump_ids())
def test_the_bridge_reflects_and_reads_every_real_prestashop_schema(
    dump: Path, make_db: Callable[[str], str], schemas_checked: list[str], tmp_path: Path
) -> None:
    db_url = make_db("schema")
    load_dump(db_url, dump)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = reflect_shop_tables(conn, "ps_")
            assert set(REQUIRED) <= set(tables)
            assert detect_version(conn, tables) == "unknown"
        version = VERSIONS.get(dump.stem, dump.stem)
        _seed_minimal_shop(db_url, "ps_", version)
        with engine.connect() as conn:
            assert detect_version(conn, tables) == version
            ctx = load_shop_context(conn, tables, id_shop=1)
    finally:
        engine.dispose()
    assert (ctx.id_shop, ctx.id_shop_group, ctx.share_stock, ctx.id_lang) == (1, 1, False, 1)
    assert ctx.currency.iso_code == "EUR" and ctx.version == version
    expect_reserved = not dump.stem.startswith("1.6")
    assert tables.has_column("stock_available", "reserved_quantity") is expect_reserved
    _check_command_reports(db_url, version, tmp_path)
    schemas_checked.append(version)


def _check_command_reports(db_url: str, version: str, tmp_path: Path) -> None:
    """`mirakl-bridge check` finds the version; `migrate` then brings the bridge tables to head."""
    import io
    import json

    from bridge.cli import main

    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[shop]\ndatabase_url = "{db_url}"\n[[platforms]]\ncode = "p"\n'
        'api_url = "https://p.mirakl.net"\napi_key_env = "P_KEY"\n', encoding="utf-8"
    )
    cfg.chmod(0o600)
    env = {"P_KEY": "k"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        out, err = io.StringIO(), io.StringIO()
        assert main(["--config", str(cfg), "check", "--offline", "--json"], stdout=out, stderr=err) == 0, err.getvalue()
        report = json.loads(out.getvalue())
        assert report["prestashop_version"] == version
        assert {c["name"]: c["status"] for c in report["checks"]}["bridge tables"] == "warn"
        assert main(["--config", str(cfg), "migrate"], stdout=io.StringIO(), stderr=err) == 0, err.getvalue()
        out = io.StringIO()
        assert main(["--config", str(cfg), "check", "--offline", "--json"], stdout=out, stderr=err) == 0
        assert {c["name"]: c["status"] for c in json.loads(out.getvalue())["checks"]}["bridge tables"] == "ok"
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- the test shop's own definitions against the real 8.1 and 9.0 columns --------------------------

_INTEGER = {"tinyint", "smallint", "mediumint", "int", "bigint"}
_TEXT = {"tinytext", "text", "mediumtext", "longtext"}
_COLUMNS_SQL = text(
    "SELECT table_name, column_name, data_type, column_type, is_nullable, character_maximum_length, "
    "numeric_precision, numeric_scale FROM information_schema.columns WHERE table_schema = :db"
)


def _columns(db_url: str) -> dict[tuple[str, str], dict[str, Any]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(_COLUMNS_SQL, {"db": make_url(db_url).database}).mappings().all()
    finally:
        engine.dispose()
    return {(r["table_name"], r["column_name"]): {k.lower(): v for k, v in r.items()} for r in rows}


def _incompatibility(ours: dict[str, Any], real: dict[str, Any]) -> str | None:
    a, b = ours["data_type"], real["data_type"]
    if ours["is_nullable"] != real["is_nullable"]:
        return f"nullable {ours['is_nullable']} vs real {real['is_nullable']}"
    if a in _INTEGER and b in _INTEGER:
        if ("unsigned" in ours["column_type"]) != ("unsigned" in real["column_type"]):
            return f"{ours['column_type']} vs real {real['column_type']} (signedness)"
        return None
    if a in _TEXT and b in _TEXT:
        return None
    if a == b == "decimal":
        same = (ours["numeric_precision"], ours["numeric_scale"]) == (
            real["numeric_precision"],
            real["numeric_scale"],
        )
        return None if same else f"{ours['column_type']} vs real {real['column_type']}"
    if a in {"varchar", "char"} and b in {"varchar", "char"}:
        fits = ours["character_maximum_length"] <= real["character_maximum_length"]
        return None if fits else f"{ours['column_type']} longer than real {real['column_type']}"
    if a == b == "enum":
        values = set(re.findall(r"'([^']*)'", ours["column_type"]))
        extra = values - set(re.findall(r"'([^']*)'", real["column_type"]))
        return None if not extra else f"enum values {sorted(extra)} not in real {real['column_type']}"
    if {a, b} <= {"datetime", "timestamp"} or a == b:
        return None
    return f"{ours['column_type']} vs real {real['column_type']}"


@pytest.mark.schemas
@pytest.mark.parametrize("stem", ["8.1-upgraded", "9.0.0"])
def test_the_test_shop_columns_agree_with_the_real_8_1_and_9_0_schemas(
    stem: str, make_db: Callable[[str], str]
) -> None:
    dump = Path(SCHEMAS_DIR) / f"{stem}.sql" if SCHEMAS_DIR else None
    if dump is None or not dump.exists():
        pytest.skip(NO_DUMPS if not SCHEMAS_DIR else f"{dump} not found")
    real_url, ours_url = make_db("real"), make_db("ours")
    load_dump(real_url, dump)
    engine = make_engine(ours_url)
    try:
        shop_metadata("ps_").create_all(engine)
    finally:
        engine.dispose()
    real, ours = _columns(real_url), _columns(ours_url)
    assert len({table for table, _c in ours}) == len(shop_metadata("ps_").tables)
    problems = []
    for (table, column), info in sorted(ours.items()):
        if (table, column) not in real:
            problems.append(f"{table}.{column}: not in the real {stem} schema")
            continue
        why = _incompatibility(info, real[(table, column)])
        if why:
            problems.append(f"{table}.{column}: {why}")
    assert not problems, f"test shop vs real {stem}:\n  " + "\n  ".join(problems)


# --- errors ----------------------------------------------------------------------------------------


def test_reflecting_a_database_without_prestashop_tables_names_the_missing_tables(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE unrelated (id INT PRIMARY KEY)"))
        with pytest.raises(ShopSchemaError) as err:
            reflect_shop_tables(engine, "ps_")
    finally:
        engine.dispose()
    message = str(err.value)
    assert "table ps_orders missing" in message
    assert "table ps_stock_available missing" in message
    assert "is table_prefix right?" in message


def test_a_dropped_column_is_named_in_the_schema_error(shop) -> None:
    with shop.engine.begin() as conn:
        conn.execute(text("ALTER TABLE `ps_product` DROP COLUMN `ean13`"))
        conn.execute(text("ALTER TABLE `ps_order_detail` DROP COLUMN `product_reference`"))
    with pytest.raises(ShopSchemaError) as err:
        reflect_shop_tables(shop.engine, shop.prefix)
    message = str(err.value)
    assert "ps_product.ean13 missing" in message
    assert "ps_order_detail.product_reference missing" in message
    assert "table_prefix" not in message


def test_a_wrong_prefix_gets_a_hint(shop) -> None:
    with pytest.raises(ShopSchemaError, match="is table_prefix right"):
        reflect_shop_tables(shop.engine, "pfx_")


def test_the_column_comparison_reports_real_differences() -> None:
    def col(column_type: str, nullable: str = "NO") -> dict[str, Any]:
        data_type = column_type.split("(")[0].split(" ")[0]
        length = int(m.group(1)) if (m := re.match(r"\w*char\((\d+)\)", column_type)) else None
        dec = re.match(r"decimal\((\d+),(\d+)\)", column_type)
        return dict(
            data_type=data_type,
            column_type=column_type,
            is_nullable=nullable,
            character_maximum_length=length,
            numeric_precision=int(dec.group(1)) if dec else None,
            numeric_scale=int(dec.group(2)) if dec else None,
        )

    assert (
        _incompatibility(col("varchar(20)"), col("varchar(13)")) == "varchar(20) longer than real varchar(13)"
    )
    assert _incompatibility(col("varchar(13)"), col("varchar(20)")) is None
    assert _incompatibility(col("decimal(20,6)"), col("decimal(10,2)")) is not None
    assert _incompatibility(col("int(10) unsigned"), col("int(11)")) is not None
    assert _incompatibility(col("tinyint(1) unsigned"), col("int(10) unsigned")) is None
    assert _incompatibility(col("mediumtext"), col("text")) is None
    assert _incompatibility(col("text", "YES"), col("text")) == "nullable YES vs real NO"
    assert _incompatibility(col("enum('a','b')"), col("enum('a')")) is not None
    assert _incompatibility(col("datetime"), col("varchar(19)")) is not None


def test_the_check_command_reports_the_seeded_test_shop_version(shop, tmp_path: Path) -> None:
    _check_command_reports_migrated(shop.url, shop.ids.version, tmp_path)


def _check_command_reports_migrated(db_url: str, version: str, tmp_path: Path) -> None:
    import io
    import json

    from bridge.cli import main

    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[shop]\ndatabase_url = "{db_url}"\n[[platforms]]\ncode = "p"\n'
                   'api_url = "https://p.mirakl.net"\napi_key = "k"\n', encoding="utf-8")
    cfg.chmod(0o600)
    out, err = io.StringIO(), io.StringIO()
    assert main(["--config", str(cfg), "check", "--offline"], stdout=out, stderr=err) == 0, err.getvalue()
    assert f"PrestaShop {version} (PS_VERSION_DB)" in out.getvalue() and "verdict: OK" in out.getvalue()
    out = io.StringIO()
    assert main(["--config", str(cfg), "check", "--offline", "--json"], stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["prestashop_version"] == version
