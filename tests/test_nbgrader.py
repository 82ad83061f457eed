"""Real nbgrader (0.9.6, in .venv-nbgrader) over ``solutions/``, scored against the course's own grader.

One temporary nbgrader course holds all six notebooks as ``source/NN/``. ``generate_assignment`` releases
them all; then the solution, the unfilled release and one typical wrong answer of assignments 01, 04 and 06
are submitted and ``autograde``d, and each is graded by ``course_utils.grade`` too, from the same bytes.
nbgrader's score of every graded cell (from its gradebook) must equal the course grader's, grade_id by
grade_id. nbgrader runs the notebooks in the course's kernel (this Python, registered as a kernelspec in the
temporary folder), the way the README tells instructors to: nbgrader's own environment cannot import
``course_utils``.

``make test`` builds .venv-nbgrader; without it these tests skip (and fail under CI).
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.checks.hints import HINTS
from course_utils.grade import Limits, grade_batch, sandbox

ROOT = Path(__file__).resolve().parent.parent
NBGRADER_BIN = ROOT / ".venv-nbgrader" / "bin"
KERNEL = "loss-and-optimization"
AUTOGRADED = ("01", "04", "06")

# One typical mistake per autograded assignment: {solution cell id: its wrong source}.
WRONG = {
    "01": {"mae": "def mae(y_true, y_pred):  # |mean(e)|, not mean(|e|)\n"
                  "    errors = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)\n"
                  "    return np.abs(np.mean(errors, axis=-1))\n"},
    "04": {"adam_update": "def adam_update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, "
                          "epsilon=1e-7):  # no bias correction\n"
                          "    m = beta_1 * m + (1 - beta_1) * grad\n"
                          "    v = beta_2 * v + (1 - beta_2) * grad**2\n"
                          "    return -learning_rate * m / (np.sqrt(v) + epsilon), m, v\n"},
    "06": {"make_batches": "def make_batches(x, y, batch_size):  # drops the last, smaller batch\n"
                           "    return [(x[i:i + batch_size], y[i:i + batch_size])\n"
                           "            for i in range(0, len(x) - batch_size + 1, batch_size)]\n"},
}

CONFIG = f"""\
c = get_config()
c.CourseDirectory.course_id = "loss-and-optimization"
c.Execute.kernel_name = "{KERNEL}"  # the course's environment: it imports course_utils, TensorFlow, Keras
c.Execute.timeout = 300  # seconds per cell (nbgrader's default, 30, is too short for 06's training cells)
"""

# Reads the gradebook inside .venv-nbgrader: {assignment: {student: {grade_id: [score, max_score]}}}.
READ_GRADEBOOK = """\
import json, warnings
warnings.simplefilter("ignore")
from nbgrader.api import Gradebook
out = {}
with Gradebook("sqlite:///gradebook.db") as gb:
    for assignment in gb.assignments:
        for submission in assignment.submissions:
            cells = out.setdefault(assignment.name, {}).setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = [grade.score, grade.max_score]
print(json.dumps(out))
"""


def notebooks(folder):
    """{assignment number: notebook path} of ``folder``."""
    return {path.name[:2]: path for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}


def with_cells(path, replace):
    """The notebook at ``path`` with the sources of the cells in ``replace`` ({id: source}) replaced."""
    nb = nbformat.read(path, as_version=4)
    found = set()
    for cell in nb.cells:
        if cell.get("id") in replace:
            cell.source = replace[cell.id]
            found.add(cell.id)
    assert found == set(replace), f"no cell {set(replace) - found} in {path.name}"
    return nbformat.writes(nb)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def graded_ids(nb):
    """The grade ids of the autograded cells (graded, not a solution), in order."""
    return [meta(c)["grade_id"] for c in nb.cells if meta(c).get("grade") and not meta(c).get("solution")]


def nbgrader(course, env, *args, timeout):
    done = subprocess.run([str(NBGRADER_BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Release all six, autograde 01/04/06 with nbgrader and grade the same files with course_utils.grade.

    Returns a dict: folder, releases {NN: path}, nbgrader {NN: {student: {grade_id: [score, max]}}},
    ours {NN: {student: results.json dict}}, seconds {step: wall time}.
    """
    if not (NBGRADER_BIN / "nbgrader").exists():
        reason = "no .venv-nbgrader (`make .venv-nbgrader/bin/nbgrader` builds it; `make test` does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason + ": with CI=true it must run, not skip")
        pytest.skip(reason)

    top = tmp_path_factory.mktemp("nbgrader")
    folder = top / "course"
    sources = notebooks(ROOT / "solutions")
    assert sorted(sources) == ["01", "02", "03", "04", "05", "06"]
    for number, path in sources.items():
        (folder / "source" / number).mkdir(parents=True)
        (folder / "source" / number / path.name).write_bytes(path.read_bytes())
    (folder / "nbgrader_config.py").write_text(CONFIG)
    # The course's kernel, as an instructor registers it (here under a prefix of the test's own, not --user).
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(top / "kernel"), "--name", KERNEL,
                    "--display-name", "Loss & Optimization"], check=True, capture_output=True, timeout=120)
    (top / "config").mkdir()
    env = dict(os.environ, PATH=f"{NBGRADER_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_PATH=str(top / "kernel" / "share" / "jupyter"),
               JUPYTER_CONFIG_DIR=str(top / "config"))  # no nbgrader_config.py of the user's own
    seconds = {}

    start = time.monotonic()
    nbgrader(folder, env, "generate_assignment", "*", timeout=600)
    seconds["generate_assignment (6)"] = time.monotonic() - start
    releases = {n: folder / "release" / n / sources[n].name for n in sources}

    submissions = {}
    for number in AUTOGRADED:
        name = sources[number].name
        submissions[number] = {
            "solution": sources[number].read_text(encoding="utf-8"),
            "unfilled": releases[number].read_text(encoding="utf-8"),
            "wrong": with_cells(sources[number], WRONG[number]),
        }
        for student, text in submissions[number].items():
            target = folder / "submitted" / student / number / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    # nbgrader grades in the background (its log to a file, so no pipe fills) while the course grader grades
    # the same files here.
    start, finished = time.monotonic(), []
    with open(top / "autograde.log", "w") as log:
        autograde = subprocess.Popen([str(NBGRADER_BIN / "nbgrader"), "autograde", "*"], cwd=folder, env=env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait():
        autograde.wait()
        finished.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    try:
        ours = {}
        sandboxed = not sandbox.check()
        for number in AUTOGRADED:
            subs, out = top / f"ours-{number}", top / f"ours-{number}-out"
            subs.mkdir()
            for student, text in submissions[number].items():
                (subs / f"{student}.ipynb").write_text(text, encoding="utf-8")
            ours[number] = grade_batch(subs, number, out, exercises=ROOT / "exercises", workers=1,
                                       limits=Limits(cell_timeout=300, budget=900, sandbox=sandboxed))
        seconds["course_utils.grade (9, beside nbgrader)"] = time.monotonic() - start
        waiter.join(timeout=1800)
    finally:
        if autograde.poll() is None:  # timed out: stop nbgrader and the kernel it started
            os.killpg(autograde.pid, signal.SIGKILL)
            autograde.wait()
        waiter.join()
    assert finished and autograde.returncode == 0, \
        f"nbgrader autograde failed or timed out:\n{(top / 'autograde.log').read_text()[-5000:]}"
    seconds["nbgrader autograde (9, beside course_utils.grade)"] = finished[0] - start

    read = subprocess.run([str(NBGRADER_BIN / "python"), "-c", READ_GRADEBOOK], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    print("wall times (s):", {k: round(v, 1) for k, v in seconds.items()})
    return {"folder": folder, "releases": releases, "nbgrader": json.loads(read.stdout), "ours": ours,
            "seconds": seconds}


def autograded_output(course, number, student, grade_id):
    """The text nbgrader's run left in one cell of one autograded notebook (errors included)."""
    path = course["folder"] / "autograded" / student / number / course["releases"][number].name
    cell = next(c for c in nbformat.read(path, as_version=4).cells if c.get("id") == grade_id)
    return "\n".join(o.get("text", "") + f"{o.get('ename', '')}: {o.get('evalue', '')}" * (o.output_type == "error")
                     for o in cell.outputs)


def test_nbgrader_environment_cannot_import_course_utils():
    """Why nbgrader needs the course's kernel: its own Python has no course_utils (nor TensorFlow)."""
    python = NBGRADER_BIN / "python"
    if not python.exists():
        pytest.skip("no .venv-nbgrader")
    done = subprocess.run([str(python), "-c", "import course_utils"], capture_output=True, text=True, timeout=60,
                          cwd="/")
    assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr


def test_generate_assignment_releases_the_exercise_notebooks(course):
    """nbgrader's release is exactly exercises/: the same cells, ids and sources (markdown with the task included)."""
    exercises = notebooks(ROOT / "exercises")
    for number, path in course["releases"].items():
        released = nbformat.read(path, as_version=4)
        ours = nbformat.read(exercises[number], as_version=4)
        assert [(c.id, c.cell_type, c.source) for c in released.cells] == \
            [(c.id, c.cell_type, c.source) for c in ours.cells], number
        for cell in released.cells:
            if meta(cell).get("solution"):
                assert "### BEGIN SOLUTION" not in cell.source and "raise NotImplementedError()" in cell.source


def test_hints_survive_generate_assignment(course):
    """Every release imports hint in its setup cell, and keeps each exercise's task (markdown) and answer cell."""
    solutions = notebooks(ROOT / "solutions")
    for number, path in course["releases"].items():
        released = nbformat.read(path, as_version=4)
        setup = next(c for c in released.cells if c.id == "setup")
        assert re.search(r"^from course_utils\.checks import .*\bhint\b", setup.source, re.M), number
        source = nbformat.read(solutions[number], as_version=4)
        assert [(c.id, c.source) for c in released.cells if c.cell_type == "markdown"] == \
            [(c.id, c.source) for c in source.cells if c.cell_type == "markdown"], number
        asked = [c.id for c in source.cells if meta(c).get("solution") and c.cell_type == "code" and c.id in HINTS]
        assert asked, f"{number}: no exercise with hints"
        text = "\n".join(c.source for c in released.cells)
        for name in asked:
            at = next(i for i, c in enumerate(released.cells) if c.id == name)
            task = next(c for c in reversed(released.cells[:at]) if c.cell_type == "markdown")
            assert f"`{name}" in task.source, (number, name)  # the task names what hint("name") takes
            assert len(HINTS[name]) >= 3 and not any(h in text for h in HINTS[name]), (number, name)


def test_unfilled_release_points_to_hints_under_autograde(course):
    """nbgrader ran the unfilled release: every failed check of an exercise says how to ask for its first hint."""
    for number in AUTOGRADED:
        path = course["folder"] / "autograded" / "unfilled" / number / course["releases"][number].name
        for cell in nbformat.read(path, as_version=4).cells:
            name = cell.get("id", "").removesuffix("-check")
            if cell.cell_type != "code" or not meta(cell).get("grade") or name not in HINTS:
                continue
            shown = autograded_output(course, number, "unfilled", cell.id)
            assert f'run hint("{name}") for hint 1 of' in shown, (number, cell.id, shown[-500:])


@pytest.mark.parametrize("number", AUTOGRADED)
def test_nbgrader_scores_equal_course_grader(course, number):
    """Exercise by exercise (grade_id), for the solution, the unfilled release and a typical wrong answer."""
    release = nbformat.read(course["releases"][number], as_version=4)
    ids = graded_ids(release)
    assert ids, number
    theirs, ours = course["nbgrader"][number], course["ours"][number]
    assert sorted(theirs) == sorted(ours) == ["solution", "unfilled", "wrong"]
    for student in theirs:
        nbgrader_scores = {gid: tuple(score) for gid, score in theirs[student].items()}
        course_scores = {t["name"]: (t["score"], t["max_score"]) for t in ours[student]["tests"]}
        assert sorted(nbgrader_scores) == sorted(course_scores) == sorted(ids), (number, student)
        differ = sorted(gid for gid in ids if nbgrader_scores[gid] != course_scores[gid])
        assert not differ, "\n".join(
            f"{number} {student} {gid}: nbgrader {nbgrader_scores[gid]}, course_utils.grade {course_scores[gid]}\n"
            f"  nbgrader's cell output: {autograded_output(course, number, student, gid)[-1500:]}\n"
            f"  course_utils.grade: {next(t['output'] for t in ours[student]['tests'] if t['name'] == gid)}"
            for gid in differ)
    # and the three submissions are what they claim to be: full marks, nothing, one exercise lost
    solution = {gid: score for gid, (score, top) in theirs["solution"].items() if score == top > 0}
    assert sorted(solution) == sorted(ids), (number, theirs["solution"])
    assert all(score == 0 for score, _ in theirs["unfilled"].values()), (number, theirs["unfilled"])
    lost = {gid for gid, (score, top) in theirs["wrong"].items() if score < top}
    assert lost == {f"{cell}-check" for cell in WRONG[number]}, (number, theirs["wrong"])
