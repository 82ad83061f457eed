"""The exercises of lessons 05 (learning-rate schedules) and 06 (the training loop): one definition each.

Each :class:`~course_utils.checks.definition.Exercise` here is the whole exercise: its inputs (fresh random
ones and fixed edge cases, the exact boundary steps among them), its numpy reference, its typical mistakes
with their one hint each, and its tolerances. The grader runs the same definitions
(:mod:`course_utils.grade.rubric`). The numpy schedules and ``one_hot`` are checked by the generic self-check;
``make_batches`` and the Keras exercises keep a hand-written self-check that runs the definition's cases against
its reference and adds what only the learner's kernel can see (the batches' structure; a schedule inside a
compiled graph, rebuilt from ``get_config``, driving Adam; the model's structure; the training run's diagnostics).
"""

from __future__ import annotations

import time

import numpy as np

from course_utils import schedules
from course_utils.checks.definition import Case, Exercise, Mistake, adapted, check_for
from course_utils.checks.engine import (
    CheckFailed,
    call,
    compare,
    exercise,
    fresh_rng,
    numbers,
    passed,
    show,
)

# Crash messages of the Keras exercises that point to a typical mistake: (words in the error, hint).
_CRASH_HINTS = (
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
        "NoneType",
        "a gradient is None: the tape recorded nothing. Compute the model's output AND the loss inside the "
        "`with tf.GradientTape() as tape:` block.",
    ),
    (
        "must have the same rank",
        "the labels are integers (one class number per sample): use keras.losses.sparse_categorical_crossentropy; "
        "categorical_crossentropy expects one-hot labels.",
    ),
)
_FLOAT_LABELS = "labels can arrive as floats (3.0): convert them with labels.astype(int) before using them as indices."


def _call(fn, name, *args, described=None, hints=_CRASH_HINTS, **kwargs):
    """:func:`~course_utils.checks.engine.call` plus the hint of ``hints`` that fits the crash.

    ``described`` replaces the echo of the arguments in a crash message (a model or a tensor prints badly).
    """
    try:
        return call(fn, name, *args, **kwargs)
    except CheckFailed as failure:
        if getattr(failure, "error", None) is None:
            raise
        text = str(failure)
        if described and text.startswith(name + "(") and " raised " in text:
            text = described + " raised " + text.split(" raised ", 1)[1]
        found = [hint for words, hint in hints if words in text]
        if found and "\nhint      " not in text:
            text += "\nhint      " + found[0]
        raise CheckFailed(text) from None


class _Text(str):
    """Text that a message's input line shows as it is (not quoted)."""

    def __repr__(self):
        return str(self)


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


# ---- lesson 05: learning-rate schedules -------------------------------------------------------------------------


def _decay_cases(rng):
    """Random steps (the staircase's edges among them) with each staircase setting, one integer step, edge cases."""
    cases = []
    for staircase in (False, True, None, True):
        decay_steps = int(rng.integers(5, 200))
        initial = float(np.round(rng.uniform(0.01, 1.0), 4))
        rate = float(np.round(rng.uniform(0.3, 0.95), 3))
        steps = np.concatenate([[0, decay_steps - 1, decay_steps, decay_steps + int(0.75 * decay_steps)],
                                rng.integers(1, 8 * decay_steps, size=4)]).astype(np.int64)
        kwargs = {} if staircase is None else {"staircase": staircase}
        label = f"random steps, decay_steps={decay_steps}" + (f", staircase={staircase}" if kwargs else "")
        cases.append(Case((steps, initial, decay_steps, rate), kwargs, label))
    decay_steps = int(rng.integers(5, 200))
    step = int(rng.integers(decay_steps + 1, 5 * decay_steps))
    cases.append(Case((step, 0.5, decay_steps, 0.8), {"staircase": True}, "a single integer step"))
    return cases + [
        Case((np.array([0, 999, 1000, 1500, 2000, 2999]), 0.1, 1000, 0.9), {"staircase": True},
             "steps on the staircase's edges", edge=True),
        Case((np.array([0, 500, 1000, 2500]), 0.1, 1000, 0.9), {"staircase": False}, "a smooth decay", edge=True),
        Case((0, 0.5, 10, 0.5), {"staircase": False}, "step 0", edge=True),  # gives the initial rate
    ]


def _exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = np.asarray(step, dtype=np.float64) / decay_steps
    return initial_learning_rate * decay_rate ** (np.floor(p) if staircase else p)


def _decay_mistakes(step, initial, decay_steps, rate, staircase=False):
    s = np.asarray(step, dtype=np.float64)
    exponent = s / decay_steps
    found = [
        Mistake("the exponent is step / decay_steps, not step: the rate is multiplied by decay_rate once every "
                "decay_steps steps, not at every step.", initial * rate**s),
        Mistake("the exponent is step / decay_steps; you divided the other way round (decay_steps / step).",
                initial * rate ** (decay_steps / s)),
        Mistake("off by one: step 0 must give exactly initial_learning_rate, so the exponent is step / decay_steps, "
                "not (step + 1) / decay_steps (Keras counts steps from 0).",
                initial * rate ** (np.floor((s + 1) / decay_steps) if staircase else (s + 1) / decay_steps)),
        Mistake("the decay is a power: decay_rate ** (step / decay_steps), not decay_rate * (step / decay_steps).",
                initial * rate * exponent),
    ]
    if not staircase:
        return found + [Mistake("you rounded the exponent down although staircase is False: only staircase=True "
                                "drops in jumps.", initial * rate ** np.floor(exponent))]
    return found + [
        Mistake("with staircase=True, round the exponent step / decay_steps down (np.floor) so the rate drops in "
                "jumps; you ignored staircase.", initial * rate**exponent),
        Mistake("round the exponent DOWN with np.floor, not to the nearest integer.",
                initial * rate ** np.round(exponent)),
        Mistake("round the exponent DOWN with np.floor, not up (np.ceil): until step reaches decay_steps the rate is "
                "still the initial one.", initial * rate ** np.ceil(exponent)),
    ]


EXPONENTIAL_DECAY = Exercise(
    "exponential_decay", _decay_cases, _exponential_decay,
    ("step", "initial_learning_rate", "decay_steps", "decay_rate"), _decay_mistakes,
    accept=lambda step, initial, decay_steps, rate, staircase=False: [  # Keras' float32 values
        schedules.exponential_decay(initial, decay_steps, rate, bool(staircase))(step)],
    rtol=1e-5, atol=1e-9, points=2)


def _random_boundaries(rng):
    count = int(rng.integers(2, 5))
    boundaries = sorted(int(b) for b in rng.choice(np.arange(2, 600), size=count, replace=False))
    start = float(rng.uniform(0.05, 1.0))
    values = [float(np.round(start * 10.0 ** (-i) * rng.uniform(0.6, 1.0), 6)) for i in range(count + 1)]
    return boundaries, values


def _piecewise_cases(rng):
    """Random boundaries with the steps on and next to each, one integer step on a boundary, Keras' example."""
    cases = []
    for _ in range(3):
        boundaries, values = _random_boundaries(rng)
        near = [b + d for b in boundaries for d in (-1, 0, 1)]
        steps = np.array(sorted({0, *near, boundaries[-1] + int(rng.integers(2, 1000)),
                                 *rng.integers(0, boundaries[-1] + 50, size=3).tolist()}), dtype=np.int64)
        cases.append(Case((steps, boundaries, values), {}, f"random steps, {len(boundaries)} boundaries"))
    boundaries, values = _random_boundaries(rng)
    cases.append(Case((int(boundaries[1]), boundaries, values), {}, "a single integer step on a boundary"))
    example = ([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001])
    return cases + [
        Case((np.array([0, 999, 1000, 1001, 2000, 2001, 3000, 3001, 10000]), *example), {}, "Keras' example",
             edge=True),
        Case((1000, *example), {}, "a step exactly on a boundary", edge=True),
        Case((5000, *example), {}, "a step after the last boundary", edge=True),
    ]


def _piecewise_constant(step, boundaries, values):
    return np.asarray(values, dtype=np.float64)[np.searchsorted(boundaries, step, side="left")]


def _piecewise_mistakes(step, boundaries, values):
    table, edges = np.asarray(values, dtype=np.float64), np.asarray(boundaries, dtype=np.float64)
    s = np.asarray(step, dtype=np.float64)
    index, at_boundary = np.searchsorted(edges, s, side="left"), np.searchsorted(edges, s, side="right")
    last = "after the last boundary the rate is values[-1] (values holds one more entry than boundaries)."
    return [
        Mistake("at a step equal to a boundary the rate is still the EARLIER value (Keras switches only after the "
                "boundary): count only the boundaries strictly below the step (np.searchsorted's side argument "
                "decides how a tie counts).",
                table[at_boundary]),
        Mistake(last, table[np.minimum(index, len(boundaries) - 1)]),
        Mistake(last, table[np.minimum(at_boundary, len(boundaries) - 1)]),
        Mistake("before the first boundary the rate is values[0]: your index is one too low.", table[index - 1]),
        Mistake("your index is one too high: before the first boundary the rate is values[0].",
                table[np.minimum(index + 1, len(boundaries))]),
    ]


PIECEWISE_CONSTANT = Exercise("piecewise_constant", _piecewise_cases, _piecewise_constant,
                              ("step", "boundaries", "values"), _piecewise_mistakes, rtol=1e-6, atol=1e-12, points=2)


def _warmup_cases(rng):
    """Random warmups (with and without an initial rate), then fixed ones; the steps around the warmup's end."""
    def case(warmup, target, initial, label, edge=False, late=7):
        steps = np.array(sorted({0, 1, warmup // 2, max(warmup - 1, 0), warmup, warmup + 1, 2 * warmup,
                                 10 * warmup + late}), dtype=np.int64)
        kwargs = {} if initial is None else {"initial_learning_rate": initial}
        return Case((warmup, target, steps), kwargs, label, edge)

    cases = []
    for with_initial in (True, True, False):  # the first has an initial rate: the later checks build on it
        warmup, target = int(rng.integers(5, 300)), float(np.round(rng.uniform(0.005, 0.5), 5))
        initial = float(np.round(target * rng.uniform(0.05, 0.6), 6)) if with_initial else None
        cases.append(case(warmup, target, initial, f"warmup_steps={warmup}" + ", an initial rate" * with_initial,
                          late=int(rng.integers(0, 100))))
    return cases + [case(10, 0.1, None, "the default initial rate", True),
                    case(4, 0.02, 0.01, "a short warmup", True), case(1, 0.3, 0.1, "a one-step warmup", True)]


def _warmup_rates(warmup_steps, target_learning_rate, steps, initial_learning_rate=0.0):
    ramp = np.minimum(np.asarray(steps, dtype=np.float64) / warmup_steps, 1.0)
    return initial_learning_rate + (target_learning_rate - initial_learning_rate) * ramp


def _warmup(warmup_steps, target_learning_rate, steps, initial_learning_rate=0.0):
    """The adapter's four values: the rates called plainly, rebuilt from get_config, in a graph; being a schedule."""
    rates = _warmup_rates(warmup_steps, target_learning_rate, steps, initial_learning_rate)
    return rates, rates, rates, 1.0


def _warmup_mistakes(warmup_steps, target, steps, initial_learning_rate=0.0):
    s, w, initial = np.asarray(steps, dtype=np.float64), float(warmup_steps), initial_learning_rate
    delta = target - initial
    found = [
        ("after warmup_steps the rate must stay at target_learning_rate; yours keeps growing: clamp the fraction "
         "step / warmup_steps at 1 (keras.ops.minimum) or switch with keras.ops.where.", initial + delta * s / w),
        ("off by one: at step 0 the rate is initial_learning_rate, and it reaches the target exactly at "
         "step == warmup_steps (fraction = step / warmup_steps).", initial + delta * np.minimum((s + 1) / w, 1.0)),
        ("off by one: the rate reaches the target at step == warmup_steps, not one step earlier "
         "(divide by warmup_steps, not warmup_steps - 1).", initial + delta * np.minimum(s / (w - 1), 1.0)),
        ("you ignored initial_learning_rate: the ramp starts there, "
         "lr = initial + (target - initial) * step / warmup_steps.", target * np.minimum(s / w, 1.0)),
        ("the ramp climbs by (target - initial), not by target: "
         "lr = initial + (target - initial) * step / warmup_steps.", initial + target * np.minimum(s / w, 1.0)),
        ("step / warmup_steps became an integer division (0 until the end of the warmup): cast the step to "
         "float first, keras.ops.cast(step, 'float32').", initial + delta * np.minimum(np.floor(s / w), 1.0)),
    ]
    return [Mistake(hint, value, part) for part in (0, 1, 2) for hint, value in found]  # each way of calling it


# Keras calls a schedule with an integer tensor, inside a compiled graph, and rebuilds it from get_config.
WARMUP_ADAPTER = """
def adapt(WarmupSchedule):
    def call(warmup_steps, target_learning_rate, steps, initial_learning_rate=None):
        import keras
        import tensorflow as tf
        extra = {} if initial_learning_rate is None else {"initial_learning_rate": initial_learning_rate}
        schedule = WarmupSchedule(warmup_steps, target_learning_rate, **extra)
        rebuilt = WarmupSchedule.from_config(schedule.get_config())
        in_graph = tf.function(lambda step: schedule(step), autograph=False)
        steps = [tf.constant(int(s), tf.int64) for s in steps]
        return ([float(schedule(s)) for s in steps], [float(rebuilt(s)) for s in steps],
                [float(in_graph(s)) for s in steps],
                float(isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)))
    return call
"""

WARMUP_SCHEDULE = Exercise(
    "WarmupSchedule", _warmup_cases, _warmup, ("warmup_steps", "target_learning_rate", "step"), _warmup_mistakes,
    rtol=1e-5, atol=1e-9, returns=4, adapter=WARMUP_ADAPTER,
    parts=("the rates for integer steps", "a schedule rebuilt from get_config()",
           "the rates inside a compiled graph, as model.fit calls it",
           "being a keras.optimizers.schedules.LearningRateSchedule"), points=3)


def _cosine_cases(rng):
    """Random schedules (a random alpha, the default), the steps around the warmup's and the decay's ends."""
    cases = []
    for alpha_kind in ("random", "random", "default"):
        warmup, decay = int(rng.integers(5, 60)), int(rng.integers(60, 400))
        peak = float(np.round(rng.uniform(0.01, 1.0), 4))
        kwargs = {"alpha": float(np.round(rng.uniform(0.05, 0.4), 3))} if alpha_kind == "random" else {}
        steps = np.array(sorted({0, warmup // 2, warmup - 1, warmup, warmup + 1, warmup + decay // 3,
                                 warmup + decay // 2, warmup + decay - 1, warmup + decay, warmup + decay + 1,
                                 warmup + int(1.5 * decay), warmup + 3 * decay}), dtype=np.int64)
        label = f"random steps, warmup_steps={warmup}, decay_steps={decay}" + f", alpha={kwargs.get('alpha')}" * bool(
            kwargs)
        cases.append(Case((steps, warmup, peak, decay), kwargs, label))
    cases.append(Case((int(rng.integers(0, 3000)), 100, 0.1, 1000), {}, "a single integer step"))
    return cases + [
        Case((np.array([0, 5, 10, 60, 110, 111, 500]), 10, 0.1, 100), {"alpha": 0.1}, "alpha = 0.1", edge=True),
        Case((np.array([0, 50, 100, 1100, 2100, 5000]), 100, 1.0, 2000), {}, "the default alpha", edge=True),
        Case((7, 10, 0.5, 100), {"alpha": 0.0}, "a step in the warmup", edge=True),
    ]


def _warmup_cosine(step, warmup_steps, peak_learning_rate, decay_steps, alpha=0.0):
    s = np.asarray(step, dtype=np.float64)
    t = np.clip(s - warmup_steps, 0, decay_steps) / decay_steps
    cosine = peak_learning_rate * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * t)) + alpha)
    return np.where(s < warmup_steps, peak_learning_rate * s / warmup_steps, cosine)


def _cosine_mistakes(step, warmup, peak, decay, alpha=0.0):
    s = np.asarray(step, dtype=np.float64)
    ramp, done = peak * s / warmup, np.minimum(s - warmup, decay) / decay

    def after(t, scale=0.5):
        return peak * ((1 - alpha) * scale * (1 + np.cos(np.pi * t)) + alpha)

    halves = "the cosine part is 0.5 * (1 + cos(pi * t)), which goes from 1 to 0; you left out the 0.5 or the 1."
    return [
        Mistake("decay_steps counts AFTER the warmup: the cosine starts at step == warmup_steps, so use "
                "(step - warmup_steps) / decay_steps.",
                np.where(s < warmup, ramp, after(np.minimum(s, decay) / decay))),
        Mistake("the cosine must stop after decay_steps and stay at alpha * peak: clamp the fraction at 1 "
                "(np.minimum); otherwise the cosine climbs back up.",
                np.where(s < warmup, ramp, after((s - warmup) / decay))),
        Mistake("alpha is a FRACTION of the peak: the floor is alpha * peak_learning_rate, "
                "lr = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha).",
                np.where(s < warmup, ramp, (peak - alpha) * 0.5 * (1 + np.cos(np.pi * done)) + alpha)),
        Mistake(halves, np.where(s < warmup, ramp, after(done, scale=1.0))),
        Mistake(halves, np.where(s < warmup, ramp, peak * ((1 - alpha) * np.cos(np.pi * done) + alpha))),
        Mistake("the warmup ramps from 0 to the peak: lr = peak_learning_rate * step / warmup_steps.",
                np.where(s < warmup, peak * np.minimum((s + 1) / warmup, 1.0), after(done))),
    ]


WARMUP_COSINE = Exercise(
    "warmup_cosine", _cosine_cases, _warmup_cosine, ("step", "warmup_steps", "peak_learning_rate", "decay_steps"),
    _cosine_mistakes,
    accept=lambda step, warmup, peak, decay, alpha=0.0: [  # Keras' float32 values
        schedules.cosine_decay(0.0, decay, alpha, warmup_target=peak, warmup_steps=warmup)(step)],
    rtol=1e-5, atol=1e-9, points=3)

LESSON_05 = (EXPONENTIAL_DECAY, PIECEWISE_CONSTANT, WARMUP_SCHEDULE, WARMUP_COSINE)


# ---- the learner's checks of lesson 05 ---------------------------------------------------------------------------

check_exponential_decay = check_for(
    EXPONENTIAL_DECAY,
    "Check a learner's numpy ``exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase)``: "
    "``lr = initial_learning_rate * decay_rate ** (step / decay_steps)``, the exponent rounded down when "
    "``staircase=True``; ``step`` may be one int or an array of steps.")
check_piecewise_constant = check_for(
    PIECEWISE_CONSTANT,
    "Check a learner's numpy ``piecewise_constant(step, boundaries, values)`` with Keras' boundary rule: "
    "``values[i]`` holds for ``boundaries[i-1] < step <= boundaries[i]``.")
check_warmup_cosine = check_for(
    WARMUP_COSINE,
    "Check a learner's numpy ``warmup_cosine(step, warmup_steps, peak_learning_rate, decay_steps, alpha=0.0)``: "
    "a linear warmup from 0 to the peak, then a cosine down to ``alpha * peak`` over ``decay_steps`` more steps "
    "(Keras' ``CosineDecay`` with ``initial_learning_rate=0``, ``warmup_target=peak``).")


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
    target rate over ``warmup_steps`` steps, then constant. The rates of :data:`WARMUP_SCHEDULE`'s cases come
    first; then the schedule must have a ``get_config`` that rebuilds it, work inside a compiled graph (as
    ``model.fit`` calls it), and drive a ``keras.optimizers.Adam``.
    """
    keras, tf = _keras()
    _not_a_schedule(keras, WarmupSchedule)
    definition = WARMUP_SCHEDULE
    cases = definition.cases(fresh_rng())
    for case in cases:
        (warmup, target, steps), initial = case.args, case.kwargs.get("initial_learning_rate")
        described = f"WarmupSchedule({warmup}, {target}" + (f", {initial})" if initial is not None else ")")
        schedule = _call(WarmupSchedule, "WarmupSchedule", warmup, target, **case.kwargs)
        compare(described, _schedule_values(schedule, steps, tf, described), definition.expected(case)[0],
                {"warmup_steps": warmup, "target_learning_rate": target,
                 "initial_learning_rate": 0.0 if initial is None else initial, "step": steps},
                [(m.hint, m.value) for m in definition.mistakes_on(case) if m.part == 0],
                show_expected=not case.edge, rtol=definition.rtol, atol=definition.atol)
    # get_config must rebuild the same schedule (Keras calls it when a model is saved).
    (warmup, target, _), initial = cases[0].args, cases[0].kwargs["initial_learning_rate"]
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
    if not np.allclose(_schedule_values(rebuilt, steps, tf, "rebuilt schedule"),
                       _schedule_values(schedule, steps, tf, "WarmupSchedule")):
        raise CheckFailed(
            f"a schedule rebuilt from get_config() gives other learning rates than the original.\n"
            f"get_config returned {show(config)}\n"
            "hint      return every argument of __init__ (warmup_steps, target_learning_rate, "
            "initial_learning_rate) so Keras can rebuild the schedule when a model is saved and loaded."
        )
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
    compare(described, _scalar(in_graph, "WarmupSchedule in a graph"), _warmup_rates(warmup, target, step, initial),
            {"step (in a graph)": step}, show_expected=False, rtol=definition.rtol, atol=definition.atol)
    # An Adam optimizer using it: its first update moves each weight by about lr(0) (Adam's first step is ~ lr * sign).
    signs = fresh_rng().choice([-1.0, 1.0], size=4).astype(np.float32)
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
    compare("an Adam step using WarmupSchedule", moved, signs * _warmup_rates(warmup, target, 0, initial),
            {"gradient": signs}, show_expected=False, rtol=1e-3, atol=1e-7)
    passed("WarmupSchedule", len(cases) + 3)


# ---- lesson 06: the training loop -------------------------------------------------------------------------------

# Hints of make_batches' typical mistakes: the self-check finds them from the batches' structure, the grader (where
# it can) from the batch sizes it gets back (:data:`BATCHES_ADAPTER`).
_OVERLAP = ("batch i holds rows i * batch_size up to (i + 1) * batch_size, the end excluded: x[{start}:{stop}]. "
            "Rows must be neither repeated nor skipped.")
_COLUMNS = "take the rows (the first axis) of x: x[start:stop], not x[:, start:stop]."


def _batch_case(rng, n, size, features, label, edge=False):
    x = np.round(rng.normal(size=(n, features)), 3)
    y = rng.permutation(n).astype(np.int64)  # distinct labels: the pairing of x and y is visible
    return Case((x, y, size), {}, label, edge)


def _batch_cases(rng):
    """Random data whose batch size does not divide n (twice) and does, then fixed small ones."""
    cases = []
    for divides in (False, False, True):
        size, count = int(rng.integers(3, 10)), int(rng.integers(3, 8))
        n = size * count if divides else size * count + int(rng.integers(1, size))
        cases.append(_batch_case(rng, n, size, int(rng.integers(2, 5)), f"{n} rows in batches of {size}"))
    return cases + [_batch_case(rng, n, size, features, f"{n} rows in batches of {size}", edge=True)
                    for n, size, features in [(5, 2, 3), (3, 10, 2), (6, 6, 1), (7, 1, 3)]]


def _make_batches(x, y, batch_size):
    """The adapter's three values: the batch sizes, and the x rows and the labels, batch after batch."""
    sizes = [min(batch_size, len(x) - start) for start in range(0, len(x), batch_size)]
    return sizes, x, y


def _batches_mistakes(x, y, batch_size):
    """The grader's view (the batch sizes): batches that overlap by one row."""
    sizes = [min(batch_size + 1, len(x) - start) for start in range(0, len(x), batch_size)]
    return [Mistake(_OVERLAP.format(start=0, stop=batch_size), sizes)]


BATCHES_ADAPTER = """
def adapt(make_batches):
    def call(x, y, batch_size):
        pairs = [tuple(pair) for pair in make_batches(x, y, batch_size)]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise TypeError("expected a list of (x_batch, y_batch) pairs")
        sizes = [len(xb) for xb, _ in pairs]
        return (sizes, numpy.concatenate([numpy.asarray(xb) for xb, _ in pairs]),
                numpy.concatenate([numpy.asarray(yb) for _, yb in pairs]))
    return call
"""

MAKE_BATCHES = Exercise("make_batches", _batch_cases, _make_batches, ("x", "y", "batch_size"), _batches_mistakes,
                        rtol=0, atol=1e-12, returns=3, adapter=BATCHES_ADAPTER,
                        parts=("the batch sizes", "the x rows, batch after batch", "the labels, batch after batch"),
                        points=2)


def _one_hot_cases(rng):
    """Random integer labels, float labels (3.0), labels that miss the top class; n != num_classes; fixed ones."""
    cases = []
    for kind in ("integer", "float", "missing top class"):
        k = int(rng.integers(3, 12))
        n = int(rng.choice([m for m in range(4, 13) if m != k]))  # n != k: a transposed answer has another shape
        top = k - 1 if kind == "missing top class" else k
        labels = rng.integers(0, top, size=n)
        labels[0] = top - 1  # the largest label present is top - 1
        labels = labels.astype(np.float32) if kind == "float" else labels.astype(np.int64)
        cases.append(Case((labels, k), {}, f"{n} random labels ({kind}), {k} classes"))
    return cases + [Case((np.array([0, 2, 1]), 3), {}, "three labels", edge=True),
                    Case((np.array([4.0, 0.0]), 6), {}, "float labels, a class that never occurs", edge=True),
                    Case((np.array([3]), 4), {}, "a single label", edge=True)]


def _one_hot(labels, num_classes):
    return np.eye(num_classes)[np.asarray(labels).astype(np.int64)]


def _one_hot_mistakes(labels, num_classes):
    index = np.asarray(labels).astype(np.int64)
    return [Mistake("class c sets column c, counting from 0 (label 0 is the first column).",
                    np.eye(num_classes)[(index - 1) % num_classes]),
            Mistake("each row is all zeros except a single 1 in the label's column.", 1.0 - np.eye(num_classes)[index])]


def _one_hot_shape(got, expected):
    n, k = expected
    if got == (k, n):
        return "the axes are swapped: one ROW per label, one column per class."
    if len(got) == 2 and got[0] == n:
        return "use num_classes columns, even when the largest class does not appear among the labels (not " \
               "labels.max() + 1)."
    if got == (n,):
        return "that is one number per label; one_hot returns a row of num_classes numbers per label."
    return "one row per label and one column per class: shape (len(labels), num_classes)."


ONE_HOT = Exercise("one_hot", _one_hot_cases, _one_hot, ("labels", "num_classes"), _one_hot_mistakes,
                   rtol=0, atol=1e-12, crash_hints=(("used as indices must be of integer", _FLOAT_LABELS),
                                                    ("only integers, slices", _FLOAT_LABELS)),
                   shape_hint=_one_hot_shape, points=2)


def _train_step_cases(rng):
    """Two random small softmax models (the grader's weights) and batches in which every class appears."""
    cases = []
    for _ in range(2):
        features, classes, n = int(rng.integers(3, 7)), int(rng.integers(3, 6)), int(rng.integers(6, 12))
        shapes = [(features, 8), (8,), (8, classes), (classes,)]
        weights = [(rng.normal(size=shape) * 0.6).astype(np.float32) for shape in shapes]
        x = rng.normal(size=(n, features)).astype(np.float32)
        y = rng.integers(0, classes, size=n).astype(np.int64)
        y[:classes] = rng.permutation(classes)  # every class appears
        cases.append(Case((*weights, x, y, float(np.round(rng.uniform(0.05, 0.5), 3))), {},
                          f"a batch of {n} with {features} features and {classes} classes"))
    return cases


def _forward(w1, b1, w2, b2, x):
    """The hidden activations, the softmax probabilities, and their logs computed from the logits."""
    hidden = np.maximum(x @ w1 + b1, 0.0)
    logits = hidden @ w2 + b2
    shifted = logits - logits.max(-1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return hidden, np.exp(log_probabilities), log_probabilities


def _mean_sparse_crossentropy(log_probabilities, y):
    """Keras' loss of a softmax layer's output: it reads the logits behind the softmax, so nothing is clipped
    (a true-class probability of 1e-10 costs 23.0, not the 16.1 of a clipped plain probability)."""
    return float(np.mean(-log_probabilities[np.arange(len(y)), y]))


def _train_step(w1, b1, w2, b2, x, y, learning_rate):
    """Forward, mean sparse categorical cross-entropy, backward by hand, one SGD step (float64)."""
    w1, b1, w2, b2, x = (np.asarray(a, dtype=np.float64) for a in (w1, b1, w2, b2, x))
    hidden, probabilities, log_probabilities = _forward(w1, b1, w2, b2, x)
    d_logits = (probabilities - np.eye(w2.shape[1])[y]) / len(y)
    d_hidden = (d_logits @ w2.T) * (hidden > 0)
    grads = [x.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_logits, d_logits.sum(0)]
    return (_mean_sparse_crossentropy(log_probabilities, y),
            *[w - learning_rate * g for w, g in zip((w1, b1, w2, b2), grads)])


def _train_step_mistakes(w1, b1, w2, b2, x, y, learning_rate):
    before = [np.asarray(w, dtype=np.float64) for w in (w1, b1, w2, b2)]
    loss, *after = _train_step(w1, b1, w2, b2, x, y, learning_rate)
    steps = [a - b for a, b in zip(after, before)]  # -learning_rate * gradient
    found = [
        Mistake("you summed the per-sample losses; return their mean over the batch (keras.ops.mean).", loss * len(y)),
        Mistake("the loss is negative: cross-entropy is MINUS the log-probability of the true class.", -loss),
        Mistake("return the loss of this step, computed before the update (before apply_gradients).",
                _mean_sparse_crossentropy(_forward(*after, np.asarray(x, dtype=np.float64))[2], y)),
    ]
    moved = [
        ("the weights did not change: apply the gradients with "
         "optimizer.apply_gradients(zip(gradients, model.trainable_variables)).", before),
        ("the weights moved uphill (gradient ascent): pass the gradients themselves to apply_gradients, not their "
         "negatives.", [b - s for b, s in zip(before, steps)]),
        ("the step is batch-size times too large: take the mean of the per-sample losses, not their sum, inside the "
         "tape.", [b + len(y) * s for b, s in zip(before, steps)]),
    ]
    return found + [Mistake(hint, value, part) for hint, values in moved for part, value in enumerate(values, 1)]


# The learner's train_step gets a small softmax model and a plain SGD optimizer built from the grader's weights.
TRAIN_STEP_ADAPTER = """
def adapt(train_step):
    def call(w1, b1, w2, b2, x, y, learning_rate):
        import keras
        import tensorflow as tf
        model = keras.Sequential([keras.Input(shape=(w1.shape[0],)), keras.layers.Dense(w1.shape[1], activation="relu"),
                                  keras.layers.Dense(w2.shape[1], activation="softmax")])
        model.set_weights([w1, b1, w2, b2])
        loss = train_step(model, keras.optimizers.SGD(learning_rate=learning_rate), tf.constant(x), tf.constant(y))
        return (float(loss), *[numpy.asarray(w) for w in model.get_weights()])
    return call
"""

TRAIN_STEP = Exercise(
    "train_step", _train_step_cases, _train_step, ("w1", "b1", "w2", "b2", "x", "y", "learning_rate"),
    _train_step_mistakes, rtol=1e-4, atol=1e-6, returns=5, adapter=TRAIN_STEP_ADAPTER,
    parts=("the loss train_step returned", "the hidden weights after train_step", "the hidden biases after train_step",
           "the output weights after train_step", "the output biases after train_step"),
    crash_hints=_CRASH_HINTS[1:], points=3)


# The learner's model gets the grader's weights; a wrong architecture cannot take them.
BUILD_MODEL_ADAPTER = """
def adapt(build_digits_model):
    def call(w1, b1, w2, b2, x, y):
        model = build_digits_model()
        model.set_weights([w1, b1, w2, b2])
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        return (float(model.count_params()), numpy.asarray(model.predict(x, verbose=0)), float(logs["loss"]),
                float(type(model.optimizer).__name__ == "Adam"), float(model.optimizer.learning_rate),
                float(any("accuracy" in key for key in logs)))
    return call
"""


def _build_model_cases(rng):
    shapes = [(64, 512), (512,), (512, 10), (10,)]
    weights = [(rng.normal(size=shape) * 0.08).astype(np.float32) for shape in shapes]
    x = rng.uniform(0, 1, size=(40, 64)).astype(np.float32)
    return [Case((*weights, x, rng.integers(0, 10, size=40)), {}, "the grader's weights and 40 random images")]


def _digits_model(w1, b1, w2, b2, x, y):
    _, probabilities, log_probabilities = _forward(*(np.asarray(a, dtype=np.float64) for a in (w1, b1, w2, b2, x)))
    return 38_410, probabilities, _mean_sparse_crossentropy(log_probabilities, y), 1.0, 0.001, 1.0


BUILD_DIGITS_MODEL = Exercise(
    "build_digits_model", _build_model_cases, _digits_model, ("w1", "b1", "w2", "b2", "x", "y"),
    rtol=1e-4, atol=1e-6, returns=6, adapter=BUILD_MODEL_ADAPTER,
    parts=("the number of parameters", "the probabilities it predicts", "the loss it is compiled with",
           "the optimizer being Adam", "the optimizer's learning rate", "reporting accuracy"), points=2)

# train_digits trains the lesson's model on a split of the digits made with the case's shuffle, then labels
# held-out images it never saw. The grader builds the model itself (a wrong build_digits_model costs nothing twice).
TRAIN_DIGITS_ADAPTER = """
def adapt(train_digits):
    def call(order, train_count, val_count):
        import keras
        from course_utils.data import Split, load_digits
        keras.utils.set_random_seed(0)
        digits = load_digits()
        x = numpy.concatenate([digits.x_train, digits.x_val])[order]
        y = numpy.concatenate([digits.y_train, digits.y_val])[order]
        end = train_count + val_count
        split = Split(x[:train_count], y[:train_count], x[train_count:end], y[train_count:end])
        model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        trained = train_digits(model, split)
        return numpy.argmax(numpy.asarray(trained.predict(x[end:], verbose=0)), axis=-1)
    return call
"""
DIGITS_REQUIRED = 0.88  # on 300 held-out images: the model answer got 0.92-0.99 on 8 shuffles; no training ~0.1


def _train_digits_cases(rng):
    return [Case((rng.permutation(1797), 1437, 60), {}, "1437 training images, 300 held-out images")]


def _digits_split(case: Case):
    """The case's split (the data :data:`TRAIN_DIGITS_ADAPTER` trains on) and the held-out images and labels."""
    from course_utils.data import Split, load_digits

    order, train_count, val_count = case.args
    digits = load_digits()
    x = np.concatenate([digits.x_train, digits.x_val])[order]
    y = np.concatenate([digits.y_train, digits.y_val])[order]
    end = train_count + val_count
    return Split(x[:train_count], y[:train_count], x[train_count:end], y[train_count:end]), x[end:], y[end:]


def _held_out_accuracy(case: Case, values: list[np.ndarray]) -> str | None:
    """Why the labels ``values[0]`` of the held-out images fail the exercise (``None``: they pass)."""
    truth = _digits_split(case)[2]
    if values[0].shape != truth.shape:
        return f"the trained model labelled {values[0].size} held-out images, expected {truth.size}."
    accuracy = float(np.mean(values[0] == truth))
    if accuracy < DIGITS_REQUIRED:
        return (f"the trained model labels {accuracy:.1%} of {truth.size} held-out images right; at least "
                f"{DIGITS_REQUIRED:.0%} is needed.")
    return None


TRAIN_DIGITS = Exercise("train_digits", _train_digits_cases, None, ("order", "train_count", "val_count"),
                        adapter=TRAIN_DIGITS_ADAPTER, verdict=_held_out_accuracy, points=3)

LESSON_06 = (MAKE_BATCHES, ONE_HOT, TRAIN_STEP, BUILD_DIGITS_MODEL, TRAIN_DIGITS)


# ---- the learner's checks of lesson 06 ---------------------------------------------------------------------------

check_one_hot = check_for(
    ONE_HOT, "Check a learner's numpy ``one_hot(labels, num_classes)``: shape ``(len(labels), num_classes)``, one 1 "
    "per row; labels may arrive as floats.")


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

    The cases and the right batches are :data:`MAKE_BATCHES`'; this check looks at the batches themselves
    (their number, their rows, the labels that go with them) to name the mistake. The last batch is smaller
    when ``batch_size`` does not divide ``n``; nothing is shuffled, dropped or repeated.
    """
    cases = MAKE_BATCHES.cases(fresh_rng())
    for case in cases:
        (x, y, size), _ = case.grader_args()
        n, show_expected = len(x), not case.edge
        batches = _pairs(_call(make_batches, "make_batches", x, y, size), "make_batches")
        sizes, want_xs, want_ys = MAKE_BATCHES.expected(case)
        head = f"make_batches(x, y, batch_size={size}) with n = {n} rows"
        if len(batches) != len(sizes):
            lines = [f"{head} gave {len(batches)} batches."]
            if show_expected:
                lines.append(f"expected  {len(sizes)} batches (steps per epoch = ceil(n / batch_size))")
            if len(batches) == n // size:
                lines.append(f"hint      you dropped the last, smaller batch: it holds the {n % size} leftover rows.")
            elif len(batches) == n:
                lines.append("hint      one batch per row: step through the rows with range(0, n, batch_size).")
            else:
                lines.append("hint      there is one batch per batch_size rows, plus one for any leftover rows.")
            raise CheckFailed("\n".join(lines))
        for i, (xb, yb) in enumerate(batches):
            start = sum(sizes[:i])
            stop = start + sizes[i]
            want_x, want_y = want_xs[start:stop], want_ys[start:stop]
            problem, show_rows = None, True
            if xb.shape != want_x.shape:
                show_rows = False
                problem = f"batch {i} has x_batch of shape {xb.shape}, expected {want_x.shape}."
                hint = _OVERLAP.format(start=start, stop=stop)
                if xb.ndim == 2 and xb.shape[0] == n and n != stop - start:
                    hint = _COLUMNS
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


def _tiny_model(keras, weights):
    model = keras.Sequential([
        keras.Input(shape=(weights[0].shape[0],)),
        keras.layers.Dense(weights[0].shape[1], activation="relu"),
        keras.layers.Dense(weights[2].shape[1], activation="softmax"),
    ])
    model.set_weights(weights)
    return model


def _flat(model):
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in model.get_weights()])


@exercise("train_step")
def check_train_step(train_step):
    """Check a learner's ``train_step(model, optimizer, x, y)`` with ``tf.GradientTape``.

    For each of :data:`TRAIN_STEP`'s cases a small softmax model gets the case's weights and an SGD optimizer
    its learning rate; the returned loss and the weights after the step must match the numpy reference (sparse
    categorical cross-entropy, mean over the batch, one gradient-descent step).
    """
    keras, tf = _keras()
    definition = TRAIN_STEP
    cases = definition.cases(fresh_rng())
    for case in cases:
        (*weights, x, y, learning_rate), _ = case.grader_args()
        model = _tiny_model(keras, weights)
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
        result = _call(train_step, "train_step", model, optimizer, tf.constant(x), tf.constant(y),
                       described=f"train_step(model, optimizer, x, y) with x of shape {x.shape} and y = {show(y)}",
                       hints=definition.crash_hints)
        if result is None:
            raise CheckFailed("train_step returned None: return the batch's loss (the mean over the batch).")
        values = [_scalar(result, "train_step"), *model.get_weights()]
        probabilities = _forward(*(np.asarray(a, dtype=np.float64) for a in (*weights, x)))[1]
        shown = [{"y": y, "model output (probabilities)": np.round(probabilities, 4)}] + 4 * [
            {"x": _Text(f"an array of shape {x.shape}"), "y": y,
             "optimizer": _Text(f"SGD(learning_rate={learning_rate})")}]
        mistakes = definition.mistakes_on(case)
        for index, (value, want) in enumerate(zip(values, definition.expected(case))):
            compare(definition.parts[index], np.asarray(value, dtype=np.float64), want, shown[index],
                    [(m.hint, m.value) for m in mistakes if m.part == index], show_expected=not case.edge,
                    rtol=definition.rtol, atol=definition.atol)
    passed("train_step", text=f"loss and updated weights match the reference on {len(cases)} fresh random batches")


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
    """Check a learner's ``build_digits_model()``: the lesson's compiled digits classifier (38,410 parameters).

    The model's structure first (each wrong layer, activation, loss or optimizer named), then
    :data:`BUILD_DIGITS_MODEL`'s cases as the grader runs them: the model with the case's weights must
    predict and evaluate like the numpy reference.
    """
    keras, _ = _keras()
    model = _call(build_digits_model, "build_digits_model")
    _check_digits_model(keras, model, "build_digits_model")
    again = _call(build_digits_model, "build_digits_model")
    if again is model:
        raise CheckFailed(
            "build_digits_model returned the same model object twice; build a new model inside the function "
            "on every call, so each training run starts fresh."
        )
    definition = BUILD_DIGITS_MODEL
    run = adapted(definition, build_digits_model)
    for case in definition.cases(fresh_rng()):
        args, kwargs = case.learner_args()
        values = _call(run, "build_digits_model", *args, described="build_digits_model() given the check's weights",
                       **kwargs)
        for index, (value, want) in enumerate(zip(values, definition.expected(case))):
            compare(f"{definition.parts[index]} (build_digits_model)", np.asarray(value, dtype=np.float64), want,
                    {"x": _Text(f"an array of shape {args[4].shape}"), "y": args[5]}, show_expected=not case.edge,
                    rtol=definition.rtol, atol=definition.atol)
    passed("build_digits_model", text="38,410 parameters, softmax output, Adam, sparse categorical "
           "cross-entropy, accuracy")


@exercise("train_digits")
def check_train_digits(build_digits_model, train_digits, *, seed=0):
    """Check a learner's ``train_digits(model, split)``: the check measures the accuracy itself.

    It seeds everything, builds a model with ``build_digits_model()``, lets ``train_digits`` train it on the
    split of :data:`TRAIN_DIGITS`' case (a fresh shuffle of ``course_utils.data.load_digits()``) and judges the
    labels it gives the held-out images the way the grader does (:data:`DIGITS_REQUIRED` of them right).
    """
    from course_utils.keras_tools import make_deterministic

    keras, _ = _keras()
    make_deterministic(seed)
    case = TRAIN_DIGITS.cases(fresh_rng())[0]
    split, x_held, y_held = _digits_split(case)
    model = _call(build_digits_model, "build_digits_model")
    _check_digits_model(keras, model, "build_digits_model")
    before = _flat(model)
    started = time.perf_counter()
    result = _call(train_digits, "train_digits", model, split, described="train_digits(model, split)")
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

    def labels(x):
        return np.argmax(np.asarray(result.predict(x, verbose=0)), axis=-1)

    held = labels(x_held)
    accuracy = float(np.mean(held == y_held))
    val_accuracy = float(np.mean(labels(split.x_val) == split.y_val))
    train_accuracy = float(np.mean(labels(split.x_train) == split.y_train))
    # a model that learned the validation images: only 60 of them, so a clear margin (and a model that learned)
    if val_accuracy >= 0.85 and val_accuracy > max(train_accuracy, accuracy) + 0.05:
        raise CheckFailed(
            f"the validation accuracy ({val_accuracy:.3f}) is clearly above the training accuracy "
            f"({train_accuracy:.3f}): did you train on split.x_val? Train on split.x_train and split.y_train; "
            "the validation images are for measuring."
        )
    verdict = TRAIN_DIGITS.verdict(case, [held])
    if verdict:
        hint = ("that is close to guessing (0.1): the model hardly learned. A far-too-high learning rate "
                "(keep Adam's default 0.001) or far too few epochs?" if accuracy < 0.3 else
                "train a little longer (about 10 epochs, batch_size=32) with Adam's default learning rate.")
        raise CheckFailed(f"after train_digits {verdict}\nhint      {hint}")
    note = f" (training took about {seconds:.0f} s: a few epochs are enough here)" if seconds > 30 else ""
    passed("train_digits", text=f"{accuracy:.1%} of {len(y_held)} held-out images right, at least "
           f"{DIGITS_REQUIRED:.0%} needed{note}")
