"""Property-based tests (Hypothesis): every public function returns Keras' answer or a clear error.

Strategies describe the space of inputs (shapes, dtypes, edge values); each property says what must
always hold: "agrees with Keras" where Keras defines the answer, otherwise "raises a ValueError or
TypeError whose message names the argument". Every failure Hypothesis found is kept as an explicit
``@example`` (and the issue's own cases are in tests/test_bad_input.py).

The profile is fixed and derandomized, with a bounded number of examples and no example database,
so ``make test`` runs the same examples every time.
"""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_utils import data, gradients, losses, optimizers, schedules, surfaces

settings.register_profile(
    "course",
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("course")

KS = keras.optimizers.schedules
FLOAT32_MAX, FLOAT32_TINY = float(np.finfo(np.float32).max), float(np.finfo(np.float32).tiny)

# ----------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
#: Anything a learner might pass where one value belongs (bools, strings, None, lists, NaN, huge ints...).
anything = st.one_of(
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.floats(-2, 2), max_size=2),
    st.just(np.float64(np.nan)),
    st.just(np.True_),
)
not_a_bool = anything.filter(lambda v: not isinstance(v, (bool, np.bool_)))


@st.composite
def pairs(draw, elements, labels=None):
    """Two float32 arrays of one random shape: ``(y_true, y_pred)``."""
    shape = draw(shapes)
    y_true = draw(hnp.arrays(np.float32, shape, elements=labels if labels is not None else elements))
    y_pred = draw(hnp.arrays(np.float32, shape, elements=elements))
    return y_true, y_pred


values = st.floats(-1e4, 1e4, width=32)
probabilities = st.floats(0, 1, width=32)
logits = st.floats(-80, 80, width=32)


def agree(ours, theirs):
    """As tests/test_losses_keras.py: float32, the same shape, 1e-6 relative plus two float32 ulps of 1."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=2.5e-7)


def rejected(call, *names, error=(ValueError, TypeError)):
    """``call()`` raises a ValueError/TypeError whose message names (one of) ``names``; returns the message."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert any(name in message for name in names), f"none of {names} in: {message}"
    return message


# ----------------------------------------------------------------------------------------------
# Losses: Keras' numbers on good input
# ----------------------------------------------------------------------------------------------

REGRESSION = [
    (losses.mse, keras.losses.mean_squared_error),
    (losses.mae, keras.losses.mean_absolute_error),
    (losses.huber, keras.losses.huber),
]


@pytest.mark.parametrize("ours, theirs", REGRESSION, ids=["mse", "mae", "huber"])
@given(pair=pairs(values))
def test_regression_losses_agree_with_keras(ours, theirs, pair):
    agree(ours(*pair), theirs(*pair))


@given(pair=pairs(values), delta=st.floats(1e-3, 1e30))
@example(pair=(np.zeros(1, np.float32), np.full(1, 2.0, np.float32)), delta=1e30)  # found: overflow warning
def test_huber_agrees_with_keras_for_any_delta(pair, delta):
    agree(losses.huber(*pair, delta=delta), keras.losses.huber(*pair, delta=delta))


@given(pair=pairs(probabilities, labels=probabilities))
def test_binary_crossentropy_agrees_with_keras(pair):
    agree(losses.binary_crossentropy(*pair), keras.losses.binary_crossentropy(*pair))


@given(pair=pairs(logits, labels=probabilities))
def test_binary_crossentropy_from_logits_agrees_with_keras(pair):
    agree(losses.binary_crossentropy(*pair, from_logits=True), keras.losses.binary_crossentropy(*pair, from_logits=True))


@st.composite
def class_rows(draw, elements):
    """``(one_hot, y_pred)`` with at least two classes."""
    rows, classes = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    labels = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, classes - 1)))
    y_pred = draw(hnp.arrays(np.float32, (rows, classes), elements=elements))
    return labels, np.eye(classes, dtype=np.float32)[labels], y_pred


@given(rows=class_rows(probabilities))
@example(rows=(np.array([0]), np.eye(2, dtype=np.float32)[[0]], np.full((1, 2), 1e-45, np.float32)))  # found:
@example(rows=(np.array([0]), np.eye(2, dtype=np.float32)[[0]], np.full((1, 2), 1e-38, np.float32)))  # its sum: normal
def test_categorical_crossentropies_agree_with_keras_or_reject_an_all_zero_row(rows):  # Keras flushed the sum to 0
    labels, one_hot, y_pred = rows
    if np.any(y_pred.max(axis=-1) < FLOAT32_TINY):  # Keras returns nan: such a row cannot be renormalised
        rejected(lambda: losses.categorical_crossentropy(one_hot, y_pred), "y_pred row")
    else:
        agree(losses.categorical_crossentropy(one_hot, y_pred), keras.losses.categorical_crossentropy(one_hot, y_pred))
    agree(losses.sparse_categorical_crossentropy(labels, y_pred),
          keras.losses.sparse_categorical_crossentropy(labels, y_pred))


@given(rows=class_rows(logits))
def test_categorical_crossentropies_from_logits_agree_with_keras(rows):
    labels, one_hot, y_pred = rows
    agree(losses.categorical_crossentropy(one_hot, y_pred, from_logits=True),
          keras.losses.categorical_crossentropy(one_hot, y_pred, from_logits=True))
    agree(losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True),
          keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True))


# ----------------------------------------------------------------------------------------------
# Losses: bad arrays are rejected, naming the argument
# ----------------------------------------------------------------------------------------------


@st.composite
def bad_arrays(draw):
    """An array-like that no loss may silently accept, for a slot whose good value has ``shape``."""
    shape = draw(shapes)
    good = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)))
    kind = draw(st.sampled_from(["nan", "huge", "dtype", "masked", "scalar", "object", "shape"]))
    bad = good.copy()
    index = tuple(draw(st.integers(0, n - 1)) for n in shape)
    if kind == "nan":
        bad[index] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    elif kind == "huge":  # finite in float64, inf in float32
        bad[index] = draw(st.sampled_from([-1, 1])) * draw(st.floats(FLOAT32_MAX, 1e300, exclude_min=True))
    elif kind == "dtype":
        bad = bad.astype(draw(st.sampled_from([np.complex64, np.str_, "datetime64[s]"])))
    elif kind == "masked":
        bad = np.ma.masked_array(good, mask=np.zeros(shape, bool))
    elif kind == "scalar":
        bad = good.reshape(-1)[0]
    elif kind == "object":
        bad = draw(st.sampled_from([None, "abc", {"a": 1}, [[1.0, 2.0], [3.0]]]))
    else:
        bad = np.zeros(shape + (2,))
    return good, bad


@pytest.mark.parametrize("loss", [losses.mse, losses.mae, losses.huber, losses.hinge, losses.asymmetric_mse,
                                  losses.binary_crossentropy], ids=lambda f: f.__name__)
@given(case=bad_arrays(), which=st.sampled_from(["y_true", "y_pred"]))
def test_a_bad_array_is_rejected_naming_the_argument(loss, case, which):
    good, bad = case
    good = np.clip(np.abs(good), 0, 1).round()  # valid labels and probabilities for every loss here
    args = {"y_true": good, "y_pred": good, which: bad}
    rejected(lambda: loss(args["y_true"], args["y_pred"]), which)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda v: losses.binary_crossentropy([1.0], [0.5], from_logits=v), "from_logits"),
        (lambda v: losses.categorical_crossentropy([1.0, 0.0], [0.5, 0.5], from_logits=v), "from_logits"),
        (lambda v: losses.sparse_categorical_crossentropy([0], [[0.5, 0.5]], from_logits=v), "from_logits"),
        (lambda v: schedules.exponential_decay(0.1, 10, 0.9, staircase=v), "staircase"),
        (lambda v: optimizers.sgd(0.1, momentum=0.9, nesterov=v), "nesterov"),
        (lambda v: optimizers.rmsprop(centered=v), "centered"),
        (lambda v: data.steps_per_epoch(10, 3, drop_remainder=v), "drop_remainder"),
        (lambda v: list(data.batches(np.ones((4, 1)), np.ones(4), 2, shuffle=v)), "shuffle"),
    ],
    ids=["bce", "cce", "scce", "staircase", "nesterov", "centered", "drop_remainder", "shuffle"],
)
@given(value=not_a_bool)
@example(value="False")
@example(value="no")
@example(value=0)
def test_a_flag_takes_only_true_or_false(call, name, value):
    message = rejected(lambda: call(value), name, error=TypeError)
    assert "True or False" in message


# ----------------------------------------------------------------------------------------------
# Hyper-parameters: a real number in range, within float32, or a clear error
# ----------------------------------------------------------------------------------------------

POSITIVE = [  # (factory taking one value, its name, whether 0 is allowed)
    (lambda v: losses.huber([0.0], [2.0], delta=v), "delta", False),
    (lambda v: losses.asymmetric_mse([0.0], [0.5], over_weight=v), "over_weight", False),
    (lambda v: optimizers.adam(learning_rate=v), "learning_rate", False),
    (lambda v: optimizers.rmsprop(epsilon=v), "epsilon", False),
    (lambda v: optimizers.adagrad(initial_accumulator_value=v), "initial_accumulator_value", True),
    (lambda v: schedules.exponential_decay(0.1, v, 0.9), "decay_steps", False),
    (lambda v: schedules.cosine_decay(v, 100), "initial_learning_rate", True),
    (lambda v: gradients.numerical_gradient(lambda w: float(np.sum(w**2)), np.ones(2), eps=v), "eps", False),
]


def usable(value, zero_ok) -> bool:
    """A real number (not a bool) > 0 (or 0 when ``zero_ok``) that float32 holds without turning it into 0 or inf."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating)):
        return False
    return (value == 0 and zero_ok) or (value > 0 and FLOAT32_TINY <= value <= FLOAT32_MAX)


@pytest.mark.parametrize("call, name, zero_ok", POSITIVE, ids=[p[1] for p in POSITIVE])
@given(value=anything)
@example(value=1e-50)  # decay_steps=1e-50 used to pass and give NaN (float32 turns it into 0)
@example(value=1e39)  # and this into inf
@example(value=10**400)  # found by Hypothesis: too big even for float64 (OverflowError)
@example(value=1e30)  # found: huber's unused linear branch overflowed (a RuntimeWarning; Keras says 2.0)
def test_a_number_setting_is_used_or_rejected_naming_it(call, name, zero_ok, value):
    good = usable(value, zero_ok) and (name != "eps" or 1 + value != 1)  # eps below the spacing of x = 1: an error
    if good:
        call(value)
    else:
        rejected(lambda: call(value), name)


# ----------------------------------------------------------------------------------------------
# Schedules: Keras' numbers at ordinary steps, exact integer steps everywhere, clear errors for bad steps
# ----------------------------------------------------------------------------------------------

keras_steps = st.lists(st.integers(0, 2**24), min_size=1, max_size=4)
rates = st.floats(1e-4, 1.0)


def keras_values(schedule, steps):
    return np.array([float(schedule(int(s))) for s in steps], dtype=np.float32)


@given(initial=rates, decay_steps=st.one_of(st.integers(1, 10**5), st.floats(0.5, 1e5)),
       rate=st.floats(0.05, 1.5), staircase=st.booleans(), steps=keras_steps)
@example(initial=1.0, decay_steps=1, rate=1.5, staircase=False, steps=[219])  # found: Keras says inf
def test_exponential_decay_agrees_with_keras_or_rejects_an_overflowing_step(initial, decay_steps, rate, staircase,
                                                                            steps):
    schedule = schedules.exponential_decay(initial, decay_steps, rate, staircase)
    theirs = keras_values(KS.ExponentialDecay(initial, decay_steps, rate, staircase), steps)
    if np.all(np.isfinite(theirs)):
        np.testing.assert_allclose(schedule(np.array(steps)), theirs, rtol=1e-6, atol=1e-30)
    else:  # a rate beyond float32's range: an error, not inf
        rejected(lambda: schedule(np.array(steps)), "step=")


@given(initial=rates, decay_steps=st.integers(1, 10**6), alpha=st.floats(0, 1),
       warmup=st.one_of(st.none(), st.tuples(rates, st.integers(0, 10**5))), steps=keras_steps)
@example(initial=1.0, decay_steps=1, alpha=1.401298464324817e-45, warmup=None, steps=[0])  # found: subnormal alpha
def test_cosine_decay_agrees_with_keras(initial, decay_steps, alpha, warmup, steps):
    target, warmup_steps = warmup or (None, 0)
    if 0 < alpha < FLOAT32_TINY:  # float32 would flush it to 0: outside its range, an error
        rejected(lambda: schedules.cosine_decay(initial, decay_steps, alpha), "alpha")
        return
    ours = schedules.cosine_decay(initial, decay_steps, alpha, target, warmup_steps)(np.array(steps))
    theirs = keras_values(KS.CosineDecay(initial, decay_steps, alpha, warmup_target=target,
                                         warmup_steps=warmup_steps), steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@given(gaps=st.lists(st.integers(1, 2**40), min_size=1, max_size=4), steps=st.lists(st.integers(0, 2**42), max_size=6))
@example(gaps=[2**24], steps=[2**24, 2**24 + 1])  # the case: 16777217 rounds to 16777216 in float32
def test_piecewise_constant_and_join_schedules_compare_steps_exactly(gaps, steps):
    boundaries = np.cumsum(gaps).tolist()
    values = [1.0 / (i + 1) for i in range(len(boundaries) + 1)]
    near = [b + d for b in boundaries for d in (-1, 0, 1)]
    steps = np.array(steps + near, dtype=np.int64)
    expected = np.array([values[sum(s > b for b in boundaries)] for s in steps.tolist()], np.float32)
    np.testing.assert_array_equal(schedules.piecewise_constant(boundaries, values)(steps), expected)
    joined = schedules.join_schedules([schedules.constant(v) for v in values], boundaries)
    after = np.array([values[sum(s >= b for b in boundaries)] for s in steps.tolist()], np.float32)
    np.testing.assert_array_equal(joined(steps), after)
    if boundaries[-1] < 2**31:  # Keras compares in the step's integer dtype: the same answer
        some = steps[steps < 2**31][:4]
        np.testing.assert_array_equal(schedules.piecewise_constant(boundaries, values)(some),
                                      keras_values(KS.PiecewiseConstantDecay(boundaries, values), some))


@given(step=st.one_of(st.integers(max_value=-1), st.floats().filter(lambda v: not float(v).is_integer()),
                      st.lists(st.floats(-3, 3).filter(lambda v: v < 0 or not v.is_integer()), min_size=1),
                      st.booleans(), st.text(max_size=2), st.none()))
@example(step=[[1, 2], [3]])  # ragged
@example(step=np.ma.masked_array([1, 2]))
def test_a_bad_step_is_rejected_naming_step(step):
    schedule = schedules.exponential_decay(0.1, 10, 0.9)
    rejected(lambda: schedule(step), "step")


# ----------------------------------------------------------------------------------------------
# Optimizers: structure and schedules are checked
# ----------------------------------------------------------------------------------------------

OPTIMIZERS = {
    "sgd": lambda lr=0.1: optimizers.sgd(lr),
    "momentum": lambda lr=0.1: optimizers.sgd(lr, momentum=0.9),
    "rmsprop": lambda lr=0.1: optimizers.rmsprop(lr, momentum=0.5, centered=True),
    "adagrad": lambda lr=0.1: optimizers.adagrad(lr),
    "adam": lambda lr=0.1: optimizers.adam(lr),
}
param_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)


@st.composite
def params_and_grads(draw):
    """Parameters (one array or a list), and grads that match them or are wrong in one way."""
    listed = draw(st.booleans())
    shapes_ = draw(st.lists(param_shapes, min_size=1, max_size=3)) if listed else [draw(param_shapes)]
    params = [np.ones(s, np.float32) for s in shapes_]
    grads = [np.full(s, 0.5, np.float32) for s in shapes_]
    wrong = draw(st.sampled_from(["none", "shape", "length", "nan"]))
    if wrong == "shape":
        i = draw(st.integers(0, len(grads) - 1))
        grads[i] = np.ones(grads[i].shape + (2,), np.float32)
    elif wrong == "length" and listed:
        grads = grads[:-1] if len(grads) > 1 else grads + grads
    elif wrong == "nan":
        grads[-1] = np.full(grads[-1].shape, np.nan, np.float32)
    else:
        wrong = "none"
    return (params if listed else params[0]), (grads if listed else grads[0]), wrong


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(case=params_and_grads())
def test_an_update_matches_the_parameters_or_names_what_is_wrong(name, case):
    params, grads, wrong = case
    opt = OPTIMIZERS[name]()

    def step():
        updates, _ = opt.update(grads, opt.init(params))
        return optimizers.apply_updates(params, updates)

    if wrong == "none":
        new = step()
        for p, q in zip(new if isinstance(new, list) else [new], params if isinstance(params, list) else [params]):
            assert np.shape(p) == np.shape(q) and np.all(np.isfinite(p))
    else:  # plain SGD keeps no state: its updates are checked against the parameters by apply_updates
        rejected(step, "grads", "updates")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(rate=anything)
@example(rate=-0.1)
@example(rate=float("nan"))
@example(rate="0.1")
@example(rate=False)  # found by Hypothesis: a bool was taken as the rate 0 (and np.True_ as 1)
@example(rate=np.True_)
@example(rate=-2.243816200957389e-287)  # found by Hypothesis: float32 made it -0.0, which passed the check
@example(rate=1.0208475976818509e38)  # found: a usable rate whose update overflows (inf, like Keras; not an error)
def test_a_schedule_must_return_a_usable_rate(name, rate):
    opt = OPTIMIZERS[name](lambda step: rate)
    state = opt.init(np.ones(2))
    # A rate is an array value like any other: below float32's range it rounds to 0 (as in Keras), above it is an error.
    good = usable(rate, zero_ok=True) or (isinstance(rate, float) and 0 < rate < 1e-38)
    if isinstance(rate, list):  # one rate per parameter broadcasts like a scalar (the widgets' sweeps use it)
        good = len(rate) > 0 and all(np.isfinite(rate)) and min(rate) >= 0
    if good:  # a rate near float32's limit may overflow the update to inf (with a RuntimeWarning), as in Keras
        with np.errstate(over="ignore"):
            opt.update(np.ones(2), state)
    else:
        rejected(lambda: opt.update(np.ones(2), state), "learning_rate(0)")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(other=st.sampled_from(list(OPTIMIZERS)), junk=st.sampled_from([None, (0, None), "state", 0]))
def test_a_state_from_another_optimizer_is_rejected(name, other, junk):
    opt, theirs = OPTIMIZERS[name](), OPTIMIZERS[other]().init(np.ones(2))
    if name == other:
        opt.update(np.ones(2), theirs)
    else:
        rejected(lambda: opt.update(np.ones(2), theirs), "state")
    rejected(lambda: opt.update(np.ones(2), junk), "state")


# ----------------------------------------------------------------------------------------------
# Gradients, surfaces, data
# ----------------------------------------------------------------------------------------------


@given(x=hnp.arrays(np.float64, param_shapes, elements=st.floats(-10, 10)),
       eps=st.floats(1e-30, 1e-2))
@example(x=np.ones(2), eps=1e-20)  # the case: below float spacing used to give a zero gradient
def test_numerical_gradient_is_right_within_rounding_or_rejects_eps(x, eps):
    f = lambda w: float(np.sum(w**2))  # central differences are exact for a quadratic: only rounding remains
    if np.any((x + eps == x) | (x - eps == x)):
        rejected(lambda: gradients.numerical_gradient(f, x, eps), "eps")
        return
    got = gradients.numerical_gradient(f, x, eps)
    rounding = (np.spacing(f(x) + 4 * np.abs(x) * eps + eps**2) + 4 * np.abs(x) * np.spacing(np.abs(x) + eps)) / eps
    assert np.all(np.abs(got - 2 * x) <= 2 * rounding + 1e-9)


@pytest.mark.parametrize("surface", [surfaces.parabola, surfaces.bowl, surfaces.ravine, surfaces.rosenbrock],
                         ids=lambda s: s.name)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
def test_a_surface_takes_points_with_its_own_dimension(surface, shape):
    w = np.full(shape, 0.5)
    dim = surface.start.size
    if w.ndim and shape[-1] == dim:
        assert surface.loss(w).shape == shape[:-1] and surface.grad(w).shape == shape
    else:
        rejected(lambda: surface.loss(w), "w")
        rejected(lambda: surface.grad(w), "w")


@given(n=st.integers(1, 40), batch_size=st.integers(-2, 50), shuffle=st.booleans(), drop=st.booleans(),
       seed=st.one_of(st.integers(-3, 2**32), st.floats(0, 3), st.none()))
def test_batches_cover_the_data_once_or_reject_the_setting(n, batch_size, shuffle, drop, seed):
    x, y = np.arange(2.0 * n).reshape(n, 2), np.arange(n)
    call = lambda: list(data.batches(x, y, batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop))
    if batch_size < 1:
        rejected(call, "batch_size")
    elif not isinstance(seed, int) or seed < 0:
        rejected(call, "seed")
    else:
        seen = np.concatenate([yb for _, yb in call()] or [np.array([], int)])
        kept = n - n % batch_size if drop else n
        assert len(seen) == kept and len(set(seen.tolist())) == kept
