"""Turn the reliability suite's tallies into the markdown table of docs/reliability.md.

    BRIDGE_RELIABILITY_RESULTS=/tmp/rel.jsonl pytest tests/reliability
    python tests/reliability/summarize.py /tmp/rel.jsonl > table.md
    python tests/reliability/summarize.py --groups /tmp/rel.jsonl   # one row per family (README)

One row per scenario: the sums of its tests' tallies (each test appends one JSON line, see
``tests/reliability/harness.py``). Nothing here is computed by hand: a scenario that did not run is
not in the table.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

COLUMNS = ("runs", "orders", "duplicates", "lost", "partial", "oversold", "stock_drift")
HEADERS = ("scenario", "tests", "runs", "orders", "duplicates", "lost", "partial", "oversold", "stock drift")


def summarize(lines: list[str], *, groups: bool = False) -> str:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("tests", *COLUMNS), 0))
    order: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        name = row["scenario"].split(":")[0] if groups else row["scenario"]
        if name not in totals:
            order.append(name)
        t = totals[name]
        t["tests"] += 1
        for c in COLUMNS:
            t[c] += int(row.get(c) or 0)
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    grand = dict.fromkeys(("tests", *COLUMNS), 0)
    for name in order:
        t = totals[name]
        out.append(f"| {name} | " + " | ".join(str(t[c]) for c in ("tests", *COLUMNS)) + " |")
        for c in grand:
            grand[c] += t[c]
    out.append("| **all** | " + " | ".join(f"**{grand[c]}**" for c in ("tests", *COLUMNS)) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    groups = "--groups" in argv
    paths = [a for a in argv if a != "--groups"]
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(summarize(Path(paths[0]).read_text(encoding="utf-8").splitlines(), groups=groups))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
