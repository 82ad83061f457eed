"""Checks for the exercises of lessons 05 (learning-rate schedules) and 06 (the training loop).

The schedule checks compare the learner's functions with :mod:`course_utils.schedules` on fresh
random arguments and on fixed edge cases (the exact boundary steps among them). The training-loop
checks build their own small models and data, run the learner's code, and measure the result
themselves (the weights after one step, the validation accuracy after training).
"""

from __future__ import annotations

import math
import time

import numpy as np

from course_utils import schedules
from course_utils.checks.engine import (
    CheckFailed,
    call,
    compare,
    exercise,
    fail,
    failing,
    fresh_rng,
    numbers,
    passed,
    show,
)

# Crash messages that point to a typical mistake: (words in the error, hint).
_CRASH_HINTS = [
    (
        "truth value of an array",
        "step can be a whole array of steps: use numpy functions (np.where, np.searchsorted, np.minimum) "
        "instead of a Python `if`.",
    ),
    (
        "to EagerTensor of dtype int",
        "the step arrives as an integer tensor: convert it first with step = keras.ops.cast(step, 'float32').",
    ),
    (
        "No gradients provided",
        "the tape recorded nothing: compute the model's output AND the loss inside the "
        "`with tf.GradientTape() as tape:` block, then call tape.gradient(loss, model.trainable_variables).",
    ),
    (
        "must have the same rank",
        "the labels are integers (one class number per sample): use keras.losses.sparse_categorical_crossentropy; "
        "categorical_crossentropy expects one-hot labels.",
    ),
    (
        "used as indices must be of integer",
        "labels can arrive as floats (3.0): convert them with labels.astype(int) before using them as indices.",
    ),
    (
        "only integers, slices",
        "labels can arrive as floats (3.0): convert them with labels.astype(int) before using them as indices.",
    ),
]


def _call(fn, name, *args, described=None, extra_hints=(), **kwargs):
    """:func:`~course_utils.checks.engine.call` plus a hint when the crash is a typical mistake.

    ``described`` replaces the echo of the arguments in a crash message (a model or a tensor prints badly).
    """
    try:
        return call(fn, name, *args, **kwargs)
    except CheckFailed as failure:
        text = str(failure)
        if described and text.startswith(name + "(") and " raised " in text:
            text = described + " raised " + text.split(" raised ", 1)[1]
        hints = [hint for words, hint in [*_CRASH_HINTS, *extra_hints] if words in text]
        if hints and "\nhint      " not in text:
            raise CheckFailed(text + "\nhint      " + hints[0]) from None
        raise CheckFailed(text) from None


def _keras():
    import keras
    import tensorflow as tf

    return keras, tf


def _scalar(value, name):
    """The learner's value as one float (a tensor, numpy scalar or float), with a clear message otherwise."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    elif type(value).__module__.startswith("keras"):
        value = np.asarray(value)
    array = numbers(value, name, sample_axis_hint=False)
    if array.shape != ():
        raise CheckFailed(
            f"{name} returned shape {array.shape}; expected one number (shape ()): "
            "average over the batch with keras.ops.mean (or tf.reduce_mean)."
            if array.ndim == 1
            else f"{name} returned shape {array.shape}; expected one number (shape ())."
        )
    return float(array)


# ---------------------------------------------------------------------------------------------------------------
# Lesson 05: learning-rate schedules
# ---------------------------------------------------------------------------------------------------------------


def _rates(schedule_fn, name, step, *args, **kwargs):
    """Call a learner's numpy ``schedule_fn(step, ...)``: its learning rates, one per step (shape of ``step``).

    Code that works on one number only (``math.floor``, a Python ``if``) gets "must accept arrays"
    (:func:`~course_utils.checks.engine.call`); code that calls Keras' own schedule fails as delegating
    (:mod:`course_utils.checks.uses`), as it does when graded.
    """
    try:
        result = call(schedule_fn, name, step, *args, **kwargs)
    except CheckFailed as failure:
        if getattr(failure, "error", None) is None:
            raise
        hints = [hint for words, hint in _CRASH_HINTS if words in str(failure)]
        if hints and "\nhint      " not in str(failure):
            raise CheckFailed(str(failure) + f"\nhint      {hints[0]}") from None
        raise
    return numbers(result, name, np.shape(step), sample_axis_hint=False)


@exercise("exponential_decay")
def check_exponential_decay(exponential_decay):
    """Check a learner's numpy ``exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase)``.

    ``lr = initial_learning_rate * decay_rate ** (step / decay_steps)``, the exponent rounded down when
    ``staircase=True``; ``step`` may be one int or an array of steps.
    """
    rng = fresh_rng()
    cases = []  # (step, initial, decay_steps, rate, staircase or None for the default, show_expected)
    for staircase in (False, True, None, True):
        decay_steps = int(rng.integers(5, 200))
        initial = float(np.round(rng.uniform(0.01, 1.0), 4))
        rate = float(np.round(rng.uniform(0.3, 0.95), 3))
        steps = np.concatenate([
            [0, decay_steps - 1, decay_steps, decay_steps + int(0.75 * decay_steps)],
            rng.integers(1, 8 * decay_steps, size=4),
        ]).astype(np.int64)
        cases.append((steps, initial, decay_steps, rate, staircase, True))
    decay_steps = int(rng.integers(5, 200))
    cases.append((int(rng.integers(decay_steps + 1, 5 * decay_steps)), 0.5, decay_steps, 0.8, True, True))  # one int
    cases += [
        (np.array([0, 999, 1000, 1500, 2000, 2999]), 0.1, 1000, 0.9, True, False),
        (np.array([0, 500, 1000, 2500]), 0.1, 1000, 0.9, False, False),
        (0, 0.5, 10, 0.5, False, False),  # step 0 gives the initial rate
    ]
    for step, initial, decay_steps, rate, staircase, show_expected in cases:
        kwargs = {} if staircase is None else {"staircase": staircase}
        got = _rates(exponential_decay, "exponential_decay", step, initial, decay_steps, rate, **kwargs)
        s = np.asarray(step, dtype=np.float64)
        exponent = s / decay_steps
        with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
            inverted = initial * rate ** (decay_steps / s)
            per_step = initial * rate**s
        mistakes = [
            (
                "the exponent is step / decay_steps, not step: the rate is multiplied by decay_rate once every "
                "decay_steps steps, not at every step.",
                per_step,
            ),
            ("the exponent is step / decay_steps; you divided the other way round (decay_steps / step).", inverted),
            (
                "off by one: step 0 must give exactly initial_learning_rate, so the exponent is step / decay_steps, "
                "not (step + 1) / decay_steps (Keras counts steps from 0).",
                initial * rate ** (np.floor((s + 1) / decay_steps) if staircase else (s + 1) / decay_steps),
            ),
            (
                "the decay is a power: decay_rate ** (step / decay_steps), not decay_rate * (step / decay_steps).",
                initial * rate * exponent,
            ),
        ]
        if staircase:
            expected = initial * rate ** np.floor(exponent)
            mistakes += [
                (
                    "with staircase=True, round the exponent step / decay_steps down (np.floor) so the rate drops "
                    "in jumps; you ignored staircase.",
                    initial * rate**exponent,
                ),
                (
                    "round the exponent DOWN with np.floor, not to the nearest integer.",
                    initial * rate ** np.round(exponent),
                ),
                (
                    "round the exponent DOWN with np.floor, not up (np.ceil): until step reaches decay_steps the "
                    "rate is still the initial one.",
                    initial * rate ** np.ceil(exponent),
                ),
            ]
        else:
            expected = initial * rate**exponent
            mistakes.append(
                (
                    "you rounded the exponent down although staircase is False: only staircase=True drops in jumps.",
                    initial * rate ** np.floor(exponent),
                )
            )
        inputs = {"step": step, "initial_learning_rate": initial, "decay_steps": decay_steps, "decay_rate": rate}
        compare(
            "exponential_decay",
            got,
            expected,
            {**inputs, **kwargs},
            mistakes,
            show_expected=show_expected,
            rtol=1e-5,
            atol=1e-9,
            also_accept=[schedules.exponential_decay(initial, decay_steps, rate, bool(staircase))(step)],
        )
    passed("exponential_decay", len(cases))


def _random_boundaries(rng):
    count = int(rng.integers(2, 5))
    boundaries = sorted(int(b) for b in rng.choice(np.arange(2, 600), size=count, replace=False))
    start = float(rng.uniform(0.05, 1.0))
    values = [float(np.round(start * 10.0 ** (-i) * rng.uniform(0.6, 1.0), 6)) for i in range(count + 1)]
    return boundaries, values


@exercise("piecewise_constant")
def check_piecewise_constant(piecewise_constant):
    """Check a learner's numpy ``piecewise_constant(step, boundaries, values)`` with Keras' boundary rule.

    ``values[i]`` holds for ``boundaries[i-1] < step <= boundaries[i]``: at a boundary step the rate is
    still the earlier value.
    """
    rng = fresh_rng()
    cases = []
    for _ in range(3):
        boundaries, values = _random_boundaries(rng)
        near = [b + d for b in boundaries for d in (-1, 0, 1)]
        steps = np.array(sorted({0, *near, boundaries[-1] + int(rng.integers(2, 1000)),
                                 *rng.integers(0, boundaries[-1] + 50, size=3).tolist()}), dtype=np.int64)
        cases.append((steps, boundaries, values, True))
    boundaries, values = _random_boundaries(rng)
    cases.append((int(boundaries[1]), boundaries, values, True))  # one int, exactly at a boundary
    keras_example = ([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001])
    cases += [
        (np.array([0, 999, 1000, 1001, 2000, 2001, 3000, 3001, 10000]), *keras_example, False),
        (1000, *keras_example, False),
        (5000, *keras_example, False),
    ]
    for step, boundaries, values, show_expected in cases:
        got = _rates(piecewise_constant, "piecewise_constant", step, list(boundaries), list(values))
        table = np.asarray(values, dtype=np.float64)
        s = np.asarray(step, dtype=np.float64)
        index = np.searchsorted(np.asarray(boundaries, dtype=np.float64), s, side="left")
        at_boundary = np.searchsorted(np.asarray(boundaries, dtype=np.float64), s, side="right")
        mistakes = [
            (
                "at a step equal to a boundary the rate is still the EARLIER value (Keras switches after the "
                "boundary): use step > boundary, or np.searchsorted(boundaries, step, side='left').",
                table[at_boundary],
            ),
            (
                "after the last boundary the rate is values[-1] (values holds one more entry than boundaries).",
                table[np.minimum(index, len(boundaries) - 1)],
            ),
            (
                "after the last boundary the rate is values[-1] (values holds one more entry than boundaries).",
                table[np.minimum(at_boundary, len(boundaries) - 1)],
            ),
            ("before the first boundary the rate is values[0]: your index is one too low.", table[index - 1]),
            ("your index is one too high: before the first boundary the rate is values[0].",
             table[np.minimum(index + 1, len(boundaries))]),
        ]
        compare(
            "piecewise_constant",
            got,
            table[index],
            {"step": step, "boundaries": boundaries, "values": values},
            mistakes,
            show_expected=show_expected,
            rtol=1e-6,
            atol=1e-12,
        )
    passed("piecewise_constant", len(cases))


def _warmup_mistakes(steps, warmup_steps, target, initial):
    s = np.asarray(steps, dtype=np.float64)
    w, delta = float(warmup_steps), target - initial
    with np.errstate(divide="ignore", invalid="ignore"):  # warmup_steps = 1 makes s / (w - 1) infinite
        too_early = initial + delta * np.minimum(s / (w - 1), 1.0)
    return [
        (
            "after warmup_steps the rate must stay at target_learning_rate; yours keeps growing: clamp the "
            "fraction step / warmup_steps at 1 (keras.ops.minimum) or switch with keras.ops.where.",
            initial + delta * s / w,
        ),
        (
            "off by one: at step 0 the rate is initial_learning_rate, and it reaches the target exactly at "
            "step == warmup_steps (fraction = step / warmup_steps).",
            initial + delta * np.minimum((s + 1) / w, 1.0),
        ),
        (
            "off by one: the rate reaches the target at step == warmup_steps, not one step earlier "
            "(divide by warmup_steps, not warmup_steps - 1).",
            too_early,
        ),
        (
            "you ignored initial_learning_rate: the ramp starts there, "
            "lr = initial + (target - initial) * step / warmup_steps.",
            target * np.minimum(s / w, 1.0),
        ),
        (
            "the ramp climbs by (target - initial), not by target: "
            "lr = initial + (target - initial) * step / warmup_steps.",
            initial + target * np.minimum(s / w, 1.0),
        ),
        (
            "step / warmup_steps became an integer division (0 until the end of the warmup): cast the step to "
            "float first, keras.ops.cast(step, 'float32').",
            initial + delta * np.minimum(np.floor(s / w), 1.0),
        ),
    ]


def _not_a_schedule(keras, WarmupSchedule):
    base = keras.optimizers.schedules.LearningRateSchedule
    if not isinstance(WarmupSchedule, type):
        raise CheckFailed(
            f"WarmupSchedule should be a class, but it is {type(WarmupSchedule).__name__} {show(WarmupSchedule)}."
        )
    if not issubclass(WarmupSchedule, base):
        raise CheckFailed(
            "WarmupSchedule must subclass keras.optimizers.schedules.LearningRateSchedule "
            "(class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule): ...), "
            "or Keras optimizers will not accept it as a learning rate."
        )


def _schedule_values(schedule, steps, tf, where):
    values = []
    for step in np.atleast_1d(steps):
        result = _call(schedule, f"{where}(step)", tf.constant(int(step), dtype=tf.int64),
                       described=f"{where}(step) with step = {int(step)} (an int64 tensor)")
        values.append(_scalar(result, f"{where}(step)"))
    return np.array(values)


@exercise("WarmupSchedule")
def check_warmup_schedule(WarmupSchedule):
    """Check a learner's Keras ``WarmupSchedule(warmup_steps, target_learning_rate, initial_learning_rate=0.0)``.

    A ``keras.optimizers.schedules.LearningRateSchedule`` subclass: a linear ramp from the initial to the
    target rate over ``warmup_steps`` steps, then constant (like :func:`course_utils.schedules.linear_warmup`).
    It must accept an integer tensor step, work inside a compiled graph (as ``model.fit`` calls it),
    have a ``get_config`` that rebuilds it, and drive a ``keras.optimizers.Adam``.
    """
    keras, tf = _keras()
    _not_a_schedule(keras, WarmupSchedule)
    rng = fresh_rng()
    cases = []  # (warmup_steps, target, initial or None for the default, show_expected)
    for with_initial in (True, True, False):
        warmup = int(rng.integers(5, 300))
        target = float(np.round(rng.uniform(0.005, 0.5), 5))
        initial = float(np.round(target * rng.uniform(0.05, 0.6), 6)) if with_initial else None
        cases.append((warmup, target, initial, True))
    cases += [(10, 0.1, None, False), (4, 0.02, 0.01, False), (1, 0.3, 0.1, False)]
    count = 0
    for warmup, target, initial, show_expected in cases:
        kwargs = {} if initial is None else {"initial_learning_rate": initial}
        start = 0.0 if initial is None else initial
        described = f"WarmupSchedule({warmup}, {target}" + (f", {initial})" if initial is not None else ")")
        schedule = _call(WarmupSchedule, "WarmupSchedule", warmup, target, **kwargs)
        steps = np.array(sorted({0, 1, warmup // 2, max(warmup - 1, 0), warmup, warmup + 1, 2 * warmup,
                                 10 * warmup + int(rng.integers(0, 100))}), dtype=np.int64)
        got = _schedule_values(schedule, steps, tf, described)
        expected = schedules.linear_warmup(target, warmup, start)(steps)
        compare(
            described,
            got,
            expected,
            {"warmup_steps": warmup, "target_learning_rate": target, "initial_learning_rate": start, "step": steps},
            _warmup_mistakes(steps, warmup, target, start),
            show_expected=show_expected,
            rtol=1e-5,
            atol=1e-9,
        )
        count += 1
    # get_config must rebuild the same schedule (Keras calls it when a model is saved).
    warmup, target, initial, _ = cases[0]
    schedule = _call(WarmupSchedule, "WarmupSchedule", warmup, target, initial_learning_rate=initial)
    config = _call(schedule.get_config, "WarmupSchedule.get_config")
    if not isinstance(config, dict):
        raise CheckFailed(
            f"get_config returned {type(config).__name__} {show(config)}; expected a dict of __init__'s arguments, "
            "e.g. {'warmup_steps': ..., 'target_learning_rate': ..., 'initial_learning_rate': ...}."
        )
    try:
        rebuilt = WarmupSchedule.from_config(config)
    except Exception as error:
        raise CheckFailed(
            f"WarmupSchedule.from_config(get_config()) failed with {type(error).__name__}: {error}\n"
            f"get_config returned {show(config)}\n"
            "hint      the keys must be the names of __init__'s arguments: warmup_steps, target_learning_rate, "
            "initial_learning_rate."
        ) from None
    steps = np.array([0, warmup // 2, warmup, 2 * warmup])
    if not np.allclose(_schedule_values(rebuilt, steps, tf, "rebuilt schedule"), _schedule_values(schedule, steps, tf,
                                                                                                  "WarmupSchedule")):
        raise CheckFailed(
            f"a schedule rebuilt from get_config() gives other learning rates than the original.\n"
            f"get_config returned {show(config)}\n"
            "hint      return every argument of __init__ (warmup_steps, target_learning_rate, "
            "initial_learning_rate) so Keras can rebuild the schedule when a model is saved and loaded."
        )
    count += 1
    # model.fit calls the schedule inside a compiled graph: the step is a symbolic tensor there.
    step = warmup // 2
    try:
        in_graph = tf.function(lambda s: schedule(s), autograph=False)(tf.constant(step, dtype=tf.int64))
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        first_line = first_line.split(". ")[0].rstrip(".") + "."  # the first sentence says what went wrong
        raise CheckFailed(
            "WarmupSchedule works on a plain step but not inside model.fit: Keras calls the schedule inside a "
            f"compiled TensorFlow graph, where the step is a symbolic tensor, and it raised {type(error).__name__}: "
            f"{first_line[:300]}\n"
            "hint      use keras.ops functions (keras.ops.cast, keras.ops.minimum, keras.ops.where) instead of a "
            "Python `if`, min() or numpy."
        ) from None
    count += 1
    compare(described, _scalar(in_graph, "WarmupSchedule in a graph"), schedules.linear_warmup(target, warmup,
            initial)(step), {"step (in a graph)": step}, show_expected=False, rtol=1e-5, atol=1e-9)
    # An Adam optimizer using it: its first update moves each weight by about lr(0) (Adam's first step is ~ lr * sign).
    signs = rng.choice([-1.0, 1.0], size=4).astype(np.float32)
    variable = keras.Variable(np.ones(4, dtype=np.float32))
    try:
        optimizer = keras.optimizers.Adam(learning_rate=schedule)
        optimizer.apply_gradients([(tf.constant(signs), variable)])
    except Exception as error:
        raise CheckFailed(
            f"keras.optimizers.Adam(learning_rate=WarmupSchedule(...)) could not apply a gradient step: "
            f"{type(error).__name__}: {str(error).strip()[:300]}"
        ) from None
    moved = 1.0 - np.asarray(variable.numpy(), dtype=np.float64)
    compare("an Adam step using WarmupSchedule", moved, signs * initial, {"gradient": signs}, show_expected=False,
            rtol=1e-3, atol=1e-7)
    count += 1
    passed("WarmupSchedule", count)


@exercise("warmup_cosine")
def check_warmup_cosine(warmup_cosine):
    """Check a learner's numpy ``warmup_cosine(step, warmup_steps, peak_learning_rate, decay_steps, alpha=0.0)``.

    A linear warmup from 0 to the peak over ``warmup_steps``, then a cosine from the peak down to
    ``alpha * peak`` over ``decay_steps`` more steps, then constant: Keras' ``CosineDecay`` with
    ``initial_learning_rate=0``, ``warmup_target=peak`` (:func:`course_utils.schedules.cosine_decay`).
    """
    rng = fresh_rng()
    cases = []  # (step, warmup, peak, decay_steps, alpha or None for the default, show_expected)
    for alpha_kind in ("random", "random", "default"):
        warmup = int(rng.integers(5, 60))
        decay = int(rng.integers(60, 400))
        peak = float(np.round(rng.uniform(0.01, 1.0), 4))
        alpha = float(np.round(rng.uniform(0.05, 0.4), 3)) if alpha_kind == "random" else None
        steps = np.array(sorted({0, warmup // 2, warmup - 1, warmup, warmup + 1, warmup + decay // 3,
                                 warmup + decay // 2, warmup + decay - 1, warmup + decay, warmup + decay + 1,
                                 warmup + int(1.5 * decay), warmup + 3 * decay}), dtype=np.int64)
        cases.append((steps, warmup, peak, decay, alpha, True))
    cases += [
        (np.array([0, 5, 10, 60, 110, 111, 500]), 10, 0.1, 100, 0.1, False),
        (np.array([0, 50, 100, 1100, 2100, 5000]), 100, 1.0, 2000, None, False),
        (7, 10, 0.5, 100, 0.0, False),
    ]
    for step, warmup, peak, decay, alpha, show_expected in cases:
        kwargs = {} if alpha is None else {"alpha": alpha}
        a = 0.0 if alpha is None else alpha
        got = _rates(warmup_cosine, "warmup_cosine", step, warmup, peak, decay, **kwargs)
        s = np.asarray(step, dtype=np.float64)
        ramp = peak * s / warmup

        def after(t, scale=0.5, a=a, peak=peak):
            return peak * ((1 - a) * scale * (1 + np.cos(np.pi * t)) + a)

        done = np.minimum(s - warmup, decay) / decay
        expected = np.where(s < warmup, ramp, after(done))
        mistakes = [
            (
                "decay_steps counts AFTER the warmup: the cosine starts at step == warmup_steps, so use "
                "(step - warmup_steps) / decay_steps.",
                np.where(s < warmup, ramp, after(np.minimum(s, decay) / decay)),
            ),
            (
                "the cosine must stop after decay_steps and stay at alpha * peak: clamp the fraction at 1 "
                "(np.minimum); otherwise the cosine climbs back up.",
                np.where(s < warmup, ramp, after((s - warmup) / decay)),
            ),
            (
                "alpha is a FRACTION of the peak: the floor is alpha * peak_learning_rate, "
                "lr = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha).",
                np.where(s < warmup, ramp, (peak - a) * 0.5 * (1 + np.cos(np.pi * done)) + a),
            ),
            (
                "the cosine part is 0.5 * (1 + cos(pi * t)), which goes from 1 to 0; you left out the 0.5 or the 1.",
                np.where(s < warmup, ramp, after(done, scale=1.0)),
            ),
            (
                "the cosine part is 0.5 * (1 + cos(pi * t)), which goes from 1 to 0; you left out the 0.5 or the 1.",
                np.where(s < warmup, ramp, peak * ((1 - a) * np.cos(np.pi * done) + a)),
            ),
            (
                "the warmup ramps from 0 to the peak: lr = peak_learning_rate * step / warmup_steps.",
                np.where(s < warmup, peak * np.minimum((s + 1) / warmup, 1.0), after(done)),
            ),
        ]
        compare(
            "warmup_cosine",
            got,
            expected,
            {"step": step, "warmup_steps": warmup, "peak_learning_rate": peak, "decay_steps": decay, **kwargs},
            mistakes,
            show_expected=show_expected,
            rtol=1e-5,
            atol=1e-9,
            also_accept=[schedules.cosine_decay(0.0, decay, a, warmup_target=peak, warmup_steps=warmup)(step)],
        )
    passed("warmup_cosine", len(cases))


# ---------------------------------------------------------------------------------------------------------------
# Lesson 06: the training loop
# ---------------------------------------------------------------------------------------------------------------


def _pairs(result, name):
    """The learner's batches as a list of (x_batch, y_batch) float arrays, with clear messages otherwise."""
    if result is None:
        raise CheckFailed(f"{name} returned None: did you forget the `return` statement?")
    if isinstance(result, (str, bytes, dict, np.ndarray)) or not hasattr(result, "__iter__"):
        raise CheckFailed(
            f"{name} returned {type(result).__name__} {show(result)}; expected a list of (x_batch, y_batch) pairs."
        )
    pairs = list(result)
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise CheckFailed(
                f"batch {i} of {name} is {type(pair).__name__} {show(pair)}; each batch should be a pair "
                "(x_batch, y_batch), e.g. batches.append((x[start:stop], y[start:stop]))."
            )
    return [(numbers(xb, f"{name}: x_batch", sample_axis_hint=False),
             numbers(yb, f"{name}: y_batch", sample_axis_hint=False)) for xb, yb in pairs]


def _rows_equal(a, b):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=1e-12))


@exercise("make_batches")
def check_make_batches(make_batches):
    """Check a learner's ``make_batches(x, y, batch_size)``: one epoch's (x_batch, y_batch) pairs, in order.

    The last batch is smaller when ``batch_size`` does not divide ``n``; nothing is shuffled, dropped or repeated.
    """
    rng = fresh_rng()
    cases = []
    for divides in (False, False, True):
        size = int(rng.integers(3, 10))
        count = int(rng.integers(3, 8))
        n = size * count if divides else size * count + int(rng.integers(1, size))
        cases.append((n, size, int(rng.integers(2, 5)), True))
    cases += [(5, 2, 3, False), (3, 10, 2, False), (6, 6, 1, False)]
    for n, size, features, show_expected in cases:
        x = np.round(rng.normal(size=(n, features)), 3)
        y = rng.permutation(n).astype(np.int64)  # distinct labels: the pairing of x and y is visible
        batches = _pairs(_call(make_batches, "make_batches", x, y, size), "make_batches")
        expected_count = math.ceil(n / size)
        head = f"make_batches(x, y, batch_size={size}) with n = {n} rows"
        if len(batches) != expected_count:
            lines = [f"{head} gave {len(batches)} batches."]
            if show_expected:
                lines.append(f"expected  {expected_count} batches (steps per epoch = ceil(n / batch_size))")
            if len(batches) == n // size:
                lines.append(f"hint      you dropped the last, smaller batch: it holds the {n % size} leftover rows.")
            elif len(batches) == n:
                lines.append("hint      one batch per row: step through the rows with range(0, n, batch_size).")
            else:
                lines.append("hint      there is one batch per batch_size rows, plus one for any leftover rows.")
            raise CheckFailed("\n".join(lines))
        for i, (xb, yb) in enumerate(batches):
            start, stop = i * size, min((i + 1) * size, n)
            want_x, want_y = x[start:stop], y[start:stop]
            problem, show_rows = None, True
            if xb.shape != want_x.shape:
                show_rows = False
                problem = f"batch {i} has x_batch of shape {xb.shape}, expected {want_x.shape}."
                hint = (
                    f"batch i holds rows i * batch_size up to (i + 1) * batch_size, the end excluded: "
                    f"x[{start}:{stop}]. Rows must be neither repeated nor skipped."
                )
                if xb.ndim == 2 and xb.shape[0] == n and n != stop - start:
                    hint = "take the rows (the first axis) of x: x[start:stop], not x[:, start:stop]."
            elif not _rows_equal(xb, want_x):
                problem = f"batch {i} holds other rows of x than rows {start} to {stop - 1}."
                same_rows = {tuple(r) for r in xb} <= {tuple(r) for r in x}
                hint = (
                    "keep the rows in order: make_batches does not shuffle (fit does that before each epoch)."
                    if same_rows
                    else "x_batch should be the rows x[start:stop] of x, unchanged."
                )
            elif yb.shape != want_y.shape or not _rows_equal(yb, want_y.astype(np.float64)):
                problem = f"batch {i}: x_batch is right but y_batch does not hold the labels of the same rows."
                hint = "slice x and y with the same start and stop, so each label stays with its example."
            if problem:
                lines = [f"{head} is not right yet: {problem}"]
                if show_expected and show_rows:
                    lines.append(f"input     y = {show(y)} (the labels number the rows)")
                    lines.append(f"expected  y_batch = {show(want_y)}")
                    lines.append(f"got       y_batch = {show(yb)}")
                raise CheckFailed("\n".join(lines + [f"hint      {hint}"]))
    passed("make_batches", len(cases))


@exercise("one_hot")
def check_one_hot(one_hot):
    """Check a learner's numpy ``one_hot(labels, num_classes)``: shape ``(len(labels), num_classes)``, one 1 per row."""
    rng = fresh_rng()
    cases = []
    for kind in ("int", "float", "missing top class"):
        k = int(rng.integers(3, 12))
        n = int(rng.choice([m for m in range(4, 13) if m != k]))  # n != k: a transposed answer has another shape
        top = k - 1 if kind == "missing top class" else k
        labels = rng.integers(0, top, size=n)
        labels[0] = top - 1  # the largest label present is top - 1
        labels = labels.astype(np.float32) if kind == "float" else labels.astype(np.int64)
        cases.append((labels, k, True))
    cases += [
        (np.array([0, 2, 1]), 3, False),
        (np.array([4.0, 0.0]), 6, False),  # float labels, class 5 never appears
        (np.array([3]), 4, False),
    ]
    for labels, k, show_expected in cases:
        result = _call(one_hot, "one_hot", labels, k,
                       described=f"one_hot(labels, {k}) with labels = {show(labels)} of dtype {labels.dtype}")
        n = len(labels)
        got = numbers(result, "one_hot", sample_axis_hint=False)
        inputs = {"labels": labels, "num_classes": k}
        if got.shape != (n, k):
            hint = "one row per label and one column per class: shape (len(labels), num_classes)."
            if got.shape == (k, n):
                hint = "the axes are swapped: one ROW per label, one column per class (np.eye(num_classes)[labels])."
            elif got.ndim == 2 and got.shape[0] == n:
                hint = (
                    "use num_classes columns, even when the largest class does not appear among the labels "
                    "(not labels.max() + 1)."
                )
            elif got.shape == (n,):
                hint = "that is one number per label; one_hot returns a row of num_classes numbers per label."
            raise CheckFailed(
                f"one_hot(labels, num_classes={k}) returned shape {got.shape}, expected {(n, k)} "
                f"(with {n} labels).\nhint      {hint}"
            )
        index = labels.astype(np.int64)
        expected = np.eye(k)[index]
        mistakes = [
            ("class c sets column c, counting from 0 (label 0 is the first column).", np.eye(k)[(index - 1) % k]),
            ("each row is all zeros except a single 1 in the label's column.", 1.0 - np.eye(k)[index]),
        ]
        compare("one_hot", got, expected, inputs, mistakes, show_expected=show_expected, rtol=0, atol=1e-12)
    passed("one_hot", len(cases))


def _tiny_model(keras, weights, features, classes):
    model = keras.Sequential([
        keras.Input(shape=(features,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(classes, activation="softmax"),
    ])
    model.set_weights(weights)
    return model


def _flat(model):
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in model.get_weights()])


@exercise("train_step")
def check_train_step(train_step):
    """Check a learner's ``train_step(model, optimizer, x, y)`` with ``tf.GradientTape``.

    Two identical small softmax models get the same two batches: one through the learner's step, one
    through the reference (sparse categorical cross-entropy, mean over the batch, SGD update). The
    returned loss and the weights after each step must agree.
    """
    keras, tf = _keras()
    rng = fresh_rng()
    features, classes, n = int(rng.integers(3, 7)), int(rng.integers(3, 6)), int(rng.integers(6, 12))
    learning_rate = 0.5
    shapes = [(features, 8), (8,), (8, classes), (classes,)]
    weights = [(rng.normal(size=shape) * 0.6).astype(np.float32) for shape in shapes]
    learner_model = _tiny_model(keras, weights, features, classes)
    reference_model = _tiny_model(keras, weights, features, classes)
    optimizers = [keras.optimizers.SGD(learning_rate=learning_rate) for _ in range(2)]
    optimizers[0].build(learner_model.trainable_variables)
    optimizers[1].build(reference_model.trainable_variables)
    for step in range(2):
        x = rng.normal(size=(n, features)).astype(np.float32)
        y = rng.integers(0, classes, size=n).astype(np.int64)
        y[:classes] = np.arange(classes)  # every class appears
        before = _flat(reference_model)
        with tf.GradientTape() as tape:
            probabilities = reference_model(x, training=True)
            per_sample = keras.losses.sparse_categorical_crossentropy(y, probabilities)
            loss = keras.ops.mean(per_sample)
        gradients = tape.gradient(loss, reference_model.trainable_variables)
        optimizers[1].apply_gradients(zip(gradients, reference_model.trainable_variables))
        flat_gradient = np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in gradients])
        after_loss = float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, reference_model(x))))

        result = _call(
            train_step,
            "train_step",
            learner_model,
            optimizers[0],
            tf.constant(x),
            tf.constant(y),
            described=f"train_step(model, optimizer, x, y) with x of shape {x.shape} and y = {show(y)}",
            extra_hints=[(
                "NoneType",
                "a gradient is None: the tape recorded nothing. Compute the model's output AND the loss inside the "
                "`with tf.GradientTape() as tape:` block.",
            )],
        )
        if result is None:
            raise CheckFailed("train_step returned None: return the batch's loss (the mean over the batch).")
        got_loss = _scalar(result, "train_step")
        compare(
            "the loss returned by train_step",
            got_loss,
            float(loss),
            {"y": y, "model output (probabilities)": np.round(np.asarray(probabilities), 4)},
            [
                ("you summed the per-sample losses; return their mean over the batch (keras.ops.mean).",
                 float(np.sum(per_sample))),
                ("the loss is negative: cross-entropy is MINUS the log-probability of the true class.", -float(loss)),
                ("return the loss of this step, computed before the update (before apply_gradients).", after_loss),
            ],
            rtol=1e-4,
            atol=1e-6,
        )
        got_weights, expected_weights = _flat(learner_model), _flat(reference_model)
        if np.allclose(got_weights, expected_weights, rtol=1e-4, atol=1e-6):
            if failing():
                break  # the loss was wrong: report it
            continue
        lines = [
            f"after train_step (step {step + 1}) the model's weights are not what one gradient-descent step gives.",
            f"input     x of shape {x.shape}, y = {show(y)}, optimizer SGD(learning_rate={learning_rate})",
            f"largest weight difference from the right step: {np.max(np.abs(got_weights - expected_weights)):.3g}",
        ]
        mistakes = [
            (before, "the weights did not change: apply the gradients with "
                     "optimizer.apply_gradients(zip(gradients, model.trainable_variables))."),
            (before + learning_rate * flat_gradient, "the weights moved uphill (gradient ascent): pass the gradients "
                                                     "themselves to apply_gradients, not their negatives."),
            (before - learning_rate * n * flat_gradient, "the step is batch-size times too large: take the mean of "
                                                          "the per-sample losses, not their sum, inside the tape."),
        ]
        fail("the weights after train_step", lines,
             [hint for value, hint in mistakes if np.allclose(got_weights, value, 1e-4, 1e-6)])
        break  # the next batch would start from other weights than the reference's
    passed("train_step", text="loss and updated weights match the reference on 2 fresh random batches")


def _loss_name(loss):
    """The name of a compiled loss (a string, function, or Loss object), normalised to lower case without _."""
    if isinstance(loss, str):
        name = loss
    elif hasattr(loss, "fn") and callable(loss.fn):
        name = loss.fn.__name__
    else:
        name = getattr(loss, "__name__", type(loss).__name__)
    return name.lower().replace("_", "")


def _metric_names(model):
    names = []
    for metric in model.get_compile_config().get("metrics") or []:
        if isinstance(metric, str):
            names.append(metric)
        elif isinstance(metric, dict):
            names.append(str(metric.get("class_name", "")))
        else:
            names.append(getattr(metric, "name", type(metric).__name__))
    return [n.lower().replace("_", "") for n in names]


def _check_digits_model(keras, model, name):
    """Raise CheckFailed unless ``model`` is the lesson's compiled digits model."""
    if model is None:
        raise CheckFailed(f"{name} returned None: did you forget to `return model`?")
    if not isinstance(model, keras.Model):
        raise CheckFailed(f"{name} returned {type(model).__name__} {show(model)}; expected a keras model.")
    try:
        params = model.count_params()
    except ValueError:
        raise CheckFailed(
            f"the model from {name} is not built: start the Sequential with keras.Input(shape=(64,))."
        ) from None
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) != 2:
        raise CheckFailed(
            f"the model has {len(dense)} Dense layers; expected 2: Dense(512, activation='relu') "
            "and Dense(10, activation='softmax')."
        )
    if tuple(model.input_shape) != (None, 64):
        raise CheckFailed(f"the model's input shape is {model.input_shape}; expected (None, 64): 8 x 8 = 64 pixels.")
    hidden, output = dense
    if hidden.units != 512:
        raise CheckFailed(f"the hidden layer has {hidden.units} units; the lesson's model uses Dense(512, ...).")
    if output.units != 10:
        raise CheckFailed(f"the output layer has {output.units} units; expected 10, one per digit.")
    if getattr(hidden.activation, "__name__", "") != "relu":
        raise CheckFailed(
            f"the hidden layer's activation is {getattr(hidden.activation, '__name__', hidden.activation)}; "
            "use activation='relu'."
        )
    if getattr(output.activation, "__name__", "") != "softmax":
        raise CheckFailed(
            f"the output layer's activation is {getattr(output.activation, '__name__', output.activation)}; "
            "use activation='softmax' so the model outputs class probabilities, which "
            "sparse_categorical_crossentropy expects."
        )
    if params != 38410:
        raise CheckFailed(
            f"the model has {params:,} parameters; model.summary() should show 38,410 (33,280 + 5,130). "
            "Use exactly two Dense layers: 64 inputs -> 512 -> 10."
        )
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise CheckFailed(
            "the model is not compiled: call model.compile(optimizer='adam', "
            "loss='sparse_categorical_crossentropy', metrics=['accuracy']) before returning it."
        )
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        raise CheckFailed(
            f"the model is compiled with {type(model.optimizer).__name__}; use Adam (optimizer='adam')."
        )
    loss = _loss_name(model.loss)
    if loss != "sparsecategoricalcrossentropy":
        hint = ""
        if loss == "categoricalcrossentropy":
            hint = (
                " The labels are integers 0-9, so use 'sparse_categorical_crossentropy': "
                "'categorical_crossentropy' expects one-hot labels."
            )
        raise CheckFailed(f"the model is compiled with the loss {model.loss!r}; expected "
                          f"'sparse_categorical_crossentropy'.{hint}")
    config = model.loss.get_config() if hasattr(model.loss, "get_config") else {}
    if isinstance(config, dict) and config.get("from_logits"):
        raise CheckFailed("the loss has from_logits=True, but the model ends in softmax: its outputs are "
                          "probabilities. Leave from_logits at False.")
    accuracy = {"accuracy", "acc", "sparsecategoricalaccuracy"}
    if not accuracy & set(_metric_names(model)):
        raise CheckFailed("the model does not report accuracy: compile it with metrics=['accuracy'].")


@exercise("build_digits_model")
def check_build_digits_model(build_digits_model):
    """Check a learner's ``build_digits_model()``: the lesson's compiled digits classifier (38,410 parameters)."""
    keras, _ = _keras()
    model = _call(build_digits_model, "build_digits_model")
    _check_digits_model(keras, model, "build_digits_model")
    again = _call(build_digits_model, "build_digits_model")
    if again is model:
        raise CheckFailed(
            "build_digits_model returned the same model object twice; build a new model inside the function "
            "on every call, so each training run starts fresh."
        )
    passed("build_digits_model", text="38,410 parameters, softmax output, Adam, sparse categorical "
           "cross-entropy, accuracy")


@exercise("train_digits")
def check_train_digits(build_digits_model, train_digits, *, seed=0, required=0.95):
    """Check a learner's ``train_digits(model, split)``: the check measures the validation accuracy itself.

    It seeds everything, builds a model with ``build_digits_model()``, lets ``train_digits`` train it on
    ``course_utils.data.load_digits()`` and requires at least 95% of the validation images right
    (``argmax`` of ``model.predict(split.x_val)``).
    """
    from course_utils.data import load_digits
    from course_utils.keras_tools import make_deterministic

    keras, _ = _keras()
    make_deterministic(seed)
    split = load_digits()
    model = _call(build_digits_model, "build_digits_model")
    _check_digits_model(keras, model, "build_digits_model")
    before = _flat(model)
    started = time.perf_counter()
    result = _call(train_digits, "train_digits", model, split)
    seconds = time.perf_counter() - started
    if result is None:
        raise CheckFailed("train_digits returned None: return the trained model (`return model`).")
    if isinstance(result, keras.callbacks.History):
        raise CheckFailed("train_digits returned the History that model.fit gives back; return the model itself.")
    if not isinstance(result, keras.Model):
        raise CheckFailed(f"train_digits returned {type(result).__name__} {show(result)}; return the trained model.")
    after = _flat(result)
    if after.shape == before.shape and np.array_equal(after, before):
        raise CheckFailed(
            "train_digits did not change the model's weights: call model.fit(split.x_train, split.y_train, "
            "epochs=..., verbose=0) with at least one epoch."
        )
    if not np.all(np.isfinite(after)):
        raise CheckFailed(
            "training made the weights NaN or infinite (the loss blew up): the learning rate is far too high. "
            "Adam's default (0.001) works here."
        )

    def accuracy(x, y):
        probabilities = np.asarray(result.predict(x, verbose=0))
        return float(np.mean(np.argmax(probabilities, axis=-1) == y))

    val_accuracy = accuracy(split.x_val, split.y_val)
    if val_accuracy < required:
        lines = [f"after train_digits the validation accuracy is {val_accuracy:.3f}; at least {required} is needed."]
        if val_accuracy < 0.3:
            lines.append(
                "hint      that is close to guessing (0.1): the model hardly learned. A far-too-high learning rate "
                "(keep Adam's default 0.001) or far too few epochs?"
            )
        else:
            lines.append("hint      train a little longer (about 10 epochs, batch_size=32) with Adam's default "
                         "learning rate.")
        raise CheckFailed("\n".join(lines))
    train_accuracy = accuracy(split.x_train, split.y_train)
    if val_accuracy > train_accuracy + 0.02:
        raise CheckFailed(
            f"the validation accuracy ({val_accuracy:.3f}) is clearly above the training accuracy "
            f"({train_accuracy:.3f}): did you train on split.x_val? Train on split.x_train and split.y_train; "
            "the validation images are for measuring."
        )
    note = f" (training took about {seconds:.0f} s: a few epochs are enough here)" if seconds > 30 else ""
    passed("train_digits", text=f"validation accuracy {val_accuracy:.3f}, at least {required} needed{note}")
