"""The machinery every exercise check uses: call the learner's code safely, compare, explain.

A check runs the learner's function on *fresh* random inputs (a new unseeded generator
every run, so an answer copied from an earlier run cannot pass) and on fixed edge cases,
compares with the reference implementation in :mod:`course_utils`, and reports the first
mismatch as :class:`CheckFailed` with the input, what was expected, what came back and,
when the answer matches a typical mistake, the one hint about that mistake. Expected values
are shown only for the random inputs, never for the fixed edge cases.

Every ``check_*`` is wrapped by :func:`exercise`, which gives it a :class:`Run`. A value
mismatch does not stop the run at once: the run records the first one and keeps going, and
every later mismatch of the same quantity narrows down which typical mistakes fit *all* the
inputs seen (on one input two mistakes can give the same number; on several they rarely do).
The check then fails with the first mismatch and the one hint left, plus how to ask for the
next graduated hint (:mod:`course_utils.checks.hints`); a pass prints one ✓ line with the
number of hints used.
"""

from __future__ import annotations

import contextvars
import functools
import warnings

import numpy as np

from course_utils.checks import hints as _hints
from course_utils.checks import uses as _uses


class CheckFailed(AssertionError):
    """A check did not pass; the message says why in plain words (shown without a long traceback)."""

    def _render_traceback_(self):  # IPython shows this instead of the full traceback
        return ["\x1b[0;31m✗ " + str(self.args[0]).replace("\n", "\n  ") + "\x1b[0m"]


class Delegates(CheckFailed):
    """The answer hands the work to an existing implementation (it scores 0 when graded, whatever it returns)."""


def fresh_rng() -> np.random.Generator:
    """A generator seeded from the operating system: different inputs on every run, on purpose."""
    return np.random.default_rng()


def show(value) -> str:
    """A short, readable rendering of an input or result (6 significant digits)."""
    if isinstance(value, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(value, dtype=float)
            return np.array2string(
                array, separator=", ", threshold=30, formatter={"float_kind": lambda v: f"{v:.6g}"}
            )
        except (TypeError, ValueError):
            pass
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def call(fn, name: str, *args, **kwargs):
    """Call the learner's ``fn``; turn 'not written yet' and crashes into plain-words failures.

    Inside a check of an exercise listed in :data:`course_utils.checks.uses.USES`, the call is watched the way
    the grader watches it: an answer that hands the work to what its exercise may not use (Keras, TensorFlow
    or course_utils in a numpy exercise) fails with :class:`Delegates` and the grader's message.
    """
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function, but it is {type(fn).__name__} {show(fn)}.")
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    run = _RUN.get()
    uses = _uses.USES.get(run.name) if run is not None else None
    try:
        # numpy's divide-by-zero/overflow warnings would only repeat what the NaN/inf hint explains
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if uses is None:
                return fn(*copies, **kwargs)
            # the grader's rule: no delegating (the inputs handed over may be called)
            return _uses.watched(lambda: fn(*copies, **kwargs), uses, [*copies, *kwargs.values()])
    except _uses.Delegation as delegation:
        raise Delegates(_uses.delegation_message(run.name, str(delegation))) from None
    except NotImplementedError:
        raise CheckFailed(
            f"{name} is not written yet: replace the `raise NotImplementedError()` line with your code."
        ) from None
    except Exception as error:  # the learner's bug, reported in one line instead of a deep traceback
        shown = ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()])
        in_library = _raised_in_keras(error)
        one_number = [hint for words, hint in ONE_NUMBER_ONLY if words in str(error)]
        if one_number and not in_library and any(np.ndim(a) > 0 for a in args if isinstance(a, np.ndarray)):
            first = (str(error).strip().splitlines() or [""])[0]
            failure = CheckFailed(f"{name} must accept arrays: called with {shown} it raised {type(error).__name__}: "
                                  f"{first[:200]}\nhint      {one_number[0]}")
        else:
            failure = CheckFailed(f"{name}({shown}) raised {type(error).__name__}: {error}")
        failure.error, failure.in_library = error, in_library
        raise failure from None


# Code that works on one number but not on an array: (words in the error, hint).
ONE_NUMBER_ONLY = [
    (
        "truth value of an array",
        "a Python `if` (or `and`, `or`, min(), max()) asks ONE yes-or-no question, but your function gets whole "
        "arrays: choose element by element with np.where (or np.minimum / np.maximum) instead.",
    ),
    (
        "converted to Python scalars",
        "math.floor, math.exp, float() and int() take ONE number, but your function gets whole arrays: use the "
        "numpy versions (np.floor, np.exp, np.asarray(x, dtype=float)), which work element by element.",
    ),
]


def _raised_in_keras(error: BaseException) -> bool:
    """True when the error came from inside Keras or TensorFlow (the learner called a Keras function)."""
    tb = error.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.split(".")[0] in ("keras", "tensorflow"):
            return True
        tb = tb.tb_next
    return False


def numbers(value, name: str, expected_shape: tuple | None = None, *, sample_axis_hint: bool = True) -> np.ndarray:
    """Check the learner returned real numbers of the right shape; return them as a float64 array."""
    if value is None:
        raise CheckFailed(f"{name} returned None: did you forget the `return` statement?")
    if type(value).__module__.startswith(("tensorflow", "keras")):
        raise CheckFailed(
            f"{name} returned a TensorFlow tensor ({type(value).__name__}); this exercise works in numpy: "
            "return a numpy value (use np.* functions, or call .numpy() on the tensor)."
        )
    if isinstance(value, (str, bytes, dict, set)) or callable(value):
        raise CheckFailed(f"{name} returned {type(value).__name__} {show(value)}; expected a number or a numpy array.")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"{name} returned something that is not an array of numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise CheckFailed(
            f"{name} returned {type(value).__name__} holding {array.dtype} values; expected real numbers "
            "(a float or a numpy array of floats)."
        )
    array = array.astype(np.float64)
    if expected_shape is not None and array.shape != tuple(expected_shape):
        expected_shape = tuple(expected_shape)
        hint = ""
        if sample_axis_hint and array.shape == () and expected_shape != ():
            hint = (
                " You averaged over everything: a loss function returns one value per sample, so average over "
                "the last axis only (axis=-1)."
            )
        elif sample_axis_hint and array.ndim == len(expected_shape) + 1 and array.shape[:-1] == expected_shape:
            hint = " You forgot to average over the last axis (axis=-1)."
        elif sample_axis_hint and len(expected_shape) == 1 and array.ndim == 1:
            hint = " You averaged over the samples (axis=0); average over the last axis (axis=-1) instead."
        raise CheckFailed(f"{name} returned shape {array.shape}, expected shape {expected_shape}.{hint}")
    return array


def matches(got, expected, rtol=1e-5, atol=1e-6, equal_nan=False) -> bool:
    """Same shape and close everywhere (``equal_nan``: NaN where the other has NaN counts as close)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(
        np.all(np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=equal_nan))
    )


class Run:
    """One run of one check: the first value mismatch and the typical mistakes that fit every mismatch since."""

    def __init__(self, name: str):
        self.name = name
        self.first: tuple[str, list[str]] | None = None  # (what was compared, message lines without hints)
        self.candidates: list[str] = []  # hints whose mistake fits every mismatch of that quantity so far
        self.nonfinite_hint: str | None = None  # shown when no typical mistake fits and the result has NaN/inf

    def mismatch(self, what: str, lines: list[str], candidates: list[str], nonfinite_hint: str | None = None):
        """Record a mismatch; only the first is reported, later ones of the same quantity narrow the hint."""
        if self.first is None:
            self.first, self.candidates = (what, lines), list(candidates)
            self.nonfinite_hint = nonfinite_hint
        elif what == self.first[0] and candidates:
            narrowed = [hint for hint in self.candidates if hint in candidates]
            if narrowed:
                self.candidates = narrowed

    def failure(self) -> CheckFailed | None:
        if self.first is None:
            return None
        lines = list(self.first[1])
        if self.candidates:
            lines.append(f"hint      {self.candidates[0]}")
        elif self.nonfinite_hint:
            lines.append(f"hint      {self.nonfinite_hint}")
        return CheckFailed("\n".join(lines))


_RUN: contextvars.ContextVar[Run | None] = contextvars.ContextVar("course_utils_check_run", default=None)


def _with_ask_line(failure: CheckFailed, name: str) -> CheckFailed:
    ask = _hints.ask_line(name)
    text = str(failure.args[0]) if failure.args else ""
    return CheckFailed(text + ("\n" + ask if ask else ""))


def exercise(name: str):
    """Decorate a ``check_*`` of the exercise ``name``: one :class:`Run` per call, one hint, the hint offer.

    On failure the message ends with how to get the next graduated hint (``hint("mse")``) and, where
    ipywidgets can display, a "next hint" button appears under it.
    """

    def wrap(check):
        @functools.wraps(check)
        def run_check(*args, **kwargs):
            run = Run(name)
            token = _RUN.set(run)
            try:
                check(*args, **kwargs)
                failure = run.failure()  # a check that returns without passed() (it should not)
                if failure is not None:
                    raise failure
            except CheckFailed as raised:
                # the first mismatch comes before a later crash; delegating comes before everything (it scores 0)
                failure = raised if isinstance(raised, Delegates) else run.failure() or raised
                _hints.offer_button(name)
                raise _with_ask_line(failure, name) from None
            finally:
                _RUN.reset(token)

        run_check.exercise = name
        return run_check

    return wrap


def fail(what: str, lines: list[str], candidates=(), nonfinite_hint: str | None = None) -> None:
    """Report a value mismatch: to the current :class:`Run` (which goes on), or at once outside a run."""
    candidates = list(dict.fromkeys(candidates))
    run = _RUN.get()
    if run is not None:
        run.mismatch(what, lines, candidates, nonfinite_hint)
        return
    single = Run(what)
    single.mismatch(what, lines, candidates, nonfinite_hint)
    raise single.failure()


def failing() -> bool:
    """True when the current run has already seen a mismatch (for checks whose later steps build on earlier ones)."""
    run = _RUN.get()
    return run is not None and run.first is not None


def compare(name, got, expected, inputs: dict, mistakes=(), *, show_expected=True, rtol=1e-5, atol=1e-6,
            also_accept=(), nonfinite_hint=None):
    """Report a mismatch unless ``got`` matches ``expected`` (or one of ``also_accept``).

    Args:
        inputs: the arguments, by name, shown in the message.
        mistakes: ``(hint, value)`` pairs: when ``got`` matches ``value`` (a typical wrong answer's
            result on these inputs), the hint is a candidate; one hint is shown in the end.
        show_expected: False for fixed edge cases, so their answers are never printed.
        also_accept: other correct results (e.g. the float32 value where float32 rounding matters).
        nonfinite_hint: shown when ``got`` has NaN or inf in it and no typical mistake fits (a generic
            "log of 0 or division by 0?" when not given).
    """
    if any(matches(got, ok, rtol, atol) for ok in (expected, *also_accept)):
        return
    lines = [f"{name} is not right yet."]
    lines += [f"input     {key} = {show(value)}" for key, value in inputs.items()]
    if show_expected:
        lines.append(f"expected  {show(np.asarray(expected))}")
    lines.append(f"got       {show(np.asarray(got))}")
    candidates = [hint for hint, value in mistakes if matches(got, value, rtol, atol, equal_nan=True)]
    nonfinite = None
    if not np.all(np.isfinite(got)):
        nonfinite = nonfinite_hint or "your result has NaN or inf in it: a log of 0 or a division by 0? (clip first)"
    fail(name, lines, candidates, nonfinite)


def passed(name: str, count: int | None = None, *, text: str | None = None) -> None:
    """Print the ✓ line (with the hints used); inside a run that saw a mismatch, fail instead."""
    run = _RUN.get()
    failure = run.failure() if run is not None else None
    if failure is not None:
        raise failure
    exercise_name = run.name if run is not None else name
    what = text if text is not None else f"{count} checks on fresh random inputs and edge cases"
    note = _hints.used_note(exercise_name)
    print(f"✓ {name} passed: {what}{' ' + note if note else ''}.")
