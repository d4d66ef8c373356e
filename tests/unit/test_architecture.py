"""The import direction is the architecture: domain is pure, SQL is parameterised."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_domain_imports_no_io_library() -> None:
    modules = sorted(p.stem for p in (ROOT / "bridge" / "domain").glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import bridge.domain.{m}\n" for m in modules)
        + "bad = [m for m in ('sqlalchemy','requests','apscheduler','structlog','pymysql','pydantic') "
        "if m in sys.modules]\nprint(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"bridge.domain pulls in {out.stdout.strip()}"


# SQL handed to the driver as an f-string, or a literal glued with %, + or .format()
_STRING_SQL = re.compile(
    r"""\b(text|execute|exec_driver_sql|executescript)\(\s*(f["']|["'][^"']*["']\s*(%|\+|\.format))"""
)
# the only allowed cases: module constants with no outside input
ALLOWED: set[tuple[str, str]] = set()


def test_no_sql_is_built_from_strings_outside_identifier_quoting() -> None:
    offenders = []
    for path in sorted((ROOT / "bridge").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("#") or not _STRING_SQL.search(line):
                continue
            if any(rel == f and frag in line for f, frag in ALLOWED) or _only_quoted_identifiers(line):
                continue
            offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "string-built SQL:\n" + "\n".join(offenders)


def _only_quoted_identifiers(line: str) -> bool:
    """An f-string whose every placeholder is a back-quoted identifier (names validated upstream)."""
    if not re.search(r"\bf[\"']", line):
        return False
    return "{" not in re.sub(r"`\{[^}`]*\}`", "", line)


def test_the_sql_check_catches_string_built_sql() -> None:
    assert _only_quoted_identifiers('conn.execute(text(f"DROP DATABASE `{_checked(name)}`"))')
    assert not _only_quoted_identifiers('conn.execute(text(f"DROP DATABASE `{a}` WHERE x={b}"))')
    assert _STRING_SQL.search('conn.execute(text(f"SELECT * FROM {table} WHERE id={x}"))')
    assert _STRING_SQL.search('cur.execute("DELETE FROM t WHERE a=%s" % value)')
    assert not _STRING_SQL.search('conn.execute(text("SELECT GET_LOCK(:n, :t)"), {"n": name})')
