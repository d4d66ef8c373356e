"""The CI guard turns a skipped database test into a failure, and leaves other skips alone."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parents[1]

CONFTEST = f'''
import sys
sys.path.insert(0, {str(TESTS)!r})
import pytest
from ci_guard import guard_report

@pytest.fixture
def shop():
    pytest.skip("no database here")

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    guard_report(item, outcome.get_result())
'''

TESTS_FILE = '''
import pytest

def test_needs_the_shop(shop):
    pass

@pytest.mark.db
def test_marked_db():
    pytest.skip("no server")

def test_unrelated_skip():
    pytest.skip("not a database test")
'''


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, require: str | None) -> pytest.RunResult:
    if require is None:
        monkeypatch.delenv("BRIDGE_REQUIRE_DB", raising=False)
    else:
        monkeypatch.setenv("BRIDGE_REQUIRE_DB", require)
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    db: database\n")
    pytester.makepyfile(TESTS_FILE)
    return pytester.runpytest_subprocess("-q")


def test_skipped_database_tests_fail_when_the_database_is_required(pytester, monkeypatch) -> None:
    result = run(pytester, monkeypatch, "1")
    result.assert_outcomes(failed=1, errors=1, skipped=1)  # a skip in a fixture fails at setup: an error
    result.stdout.fnmatch_lines(["*database/schema test skipped while BRIDGE_REQUIRE_DB=1*"])


def test_without_the_requirement_skips_stay_skips(pytester, monkeypatch) -> None:
    run(pytester, monkeypatch, None).assert_outcomes(skipped=3)
