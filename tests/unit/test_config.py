"""Config validation: whole-file, every problem with its path, secrets from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.config import ENV_DATABASE_URL, config_from_dict, load_config, min_gap_s
from bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def minimal(**platform: object) -> dict:
    p = {"code": "carrefour", "api_url": "https://carrefour.mirakl.net", "api_key_env": "KEY"}
    p.update(platform)
    return {"shop": {"database_url": "mysql+pymysql://u@127.0.0.1/ps"}, "platforms": [p]}


def errors_of(raw: dict, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw, env if env is not None else {"KEY": "k"})
    return exc.value.errors


def test_example_config_is_valid_when_its_key_variable_is_set() -> None:
    cfg = load_config(EXAMPLE, {"CARREFOUR_API_KEY": "secret"})
    assert cfg.platforms[0].api_key_value() == "secret"
    assert cfg.platforms[0].schedule.for_task("import") == "20 * * * *"


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    raw = minimal()
    raw["shop"]["table_prefix"] = "ps-; DROP"
    raw["shop"]["colour"] = "blue"
    raw["platforms"].append({"code": "fnac", "api_url": "https://f.mirakl.net", "api_key_env": "FNAC_KEY",
                             "offers": {"stock_buffer": -1}})
    errs = errors_of(raw)
    assert "shop.colour: unknown key" in errs
    assert any(e.startswith("shop.table_prefix: must match") for e in errs)
    assert "platforms[1].offers.stock_buffer: must be >= 0" in errs
    assert "platforms[1].api_key_env: environment variable FNAC_KEY is not set" in errs


def test_plain_http_is_refused_except_on_loopback() -> None:
    assert any("plain http is only allowed" in e for e in errors_of(minimal(api_url="http://evil.example")))
    cfg = config_from_dict(minimal(api_url="http://127.0.0.1:8099"), {"KEY": "k"})
    assert cfg.platforms[0].api_url == "http://127.0.0.1:8099"


def test_duplicate_platform_codes_are_refused() -> None:
    raw = minimal()
    raw["platforms"].append(dict(raw["platforms"][0]))
    assert any("used twice" in e for e in errors_of(raw))


def test_schedule_faster_than_once_a_minute_is_an_error_and_under_five_minutes_a_warning() -> None:
    errs = errors_of(minimal(schedule={"accept": "*/30 * * * * *"}))
    assert any(e.startswith("platforms[0].schedule.accept: runs every 30 s") for e in errs)
    cfg = config_from_dict(minimal(schedule={"accept": "*/2 * * * *"}), {"KEY": "k"})
    assert any("schedule.accept: runs more often than every 5 minutes" in w for w in cfg.warnings)


def test_invalid_cron_is_reported_with_its_path() -> None:
    errs = errors_of(minimal(schedule={"offers": "every hour"}))
    assert any(e.startswith("platforms[0].schedule.offers: invalid cron expression") for e in errs)


def test_working_day_schedule_gap_is_one_hour() -> None:
    assert min_gap_s("0 * * * mon-fri") == 3600


def test_database_url_comes_from_the_environment_when_set() -> None:
    env = {"KEY": "k", ENV_DATABASE_URL: "mysql+pymysql://bridge:pw@db/shop"}
    cfg = config_from_dict(minimal(), env)
    assert cfg.shop.database_url.get_secret_value() == "mysql+pymysql://bridge:pw@db/shop"
    assert "pw" not in repr(cfg)


def test_api_key_in_the_file_is_accepted_with_a_warning() -> None:
    raw = minimal()
    del raw["platforms"][0]["api_key_env"]
    raw["platforms"][0]["api_key"] = "in-file-key"
    cfg = config_from_dict(raw, {})
    assert cfg.platforms[0].api_key_value() == "in-file-key"
    assert any("api_key" in w for w in cfg.warnings)
    assert "in-file-key" not in repr(cfg)


def test_world_readable_file_with_secrets_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[shop]\ndatabase_url = "mysql+pymysql://u:pw@h/db"\n[[platforms]]\ncode = "x"\n'
        'api_url = "https://x.mirakl.net"\napi_key_env = "KEY"\n'
    )
    os.chmod(path, 0o644)
    assert any("chmod 600" in w for w in load_config(path, {"KEY": "k"}).warnings)
    os.chmod(path, 0o600)
    assert not any("chmod 600" in w for w in load_config(path, {"KEY": "k"}).warnings)


def test_missing_file_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", {})
    bad = tmp_path / "bad.toml"
    bad.write_text("[shop\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, {})


def test_http_endpoint_needs_a_token() -> None:
    raw = minimal()
    raw["http"] = {"enabled": True}
    assert any(e.startswith("http.token_env: environment variable BRIDGE_HTTP_TOKEN") for e in errors_of(raw))
