"""Grade a folder of submissions in parallel; write results.json, feedback.md and grades.csv.

Each worker process grades whole submissions. A submission whose content hash (its bytes, the
release and the grader's own source) matches the one stored in its ``results.json`` is skipped,
and every file is written atomically (temporary file + ``os.replace``), so an interrupted batch can
simply be run again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import queue
import re
import shutil
import stat
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.grade import sandbox
from course_utils.grade.kernel import Kernel, KernelTrouble
from course_utils.grade.rebuild import Changes, find_release
from course_utils.grade.rubric import rubric_for
from course_utils.grade.runner import Limits, grade_notebook, new_kernel, plan, results

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
RESERVED = {"grades.csv"}  # the grader's own files in --out


class EnvironmentProblem(RuntimeError):
    """The grading machine cannot run the released notebook's setup (no learner code involved)."""


class NotRegular(OSError):
    pass


class TooLarge(OSError):
    pass


@dataclass(frozen=True)
class Submission:
    student: str  # the learner's id as shown (valid text; non-UTF-8 bytes shown as \x.. escapes)
    path: Path | None  # None when there is nothing to grade (see problem)
    problem: str = ""
    status: str = "invalid-notebook"  # the status when there is a problem
    folder: str = ""  # the learner's folder in --out: safe for every file system, never a grader file

    @property
    def out_name(self) -> str:
        return self.folder or safe_name(self.student)


def shown(name: str) -> str:
    """A file name (``os.fsdecode``d) as valid text."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def safe_name(name: str) -> str:
    """A folder name for learner ``name``: itself when plain, else a cleaned name plus a hash (never collides)."""
    if SAFE_NAME.fullmatch(name) and name.lower() not in RESERVED:
        return name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", shown(name))[:60].strip("._-") or "learner"
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{cleaned}~{digest}"


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _notebooks_in(folder: str) -> tuple[list[str], list[str]]:
    """Regular ``.ipynb`` files under ``folder`` (links not followed), and anything else named ``.ipynb``."""
    good, bad = [], []
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != ".ipynb_checkpoints")
        for name in sorted(files + [d for d in os.listdir(top) if os.path.islink(os.path.join(top, d))]):
            if not name.endswith(".ipynb") or name.startswith("."):
                continue
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            (good if stat.S_ISREG(mode) else bad).append(path)
    return good, sorted(set(bad))


def find_submissions(folder: Path) -> list[Submission]:
    """``NAME.ipynb`` files, or ``NAME/`` folders holding one notebook, sorted by student.

    Only regular files are ever read: links, FIFOs and devices get a status instead. A learner with both
    ``NAME.ipynb`` and ``NAME/`` gets both reported (``duplicate-submission``), never merged.
    """
    found: dict[str, list[Submission]] = {}
    labels: dict[str, list[str]] = {}
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            name = entry.name
            if name.startswith("."):
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if name.endswith(".ipynb") and not stat.S_ISDIR(mode):
                student = name[: -len(".ipynb")]
                if stat.S_ISREG(mode):
                    item = Submission(shown(student), Path(entry.path))
                else:
                    item = Submission(shown(student), None, f"{shown(name)} is {_kind(mode)}, not a notebook file: "
                                      "not read", "not-a-file")
            elif stat.S_ISDIR(mode):
                student = name
                good, bad = _notebooks_in(entry.path)
                if bad:
                    item = Submission(shown(student), None, f"the folder holds {len(bad)} .ipynb entries that are "
                                      "links or special files: not read", "not-a-file")
                elif len(good) == 1:
                    item = Submission(shown(student), Path(good[0]))
                else:
                    item = Submission(shown(student), None, f"the folder holds {len(good)} notebooks, not 1")
            elif stat.S_ISLNK(mode) and not name.endswith(".ipynb"):
                student = name
                item = Submission(shown(student), None, f"{shown(name)} is a link, not a folder: not read",
                                  "not-a-file")
            else:
                continue
            label = f"{shown(name)}/" if stat.S_ISDIR(mode) else shown(name)
            found.setdefault(student, []).append(
                Submission(item.student, item.path, item.problem, item.status, safe_name(student)))
            labels.setdefault(student, []).append(label)
    submissions = []
    for student in sorted(found):
        items = found[student]
        if len(items) == 1:
            submissions.append(items[0])
            continue
        what = " and ".join(labels[student])
        for label in labels[student]:
            submissions.append(Submission(label, None, f"two submissions for one learner ({what}): neither was "
                                          "graded; keep one and grade again", "duplicate-submission",
                                          safe_name(f"{student} ({label})")))
    return submissions


def read_notebook(path: Path, cap: int) -> bytes:
    """The bytes of a regular file (no link followed, no FIFO opened), refusing one above ``cap`` bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"{path.name} is {_kind(info.st_mode)}, not a notebook file")
        if info.st_size > cap:
            raise TooLarge(f"the notebook file is {info.st_size / 2**20:.1f} MiB, above the {cap / 2**20:g} MiB limit")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise TooLarge(f"the notebook file is above the {cap / 2**20:g} MiB limit")
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of one.

    Text the learner's code produced may hold lone surrogates: they are written as ``\\udcxx`` escapes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def grader_sources() -> list[Path]:
    """The grader's code and the exercise definitions it grades with (course_utils.checks)."""
    package = Path(__file__).parent.parent
    return sorted([*(package / "grade").glob("*.py"), *(package / "checks").glob("*.py")])


def grader_fingerprint() -> str:
    """A hash of the grader's source: a changed rubric or exercise definition regrades everything."""
    digest = hashlib.sha256()
    for path in grader_sources():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def content_hash(data: bytes, release: Path, fingerprint: str, sandboxed: bool = True) -> str:
    """The hash stored with a result: the graded bytes (or the problem's text), the release, the grader."""
    digest = hashlib.sha256(fingerprint.encode() + release.read_bytes() + (b"sandbox" if sandboxed else b"none"))
    digest.update(data)
    return digest.hexdigest()


def submission_bytes(submission: Submission, cap: int) -> tuple[bytes | None, Submission]:
    """Read a submission once: its bytes, or None and the submission with its problem set."""
    if submission.path is None:
        return None, submission
    try:
        return read_notebook(submission.path, cap), submission
    except NotRegular as error:
        status, problem = "not-a-file", f"{error}: not read"
    except TooLarge as error:
        status, problem = "too-large", f"{error}: not read"
    except OSError as error:
        status, problem = "invalid-notebook", f"the file could not be read: {error.strerror or error}"
    return None, Submission(submission.student, None, problem, status, submission.folder)


def feedback_markdown(student: str, result: dict) -> str:
    """Per exercise: points and the public message only."""
    extra = result["extra_data"]
    lines = [f"# Feedback for {student}", "", f"**Total: {result['score']:g} / {extra['max_score']:g}**", ""]
    if extra["status"] != "ok":
        lines += [f"Status: `{extra['status']}`", ""]
    if extra.get("sandbox") == "none":
        lines += ["Graded without a sandbox (`--no-sandbox`).", ""]
    for test in result["tests"]:
        lines += [f"## {test['name']}: {test['score']:g} / {test['max_score']:g}", "", test["output"], ""]
    if result.get("output"):
        lines += ["## Notes", "", *[f"- {line}" for line in result["output"].splitlines()], ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Job:
    submission: Submission
    release: Path
    assignment: str
    out_dir: Path
    fingerprint: str
    limits: Limits


def _problem_result(release, rubric, submission: Submission) -> dict:
    _, points = plan(release)
    result = results({}, [submission.status], Changes(), submission.problem, 0.0)
    result["tests"] = [{"name": gid, "score": 0.0, "max_score": points[gid], "status": "failed",
                        "output": submission.problem} for gid in points if gid in rubric]
    result["extra_data"]["max_score"] = sum(t["max_score"] for t in result["tests"])
    return result


def grade_job(job: Job, kernel: Kernel | None = None) -> dict:
    """Grade one submission and write its files (runs in a worker process); ``kernel`` as in grade_notebook.

    The file is read once: the bytes graded are the bytes hashed.
    """
    try:
        release = nbformat.read(job.release, as_version=4)
        rubric = rubric_for(job.assignment)
        data, submission = submission_bytes(job.submission, job.limits.max_notebook_bytes)
        if data is None:
            result = _problem_result(release, rubric, submission)
            data = submission.problem.encode()
        else:
            result = grade_notebook(release, data, rubric, job.limits, kernel)
            kernel = None
    finally:
        if kernel is not None:
            kernel.close()
    result["extra_data"].setdefault("sandbox", "bwrap" if job.limits.sandbox else "none")
    result["extra_data"].update(student=job.submission.student, assignment=job.assignment,
                                content_hash=content_hash(data, job.release, job.fingerprint, job.limits.sandbox))
    write_result(job.out_dir, job.submission, result)
    return result


def write_result(out_dir: Path, submission: Submission, result: dict) -> None:
    folder = out_dir / submission.out_name
    write_atomic(folder / "feedback.md", feedback_markdown(submission.student, result))
    write_atomic(folder / "results.json", json.dumps(result, indent=2))


def work(jobs, done, scratch=None) -> None:
    """A worker process: grade jobs from the ``jobs`` queue until ``None``, putting ``(index, result)`` on ``done``.

    The next submission's kernel is launched as soon as the current one starts, so its start-up (about a
    second, much of it waiting) overlaps with grading instead of leaving a core idle.
    """
    booting = None
    try:
        for index, job in iter(jobs.get, None):
            kernel, booting = booting, None
            try:
                kernel = kernel or new_kernel(job.limits, scratch)
                booting = new_kernel(job.limits, scratch)
                handed, kernel = kernel, None
                done.put((index, grade_job(job, handed)))  # grade_job closes the kernel it is handed
            except Exception as error:  # a grader bug: record it, keep the batch going
                if kernel is not None:
                    kernel.close()
                done.put((index, f"{type(error).__name__}: {error}"))
    finally:
        if booting is not None:
            booting.close()


def previous(out_dir: Path, folder: str, digest: str) -> dict | None:
    """The stored result when it was made from exactly this content, else None."""
    path = out_dir / folder / "results.json"
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode) or os.lstat(path).st_size > 50 << 20:
            return None
        result = json.loads(path.read_text())
        return result if result["extra_data"]["content_hash"] == digest else None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def csv_text(value: str) -> str:
    """A cell a spreadsheet shows as text: no formula (``=``, ``+``, ``-``, ``@``, tab, CR first)."""
    value = shown(value) if isinstance(value, str) else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def grades_csv(rows: dict[str, dict], grade_ids: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *grade_ids, "total", "max", "status", "sandbox"])
    for student in sorted(rows):
        result = rows[student]
        scores = {t["name"]: t["score"] for t in result["tests"]}
        writer.writerow([csv_text(student), *[f"{scores.get(g, 0):g}" for g in grade_ids], f"{result['score']:g}",
                         f"{result['extra_data']['max_score']:g}", csv_text(result["extra_data"]["status"]),
                         csv_text(result["extra_data"].get("sandbox", ""))])
    return buffer.getvalue()


def summary(rows: dict[str, dict], grade_ids: list[str]) -> str:
    """Mean total and, per exercise, the mean and how many got each score."""
    if not rows:
        return "no submissions"
    totals = [r["score"] for r in rows.values()]
    top = max(r["extra_data"]["max_score"] for r in rows.values())
    lines = [f"{len(rows)} submissions, mean total {sum(totals) / len(totals):.2f} / {top:g}"]
    for gid in grade_ids:
        scores = [next((t["score"] for t in r["tests"] if t["name"] == gid), 0.0) for r in rows.values()]
        spread = ", ".join(f"{score:g} pts: {n}" for score, n in sorted(Counter(scores).items()))
        lines.append(f"  {gid:32s} mean {sum(scores) / len(scores):5.2f}   ({spread})")
    statuses = Counter(r["extra_data"]["status"] for r in rows.values())
    lines.append("status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    return "\n".join(lines)


def check_environment(release_nb, limits: Limits, scratch: str) -> None:
    """Run the release's setup cells (before the first exercise) alone; :class:`EnvironmentProblem` if one fails.

    A setup cell that fails with no learner code at all is the grading machine's fault (a package missing,
    course_utils not importable): nobody should be graded against it.
    """
    steps, _ = plan(release_nb)
    setup = []
    for step in steps:
        if step.solution:
            break
        setup.append(step)
    if not setup:
        return
    kernel = new_kernel(limits, scratch)
    try:
        kernel.connect()
        for step in setup:
            reply = kernel.execute(step.source, max(limits.cell_timeout, 120))
            if reply.status != "ok":
                raise EnvironmentProblem(
                    f"the released notebook's setup cell {step.key!r} fails on this machine with no learner code: "
                    f"{reply.ename}: {reply.evalue} (sandbox: {kernel.isolation}). Fix the grading environment "
                    "(is course_utils installed in this Python? are its dependencies?) and grade again")
    except KernelTrouble as error:
        raise EnvironmentProblem(f"a kernel for the released notebook cannot run here: {error}") from None
    finally:
        kernel.close()


def grade_batch(submissions_dir: Path, assignment: str, out_dir: Path, *, exercises: Path, workers: int = 2,
                limits: Limits | None = None, log=None) -> dict[str, dict]:
    """Grade every submission in ``submissions_dir``; return ``{student: results}`` and write all files.

    Raises :class:`~course_utils.grade.sandbox.SandboxUnavailable` when ``limits.sandbox`` and no sandbox can
    start, and :class:`EnvironmentProblem` when the release's setup fails with no learner code.
    """
    log = log or sys.stderr
    limits = limits or Limits()
    rubric = rubric_for(assignment)  # fails early, with a clear message, for an assignment without rubric
    release = find_release(exercises, assignment)
    release_nb = nbformat.read(release, as_version=4)
    _, points = plan(release_nb)
    grade_ids = [gid for gid in points if gid in rubric]
    if limits.sandbox:
        sandbox.require()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = grader_fingerprint()
    scratch = tempfile.mkdtemp(prefix="grade-batch-")
    try:
        check_environment(release_nb, limits, scratch)
        rows, jobs = {}, []
        for submission in find_submissions(Path(submissions_dir)):
            data, checked = submission_bytes(submission, limits.max_notebook_bytes)
            digest = content_hash(checked.problem.encode() if data is None else data, release, fingerprint,
                                  limits.sandbox)
            old = previous(out_dir, submission.out_name, digest)
            if old is not None:
                rows[submission.student] = old
            else:
                jobs.append(Job(submission, release, assignment, out_dir, fingerprint, limits))
        print(f"grading {len(jobs)} submissions of assignment {assignment} ({len(rows)} unchanged, skipped) "
              f"with {workers} workers" + ", WITHOUT a sandbox (--no-sandbox)" * (not limits.sandbox), file=log)
        start = time.monotonic()
        for count, (job, result) in enumerate(_run_workers(jobs, workers, scratch), start=1):
            if isinstance(result, str):
                result = _grader_error(job, grade_ids, points, result)
            rows[job.submission.student] = result
            print(f"[{count:>{len(str(len(jobs)))}}/{len(jobs)}] {shown(job.submission.student)}: {result['score']:g}/"
                  f"{result['extra_data']['max_score']:g} {result['extra_data']['status']} "
                  f"({time.monotonic() - start:.0f} s)", file=log)
        write_atomic(out_dir / "grades.csv", grades_csv(rows, grade_ids))
        print(summary(rows, grade_ids), file=log)
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        sandbox.remove_groups(os.path.basename(scratch))


def _run_workers(jobs: list[Job], workers: int, scratch: str | None = None):
    """Yield ``(job, result dict or error text)`` as worker processes finish them, in any order."""
    if not jobs:
        return
    context = multiprocessing.get_context("spawn")
    todo, done = context.Queue(), context.Queue()
    count = max(1, min(workers, len(jobs)))
    for item in [*enumerate(jobs), *[None] * count]:
        todo.put(item)
    processes = [context.Process(target=work, args=(todo, done, scratch), daemon=True) for _ in range(count)]
    for process in processes:
        process.start()
    waiting = set(range(len(jobs)))
    try:
        while waiting:
            try:
                index, result = done.get(timeout=1.0)
            except queue.Empty:
                if any(process.is_alive() for process in processes):
                    continue
                for index in sorted(waiting):  # every worker is gone: what is left cannot be graded
                    yield jobs[index], "the grading worker process died"
                return
            waiting.discard(index)
            yield jobs[index], result
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)


def _grader_error(job: Job, grade_ids: list[str], points: dict, error: str) -> dict:
    """A grader bug: the learner is told so (results.json and feedback.md are still written)."""
    message = f"grader error (not your fault; your instructor will regrade): {error}"
    result = results({}, ["grader-error"], Changes(), message, 0.0)
    result["tests"] = [{"name": g, "score": 0.0, "max_score": points[g], "status": "failed", "output": message}
                       for g in grade_ids]
    result["extra_data"].update(max_score=sum(points[g] for g in grade_ids), student=job.submission.student,
                                content_hash="", sandbox="bwrap" if job.limits.sandbox else "none")
    try:
        write_result(job.out_dir, job.submission, result)
    except OSError as write_error:
        print(f"could not write the results of {shown(job.submission.student)}: {write_error}", file=sys.stderr)
    return result
