"""The configuration reference and config.example.toml cannot drift from the model."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.confdoc import all_keys, render

ROOT = Path(__file__).resolve().parents[2]
_HEADER = re.compile(r"^\s*\[\[?([a-z_.]+)\]?\]")
_KEY = re.compile(r"^\s*#?\s*([a-z_][a-z0-9_]*)\s*=")


def example_keys(text: str) -> set[str]:
    """Keys present in the example, commented-out ones included, with their section path."""
    keys: set[str] = set()
    section = ""
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            section = header.group(1)
            keys.add(section)
            continue
        key = _KEY.match(line)
        if key and section:
            keys.add(f"{section}.{key.group(1)}")
    return keys


def test_configuration_reference_is_generated_from_the_model() -> None:
    current = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert current == render(), "docs/configuration.md is stale: run python -m bridge.confdoc > docs/configuration.md"


def test_every_model_key_is_documented_in_the_example_config() -> None:
    present = example_keys((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    missing = [k for k in all_keys() if k not in present]
    assert not missing, f"config.example.toml lacks: {missing}"


def test_the_drift_check_sees_a_missing_key() -> None:
    assert "shop.table_prefix" in example_keys('[shop]\ntable_prefix = "ps_"\n')
    assert "shop.table_prefix" not in example_keys('[shop]\nid_shop = 1\n')
    assert "platforms.api_key" in example_keys('[[platforms]]\n# api_key = "x"\n')
