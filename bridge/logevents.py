"""Inventory of the structured log events the code emits (for docs/support.md and its drift test).

``python -m bridge.logevents`` lists every ``log.<level>("event.name", field=...)`` call found in bridge/
with its level(s), fields and module.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

LEVELS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
_EVENT = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


@dataclass
class Event:
    name: str
    levels: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


def _level(func: ast.expr) -> str | None:
    """The log level of a call target: log.info -> "info"; a level chosen at run time -> "varies"."""
    if isinstance(func, ast.Attribute):
        return func.attr if func.attr in LEVELS else None
    if isinstance(func, (ast.Name, ast.IfExp)):
        return "varies"
    return None


def _event_tables(tree: ast.Module) -> list[str]:
    """Event names held in module-level dicts named *EVENTS* (a level chosen per outcome)."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            if any(isinstance(t, ast.Name) and "EVENTS" in t.id for t in node.targets):
                names += [v.value for v in node.value.values
                          if isinstance(v, ast.Constant) and isinstance(v.value, str) and _EVENT.match(v.value)]
    return names


def scan(root: Path) -> dict[str, Event]:
    events: dict[str, Event] = defaultdict(lambda: Event(""))
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = path.relative_to(root.parent).with_suffix("").as_posix().replace("/", ".")
        table = _event_tables(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            level = _level(node.func)
            first = node.args[0]
            if level is None:
                continue
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and _EVENT.match(first.value):
                names = [first.value]
            elif isinstance(first, ast.Subscript) and table and node.keywords:
                names = table
            else:
                continue
            if level == "varies" and not node.keywords:
                continue
            for name in names:
                ev = events[name]
                ev.name = name
                ev.levels.add("error" if level == "exception" else level)
                ev.fields.update(k.arg for k in node.keywords if k.arg)
                ev.modules.add(module)
    return dict(sorted(events.items()))


def main() -> int:
    root = Path(__file__).resolve().parent
    for ev in scan(root).values():
        print(f"{ev.name:<34} {','.join(sorted(ev.levels)):<14} {', '.join(sorted(ev.fields))}  "
              f"[{', '.join(sorted(ev.modules))}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
