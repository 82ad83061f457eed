"""The instructor grader: honest answers, wrong answers, cheats and broken submissions, in one batch each.

Submissions are built at run time from ``solutions/`` (copy a notebook, replace a cell's source).
The batch of assignment 01 is graded once (module fixture, 2 workers) and inspected by many tests.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.grade import Limits, NoRubric, grade_batch, rubric_for
from course_utils.grade.probe import BadProbeResult, decode
from course_utils.grade.rebuild import find_release, read_submission, rebuild
from course_utils.grade.rubric import Case, judge

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_01 = ROOT / "solutions" / "01_loss_as_error.ipynb"
SOLUTION_02 = ROOT / "solutions" / "02_cross_entropy.ipynb"
OTHERS_01 = {"mae-check": 2.0, "huber-check": 2.0, "under_penalty_mse-check": 3.0}  # everything but mse

MSE_SUM = "def mse(y_true, y_pred):\n    return np.sum((np.asarray(y_true) - np.asarray(y_pred)) ** 2, axis=-1)\n"


def variant(path, replace=None, drop=(), edit=None):
    """The notebook at ``path`` with cell sources replaced ({id: source}), cells dropped, or cells edited."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.id not in drop]
    for cell in nb.cells:
        if replace and cell.id in replace:
            cell.source = replace[cell.id]
        if edit and cell.id in edit:
            edit[cell.id](cell)
    return nbformat.writes(nb)


def tag_cell(cell):
    cell.metadata["tags"] = ["skip-execution", "raises-exception"]
    cell.source = "# NBVAL_SKIP\n" + cell.source


CHEATS = {  # each cheats on mse (which is wrong: it sums) and must get 0 there, full marks elsewhere
    "cheat-check-edited": dict(replace={"mse": MSE_SUM, "mse-check": 'print("✓ mse passed")'}),
    "cheat-check-deleted": dict(replace={"mse": MSE_SUM}, drop=("mse-check",)),
    "cheat-helper-redefined": dict(replace={"mse": MSE_SUM + "def check_mse(f):\n    print('✓ mse passed')\n"}),
    "cheat-module-patched": dict(replace={"mse": MSE_SUM + "import course_utils.checks.losses as L\n"
                                          "L.check_mse = lambda f: print('✓')\n"}),
    "cheat-numpy-patched": dict(replace={"mse": MSE_SUM + "np.allclose = lambda *a, **k: True\n"
                                         "np.testing.assert_allclose = lambda *a, **k: None\n"}),
    "cheat-tags": dict(replace={"mse": MSE_SUM}, edit={"mse-check": tag_cell}),
    "cheat-traceback": dict(replace={"mse": MSE_SUM + "get_ipython().showtraceback = lambda *a, **k: None\n"}),
    "cheat-transformer": dict(replace={"mse": MSE_SUM + "get_ipython().input_transformers_post.append("
                                       "lambda lines: ['pass\\n'])\n"}),
    "cheat-hardcoded": dict(replace={"mse": "def mse(y_true, y_pred):\n    return np.array([0.5, 1.25])\n"}),
    "cheat-eq-always-true": dict(replace={"mse": "class Yes:\n    def __eq__(self, other):\n        return True\n"
                                          "    __array_priority__ = 1000\n"
                                          "def mse(y_true, y_pred):\n    return Yes()\n"}),
    "cheat-fake-print": dict(replace={"mse": 'print("✓ mse passed (10 checks on fresh random inputs)")\n'
                                      'print("✓ all checks passed")\n'}),
    "cheat-files": dict(replace={"mse": MSE_SUM + (
        "import os, pathlib\n"
        "target = os.environ.get('GRADE_TEST_OUT')\n"
        "for folder in [target, '..', '.']:\n"
        "    if folder:\n"
        "        pathlib.Path(folder, 'pwned.txt').write_text('x')\n"
        "if target:\n"
        "    pathlib.Path(target, 'grades.csv').write_text('student,total\\nattacker,999\\n')\n")}),
}

BROKEN = {  # (notebook text or variant kwargs, status word, the exercise that fails or None)
    "bad-wrong-mse": (dict(replace={"mse": MSE_SUM}), "ok", "mse-check"),
    "bad-missing-cell": (dict(drop=("mae",)), "missing-cells", "mae-check"),
    "bad-infinite-loop": (dict(replace={"mae": "while True:\n    pass\n"}), "timeout", "mae-check"),
    "bad-os-exit": (dict(replace={"huber": "import os\nos._exit(1)\n"}), "kernel-died", "huber-check"),
    "bad-sys-exit": (dict(replace={"under_penalty_mse": "import sys\nsys.exit()\n"}), "cell-error",
                     "under_penalty_mse-check"),
    "bad-memory-hog": (dict(replace={"mae": "hog = bytearray(8 * 1024**3)\n"}), "memory-limit", "mae-check"),
    "bad-output-flood": (dict(replace={"under_penalty_mse": "for i in range(200_000):\n    print(i)\n"}),
                         "output-capped", "under_penalty_mse-check"),
}


@pytest.fixture(scope="module")
def batch_01(tmp_path_factory):
    """Grade every variant of assignment 01 in one batch; return (rows, out_dir, submissions_dir)."""
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    (subs / "honest.ipynb").write_text(variant(SOLUTION_01))
    (subs / "unfilled.ipynb").write_text((ROOT / "exercises" / SOLUTION_01.name).read_text())
    (subs / "bad-invalid-json.ipynb").write_text('{"cells": [')
    (subs / "zeta-folder").mkdir()
    (subs / "zeta-folder" / "whatever.ipynb").write_text(variant(SOLUTION_01))
    for name, kwargs in CHEATS.items():
        (subs / f"{name}.ipynb").write_text(variant(SOLUTION_01, **kwargs))
    for name, (kwargs, _, _) in BROKEN.items():
        (subs / f"{name}.ipynb").write_text(variant(SOLUTION_01, **kwargs))
    mp = pytest.MonkeyPatch()
    mp.setenv("GRADE_TEST_OUT", str(out))  # the grader knows it; the kernels must not
    try:
        rows = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=2,
                           limits=Limits(cell_timeout=8, budget=120))
    finally:
        mp.undo()
    return rows, out, subs


def scores(row):
    return {t["name"]: t["score"] for t in row["tests"]}


def test_solution_gets_full_marks(batch_01):
    rows, _, _ = batch_01
    for student in ["honest", "zeta-folder"]:
        assert rows[student]["score"] == 9.0, rows[student]
        assert rows[student]["extra_data"]["status"] == "ok"


def test_unfilled_exercise_gets_zero(batch_01):
    row = batch_01[0]["unfilled"]
    assert row["score"] == 0 and all("not written yet" in t["output"] for t in row["tests"])


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_cheat_gets_zero_on_its_exercise_only(batch_01, name):
    row = batch_01[0][name]
    got = scores(row)
    assert got["mse-check"] == 0, row
    assert {k: got[k] for k in OTHERS_01} == OTHERS_01, row


def test_edited_and_missing_cells_are_reported(batch_01):
    rows, out, _ = batch_01
    assert rows["cheat-check-edited"]["extra_data"]["changes"]["edited"] == ["mse-check"]
    assert rows["cheat-check-deleted"]["extra_data"]["changes"]["missing"] == ["mse-check"]
    assert "edited locked cells" in (out / "cheat-check-edited" / "feedback.md").read_text()


def test_kernel_cannot_reach_grader_files(batch_01):
    rows, out, subs = batch_01
    assert not list(out.rglob("pwned.txt")) and not list(subs.rglob("pwned.txt"))
    assert "attacker" not in (out / "grades.csv").read_text()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_submission_recorded_and_rest_graded(batch_01, name):
    row = batch_01[0][name]
    _, status, failing = BROKEN[name]
    assert status in row["extra_data"]["status"].split("+"), row
    got = scores(row)
    for gid, points in {"mse-check": 2.0, **OTHERS_01}.items():
        assert got[gid] == (0 if gid == failing else points), (gid, row)


def test_invalid_json_is_recorded(batch_01):
    row = batch_01[0]["bad-invalid-json"]
    assert row["score"] == 0 and row["extra_data"]["status"] == "invalid-notebook"


def test_output_files(batch_01):
    rows, out, _ = batch_01
    table = list(csv.DictReader((out / "grades.csv").read_text().splitlines()))
    assert [r["student"] for r in table] == sorted(rows)
    assert list(table[0]) == ["student", "mse-check", "mae-check", "huber-check", "under_penalty_mse-check", "total",
                              "max", "status"]
    honest = next(r for r in table if r["student"] == "honest")
    assert (honest["total"], honest["max"], honest["status"]) == ("9", "9", "ok")
    result = json.loads((out / "honest" / "results.json").read_text())
    assert result["score"] == 9 and {"name", "score", "max_score", "status", "output"} <= set(result["tests"][0])
    assert result["tests"][0]["status"] == "passed"
    feedback = (out / "bad-wrong-mse" / "feedback.md").read_text()
    assert "mse-check: 0 / 2" in feedback and "wrong value" in feedback


def test_rerun_skips_unchanged_and_regrades_changed(batch_01, capsys):
    rows, out, subs = batch_01
    (subs / "unfilled.ipynb").write_text(variant(SOLUTION_01, replace={"mse": MSE_SUM}))
    again = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=1, limits=Limits(cell_timeout=8))
    assert "grading 1 submissions" in capsys.readouterr().err
    assert again["unfilled"]["score"] == 7
    assert again["bad-wrong-mse"] == rows["bad-wrong-mse"]


def test_assignment_without_rubric_fails_clearly(tmp_path):
    with pytest.raises(NoRubric, match="no grading rubric for assignment '05'"):
        rubric_for("05")
    done = subprocess.run([sys.executable, "-m", "course_utils.grade", str(tmp_path), "--assignment", "05", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "no grading rubric" in done.stderr


def test_cli_grades_assignment_02(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "good.ipynb").write_text(variant(SOLUTION_02))
    wrong = "import tensorflow as tf\ndef logits_objective(labels, logits):\n    return tf.reduce_sum(" \
            "tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32), logits=logits))\n"
    (subs / "summed.ipynb").write_text(variant(SOLUTION_02, replace={"logits_objective": wrong}))
    done = subprocess.run([sys.executable, "-m", "course_utils.grade", str(subs), "--assignment", "02", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    table = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").read_text().splitlines())}
    assert table["good"]["total"] == "11" and table["good"]["status"] == "ok"
    assert table["summed"]["total"] == "8" and table["summed"]["logits_objective-check"] == "0"
    assert "mean total" in done.stderr


# --- fast unit tests -----------------------------------------------------------------------------------------


def test_rebuild_takes_only_solution_cells():
    release = nbformat.read(find_release(ROOT / "exercises", "01"), as_version=4)
    nb = json.loads(variant(SOLUTION_01, replace={"setup": "import os", "mse": "def mse(a, b):\n    return 1"}))
    nb["cells"].append({"cell_type": "code", "id": "extra", "metadata": {}, "source": "x = 1", "outputs": [],
                        "execution_count": None})
    nb["metadata"]["kernelspec"] = {"name": "evil"}
    rebuilt, changes = rebuild(release, read_submission(json.dumps(nb).encode()))
    assert changes.edited == ["setup"] and changes.added == ["extra"] and changes.missing == []
    by_id = {c.id: c for c in rebuilt.cells}
    assert by_id["setup"].source == next(c for c in release.cells if c.id == "setup").source
    assert by_id["mse"].source.startswith("def mse(a, b)")
    assert rebuilt.metadata == release.metadata and "extra" not in by_id


def test_judge_and_decode_are_strict():
    exercise = rubric_for("01")["mse-check"]
    case = Case((np.ones((2, 3)), np.zeros((2, 3))))
    good = {"value": {"shape": [2], "data": np.array([1.0, 1.0])}}
    assert judge(exercise, case, exercise.expected(case), good) is None
    wrong_shape = {"value": {"shape": [], "data": np.array([1.0])}}
    assert "shape" in judge(exercise, case, exercise.expected(case), wrong_shape)
    import base64

    def encoded(value):
        return base64.b64encode(json.dumps(value).encode()).decode()

    with pytest.raises(BadProbeResult):
        decode(encoded([{"value": {"shape": [3], "data": [1.0]}}]), exercise, 1)
    with pytest.raises(BadProbeResult):
        decode(encoded(["passed"]), exercise, 1)
    with pytest.raises(BadProbeResult):
        decode("✓ all checks passed", exercise, 1)
