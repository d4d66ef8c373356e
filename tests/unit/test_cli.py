"""CLI contract: exit codes and messages users script against."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_check_on_a_broken_example_prints_every_problem_and_exits_2(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "config.toml"
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace('table_prefix = "ps_"', 'table_prefix = "ps-"')
    text = text.replace("[shop]\n", "[shop]\ndatabase_name = \"typo\"\n", 1)
    cfg.write_text(text)
    monkeypatch.delenv("CARREFOUR_API_KEY", raising=False)
    monkeypatch.delenv("BRIDGE_SHOP_DATABASE_URL", raising=False)
    code, out, err = run(["--config", str(cfg), "check"])
    assert code == 2
    assert "shop.database_name: unknown key" in err
    assert "shop.table_prefix: must match" in err
    assert "platforms[0].api_key_env: environment variable CARREFOUR_API_KEY is not set" in err
    assert "Traceback" not in err and out == ""


def test_usage_errors_exit_2() -> None:
    assert run(["run-task", "nonsense", "--platform", "x"])[0] == 2
    assert run([])[0] == 2


def test_config_path_falls_back_to_the_environment_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "missing.toml"))
    code, _, err = run(["check"])
    assert code == 2 and "missing.toml: file not found" in err


def test_unknown_platform_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.example.toml", cfg)
    os.chmod(cfg, 0o600)
    monkeypatch.setenv("CARREFOUR_API_KEY", "k")
    code, _, err = run(["--config", str(cfg), "run-task", "offers", "--platform", "nope"])
    assert code == 2 and "unknown platform 'nope'" in err


def test_python_dash_m_bridge_is_the_same_cli() -> None:
    res = subprocess.run([sys.executable, "-m", "bridge", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("mirakl-bridge ")


def test_the_sandbox_command_takes_the_async_imports_flag() -> None:
    from bridge.cli import build_parser

    args = build_parser().parse_args(["sandbox", "mirakl", "--port", "0", "--async-imports"])
    assert (args.sandbox_command, args.async_imports, args.port) == ("mirakl", True, 0)
    assert build_parser().parse_args(["sandbox", "mirakl"]).async_imports is False
