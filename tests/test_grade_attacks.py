"""Issue 12: a dishonest or careless learner against the sandboxed grader (assignment 01).

Every attack of the issue is a submission in one batch (module fixture, 2 workers, sandbox on): the
attacked exercise must score 0, every other learner exactly what they would get alone, nothing may be
left running, and nothing may be written outside ``--out``. Attacks that need their own limits (the
budget, a kernel that dies once, a broken grading environment) get a small batch of their own.
"""

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import nbformat
import pytest

from course_utils.grade import Limits, grade_batch, rubric_for, sandbox
from course_utils.grade.batch import EnvironmentProblem, safe_name
from course_utils.grade.kernel import Kernel, KernelDied
from course_utils.grade.rebuild import find_release
from course_utils.grade.runner import grade_notebook
from tests.test_grade import FULL_01, MSE_SUM, OTHERS_01, ROOT, SOLUTION_01, require_sandbox, scores, variant

MARKER = "grade-attack-marker-7f3a"  # in the command line of every process an attack leaves behind
SECRET = "instructor-secret-5b1e"  # in the grader's environment only
FULL = {"mse-check": 2.0, **OTHERS_01}


def mse_attack(code, correct=False):
    """A submission whose mse cell runs ``code`` and then defines mse (wrong unless ``correct``)."""
    answer = "def mse(y_true, y_pred):\n    return np.mean((y_true - y_pred) ** 2, axis=-1)\n" if correct else MSE_SUM
    return variant(SOLUTION_01, replace={"mse": code + "\n" + answer})


def attacks(subs: Path, out: Path) -> dict[str, str]:
    """Notebook text per learner id; the attacks know the grader's folders (as a learner could guess them)."""
    lingering = (f"import subprocess, sys\n"
                 f"script = '''\nimport os, pathlib, time\n# {MARKER}\ntime.sleep(4)\n"
                 f"for p in [{str(out / 'grades.csv')!r}, {str(out / 'setsid' / 'results.json')!r}]:\n"
                 f"    try:\n        pathlib.Path(p).write_text('student,total\\\\nsetsid,9\\\\n')\n"
                 f"    except OSError:\n        pass\nwhile True:\n    pass\n'''\n"
                 "subprocess.Popen(['setsid', sys.executable, '-c', script], start_new_session=True,\n"
                 "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n")
    return {
        # answers that delegate to course_utils' reference implementation (part 2 of the issue)
        "delegate-reference": variant(SOLUTION_01, replace={"mse": (
            "def mse(y_true, y_pred):\n    from course_utils.losses import mse as reference\n"
            "    return reference(y_true, y_pred)\n")}),
        "delegate-captured": variant(SOLUTION_01, replace={"mse": (
            "from course_utils import losses as _l\n_ref = _l.mse\n"
            "def mse(y_true, y_pred):\n    return _ref(y_true, y_pred)\n")}),
        # the grader's own reference answers
        "rubric-import": variant(SOLUTION_01, replace={"mse": (
            "try:\n    from course_utils.grade.rubric import LESSON_01\n"
            "    mse = LESSON_01['mse-check'].reference\nexcept ImportError:\n    pass\n")}),
        # /proc of the grader: its environment (a secret) and command line (the submissions folder)
        "proc-snoop": variant(SOLUTION_01, replace={"mse": (
            "import glob\nfound = []\n"
            "for path in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline'):\n"
            "    try:\n        found.append(open(path, 'rb').read().decode(errors='replace'))\n"
            "    except OSError:\n        pass\n"
            f"leak = [t[max(0, t.find({SECRET!r})):][:40] for t in found if {SECRET!r} in t]\n"
            f"leak += [t[t.find({str(subs)!r}):][:60] for t in found if {str(subs)!r} in t]\n"
            "if leak:\n    raise RuntimeError(str(leak))\n" + MSE_SUM)}),
        # a classmate's notebook, read where the grader keeps it
        "copy-classmate": variant(SOLUTION_01, replace={"mse": (
            f"import json\nnb = json.load(open({str(subs / 'honest.ipynb')!r}))\n"
            "exec(''.join(next(c['source'] for c in nb['cells'] if c.get('id') == 'mse')))\n")}),
        # processes that outlive the kernel: one rewrites the outputs, one burns CPU
        "setsid": mse_attack(lingering),
        # other learners: kill their kernels, rewrite their notebooks and results
        "aa-killer": mse_attack(
            "import os, signal\nfor pid in os.listdir('/proc'):\n    if pid.isdigit() and int(pid) != os.getpid():\n"
            "        try:\n            cmd = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
            "            if b'ipykernel' in cmd or b'grade' in cmd:\n                os.kill(int(pid), signal.SIGKILL)\n"
            "        except OSError:\n            pass\n"
            f"for path in [{str(subs / 'zz-victim.ipynb')!r}, {str(out / 'honest' / 'results.json')!r}]:\n"
            "    try:\n        open(path, 'w').write('{}')\n    except OSError:\n        pass\n"),
        "zz-victim": variant(SOLUTION_01),
        "honest": variant(SOLUTION_01),
        # answers the grader must not choke on
        "deep-answer": mse_attack("import json\n_dumps = json.dumps\n"
                                  "json.dumps = lambda obj, *a, **k: '[' * 200000 + ']' * 200000\n"),
        "shape-overflow": mse_attack(
            "import json\n_dumps = json.dumps\n"
            "json.dumps = lambda obj, *a, **k: _dumps([{'value': {'shape': [2**62, 2**62, 0], 'data': []}}\n"
            "                                          for _ in obj]) if isinstance(obj, list) else _dumps(obj)\n"),
        "huge-answer": mse_attack("import json\n_dumps = json.dumps\n"
                                  "json.dumps = lambda obj, *a, **k: 'A' * (100 << 20)\n"),
        "shadow-import": mse_attack("__import__ = None\nbuiltins = None\n"),
        "surrogate": mse_attack("print('\\ud800 lone')\nraise ValueError('\\udcff')\n"),
        "big-print": mse_attack("print('x' * (150 << 20))\n"),
        # memory held by forked processes together, above the sandbox's limit
        "fork-memory": variant(SOLUTION_01, replace={"mse": (
            "import os, select, time\nread_end, write_end = os.pipe()\nchildren = []\nfor _ in range(4):\n"
            "    pid = os.fork()\n    if pid == 0:\n        try:\n            block = bytearray(450 << 20)\n"
            "            block[::4096] = b'x' * len(block[::4096])\n            os.write(write_end, b'1')\n"
            "            time.sleep(30)\n        finally:\n            os._exit(0)\n    children.append(pid)\n"
            "held, deadline = b'', time.monotonic() + 12\n"
            "while len(held) < 4 and time.monotonic() < deadline:\n"
            "    if select.select([read_end], [], [], 1)[0]:\n        held += os.read(read_end, 4)\n"
            "alive = [os.waitpid(pid, os.WNOHANG)[0] == 0 for pid in children]\n"
            "if len(held) == 4 and all(alive):  # 1.8 GB held at once\n    def mse(y_true, y_pred):\n"
            "        return np.mean((y_true - y_pred) ** 2, axis=-1)\n")}),
    }


def malformed() -> dict[str, str]:
    nb = json.loads(variant(SOLUTION_01))
    numbers = json.loads(json.dumps(nb))
    numbers["cells"][1]["source"] = [1, 2, 3]
    listed = json.loads(json.dumps(nb))
    listed["cells"][1]["metadata"] = ["a", "list"]
    return {"nested-json": '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "source-numbers": json.dumps(numbers), "metadata-list": json.dumps(listed)}


def ours(pattern: str) -> list[str]:
    """Command lines of live processes containing ``pattern``."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pattern in cmd and str(os.getpid()) != pid and "pytest" not in cmd:
            found.append(cmd)
    return found


def tree_digest(folder: Path) -> dict[str, str]:
    digest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            digest[str(path)] = "link:" + os.readlink(path)
        elif path.is_file() and not path.is_fifo():
            digest[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest[str(path)] = "dir" if path.is_dir() else "other"
    return digest


@pytest.fixture(scope="module")
def attacked():
    """Grade every attack plus honest learners in one sandboxed batch; return (rows, out, subs, scratch)."""
    require_sandbox()
    base = Path(tempfile.mkdtemp(prefix="gt-"))  # short: ipc socket paths must stay short
    subs, out, scratch = base / "subs", base / "out", base / "tmp"
    for folder in (subs, out, scratch):
        folder.mkdir()
    for name, text in {**attacks(subs, out), **malformed()}.items():
        (subs / f"{name}.ipynb").write_text(text)
    # names and files the batch must survive
    (subs / "grades.csv").mkdir()
    (subs / "grades.csv" / "mine.ipynb").write_text(variant(SOLUTION_01))
    (subs / os.fsdecode(b"caf\xe9\xff.ipynb")).write_text(variant(SOLUTION_01))
    (subs / "=HYPERLINK(1).ipynb").write_text(variant(SOLUTION_01))
    (subs / "twice.ipynb").write_text(variant(SOLUTION_01))
    (subs / "twice").mkdir()
    (subs / "twice" / "a.ipynb").write_text(variant(SOLUTION_01))
    os.mkfifo(subs / "fifo.ipynb")
    (subs / "linked.ipynb").symlink_to(SOLUTION_01)
    with open(subs / "huge.ipynb", "wb") as handle:  # 500 MB, sparse: must be refused unread
        handle.truncate(500 << 20)
    before = tree_digest(subs)
    mp = pytest.MonkeyPatch()
    mp.setenv("GRADE_TEST_SECRET", SECRET)
    mp.setattr(tempfile, "tempdir", str(scratch))
    try:
        rows = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=2,
                           limits=Limits(cell_timeout=20, budget=120, memory_bytes=int(1.5 * (1 << 30))))
    finally:
        mp.undo()
    yield rows, out, subs, scratch, before
    shutil.rmtree(base, ignore_errors=True)


def test_honest_learners_unaffected(attacked):
    rows, out, _, _, _ = attacked
    for student in ["honest", "zz-victim", "grades.csv", "caf\\xe9\\xff", "=HYPERLINK(1)"]:
        assert scores(rows[student]) == FULL, (student, rows[student])
        assert rows[student]["extra_data"]["status"] == "ok"
        assert rows[student]["extra_data"]["sandbox"].startswith("bwrap")
    stored = json.loads((out / "honest" / "results.json").read_text())
    assert stored["score"] == FULL_01


@pytest.mark.parametrize("name", ["rubric-import", "proc-snoop", "copy-classmate", "setsid", "aa-killer",
                                  "shadow-import", "surrogate", "big-print"])
def test_attack_scores_zero_on_its_exercise_only(attacked, name):
    row = attacked[0][name]
    got = scores(row)
    assert got["mse-check"] == 0, row
    assert {k: got[k] for k in OTHERS_01} == OTHERS_01, row
    assert "grader-error" not in row["extra_data"]["status"]


@pytest.mark.parametrize("name", ["deep-answer", "shape-overflow", "huge-answer"])
def test_broken_answers_are_the_learners_status(attacked, name):
    rows, out, _, _, _ = attacked
    row = rows[name]
    assert scores(row)["mse-check"] == 0 and "grader-error" not in row["extra_data"]["status"], row
    assert (out / name / "results.json").is_file() and (out / name / "feedback.md").is_file()


@pytest.mark.parametrize("name", ["delegate-reference", "delegate-captured"])
def test_delegating_answer_scores_zero_and_says_so(attacked, name):
    rows, out, _, _, _ = attacked
    row = rows[name]
    assert scores(row) == {**FULL, "mse-check": 0.0}, row
    mse = next(t for t in row["tests"] if t["name"] == "mse-check")
    assert "course_utils.losses" in mse["output"] and "write it yourself with numpy" in mse["output"], mse
    assert "write it yourself" in (out / name / "feedback.md").read_text()


def test_no_secret_and_no_classmate_answers(attacked):
    rows, out, _, _, _ = attacked
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert "FileNotFoundError" in json.dumps(rows["copy-classmate"]), rows["copy-classmate"]


def test_nothing_left_running_and_outputs_intact(attacked):
    rows, out, subs, scratch, before = attacked
    time.sleep(5)  # the lingering script would have rewritten the files after 4 s
    assert ours(MARKER) == []
    table = (out / "grades.csv").read_text()
    assert "setsid,9" not in table and "student,total" not in table
    assert json.loads((out / "setsid" / "results.json").read_text())["score"] == FULL_01 - 2
    assert tree_digest(subs) == before, "a submission was changed"
    assert list(scratch.iterdir()) == [], "a temporary folder was left behind"


def test_only_out_is_written(attacked):
    rows, out, subs, _, _ = attacked
    names = {p.name for p in out.iterdir()}
    assert "grades.csv" in names and (out / "grades.csv").is_file()
    assert not list(subs.rglob("pwned*"))


def test_file_names_and_special_files(attacked):
    rows, out, _, _, _ = attacked
    table = list(csv.reader((out / "grades.csv").read_text(encoding="utf-8").splitlines()))
    students = [row[0] for row in table[1:]]
    assert "'=HYPERLINK(1)" in students and "=HYPERLINK(1)" not in students
    assert "caf\\xe9\\xff" in students
    assert (out / safe_name("grades.csv") / "results.json").is_file() and safe_name("grades.csv") != "grades.csv"
    assert rows["twice.ipynb"]["extra_data"]["status"] == rows["twice/"]["extra_data"]["status"] == \
        "duplicate-submission"
    assert "twice" not in rows
    for name, status in [("fifo", "not-a-file"), ("linked", "not-a-file"), ("huge", "too-large")]:
        assert rows[name]["extra_data"]["status"] == status and rows[name]["score"] == 0, rows[name]
        assert (out / name / "feedback.md").is_file()


def test_malformed_notebooks_are_invalid(attacked):
    rows, out, _, _, _ = attacked
    for name in malformed():
        assert rows[name]["extra_data"]["status"] == "invalid-notebook", rows[name]
        assert (out / name / "results.json").is_file() and (out / name / "feedback.md").is_file()


def test_memory_is_limited_for_all_processes_together(attacked):
    row = attacked[0]["fork-memory"]
    if row["extra_data"]["sandbox"] != "bwrap+cgroup":
        pytest.skip("no control group on this machine: only per-process limits apply (see the README)")
    assert scores(row)["mse-check"] == 0, row
    assert {k: scores(row)[k] for k in OTHERS_01} == OTHERS_01, row


def test_rerun_keeps_every_grade(attacked):
    rows, out, subs, _, _ = attacked
    again = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=1,
                        limits=Limits(cell_timeout=15, budget=120, memory_bytes=int(1.5 * (1 << 30))))
    assert {k: v["score"] for k, v in again.items()} == {k: v["score"] for k, v in rows.items()}


# --- attacks with limits of their own ----------------------------------------------------------------------


def test_budget_counts_replays(tmp_path):
    """Timeouts and the replays after them count: the submission stops at its budget."""
    require_sandbox()
    subs = tmp_path / "subs"
    subs.mkdir()
    slow = "import time\ntime.sleep(3)\n"
    (subs / "slow.ipynb").write_text(variant(SOLUTION_01, replace={
        "mse": slow + "def mse(y_true, y_pred):\n    return np.mean((y_true - y_pred) ** 2, axis=-1)\n",
        "mae": "while True:\n    pass\n", "huber": "while True:\n    pass\n"}))
    rows = grade_batch(subs, "01", tmp_path / "out", exercises=ROOT / "exercises", workers=1,
                       limits=Limits(cell_timeout=5, budget=12))
    row = rows["slow"]
    assert "budget-exceeded" in row["extra_data"]["status"], row
    assert row["execution_time"] < 12 + 8, row  # the budget, plus at most one kernel start
    assert scores(row)["under_penalty_mse-check"] == 0


def test_dead_kernel_is_retried_once(monkeypatch):
    """A kernel killed from outside (once) costs the learner nothing: the step runs again in a fresh sandbox."""
    require_sandbox()
    release = nbformat.read(find_release(ROOT / "exercises", "01"), as_version=4)
    real = Kernel.execute
    killed = []

    def execute(self, code, timeout, user_expressions=None):
        if code.startswith("def mae") and not killed:
            killed.append(code)
            os.kill(self.km.provisioner.pid, signal.SIGKILL)
            raise KernelDied("the kernel process died")
        return real(self, code, timeout, user_expressions)

    monkeypatch.setattr(Kernel, "execute", execute)
    result = grade_notebook(release, variant(SOLUTION_01).encode(), rubric_for("01"), Limits(cell_timeout=30))
    assert killed and result["score"] == FULL_01 and result["extra_data"]["status"] == "ok", result


def test_big_output_never_reaches_the_grader():
    """A 150 MB print is dropped by the grader's sockets: the grader's own memory stays small."""
    require_sandbox()
    kernel = Kernel(sandboxed=True, memory_bytes=2 << 30)
    try:
        kernel.start()
        tracemalloc.start()
        try:
            reply = kernel.execute("print('x' * (150 << 20))\nprint('after')", timeout=10)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        kernel.close()
    assert reply.status == "ok" and peak < 40 << 20, peak


def test_broken_environment_stops_the_grader(tmp_path):
    """The release's setup fails with no learner code: exit code 3, what is missing, nobody graded."""
    require_sandbox()
    exercises, subs = tmp_path / "exercises", tmp_path / "subs"
    exercises.mkdir()
    subs.mkdir()
    release = nbformat.read(find_release(ROOT / "exercises", "01"), as_version=4)
    setup = next(c for c in release.cells if c.id == "setup")
    setup.source = "import course_utils_not_installed\n" + setup.source
    nbformat.write(release, exercises / "01_loss_as_error.ipynb")
    (subs / "honest.ipynb").write_text(variant(SOLUTION_01))
    done = subprocess.run([sys.executable, "-m", "course_utils.grade", str(subs), "--assignment", "01", "--out",
                           str(tmp_path / "out"), "--exercises", str(exercises)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "No module named 'course_utils_not_installed'" in done.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
    with pytest.raises(EnvironmentProblem):
        grade_batch(subs, "01", tmp_path / "out", exercises=exercises, workers=1, limits=Limits(sandbox=False))


def test_no_sandbox_stops_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "no-such-bwrap-here")
    sandbox.check.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="--no-sandbox"):
            grade_batch(tmp_path, "01", tmp_path / "out", exercises=ROOT / "exercises")
    finally:
        sandbox.check.cache_clear()


def test_unsandboxed_grading_is_recorded(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "honest.ipynb").write_text(variant(SOLUTION_01))
    rows = grade_batch(subs, "01", tmp_path / "out", exercises=ROOT / "exercises", workers=1,
                       limits=Limits(sandbox=False, cell_timeout=30))
    assert rows["honest"]["score"] == FULL_01 and rows["honest"]["extra_data"]["sandbox"] == "none"
    table = list(csv.DictReader((tmp_path / "out" / "grades.csv").read_text().splitlines()))
    assert table[0]["sandbox"] == "none"
    assert "without a sandbox" in (tmp_path / "out" / "honest" / "feedback.md").read_text()


# Where no sandbox can start (Gradescope's container) a grader running as root still keeps the learner's code
# away from itself by running the kernel as an unprivileged account (Limits.kernel_user, --kernel-user).
KERNEL_USER_PROBE = """
import json, os, sys
from course_utils.grade.kernel import Kernel
grader = os.getpid()
open(sys.argv[1], "w").write("the grader's")
os.chmod(sys.argv[1], 0o644)
kernel = Kernel(user="nobody")
try:
    kernel.start()
    reply = kernel.execute(f'''
import json, os, numpy, course_utils.losses
seen = dict(uid=os.getuid(), groups=os.getgroups())
for name, attempt in [("signal", lambda: os.kill({grader}, 0)),
                      ("environ", lambda: open("/proc/{grader}/environ").read()),
                      ("overwrite", lambda: open({sys.argv[1]!r}, "w").write("forged"))]:
    try:
        attempt()
        seen[name] = "done"
    except PermissionError:
        seen[name] = "refused"
print(json.dumps(seen))
''', timeout=120)
    print(reply.status, reply.output.strip().splitlines()[-1], kernel.isolation, sep="\\n")
finally:
    kernel.close()
print(os.path.exists(kernel.root))
"""


def test_an_unsandboxed_kernel_as_another_user_cannot_reach_the_grader(tmp_path):
    """Run as root with Kernel(user="nobody"): the learner's code cannot signal the grader, read its environment
    or overwrite its files, and the kernel still imports the course. (Run in bubblewrap, as real root with no
    user namespace, only to make this interpreter reachable by "nobody" where /root is private.)"""
    if os.geteuid() != 0 or shutil.which("bwrap") is None:
        pytest.skip("needs root (to start a kernel as another user) and bwrap")
    command = ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--die-with-parent"]
    if os.stat("/root").st_mode & 0o001 == 0:  # a private /root: a world-readable stand-in holding this Python
        command += ["--tmpfs", "/root"]
        for path in sorted({os.path.realpath(sys.base_prefix), str(ROOT)}):
            if path.startswith("/root/"):
                parents = Path(path).relative_to("/root").parents
                for parent in sorted(str(Path("/root", p)) for p in parents if str(p) != "."):
                    command += ["--perms", "0755", "--dir", parent]
                command += ["--bind", path, path]
    command += ["--chdir", str(ROOT), "--", sys.executable, "-c", KERNEL_USER_PROBE, str(tmp_path / "grader-file")]
    os.chmod(tmp_path, 0o755)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr
    status, seen, isolation, left = done.stdout.strip().splitlines()[-4:]
    seen = json.loads(seen)
    assert status == "ok" and isolation == "user nobody" and left == "False"
    assert seen["uid"] != 0 and 0 not in seen["groups"]
    assert (seen["signal"], seen["environ"], seen["overwrite"]) == ("refused",) * 3
    assert (tmp_path / "grader-file").read_text() == "the grader's"
