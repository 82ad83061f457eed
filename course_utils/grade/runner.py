"""Grade one submission: rebuild it, run it cell by cell in a fresh kernel, probe each exercise.

The check cells are never run (they are the learner's self-check). Setup cells and solution cells
run in order; right after a solution cell has run, the exercises it answers are probed (so a later
cell cannot redefine an earlier answer) and decided in this process by :func:`rubric.judge`. When a
cell or a probe times out or kills the kernel, that exercise fails with the status, a new kernel is
started, the cells that ran fine so far are replayed, and grading goes on. A kernel that simply dies
(no timeout, no memory limit) is given one more try in a fresh sandbox before the learner is charged.
Replays count against the submission's budget like everything else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import nbformat
import numpy as np

from course_utils.grade import probe
from course_utils.grade.kernel import CellTimeout, Kernel, KernelDied, KernelTampered, KernelTrouble, ProbeError
from course_utils.grade.rebuild import Changes, InvalidNotebook, cell_key, nbgrader, read_submission, rebuild
from course_utils.grade.rubric import Exercise, judge


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 60.0  # seconds per cell or probe
    budget: float = 600.0  # seconds per submission
    memory_bytes: int = 3 << 30  # memory of the whole sandbox (and address space of each process in it)
    output_cap: int = 20_000  # characters of output kept per cell
    sandbox: bool = True  # run every kernel in a bubblewrap sandbox (False: --no-sandbox)
    max_notebook_bytes: int = 20 << 20  # a bigger submitted file is refused unread
    kernel_user: str | None = None  # without a sandbox, run kernels as this unprivileged account (grader is root)


class BudgetExceeded(KernelTrouble):
    status = "budget-exceeded"


@dataclass
class Outcome:
    """The grade of one exercise."""

    grade_id: str
    max_score: float
    score: float = 0.0
    message: str = "not graded"

    def as_test(self) -> dict:
        return {"name": self.grade_id, "score": self.score, "max_score": self.max_score,
                "status": "passed" if self.score >= self.max_score else "failed", "output": self.message}


@dataclass
class Step:
    """A code cell to run, and the graded ids to probe right after it."""

    key: str
    source: str
    solution: bool
    graded: list[str] = field(default_factory=list)


def plan(nb: nbformat.NotebookNode) -> tuple[list[Step], dict[str, float]]:
    """The cells to run (all code cells but the check cells) and the points of each graded cell."""
    steps, points = [], {}
    for cell in nb.cells:
        meta = nbgrader(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            points[cell_key(cell)] = float(meta.get("points", 0))
            answered = next((s for s in reversed(steps) if s.solution), None)
            if answered is not None:
                answered.graded.append(cell_key(cell))
            continue
        steps.append(Step(cell_key(cell), cell.source, bool(meta.get("solution"))))
    return steps, points


def decide(kernel: Kernel, exercise: Exercise, outcome: Outcome, timeout: float) -> None:
    """Probe ``exercise`` on fresh inputs in the kernel and score ``outcome`` (all or nothing)."""
    cases = exercise.cases(np.random.default_rng())
    try:
        answer = kernel.evaluate(probe.kernel_source(exercise, cases), timeout)
        results = probe.decode(answer, exercise, len(cases))
    except (ProbeError, probe.BadProbeResult) as error:
        outcome.message = f"could not test {exercise.function}: {error}"
        return
    for case, got in zip(cases, results):
        why = judge(exercise, case, exercise.expected(case), got)
        if why:
            outcome.message = why
            return
    outcome.score = outcome.max_score
    outcome.message = exercise.passed_message(len(cases))


class Session:
    """Runs steps in a kernel, replaying the good ones into a new kernel after a crash or timeout."""

    def __init__(self, kernel: Kernel, limits: Limits, start: float | None = None):
        self.limits, self.kernel = limits, kernel
        self.start = time.monotonic() if start is None else start
        self.done: list[Step] = []
        self.problems: list[str] = []

    def note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    def blame(self, error: KernelTrouble) -> KernelTrouble:
        """A timeout of a cell cut short by the budget is the budget's doing."""
        if isinstance(error, CellTimeout) and time.monotonic() - self.start >= self.limits.budget - 0.1:
            return BudgetExceeded(f"the submission used up its {self.limits.budget:g} s budget")
        return error

    def timeout(self) -> float:
        """The per-cell timeout, cut to what is left of the budget (:class:`BudgetExceeded` when nothing is)."""
        left = self.limits.budget - (time.monotonic() - self.start)
        if left <= 0:
            raise BudgetExceeded(f"the submission used up its {self.limits.budget:g} s budget")
        return min(self.limits.cell_timeout, left)

    def run(self, step: Step) -> str:
        """Run one step; return a note for the feedback ('' when the cell ran cleanly)."""
        try:
            self.kernel.reset_pipeline(self.timeout())
        except ProbeError as error:
            raise KernelTampered(f"the kernel no longer runs the grader's code ({error})") from None
        reply = self.kernel.execute(step.source, self.timeout())
        if reply.output_capped:
            self.note("output-capped")
        if reply.status == "ok":
            return ""
        if reply.ename == "MemoryError":
            self.note("memory-limit")
        if step.solution:
            self.note("cell-error")
        return f"your cell raised {reply.ename}: {reply.evalue}"[:300]

    def recover(self) -> None:
        """A new kernel (fresh sandbox) with every step that went fine so far run again (errors ignored).

        Replays count against the budget: :class:`BudgetExceeded` when it runs out.
        """
        self.kernel.shutdown()
        self.kernel.launch()
        self.kernel.connect()
        for step in self.done:
            try:
                self.kernel.reset_pipeline(self.timeout())
            except ProbeError as error:
                raise KernelTampered(f"the kernel no longer runs the grader's code ({error})") from None
            self.kernel.execute(step.source, self.timeout())


def new_kernel(limits: Limits, scratch: str | None = None) -> Kernel:
    """A kernel for one submission, launched (booting in the background) but not yet connected."""
    kernel = Kernel(memory_bytes=limits.memory_bytes, output_cap=limits.output_cap, sandboxed=limits.sandbox,
                    cpu_seconds=int(limits.budget) + 60, scratch=scratch,
                    user=None if limits.sandbox else limits.kernel_user)
    try:
        kernel.launch()
    except BaseException:
        kernel.close()
        raise
    return kernel


def grade_notebook(release: nbformat.NotebookNode, data: bytes, rubric: dict[str, Exercise],
                   limits: Limits | None = None, kernel: Kernel | None = None) -> dict:
    """Grade the submitted notebook file contents ``data``; return the Gradescope ``results.json`` dict.

    ``kernel``: a fresh one from :func:`new_kernel` (a batch launches it early); it is closed here.
    """
    start, limits = time.monotonic(), limits or Limits()
    steps, points = plan(release)
    outcomes = {gid: Outcome(gid, points[gid]) for gid in points if gid in rubric}
    session = None
    try:
        try:
            nb, changes = rebuild(release, read_submission(data))
        except InvalidNotebook as error:
            for outcome in outcomes.values():
                outcome.message = str(error)
            return results(outcomes, ["invalid-notebook"], Changes(), str(error), time.monotonic() - start)
        steps, _ = plan(nb)
        session = Session(kernel or new_kernel(limits), limits, start)
        kernel = None
        session.problems = ["missing-cells"] if changes.missing else []
        try:
            session.kernel.connect()
            _run_steps(session, steps, outcomes, rubric)
        except KernelTrouble as trouble:  # the kernel cannot even start or recover: nothing more to grade
            error = session.blame(trouble)
            session.note(error.status)
            for outcome in outcomes.values():
                if outcome.message == "not graded":
                    outcome.message = f"not graded: {error}"
        result = results(outcomes, session.problems, changes, "", time.monotonic() - start)
        result["extra_data"]["sandbox"] = session.kernel.isolation
        return result
    finally:
        for leftover in (kernel, session and session.kernel):
            if leftover is not None:
                leftover.close()


def _run_steps(session: Session, steps: list[Step], outcomes: dict[str, Outcome],
               rubric: dict[str, Exercise]) -> None:
    limits = session.limits
    for step in steps:
        graded = [gid for gid in step.graded if gid in outcomes]
        if time.monotonic() - session.start > limits.budget:
            session.note("budget-exceeded")
            for gid in graded:
                outcomes[gid].message = f"not graded: the submission used up its {limits.budget:g} s budget"
            continue
        for attempt in (1, 2):
            try:
                note = session.run(step)
                for gid in graded:
                    decide(session.kernel, rubric[gid], outcomes[gid], session.timeout())
                    if note and outcomes[gid].score < outcomes[gid].max_score:
                        outcomes[gid].message += f" ({note})"
                session.done.append(step)
                break
            except KernelTrouble as error:
                error = session.blame(error)
                retry = attempt == 1 and type(error) is KernelDied  # not a timeout, not the memory limit
                if not retry:
                    session.note(error.status)
                    for gid in graded:
                        outcomes[gid].score = 0.0
                        outcomes[gid].message = f"{error.status}: {error} (while running or testing this exercise)"
                if isinstance(error, BudgetExceeded):
                    raise
                session.recover()  # a fresh sandbox; a dead kernel's step is then tried once more
                if not retry:
                    break


def results(outcomes: dict[str, Outcome], problems: list[str], changes: Changes, error: str,
            seconds: float) -> dict:
    """The Gradescope autograder ``results.json`` (extra fields under ``extra_data``)."""
    tests = [o.as_test() for o in outcomes.values()]
    notes = changes.describe()
    output = "\n".join([error] * bool(error) + notes)
    return {
        "score": sum(t["score"] for t in tests),
        "execution_time": round(seconds, 2),
        "output": output,
        "tests": tests,
        "extra_data": {"status": "+".join(problems) or "ok", "max_score": sum(t["max_score"] for t in tests),
                       "changes": {"edited": changes.edited, "missing": changes.missing, "added": changes.added}},
    }
