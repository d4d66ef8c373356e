"""Secrets stay secret; the HTTP endpoint and TLS cannot be opened by a configuration slip.

The scan runs the real CLI (``python -m bridge``) with a database password, a Mirakl API key and an
HTTP token that are unique strings, makes every command go through its error paths (Mirakl 5xx and
401, database unreachable, invalid configuration), and looks for those strings in everything the
bridge produced: stdout, stderr (logs at debug level), the JSON reports and the task-run rows.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bridge.config import LOOPBACK_HOSTS, HttpConfig, config_from_dict
from bridge.errors import ConfigError, MiraklError
from bridge.httpd import make_server, token_matches
from bridge.mirakl.client import MiraklClient
from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.wiring import App
from tests.daemon_support import write_toml
from tests.reliability.harness import prepare, raw_config, shipping_orders, waiting_orders

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "mk-Zq81-secret-api-key-77"
TOKEN = "tok-5e1f-secret-http-token"


def _cli(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SIM_MIRAKL_KEY": API_KEY, "BRIDGE_HTTP_TOKEN": TOKEN, "PYTHONPATH": str(ROOT),
            **(env or {})}
    return subprocess.run([sys.executable, "-m", "bridge", "--config", str(config), *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120, check=False)


def _no_secret(where: str, blob: str, secrets_: list[str]) -> None:
    for s in secrets_:
        assert s not in blob, f"a secret leaked into {where}: ...{blob[max(0, blob.find(s) - 200):blob.find(s) + 50]}"


@pytest.mark.slow
def test_no_secret_reaches_logs_reports_errors_check_output_or_the_task_run_table(
        shop: Any, limited_user: Any, tmp_path: Path) -> None:
    secrets_ = [limited_user.password, API_KEY, TOKEN]
    outputs: list[tuple[str, str]] = []
    with MiraklSimulator(api_key=API_KEY) as sim:
        prepare(shop, sim, [*waiting_orders(3, seed=11), *shipping_orders(3, seed=12)], {"MUG": 50})
        raw = raw_config(shop, sim.url, platform={"api_key_env": "SIM_MIRAKL_KEY", "max_attempts": 2,
                                                  "offers": {"import_wait_s": 1, "poll_interval_s": 0.01}})
        raw["shop"]["database_url"] = limited_user.url
        raw["logging"] = {"level": "debug", "format": "json"}
        raw["http"] = {"enabled": True, "port": 8799}
        config = write_toml(raw, tmp_path / "config.toml")
        outputs.append(("check", _cli(config, "check")))
        outputs.append(("check --json", _cli(config, "check", "--json")))
        for task in ("offers", "accept", "import", "ship"):
            outputs.append((f"run-task {task}", _cli(config, "run-task", task, "--platform", "sim", "--force")))
        sim.fail_next(50, status=503)
        for task in ("accept", "import"):
            outputs.append((f"run-task {task} (503)", _cli(config, "run-task", task, "--platform", "sim", "--force")))
        sim.clear_faults()
        wrong_key = {"SIM_MIRAKL_KEY": API_KEY + "-wrong"}  # 401: the message names the platform, not the key
        outputs.append(("check (401)", _cli(config, "check", env=wrong_key)))
        outputs.append(("run-task (401)", _cli(config, "run-task", "accept", "--platform", "sim", "--force",
                                              env=wrong_key)))
    outputs.append(("run-task (Mirakl down)", _cli(config, "run-task", "import", "--platform", "sim", "--force")))
    unreachable = limited_user.url.replace("127.0.0.1:3306", "127.0.0.1:1").replace("@127.0.0.1/", "@127.0.0.1:1/")
    outputs.append(("check (database down)", _cli(config, "check", "--offline",
                                                 env={"BRIDGE_SHOP_DATABASE_URL": unreachable})))
    bad_url = limited_user.url.replace("mysql+pymysql", "postgresql")
    outputs.append(("config error", _cli(config, "check", env={"BRIDGE_SHOP_DATABASE_URL": bad_url})))

    statuses = {name: p.returncode for name, p in outputs}
    assert statuses["config error"] == 2 and statuses["check (database down)"] == 1, statuses
    assert statuses["run-task (401)"] == 1 and "refused the API key" in outputs[-4][1].stdout, statuses
    for name, proc in outputs:
        assert "Traceback" not in proc.stderr, (name, proc.stderr[-2000:])
        _no_secret(f"{name} stdout", proc.stdout, secrets_)
        _no_secret(f"{name} stderr", proc.stderr, secrets_)
    with shop.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT `report`, `error` FROM `{shop.prefix}mirakl_bridge_task_run`")).all()
    assert len(rows) >= 8
    for report, error in rows:
        _no_secret("the task-run table", f"{report} {error}", secrets_)


def test_a_config_file_holding_secrets_readable_by_others_is_warned_about_through_the_cli(
        shop: Any, tmp_path: Path) -> None:
    raw = raw_config(shop, "http://127.0.0.1:9")
    del raw["platforms"][0]["api_key_env"]
    raw["platforms"][0]["api_key"] = API_KEY
    config = write_toml(raw, tmp_path / "config.toml")
    config.chmod(0o644)
    loose = _cli(config, "check", "--offline")
    config.chmod(0o600)
    tight = _cli(config, "check", "--offline")
    assert "readable by group/others (chmod 600)" in loose.stderr
    assert "readable by group/others" not in tight.stderr
    assert "API key stored in the config file" in tight.stderr
    for proc in (loose, tight):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        _no_secret("check output", proc.stdout + proc.stderr, [API_KEY])


# --- HTTP endpoint ------------------------------------------------------------------------------


def test_the_http_endpoint_binds_loopback_by_default_and_warns_for_any_other_address(shop: Any) -> None:
    assert HttpConfig().bind in LOOPBACK_HOSTS
    base = raw_config(shop, "http://127.0.0.1:9")
    cfg = config_from_dict({**base, "http": {"enabled": True}}, {"SIM_MIRAKL_KEY": "k", "BRIDGE_HTTP_TOKEN": TOKEN})
    app = App(cfg)
    server = make_server(app, cfg.http.bind, 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
        app.close()
    public = config_from_dict({**base, "http": {"enabled": True, "bind": "0.0.0.0"}},
                              {"SIM_MIRAKL_KEY": "k", "BRIDGE_HTTP_TOKEN": TOKEN})
    assert any("not only on loopback" in w for w in public.warnings)


def test_an_enabled_endpoint_without_a_token_is_a_config_error_and_an_empty_token_never_matches(
        shop: Any) -> None:
    base = raw_config(shop, "http://127.0.0.1:9")
    with pytest.raises(ConfigError) as err:
        config_from_dict({**base, "http": {"enabled": True}}, {"SIM_MIRAKL_KEY": "k", "BRIDGE_HTTP_TOKEN": ""})
    assert any("http.token_env" in e for e in err.value.errors)
    assert not token_matches("", "")
    assert not token_matches(TOKEN[:-1], TOKEN) and token_matches(TOKEN, TOKEN)


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def https_account(self_signed: tuple[Path, Path]) -> Iterator[str]:
    """A loopback HTTPS server with a self-signed certificate answering A01."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"shop_id": 1, "shop_name": "TLS"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*self_signed)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _platform(shop: Any, url: str, **extra: Any) -> Any:
    raw = raw_config(shop, url, platform={"max_attempts": 1, **extra})
    return config_from_dict(raw, {"SIM_MIRAKL_KEY": "k"}).platforms[0]


def test_tls_is_verified_even_when_the_environment_asks_otherwise_and_a_ca_bundle_is_the_only_way_in(
        shop: Any, https_account: str, self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(var, "")
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    with MiraklClient(_platform(shop, https_account)) as client, pytest.raises(MiraklError) as refused:
        client.account()
    assert "SSL" in str(refused.value) or "certificate" in str(refused.value).lower()
    with MiraklClient(_platform(shop, https_account, ca_bundle=str(self_signed[0]))) as client:
        assert client.account()["shop_name"] == "TLS"


@pytest.mark.parametrize("key", ["verify", "verify_tls", "insecure", "tls_verify", "ssl_verify"])
def test_no_configuration_key_turns_tls_verification_off(shop: Any, key: str) -> None:
    raw = raw_config(shop, "https://mirakl.example.com", platform={key: False})
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw, {"SIM_MIRAKL_KEY": "k"})
    assert f"platforms[0].{key}: unknown key" in err.value.errors


def test_plain_http_to_a_remote_host_is_refused(shop: Any) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw_config(shop, "http://mirakl.example.com"), {"SIM_MIRAKL_KEY": "k"})
    assert any("loopback" in e for e in err.value.errors)
