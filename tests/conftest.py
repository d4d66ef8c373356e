"""Shared fixtures.

Database chain (``bridge.testshop.dbserver``): ``BRIDGE_TEST_DATABASE_URL`` → MariaDB on
127.0.0.1:3306 as root → a testcontainers MariaDB when Docker answers → ``pytest.fail`` (never skip).

- ``db_server_url`` (session): server URL without database.
- ``fresh_db_url`` (function): URL of a new empty database, dropped after the test.
- ``shop`` / ``multishop`` (function): a fresh database holding the seeded test shop
  (``bridge.testshop.build_test_shop``) and the bridge tables; yields :class:`ShopDb`
  (``.url``, ``.engine``, ``.ids`` = the TestShop, ``.prefix``). Each is a copy of a template
  database built once per session, so a test may change anything.

Every database of a run is named ``mb_test_<pid>_<random>...`` and dropped at the end.
"""

from __future__ import annotations


import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from bridge.shop.db import make_engine
from bridge.testshop import dbserver
from tests.ci_guard import guard_report
from bridge.testshop.clone import clone_database
from bridge.testshop.seed import TestShop, build_test_shop

PREFIX = "ps_"
SCHEMAS_CHECKED = pytest.StashKey[list[str]]()


@dataclass(frozen=True)
class ShopDb:
    url: str
    engine: Engine
    ids: TestShop
    prefix: str
    name: str  # database name


def install_bridge_tables(engine: Engine, prefix: str) -> None:
    """Bridge-owned tables of a test shop, created by the real alembic migration (`mirakl-bridge migrate`)."""
    from bridge.migrate import upgrade

    upgrade(engine, prefix)


class _Databases:
    """Names and lifetimes of this session's databases."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.stem = dbserver.new_database_name()
        self._counter = itertools.count(1)
        self.templates: dict[bool, tuple[str, TestShop]] = {}

    def new_name(self, kind: str) -> str:
        return f"{self.stem}_{kind}{next(self._counter)}"

    def template(self, multishop: bool) -> tuple[str, TestShop]:
        if multishop not in self.templates:
            name = self.new_name("tpl_multi" if multishop else "tpl")
            url = dbserver.create_database(self.server, name)
            engine = make_engine(url)
            try:
                ids = build_test_shop(engine, prefix=PREFIX, multishop=multishop)
                install_bridge_tables(engine, PREFIX)
            finally:
                engine.dispose()
            self.templates[multishop] = (name, ids)
        return self.templates[multishop]

    def drop_templates(self) -> None:
        for name, _ids in self.templates.values():
            dbserver.drop_database(self.server, name)


@pytest.fixture(scope="session")
def db_server_url() -> Iterator[str]:
    try:
        choice = dbserver.find_server()
    except dbserver.NoDatabaseServer as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield choice.url
    finally:
        choice.stop()


@pytest.fixture(scope="session")
def _databases(db_server_url: str) -> Iterator[_Databases]:
    dbs = _Databases(db_server_url)
    try:
        yield dbs
    finally:
        dbs.drop_templates()


@pytest.fixture
def fresh_db_url(_databases: _Databases) -> Iterator[str]:
    name = _databases.new_name("db")
    url = dbserver.create_database(_databases.server, name)
    try:
        yield url
    finally:
        dbserver.drop_database(_databases.server, name)


def _shop_fixture(dbs: _Databases, *, multishop: bool) -> Iterator[ShopDb]:
    template, ids = dbs.template(multishop)
    name = dbs.new_name("shop")
    clone_database(dbs.server, template, name)
    url = dbserver.database_url(dbs.server, name)
    engine = make_engine(url)
    try:
        yield ShopDb(url=url, engine=engine, ids=ids, prefix=PREFIX, name=name)
    finally:
        engine.dispose()
        dbserver.drop_database(dbs.server, name)


@pytest.fixture
def shop(_databases: _Databases) -> Iterator[ShopDb]:
    yield from _shop_fixture(_databases, multishop=False)


@pytest.fixture
def multishop(_databases: _Databases) -> Iterator[ShopDb]:
    yield from _shop_fixture(_databases, multishop=True)


@pytest.fixture
def make_db(_databases: _Databases) -> Iterator[Callable[[str], str]]:
    """Factory of extra empty databases (``make_db("schema")`` → URL), all dropped after the test."""
    names: list[str] = []

    def _make(kind: str = "db") -> str:
        name = _databases.new_name(kind)
        names.append(name)
        return dbserver.create_database(_databases.server, name)

    yield _make
    for name in names:
        dbserver.drop_database(_databases.server, name)


@pytest.fixture(scope="session")
def schemas_checked(request: pytest.FixtureRequest) -> list[str]:
    """Versions whose real schema dump passed the conformance test (printed in the summary)."""
    return request.config.stash.setdefault(SCHEMAS_CHECKED, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    checked = config.stash.get(SCHEMAS_CHECKED, [])
    if checked:
        terminalreporter.write_line("schemas checked: " + ", ".join(sorted(set(checked), key=_version_key)))


def _version_key(label: str) -> tuple[int, ...]:
    return tuple(int(part) for part in label.split("-")[0].split(".") if part.isdigit())


# --- CI guard: a skipped database test is a failure when BRIDGE_REQUIRE_DB=1 (.ci/run sets it) -------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    guard_report(item, outcome.get_result())
