"""Run every benchmark with the published settings and print their figures, one after the other.

    PYTHONPATH=. python benchmarks/run_all.py [--quick] [--server URL]

Default: offers on 40,000 products x 5 combinations (200,000 offers), accept and import of 1,000
two-line orders, 3 repetitions each. ``--quick``: 2,000 x 5 offers and 100 orders, 1 repetition
(a smoke run of the scripts, not figures to publish). Each script creates and drops its databases.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--server", default=None)
    args = ap.parse_args()
    server = ["--server", args.server] if args.server else []
    if args.quick:
        runs = [("offers_bench.py", ["--products", "2000", "--repeat", "1"]),
                ("accept_bench.py", ["--orders", "100", "--repeat", "1"]),
                ("import_bench.py", ["--orders", "100", "--repeat", "1"])]
    else:
        runs = [("offers_bench.py", []), ("accept_bench.py", []), ("import_bench.py", [])]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(HERE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    status = 0
    for script, extra in runs:
        print(f"=== {script} {' '.join(extra)}", flush=True)
        status |= subprocess.run([sys.executable, os.path.join(HERE, script), *extra, *server], env=env,
                                 check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
