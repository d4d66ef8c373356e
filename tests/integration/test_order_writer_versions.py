"""The order writer and change_state against every real PrestaShop schema dump (1.6.1.24 → 9.0.0).

Each dump named by ``BRIDGE_PS_SCHEMAS`` is loaded into a fresh database, seeded with the minimal rows
of :mod:`tests.ps_seed`, and an order is written by the bridge's strict session; the SQL invariants
of :mod:`tests.invariants` must hold, and the version-dependent parts (stock movements, reserved and
physical quantities, 4-byte characters on utf8mb3 tables) must follow that version's PrestaShop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from bridge.shop.db import make_engine
from bridge.shop.order_state import change_state
from bridge.shop.order_writer import OrderWriter
from bridge.shop.shop import Shop
from bridge.state.tables import bridge_tables
from tests import invariants as inv
from tests.integration.test_schema_conformance import DUMPS, NO_DUMPS, SCHEMAS_DIR, VERSIONS, load_dump
from tests.order_samples import NOW, D, address, line, order, platform
from tests.ps_seed import SeededShop, seed_for_orders

pytestmark = [pytest.mark.db, pytest.mark.schemas]
PREFIX = "ps_"


def _dumps() -> list[Any]:
    if SCHEMAS_DIR and not DUMPS:
        return [pytest.param(Path(SCHEMAS_DIR) / "*.sql", id="no-sql-files")]
    if not DUMPS:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_DUMPS), id="no-dumps")]
    return [pytest.param(path, id=path.stem) for path in DUMPS]


@pytest.fixture(params=_dumps())
def real_shop(request: pytest.FixtureRequest, make_db: Callable[[str], str]) -> Iterator[tuple[Shop, SeededShop]]:
    dump: Path = request.param
    url = make_db("orders")
    load_dump(url, dump)
    version = VERSIONS.get(dump.stem, dump.stem)
    seeding = create_engine(url)  # its session runs with PrestaShop's sql_mode=''; never reused below
    try:
        with seeding.begin() as conn:
            seeded = seed_for_orders(conn, PREFIX, version)
    finally:
        seeding.dispose()
    engine = make_engine(url)
    bridge_tables(PREFIX).metadata.create_all(engine)
    try:
        yield Shop.from_engine(engine, PREFIX, seeded.id_shop), seeded
    finally:
        engine.dispose()


def _write(ps: Shop, mirakl_order: Any, **orders: Any) -> Any:
    writer = OrderWriter(ps)
    with ps.engine.begin() as conn:
        prepared = writer.prepare(conn, mirakl_order, platform(**orders))
        before = inv.stock_snapshot(conn, PREFIX, {k[0] for k in prepared.draft.quantities})
        written = writer.write(conn, prepared, flag_out_of_stock=True, now=NOW)
    return written, before


def _one(ps: Shop, table: str, **where: Any) -> dict[str, Any]:
    t = ps.tables[table]
    with ps.engine.connect() as conn:
        return dict(conn.execute(select(t).where(*[t.c[k] == v for k, v in where.items()])).one()._mapping)


def _count(ps: Shop, table: str, **where: Any) -> int:
    t = ps.tables[table]
    with ps.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t)
                                .where(*[t.c[k] == v for k, v in where.items()])).scalar() or 0)


def _major(version: str) -> tuple[int, int]:
    a, b = (int(x) for x in version.split(".")[:2])
    return a, b


def test_an_imported_order_satisfies_the_invariants(real_shop: tuple[Shop, SeededShop],
                                                    schemas_checked: list[str]) -> None:
    ps, seeded = real_shop
    version = _major(seeded.version)
    ship = address(firstname="Zoé 🚀", lastname="L'Hôte")
    written, before = _write(ps, order("V1-A", line("TEE-M", 2, "26.40", shipping="4.90"), line("CUP", 1, "9.90"),
                                       firstname="Zoé 🚀", lastname="L'Hôte", shipping_address=ship))
    with ps.engine.connect() as conn:
        assert inv.order_invariants(conn, PREFIX, written.id_order) == []
        assert inv.check_stock_decrement(conn, PREFIX, written.id_order, before) == []
    o = _one(ps, "orders", id_order=written.id_order)
    # 52.80 / 1.2 = 44.00 ; 9.90 / 1.2 = 8.25 ; 4.90 / 1.2 = 4.08
    assert (o["total_products"], o["total_products_wt"], o["total_shipping_tax_excl"]) == (
        D("52.25"), D("62.70"), D("4.08"))
    assert o["total_paid_tax_incl"] == D("67.60") and o["current_state"] == seeded.state("PS_OS_PAYMENT")
    detail = _one(ps, "order_detail", id_order=written.id_order, product_attribute_id=seeded.tee_m)
    assert detail["product_name"] == "Tee (Size: M)" and detail["product_reference"] == "TEE-M"
    assert detail["product_ean13"] == "3760000001017" and detail["tax_name"] == "TVA FR 20%"
    cust = _one(ps, "customer", id_customer=written.id_customer)
    # 1.6 tables are utf8mb3: the rocket cannot be stored and is dropped
    assert cust["firstname"] == ("Zoé" if version < (1, 7) else "Zoé 🚀")
    assert _count(ps, "order_invoice", id_order=written.id_order) == 1
    movements = _count(ps, "stock_mvt", id_order=written.id_order)
    assert movements == (2 if version[:2] == (1, 7) else 0)  # 1.7: at creation; 8/9: when shipped; 1.6: ASM
    has_reserved = ps.tables.has_column("stock_available", "reserved_quantity")
    assert has_reserved is (version >= (1, 7))
    if has_reserved:
        tee_m = _one(ps, "stock_available", id_product=seeded.tee, id_product_attribute=seeded.tee_m)
        assert (tee_m["quantity"], tee_m["reserved_quantity"], tee_m["physical_quantity"]) == (5, 2, 7)
    schemas_checked.append(f"{seeded.version}-orders")


def test_shipping_then_cancelling_follows_the_version(real_shop: tuple[Shop, SeededShop]) -> None:
    ps, seeded = real_shop
    version = _major(seeded.version)
    written, before = _write(ps, order("V2-A", line("TEE-M", 1, "26.40"), line("CUP", 3, "9.90")))
    with ps.engine.begin() as conn:
        shipped = change_state(conn, ps, written.id_order, seeded.state("PS_OS_SHIPPING"), NOW)
    assert shipped.movements == (2 if version >= (8, 0) else 0)
    with ps.engine.connect() as conn:
        assert inv.order_invariants(conn, PREFIX, written.id_order) == []
        assert inv.check_stock_decrement(conn, PREFIX, written.id_order, before) == []
    with ps.engine.begin() as conn:
        cancelled = change_state(conn, ps, written.id_order, seeded.state("PS_OS_CANCELED"), NOW)
    with ps.engine.begin() as conn:
        again = change_state(conn, ps, written.id_order, seeded.state("PS_OS_CANCELED"), NOW)
    assert cancelled.stock_delta == 4 and not again.changed
    with ps.engine.connect() as conn:
        assert inv.order_invariants(conn, PREFIX, written.id_order) == []
        assert inv.check_stock_decrement(conn, PREFIX, written.id_order, before, factor=0) == []
    expected_mvt = {(1, 7): 2, (8, 0): 4, (8, 1): 4, (9, 0): 4}.get(version, 0)
    assert _count(ps, "stock_mvt", id_order=written.id_order) == expected_mvt


def test_a_foreign_currency_and_overlong_fields_fit_every_schema(real_shop: tuple[Shop, SeededShop]) -> None:
    ps, seeded = real_shop
    long_name = "Maximilienne-Éléonore de la Tour d'Auvergne et de Bouillon"  # > 32 characters (1.6)
    ship = address(lastname=long_name, street_1="Appartement 12, " + "x" * 150, phone="")
    written, before = _write(ps, order("V3-A", line("CUP", 2, "10.80"), currency="USD", lastname=long_name,
                                       shipping_address=ship, customer_id="USD-CUSTOMER"))
    with ps.engine.connect() as conn:
        assert inv.order_invariants(conn, PREFIX, written.id_order) == []
        assert inv.check_stock_decrement(conn, PREFIX, written.id_order, before) == []
    o = _one(ps, "orders", id_order=written.id_order)
    assert o["id_currency"] == seeded.id_currency_usd and o["conversion_rate"] == D("1.08")
    width = ps.tables.customer.c.lastname.type.length
    assert _one(ps, "customer", id_customer=written.id_customer)["lastname"] == long_name[:width].rstrip()
    assert len(_one(ps, "address", id_address=o["id_address_delivery"])["address1"]) == 128


def test_the_catalogue_reads_with_the_database_digest_run_on_every_version(real_shop: Any) -> None:
    """The offers task's two catalogue SELECTs (rows with their inputs digest; refs and digests only)
    on each real schema (utf8mb3 tables on 1.6): same digests both ways, stable, and a stock change
    changes the digest of that row only."""
    from sqlalchemy import update

    from bridge.shop.catalog import stream_catalog, stream_digests

    ps, seeded = real_shop

    def read() -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], str]]:
        with ps.engine.connect() as conn:
            rows = {(r[0], r[1]): r[-1] for chunk in stream_catalog(conn, ps.tables, ps.context, inputs_key="k1")
                    for r in chunk}
            digests = {(r[0], r[1]): r[2] for chunk in stream_digests(conn, ps.tables, ps.context, inputs_key="k1")
                       for r in chunk}
        return rows, digests

    rows, digests = read()
    assert {(seeded.tee, seeded.tee_m), (seeded.cup, 0)} <= set(rows)
    assert rows == digests and all(len(d) == 16 and int(d, 16) >= 0 for d in rows.values())
    assert read() == (rows, digests)
    sa = ps.tables["stock_available"]
    with ps.engine.begin() as conn:
        conn.execute(update(sa).where(sa.c.id_product == seeded.cup, sa.c.id_product_attribute == 0)
                     .values(quantity=sa.c.quantity + 1))
    after, _ = read()
    assert {k for k in rows if after[k] != rows[k]} == {(seeded.cup, 0)}
    with ps.engine.connect() as conn:
        other = {(r[0], r[1]): r[2] for chunk in stream_digests(conn, ps.tables, ps.context, inputs_key="k2")
                 for r in chunk}
    assert all(other[k] != after[k] for k in after)  # another run context: every digest changes
    from decimal import Decimal

    from bridge.shop.catalog import catalog_select

    with ps.engine.connect() as conn:  # the packed read (numbers as one text) gives the plain SELECT's rows
        packed = [r for chunk in stream_catalog(conn, ps.tables, ps.context, inputs_key="k2") for r in chunk]
        plain = conn.execute(catalog_select(ps.tables, ps.context, inputs_key="k2")).all()
    assert sorted(packed) == sorted(tuple(str(v) if isinstance(v, Decimal) else v for v in r) for r in plain)
