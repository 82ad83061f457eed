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
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.grade.kernel import Kernel
from course_utils.grade.rebuild import Changes, find_release
from course_utils.grade.rubric import rubric_for
from course_utils.grade.runner import Limits, grade_notebook, new_kernel, plan, results


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None  # None when the student's folder holds no single notebook
    problem: str = ""


def find_submissions(folder: Path) -> list[Submission]:
    """``NAME.ipynb`` files, or ``NAME/`` folders holding one notebook, sorted by student."""
    found = {}
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found[entry.stem] = Submission(entry.stem, entry)
        elif entry.is_dir():
            notebooks = [p for p in sorted(entry.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
            if len(notebooks) == 1:
                found[entry.name] = Submission(entry.name, notebooks[0])
            else:
                found[entry.name] = Submission(entry.name, None, f"the folder holds {len(notebooks)} notebooks, not 1")
    return [found[name] for name in sorted(found)]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def grader_fingerprint() -> str:
    """A hash of the grader's source: a changed rubric regrades everything."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def content_hash(submission: Submission, release: Path, fingerprint: str) -> str:
    digest = hashlib.sha256(fingerprint.encode() + release.read_bytes())
    digest.update(submission.path.read_bytes() if submission.path else submission.problem.encode())
    return digest.hexdigest()


def feedback_markdown(student: str, result: dict) -> str:
    """Per exercise: points and the public message only."""
    extra = result["extra_data"]
    lines = [f"# Feedback for {student}", "", f"**Total: {result['score']:g} / {extra['max_score']:g}**", ""]
    if extra["status"] != "ok":
        lines += [f"Status: `{extra['status']}`", ""]
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
    digest: str
    limits: Limits


def grade_job(job: Job, kernel: Kernel | None = None) -> dict:
    """Grade one submission and write its files (runs in a worker process); ``kernel`` as in grade_notebook."""
    release = nbformat.read(job.release, as_version=4)
    rubric = rubric_for(job.assignment)
    if job.submission.path is None:
        if kernel is not None:
            kernel.close()
        _, points = plan(release)
        result = results({}, ["invalid-notebook"], Changes(), job.submission.problem, 0.0)
        result["tests"] = [{"name": gid, "score": 0.0, "max_score": points[gid], "status": "failed",
                            "output": job.submission.problem} for gid in points if gid in rubric]
        result["extra_data"]["max_score"] = sum(t["max_score"] for t in result["tests"])
    else:
        result = grade_notebook(release, job.submission.path.read_bytes(), rubric, job.limits, kernel)
    result["extra_data"].update(student=job.submission.student, assignment=job.assignment, content_hash=job.digest)
    folder = job.out_dir / job.submission.student
    write_atomic(folder / "feedback.md", feedback_markdown(job.submission.student, result))
    write_atomic(folder / "results.json", json.dumps(result, indent=2))
    return result


def work(jobs, done) -> None:
    """A worker process: grade jobs from the ``jobs`` queue until ``None``, putting ``(index, result)`` on ``done``.

    The next submission's kernel is launched as soon as the current one starts, so its start-up (about a
    second, much of it waiting) overlaps with grading instead of leaving a core idle.
    """
    booting = None
    try:
        for index, job in iter(jobs.get, None):
            kernel, booting = booting or new_kernel(job.limits), new_kernel(job.limits)
            try:
                done.put((index, grade_job(job, kernel)))
            except Exception as error:  # a grader bug: record it, keep the batch going
                done.put((index, f"{type(error).__name__}: {error}"))
    finally:
        if booting is not None:
            booting.close()


def previous(out_dir: Path, student: str, digest: str) -> dict | None:
    """The stored result when it was made from exactly this content, else None."""
    path = out_dir / student / "results.json"
    try:
        result = json.loads(path.read_text())
        return result if result["extra_data"]["content_hash"] == digest else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def grades_csv(rows: dict[str, dict], grade_ids: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *grade_ids, "total", "max", "status"])
    for student in sorted(rows):
        result = rows[student]
        scores = {t["name"]: t["score"] for t in result["tests"]}
        writer.writerow([student, *[f"{scores.get(g, 0):g}" for g in grade_ids], f"{result['score']:g}",
                         f"{result['extra_data']['max_score']:g}", result["extra_data"]["status"]])
    return buffer.getvalue()


def summary(rows: dict[str, dict], grade_ids: list[str]) -> str:
    """Mean total and, per exercise, the mean and how many got each score."""
    if not rows:
        return "no submissions"
    totals = [r["score"] for r in rows.values()]
    top = next(iter(rows.values()))["extra_data"]["max_score"]
    lines = [f"{len(rows)} submissions, mean total {sum(totals) / len(totals):.2f} / {top:g}"]
    for gid in grade_ids:
        scores = [next((t["score"] for t in r["tests"] if t["name"] == gid), 0.0) for r in rows.values()]
        spread = ", ".join(f"{score:g} pts: {n}" for score, n in sorted(Counter(scores).items()))
        lines.append(f"  {gid:32s} mean {sum(scores) / len(scores):5.2f}   ({spread})")
    statuses = Counter(r["extra_data"]["status"] for r in rows.values())
    lines.append("status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    return "\n".join(lines)


def grade_batch(submissions_dir: Path, assignment: str, out_dir: Path, *, exercises: Path, workers: int = 2,
                limits: Limits | None = None, log=None) -> dict[str, dict]:
    """Grade every submission in ``submissions_dir``; return ``{student: results}`` and write all files."""
    log = log or sys.stderr
    rubric = rubric_for(assignment)  # fails early, with a clear message, for an assignment without rubric
    release = find_release(exercises, assignment)
    _, points = plan(nbformat.read(release, as_version=4))
    grade_ids = [gid for gid in points if gid in rubric]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = grader_fingerprint()
    rows, jobs = {}, []
    for submission in find_submissions(Path(submissions_dir)):
        digest = content_hash(submission, release, fingerprint)
        old = previous(out_dir, submission.student, digest)
        if old is not None:
            rows[submission.student] = old
        else:
            jobs.append(Job(submission, release, assignment, out_dir, digest, limits or Limits()))
    print(f"grading {len(jobs)} submissions of assignment {assignment} ({len(rows)} unchanged, skipped) "
          f"with {workers} workers", file=log)
    start = time.monotonic()
    for count, (job, result) in enumerate(_run_workers(jobs, workers), start=1):
        if isinstance(result, str):
            result = _grader_error(job, grade_ids, points, result)
        rows[job.submission.student] = result
        print(f"[{count:>{len(str(len(jobs)))}}/{len(jobs)}] {job.submission.student}: {result['score']:g}/"
              f"{result['extra_data']['max_score']:g} {result['extra_data']['status']} "
              f"({time.monotonic() - start:.0f} s)", file=log)
    write_atomic(out_dir / "grades.csv", grades_csv(rows, grade_ids))
    print(summary(rows, grade_ids), file=log)
    return rows


def _run_workers(jobs: list[Job], workers: int):
    """Yield ``(job, result dict or error text)`` as worker processes finish them, in any order."""
    if not jobs:
        return
    context = multiprocessing.get_context("spawn")
    todo, done = context.Queue(), context.Queue()
    count = max(1, min(workers, len(jobs)))
    for item in [*enumerate(jobs), *[None] * count]:
        todo.put(item)
    processes = [context.Process(target=work, args=(todo, done), daemon=True) for _ in range(count)]
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


def _grader_error(job: Job, grade_ids: list[str], points: dict, error: str) -> dict:
    message = f"grader error: {error}"
    result = results({}, ["grader-error"], Changes(), message, 0.0)
    result["tests"] = [{"name": g, "score": 0.0, "max_score": points[g], "status": "failed", "output": message}
                       for g in grade_ids]
    result["extra_data"].update(max_score=sum(points[g] for g in grade_ids), student=job.submission.student,
                                content_hash="")
    return result
