"""The machinery every exercise check uses: call the learner's code safely, compare, explain.

A check runs the learner's function on *fresh* random inputs (a new unseeded generator
every run, so an answer copied from an earlier run cannot pass) and on fixed edge cases,
compares with the reference implementation in :mod:`course_utils`, and on the first
mismatch raises :class:`CheckFailed` with the input, what was expected, what came back
and, when the answer matches a typical mistake, a hint about that mistake. Expected values
are shown only for the random inputs, never for the fixed edge cases.
"""

from __future__ import annotations

import warnings

import numpy as np


class CheckFailed(AssertionError):
    """A check did not pass; the message says why in plain words (shown without a long traceback)."""

    def _render_traceback_(self):  # IPython shows this instead of the full traceback
        return ["\x1b[0;31m✗ " + str(self.args[0]).replace("\n", "\n  ") + "\x1b[0m"]


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
    """Call the learner's ``fn``; turn 'not written yet' and crashes into plain-words failures."""
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function, but it is {type(fn).__name__} {show(fn)}.")
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        # numpy's divide-by-zero/overflow warnings would only repeat what the NaN/inf hint explains
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*copies, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"{name} is not written yet: replace the `raise NotImplementedError(...)` line with your code."
        ) from None
    except Exception as error:  # the learner's bug, reported in one line instead of a deep traceback
        shown = ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()])
        raise CheckFailed(f"{name}({shown}) raised {type(error).__name__}: {error}") from None


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


def matches(got, expected, rtol=1e-5, atol=1e-6) -> bool:
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.all(np.isclose(got, expected, rtol=rtol, atol=atol)))


def compare(name, got, expected, inputs: dict, mistakes=(), *, show_expected=True, rtol=1e-5, atol=1e-6,
            also_accept=()):
    """Raise :class:`CheckFailed` unless ``got`` matches ``expected`` (or one of ``also_accept``).

    Args:
        inputs: the arguments, by name, shown in the message.
        mistakes: ``(hint, value)`` pairs: when ``got`` matches ``value`` (a typical wrong answer's
            result on these inputs), the hint is shown.
        show_expected: False for fixed edge cases, so their answers are never printed.
        also_accept: other correct results (e.g. the float32 value where float32 rounding matters).
    """
    if any(matches(got, ok, rtol, atol) for ok in (expected, *also_accept)):
        return
    lines = [f"{name} is not right yet."]
    lines += [f"input     {key} = {show(value)}" for key, value in inputs.items()]
    if show_expected:
        lines.append(f"expected  {show(np.asarray(expected))}")
    lines.append(f"got       {show(np.asarray(got))}")
    if not np.all(np.isfinite(got)):
        lines.append("hint      your result has NaN or inf in it: a log of 0 or a division by 0? (clip first)")
    hints = list(dict.fromkeys(hint for hint, value in mistakes if matches(got, value, rtol, atol)))
    lines += [f"hint      {hint}" for hint in hints[:2]]  # on some inputs two mistakes give the same result
    raise CheckFailed("\n".join(lines))


def passed(name: str, count: int) -> None:
    print(f"✓ {name} passed ({count} checks on fresh random inputs and edge cases).")
