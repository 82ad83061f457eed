"""What each graded exercise is: the learner's function, inputs made at grading time, the reference.

A rubric maps a graded cell id (``"mse-check"``) to an :class:`Exercise`. Inputs are made fresh for
every submission (an unseeded generator) and include fixed edge cases. Arguments that are objects
rather than arrays (an optimizer, a surface, a function) are :class:`Code`: one Python expression
evaluated by the grader for its reference and by the kernel for the learner, so both get the same
object without anything being pickled. References are plain numpy formulas or the grader's own
:mod:`course_utils`, always evaluated in the grader's process. Each notebook's concept questions
(:mod:`course_utils.checks.questions`) join its rubric as ``"q1-check"``, ..., judged by the same definition
the in-notebook check uses.
"""

from __future__ import annotations

import numpy as np

from course_utils.checks import descent, losses, training
from course_utils.checks.definition import Case, Code, Exercise, Tensor
from course_utils.checks.questions import QUESTIONS, Question
from course_utils.checks.uses import delegation_message

__all__ = ["Case", "Code", "Exercise", "Tensor", "NoRubric", "RUBRICS", "judge", "rubric_for"]

EPS = 1e-7  # Keras' probability clip

# What each exercise may call while the grader calls it is defined once, in course_utils.checks.uses (USES):
# the self-check enforces the same rule. A call into a forbidden package (found by the module of each Python
# frame, and of each C function, entered during the call) scores 0 with the line delegation_message gives.


def _table(exercises) -> dict[str, Exercise]:
    """A rubric: each exercise's definition under its graded cell's id."""
    return {f"{exercise.function}-check": exercise for exercise in exercises}


LESSON_01 = _table(losses.LESSON_01)
LESSON_02 = _table(losses.LESSON_02)

# --- lesson 03 -----------------------------------------------------------------------------------------------

LESSON_03 = _table(descent.LESSON_03)

# --- lesson 04 -----------------------------------------------------------------------------------------------

LESSON_04 = _table(descent.LESSON_04)

# --- lesson 05 -----------------------------------------------------------------------------------------------

LESSON_05 = _table(training.LESSON_05)

# --- lesson 06 -----------------------------------------------------------------------------------------------

LESSON_06 = _table(training.LESSON_06)

# --- concept questions: a view of course_utils.checks.questions ---------------------------------------------


def asked(question: Question) -> Exercise:
    """The grader's view of a concept question: read ``answer_qN`` from the kernel once, judge it here."""
    return Exercise(question.variable, lambda rng: [Case((), {}, "your answer")], None, question=question,
                    points=question.points)


def _with_questions(lesson: str, exercises: dict[str, Exercise]) -> dict[str, Exercise]:
    return {**exercises, **{f"{name}-check": asked(q) for name, q in QUESTIONS.get(lesson, {}).items()}}


RUBRICS: dict[str, dict[str, Exercise]] = {
    lesson: _with_questions(lesson, exercises) for lesson, exercises in
    {"01": LESSON_01, "02": LESSON_02, "03": LESSON_03, "04": LESSON_04, "05": LESSON_05, "06": LESSON_06}.items()
}


DELEGATES = "Delegates: "  # the probe's error text when the answer called what it may not
CHANGED = "ChangedInPlace: "  # ... when it changed an argument its exercise says to leave alone (+ its position)


class NoRubric(LookupError):
    """The assignment has no rubric: it cannot be graded automatically."""


def rubric_for(assignment: str) -> dict[str, Exercise]:
    """The rubric of assignment ``"NN"``; :class:`NoRubric` names the assignments that have one."""
    try:
        return RUBRICS[assignment]
    except KeyError:
        raise NoRubric(
            f"no grading rubric for assignment {assignment!r}; rubrics exist for {', '.join(sorted(RUBRICS))} "
            "(add one in course_utils/grade/rubric.py)"
        ) from None


def judge(exercise: Exercise, case: Case, expected, got: dict) -> str | None:
    """``None`` when the learner's result ``got`` (decoded probe data) matches ``expected``; else why not."""
    call = f"{exercise.function} on {case.label}"
    if "error" in got:
        if got["error"].startswith("NotImplementedError"):
            return f"{exercise.function} is not written yet."
        if got["error"].startswith(DELEGATES):
            return delegation_message(exercise.function, got["error"][len(DELEGATES):])
        if got["error"].startswith(CHANGED):  # the self-check's message and hint (Exercise.unchanged)
            position = got["error"][len(CHANGED):]
            hints = {str(p): hint for p, hint in exercise.unchanged}
            if position in hints:
                return (f"{call} changed the caller's array `{exercise.arguments[int(position)]}` in place. "
                        f"Hint: {hints[position]}")
        return f"{call} raised {got['error']}"
    if exercise.question is not None:
        right, message = exercise.question.verdict(got["answer"])
        return None if right else message.replace("\nwhy       ", " Why: ")
    leaves = got["items"] if exercise.returns else [got["value"]]
    values = [np.asarray(leaf["data"], dtype=np.float64).reshape(leaf["shape"]) for leaf in leaves]
    if exercise.verdict is not None:
        return exercise.verdict(case, values)
    wanted = list(expected) if exercise.returns else [expected]
    accepted = exercise.accepted_on(case)
    for index, (value, want) in enumerate(zip(values, wanted)):
        if exercise.parts:
            which = f" ({exercise.parts[index]})"
        else:
            which = f" (returned value {index + 1})" if exercise.returns else ""
        want = np.asarray(want, dtype=np.float64)
        if value.shape != want.shape:
            return f"{call} returned shape {value.shape}{which}, expected shape {want.shape}."
        also = [a[index] if exercise.returns else a for a in accepted]
        atol = exercise.atol_for(want)
        if not any(np.allclose(value, ok, rtol=exercise.rtol, atol=atol) for ok in [want, *also]):
            # the self-check's hint for the typical mistake this value fits, if one does
            hints = [m.hint for m in exercise.mistakes_on(case)
                     if m.part == index and m.fits(value, exercise.rtol, atol)]
            return f"{call} gave a wrong value{which}." + (f" Hint: {hints[0]}" if hints else "")
    return None
