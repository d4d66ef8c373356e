"""The database server chain: environment, then local MariaDB, then Docker, then a clear failure."""

from __future__ import annotations

import pytest

from bridge.testshop.dbserver import (
    ENV_URL,
    LOCAL_URL,
    NoDatabaseServer,
    ServerChoice,
    database_url,
    resolve_server,
    server_url,
)


class Recorder:
    def __init__(self, *, local: bool, docker: bool) -> None:
        self.local, self.docker, self.calls = local, docker, []

    def probe(self, url: str) -> bool:
        self.calls.append(("probe", url))
        return self.local

    def docker_available(self) -> bool:
        self.calls.append(("docker",))
        return self.docker

    def start(self) -> ServerChoice:
        self.calls.append(("start",))
        return ServerChoice("mysql+pymysql://root:pw@localhost:32768/", "docker")

    def resolve(self, env: dict[str, str]) -> ServerChoice:
        return resolve_server(
            env, probe=self.probe, docker_available=self.docker_available, start_container=self.start
        )


def test_the_environment_url_wins_and_its_database_name_is_ignored() -> None:
    rec = Recorder(local=True, docker=True)
    choice = rec.resolve({ENV_URL: "mysql+pymysql://u:p@db.example:3307/shop"})
    assert (choice.url, choice.source) == ("mysql+pymysql://u:p@db.example:3307/", "env")
    assert rec.calls == []


def test_a_reachable_local_server_is_used_before_docker() -> None:
    rec = Recorder(local=True, docker=True)
    choice = rec.resolve({})
    assert (choice.url, choice.source) == (LOCAL_URL, "local")
    assert rec.calls == [("probe", LOCAL_URL)]


def test_docker_is_tried_only_when_no_local_server_answers() -> None:
    rec = Recorder(local=False, docker=True)
    choice = rec.resolve({ENV_URL: "  "})
    assert choice.source == "docker"
    assert rec.calls == [("probe", LOCAL_URL), ("docker",), ("start",)]


def test_without_any_server_the_error_says_how_to_provide_one() -> None:
    rec = Recorder(local=False, docker=False)
    with pytest.raises(NoDatabaseServer) as err:
        rec.resolve({})
    message = str(err.value)
    assert ENV_URL in message
    assert "127.0.0.1:3306" in message
    assert "Docker" in message
    assert "never skip" in message
    assert rec.calls == [("probe", LOCAL_URL), ("docker",)]


def test_database_urls_are_built_from_the_server_url() -> None:
    assert server_url("mysql+pymysql://root@127.0.0.1:3306/x") == "mysql+pymysql://root@127.0.0.1:3306/"
    assert database_url("mysql+pymysql://root:s3@h:1/", "mb_1") == "mysql+pymysql://root:s3@h:1/mb_1"
