"""The exercise notebooks: in sync with solutions/, nbgrader-shaped, and honest under nbval.

* every solution notebook passes under ``pytest --nbval-lax``;
* every unfilled exercise notebook fails exactly at its check cells (and nothing else errors);
* a stub gives nothing of the solution away: nbgrader's bare ``raise NotImplementedError()``;
* every exercise has at least three graduated hints, reachable with ``hint("name")`` from the setup cell;
* every notebook ends with at least three concept questions (``answer_q1``), checked by ``check_question``
  (tests/test_questions.py has the questions themselves);
* locked cells are locked in JupyterLab too (``editable``/``deletable`` false).
"""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

import course_utils.checks as check_functions
from course_utils import homework
from course_utils.checks.hints import HINTS

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LESSON_NAMES = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_question(cell) -> bool:
    """A concept question's answer cell (id ``q1``, ``q2``, ...) rather than a coding exercise's."""
    return re.fullmatch(r"q\d+", cell.get("id") or "") is not None


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
    questions = [i for i in solutions if is_question(nb.cells[i])]
    assert 3 <= len(solutions) - len(questions) <= 6 and len(questions) >= 3 and len(checks) == len(solutions)
    for s in solutions:
        after = nb.cells[s + 1]
        assert nbgrader(after).get("grade") and nbgrader(after).get("locked"), f"cell {s} needs a check cell after it"
        assert nbgrader(after).get("points", 0) > 0
        assert "### BEGIN SOLUTION" in nb.cells[s].source and "### HINT" not in nb.cells[s].source
        if is_question(nb.cells[s]):
            name = nb.cells[s].id
            assert after.source == f'check_question("{path.name[:2]}", "{name}", answer_{name})', after.source
            assert nb.cells[s].source.startswith(f"answer_{name} = None  # "), "the stub says what form the answer takes"
            continue
        name = nb.cells[s].id  # the function or class the exercise asks for
        assert len(HINTS.get(name, ())) >= 3, f"{name}: every exercise needs at least three hints in checks/hints.py"
        check_name = re.match(r"(check_\w+)\(", after.source).group(1)
        assert getattr(check_functions, check_name).exercise == name, f"{check_name} must count the hints of {name}"
    for c in nb.cells:
        meta = nbgrader(c)
        assert meta.get("schema_version") == 3 and {"grade", "grade_id", "locked", "solution"} <= set(meta)
        if not meta.get("solution"):
            assert meta.get("locked"), f"{meta['grade_id']}: cells that are not answers are locked"
    intro = nb.cells[0].source
    assert f"pytest --nbval-lax exercises/{path.name}" in intro
    assert f"../notebooks/{path.name}" in intro
    assert 'hint("' in intro and "raise NotImplementedError()" in intro
    setup = next(c for c in nb.cells if c.id == "setup")
    assert "from course_utils.checks import check_question, choose, hint" in setup.source


def solution_lines(source: str) -> list[str]:
    """The code lines between the solution markers (the answer itself)."""
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == "### BEGIN SOLUTION":
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_stubs_give_nothing_of_the_solution_away(path):
    solution = nbformat.read(path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    for cell, stubbed in zip(solution.cells, exercise.cells):
        assert cell.id == stubbed.id
        if not nbgrader(cell).get("solution"):
            assert stubbed.source == cell.source
            continue
        for line in solution_lines(cell.source):
            assert line not in stubbed.source, f"{cell.id}: the stub shows the solution's line {line!r}"
        raises = re.findall(r"raise NotImplementedError\((.*)\)", stubbed.source)
        assert raises and all(message == "" for message in raises), f"{cell.id}: {stubbed.source}"
        assert stubbed.source.count("# YOUR CODE HERE") == len(raises)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_hints_are_not_the_solution(path):
    """The hints say what to do in words; none of them holds a line of the model answer."""
    for cell in nbformat.read(path, as_version=4).cells:
        if nbgrader(cell).get("solution") and not is_question(cell):
            for line in solution_lines(cell.source):
                for text in HINTS[cell.id]:
                    assert line not in text, f"a hint of {cell.id} holds the solution's line {line!r}"


def test_every_exercise_has_hints_and_every_hint_an_exercise():
    names = [c.id for path in SOLUTIONS for c in nbformat.read(path, as_version=4).cells
             if nbgrader(c).get("solution") and not is_question(c)]
    assert sorted(names) == sorted(HINTS)
    assert all(len(set(texts)) == len(texts) >= 3 for texts in HINTS.values())


def test_the_stub_is_nbgraders():
    """What homework writes is what nbgrader's generate_assignment writes: no message, no hint."""
    source = "def f(x):\n    \"Twice x.\"\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
    assert homework.strip_solutions(source) == (
        "def f(x):\n    \"Twice x.\"\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    with pytest.raises(homework.SolutionMarkerError, match="hints.py"):
        homework.strip_solutions("### BEGIN SOLUTION\n### HINT: double it\nreturn 2 * x\n### END SOLUTION")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_locked_cells_cannot_be_edited_or_deleted_in_jupyterlab(path):
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    for cell in exercise.cells:
        if nbgrader(cell).get("locked"):
            assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False, cell.id
        else:
            assert cell.metadata.get("editable", True) and cell.metadata.get("deletable", True), cell.id


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_notebook_passes_nbval(path, tmp_path):
    assert run_nbval(path, tmp_path) == {}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_unfilled_exercise_fails_exactly_at_its_check_cells(path, tmp_path):
    exercise = ROOT / "exercises" / path.name
    nb = nbformat.read(exercise, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    check_cells = {i for i, c in enumerate(code) if nbgrader(c).get("grade")}
    answer_cells = {i for i, c in enumerate(code) if is_question(c)}  # nbgrader's stub raises NotImplementedError
    failed = run_nbval(exercise, tmp_path)
    assert set(failed) == check_cells | answer_cells
    for index, text in failed.items():
        if index in answer_cells:
            assert "NotImplementedError" in text, f"cell {index} failed for another reason: {text[:500]}"
        elif code[index].source.startswith("check_question("):
            assert "not answered yet" in text, f"cell {index} failed for another reason: {text[:500]}"
        else:
            assert "not written yet" in text, f"cell {index} failed for another reason: {text[:500]}"


def test_exercise_notebooks_are_committed_clean():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")) + SOLUTIONS:
        nb = json.loads(path.read_text())
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_each_exercise_is_worth_the_points_its_definition_gives(path):
    """Points are part of an exercise's one definition: nbgrader's metadata and the heading say the same."""
    from course_utils.grade.rubric import rubric_for

    rubric = rubric_for(path.name[:2])
    heading = None
    graded = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Exercise"):
            heading = cell.source.splitlines()[0]
        meta = nbgrader(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            graded[meta["grade_id"]] = meta["points"]
            exercise = rubric[meta["grade_id"]]
            assert exercise.points > 0 and meta["points"] == exercise.points, meta["grade_id"]
            if exercise.question is None:
                worth = f"({exercise.points} point{'s' if exercise.points > 1 else ''})"
                assert heading and heading.endswith(worth), (meta["grade_id"], heading)
    assert set(graded) == set(rubric)
