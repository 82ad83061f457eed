"""The Gradescope autograder: its zip, and run_autograder run for real in a stand-in for Gradescope's container.

``run_autograder`` runs inside bubblewrap with a temporary folder bound at ``/autograder`` (``source`` unpacked
from the zip, ``submission``, ``results``), the checkout hidden and the project's venv bound where ``setup.sh``
puts it (``/autograder/source/.venv``, its editable ``course_utils`` pointing at the zip's copy). Like Docker's
default profile, the stand-in forbids new namespaces, so the grader inside must grade without its own sandbox:
the case Gradescope most likely gives. ``setup.sh`` needs the network and a fresh Ubuntu: it is only read and
syntax-checked here. Three submissions of assignment 01 (the solution, the unfilled release, a cheat) must get
exactly the scores ``python -m course_utils.grade`` gives the same notebooks.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from course_utils.grade import Limits, grade_batch, gradescope, sandbox
from course_utils.grade.__main__ import main as cli
from tests.test_grade import ROOT, SOLUTION_01, require_sandbox

RELEASE_01 = ROOT / "exercises" / "01_loss_as_error.ipynb"
CODE_01 = {"mse-check", "mae-check", "huber-check", "under_penalty_mse-check"}  # the exercises that are functions
FORGED = '{"score": 9.0, "tests": []}'

# mse delegates to the course's reference (must score 0 there); huber's cell also starts a process that leaves
# its session and, after the grader is done, writes a full score over results.json (must be ended first).
CHEAT_MSE = ("def mse(y_true, y_pred):\n    from course_utils.losses import mse as reference\n"
             "    return reference(y_true, y_pred)\n")
CHEAT_LINGER = ("import subprocess, sys\n"
                "script = '''\nimport pathlib, time\n"
                "while True:\n    time.sleep(0.2)\n    try:\n"
                f"        pathlib.Path('/autograder/results/results.json').write_text({FORGED!r})\n"
                "    except OSError:\n        pass\n'''\n"
                "subprocess.Popen(['setsid', sys.executable, '-c', script], start_new_session=True,\n"
                "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n")


def cheat_notebook() -> str:
    nb = nbformat.read(SOLUTION_01, as_version=4)
    for cell in nb.cells:
        if cell.id == "mse":
            cell.source = CHEAT_MSE
        elif cell.id == "huber":
            cell.source = CHEAT_LINGER + cell.source
    return nbformat.writes(nb)


SUBMISSIONS = {
    "solution": lambda: SOLUTION_01.read_text(),
    "unfilled": lambda: RELEASE_01.read_text(),
    "cheat": cheat_notebook,
}


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    return gradescope.build("01", tmp_path_factory.mktemp("zip") / "autograder.zip")


def unpack(archive: Path, folder: Path) -> None:
    """Unzip as Gradescope does, keeping the unix modes."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            target = folder / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zipped.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)


def stand_in(archive: Path, tmp: Path, files: dict[str, str], linger: float = 0,
             namespaces: bool = False) -> tuple[list[str], Path]:
    """The command running ``run_autograder`` in a stand-in for Gradescope's container, and its ``/autograder``.

    ``files``: the submission. ``linger``: seconds the container stays up after run_autograder exits (a process
    the learner left could act then). ``namespaces``: allow new namespaces inside (bubblewrap can then start
    there, as in a container that permits it). benchmarks/gradescope_memory.py runs the same command.
    """
    box = tmp / "autograder"
    for name in ("source", "submission", "results"):
        (box / name).mkdir(parents=True)
    (tmp / "tmp").mkdir()
    unpack(archive, box / "source")
    shutil.copy2(box / "source" / "run_autograder", box / "run_autograder")  # as Gradescope's image build does
    for name, text in files.items():
        (box / "submission" / name).write_text(text)
    venv = Path(sys.prefix).resolve()
    (box / "source" / ".venv").mkdir()
    command = ["bwrap", "--tmpfs", "/"]  # a root of its own, so /autograder can be made in it
    for entry in sorted(os.listdir("/")):
        if entry in ("proc", "dev", "tmp", "autograder"):
            continue
        if os.path.islink(f"/{entry}"):
            command += ["--symlink", os.readlink(f"/{entry}"), f"/{entry}"]
        elif os.path.isdir(f"/{entry}"):
            command += ["--ro-bind", f"/{entry}", f"/{entry}"]
    command += ["--dev", "/dev", "--proc", "/proc", "--bind", str(tmp / "tmp"), "/tmp", "--unshare-all",
                "--die-with-parent"]
    if not namespaces:
        command += ["--unshare-user", "--disable-userns"]  # like Docker's default profile: no namespaces inside
    command += ["--tmpfs", str(ROOT),  # no checkout, no solutions/: only what the zip brings
                "--ro-bind", str(venv), str(venv),
                "--ro-bind", str(box / "source" / "course_utils"), str(ROOT / "course_utils"),
                "--bind", str(box), "/autograder",
                "--ro-bind", str(venv), "/autograder/source/.venv",  # where setup.sh makes it
                "--setenv", "HOME", "/tmp", "--chdir", "/autograder", "--",
                "/bin/bash", "-c", f"/autograder/run_autograder > /autograder/results/stdout 2>&1; sleep {linger}"]
    return command, box


def run_autograder(archive: Path, tmp: Path, files: dict[str, str], linger: float = 0,
                   namespaces: bool = False) -> tuple[dict | None, str]:
    """Run :func:`stand_in`'s command; return results.json (None when there is none) and run_autograder's output."""
    command, box = stand_in(archive, tmp, files, linger, namespaces)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    output = (box / "results" / "stdout").read_text() if (box / "results" / "stdout").exists() else ""
    assert done.returncode == 0, done.stderr + output
    results = box / "results" / "results.json"
    return (json.loads(results.read_text()) if results.exists() else None), output


@pytest.fixture(scope="module")
def graded(autograder, tmp_path_factory):
    """Each submission graded by run_autograder in the stand-in container, and by the batch grader here.

    The three containers run side by side while the batch grades the same notebooks (the test takes about as
    long as one run on two cores).
    """
    require_sandbox()  # the stand-in container is bubblewrap
    with ThreadPoolExecutor(len(SUBMISSIONS)) as pool:
        runs = {name: pool.submit(run_autograder, autograder, tmp_path_factory.mktemp(f"gradescope-{name}"),
                                  {"01_loss_as_error.ipynb": make()}, 2 if name == "cheat" else 0)
                for name, make in SUBMISSIONS.items()}
        subs, out = tmp_path_factory.mktemp("subs"), tmp_path_factory.mktemp("out")
        for name, make in SUBMISSIONS.items():
            (subs / f"{name}.ipynb").write_text(make())
        batch = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=1,
                            limits=Limits(budget=480, sandbox=not sandbox.check()))
        return {name: run.result() for name, run in runs.items()}, batch


def scores(result: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in result["tests"]}


# --- the zip ----------------------------------------------------------------------------------------------------


def test_zip_has_gradescope_layout_and_no_answers(autograder):
    with zipfile.ZipFile(autograder) as zipped:
        names = zipped.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zipped.infolist()}
        texts = {n: zipped.read(n) for n in names}
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "requirements.txt", "pyproject.toml", "README.md"} <= set(names)
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert [n for n in names if n.endswith(".ipynb")] == ["exercises/01_loss_as_error.ipynb"]
    assert texts["exercises/01_loss_as_error.ipynb"] == RELEASE_01.read_bytes()
    assert texts["requirements.txt"] == (ROOT / "requirements.txt").read_bytes()
    assert "course_utils/grade/rubric.py" in names and "course_utils/grade/gradescope.py" in names
    assert not [n for n in names if n.startswith("solutions/") or "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n, data in texts.items() if b"### BEGIN SOLUTION" in data and n.endswith(".ipynb")]
    # the solution's answer to mse is nowhere in the zip
    answer = next(c.source for c in nbformat.read(SOLUTION_01, as_version=4).cells if c.id == "mse")
    body = answer.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
    assert body and not [n for n, data in texts.items() if body.encode() in data]


def test_two_builds_are_byte_identical(autograder, tmp_path):
    again = gradescope.build("01", tmp_path / "again.zip")
    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(autograder.read_bytes()).hexdigest()
    with zipfile.ZipFile(again) as zipped:
        assert {i.date_time for i in zipped.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_scripts_are_valid_bash_and_install_the_pinned_environment(autograder, tmp_path):
    unpack(autograder, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert done.returncode == 0, (script, done.stderr)
        assert (tmp_path / script).read_text().startswith("#!/usr/bin/env bash\n")
    setup = (tmp_path / "setup.sh").read_text()
    assert "set -euxo pipefail" in setup
    assert "python3.11 -m venv .venv" in setup
    assert ".venv/bin/python -m pip install --no-cache-dir -r requirements.txt" in setup
    assert ".venv/bin/python -m pip install --no-cache-dir --no-deps -e ." in setup
    run = (tmp_path / "run_autograder").read_text()
    assert "/autograder/source/.venv/bin/python -m course_utils.grade.gradescope --assignment 01" in run


def test_cli_builds_the_zip_and_refuses_bad_input(tmp_path, capsys):
    done = subprocess.run([sys.executable, "-m", "course_utils.grade", "gradescope", "--assignment", "01", "--out",
                           str(tmp_path / "a.zip"), "--budget", "300"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as zipped:
        assert "--budget 300 " in zipped.read("run_autograder").decode()
    assert cli(["gradescope", "--assignment", "09", "--out", str(tmp_path / "b.zip")]) == 2
    assert "no grading rubric for assignment '09'" in capsys.readouterr().err
    assert cli(["gradescope", "--assignment", "01", "--out", str(tmp_path / "c.zip"), "--budget", "0"]) == 2
    assert "budget must be a positive number of seconds, got 0.0" in capsys.readouterr().err
    assert not (tmp_path / "b.zip").exists() and not (tmp_path / "c.zip").exists()


# --- run_autograder in the stand-in container ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_gradescope_scores_equal_the_batch_grader(graded, name):
    on_gradescope, batch = graded
    result, output = on_gradescope[name]
    assert result is not None, output
    assert scores(result) == scores(batch[name]), (result, batch[name])
    assert result["score"] == batch[name]["score"]
    assert result["extra_data"]["status"] == batch[name]["extra_data"]["status"]
    assert result["extra_data"]["sandbox"] == "none"  # no namespaces in the container: recorded as such
    assert "sandbox: none" in output
    assert result["output"].startswith(f"Total: {result['score']:g} / {result['extra_data']['max_score']:g}")


def test_solution_full_marks_unfilled_zero(graded):
    on_gradescope, _ = graded
    solution, unfilled = on_gradescope["solution"][0], on_gradescope["unfilled"][0]
    assert CODE_01 <= set(scores(solution))
    assert solution["score"] == solution["extra_data"]["max_score"] > 0 and solution["extra_data"]["status"] == "ok"
    assert {gid: scores(unfilled)[gid] for gid in CODE_01} == dict.fromkeys(CODE_01, 0.0)


def test_cheat_scores_zero_for_the_delegating_exercise_and_cannot_forge(graded):
    result, output = graded[0]["cheat"]
    tests = {t["name"]: t for t in result["tests"]}
    assert tests["mse-check"]["score"] == 0
    assert "course_utils" in tests["mse-check"]["output"] and "an existing implementation" in tests["mse-check"][
        "output"]
    assert all(t["score"] == t["max_score"] for name, t in tests.items() if name != "mse-check")
    # the process it left running was ended before results.json was written (else it would hold FORGED)
    ended = next(line for line in output.splitlines() if "processes the submission left running" in line)
    assert "/autograder/results/results.json" in ended  # the lingering writer, named in the instructor's log
    assert "left running" not in graded[0]["solution"][1]  # the solution leaves nothing behind


@pytest.mark.parametrize("files, status", [
    ({"notes.txt": "hello"}, "invalid-notebook"),
    ({"a.ipynb": "{}", "b.ipynb": "{}"}, "invalid-notebook"),
])
def test_submission_without_one_notebook_gets_zero_and_a_message(autograder, tmp_path, files, status):
    require_sandbox()  # the stand-in container is bubblewrap
    result, output = run_autograder(autograder, tmp_path, files)
    assert result is not None, output
    assert result["score"] == 0 and result["extra_data"]["status"] == status
    assert "submit your 01_loss_as_error.ipynb" in result["tests"][0]["output"]
    assert CODE_01 <= {t["name"] for t in result["tests"]} and not any(t["score"] for t in result["tests"])


def test_pick_notebook_prefers_the_release_name_and_refuses_links(tmp_path):
    (tmp_path / "scratch.ipynb").write_text("{}")
    (tmp_path / "01_loss_as_error.ipynb").write_text("{}")
    assert gradescope.pick_notebook(tmp_path, "01_loss_as_error.ipynb")[0] == tmp_path / "01_loss_as_error.ipynb"
    (tmp_path / "scratch.ipynb").unlink()
    (tmp_path / "link.ipynb").symlink_to(SOLUTION_01)
    path, problem, status = gradescope.pick_notebook(tmp_path, "01_loss_as_error.ipynb")
    assert path is None and status == "not-a-file" and "links or special files" in problem
    assert stat.S_ISLNK(os.lstat(tmp_path / "link.ipynb").st_mode)
