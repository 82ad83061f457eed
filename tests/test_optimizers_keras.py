"""Every optimizer agrees with keras.optimizers for 120 steps: parameters and every state slot.

Both sides run in float32 with the same formulas in the same order. What may still differ between
them, and between CPUs (x86-64 with or without FMA, AVX2 or AVX-512, arm64 NEON), is rounding: a
fused multiply-add rounds once where two operations round twice, and exp/cos/pow (a schedule's rate,
Adam's beta powers) may be one ulp apart. How large can that get?

Every float32 operation rounds with a relative error of at most u = 2**-24 (about 6e-8). A state
value x is built by a recurrence, x_t = a * x_(t-1) + delta_t (a <= 1: momentum, a moving average,
or 1 for the parameters themselves). Its rounding error is bounded by the standard running error
bound of such a sum: a few roundings (K = 8 covers every formula here) relative to each delta_t, plus
at most one rounding of the running value per step, carried forward with factor a <= 1:

    |ours - keras| <= K * u * travel_t + t * u * |x_t|,   travel_t = sum over s <= t of |delta_s|

So the error grows with how far a value has *travelled*, not with where it ends: a velocity that
swung to 1e-2 and back to 3e-5 may differ from Keras' by far more than 1e-6 of 3e-5 (7.7e-6 relative
was measured on a Xeon with FMA), and still be right. A wrong formula (a misplaced epsilon, a bias
correction off by a step, a rate a step late) misses this bound by orders of magnitude, which
``test_the_tolerance_catches_a_wrong_formula`` proves.
"""

import keras
import numpy as np
import pytest

from course_utils import optimizers, schedules
from course_utils.keras_tools import keras_state_size
from course_utils.surfaces import bowl, rosenbrock

STEPS = 120
SHAPES = [(3, 2), (4,), ()]


U = 2.0**-24  # float32 unit roundoff
K = 8  # roundings per step in the longest update formula (centered RMSprop with momentum)


def agree(ours, theirs, what, travel=None, steps=STEPS):
    """ours == theirs within the float32 bound above; ``travel`` is sum |delta| per element (0 if unknown)."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    travel = np.zeros_like(theirs) if travel is None else np.asarray(travel, np.float64)
    bound = K * U * travel + steps * U * np.abs(theirs) + 1e-30
    error = np.abs(ours - theirs)
    worst = np.unravel_index(np.argmax(error / bound), error.shape) if error.ndim else ()
    assert np.all(error <= bound), (
        f"{what}: ours {ours[worst]!r} vs keras {theirs[worst]!r} differ by {error[worst]:.3g}, "
        f"more than float32 rounding explains ({bound[worst]:.3g} after travelling {travel[worst]:.3g})"
    )


def _leaves(tree):
    return tree if isinstance(tree, list) else [tree]


class Travel:
    """sum |x_t - x_(t-1)| for every array of the parameters and of each state slot, step by step."""

    def __init__(self, params, state):
        self.last = self._snapshot(params, state)
        self.total = {key: np.zeros(np.shape(value)) for key, value in self.last.items()}

    @staticmethod
    def _snapshot(params, state):
        found = {("params", i): np.asarray(p, np.float64) for i, p in enumerate(_leaves(params))}
        for slot in state._fields[1:]:
            if getattr(state, slot) is not None:
                found.update({(slot, i): np.asarray(v, np.float64) for i, v in enumerate(_leaves(getattr(state, slot)))})
        return found

    def add(self, params, state):
        now = self._snapshot(params, state)
        for key, value in now.items():
            self.total[key] += np.abs(value - self.last[key])
        self.last = now


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
    travel = Travel(params, state)
    sequence = gradient_sequence(seed)
    for step in range(STEPS):
        ours_grads = grad_fn(params) if grad_fn else sequence[step]
        theirs_grads = grad_fn([v.numpy() for v in variables]) if grad_fn else sequence[step]
        updates, state = ours_opt.update(ours_grads, state)
        params = optimizers.apply_updates(params, updates)
        keras_opt.apply_gradients(zip(theirs_grads, variables))
        travel.add(params, state)
        if step % 30 == 29 or step == STEPS - 1:
            for i, (p, v) in enumerate(zip(params, variables)):
                agree(p, v.numpy(), f"{name}: params[{i}] after {step + 1} steps", travel.total["params", i], step + 1)
            assert state.step == int(keras_opt.iterations.numpy())
            theirs = keras_slots(keras_opt, name)
            for slot in state._fields[1:]:
                ours_slot = getattr(state, slot)
                if ours_slot is None:
                    continue
                for i, (a, b) in enumerate(zip(ours_slot, theirs(slot))):
                    agree(a, b, f"{name}: {slot}[{i}] after {step + 1} steps", travel.total[slot, i], step + 1)
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
    agree(w, variable.numpy(), "adam on one array", travel=np.full(3, 3.0), steps=100)  # |w| <= 2 travels < 3
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


WRONG = [  # each a plausible slip; the float32 bound must reject every one
    ("adam: epsilon 1e-7 vs 3e-7", "adam", dict(learning_rate=0.01),
     lambda: keras.optimizers.Adam(0.01, epsilon=3e-7)),
    ("sgd: rate off by 1e-4 relative", "sgd", dict(learning_rate=0.05, momentum=0.9),
     lambda: keras.optimizers.SGD(0.05 * (1 + 1e-4), momentum=0.9)),
    ("rmsprop: rho 0.9 vs 0.9001", "rmsprop", dict(learning_rate=0.01),
     lambda: keras.optimizers.RMSprop(0.01, rho=0.9001)),
    ("schedule one step ahead", "sgd", dict(learning_rate=schedules.exponential_decay(0.05, 10, 0.5)),
     lambda: keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.05 * 0.5**0.1, 10, 0.5))),
]


@pytest.mark.parametrize("what, name, kwargs, keras_opt", WRONG, ids=[w[0] for w in WRONG])
def test_the_tolerance_catches_a_wrong_formula(what, name, kwargs, keras_opt):
    with pytest.raises(AssertionError, match="more than float32 rounding explains"):
        run_both(name, OURS[name](**kwargs), keras_opt(), seed=0)
