"""Configuration reference generated from the pydantic model (docs/configuration.md cannot drift).

``python -m bridge.confdoc > docs/configuration.md`` regenerates it; a test fails when the file
differs from the model, or when config.example.toml lacks a key the model has.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bridge.config import Config

SECTIONS: list[tuple[str, str]] = [
    ("shop", "[shop]"),
    ("logging", "[logging]"),
    ("daemon", "[daemon]"),
    ("http", "[http]"),
    ("platforms", "[[platforms]]"),
]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation)).replace("SecretStr", "secret string")
    args = [a for a in get_args(annotation) if a is not type(None)]
    if str(origin).endswith("Literal"):
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin in (list,):
        return f"list of {_type_name(args[0])}"
    if origin in (dict,):
        return f"table {_type_name(args[0])} → {_type_name(args[1])}"
    if len(args) == 1:
        return _type_name(args[0])
    return " or ".join(_type_name(a) for a in args)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return ""
        return repr(value) if value else "empty"
    if field.default is None:
        return "unset"
    return f"`{field.default}`" if not isinstance(field.default, str) else f'`"{field.default}"`'


def iter_keys(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, FieldInfo, type[BaseModel] | None]]:
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        sub = _model_of(field.annotation)
        if sub is not None and get_origin(field.annotation) is not list:
            yield from iter_keys(sub, f"{prefix}.{key}")
        else:
            yield f"{prefix}.{key}", field, sub


def all_keys() -> list[str]:
    keys = []
    for section, _ in SECTIONS:
        field = Config.model_fields[section]
        model = _model_of(field.annotation)
        assert model is not None
        keys += [k for k, _, _ in iter_keys(model, section)]
    return keys


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from `bridge/config.py` by `python -m bridge.confdoc > docs/configuration.md`;",
        "a test fails when this page or `config.example.toml` drifts from the model.",
        "Unknown keys are rejected; every problem is reported at once with its path.",
        "Environment: `BRIDGE_CONFIG` (config path), `BRIDGE_SHOP_DATABASE_URL` (overrides `shop.database_url`),",
        "the variables named by `platforms[].api_key_env` and `http.token_env`.",
        "",
    ]
    for section, title in SECTIONS:
        model = _model_of(Config.model_fields[section].annotation)
        assert model is not None
        lines += [f"## {title}", "", "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for key, field, _ in iter_keys(model, section):
            desc = (field.description or "").replace("|", "\\|")
            kind = _type_name(field.annotation).replace("|", "\\|")
            lines.append(f"| `{key}` | {kind} | {_default(field)} | {desc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
