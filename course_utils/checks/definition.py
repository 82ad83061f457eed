"""One definition per exercise, run two ways: as the learner's self-check, and by the grader.

An :class:`Exercise` says what the learner writes (``function``), on which inputs (``cases(rng)``: fresh
random inputs and fixed edge cases), what the right answer is (``reference``), which typical wrong answers
get which hint (``mistakes``) and how close is close (``rtol``, ``atol``). Its graduated hints are
:data:`course_utils.checks.hints.HINTS` under the same name, and what it may call is
:data:`course_utils.checks.uses.USES` under the same name.

* :func:`self_check` runs it in the learner's kernel: every case, the learner's value against the reference,
  the one hint of the typical mistake the wrong value fits (:mod:`course_utils.checks.engine`).
* The grader (:mod:`course_utils.grade.rubric` is only a table of these) sends the same cases to the kernel,
  gets back plain numbers, and judges them in its own process with the same reference, tolerance and hints.

    >>> square = Exercise("square", lambda rng: [Case((np.array([3.0]),), edge=True)], lambda x: x**2,
    ...                   arguments=("x",), mistakes=lambda x: [Mistake("you doubled x; square it.", 2 * x)])
    >>> [m.hint for m in square.mistakes_on(square.cases(None)[0]) if m.fits(np.array([6.0]))]
    ['you doubled x; square it.']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from course_utils import optimizers, surfaces
from course_utils.checks import engine
from course_utils.checks.uses import USES


@dataclass(frozen=True)
class Code:
    """An argument built from a Python expression over ``np``, ``optimizers`` and ``surfaces``.

    The grader sends the expression, not an object, so its reference and the learner's kernel build the
    same thing without anything being pickled. ``shown`` is how messages print it (the source if empty).
    """

    source: str
    shown: str = ""

    def build(self):
        namespace = {"__builtins__": __builtins__, "np": np, "optimizers": optimizers, "surfaces": surfaces}
        return eval(self.source, namespace)  # the definition's own, trusted expression

    def __repr__(self):
        return self.shown or self.source


@dataclass(frozen=True)
class Tensor:
    """An argument given to the learner as ``tf.constant(value, dtype)`` (and to the reference as numpy)."""

    value: np.ndarray
    dtype: str

    def build(self):
        import tensorflow as tf

        return tf.constant(self.value, dtype=self.dtype)


@dataclass(frozen=True)
class Case:
    """One call of the learner's function; an ``edge`` case is fixed, and its answer is never shown."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = "a random input"
    edge: bool = False

    def grader_args(self):
        """The arguments as the reference sees them (numpy arrays, built objects), as fresh copies."""
        return self._built(tensors=False)

    def learner_args(self):
        """The arguments as the learner's function gets them (tensors where the exercise asks for tensors)."""
        return self._built(tensors=True)

    def _built(self, tensors: bool):
        def convert(a):
            if isinstance(a, Code) or (tensors and isinstance(a, Tensor)):
                return a.build()
            if isinstance(a, Tensor):
                return np.asarray(a.value)
            return a.copy() if isinstance(a, np.ndarray) else a

        return [convert(a) for a in self.args], {k: convert(v) for k, v in self.kwargs.items()}


class Mistake(NamedTuple):
    """A typical wrong answer: what it returns on a case (``value``, for returned value ``part``) and its hint."""

    hint: str
    value: object
    part: int = 0

    def fits(self, got, rtol=1e-5, atol=1e-6) -> bool:
        return engine.matches(got, self.value, rtol, atol, equal_nan=True)


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``function(*case.args, **case.kwargs)`` must match ``reference`` on every case.

    Args:
        function: the name of the function or class the learner writes (also its hints' and rules' key).
        cases: ``cases(rng)``, the inputs: fresh random ones from ``rng`` and fixed edge cases.
        reference: the right answer, a plain numpy formula evaluated outside the learner's code.
        arguments: the names of the positional arguments, for messages.
        mistakes: ``mistakes(*args, **kwargs)``: the typical wrong answers' values on a case, each with the
            one hint about it (:class:`Mistake`).
        accept: ``accept(*args, **kwargs)``: other right answers on a case (Keras' float32 values).
        per_sample: the answer is one value per sample (a loss): shape errors get hints about ``axis=-1``.
        returns: 0 for one array or number, ``n`` for a tuple of ``n``; ``parts`` names them.
        returned: ``returned(value)``, a check of the raw value the learner returned, in the self-check
            (a tensor where a tensor is asked for); raises :class:`~course_utils.checks.engine.CheckFailed`.
        nonfinite_hint: the hint when a result has NaN or inf and no typical mistake fits.
        adapter: source defining ``adapt(answer)``, run in the kernel, that returns the function actually
            called, when the answer is a class or needs a harness.
        verdict: ``verdict(case, values)`` replaces the comparison with ``reference`` (a trained model's accuracy).
        question: a concept question (:mod:`course_utils.checks.questions`): no function, ``answer_qN`` is data.
        scaled_atol: an absolute tolerance in proportion to the largest expected value, for results where
            float32 arithmetic cancels (an optimizer's moments): ``max(atol, scaled_atol * max|expected|)``.
        points: what a full score is worth; the graded cell's nbgrader metadata and the exercise's heading in the
            notebook say the same (tests/test_exercises.py holds them to it).
        crash_hints: ``(words, hint)`` pairs: in the self-check, a crash of the answer whose error has ``words``
            in it gets ``hint`` (float labels used as indices: ``labels.astype(int)``).
        shape_hint: ``shape_hint(got, expected)``, in the self-check, the hint for a result of shape ``got``
            where shape ``expected`` is wanted ("" when none fits).
        unchanged: ``(position, hint)`` pairs: in the self-check, the answer gets the case's own arrays at these
            argument positions, and one it changes in place fails with ``hint`` (the caller's ``x`` or ``w0``).
    """

    function: str
    cases: Callable[[np.random.Generator], list[Case]]
    reference: Callable | None
    arguments: tuple[str, ...] = ()
    mistakes: Callable[..., list[Mistake]] | None = None
    accept: Callable | None = None
    per_sample: bool = False
    rtol: float = 1e-6
    atol: float = 1e-8
    returns: int = 0
    parts: tuple[str, ...] = ()
    returned: Callable | None = None
    nonfinite_hint: str | None = None
    adapter: str = ""
    verdict: Callable | None = None
    question: object = None
    scaled_atol: float = 0.0
    points: int = 0
    crash_hints: tuple[tuple[str, str], ...] = ()
    shape_hint: Callable | None = None
    unchanged: tuple[tuple[int, str], ...] = ()

    @property
    def forbidden(self) -> tuple[str, ...]:
        """Packages the answer may not call (:data:`course_utils.checks.uses.USES`; nothing for a question)."""
        return () if self.question is not None else USES[self.function].forbidden

    @property
    def allowed(self) -> tuple[str, ...]:
        return () if self.question is not None else USES[self.function].allowed

    def passed_message(self, count: int) -> str:
        """The grader's feedback line of a full score on ``count`` cases."""
        if self.question is not None:
            return f"{self.function} is right."
        tests = f"{count} tests" if count > 1 else "a test"
        return f"{self.function} passed {tests} on fresh random inputs and edge cases."

    def expected(self, case: Case):
        if self.reference is None:
            return None
        args, kwargs = case.grader_args()
        with np.errstate(all="ignore"):
            return self.reference(*args, **kwargs)

    def mistakes_on(self, case: Case) -> list[Mistake]:
        if self.mistakes is None:
            return []
        args, kwargs = case.grader_args()
        with np.errstate(all="ignore"):
            return [Mistake(*m) for m in self.mistakes(*args, **kwargs)]

    def accepted_on(self, case: Case) -> list:
        if self.accept is None:
            return []
        args, kwargs = case.grader_args()
        return list(self.accept(*args, **kwargs))

    def atol_for(self, expected) -> float:
        """The absolute tolerance of a comparison with ``expected`` (see ``scaled_atol``)."""
        finite = np.abs(np.asarray(expected, dtype=np.float64))
        finite = finite[np.isfinite(finite)]
        return max(self.atol, self.scaled_atol * float(finite.max())) if finite.size else self.atol

    def part_name(self, index: int) -> str:
        """How messages name returned value ``index``: ``mse_gradient's dw``, or the function's name."""
        if not self.returns:
            return self.function
        return f"{self.function}'s {self.parts[index]}" if self.parts else f"{self.function}'s value {index + 1}"


def adapted(exercise: Exercise, answer):
    """The function the cases call: the learner's answer, or the exercise's harness around it."""
    if not exercise.adapter:
        return answer
    scope = {"numpy": np}
    exec(exercise.adapter, scope)  # the definition's own, trusted source (the grader runs it in the kernel too)
    return scope["adapt"](answer)


def _unpack(value, exercise: Exercise):
    """The learner's tuple of ``exercise.returns`` values, or a failure saying what came back instead."""
    count, name = exercise.returns, exercise.function
    if value is None:
        raise engine.CheckFailed(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(value, (tuple, list)) or len(value) != count:
        what = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"one {type(value).__name__}"
        spelled = f"`return {', '.join(exercise.parts)}`" if exercise.parts else f"{count} values"
        raise engine.CheckFailed(f"{name} should return {count} values, {spelled}, but it returned {what}.")
    return list(value)


def self_check(exercise: Exercise, answer) -> None:
    """Run ``exercise`` on the learner's ``answer`` in this kernel: print ✓, or fail with the one hint that fits.

    Called inside :func:`course_utils.checks.engine.exercise`'s run, which collects the mismatches of all the
    cases and keeps the one hint that fits them all.
    """
    if not callable(answer):
        raise engine.CheckFailed(f"{exercise.function} should be a function, but it is "
                                 f"{type(answer).__name__} {engine.show(answer)}.")
    function = adapted(exercise, answer)
    cases = exercise.cases(engine.fresh_rng())
    for case in cases:
        args, kwargs = case.learner_args()
        result = _called(exercise, _on_originals(function, args) if exercise.unchanged else function, args, kwargs)
        _unchanged(exercise, case, args)
        if exercise.returned is not None:
            result = exercise.returned(result)
        values = _unpack(result, exercise) if exercise.returns else [result]
        expected = exercise.expected(case)
        wanted = list(expected) if exercise.returns else [expected]
        shown_args, shown_kwargs = case.grader_args()
        inputs = {**dict(zip(exercise.arguments, [_shown(a, b) for a, b in zip(case.args, shown_args)])),
                  **{k: _shown(case.kwargs[k], v) for k, v in shown_kwargs.items()}}
        mistakes, accepted = exercise.mistakes_on(case), exercise.accepted_on(case)
        for index, (value, want) in enumerate(zip(values, wanted)):
            name = exercise.part_name(index)
            got = _numbers(exercise, value, name, want)
            engine.compare(
                name, got, want, inputs, [(m.hint, m.value) for m in mistakes if m.part == index],
                show_expected=not case.edge, rtol=exercise.rtol, atol=exercise.atol_for(want),
                also_accept=[a[index] if exercise.returns else a for a in accepted],
                nonfinite_hint=exercise.nonfinite_hint,
            )
    engine.passed(exercise.function, len(cases))


def _on_originals(function, args):
    """``function`` called on ``args`` themselves (not on the copies engine.call makes), so changes show."""
    return lambda *copies, **kwargs: function(*args, **kwargs)


def _unchanged(exercise: Exercise, case: Case, args) -> None:
    """Fail when the answer changed, in place, an argument ``exercise.unchanged`` names."""
    for position, hint in exercise.unchanged:
        before, after = case.args[position], args[position]
        if not np.array_equal(before, after):
            name = exercise.arguments[position]
            raise engine.CheckFailed(f"{exercise.function} changed the caller's array `{name}` in place.\n"
                                     f"before    {name} = {engine.show(before)}\n"
                                     f"after     {name} = {engine.show(after)}\nhint      {hint}")


def _called(exercise: Exercise, function, args, kwargs):
    """The answer's result; a crash that fits one of ``exercise.crash_hints`` gets its hint."""
    try:
        return engine.call(function, exercise.function, *args, **kwargs)
    except engine.CheckFailed as failure:
        text = str(failure)
        hints = [hint for words, hint in exercise.crash_hints if words in text]
        if getattr(failure, "error", None) is None or not hints or "\nhint      " in text:
            raise
        raise engine.CheckFailed(f"{text}\nhint      {hints[0]}") from None


def _numbers(exercise: Exercise, value, name: str, want):
    """:func:`~course_utils.checks.engine.numbers`, with ``exercise.shape_hint``'s hint for a wrong shape."""
    try:
        return engine.numbers(value, name, np.shape(want), sample_axis_hint=exercise.per_sample)
    except engine.CheckFailed as failure:
        text = str(failure)
        if exercise.shape_hint is None or " returned shape " not in text or "\nhint      " in text:
            raise
        hint = exercise.shape_hint(np.shape(value), np.shape(want))
        if not hint:
            raise
        raise engine.CheckFailed(f"{text}\nhint      {hint}") from None


def _shown(given, built):
    """What a message shows for an argument: a Code's text, else the value."""
    return given if isinstance(given, Code) else built


def check_for(exercise: Exercise, doc: str):
    """The learner's ``check_<name>(answer)`` of ``exercise`` (one Run, one hint, the hint offer)."""

    def check(answer):
        self_check(exercise, answer)

    check.__name__ = check.__qualname__ = f"check_{exercise.function}"
    check.__doc__ = doc
    check.definition = exercise
    return engine.exercise(exercise.function)(check)
