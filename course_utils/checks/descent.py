"""Checks for the exercises of lessons 03 (gradient descent) and 04 (optimizers).

The optimizer checks follow Keras 3 exactly, as :mod:`course_utils.optimizers` does. They call the
learner's one-step update function many times in a row, feeding back the state it returned, and compare
every call with one step of the reference optimizer started from that same state.
"""

from __future__ import annotations

import numpy as np

from course_utils import optimizers, surfaces
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


class _Described:
    """A function given to the learner's code that prints as its formula in failure messages."""

    def __init__(self, fn, text):
        self._fn, self._text = fn, text

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __repr__(self):
        return self._text


def _shown_as(value, text):
    """``value`` (a NamedTuple such as an Optimizer or a Surface) that prints as ``text`` in messages."""
    cls = type(value)
    shown = type(cls.__name__, (cls,), {"__slots__": (), "__repr__": lambda self: text})
    return shown(*value)


def _call_on_originals(fn, name, *args, **kwargs):
    """Like :func:`call`, but hand the learner the caller's own arrays so that in-place changes can be seen."""
    if not callable(fn):
        return call(fn, name, *args, **kwargs)  # raises the "should be a function" message
    return call(lambda *copies, **kw: fn(*args, **kw), name, *args, **kwargs)


def _unchanged(name, argument, before, after, advice):
    if not np.allclose(before, after, rtol=1e-12, atol=1e-15):
        raise CheckFailed(
            f"{name} changed the caller's array `{argument}` in place.\n"
            f"before    {argument} = {show(before)}\n"
            f"after     {argument} = {show(after)}\n"
            f"hint      {advice}"
        )


def _unpack(value, name, parts):
    """Check the learner returned a tuple of ``len(parts)`` values and return it."""
    if value is None:
        raise CheckFailed(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(value, (tuple, list)) or len(value) != len(parts):
        what = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"one {type(value).__name__}"
        raise CheckFailed(
            f"{name} should return {len(parts)} values, `return {', '.join(parts)}`, but it returned {what}."
        )
    return value


def _compare(name, got, expected, inputs, mistakes=(), *, nonfinite_hint=None, show_expected=True, rtol=1e-4,
             scale_atol=1e-6, atol_floor=1e-30):
    """:func:`compare` with an absolute tolerance that follows the size of the expected values.

    ``nonfinite_hint`` replaces the engine's generic NaN hint when the learner's result has NaN/inf in it.
    """
    expected = np.asarray(expected, dtype=np.float64)
    finite = expected[np.isfinite(expected)]
    atol = scale_atol * float(np.max(np.abs(finite))) if finite.size else 0.0
    atol = max(atol, atol_floor)
    compare(name, got, expected, inputs, mistakes, show_expected=show_expected, rtol=rtol, atol=atol,
            nonfinite_hint=nonfinite_hint)


# ----------------------------------------------------------------------------------------------------------
# Lesson 03: gradient descent
# ----------------------------------------------------------------------------------------------------------


def _cubic_function(rng, shape):
    """A random, non-separable test function with its pieces: sum(a x^3) + sum(b x)^2 + sum(c x)."""
    a = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    b = rng.normal(size=shape)
    c = rng.normal(size=shape)

    def f(x):
        x = np.asarray(x, dtype=np.float64)
        return float(np.sum(a * x**3) + np.sum(b * x) ** 2 + np.sum(c * x))

    return _Described(f, "f(x) = sum(a * x**3) + sum(b * x)**2 + sum(c * x)"), {"a": a, "b": b, "c": c}


def _central(f, x, eps, two=2.0, forward=False):
    """Central (or forward) differences along every coordinate, in float64."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x)) / eps if forward else (f(x + step) - f(x - step)) / (two * eps)
    return grad


@exercise("numerical_gradient")
def check_numerical_gradient(numerical_gradient):
    """Check a learner's ``numerical_gradient(f, x, eps=1e-6)`` (central differences, x of any shape)."""
    from course_utils.gradients import numerical_gradient as reference

    rng = fresh_rng()
    cases = []  # (shape, eps or None for the default, show_expected)
    for shape, eps in [((4,), 0.1), ((2, 3), float(rng.uniform(0.01, 0.2))), ((3,), None), ((2, 2), None)]:
        cases.append((shape, eps, True))
    cases += [((1,), 0.5, False), ((3, 1), 0.05, False)]
    for shape, eps, show_expected in cases:
        f, pieces = _cubic_function(rng, shape)
        x = rng.normal(size=shape)
        if not show_expected:  # fixed edge-case points
            x = np.linspace(-1.5, 1.0, int(np.prod(shape))).reshape(shape)
        kwargs = {} if eps is None else {"eps": eps}
        h = 1e-6 if eps is None else eps
        before = x.copy()
        got = _call_on_originals(numerical_gradient, "numerical_gradient", f, x, **kwargs)
        _unchanged(
            "numerical_gradient", "x", before, x,
            "work on a copy: x_plus = x.copy(), then change x_plus[i] (x_plus = x does NOT copy; it is the same "
            "array under a second name).",
        )
        x = before
        got = numbers(got, "numerical_gradient", x.shape, sample_axis_hint=False)
        expected = reference(f, x, h)
        inputs = {"f": f, **pieces, "x": x, **kwargs}
        all_at_once = np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))
        mistakes = [
            ("that is the forward difference (f(x + eps) - f(x)) / eps; the central difference "
             "(f(x + eps) - f(x - eps)) / (2 * eps) is far more accurate.", _central(f, x, h, forward=True)),
            ("you divided by eps instead of 2 * eps: the two points are 2 * eps apart.", _central(f, x, h, two=1.0)),
            ("you nudged every coordinate at once, so every entry got the same number; nudge ONE coordinate at a "
             "time (a step that is eps at index i and 0 elsewhere).", all_at_once),
            ("every entry is 0: x_plus and x_minus are the same array (x_plus = x does not copy); use x.copy().",
             np.zeros(x.shape)),
            ("you ignored the eps argument: use the eps you are given for the step.", _central(f, x, 1e-6)),
        ]
        if x.ndim > 1:
            rows = np.zeros(x.shape)
            for r in range(x.shape[0]):
                step = np.zeros(x.shape)
                step[r] = h
                rows[r] = (f(x + step) - f(x - step)) / (2 * h)
            mistakes.append(("x can be a matrix: nudge every single entry (loop over np.ndindex(x.shape)), not "
                             "whole rows.", rows))
        _compare("numerical_gradient", got, expected, inputs, mistakes, show_expected=show_expected,
                 rtol=1e-6, scale_atol=1e-7)
    passed("numerical_gradient", len(cases))


def _linear_data(rng, n, d):
    x = rng.normal(size=(n, d))
    w_true, b_true = rng.normal(size=d) * 2, float(rng.normal() * 2)
    y = x @ w_true + b_true + rng.normal(size=n) * 0.3
    return x, y


@exercise("mse_gradient")
def check_mse_gradient(mse_gradient):
    """Check a learner's ``mse_gradient(w, b, x, y) -> (dw, db)`` for the cost mean((x @ w + b - y)**2)."""
    rng = fresh_rng()
    cases = []
    for n, d in [(8, 3), (int(rng.integers(5, 15)), 2), (6, 1), (int(rng.integers(10, 30)), 4)]:
        x, y = _linear_data(rng, n, d)
        cases.append(((rng.normal(size=d), float(rng.normal()), x, y), True))
    x_fixed = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]])
    cases.append(((np.array([1.0, -1.0]), 0.5, x_fixed, x_fixed @ np.array([1.0, -1.0]) + 0.5), False))  # perfect
    cases.append(((np.array([0.0]), 0.0, np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([2.0, 4.0, 6.0, 8.0])),
                  False))
    for (w, b, x, y), show_expected in cases:
        result = _unpack(call(mse_gradient, "mse_gradient", w, b, x, y), "mse_gradient", ("dw", "db"))
        n, d = x.shape
        error = x @ w + b - y
        dw, db = 2 * x.T @ error / n, 2 * float(np.mean(error))
        inputs = {"w": w, "b": b, "x": x, "y": y}
        got_dw = numbers(result[0], "mse_gradient's dw", None)
        if got_dw.shape != (d,):
            hint = ""
            if got_dw.shape == (n,):
                hint = " You returned one number per sample; dw needs one per weight: x.T @ error (times 2 / n)."
            elif got_dw.shape in {(n, d), (d, n)}:
                hint = " Sum (average) over the samples: x.T @ error, not x * error."
            raise CheckFailed(f"mse_gradient's dw has shape {got_dw.shape}, expected {(d,)} (one per weight).{hint}")
        got_db = numbers(result[1], "mse_gradient's db", None)
        if got_db.size != 1:
            raise CheckFailed(
                f"mse_gradient's db has shape {got_db.shape}; the bias is one number, so db is one number "
                "(average over the samples)."
            )
        got_db = got_db.reshape(())
        mistakes_dw = [
            ("you forgot the factor 2 from the square: d(e**2)/de = 2 * e.", dw / 2),
            ("the sign is flipped: the error is prediction - y (x @ w + b - y), not y - prediction.", -dw),
            ("you summed over the samples; the cost is a MEAN, so divide by the number of samples n.", dw * n),
            ("you summed over the samples and forgot the 2.", dw * n / 2),
        ]
        mistakes_db = [
            ("you forgot the factor 2 from the square in db.", db / 2),
            ("the sign of db is flipped: the error is prediction - y.", -db),
            ("db is a sum over the samples; the cost is a MEAN, so average (np.mean).", db * n),
            ("you forgot db: the bias also gets a gradient, 2 * mean(error).", 0.0),
        ]
        _compare("mse_gradient's dw", got_dw, dw, inputs, mistakes_dw, show_expected=show_expected, rtol=1e-6,
                 atol_floor=1e-9)
        _compare("mse_gradient's db", got_db, db, inputs, mistakes_db, show_expected=show_expected, rtol=1e-6,
                 atol_floor=1e-9)
    passed("mse_gradient", len(cases))


def _descent(grad_fn, w0, learning_rate, num_steps, sign=-1.0, use_lr=True):
    points = [np.array(w0, dtype=np.float64)]
    for _ in range(num_steps):
        w = points[-1]
        points.append(w + sign * (learning_rate if use_lr else 1.0) * np.asarray(grad_fn(w), dtype=np.float64))
    return np.array(points)


def _quadratic_grad(rng, dim):
    c = rng.uniform(0.5, 5.0, size=dim)
    center = rng.normal(size=dim)
    text = f"grad_fn(w) = c * (w - center), c = {show(c)}, center = {show(center)}"
    return _Described(lambda w: c * (np.asarray(w, dtype=np.float64) - center), text), c


@exercise("gradient_descent")
def check_gradient_descent(gradient_descent):
    """Check a learner's ``gradient_descent(grad_fn, w0, learning_rate, num_steps)`` -> every point, w0 first."""
    rng = fresh_rng()
    cases = []
    for dim in (2, 1, 3):
        grad_fn, c = _quadratic_grad(rng, dim)
        lr = float(rng.uniform(0.1, 0.9) / c.max())
        cases.append(((grad_fn, rng.normal(size=dim) * 3, lr, int(rng.integers(4, 12))), True))
    rosenbrock = _Described(surfaces.rosenbrock.grad, "grad_fn = the gradient of Rosenbrock's banana")
    cases.append(((rosenbrock, rng.uniform(-1.5, 1.5, size=2), float(rng.uniform(1e-4, 1e-3)), 6), True))
    fixed_grad = _Described(lambda w: np.asarray(w, dtype=np.float64) - 3.0, "grad_fn(w) = w - 3")
    cases += [
        ((fixed_grad, np.array([1.0, -1.0]), 0.5, 0), False),  # no steps: only the start
        ((fixed_grad, np.array([0.0]), 2.5, 5), False),  # too large a step: it diverges
    ]
    for (grad_fn, w0, lr, num_steps), show_expected in cases:
        before = w0.copy()
        got = _call_on_originals(gradient_descent, "gradient_descent", grad_fn, w0, lr, num_steps)
        _unchanged(
            "gradient_descent", "w0", before, w0,
            "`w = w0` does not copy, so `w -= ...` changed w0 too; write `w = w - learning_rate * grad_fn(w)` "
            "(a new array each step) or start from w = w0.copy().",
        )
        w0 = before
        got = numbers(got, "gradient_descent", None)
        dim = w0.size
        shape = (num_steps + 1, dim)
        if got.shape != shape:
            hints = {
                (dim,): "You returned only one point; return every point (w0 first), stacked with np.array(points).",
                (num_steps, dim): "One row short: the first row is w0 itself, then one row per step.",
                (num_steps + 2, dim): "One row too many: num_steps updates give num_steps + 1 points, w0 included.",
                (dim, num_steps + 1): "Transposed: one ROW per point.",
            }
            hint = hints.get(got.shape, "")
            raise CheckFailed(
                f"gradient_descent returned shape {got.shape}, expected {shape} (num_steps + 1 = {num_steps + 1} "
                f"points of {dim} weights).{' ' + hint if hint else ''}"
            )
        expected = _descent(grad_fn, w0, lr, num_steps)
        with np.errstate(over="ignore", invalid="ignore"):
            mistakes = [
                ("you stepped UPHILL: subtract the gradient, w - learning_rate * grad_fn(w).",
                 _descent(grad_fn, w0, lr, num_steps, sign=1.0)),
                ("you forgot to multiply the gradient by the learning rate.",
                 _descent(grad_fn, w0, lr, num_steps, use_lr=False)),
                ("every row is the last point: you appended the same array each time and then changed it in place "
                 "(w -= ...); build a new array each step: w = w - learning_rate * grad_fn(w).",
                 np.repeat(expected[-1:], num_steps + 1, axis=0)),
                ("the first row must be w0 itself (the start), then the point after each step.",
                 _descent(grad_fn, w0, lr, num_steps + 1)[1:]),
            ]
        _compare("gradient_descent", got, expected, {"grad_fn": grad_fn, "w0": w0, "learning_rate": lr,
                                                     "num_steps": num_steps},
                 mistakes, show_expected=show_expected, rtol=1e-7)
    passed("gradient_descent", len(cases))


def _fit(x, y, lr, num_steps, *, sign=-1.0, update_b=True, sequential=False):
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    for _ in range(num_steps):
        error = x @ w + b - y
        dw = 2 * x.T @ error / n
        w = w + sign * lr * dw
        if sequential:
            error = x @ w + b - y
        if update_b:
            b = b + sign * lr * 2 * float(np.mean(error))
    return w, b


@exercise("fit_linear")
def check_fit_linear(fit_linear):
    """Check a learner's ``fit_linear(x, y, learning_rate, num_steps) -> (w, b)`` (gradient descent from zeros)."""
    rng = fresh_rng()
    cases = []
    for n, d in [(int(rng.integers(8, 20)), 2), (int(rng.integers(8, 20)), 1), (int(rng.integers(15, 30)), 3)]:
        x, y = _linear_data(rng, n, d)
        cases.append(((x, y, float(rng.uniform(0.02, 0.1)), int(rng.integers(8, 30))), True))
    x_fixed = np.array([[1.0], [2.0], [3.0], [4.0]])
    cases += [
        ((x_fixed, np.array([3.0, 5.0, 7.0, 9.0]), 0.05, 0), False),  # no steps: still zeros
        ((x_fixed, np.array([3.0, 5.0, 7.0, 9.0]), 0.05, 500), False),  # long enough to reach w = 2, b = 1
    ]
    for (x, y, lr, num_steps), show_expected in cases:
        result = _unpack(call(fit_linear, "fit_linear", x, y, lr, num_steps), "fit_linear", ("w", "b"))
        d = x.shape[1]
        got_w = numbers(result[0], "fit_linear's w", (d,), sample_axis_hint=False)
        got_b = numbers(result[1], "fit_linear's b", None)
        if got_b.size != 1:
            raise CheckFailed(f"fit_linear's b has shape {got_b.shape}; the bias is one number.")
        got_b = got_b.reshape(())
        w, b = _fit(x, y, lr, num_steps)
        variants = {
            "sign": _fit(x, y, lr, num_steps, sign=1.0),
            "no_b": _fit(x, y, lr, num_steps, update_b=False),
            "sequential": _fit(x, y, lr, num_steps, sequential=True),
            "short": _fit(x, y, lr, max(num_steps - 1, 0)),
            "long": _fit(x, y, lr, num_steps + 1),
        }
        hints = {
            "sign": "you stepped uphill: subtract learning_rate * gradient.",
            "no_b": "b never moved: update the bias too, b = b - learning_rate * db.",
            "sequential": "you computed db after updating w: take both gradients at the same point, then update.",
            "short": "one step too few: run exactly num_steps updates (range(num_steps)).",
            "long": "one step too many: run exactly num_steps updates (range(num_steps)).",
        }
        inputs = {"x": x, "y": y, "learning_rate": lr, "num_steps": num_steps}
        mistakes_w = [(hints[k], v[0]) for k, v in variants.items()]
        mistakes_w.append(("w did not move: start from zeros and update w every step.", np.zeros(d)))
        mistakes_b = [(hints[k], v[1]) for k, v in variants.items()]
        with np.errstate(over="ignore", invalid="ignore"):
            _compare("fit_linear's w", got_w, w, inputs, mistakes_w, show_expected=show_expected, rtol=1e-6,
                     atol_floor=1e-9)
            _compare("fit_linear's b", got_b, b, inputs, mistakes_b, show_expected=show_expected, rtol=1e-6,
                     atol_floor=1e-9)
    passed("fit_linear", len(cases))


# ----------------------------------------------------------------------------------------------------------
# Lesson 04: optimizers (Keras 3 semantics, as in course_utils.optimizers)
# ----------------------------------------------------------------------------------------------------------


def _grads(rng, shape, count, small_every=0):
    """``count`` random gradients; every ``small_every``-th one tiny, where epsilon matters."""
    grads = []
    for k in range(count):
        scale = 1e-3 if small_every and k % small_every == 0 else float(rng.uniform(0.3, 3.0))
        grads.append(rng.normal(size=shape) * scale)
    return grads


@exercise("sgd_momentum_update")
def check_sgd_momentum_update(sgd_momentum_update):
    """Check a learner's ``sgd_momentum_update(grad, velocity, learning_rate, momentum)`` -> (update, velocity).

    Keras' form: ``velocity <- momentum * velocity - learning_rate * grad``, ``update = velocity``. The learning
    rate changes from call to call (as under a schedule), which is where PyTorch's form gives other updates.
    """
    rng = fresh_rng()
    runs = []
    for shape in [(3,), (2, 2)]:
        lrs = rng.uniform(0.01, 0.2, size=30)
        runs.append((float(rng.uniform(0.5, 0.95)), lrs, _grads(rng, shape, 30), True))
    runs.append((0.0, np.full(4, 0.1), [np.array([1.0, -2.0]), np.array([0.5, 0.5])] * 2, False))  # plain SGD
    runs.append((0.9, np.array([0.1, 0.05, 0.02, 0.01]), [np.array([1.0, -1.0])] * 4, False))  # schedule, same grad
    count = 0
    for momentum, lrs, grads, show_expected in runs:
        opt = optimizers.sgd(lambda step, lrs=lrs: lrs[step], momentum=momentum)
        velocity = np.zeros_like(grads[0])
        for k, g in enumerate(grads):
            lr = float(lrs[k])
            result = _unpack(call(sgd_momentum_update, "sgd_momentum_update", g, velocity, lr, momentum),
                             "sgd_momentum_update", ("update", "new_velocity"))
            update = numbers(result[0], "sgd_momentum_update's update", g.shape, sample_axis_hint=False)
            new_velocity = numbers(result[1], "sgd_momentum_update's new_velocity", g.shape, sample_axis_hint=False)
            state = optimizers.SGDState(k, velocity.astype(np.float32) if momentum else None)
            expected_update, expected_state = opt.update(g, state)
            expected_velocity = expected_update if momentum == 0 else expected_state.velocity
            inputs = {"call": k + 1, "grad": g, "velocity": velocity, "learning_rate": lr, "momentum": momentum}
            torch_velocity = momentum * velocity + g
            torch_hint = (
                "that is PyTorch's form: it keeps the velocity WITHOUT the learning rate (buffer = momentum * buffer "
                "+ grad) and multiplies afterwards (update = -learning_rate * buffer). With a learning rate that "
                "changes from call to call the two forms differ; Keras keeps it inside: velocity = momentum * "
                "velocity - learning_rate * grad, update = velocity."
            )
            hidden = []
            if k > 0 and momentum:  # PyTorch's buffer recovered from the velocity returned last time
                hidden = [(torch_hint, -lr * (momentum * (-velocity / float(lrs[k - 1])) + g))]
            _compare("sgd_momentum_update's update", update, expected_update, inputs, hidden + [
                ("the sign is flipped: velocity = momentum * velocity - learning_rate * grad (minus: downhill).",
                 momentum * velocity + lr * g),
                ("that is PyTorch's form, -learning_rate * (momentum * velocity + grad); in Keras' form the velocity "
                 "already holds the learning rate, and the update IS the new velocity.",
                 -lr * torch_velocity),
                ("your update ignores the velocity: in Keras' form the update is the new velocity.", -lr * g),
                ("you returned the OLD velocity as the update; compute the new velocity first, then use it.",
                 velocity),
            ], show_expected=show_expected)
            _compare("sgd_momentum_update's new_velocity", new_velocity, expected_velocity, inputs, hidden + [
                ("that is PyTorch's velocity, momentum * velocity + grad; Keras keeps the learning rate INSIDE the "
                 "velocity: momentum * velocity - learning_rate * grad.", torch_velocity),
                ("that is PyTorch's velocity with a minus sign; Keras keeps the learning rate INSIDE the velocity: "
                 "momentum * velocity - learning_rate * grad.", momentum * velocity - g),
                ("you returned the old velocity unchanged: return the NEW velocity so the next call can use it.",
                 velocity),
                ("the sign is flipped: velocity = momentum * velocity - learning_rate * grad.",
                 momentum * velocity + lr * g),
            ], show_expected=show_expected)
            # after a mismatch go on from the right state, so later calls still tell mistakes apart
            velocity = np.asarray(expected_velocity, dtype=np.float64) if failing() else new_velocity
            count += 1
    passed("sgd_momentum_update", count)


_RMS_NO_1_MINUS_RHO = "you forgot (1 - rho): velocity = rho * velocity + (1 - rho) * grad**2."
_RMS_UNSQUARED = ("the velocity averages the SQUARED gradient, (1 - rho) * grad**2, not grad: it can never be "
                  "negative (a square root of a negative velocity is NaN).")
_RMS_SWAPPED = "rho and (1 - rho) are swapped: rho weighs the OLD velocity."


@exercise("rmsprop_update")
def check_rmsprop_update(rmsprop_update):
    """Check a learner's ``rmsprop_update(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7)``.

    Keras' form: ``velocity <- rho * velocity + (1 - rho) * grad**2``,
    ``update = -learning_rate * grad / sqrt(velocity + epsilon)`` (epsilon inside the root).
    """
    rng = fresh_rng()
    runs = [  # (learning rate, keyword arguments, gradients, show_expected)
        (float(rng.uniform(0.001, 0.05)), {}, _grads(rng, (3,), 30, small_every=3), True),
        (float(rng.uniform(0.001, 0.05)), {"rho": float(rng.uniform(0.7, 0.95)),
                                           "epsilon": float(rng.uniform(1e-3, 5e-3))},
         _grads(rng, (2, 2), 30), True),
        (0.01, {"rho": 0.0}, [np.array([2.0, -1e-4]), np.array([0.0, 1.0])], False),
        (0.1, {}, [np.array([1e-4, 5.0])] * 3, False),
    ]
    count = 0
    for lr, kwargs, grads, show_expected in runs:
        rho, eps = kwargs.get("rho", 0.9), kwargs.get("epsilon", 1e-7)
        opt = optimizers.rmsprop(lr, rho=rho, epsilon=eps)
        velocity = np.zeros_like(grads[0])
        for k, g in enumerate(grads):
            result = _unpack(call(rmsprop_update, "rmsprop_update", g, velocity, lr, **kwargs), "rmsprop_update",
                             ("update", "new_velocity"))
            update = numbers(result[0], "rmsprop_update's update", g.shape, sample_axis_hint=False)
            new_velocity = numbers(result[1], "rmsprop_update's new_velocity", g.shape, sample_axis_hint=False)
            expected_update, expected_state = opt.update(g, optimizers.RMSpropState(k, velocity.astype(np.float32),
                                                                                    None, None))
            inputs = {"call": k + 1, "grad": g, "velocity": velocity, "learning_rate": lr, **kwargs}
            v = rho * velocity + (1 - rho) * g**2
            with np.errstate(invalid="ignore"):
                unsquared = -lr * g / np.sqrt(rho * velocity + (1 - rho) * g + eps)
            ignored = []
            if kwargs:
                v_default = 0.9 * velocity + 0.1 * g**2
                ignored = [("you ignored the rho / epsilon arguments you were given (the defaults were used).",
                            -lr * g / np.sqrt(v_default + 1e-7))]
            _compare("rmsprop_update's update", update, expected_update, inputs, ignored + [
                ("epsilon goes INSIDE the square root in Keras: grad / sqrt(velocity + epsilon).",
                 -lr * g / (np.sqrt(v) + eps)),
                ("the sign is flipped: the update goes downhill, -learning_rate * grad / sqrt(velocity + epsilon).",
                 lr * g / np.sqrt(v + eps)),
                ("you divided by the OLD velocity; update the velocity first, then divide by the new one.",
                 -lr * g / np.sqrt(velocity + eps)),
                ("you forgot the square root: divide by sqrt(velocity + epsilon).", -lr * g / (v + eps)),
                (_RMS_NO_1_MINUS_RHO, -lr * g / np.sqrt(rho * velocity + g**2 + eps)),
                (_RMS_UNSQUARED, unsquared),
                (_RMS_SWAPPED, -lr * g / np.sqrt((1 - rho) * velocity + rho * g**2 + eps)),
            ], nonfinite_hint=_RMS_UNSQUARED, show_expected=show_expected)
            _compare("rmsprop_update's new_velocity", new_velocity, expected_state.velocity, inputs, [
                (_RMS_NO_1_MINUS_RHO, rho * velocity + g**2),
                (_RMS_UNSQUARED, rho * velocity + (1 - rho) * g),
                ("you returned the old velocity unchanged: return the NEW velocity so the next call can use it.",
                 velocity),
                (_RMS_SWAPPED, (1 - rho) * velocity + rho * g**2),
            ], show_expected=show_expected)
            velocity = np.asarray(expected_state.velocity, dtype=np.float64) if failing() else new_velocity
            count += 1
    passed("rmsprop_update", count)


_ADAM_NO_1_MINUS_B1 = "you forgot (1 - beta_1): m = beta_1 * m + (1 - beta_1) * grad."
_ADAM_SWAPPED_B1 = "beta_1 and (1 - beta_1) are swapped: beta_1 weighs the OLD m."
_ADAM_UNSQUARED = "v averages the SQUARED gradient: (1 - beta_2) * grad**2."
_ADAM_NO_1_MINUS_B2 = "you forgot (1 - beta_2): v = beta_2 * v + (1 - beta_2) * grad**2."
_ADAM_BETA_1_FOR_V = "you used beta_1 for v; the second moment uses beta_2."
_ADAM_T0 = ("t starts at 1: use t = step + 1 in the bias correction (step counts from 0; with t = 0 it divides by "
            "1 - beta_1**0 = 0).")


@exercise("adam_update")
def check_adam_update(adam_update):
    """Check a learner's ``adam_update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``.

    Keras' form, with ``t = step + 1``: ``m <- beta_1 * m + (1 - beta_1) * grad``,
    ``v <- beta_2 * v + (1 - beta_2) * grad**2``, ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``,
    ``update = -alpha * m / (sqrt(v) + epsilon)``.
    """
    rng = fresh_rng()
    runs = [  # (learning rate, keyword arguments, gradients, show_expected)
        (float(rng.uniform(0.001, 0.1)), {}, _grads(rng, (3,), 50, small_every=2), True),
        (float(rng.uniform(0.001, 0.1)), {"beta_1": float(rng.uniform(0.5, 0.85)),
                                          "beta_2": float(rng.uniform(0.9, 0.99)),
                                          "epsilon": float(rng.uniform(1e-3, 5e-3))},
         _grads(rng, (2, 2), 50), True),
        (0.1, {}, [np.array([5.0, 1e-3])] * 3, False),  # the first step is about lr, whatever the gradient's size
        (0.01, {"beta_1": 0.0}, [np.array([1.0, -1e-5]), np.array([-2.0, 0.0])], False),
    ]
    count = 0
    for lr, kwargs, grads, show_expected in runs:
        b1, b2 = kwargs.get("beta_1", 0.9), kwargs.get("beta_2", 0.999)
        eps = kwargs.get("epsilon", 1e-7)
        opt = optimizers.adam(lr, beta_1=b1, beta_2=b2, epsilon=eps)
        m, v = np.zeros_like(grads[0]), np.zeros_like(grads[0])
        for step, g in enumerate(grads):
            result = _unpack(call(adam_update, "adam_update", g, m, v, step, lr, **kwargs), "adam_update",
                             ("update", "m", "v"))
            update = numbers(result[0], "adam_update's update", g.shape, sample_axis_hint=False)
            new_m = numbers(result[1], "adam_update's m", g.shape, sample_axis_hint=False)
            new_v = numbers(result[2], "adam_update's v", g.shape, sample_axis_hint=False)
            state = optimizers.AdamState(step, m.astype(np.float32), v.astype(np.float32))
            expected_update, expected_state = opt.update(g, state)
            inputs = {"grad": g, "m": m, "v": v, "step": step, "learning_rate": lr, **kwargs}
            t = step + 1
            m1, v1 = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
            alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            ignored = []
            if kwargs:
                m_d, v_d = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
                alpha_d = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
                ignored = [("you ignored the beta_1 / beta_2 / epsilon arguments you were given (the defaults were "
                            "used).", -alpha_d * m_d / (np.sqrt(v_d) + 1e-7))]
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha_t0 = lr * np.sqrt(1 - b2**step) / (1 - b1**step)
            wrong_m = {_ADAM_NO_1_MINUS_B1: b1 * m + g, _ADAM_SWAPPED_B1: (1 - b1) * m + b1 * g}
            wrong_v = {_ADAM_UNSQUARED: b2 * v + (1 - b2) * g, _ADAM_NO_1_MINUS_B2: b2 * v + g**2,
                       _ADAM_BETA_1_FOR_V: b1 * v + (1 - b1) * g**2}
            with np.errstate(invalid="ignore"):  # a v built from unsquared gradients can be negative
                from_wrong_moments = [(hint, -alpha * wm / (np.sqrt(v1) + eps)) for hint, wm in wrong_m.items()]
                from_wrong_moments += [(hint, -alpha * m1 / (np.sqrt(wv) + eps)) for hint, wv in wrong_v.items()]
            _compare("adam_update's update", update, expected_update, inputs, ignored + [
                ("no bias correction: multiply the learning rate by sqrt(1 - beta_2**t) / (1 - beta_1**t), "
                 "t = step + 1.", -lr * m1 / (np.sqrt(v1) + eps)),
                ("the bias correction needs both parts: alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t).",
                 -lr / (1 - b1**t) * m1 / (np.sqrt(v1) + eps)),
                ("epsilon goes OUTSIDE the square root in Adam: m / (sqrt(v) + epsilon).",
                 -alpha * m1 / np.sqrt(v1 + eps)),
                ("that is the paper's (and PyTorch's) form m_hat / (sqrt(v_hat) + epsilon); Keras folds both "
                 "corrections into alpha and adds epsilon to sqrt(v) of the UNcorrected v: "
                 "-alpha * m / (sqrt(v) + epsilon).",
                 -lr * (m1 / (1 - b1**t)) / (np.sqrt(v1 / (1 - b2**t)) + eps)),
                ("the sign is flipped: the update goes downhill, -alpha * m / (sqrt(v) + epsilon).",
                 alpha * m1 / (np.sqrt(v1) + eps)),
                ("you used the OLD m and v in the update; update them first, then use the new ones.",
                 -alpha * m / (np.sqrt(v) + eps)),
                (_ADAM_T0, -alpha_t0 * m1 / (np.sqrt(v1) + eps)),
                *from_wrong_moments,
            ], nonfinite_hint=_ADAM_T0, show_expected=show_expected)
            _compare("adam_update's m", new_m, expected_state.m, inputs, [
                *wrong_m.items(),
                ("you returned the old m unchanged: return the NEW m so the next call can use it.", m),
            ], show_expected=show_expected)
            _compare("adam_update's v", new_v, expected_state.v, inputs, [
                *wrong_v.items(),
                ("you returned the old v unchanged: return the NEW v so the next call can use it.", v),
            ], show_expected=show_expected)
            if failing():
                m, v = np.asarray(expected_state.m, np.float64), np.asarray(expected_state.v, np.float64)
            else:
                m, v = new_m, new_v
            count += 1
    passed("adam_update", count)


def _random_surface(rng, dim):
    c = np.sort(rng.uniform(0.5, 2.0, size=dim) * np.geomspace(1.0, rng.uniform(5.0, 20.0), dim))
    center = np.round(rng.normal(size=dim), 2)
    start = np.round(center + rng.uniform(1.0, 3.0, size=dim) * rng.choice([-1.0, 1.0], size=dim), 2)
    surface = surfaces.quadratic(c, center=center, start=start, name="quadratic")
    text = f"quadratic(curvatures={show(c)}, center={show(center)}, start={show(start)})"
    return _shown_as(surface, text), c


_RAVINE = _shown_as(surfaces.ravine, "surfaces.ravine")
_ROSENBROCK = _shown_as(surfaces.rosenbrock, "surfaces.rosenbrock")


def _optimizer(kind, lr):
    lr = float(f"{lr:.4g}")  # exactly the value shown in messages
    make = {
        "sgd": (lambda: optimizers.sgd(lr), f"sgd({lr:.4g})"),
        "momentum": (lambda: optimizers.sgd(lr, momentum=0.9), f"sgd({lr:.4g}, momentum=0.9)"),
        "rmsprop": (lambda: optimizers.rmsprop(lr), f"rmsprop({lr:.4g})"),
        "adam": (lambda: optimizers.adam(lr), f"adam({lr:.4g})"),
    }[kind]
    return _shown_as(make[0](), make[1])


def _final(optimizer, surface, num_steps):
    run = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps)
    return float("inf") if run.diverged else float(run.losses[-1]), run


@exercise("final_loss")
def check_final_loss(final_loss):
    """Check a learner's ``final_loss(optimizer, surface, num_steps)``: the loss after num_steps updates, inf if
    the run diverged."""
    rng = fresh_rng()
    cases = []
    for kind, lr_range in [("sgd", (0.2, 0.9)), ("momentum", (0.05, 0.3)), ("rmsprop", (0.01, 0.1)),
                           ("adam", (0.05, 0.3))]:
        surface, c = _random_surface(rng, int(rng.integers(2, 4)))
        lr = float(rng.uniform(*lr_range) * (2 / c.max() if kind in ("sgd", "momentum") else 1.0))
        cases.append(((_optimizer(kind, lr), surface, int(rng.integers(10, 40))), True))
    surface, c = _random_surface(rng, 2)
    cases.append(((_optimizer("sgd", float(rng.uniform(1.5, 1.9) * 2 / c.max())), surface, 60), True))  # diverges
    cases += [
        ((_optimizer("adam", 0.05), _ROSENBROCK, 200), False),
        ((_optimizer("rmsprop", 0.01), _RAVINE, 0), False),  # no steps: the loss at the start
        ((_optimizer("sgd", 0.15), _RAVINE, 40), False),  # past the critical rate 0.1: diverges
    ]
    for (optimizer, surface, num_steps), show_expected in cases:
        got = numbers(call(final_loss, "final_loss", optimizer, surface, num_steps), "final_loss", (),
                      sample_axis_hint=False)
        expected, run = _final(optimizer, surface, num_steps)
        mistakes = [
            ("that is the loss at the START (losses[0]); the final loss is the last one, losses[-1].", run.losses[0]),
        ]
        if run.diverged:
            mistakes.append(("this run diverged: trajectory stopped early, so losses[-1] is only the last loss before "
                             "the blow-up, not the loss after num_steps. Return float('inf') when run.diverged.",
                             run.losses[-1]))
        else:
            longer = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps + 1)
            mistakes.append(("one step too many: trajectory(..., num_steps) already returns num_steps + 1 losses, "
                             "the start included.", longer.losses[-1]))
            if len(run.losses) > 1:
                mistakes.append(("one step too few: the final loss is losses[-1], after num_steps updates.",
                                 run.losses[-2]))
        inputs = {"optimizer": optimizer, "surface": surface, "num_steps": num_steps}
        if np.isinf(expected):
            if not np.isinf(got) or got < 0:
                hints = [hint for hint, value in mistakes if np.isclose(got, value, rtol=1e-5)]
                lines = ["final_loss is not right yet."]
                lines += [f"input     {key} = {show(value)}" for key, value in inputs.items()]
                if show_expected:
                    lines.append("expected  inf (the run diverged)")
                lines.append(f"got       {show(got)}")
                fail("final_loss", lines, hints or [
                    "a run that diverges (run.diverged is True) has no final loss: return float('inf')."])
        else:
            _compare("final_loss", got, expected, inputs, mistakes, show_expected=show_expected, rtol=1e-5,
                     nonfinite_hint="this run did not diverge (run.diverged is False): return its last loss.")
    passed("final_loss", len(cases))


def _factory(kind):
    names = {"sgd": "sgd(lr)", "momentum": "sgd(lr, momentum=0.9)", "rmsprop": "rmsprop(lr)", "adam": "adam(lr)"}
    return _Described(lambda lr: _optimizer(kind, float(lr)), f"lambda lr: {names[kind]}")


@exercise("best_learning_rate")
def check_best_learning_rate(best_learning_rate):
    """Check a learner's ``best_learning_rate(make_optimizer, surface, candidates, num_steps)``: the candidate
    with the lowest final loss (diverged runs count as inf)."""
    rng = fresh_rng()
    cases = []
    for kind in ("sgd", "momentum", "rmsprop", "adam"):
        for _ in range(50):  # draw until one candidate is clearly the best
            surface, c = _random_surface(rng, 2)
            low = float(rng.uniform(0.002, 0.01) if kind in ("rmsprop", "adam") else rng.uniform(0.2, 0.5) / c.max())
            candidates = [float(v) for v in rng.permutation(low * 2.0 ** np.arange(6))]
            num_steps = int(rng.integers(15, 40))
            make = _factory(kind)
            finals = sorted(_final(make(lr), surface, num_steps)[0] for lr in candidates)
            if finals[0] < 0.9 * finals[1]:
                break
        cases.append(((make, surface, candidates, num_steps), True))
    cases += [
        ((_factory("sgd"), _RAVINE, [0.2, 0.05, 0.09, 0.001], 50), False),
        ((_factory("adam"), _ROSENBROCK, [0.001, 0.01, 0.1, 0.3], 300), False),
    ]
    for (make, surface, candidates, num_steps), show_expected in cases:
        got = numbers(call(best_learning_rate, "best_learning_rate", make, surface, list(candidates), num_steps),
                      "best_learning_rate", (), sample_axis_hint=False)
        finals = np.array([_final(make(lr), surface, num_steps)[0] for lr in candidates])
        best = int(np.argmin(finals))
        ordered = np.nan_to_num(finals, posinf=np.finfo(float).max)
        mistakes = [
            ("you returned the best run's LOSS; return its learning rate.", finals[best]),
            ("you returned the position in the list; return the learning rate itself, candidates[i].", best),
            ("that learning rate gave the HIGHEST final loss: pick the lowest (min, np.argmin).",
             candidates[int(np.argmax(ordered))]),
        ]
        inputs = {"make_optimizer": make, "surface": surface, "candidates": candidates, "num_steps": num_steps}
        _compare("best_learning_rate", got, candidates[best], inputs, mistakes, show_expected=show_expected,
                 rtol=1e-9)
    passed("best_learning_rate", len(cases))
