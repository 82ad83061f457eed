"""Checks of exercises 05-06: the case tables (reference, typical wrong answers) that test_check_honesty.py
runs, and the tests specific to these checks (wrong types, edge cases never revealed, ...)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from course_utils import data, schedules
from course_utils.checks.engine import CheckFailed
from course_utils.checks.training import (
    check_build_digits_model,
    check_exponential_decay,
    check_make_batches,
    check_one_hot,
    check_piecewise_constant,
    check_train_digits,
    check_train_step,
    check_warmup_cosine,
    check_warmup_schedule,
)

# ------------------------------------------------------------------------------------------------------------------
# References and typical wrong answers of the numpy exercises
# ------------------------------------------------------------------------------------------------------------------


# The model answers are numpy, as a learner's must be: an answer that calls course_utils' own schedules or
# batches fails as delegating (course_utils.checks.uses). test_references_agree_with_course_utils compares them.


def exponential_reference(step, initial, decay_steps, rate, staircase=False):
    p = np.asarray(step, dtype=np.float64) / decay_steps
    return initial * rate ** (np.floor(p) if staircase else p)


def piecewise_reference(step, boundaries, values):
    return np.asarray(values, dtype=np.float64)[np.searchsorted(boundaries, step, side="left")]


def cosine_reference(step, warmup, peak, decay, alpha=0.0):
    s = np.asarray(step, dtype=np.float64)
    t = np.clip(s - warmup, 0, decay) / decay
    return np.where(s < warmup, peak * s / warmup, peak * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * t)) + alpha))


def batches_reference(x, y, size):
    return [(x[start:start + size], y[start:start + size]) for start in range(0, len(x), size)]


@pytest.mark.parametrize("steps", [np.arange(0, 5000, 37), np.array([0, 999, 1000, 1001, 2000, 3000, 3001])])
def test_references_agree_with_course_utils(steps):
    np.testing.assert_allclose(exponential_reference(steps, 0.1, 1000, 0.9, True),
                               schedules.exponential_decay(0.1, 1000, 0.9, True)(steps), rtol=1e-6)
    np.testing.assert_allclose(exponential_reference(steps, 0.1, 1000, 0.9),
                               schedules.exponential_decay(0.1, 1000, 0.9)(steps), rtol=1e-6)
    np.testing.assert_allclose(piecewise_reference(steps, [1000, 2000, 3000], [0.1, 0.01, 0.001, 1e-4]),
                               schedules.piecewise_constant([1000, 2000, 3000], [0.1, 0.01, 0.001, 1e-4])(steps),
                               rtol=1e-6)
    np.testing.assert_allclose(cosine_reference(steps, 100, 0.1, 2000, 0.1),
                               schedules.cosine_decay(0.0, 2000, 0.1, warmup_target=0.1, warmup_steps=100)(steps),
                               rtol=1e-5, atol=1e-9)
    x, y = np.arange(21).reshape(7, 3), np.arange(7)
    for (xb, yb), (xr, yr) in zip(batches_reference(x, y, 3), data.batches(x, y, 3, shuffle=False), strict=True):
        np.testing.assert_array_equal(xb, xr)
        np.testing.assert_array_equal(yb, yr)


def one_hot_reference(labels, k):
    return np.eye(k)[np.asarray(labels).astype(int)]


def piecewise_loop(step, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if step <= boundary:
            return value
    return values[-1]


def exponential_math_floor(step, initial, decay_steps, rate, staircase=False):
    """Works for one step only: math.floor takes one number."""
    exponent = step / decay_steps
    if staircase:
        exponent = math.floor(exponent)
    return initial * rate**exponent


def exponential_python_if(step, initial, decay_steps, rate, staircase=False):
    """Works for one step only: a Python `if` on the step."""
    if step < decay_steps and staircase:
        return initial
    return initial * rate ** (np.floor(step / decay_steps) if staircase else step / decay_steps)


def cosine_keras(step, warmup, peak, decay, alpha=0.0):
    """Keras' own schedule in the numpy exercise."""
    return keras.optimizers.schedules.CosineDecay(0.0, decay, alpha, warmup_target=peak, warmup_steps=warmup)(step)


def cosine_with(step, warmup, peak, decay, alpha=0.0, *, offset=True, clamp=True, absolute_alpha=False, half=0.5,
                ramp_shift=0):
    s = np.asarray(step, dtype=float)
    t = (s - warmup if offset else s) / decay
    t = np.minimum(t, 1.0) if clamp else t
    if absolute_alpha:
        after = (peak - alpha) * half * (1 + np.cos(np.pi * t)) + alpha
    else:
        after = peak * ((1 - alpha) * half * (1 + np.cos(np.pi * t)) + alpha)
    return np.where(s < warmup, peak * np.minimum((s + ramp_shift) / warmup, 1.0), after)


def batches_with(x, y, size, *, drop_last=False, extra=0, shuffle=False, y_shift=0, columns=False):
    if shuffle:
        order = np.random.default_rng(1).permutation(len(x))
        x, y = x[order], y[order]
    stop = len(x) - len(x) % size if drop_last else len(x)
    if columns:
        return [(x[:, s : s + size], y[s : s + size]) for s in range(0, stop, size)]
    return [(x[s : s + size + extra], y[s + y_shift : s + size + y_shift]) for s in range(0, stop, size)]



def stub(*args, **kwargs):
    raise NotImplementedError("write your answer here")

CASES = {
    # name: (check, reference, [(mutant, words in the message), ...])
    "exponential_decay": (check_exponential_decay, exponential_reference, [
        (lambda step, lr, ds, r, staircase=False: lr * r ** (np.asarray(step) / ds), "ignored staircase"),
        (lambda step, lr, ds, r, staircase=False: lr * r ** np.floor(np.asarray(step) / ds), "although staircase"),
        (lambda step, lr, ds, r, staircase=False: lr * r ** (ds / np.asarray(step, dtype=float)), "other way round"),
        (lambda step, lr, ds, r, staircase=False: lr * r ** np.asarray(step, dtype=float), "once every"),
        (lambda step, lr, ds, r, staircase=False: lr * r ** (np.round(np.asarray(step) / ds) if staircase
                                                             else np.asarray(step) / ds), "DOWN"),
        (lambda step, lr, ds, r, staircase=False: lr * r ** (np.ceil(np.asarray(step) / ds) if staircase
                                                             else np.asarray(step) / ds), "not up"),
        (lambda step, lr, ds, r, staircase=False: lr * r ** (np.floor((np.asarray(step) + 1) / ds) if staircase
                                                             else (np.asarray(step) + 1) / ds), "off by one"),
        (lambda step, lr, ds, r, staircase=False: lr * r * (np.floor(np.asarray(step) / ds) if staircase
                                                            else np.asarray(step) / ds), "is a power"),
        (exponential_math_floor, "must accept arrays"),
        (exponential_python_if, "must accept arrays"),
    ]),
    "piecewise_constant": (check_piecewise_constant, piecewise_reference, [
        (lambda step, b, v: np.asarray(v)[np.searchsorted(b, step, side="right")], "EARLIER"),
        (lambda step, b, v: np.asarray(v)[np.minimum(np.searchsorted(b, step), len(b) - 1)], "values[-1]"),
        (lambda step, b, v: np.asarray(v)[np.searchsorted(b, step) - 1], "one too low"),
        (piecewise_loop, "Python `if`"),
        (lambda step, b, v: np.asarray(v)[np.minimum(np.searchsorted(b, step) + 1, len(b))], "one too high"),
    ]),
    "warmup_cosine": (check_warmup_cosine, cosine_reference, [
        (lambda *a, alpha=0.0: cosine_with(*a, alpha, offset=False), "AFTER the warmup"),
        (lambda *a, alpha=0.0: cosine_with(*a, alpha, clamp=False), "climbs back up"),
        (lambda *a, alpha=0.0: cosine_with(*a, alpha, absolute_alpha=True), "FRACTION"),
        (lambda *a, alpha=0.0: cosine_with(*a, alpha, half=1.0), "left out the 0.5"),
        (lambda *a, alpha=0.0: cosine_with(*a, alpha, ramp_shift=1), "ramps from 0"),
        (cosine_keras, "an existing implementation"),
    ]),
    "make_batches": (check_make_batches, batches_reference, [
        (lambda x, y, b: batches_with(x, y, b, drop_last=True), "dropped the last"),
        (lambda x, y, b: batches_with(x, y, b, extra=1), "end excluded"),
        (lambda x, y, b: batches_with(x, y, b, shuffle=True), "does not shuffle"),
        (lambda x, y, b: batches_with(x, y, b, y_shift=1), "same start and stop"),
        (lambda x, y, b: batches_with(x, y, b, columns=True), "first axis"),
        (lambda x, y, b: [x[s : s + b] for s in range(0, len(x), b)], "pair"),
    ]),
    "one_hot": (check_one_hot, one_hot_reference, [
        (lambda labels, k: np.eye(k)[labels], "astype(int)"),
        (lambda labels, k: one_hot_reference(labels, k).T, "swapped"),
        (lambda labels, k: one_hot_reference(labels, int(np.max(labels)) + 1), "labels.max()"),
        (lambda labels, k: tf.one_hot(np.asarray(labels).astype(int), k), "an existing implementation"),
        (lambda labels, k: np.asarray(labels), "one number per label"),
        (lambda labels, k: np.eye(k)[(np.asarray(labels).astype(int) - 1) % k], "counting from 0"),
        (lambda labels, k: 1 - one_hot_reference(labels, k), "all zeros except"),
    ]),
}


@pytest.mark.parametrize("bad, words", [
    (lambda *a, **k: None, "return"),
    (lambda *a, **k: "0.1", "str"),
    (lambda step, lr, ds, r, staircase=False: tf.constant(exponential_reference(step, lr, ds, r, staircase)),
     "an existing implementation"),  # numpy only: calling TensorFlow at all counts, as when graded
    (lambda step, lr, ds, r, staircase=False: np.atleast_1d(exponential_reference(step, lr, ds, r, staircase))[:1],
     "shape"),
    (lambda step: step, "TypeError"),
    (0.1, "should be a function"),
])
def test_wrong_types_get_a_clear_message(bad, words):
    with pytest.raises(CheckFailed) as info:
        check_exponential_decay(bad)
    assert words in str(info.value)


def test_expected_values_of_fixed_edge_cases_are_never_shown():
    """Only fresh random inputs reveal their expected value; fixed edge cases never do."""
    calls = []
    randoms = sum(not case.edge for case in check_exponential_decay.definition.cases(np.random.default_rng()))
    assert randoms >= 3

    def wrong_on_edges(step, *args, **kwargs):
        calls.append(1)
        result = exponential_reference(step, *args, **kwargs)
        return result if len(calls) <= randoms else result * 1.5  # right on the random cases, wrong afterwards

    with pytest.raises(CheckFailed) as info:
        check_exponential_decay(wrong_on_edges)
    assert "expected" not in str(info.value) and "got" in str(info.value)


def test_make_batches_accepts_a_generator_and_tuples_of_lists(capsys):
    check_make_batches(lambda x, y, b: ((x[s : s + b].tolist(), y[s : s + b]) for s in range(0, len(x), b)))
    assert capsys.readouterr().out.startswith("✓")


# ------------------------------------------------------------------------------------------------------------------
# WarmupSchedule: a Keras LearningRateSchedule subclass
# ------------------------------------------------------------------------------------------------------------------


class WarmupReference(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, warmup_steps, target_learning_rate, initial_learning_rate=0.0):
        self.warmup_steps = warmup_steps
        self.target_learning_rate = target_learning_rate
        self.initial_learning_rate = initial_learning_rate

    def __call__(self, step):
        fraction = ops.minimum(ops.cast(step, "float32") / self.warmup_steps, 1.0)
        return self.initial_learning_rate + (self.target_learning_rate - self.initial_learning_rate) * fraction

    def get_config(self):
        return {"warmup_steps": self.warmup_steps, "target_learning_rate": self.target_learning_rate,
                "initial_learning_rate": self.initial_learning_rate}


def warmup_variant(call=None, get_config=None):
    namespace = {}
    if call is not None:
        namespace["__call__"] = call
    if get_config is not None:
        namespace["get_config"] = get_config
    return type("WarmupSchedule", (WarmupReference,), namespace)


def _ramp(self, step, clamp=True, shift=0.0, use_initial=True, divisor_shift=0.0):
    fraction = (ops.cast(step, "float32") + shift) / (self.warmup_steps + divisor_shift)
    fraction = ops.minimum(fraction, 1.0) if clamp else fraction
    start = self.initial_learning_rate if use_initial else 0.0
    return start + (self.target_learning_rate - start) * fraction


def _integer_division(self, step):
    fraction = ops.minimum(ops.cast(step // self.warmup_steps, "float32"), 1.0)
    return self.initial_learning_rate + (self.target_learning_rate - self.initial_learning_rate) * fraction


def _climbs_by_target(self, step):
    fraction = ops.minimum(ops.cast(step, "float32") / self.warmup_steps, 1.0)
    return self.initial_learning_rate + self.target_learning_rate * fraction


def _python_if(self, step):
    if step < self.warmup_steps:
        return self.initial_learning_rate + (self.target_learning_rate - self.initial_learning_rate) * ops.cast(
            step, "float32") / self.warmup_steps
    return ops.convert_to_tensor(self.target_learning_rate, "float32")


def _numpy(self, step):
    fraction = np.minimum(np.asarray(step, dtype=np.float32) / self.warmup_steps, 1.0)
    return np.float32(self.initial_learning_rate + (self.target_learning_rate - self.initial_learning_rate) * fraction)


def _no_cast(self, step):
    return self.initial_learning_rate + (self.target_learning_rate - self.initial_learning_rate) * step / self.warmup_steps


class StubSchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, warmup_steps, target_learning_rate, initial_learning_rate=0.0):
        raise NotImplementedError("store the three arguments")


class NotASchedule:
    def __init__(self, warmup_steps, target_learning_rate, initial_learning_rate=0.0):
        pass


WARMUP_MUTANTS = [
    (warmup_variant(call=lambda self, step: _ramp(self, step, clamp=False)), "keeps growing"),
    (warmup_variant(call=lambda self, step: _ramp(self, step, use_initial=False)), "ignored initial_learning_rate"),
    (warmup_variant(call=lambda self, step: _ramp(self, step, shift=1.0)), "off by one"),
    (warmup_variant(call=_python_if), "inside model.fit"),
    (warmup_variant(call=lambda self, step: _ramp(self, step, divisor_shift=-1.0)), "one step earlier"),
    (warmup_variant(call=_integer_division), "integer division"),
    (warmup_variant(call=_climbs_by_target), "climbs by (target - initial)"),
    (warmup_variant(call=_numpy), "keras.ops"),
    (warmup_variant(call=_no_cast), "keras.ops.cast"),
    (warmup_variant(get_config=lambda self: {"warmup_steps": self.warmup_steps,
                                             "target_learning_rate": self.target_learning_rate}),
     "every argument of __init__"),
    (warmup_variant(get_config=lambda self: {"steps": self.warmup_steps, "target": self.target_learning_rate,
                                             "initial": self.initial_learning_rate}), "names of __init__"),
    (warmup_variant(get_config=lambda self: [self.warmup_steps]), "dict"),
    (warmup_variant(get_config=keras.optimizers.schedules.LearningRateSchedule.get_config), "not written yet"),
    (NotASchedule, "must subclass"),
    (WarmupReference(10, 0.1), "should be a class"),
]


def test_warmup_schedule_reference_passes(capsys):
    check_warmup_schedule(WarmupReference)
    assert capsys.readouterr().out.startswith("✓")


def test_warmup_schedule_unfilled_stub_fails():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_warmup_schedule(StubSchedule)


@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.parametrize("mutant, words", WARMUP_MUTANTS, ids=lambda v: v if isinstance(v, str) else "")
def test_warmup_schedule_wrong_answers_fail_with_a_hint(mutant, words, repeat):
    with pytest.raises(CheckFailed) as info:
        check_warmup_schedule(mutant)
    assert words.lower() in str(info.value).lower(), f"{words!r} not in: {info.value}"


def test_warmup_schedule_replayed_from_an_earlier_run_fails(capsys):
    recorded = []

    class Recorder(WarmupReference):
        def __call__(self, step):
            value = super().__call__(step)
            if tf.executing_eagerly():
                recorded.append(float(value))
            return value

    check_warmup_schedule(Recorder)
    replay = iter(list(recorded))

    class Replay(WarmupReference):
        def __call__(self, step):
            return next(replay)

    with pytest.raises(CheckFailed):
        check_warmup_schedule(Replay)


# ------------------------------------------------------------------------------------------------------------------
# train_step with tf.GradientTape
# ------------------------------------------------------------------------------------------------------------------


def step_with(model, optimizer, x, y, *, apply=True, sign=1.0, reduce=ops.mean, loss_fn=None, inside=True,
              from_logits=False):
    loss_fn = loss_fn or keras.losses.sparse_categorical_crossentropy
    if inside:
        with tf.GradientTape() as tape:
            loss = reduce(loss_fn(y, model(x, training=True), from_logits=from_logits))
    else:
        loss = reduce(loss_fn(y, model(x, training=True), from_logits=from_logits))
        with tf.GradientTape() as tape:
            pass
    gradients = tape.gradient(loss, model.trainable_variables)
    if apply:
        if sign != 1.0:
            gradients = [sign * g for g in gradients]
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


def train_step_reference(model, optimizer, x, y):
    return step_with(model, optimizer, x, y)


def loss_after_the_update(model, optimizer, x, y):
    step_with(model, optimizer, x, y)
    return ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(x)))


TRAIN_STEP_MUTANTS = [
    (lambda m, o, x, y: step_with(m, o, x, y, apply=False), "did not change"),
    (lambda m, o, x, y: step_with(m, o, x, y, inside=False), "inside the"),
    (lambda m, o, x, y: step_with(m, o, x, y, loss_fn=keras.losses.categorical_crossentropy), "one-hot"),
    (lambda m, o, x, y: step_with(m, o, x, y, sign=-1.0), "uphill"),
    (lambda m, o, x, y: step_with(m, o, x, y, reduce=ops.sum), "summed"),
    (lambda m, o, x, y: step_with(m, o, x, y, reduce=lambda v: v), "average over the batch"),
    (lambda m, o, x, y: -step_with(m, o, x, y), "negative"),
    (lambda m, o, x, y: None, "return"),
    (loss_after_the_update, "before the update"),
    (lambda m, o, x, y: step_with(m, o, x, y, reduce=ops.sum) / len(y), "batch-size times"),  # the sum in the tape
]


def test_train_step_reference_passes(capsys):
    check_train_step(train_step_reference)
    check_train_step(lambda m, o, x, y: float(train_step_reference(m, o, x, y)))  # a float is fine too
    assert capsys.readouterr().out.count("✓") == 2


def test_train_step_unfilled_stub_fails():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_train_step(stub)


@pytest.mark.parametrize("repeat", range(2))
@pytest.mark.parametrize("mutant, words", TRAIN_STEP_MUTANTS, ids=lambda v: v if isinstance(v, str) else "")
def test_train_step_wrong_answers_fail_with_a_hint(mutant, words, repeat):
    with pytest.raises(CheckFailed) as info:
        check_train_step(mutant)
    assert words.lower() in str(info.value).lower(), f"{words!r} not in: {info.value}"


# ------------------------------------------------------------------------------------------------------------------
# The digits model: build, compile, train
# ------------------------------------------------------------------------------------------------------------------


def digits_model(hidden=512, output_activation="softmax", optimizer="adam", loss="sparse_categorical_crossentropy",
                 metrics=("accuracy",), compile=True):
    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(10, activation=output_activation),
    ])
    if compile:
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


SHARED = digits_model()

BUILD_MUTANTS = [
    (lambda: digits_model(loss="categorical_crossentropy"), "one-hot"),
    (lambda: digits_model(output_activation=None), "softmax"),
    (lambda: digits_model(hidden=128), "512"),
    (lambda: digits_model(compile=False), "not compiled"),
    (lambda: digits_model(optimizer="sgd"), "Adam"),
    (lambda: digits_model(metrics=()), "accuracy"),
    (lambda: digits_model(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)), "from_logits"),
    (lambda: SHARED, "same model"),
    (lambda: None, "return"),
    (lambda: keras.Sequential([keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)]), "keras.Input"),
]


def test_build_digits_model_reference_passes(capsys):
    check_build_digits_model(digits_model)
    check_build_digits_model(lambda: digits_model(optimizer=keras.optimizers.Adam(1e-3),
                                                  loss=keras.losses.SparseCategoricalCrossentropy(),
                                                  metrics=[keras.metrics.SparseCategoricalAccuracy()]))
    assert capsys.readouterr().out.count("✓") == 2


def test_build_digits_model_unfilled_stub_fails():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_build_digits_model(stub)


@pytest.mark.parametrize("mutant, words", BUILD_MUTANTS, ids=lambda v: v if isinstance(v, str) else "")
def test_build_digits_model_wrong_answers_fail_with_a_hint(mutant, words):
    with pytest.raises(CheckFailed) as info:
        check_build_digits_model(mutant)
    assert words.lower() in str(info.value).lower(), f"{words!r} not in: {info.value}"


def train_reference(model, split):
    model.fit(split.x_train, split.y_train, epochs=10, batch_size=32, verbose=0)
    return model


def train_too_fast(model, split):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=5.0), loss="sparse_categorical_crossentropy")
    model.fit(split.x_train, split.y_train, epochs=2, batch_size=32, verbose=0)
    return model


TRAIN_MUTANTS = [
    (lambda model, split: model.fit(split.x_train, split.y_train, epochs=0, verbose=0) and model, "did not change"),
    (lambda model, split: model, "did not change"),
    (train_too_fast, "learning rate"),
    (lambda model, split: model.fit(split.x_train, split.y_train, epochs=1, verbose=0), "History"),
    (lambda model, split: train_reference(model, split) and None, "return"),
    (lambda model, split: model.fit(split.x_val, split.y_val, epochs=20, verbose=0) and model, "x_val"),
]


def test_train_digits_reference_passes(capsys):
    check_train_digits(digits_model, train_reference)
    assert capsys.readouterr().out.startswith("✓ train_digits passed")


def test_train_digits_unfilled_stubs_fail():
    with pytest.raises(CheckFailed, match="train_digits is not written yet"):
        check_train_digits(digits_model, stub)
    with pytest.raises(CheckFailed, match="build_digits_model is not written yet"):
        check_train_digits(stub, stub)


@pytest.mark.parametrize("mutant, words", TRAIN_MUTANTS, ids=lambda v: v if isinstance(v, str) else "")
def test_train_digits_wrong_answers_fail_with_a_hint(mutant, words):
    with pytest.raises(CheckFailed) as info:
        check_train_digits(digits_model, mutant)
    assert words.lower() in str(info.value).lower(), f"{words!r} not in: {info.value}"


# ------------------------------------------------------------------------------------------------------------------
# One definition: the grader judges the same Exercise the self-check runs
# ------------------------------------------------------------------------------------------------------------------


def graded(lesson, name, answer):
    """The grader's feedback per case for ``answer``, its adapter run here instead of in a kernel."""
    from course_utils.checks.definition import adapted
    from course_utils.grade.rubric import judge, rubric_for

    definition = rubric_for(lesson)[f"{name}-check"]
    function, feedback = adapted(definition, answer), []
    for case in definition.cases(np.random.default_rng()):
        args, kwargs = case.learner_args()
        values = function(*args, **kwargs)
        leaves = [{"shape": list(np.shape(v)), "data": np.asarray(v, dtype=float).ravel()}
                  for v in (values if definition.returns else [values])]
        got = {"items": leaves} if definition.returns else {"value": leaves[0]}
        feedback.append(judge(definition, case, definition.expected(case), got))
    return feedback


def test_the_rubric_lists_the_self_checks_definitions():
    from course_utils.checks import training
    from course_utils.grade.rubric import rubric_for

    for lesson, exercises in {"05": training.LESSON_05, "06": training.LESSON_06}.items():
        assert all(rubric_for(lesson)[f"{e.function}-check"] is e for e in exercises)
    assert check_exponential_decay.definition is training.EXPONENTIAL_DECAY
    assert check_one_hot.definition is training.ONE_HOT


@pytest.mark.parametrize("lesson, name, answer, hint", [
    ("05", "exponential_decay", lambda step, lr, ds, r, staircase=False: lr * r ** (np.asarray(step) / ds),
     "ignored staircase"),
    ("05", "WarmupSchedule", WARMUP_MUTANTS[1][0], "ignored initial_learning_rate"),
    ("06", "train_step", lambda m, o, x, y: step_with(m, o, x, y, sign=-1.0), "uphill"),
    ("06", "make_batches", lambda x, y, b: batches_with(x, y, b, extra=1), "end excluded"),
])
def test_the_grader_passes_the_reference_and_names_a_typical_mistake(lesson, name, answer, hint):
    references = {"exponential_decay": exponential_reference, "WarmupSchedule": WarmupReference,
                  "train_step": train_step_reference, "make_batches": batches_reference}
    assert not any(graded(lesson, name, references[name]))
    feedback = [line for line in graded(lesson, name, answer) if line]
    assert feedback and all(hint in line for line in feedback), feedback


def test_train_step_reference_agrees_with_keras_when_a_true_class_probability_is_tiny():
    """Keras reads the logits behind a softmax layer, so a true-class probability under 1e-7 is not clipped to
    1e-7: the reference must not clip either (a clipped reference failed the right answer now and then)."""
    from course_utils.checks.definition import Case, adapted
    from course_utils.checks.training import TRAIN_STEP, _forward

    rng = np.random.default_rng(7)
    shapes = [(4, 8), (8,), (8, 3), (3,)]
    weights = [(rng.normal(size=shape) * (30.0 if shape == (8, 3) else 0.6)).astype(np.float32) for shape in shapes]
    x = rng.normal(size=(6, 4)).astype(np.float32)
    probabilities = _forward(*(w.astype(np.float64) for w in weights), x.astype(np.float64))[1]
    y = np.argmin(probabilities, axis=-1)  # the least likely class is the true one
    assert probabilities[np.arange(6), y].min() < 1e-7
    case = Case((*weights, x, y, 0.1))
    keras_values = adapted(TRAIN_STEP, train_step_reference)(*case.learner_args()[0])
    expected = TRAIN_STEP.expected(case)
    assert np.isclose(keras_values[0], expected[0], rtol=TRAIN_STEP.rtol), (keras_values[0], expected[0])
    for got, want in zip(keras_values[1:], expected[1:]):
        assert np.allclose(got, want, rtol=TRAIN_STEP.rtol, atol=TRAIN_STEP.atol)
