"""Grade on Gradescope: build an autograder zip in Gradescope's layout, and grade one submission inside it.

Gradescope unpacks the zip at ``/autograder/source``, runs its ``setup.sh`` once (as root, on their Ubuntu
22.04 base image) to build an image, then for every submission puts the learner's files in
``/autograder/submission/``, runs ``/autograder/run_autograder`` and reads ``/autograder/results/results.json``.

:func:`build` writes that zip: ``setup.sh`` (Python 3.11, a venv at ``/autograder/source/.venv`` with the
course's pinned ``requirements.txt`` and ``course_utils`` editable, exactly as ``make setup``), ``run_autograder``,
``requirements.txt``, ``pyproject.toml``, ``README.md`` (pyproject's readme), ``course_utils/`` and the released
``exercises/NN_*.ipynb`` (never ``solutions/``). Entries are sorted and time-stamped 1980-01-01, so two builds
of the same checkout are byte-identical.

:func:`run` is what ``run_autograder`` calls: it grades the one notebook in the submission folder with
:func:`~course_utils.grade.batch.grade_batch` (same rubric, same code as a class batch) and writes its
results.json. The kernel runs in the bubblewrap sandbox when one can start in Gradescope's container, else
unsandboxed (Gradescope's own container is then the only wall; ``extra_data.sandbox`` says which). Either
way every process the learner's code started is killed before results.json is written.

Example (from a checkout)::

    python -m course_utils.grade gradescope --assignment 01 --out autograder.zip
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import pwd
import signal
import sys
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat

from course_utils.grade import sandbox
from course_utils.grade.batch import (
    EnvironmentProblem,
    Submission,
    _notebooks_in,
    _problem_result,
    grade_batch,
    submission_bytes,
    write_atomic,
)
from course_utils.grade.rebuild import find_release
from course_utils.grade.rubric import rubric_for
from course_utils.grade.runner import Limits

ROOT = Path(__file__).resolve().parents[2]
LEARNER = "submission"  # the learner's id inside the one-submission batch
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build date leaks into the bytes
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
KERNEL_USER = "course-learner"  # setup.sh makes it; kernels run as it where no sandbox can start

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (base image: Ubuntu 22.04).
# It installs the course's pinned environment exactly as `make setup` does: Python 3.11 (Ubuntu 22.04's own
# python3 is 3.10, too old for Keras 3.15), a venv at /autograder/source/.venv with requirements.txt and
# course_utils (editable). Grading itself needs no network. bubblewrap is installed so that the grader
# sandboxes the learner's kernel when Gradescope's container allows it (run_autograder says which it used).
set -euxo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap
# Where bubblewrap cannot start, the learner's kernel runs as this account instead of root: it cannot read the
# grader's memory or environment, signal it, or write results.json
id -u {kernel_user} >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin {kernel_user}
python3.11 -m venv .venv
.venv/bin/python -m pip install --no-cache-dir --upgrade pip
.venv/bin/python -m pip install --no-cache-dir -r requirements.txt
.venv/bin/python -m pip install --no-cache-dir --no-deps -e .
# matplotlib's font list, built once here rather than by the first kernel of every submission
.venv/bin/python -c "import matplotlib.font_manager"
# fail the build now, not at the first submission, when the grader or TensorFlow cannot import
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python -c "import course_utils.grade.gradescope, tensorflow, keras"
chmod 755 run_autograder
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (as root, working folder /autograder): it grades the notebook in
# /autograder/submission/ against assignment {assignment} and writes /autograder/results/results.json.
# Built by `python -m course_utils.grade gradescope --assignment {assignment}`: rebuild rather than edit.
export TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 PYTHONUTF8=1
# course_utils comes from the venv's editable install (/autograder/source/course_utils), for grader and kernel alike
cd /autograder || exit 1
exec /autograder/source/.venv/bin/python -m course_utils.grade.gradescope --assignment {assignment} \\
    --root /autograder --timeout {timeout:g} --budget {budget:g} --memory-gb {memory_gb:g}
"""


def _check_limits(timeout: float, budget: float, memory_gb: float) -> None:
    for name, value in (("timeout", timeout), ("budget", budget), ("memory_gb", memory_gb)):
        if not value > 0:
            raise ValueError(f"{name} must be a positive number of {'GiB' if name == 'memory_gb' else 'seconds'}, "
                             f"got {value!r}")


def files_for(assignment: str, root: Path = ROOT, *, timeout: float = 60, budget: float = 480,
              memory_gb: float = 3) -> dict[str, tuple[bytes, int]]:
    """The autograder's files: ``{path in the zip: (bytes, unix mode)}``.

    Args:
        assignment: two digits, ``"01"`` to ``"06"`` (an assignment with a rubric and a released notebook).
        root: the checkout to take them from.
        timeout, budget, memory_gb: the grader's limits baked into ``run_autograder`` (seconds per cell or
            test, seconds per submission, GiB of the kernel's memory).

    >>> sorted(p for p in files_for("01") if not p.startswith("course_utils/"))  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'exercises/01_loss_as_error.ipynb', 'pyproject.toml', 'requirements.txt', 'run_autograder',
     'setup.sh']
    """
    rubric_for(assignment)  # NoRubric names the assignments that have one
    _check_limits(timeout, budget, memory_gb)
    release = find_release(root / "exercises", assignment)
    files = {
        "setup.sh": (SETUP_SH.format(kernel_user=KERNEL_USER).encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.format(assignment=assignment, timeout=timeout, budget=budget,
                                                 memory_gb=memory_gb).encode(), 0o755),
        f"exercises/{release.name}": (release.read_bytes(), 0o644),
    }
    for name in ("requirements.txt", "pyproject.toml", "README.md"):
        files[name] = ((root / name).read_bytes(), 0o644)
    package = root / "course_utils"
    for top, dirs, names in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        for name in names:
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(top) / name
            files[path.relative_to(root).as_posix()] = (path.read_bytes(), 0o644)
    return files


def build(assignment: str, out: Path, root: Path = ROOT, **limits) -> Path:
    """Write the Gradescope autograder zip of ``assignment`` to ``out``; return ``out``.

    Entries are sorted, dated 1980-01-01 and carry fixed permissions, so the same checkout always gives the
    same bytes. ``limits``: ``timeout``, ``budget``, ``memory_gb`` as in :func:`files_for`.
    """
    files = files_for(assignment, root, **limits)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # unix: the mode below is honoured by unzip
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    os.replace(tmp, out)
    return out


# --- inside Gradescope's container ---------------------------------------------------------------------------


def adopt_orphans() -> None:
    """Make this process the reaper of every orphan below it: a ``setsid`` double fork cannot leave its tree."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _children() -> list[int]:
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
        if int(fields[1]) == me:
            found.append(int(entry))
    return found


def end_leftovers() -> list[str]:
    """Kill and reap every child of this process (orphans included, see :func:`adopt_orphans`).

    Returns the command lines of those that were the learner's (the grader's own multiprocessing resource
    tracker, which lives until the grader exits, is ended too but not listed).
    """
    ended = []
    while children := _children():
        for pid in children:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                command = ""
            if "multiprocessing.resource_tracker" not in command:
                ended.append(" ".join(command.split())[:200])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return ended


def pick_notebook(folder: Path, release_name: str) -> tuple[Path | None, str, str]:
    """The notebook to grade in Gradescope's submission folder: ``(path, problem, status)``.

    One regular ``.ipynb`` file anywhere in ``folder`` (``.ipynb_checkpoints`` and hidden files ignored), or,
    among several, the one named like the release. Links and special files are never read.
    """
    good, bad = _notebooks_in(str(folder)) if folder.is_dir() else ([], [])
    named = [p for p in good if os.path.basename(p) == release_name]
    if bad:
        return None, (f"the submission holds {len(bad)} .ipynb entries that are links or special files: not read; "
                      f"submit {release_name} itself"), "not-a-file"
    if len(good) == 1 or len(named) == 1:
        return Path(named[0] if named else good[0]), "", ""
    what = "no notebook" if not good else f"{len(good)} notebooks, none of them named {release_name}"
    return None, f"the submission holds {what}: submit your {release_name}", "invalid-notebook"


def gradescope_results(result: dict) -> dict:
    """The batch grader's results.json made ready for Gradescope: a summary on top, shown to the learner."""
    extra = result["extra_data"]
    lines = [f"Total: {result['score']:g} / {extra['max_score']:g}"]
    if extra["status"] != "ok":
        lines.append(f"Status: {extra['status']}")
    if result.get("output"):
        lines.append(result["output"])
    return {**result, "output": "\n".join(lines), "output_format": "text"}


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def run(assignment: str, root: Path = Path("/autograder"), limits: Limits | None = None, log=None) -> dict:
    """Grade the notebook in ``root/submission`` against ``root/source/exercises``; write ``root/results/results.json``.

    The kernel is sandboxed when bubblewrap can start here, else not (``extra_data["sandbox"]`` says which);
    every process left by the learner's code is killed before the results are written. Raises
    :class:`~course_utils.grade.batch.EnvironmentProblem` (and writes nothing) when the release's setup cells
    fail with no learner code: that is the autograder's fault, and Gradescope then flags the run as failed.
    """
    log = log or sys.stdout
    exercises = root / "source" / "exercises"
    release = find_release(exercises, assignment)
    reason = sandbox.check()
    user = KERNEL_USER if reason and os.geteuid() == 0 and _exists(KERNEL_USER) else None
    limits = replace(limits or Limits(budget=480), sandbox=not reason, kernel_user=user)
    print("sandbox: bubblewrap" if not reason else "sandbox: none (Gradescope's container is the only wall; "
          f"bubblewrap cannot start here: {reason}); the kernel runs as "
          + (f"the unprivileged {user}" if user else "this process's user"), file=log, flush=True)
    adopt_orphans()
    path, problem, status = pick_notebook(root / "submission", release.name)
    data, submission = submission_bytes(Submission(LEARNER, path, problem, status or "invalid-notebook", LEARNER),
                                        limits.max_notebook_bytes)
    if data is None:
        result = _problem_result(nbformat.read(release, as_version=4), rubric_for(assignment), submission)
        result["extra_data"].update(student=LEARNER, assignment=assignment,
                                    sandbox="bwrap" if limits.sandbox else "none")
    else:
        with tempfile.TemporaryDirectory(prefix="gradescope-") as scratch:
            submissions = Path(scratch) / "submissions"
            submissions.mkdir()
            (submissions / f"{LEARNER}.ipynb").write_bytes(data)
            result = grade_batch(submissions, assignment, Path(scratch) / "out", exercises=exercises, workers=1,
                                 limits=limits, log=log)[LEARNER]
    left = end_leftovers()
    if left:
        print(f"ended {len(left)} processes the submission left running: {'; '.join(left)}", file=log, flush=True)
    write_atomic(root / "results" / "results.json", json.dumps(gradescope_results(result), indent=2))
    return result


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options both commands take: the one that builds the zip writes them into run_autograder, which passes
    them on to :func:`main`."""
    parser.add_argument("--assignment", required=True, help="two digits: grades against exercises/NN_*.ipynb")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per cell or test (default 60)")
    parser.add_argument("--budget", type=float, default=480,
                        help="seconds per submission (default 480: under Gradescope's default 10-minute limit)")
    parser.add_argument("--memory-gb", type=float, default=3, help="memory of the learner's kernel (default 3)")


def main(argv=None) -> int:
    """``python -m course_utils.grade.gradescope --assignment NN``: what ``run_autograder`` runs."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade.gradescope",
                                     description="Grade one Gradescope submission (inside Gradescope's container).")
    add_options(parser)
    parser.add_argument("--root", type=Path, default=Path("/autograder"), help="Gradescope's folder (/autograder)")
    args = parser.parse_args(argv)
    _check_limits(args.timeout, args.budget, args.memory_gb)
    limits = Limits(cell_timeout=args.timeout, budget=args.budget, memory_bytes=int(args.memory_gb * (1 << 30)))
    try:
        run(args.assignment, args.root, limits)
    except EnvironmentProblem as error:
        print(f"environment error (the autograder's, not the learner's; nothing graded): {error}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
