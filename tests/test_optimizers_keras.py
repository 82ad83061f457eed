"""Every optimizer agrees with keras.optimizers for 120 steps: parameters and every state slot.

Both sides run in float32 with the same order of operations. Their only differences
are one-ulp differences inside exp/cos/pow (a schedule's rate, Adam's beta powers);
over 120 steps these add up in proportion to how far a value has travelled, not to
where it ends. So each value must agree to 1e-6 relative, or, for a value that has
ended near zero after large moves, to 1e-6 of the largest value in the same array.
"""

import keras
import numpy as np
import pytest

from course_utils import optimizers, schedules
from course_utils.keras_tools import keras_state_size
from course_utils.surfaces import bowl, rosenbrock

STEPS = 120
SHAPES = [(3, 2), (4,), ()]


def agree(ours, theirs, what):
    theirs = np.asarray(theirs)
    scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-6, atol=1e-6 * scale + 1e-12, err_msg=what)


def keras_slots(opt, name):
    """Keras' per-variable state lists, under the names our state uses."""
    attribute = {
        ("sgd", "velocity"): "momentums",
        ("adam", "m"): "_momentums",
        ("adam", "v"): "_velocities",
        ("rmsprop", "velocity"): "_velocities",
        ("rmsprop", "momentum"): "_momentums",
        ("rmsprop", "average_gradient"): "_average_gradients",
        ("adagrad", "accumulator"): "_accumulators",
    }
    return lambda slot: [v.numpy() for v in getattr(opt, attribute[(name, slot)])]


def gradient_sequence(seed):
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-3, 1, size=STEPS)  # gradients of very different sizes
    return [[(rng.normal(size=s) * k).astype(np.float32) for s in SHAPES] for k in scales]


def initial_params(seed):
    rng = np.random.default_rng(seed + 100)
    return [rng.normal(size=s).astype(np.float32) for s in SHAPES]


def run_both(name, ours_opt, keras_opt, seed, grad_fn=None):
    """Step both optimizers; grads come from a fixed random sequence or from each side's own params."""
    params = initial_params(seed)
    variables = [keras.Variable(p) for p in params]
    state = ours_opt.init(params)
    sequence = gradient_sequence(seed)
    for step in range(STEPS):
        ours_grads = grad_fn(params) if grad_fn else sequence[step]
        theirs_grads = grad_fn([v.numpy() for v in variables]) if grad_fn else sequence[step]
        updates, state = ours_opt.update(ours_grads, state)
        params = optimizers.apply_updates(params, updates)
        keras_opt.apply_gradients(zip(theirs_grads, variables))
        if step % 30 == 29 or step == STEPS - 1:
            for i, (p, v) in enumerate(zip(params, variables)):
                agree(p, v.numpy(), f"{name}: params[{i}] after {step + 1} steps")
            assert state.step == int(keras_opt.iterations.numpy())
            theirs = keras_slots(keras_opt, name)
            for slot in state._fields[1:]:
                ours_slot = getattr(state, slot)
                if ours_slot is None:
                    continue
                for i, (a, b) in enumerate(zip(ours_slot, theirs(slot))):
                    agree(a, b, f"{name}: {slot}[{i}] after {step + 1} steps")
    return state


CONFIGS = [
    ("sgd", dict(learning_rate=0.05)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("rmsprop", dict(learning_rate=0.01)),
    ("rmsprop", dict(learning_rate=0.01, momentum=0.5)),
    ("rmsprop", dict(learning_rate=0.01, centered=True)),
    ("rmsprop", dict(learning_rate=0.01, rho=0.8, momentum=0.9, centered=True, epsilon=1e-5)),
    ("adagrad", dict(learning_rate=0.1)),
    ("adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=1e-6)),
    ("adam", dict(learning_rate=0.01)),
    ("adam", dict(learning_rate=0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-4)),
]
KERAS = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
         "adagrad": keras.optimizers.Adagrad, "adam": keras.optimizers.Adam}
OURS = {"sgd": optimizers.sgd, "rmsprop": optimizers.rmsprop, "adagrad": optimizers.adagrad, "adam": optimizers.adam}
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for name, kw in CONFIGS]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_constant_rate_matches_keras(name, kwargs, seed):
    run_both(name, OURS[name](**kwargs), KERAS[name](**kwargs), seed)


def quadratic_feedback(params):
    """A gradient that depends on the current parameters (so any drift would compound)."""
    return [(2.0 * p + 0.5 * np.sin(p)).astype(np.float32) for p in params]


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_gradients_from_the_current_parameters_match_keras(name, kwargs):
    run_both(name, OURS[name](**kwargs), KERAS[name](**kwargs), seed=7, grad_fn=quadratic_feedback)


SCHEDULES = [
    (lambda: schedules.exponential_decay(0.05, 10, 0.5),
     lambda: keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.5)),
    (lambda: schedules.piecewise_constant([20, 50], [0.05, 0.01, 0.002]),
     lambda: keras.optimizers.schedules.PiecewiseConstantDecay([20, 50], [0.05, 0.01, 0.002])),
    (lambda: schedules.cosine_decay(0.01, 60, alpha=0.1, warmup_target=0.05, warmup_steps=30),
     lambda: keras.optimizers.schedules.CosineDecay(0.01, 60, alpha=0.1, warmup_target=0.05, warmup_steps=30)),
]


@pytest.mark.parametrize("schedule", range(len(SCHEDULES)), ids=["exponential", "piecewise", "cosine-warmup"])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_scheduled_rate_matches_keras(name, kwargs, schedule):
    ours_lr, keras_lr = SCHEDULES[schedule]
    kwargs = {k: v for k, v in kwargs.items() if k != "learning_rate"}
    run_both(name, OURS[name](ours_lr(), **kwargs), KERAS[name](keras_lr(), **kwargs), seed=3)


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_state_size_counts_what_keras_stores(name, kwargs):
    params = initial_params(0)
    theirs = KERAS[name](**kwargs)
    theirs.build([keras.Variable(p) for p in params])
    assert optimizers.state_size(OURS[name](**kwargs).init(params)) == keras_state_size(theirs)


def test_single_array_params_match_keras():
    w = np.array([0.5, -1.5, 2.0], np.float32)
    variable = keras.Variable(w)
    ours, theirs = optimizers.adam(0.1), keras.optimizers.Adam(0.1)
    state = ours.init(w)
    for _ in range(100):
        grad = (2 * w).astype(np.float32)
        updates, state = ours.update(grad, state)
        w = optimizers.apply_updates(w, updates)
        theirs.apply_gradients([(2 * variable.numpy(), variable)])
    agree(w, variable.numpy(), "adam on one array")
    assert isinstance(state.m, np.ndarray) and state.m.shape == (3,)


CONVERGENCE = [
    ("sgd", dict(learning_rate=0.1), bowl, 200),
    ("sgd", dict(learning_rate=0.1, momentum=0.9), bowl, 300),
    ("rmsprop", dict(learning_rate=0.01), bowl, 600),
    ("adagrad", dict(learning_rate=0.5), bowl, 400),
    ("adam", dict(learning_rate=0.05), bowl, 600),
    ("sgd", dict(learning_rate=0.001, momentum=0.9), rosenbrock, 5000),
    ("rmsprop", dict(learning_rate=0.001, momentum=0.9), rosenbrock, 5000),
    ("adagrad", dict(learning_rate=0.5), rosenbrock, 12000),  # slow: its steps keep shrinking
    ("adam", dict(learning_rate=0.02), rosenbrock, 5000),
]


@pytest.mark.parametrize("name, kwargs, surface, steps", CONVERGENCE,
                         ids=[f"{c[0]}-{c[2].name}" for c in CONVERGENCE])
def test_every_optimizer_converges(name, kwargs, surface, steps):
    run = optimizers.trajectory(OURS[name](**kwargs), surface.loss, surface.grad, surface.start, steps)
    assert not run.diverged
    np.testing.assert_allclose(run.points[-1], surface.minimum, atol=0.02)
    assert run.losses[-1] < 1e-3 * run.losses[0]


def test_trajectory_reports_divergence():
    run = optimizers.trajectory(optimizers.sgd(2.5), bowl.loss, bowl.grad, bowl.start, 1000)
    assert run.diverged and len(run.points) < 1000
    assert np.all(np.isfinite(run.losses))
