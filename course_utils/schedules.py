"""Learning-rate schedules as plain ``step -> learning rate`` functions.

Each factory checks its arguments when it is called and returns a function that
accepts an int or an array of steps (step 0 is the first update, as Keras counts) and
returns float32 learning rates with the semantics of
``keras.optimizers.schedules``. Pass the function to any optimizer in
:mod:`course_utils.optimizers` as its ``learning_rate``.

Steps stay exact integers: Keras rounds a step to float32, which holds every integer only
up to 2**24 = 16,777,216. Fractions of steps are computed from the exact step and rounded
to float32 once, so ordinary steps give Keras' numbers to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from course_utils._validation import FLOAT, describe, flag, fraction, integer, positive_number, rates, step_counts

Schedule = Callable[[object], object]


def _fraction_of(steps: np.ndarray, length) -> np.ndarray:
    """``steps / length`` in float32, rounded once from the exact integer steps (Keras: float32(step) / length)."""
    return (steps / np.float64(length)).astype(FLOAT)


def _sequence(value, name: str) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a list, got {type(value).__name__} {describe(value)}")
    return list(value)


def _out(values: np.ndarray):
    """Return a numpy float32 scalar for scalar input, an array otherwise."""
    return values[()] if values.ndim == 0 else values


def constant(learning_rate: float) -> Schedule:
    """The same learning rate at every step.

    Example:
        >>> float(constant(0.01)(500))
        0.009999999776482582
    """
    lr = FLOAT(positive_number(learning_rate, "learning_rate", allow_zero=True))

    def schedule(step):
        return _out(np.full(np.shape(step_counts(step)), lr))

    return schedule


def exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase=False) -> Schedule:
    """Multiply the learning rate by ``decay_rate`` every ``decay_steps`` steps.

    ``lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)``, with the
    exponent rounded down (``floor``) when ``staircase=True``.

    Args:
        initial_learning_rate: the rate at step 0, >= 0.
        decay_steps: steps per factor of ``decay_rate``, > 0.
        decay_rate: the factor, > 0 (below 1 to decay).
        staircase: drop in discrete jumps instead of smoothly.

    Example:
        >>> lr = exponential_decay(0.1, decay_steps=1000, decay_rate=0.9, staircase=True)
        >>> [round(float(v), 4) for v in lr([0, 999, 1000, 2000])]
        [0.1, 0.1, 0.09, 0.081]

    Note:
        Same as ``keras.optimizers.schedules.ExponentialDecay`` and optax's
        ``exponential_decay`` (which also offers a delayed start).
    """
    lr0 = FLOAT(positive_number(initial_learning_rate, "initial_learning_rate", allow_zero=True))
    steps_per_decay = FLOAT(positive_number(decay_steps, "decay_steps"))
    rate = FLOAT(positive_number(decay_rate, "decay_rate"))
    staircase = flag(staircase, "staircase")

    def schedule(step):
        s = step_counts(step)
        p = _fraction_of(s, steps_per_decay)
        if staircase:
            p = np.floor(p)
        with np.errstate(over="ignore"):
            lr = lr0 * np.power(rate, p)
        if not np.all(np.isfinite(lr)):  # decay_rate > 1 grows the rate without bound
            first = np.min(s[~np.isfinite(lr)]) if s.ndim else s
            raise ValueError(
                f"step={first} takes the rate {initial_learning_rate} * {decay_rate} ** (step / {decay_steps}) beyond "
                f"float32's range; expected a decay_rate <= 1 or smaller steps"
            )
        return _out(lr)

    return schedule


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """A constant rate between boundaries: ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    Args:
        boundaries: strictly increasing integer steps where the rate changes.
        values: ``len(boundaries) + 1`` learning rates.

    Example:
        >>> lr = piecewise_constant([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001])
        >>> [round(float(v), 4) for v in lr([0, 1000, 1001, 2500, 9999])]
        [0.1, 0.1, 0.01, 0.001, 0.0001]

    Note:
        As in Keras' ``PiecewiseConstantDecay`` the change happens *after* a boundary:
        step 1000 still gets ``values[0]``. optax's ``piecewise_constant_schedule``
        switches *at* the boundary instead.
    """
    boundaries = [integer(b, f"boundaries[{i}]") for i, b in enumerate(_sequence(boundaries, "boundaries"))]
    values = _sequence(values, "values")
    if not boundaries:
        raise ValueError("boundaries must hold at least one step, got []")
    if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"values must hold one more entry than boundaries ({len(boundaries) + 1}), "
            f"got len(values)={len(values)} for len(boundaries)={len(boundaries)}"
        )
    table = np.array([positive_number(v, f"values[{i}]", allow_zero=True) for i, v in enumerate(values)], FLOAT)
    edges = np.array(boundaries, dtype=np.int64)

    def schedule(step):
        # searchsorted with side="left" counts boundaries strictly below step; integers, so exact at any step.
        return _out(table[np.searchsorted(edges, step_counts(step), side="left")])

    return schedule


def cosine_decay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0) -> Schedule:
    """Half a cosine from the initial rate down to ``alpha`` times it, optionally after a warmup.

    Without warmup, with ``t = min(step, decay_steps) / decay_steps``::

        lr(step) = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha)

    With ``warmup_target``: a :func:`linear_warmup` from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps`` steps, then the cosine above starting from
    ``warmup_target`` for ``decay_steps`` more steps (``decay_steps`` counts *after* warmup).

    Args:
        initial_learning_rate: the rate at step 0, >= 0.
        decay_steps: length of the cosine, > 0.
        alpha: the final rate as a *fraction* of the rate the cosine starts from, in [0, 1].
        warmup_target: the peak rate reached by the warmup, or ``None`` for no warmup.
        warmup_steps: length of the warmup, >= 0.

    Example:
        >>> lr = cosine_decay(0.1, decay_steps=10000)
        >>> [round(float(v), 4) for v in lr([0, 5000, 10000, 20000])]
        [0.1, 0.05, 0.0, 0.0]

    Note:
        Keras' docstring writes the warmup without ``+ initial_learning_rate``; its code
        (and this function) includes it, so a warmup may start from a non-zero rate.
    """
    lr0 = FLOAT(positive_number(initial_learning_rate, "initial_learning_rate", allow_zero=True))
    length = FLOAT(positive_number(decay_steps, "decay_steps"))
    floor = fraction(alpha, "alpha")
    warmup = integer(warmup_steps, "warmup_steps", minimum=0)
    if warmup_target is None:
        if warmup:
            raise ValueError(f"warmup_steps={warmup} needs a warmup_target, got warmup_target=None")
        pi = FLOAT(math.pi)

        def schedule(step):
            fraction_done = _fraction_of(np.minimum(step_counts(step), length), length)
            cosine = FLOAT(0.5) * (FLOAT(1.0) + np.cos(pi * fraction_done))
            return _out(lr0 * ((1 - floor) * cosine + floor))

        return schedule
    peak = positive_number(warmup_target, "warmup_target", allow_zero=True)
    decay = cosine_decay(peak, decay_steps, alpha)
    if warmup == 0:
        return decay
    return join_schedules([linear_warmup(peak, warmup, float(lr0)), decay], [warmup])


def linear_warmup(target_learning_rate, warmup_steps, initial_learning_rate=0.0) -> Schedule:
    """Ramp linearly from ``initial_learning_rate`` to ``target_learning_rate``, then stay there.

    ``lr(step) = initial + (target - initial) * step / warmup_steps`` for
    ``step < warmup_steps``, and ``target`` afterwards.

    Args:
        target_learning_rate: the rate reached at ``warmup_steps``, >= 0.
        warmup_steps: length of the ramp, > 0.
        initial_learning_rate: the rate at step 0, >= 0.

    Example:
        >>> lr = linear_warmup(0.1, warmup_steps=100)
        >>> [round(float(v), 4) for v in lr([0, 50, 100, 500])]
        [0.0, 0.05, 0.1, 0.1]

    Note:
        With ``initial_learning_rate=0`` this is the sources' ``WarmupSchedule``
        subclass; the formula is the warmup phase of Keras' ``CosineDecay``.
    """
    target = FLOAT(positive_number(target_learning_rate, "target_learning_rate", allow_zero=True))
    length = integer(warmup_steps, "warmup_steps", minimum=1)
    start = FLOAT(positive_number(initial_learning_rate, "initial_learning_rate", allow_zero=True))
    delta = target - start

    def schedule(step):
        s = step_counts(step)
        return _out(np.where(s < length, delta * _fraction_of(s, length) + start, target).astype(FLOAT))

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` restarted from step 0, ...

    At ``step >= boundaries[i]`` the result is ``schedules[i + 1](step - boundaries[i])``.

    Args:
        schedules: ``len(boundaries) + 1`` schedules.
        boundaries: strictly increasing positive steps where the next schedule takes over.

    Example:
        >>> lr = join_schedules([linear_warmup(0.1, 10), exponential_decay(0.1, 100, 0.5)], [10])
        >>> [round(float(v), 4) for v in lr([0, 5, 10, 110])]
        [0.0, 0.05, 0.1, 0.05]

    Note:
        optax's ``join_schedules`` has the same semantics.
    """
    schedules = _sequence(schedules, "schedules")
    boundaries = [integer(b, f"boundaries[{i}]", minimum=1) for i, b in enumerate(_sequence(boundaries, "boundaries"))]
    if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
    if len(schedules) != len(boundaries) + 1:
        raise ValueError(
            f"schedules must hold one more entry than boundaries ({len(boundaries) + 1}), "
            f"got len(schedules)={len(schedules)} for len(boundaries)={len(boundaries)}"
        )
    for i, s in enumerate(schedules):
        if not callable(s):
            raise TypeError(f"schedules[{i}] must be a function step -> learning rate, got {s!r}")

    def schedule(step):
        s = step_counts(step)
        result = rates(schedules[0](s), f"schedules[0]({describe(s.tolist())})")
        for i, (boundary, later) in enumerate(zip(boundaries, schedules[1:]), start=1):
            after = s >= boundary
            if np.any(after):
                shifted = np.where(after, s - boundary, 0)
                result = np.where(after, rates(later(shifted), f"schedules[{i}]({describe(shifted.tolist())})"), result)
        return _out(result)

    return schedule
