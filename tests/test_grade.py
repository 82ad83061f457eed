"""The instructor grader: honest answers, wrong answers, cheats and broken submissions, in one batch each.

Submissions are built at run time from ``solutions/`` (copy a notebook, replace a cell's source).
The batch of assignment 01 is graded once (module fixture, 2 workers) and inspected by many tests.
Grading runs in the bubblewrap sandbox: without one these tests fail under CI and are skipped elsewhere
(tests/test_grade_attacks.py has the attacks the sandbox stops).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.grade import Limits, NoRubric, grade_batch, rubric_for, sandbox
from course_utils.grade.probe import BadProbeResult, decode
from course_utils.grade.rebuild import find_release, read_submission, rebuild
from course_utils.grade.rubric import Case, judge

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_01 = ROOT / "solutions" / "01_loss_as_error.ipynb"
SOLUTION_02 = ROOT / "solutions" / "02_cross_entropy.ipynb"
OTHERS_01 = {"mae-check": 2.0, "huber-check": 2.0, "under_penalty_mse-check": 3.0,  # everything but mse
             "q1-check": 1.0, "q2-check": 1.0, "q3-check": 1.0}  # (the concept questions)
FULL_01 = 2.0 + sum(OTHERS_01.values())

MSE_SUM = "def mse(y_true, y_pred):\n    return np.sum((np.asarray(y_true) - np.asarray(y_pred)) ** 2, axis=-1)\n"


def require_sandbox():
    """Fail under CI (the sandbox must work there), skip elsewhere, when bubblewrap cannot run here."""
    reason = sandbox.check()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the grader's sandbox cannot start under CI: {reason}")
        pytest.skip(f"no sandbox here: {reason}")


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
    require_sandbox()
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
        assert rows[student]["score"] == FULL_01, rows[student]
        assert rows[student]["extra_data"]["status"] == "ok"


def test_unfilled_exercise_gets_zero(batch_01):
    row = batch_01[0]["unfilled"]
    assert row["score"] == 0 and all(("not answered yet" if t["name"].startswith("q") else "not written yet")
                                     in t["output"] for t in row["tests"]), row["tests"]


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
    assert list(table[0]) == ["student", "mse-check", "mae-check", "huber-check", "under_penalty_mse-check",
                              "q1-check", "q2-check", "q3-check", "total", "max", "status", "sandbox"]
    honest = next(r for r in table if r["student"] == "honest")
    assert (honest["total"], honest["max"], honest["status"]) == ("12", "12", "ok")
    assert honest["sandbox"].startswith("bwrap")
    result = json.loads((out / "honest" / "results.json").read_text())
    assert result["score"] == FULL_01 == 12 and {"name", "score", "max_score", "status", "output"} <= set(result["tests"][0])
    assert result["tests"][0]["status"] == "passed"
    feedback = (out / "bad-wrong-mse" / "feedback.md").read_text()
    assert "mse-check: 0 / 2" in feedback and "wrong value" in feedback


def test_rerun_skips_unchanged_and_regrades_changed(batch_01, capsys):
    rows, out, subs = batch_01
    (subs / "unfilled.ipynb").write_text(variant(SOLUTION_01, replace={"mse": MSE_SUM}))
    again = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=1, limits=Limits(cell_timeout=8))
    assert "grading 1 submissions" in capsys.readouterr().err
    assert again["unfilled"]["score"] == FULL_01 - 2  # all but mse
    assert again["bad-wrong-mse"] == rows["bad-wrong-mse"]


def test_assignment_without_rubric_fails_clearly(tmp_path):
    with pytest.raises(NoRubric, match="no grading rubric for assignment '07'; rubrics exist for 01, 02, 03, 04, 05"):
        rubric_for("07")
    done = subprocess.run([sys.executable, "-m", "course_utils.grade", str(tmp_path), "--assignment", "07", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "no grading rubric" in done.stderr


# --- every assignment: the solution, the unfilled notebook, and typical wrong answers ------------------------

NP_IMPORT = "import numpy as np\n"
WRONG = {  # assignment: submissions, each {solution cell id: a typical wrong answer}; each id is wrong in one
    "02": [
        {"binary_crossentropy": "def binary_crossentropy(y_true, y_pred):  # no clipping: log(0)\n"
                                "    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)\n"
                                "    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=-1)\n",
         "hinge": "def hinge(y_true, y_pred):  # no max(0, .)\n"
                  "    return np.mean(1.0 - np.asarray(y_true) * np.asarray(y_pred), axis=-1)\n",
         "q1": "answer_q1 = 0.1  # the probability, not its loss\n", "q2": 'answer_q2 = "c"\n'},
        {"categorical_crossentropy": "def categorical_crossentropy(y_true, y_pred):  # mean, not sum\n"
                                     "    p = np.clip(np.asarray(y_pred, float), 1e-7, 1 - 1e-7)\n"
                                     "    return -np.mean(np.asarray(y_true) * np.log(p), axis=-1)\n",
         "logits_objective": "import tensorflow as tf\ndef logits_objective(labels, logits):  # sum, not mean\n"
                             "    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits("
                             "labels=tf.cast(labels, tf.float32), logits=logits))\n",
         "q3": "answer_q3 = float('inf')\n"},
    ],
    "03": [
        {"numerical_gradient": "def numerical_gradient(f, x, eps=1e-6):  # a forward difference\n"
                               "    x = np.asarray(x, float)\n    grad = np.zeros_like(x)\n"
                               "    for i in np.ndindex(x.shape):\n        plus = x.copy()\n"
                               "        plus[i] += eps\n        grad[i] = (f(plus) - f(x)) / eps\n"
                               "    return grad\n",
         "gradient_descent": "def gradient_descent(grad_fn, w0, learning_rate, num_steps):  # right points, but\n"
                             "    w = w0  # not a copy: every step changes the caller's w0\n"
                             "    points = [w.copy()]\n    for _ in range(num_steps):\n"
                             "        w -= learning_rate * grad_fn(w)\n        points.append(w.copy())\n"
                             "    return np.array(points)\n",
         "q1": "answer_q1 = 2  # 2 / c is the limit, not 2\n", "q3": 'answer_q3 = "a"\n'},
        {"mse_gradient": "def mse_gradient(w, b, x, y):  # forgets the 2\n    error = x @ w + b - y\n"
                         "    return x.T @ error / len(y), np.mean(error)\n",
         "fit_linear": "def fit_linear(x, y, learning_rate, num_steps):  # climbs instead of descending\n"
                       "    w, b = np.zeros(x.shape[1]), 0.0\n    for _ in range(num_steps):\n"
                       "        dw, db = mse_gradient(w, b, x, y)\n"
                       "        w, b = w + learning_rate * dw, b + learning_rate * db\n    return w, b\n",
         "q2": "answer_q2 = 0.9\n"},
    ],
    "04": [
        {"sgd_momentum_update": "def sgd_momentum_update(grad, velocity, learning_rate, momentum):  # sign\n"
                                "    v = momentum * velocity + learning_rate * grad\n    return v, v\n",
         "adam_update": "def adam_update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):\n"
                        "    m = beta_1 * m + (1 - beta_1) * grad  # no bias correction\n"
                        "    v = beta_2 * v + (1 - beta_2) * grad**2\n"
                        "    return -learning_rate * m / (np.sqrt(v) + epsilon), m, v\n",
         "q1": 'answer_q1 = "c"\n', "q3": "answer_q3 = 0.03  # eta * g\n"},
        {"rmsprop_update": "def rmsprop_update(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7):\n"
                           "    v = rho * velocity + grad**2  # forgets (1 - rho)\n"
                           "    return -learning_rate * grad / np.sqrt(v + epsilon), v\n",
         "final_loss": "def final_loss(optimizer, surface, num_steps):  # ignores divergence\n"
                       "    run = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, "
                       "num_steps)\n    return float(run.losses[-1])\n",
         "best_learning_rate": "def best_learning_rate(make_optimizer, surface, candidates, num_steps):  # max\n"
                               "    return max(candidates, key=lambda lr: final_loss(make_optimizer(lr), surface, "
                               "num_steps))\n",
         "q2": "answer_q2 = 9\n"},
    ],
    "05": [
        {"exponential_decay": "def exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, "
                              "staircase=False):  # ignores staircase\n"
                              "    return initial_learning_rate * decay_rate ** (np.asarray(step) / decay_steps)\n",
         "WarmupSchedule": "class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):\n"
                           "    def __init__(self, warmup_steps, target_learning_rate, initial_learning_rate=0.0):\n"
                           "        self.warmup_steps, self.target = warmup_steps, target_learning_rate\n"
                           "        self.initial = initial_learning_rate\n"
                           "    def __call__(self, step):\n"
                           "        f = ops.minimum(ops.cast(step, 'float32') / self.warmup_steps, 1.0)\n"
                           "        return self.initial + (self.target - self.initial) * f\n"
                           "    def get_config(self):  # forgets initial_learning_rate\n"
                           "        return {'warmup_steps': self.warmup_steps, 'target_learning_rate': self.target}\n",
         "q1": "answer_q1 = 0.01  # the new value already on the boundary\n", "q3": "answer_q3 = 0.01\n"},
        {"piecewise_constant": "def piecewise_constant(step, boundaries, values):  # off by one on a boundary\n"
                               "    return np.asarray(values)[np.searchsorted(boundaries, step, side='right')]\n",
         "warmup_cosine": "def warmup_cosine(step, warmup_steps, peak_learning_rate, decay_steps, alpha=0.0):\n"
                          "    s = np.asarray(step, float)  # the cosine starts at step 0, not after the warmup\n"
                          "    t = np.minimum(s, decay_steps) / decay_steps\n"
                          "    cosine = peak_learning_rate * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * t)) + alpha)\n"
                          "    return np.where(s < warmup_steps, peak_learning_rate * s / warmup_steps, cosine)\n",
         "q2": "answer_q2 = 0.1  # alpha read as a rate\n"},
    ],
    "06": [
        {"make_batches": "def make_batches(x, y, batch_size):  # drops the last, smaller batch\n"
                         "    return [(x[i:i + batch_size], y[i:i + batch_size])\n"
                         "            for i in range(0, len(x) - batch_size + 1, batch_size)]\n",
         "train_step": "def train_step(model, optimizer, x, y):  # never applies the gradients\n"
                       "    with tf.GradientTape() as tape:\n"
                       "        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(x)))\n"
                       "    tape.gradient(loss, model.trainable_variables)\n    return loss\n",
         "train_digits": "def train_digits(model, split):  # returns the History, not the model\n"
                         "    return model.fit(split.x_train, split.y_train, epochs=2, verbose=0)\n",
         "q1": "answer_q1 = 44\n", "q3": 'answer_q3 = "a"\n'},
        {"one_hot": "def one_hot(labels, num_classes):  # one column per label\n"
                    "    return np.eye(num_classes)[:, np.asarray(labels)]\n",
         "build_digits_model": "def build_digits_model():  # no softmax on the output\n"
                               "    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(512, "
                               "activation='relu'), keras.layers.Dense(10)])\n"
                               "    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                               "metrics=['accuracy'])\n    return model\n",
         "q2": "answer_q2 = 32\n"},
    ],
}


DELEGATING = {  # assignment: [{cell: an answer that hands a numpy exercise to Keras or the course}]; 0 there only
    "01": [{"mse": "import keras\ndef mse(y_true, y_pred):\n"
                   "    return np.asarray(keras.losses.MeanSquaredError(reduction=None)(y_true, y_pred))\n"},
           {"mse": "import keras\ndef mse(y_true, y_pred):\n    return np.asarray("
                   "keras.ops.mean(keras.ops.square(keras.ops.subtract(y_true, y_pred)), axis=-1))\n"},
           # the exercise definitions are in the kernel (the self-checks run them): their reference is off limits too
           {"mae": "from course_utils.checks.losses import MAE\ndef mae(y_true, y_pred):\n"
                   "    return MAE.reference(y_true, y_pred)\n"}],
    "05": [{"exponential_decay": "def exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, "
                                "staircase=False):\n"
                                "    schedule = keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, "
                                "decay_steps, decay_rate, staircase)\n"
                                "    return np.array([float(schedule(int(s))) for s in np.atleast_1d(step)])"
                                ".reshape(np.shape(step))\n"}],
}


def grade_variants(tmp_path_factory, assignment: str, notebooks) -> dict:
    """Grade ``{learner: notebook text}`` (made from the assignment's solution by ``notebooks(solution)``)."""
    require_sandbox()
    solution = next((ROOT / "solutions").glob(f"{assignment}_*.ipynb"))
    subs, out = tmp_path_factory.mktemp(f"subs{assignment}"), tmp_path_factory.mktemp(f"out{assignment}")
    for learner, text in notebooks(solution).items():
        (subs / f"{learner}.ipynb").write_text(text)
    return grade_batch(subs, assignment, out, exercises=ROOT / "exercises", workers=2,
                       limits=Limits(cell_timeout=120, budget=600))


@pytest.fixture(scope="module", params=sorted(WRONG))
def graded(request, tmp_path_factory):
    """Grade the solution, the unfilled notebook and the wrong-answer submissions of one assignment."""
    assignment = request.param
    return assignment, grade_variants(tmp_path_factory, assignment, lambda solution: {
        "solution": variant(solution), "unfilled": (ROOT / "exercises" / solution.name).read_text(),
        **{f"wrong-{i}": variant(solution, replace=wrong) for i, wrong in enumerate(WRONG[assignment])}})


def test_every_assignment_has_a_rubric_for_each_graded_cell():
    for assignment in ["01", *WRONG]:
        release = nbformat.read(find_release(ROOT / "exercises", assignment), as_version=4)
        graded_ids = {c.id for c in release.cells if c.metadata.get("nbgrader", {}).get("grade")
                      and not c.metadata["nbgrader"].get("solution")}
        assert graded_ids == set(rubric_for(assignment)), assignment


def test_each_wrong_answer_table_covers_every_exercise_once():
    for assignment, submissions in WRONG.items():
        ids = [cell for wrong in submissions for cell in wrong]
        assert sorted(ids) == sorted(g.removesuffix("-check") for g in rubric_for(assignment)), assignment


def test_solution_full_marks_unfilled_zero(graded):
    assignment, rows = graded
    full = sum(t["max_score"] for t in rows["solution"]["tests"])
    assert rows["solution"]["score"] == full > 0, rows["solution"]
    assert rows["solution"]["extra_data"]["status"] == "ok"
    assert rows["unfilled"]["score"] == 0
    assert all(("not answered yet" if t["name"].startswith("q") else "not written yet") in t["output"]
               for t in rows["unfilled"]["tests"]), rows["unfilled"]["tests"]
    questions = [t for t in rows["solution"]["tests"] if t["name"].startswith("q")]
    assert len(questions) >= 3 and all(t["score"] == t["max_score"] > 0 for t in questions)


@pytest.fixture(scope="module", params=sorted(DELEGATING))
def delegated(request, tmp_path_factory):
    """Grade the delegating submissions of one assignment (Keras needs more than batch_01's 8 s to import)."""
    assignment = request.param
    return assignment, grade_variants(tmp_path_factory, assignment, lambda solution: {
        f"delegating-{i}": variant(solution, replace=answer) for i, answer in enumerate(DELEGATING[assignment])})


def test_delegating_answer_scores_zero_with_the_self_checks_message(delegated):
    from course_utils.checks.uses import delegation_message

    assignment, rows = delegated
    for index, answer in enumerate(DELEGATING[assignment]):
        for test in rows[f"delegating-{index}"]["tests"]:
            exercise = test["name"].removesuffix("-check")
            if exercise in answer:
                called = test["output"].split(" calls ", 1)[-1].split(",")[0]
                assert test["score"] == 0 and called.startswith(("keras", "course_utils.checks.losses")), test
                assert test["output"].startswith(delegation_message(exercise, called)), test
                assert test["output"].endswith("write it yourself with numpy, so it scores 0."), test
            else:
                assert test["score"] == test["max_score"], test


def test_wrong_answers_lose_only_their_exercise(graded):
    assignment, rows = graded
    for index, wrong in enumerate(WRONG[assignment]):
        row = rows[f"wrong-{index}"]
        for test in row["tests"]:
            if test["name"].removesuffix("-check") in wrong:
                assert test["score"] == 0, (assignment, test)
                assert "not written yet" not in test["output"]
            else:
                assert test["score"] == test["max_score"], (assignment, test)


def test_an_answer_that_changes_its_input_in_place_loses_its_points_as_in_the_self_check(graded):
    """gradient_descent returns the right points but changes the caller's w0: the self-check's message and hint."""
    from course_utils.checks.descent import GRADIENT_DESCENT

    assignment, rows = graded
    if assignment != "03":
        pytest.skip("the in-place answer is in assignment 03's table")
    test = next(t for t in rows["wrong-0"]["tests"] if t["name"] == "gradient_descent-check")
    assert test["score"] == 0 and "changed the caller's array `w0` in place" in test["output"], test
    assert test["output"].endswith("Hint: " + GRADIENT_DESCENT.unchanged[0][1]), test


def test_cli_grades_assignment_02(tmp_path):
    require_sandbox()
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
    assert table["good"]["total"] == "14" and table["good"]["status"] == "ok"  # 11 for code, 3 for questions
    assert table["summed"]["total"] == "11" and table["summed"]["logits_objective-check"] == "0"
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


def test_a_changed_exercise_definition_regrades_everything():
    """The exercise definitions (course_utils/checks) decide grades as much as the grader's own code does."""
    from course_utils.grade import batch

    names = {path.relative_to(ROOT).as_posix() for path in batch.grader_sources()}
    assert {"course_utils/checks/definition.py", "course_utils/checks/losses.py", "course_utils/checks/questions.py",
            "course_utils/checks/uses.py", "course_utils/grade/rubric.py"} <= names
