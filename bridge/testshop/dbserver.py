"""Find a MariaDB/MySQL server for tests and benchmarks, and create/drop throw-away databases.

The chain (first that works wins):

1. ``BRIDGE_TEST_DATABASE_URL``: a server URL such as ``mysql+pymysql://root@127.0.0.1:3306/``
   (a database name in it is ignored);
2. MariaDB/MySQL on 127.0.0.1:3306 as root without password, if a connection succeeds within 2 s;
3. a throw-away ``mariadb:10.11`` container through testcontainers, when a Docker engine answers;
4. otherwise :class:`NoDatabaseServer` with a message saying how to provide one.

:func:`resolve_server` takes the environment and the probes as arguments, so the order and the final
message are unit-tested without any server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ENV_URL = "BRIDGE_TEST_DATABASE_URL"
LOCAL_URL = "mysql+pymysql://root@127.0.0.1:3306/"
CONTAINER_IMAGE = "mariadb:10.11"
PROBE_TIMEOUT_S = 2

NO_SERVER_MESSAGE = (
    "no MariaDB/MySQL server for the database tests. Provide one of:\n"
    f"  - set {ENV_URL}=mysql+pymysql://USER:PASSWORD@HOST:PORT/ (a server URL; the user must be allowed\n"
    "    to CREATE and DROP databases);\n"
    "  - start MariaDB on 127.0.0.1:3306 with passwordless root (e.g. `start-stop-daemon --start --oknodo\n"
    "    --background --exec /usr/sbin/mariadbd`, or your distribution's service);\n"
    "  - run a Docker engine (the tests then start a throw-away mariadb:10.11 container through\n"
    "    testcontainers).\n"
    "Database tests never skip: a missing server is a failure."
)


class NoDatabaseServer(RuntimeError):
    """No way to reach a database server; the message explains how to provide one."""


@dataclass
class ServerChoice:
    url: str  # server URL without database, password included (never log it)
    source: str  # "env" | "local" | "docker"
    stop: Callable[[], None] = field(default=lambda: None)  # stops a container we started


def server_url(url: str) -> str:
    """The URL without its database name (``.../shop`` → ``.../``)."""
    u = make_url(url)
    bare = URL.create(u.drivername, u.username, u.password, u.host, u.port, None, u.query)
    return bare.render_as_string(hide_password=False).rstrip("/") + "/"


def database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def resolve_server(
    env: Mapping[str, str],
    *,
    probe: Callable[[str], bool],
    docker_available: Callable[[], bool],
    start_container: Callable[[], ServerChoice],
) -> ServerChoice:
    """Walk the chain; raise NoDatabaseServer when nothing is available."""
    configured = env.get(ENV_URL, "").strip()
    if configured:
        return ServerChoice(server_url(configured), "env")
    if probe(LOCAL_URL):
        return ServerChoice(LOCAL_URL, "local")
    if docker_available():
        return start_container()
    raise NoDatabaseServer(NO_SERVER_MESSAGE)


def probe_server(url: str, timeout_s: int = PROBE_TIMEOUT_S) -> bool:
    """True when a connection to the server succeeds within ``timeout_s``."""
    import pymysql  # type: ignore[import-untyped]

    u: URL = make_url(url)
    try:
        conn = pymysql.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 3306,
            user=u.username or "root",
            password=u.password or "",
            connect_timeout=timeout_s,
        )
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    conn.close()
    return True


def docker_engine_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # lazily: only when no other server was found

        return bool(docker.from_env().ping())
    except Exception:  # noqa: BLE001 - no docker module, no socket, no permission...
        return False


def start_mariadb_container() -> ServerChoice:
    try:
        from testcontainers.community.mysql import MySqlContainer
    except ImportError:  # testcontainers < 4.14
        from testcontainers.mysql import MySqlContainer

    password = secrets.token_hex(8)
    container = MySqlContainer(CONTAINER_IMAGE, root_password=password, dialect="pymysql")
    container.start()
    host, port = container.get_container_host_ip(), container.get_exposed_port(3306)
    url = f"mysql+pymysql://root:{password}@{host}:{port}/"
    return ServerChoice(url, "docker", stop=container.stop)


def find_server(env: Mapping[str, str] | None = None) -> ServerChoice:
    """The real chain (environment, local probe, Docker)."""
    return resolve_server(
        os.environ if env is None else env,
        probe=probe_server,
        docker_available=docker_engine_available,
        start_container=start_mariadb_container,
    )


def new_database_name(tag: str = "mb_test") -> str:
    return f"{tag}_{os.getpid()}_{secrets.token_hex(4)}"


def create_database(server: str, name: str) -> str:
    """Create an empty utf8mb4 database and return its URL."""
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(
                text(f"CREATE DATABASE `{_checked(name)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )
    finally:
        engine.dispose()
    return database_url(server, name)


def drop_database(server: str, name: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{_checked(name)}`"))
    finally:
        engine.dispose()


def _checked(name: str) -> str:
    if not name.replace("_", "").isalnum() or len(name) > 64:
        raise ValueError(f"unsafe database name {name!r}")
    return name
