"""Every lesson notebook runs top to bottom: no error, nothing on stderr, no warnings, no downloads,
the same text output on every run, and it is committed without outputs. Every figure it draws (its own
and its explorers') tells its series apart without colour, in the course palette (tests/plot_audit.py)."""

import json

import pytest

from tests.nbrun import LESSONS, execute, plain_outputs, problems

pytestmark = pytest.mark.skipif(not LESSONS, reason="no lesson notebooks yet")

_RUNS = {}


def run(path):
    """The lesson executed once per session, with its figures audited (tests.nbrun.execute(audit=True))."""
    if path not in _RUNS:
        _RUNS[path] = execute(path, audit=True)
    return _RUNS[path]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_cleanly(path):
    assert problems(run(path)) == []


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_deterministic(path):
    assert plain_outputs(execute(path)) == plain_outputs(run(path))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_figures_tell_series_apart_without_colour(path):
    assert run(path).metadata["plot_audit"] == []


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert dirty == [], f"cells {dirty} carry outputs: clear them before committing"


def test_the_six_lessons_exist_in_order():
    assert [p.name[:2] for p in LESSONS] == ["01", "02", "03", "04", "05", "06"]
