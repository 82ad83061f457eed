"""The exercise notebooks: in sync with solutions/, nbgrader-shaped, and honest under nbval.

* every solution notebook passes under ``pytest --nbval-lax``;
* every unfilled exercise notebook fails exactly at its check cells (and nothing else errors).
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from course_utils import homework

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LESSON_NAMES = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def run_nbval(path: Path, tmp_path: Path) -> dict[int, str]:
    """Run ``pytest --nbval-lax`` on one notebook; return ``{code cell index: failure text}`` for failed cells."""
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:xdist",
               "-p", "no:cacheprovider", "-q", f"--junitxml={report}", str(path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert report.exists(), result.stdout + result.stderr
    failed = {}
    cases = ET.parse(report).getroot().iter("testcase")
    count = 0
    for case in cases:
        count += 1
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        if problem is not None:
            failed[int(case.get("name").split()[-1])] = (problem.get("message") or "") + (problem.text or "")
    assert count > 0, "nbval collected no cells"
    return failed


def test_there_is_one_exercise_notebook_per_lesson():
    assert [p.name for p in SOLUTIONS] == LESSON_NAMES or not LESSON_NAMES
    assert len(SOLUTIONS) >= 2


def test_exercises_are_built_from_solutions():
    assert homework.out_of_date() == [], "run: python -m course_utils.homework build"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_shape(path):
    nb = nbformat.read(path, as_version=4)
    ids = [nbgrader(c).get("grade_id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique nbgrader grade_id"
    assert [c.get("id") for c in nb.cells] == ids, "cell ids must equal the grade ids (the grader matches on them)"
    solutions = [i for i, c in enumerate(nb.cells) if nbgrader(c).get("solution")]
    checks = [i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade")]
    assert 3 <= len(solutions) <= 6 and len(checks) == len(solutions)
    for s in solutions:
        after = nb.cells[s + 1]
        assert nbgrader(after).get("grade") and nbgrader(after).get("locked"), f"cell {s} needs a check cell after it"
        assert nbgrader(after).get("points", 0) > 0
        assert "### BEGIN SOLUTION" in nb.cells[s].source and "### HINT:" in nb.cells[s].source
    for c in nb.cells:
        meta = nbgrader(c)
        assert meta.get("schema_version") == 3 and {"grade", "grade_id", "locked", "solution"} <= set(meta)
        if not meta.get("solution"):
            assert meta.get("locked"), f"{meta['grade_id']}: cells that are not answers are locked"
    intro = nb.cells[0].source
    assert f"pytest --nbval-lax exercises/{path.name}" in intro
    assert f"../notebooks/{path.name}" in intro


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_notebook_passes_nbval(path, tmp_path):
    assert run_nbval(path, tmp_path) == {}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_unfilled_exercise_fails_exactly_at_its_check_cells(path, tmp_path):
    exercise = ROOT / "exercises" / path.name
    nb = nbformat.read(exercise, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    check_cells = {i for i, c in enumerate(code) if nbgrader(c).get("grade")}
    failed = run_nbval(exercise, tmp_path)
    assert set(failed) == check_cells
    for index, text in failed.items():
        assert "not written yet" in text, f"cell {index} failed for another reason: {text[:500]}"


def test_exercise_notebooks_are_committed_clean():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")) + SOLUTIONS:
        nb = json.loads(path.read_text())
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code")
