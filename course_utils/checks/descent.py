"""The exercises of lessons 03 (gradient descent) and 04 (optimizers): one definition each.

Each :class:`~course_utils.checks.definition.Exercise` here is the whole exercise: its inputs (fresh random
ones and fixed edge cases), its numpy reference, and its typical mistakes with their one hint each. The
learner's ``check_adam_update(adam_update)`` runs it in the kernel; the grader runs the same definition
(:mod:`course_utils.grade.rubric`). Functions, optimizers and surfaces are handed over as
:class:`~course_utils.checks.definition.Code`, shown in messages as their formula.

The optimizer updates follow Keras 3 exactly, as :mod:`course_utils.optimizers` does. Their cases are runs:
call after call, each from the state (velocity, m, v) the reference reached after the call before, so the
self-check and the grader both see the states a real run goes through.
"""

from __future__ import annotations

import numpy as np

from course_utils import optimizers
from course_utils.checks.definition import Case, Code, Exercise, Mistake, check_for
from course_utils.checks.engine import show

# ---- lesson 03: gradient descent --------------------------------------------------------------------------------


def _cubic(a, b, c):
    """The test function f(x) = sum(a x^3) + sum(b x)^2 + sum(c x) (not separable), shown with its pieces."""
    a, b, c = (np.round(np.asarray(v, dtype=float), 3) for v in (a, b, c))
    arrays = [f"np.array({v.tolist()})" for v in (a, b, c)]
    source = f"lambda x: float(np.sum({arrays[0]} * x**3) + np.sum({arrays[1]} * x) ** 2 + np.sum({arrays[2]} * x))"
    return Code(source, f"f(x) = sum(a * x**3) + sum(b * x)**2 + sum(c * x), a = {show(a)}, b = {show(b)}, "
                        f"c = {show(c)}")


def _gradient_cases(rng):
    """Random functions and points (the ones with eps first), then two fixed edge cases."""
    cases = []
    for shape, eps in [((4,), 0.1), ((2, 3), float(np.round(rng.uniform(0.01, 0.2), 4))), ((3,), None),
                       ((2, 2), None)]:
        f = _cubic(rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape),
                   rng.normal(size=shape), rng.normal(size=shape))
        kwargs = {} if eps is None else {"eps": eps}
        cases.append(Case((f, rng.normal(size=shape)), kwargs,
                          f"a random point of shape {shape}" + (f", eps={eps}" if kwargs else "")))
    return cases + [
        Case((_cubic([1.5], [-0.5], [0.3]), np.array([-1.5])), {"eps": 0.5}, "one coordinate", edge=True),
        Case((_cubic([[1.0], [-2.0], [0.5]], [[0.3], [-1.0], [0.8]], [[1.0], [0.0], [-0.4]]),
              np.array([[-1.5], [-0.25], [1.0]])), {"eps": 0.05}, "a column vector", edge=True),
    ]


def _numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def _central(f, x, eps, two=2.0, forward=False):
    """Central (or forward) differences along every coordinate."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[i] = eps
        grad[i] = (f(x + step) - f(x)) / eps if forward else (f(x + step) - f(x - step)) / (two * eps)
    return grad


def _gradient_mistakes(f, x, eps=1e-6):
    found = [
        Mistake("that is the forward difference (f(x + eps) - f(x)) / eps; the central difference "
                "(f(x + eps) - f(x - eps)) / (2 * eps) is far more accurate.", _central(f, x, eps, forward=True)),
        Mistake("you divided by eps instead of 2 * eps: the two points are 2 * eps apart.",
                _central(f, x, eps, two=1.0)),
        Mistake("you nudged every coordinate at once, so every entry got the same number; nudge ONE coordinate at "
                "a time (a step that is eps at index i and 0 elsewhere).",
                np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))),
        Mistake("every entry is 0: x_plus and x_minus are the same array (x_plus = x does not copy); use x.copy().",
                np.zeros(x.shape)),
        Mistake("you ignored the eps argument: use the eps you are given for the step.", _central(f, x, 1e-6)),
    ]
    if x.ndim > 1:
        rows = np.zeros(x.shape)
        for r in range(x.shape[0]):
            step = np.zeros(x.shape)
            step[r] = eps
            rows[r] = (f(x + step) - f(x - step)) / (2 * eps)
        found.append(Mistake("x can be a matrix: nudge every single entry (loop over np.ndindex(x.shape)), not "
                             "whole rows.", rows))
    return found


def _gradient_shape(got, expected):
    if len(expected) > 1 and got == expected[:1]:
        return ("x can be a matrix: make the result the shape of x (np.zeros_like(x)) and visit every single entry "
                "(np.ndindex(x.shape)), not only range(len(x)).")
    return ""


NUMERICAL_GRADIENT = Exercise(
    "numerical_gradient", _gradient_cases, _numerical_gradient, ("f", "x"), _gradient_mistakes, rtol=1e-6, atol=1e-7,
    shape_hint=_gradient_shape,
    unchanged=((1, "work on a copy: x_plus = x.copy(), then change x_plus[i] (x_plus = x does NOT copy; it is the "
                   "same array under a second name)."),), points=3)


def _linear_data(rng, n, d):
    x = rng.normal(size=(n, d))
    return x, x @ (rng.normal(size=d) * 2) + float(rng.normal() * 2) + rng.normal(size=n) * 0.3


def _mse_gradient_cases(rng):
    cases = []
    for n, d in [(8, 3), (int(rng.integers(5, 15)), 2), (6, 1), (int(rng.integers(10, 30)), 4)]:
        x, y = _linear_data(rng, n, d)
        cases.append(Case((rng.normal(size=d), float(rng.normal()), x, y), {},
                          f"random data of {n} samples and {d} features"))
    x_fixed = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]])
    return cases + [
        Case((np.array([1.0, -1.0]), 0.5, x_fixed, x_fixed @ np.array([1.0, -1.0]) + 0.5), {}, "a perfect fit",
             edge=True),
        Case((np.array([0.0]), 0.0, np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([2.0, 4.0, 6.0, 8.0])), {},
             "starting from zero", edge=True),
    ]


def _mse_gradient(w, b, x, y):
    error = x @ w + b - y
    return 2 * x.T @ error / len(y), 2 * np.mean(error)


def _mse_gradient_mistakes(w, b, x, y):
    n = len(y)
    error = x @ w + b - y
    dw, db = 2 * x.T @ error / n, 2 * np.mean(error)
    return [
        Mistake("you forgot the factor 2 from the square: d(e**2)/de = 2 * e.", dw / 2),
        Mistake("the sign is flipped: the error is prediction - y (x @ w + b - y), not y - prediction.", -dw),
        Mistake("you summed over the samples; the cost is a MEAN, so divide by the number of samples n.", dw * n),
        Mistake("you summed over the samples and forgot the 2.", dw * n / 2),
        Mistake("you forgot the factor 2 from the square in db.", db / 2, 1),
        Mistake("the sign of db is flipped: the error is prediction - y.", -db, 1),
        Mistake("db is a sum over the samples; the cost is a MEAN, so average (np.mean).", db * n, 1),
        Mistake("you forgot db: the bias also gets a gradient, 2 * mean(error).", 0.0, 1),
    ]


def _mse_gradient_shape(got, expected):
    if expected == ():
        return "the bias is one number, so db is one number (average over the samples)."
    if len(got) == 1:
        return ("you returned one number per sample; dw needs one number per weight: weight j collects feature j "
                "times the error over all samples (a matrix product with the transpose of x).")
    return ("sum (average) over the samples with a matrix product with the transpose of x, not an element-wise "
            "product." if expected[0] in got else "")


MSE_GRADIENT = Exercise("mse_gradient", _mse_gradient_cases, _mse_gradient, ("w", "b", "x", "y"),
                        _mse_gradient_mistakes, rtol=1e-6, atol=1e-9, returns=2, parts=("dw", "db"),
                        shape_hint=_mse_gradient_shape, points=3)


def _bowl(rng, dim):
    c, center = np.round(rng.uniform(0.5, 5.0, size=dim), 3), np.round(rng.normal(size=dim), 3)
    return Code(f"lambda w: np.array({c.tolist()}) * (w - np.array({center.tolist()}))",
                f"grad_fn(w) = c * (w - center), c = {show(c)}, center = {show(center)}"), c


# the gradient of surfaces.rosenbrock, written out: a gradient_descent answer may not call course_utils
_BANANA = Code("lambda w: np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0]**2), 200 * (w[1] - w[0]**2)])",
               "grad_fn = the gradient of Rosenbrock's banana")


def _descent_cases(rng):
    cases = []
    for dim in (2, 1, 3):
        grad_fn, c = _bowl(rng, dim)
        lr, steps = float(np.round(rng.uniform(0.1, 0.9) / c.max(), 4)), int(rng.integers(4, 12))
        cases.append(Case((grad_fn, rng.normal(size=dim) * 3, lr, steps), {},
                          f"a random bowl in {dim}-D, {steps} steps"))
    cases.append(Case((_BANANA, rng.uniform(-1.5, 1.5, size=2), float(rng.uniform(1e-4, 1e-3)), 6), {},
                      "Rosenbrock's banana from a random start, 6 steps"))
    shifted = Code("lambda w: w - 3.0", "grad_fn(w) = w - 3")
    return cases + [Case((shifted, np.array([1.0, -1.0]), 0.5, 0), {}, "no steps: only the start", edge=True),
                    Case((shifted, np.array([0.0]), 2.5, 5), {}, "too large a step: it diverges", edge=True)]


def _gradient_descent(grad_fn, w0, learning_rate, num_steps):
    points = [np.array(w0, dtype=float)]
    for _ in range(num_steps):
        points.append(points[-1] - learning_rate * grad_fn(points[-1]))
    return np.array(points)


def _descent(grad_fn, w0, learning_rate, num_steps, sign=-1.0):
    points = [np.array(w0, dtype=float)]
    for _ in range(num_steps):
        points.append(points[-1] + sign * learning_rate * np.asarray(grad_fn(points[-1]), dtype=float))
    return np.array(points)


def _descent_mistakes(grad_fn, w0, learning_rate, num_steps):
    right = _descent(grad_fn, w0, learning_rate, num_steps)
    return [
        Mistake("you stepped UPHILL: subtract the gradient, w - learning_rate * grad_fn(w).",
                _descent(grad_fn, w0, learning_rate, num_steps, sign=1.0)),
        Mistake("you forgot to multiply the gradient by the learning rate.", _descent(grad_fn, w0, 1.0, num_steps)),
        Mistake("every row is the last point: you appended the same array each time and then changed it in place "
                "(w -= ...); build a new array each step: w = w - learning_rate * grad_fn(w).",
                np.repeat(right[-1:], num_steps + 1, axis=0)),
        Mistake("the first row must be w0 itself (the start), then the point after each step.",
                _descent(grad_fn, w0, learning_rate, num_steps + 1)[1:]),
    ]


def _descent_shape(got, expected):
    points, dim = expected
    return {
        (dim,): "you returned only one point; return every point (w0 first), stacked with np.array(points).",
        (points - 1, dim): "one row short: the first row is w0 itself, then one row per step.",
        (points + 1, dim): "one row too many: num_steps updates give num_steps + 1 points, w0 included.",
        (dim, points): "transposed: one ROW per point.",
    }.get(got, "")


GRADIENT_DESCENT = Exercise(
    "gradient_descent", _descent_cases, _gradient_descent, ("grad_fn", "w0", "learning_rate", "num_steps"),
    _descent_mistakes, rtol=1e-7, atol=1e-9, shape_hint=_descent_shape,
    unchanged=((1, "`w = w0` does not copy, so `w -= ...` changed w0 too; write `w = w - learning_rate * grad_fn(w)` "
                   "(a new array each step) or start from w = w0.copy()."),), points=3)


def _fit_cases(rng):
    cases = []
    for n, d in [(int(rng.integers(8, 20)), 2), (int(rng.integers(8, 20)), 1), (int(rng.integers(15, 30)), 3)]:
        x, y = _linear_data(rng, n, d)
        steps = int(rng.integers(8, 30))
        cases.append(Case((x, y, float(rng.uniform(0.02, 0.1)), steps), {},
                          f"random data of {n} samples and {d} features, {steps} steps"))
    x_fixed, y_fixed = np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([3.0, 5.0, 7.0, 9.0])
    return cases + [Case((x_fixed, y_fixed, 0.05, 0), {}, "no steps: still zeros", edge=True),
                    Case((x_fixed, y_fixed, 0.05, 500), {}, "long enough to reach w = 2, b = 1", edge=True)]


def _fit_linear(x, y, learning_rate, num_steps):
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(num_steps):
        error = x @ w + b - y
        dw, db = 2 * x.T @ error / len(y), 2 * np.mean(error)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b


def _fit(x, y, lr, num_steps, *, sign=-1.0, update_b=True, sequential=False):
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    for _ in range(num_steps):
        error = x @ w + b - y
        w = w + sign * lr * 2 * x.T @ error / n
        if sequential:
            error = x @ w + b - y
        if update_b:
            b = b + sign * lr * 2 * float(np.mean(error))
    return w, b


def _fit_mistakes(x, y, learning_rate, num_steps):
    lr = learning_rate
    variants = [
        ("you stepped uphill: subtract learning_rate * gradient.", _fit(x, y, lr, num_steps, sign=1.0)),
        ("b never moved: update the bias too, b = b - learning_rate * db.", _fit(x, y, lr, num_steps, update_b=False)),
        ("you computed db after updating w: take both gradients at the same point, then update.",
         _fit(x, y, lr, num_steps, sequential=True)),
        ("one step too few: run exactly num_steps updates (range(num_steps)).", _fit(x, y, lr, max(num_steps - 1, 0))),
        ("one step too many: run exactly num_steps updates (range(num_steps)).", _fit(x, y, lr, num_steps + 1)),
    ]
    return ([Mistake(hint, wb[0]) for hint, wb in variants]
            + [Mistake("w did not move: start from zeros and update w every step.", np.zeros(x.shape[1]))]
            + [Mistake(hint, wb[1], 1) for hint, wb in variants])


FIT_LINEAR = Exercise("fit_linear", _fit_cases, _fit_linear, ("x", "y", "learning_rate", "num_steps"), _fit_mistakes,
                      rtol=1e-6, atol=1e-9, returns=2, parts=("w", "b"),
                      shape_hint=lambda got, expected: "the bias is one number." if expected == () else "", points=2)

LESSON_03 = (NUMERICAL_GRADIENT, MSE_GRADIENT, GRADIENT_DESCENT, FIT_LINEAR)

# ---- lesson 04: optimizers (Keras 3 semantics, as in course_utils.optimizers) --------------------------------------

#: Each momentum run's learning rate shrinks by this factor every call, as under a schedule: that is where
#: PyTorch's form of momentum gives other updates than Keras'.
DECAY = 0.9


def _grads(rng, shape, count, small_every=0):
    """``count`` random gradients; every ``small_every``-th one tiny, where epsilon matters."""
    grads = []
    for k in range(count):
        scale = 1e-3 if small_every and k % small_every == 0 else float(rng.uniform(0.3, 3.0))
        grads.append(rng.normal(size=shape) * scale)
    return grads


def _momentum_cases(rng):
    """Runs of calls, each from the velocity the call before reached: (momentum, first learning rate, gradients)."""
    runs = [(float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.05, 0.2)), _grads(rng, shape, 30), False)
            for shape in [(3,), (2, 2)]]
    runs += [(0.0, 0.1, [np.array([1.0, -2.0]), np.array([0.5, 0.5])] * 2, True),  # plain SGD
             (0.9, 0.1, [np.array([1.0, -1.0])] * 4, True)]  # the same gradient again and again
    cases = []
    for momentum, lr, grads, edge in runs:
        velocity = np.zeros_like(grads[0])
        for k, grad in enumerate(grads):
            rate = lr * DECAY**k
            cases.append(Case((grad, velocity, rate, momentum), {}, f"call {k + 1} of a run with momentum "
                              f"{momentum:.3g}", edge))
            velocity = momentum * velocity - rate * grad
    return cases


def _sgd_momentum_update(grad, velocity, learning_rate, momentum):
    velocity = momentum * velocity - learning_rate * grad
    return velocity, velocity


_TORCH_HIDDEN = (
    "that is PyTorch's form: it keeps the velocity WITHOUT the learning rate (buffer = momentum * buffer + grad) and "
    "multiplies afterwards (update = -learning_rate * buffer). With a learning rate that changes from call to call "
    "the two forms differ; Keras keeps it inside: velocity = momentum * velocity - learning_rate * grad, "
    "update = velocity."
)


def _momentum_mistakes(grad, velocity, learning_rate, momentum):
    g, v, lr, mu = grad, velocity, learning_rate, momentum
    hidden = []
    if mu and np.any(v):  # PyTorch's buffer recovered from the velocity of the call before, at lr / DECAY
        hidden = [Mistake(_TORCH_HIDDEN, mu * DECAY * v - lr * g, part) for part in (0, 1)]
    return hidden + [
        Mistake("the sign is flipped: velocity = momentum * velocity - learning_rate * grad (minus: downhill).",
                mu * v + lr * g),
        Mistake("that is PyTorch's form, -learning_rate * (momentum * velocity + grad); in Keras' form the velocity "
                "already holds the learning rate, and the update IS the new velocity.", -lr * (mu * v + g)),
        Mistake("your update ignores the velocity: in Keras' form the update is the new velocity.", -lr * g),
        Mistake("you returned the OLD velocity as the update; compute the new velocity first, then use it.", v),
        Mistake("that is PyTorch's velocity, momentum * velocity + grad; Keras keeps the learning rate INSIDE the "
                "velocity: momentum * velocity - learning_rate * grad.", mu * v + g, 1),
        Mistake("that is PyTorch's velocity with a minus sign; Keras keeps the learning rate INSIDE the velocity: "
                "momentum * velocity - learning_rate * grad.", mu * v - g, 1),
        Mistake("you returned the old velocity unchanged: return the NEW velocity so the next call can use it.", v, 1),
        Mistake("the sign is flipped: velocity = momentum * velocity - learning_rate * grad.", mu * v + lr * g, 1),
    ]


SGD_MOMENTUM_UPDATE = Exercise(
    "sgd_momentum_update", _momentum_cases, _sgd_momentum_update, ("grad", "velocity", "learning_rate", "momentum"),
    _momentum_mistakes, rtol=1e-4, atol=1e-10, scaled_atol=1e-6, returns=2, parts=("update", "new_velocity"), points=3)

_RMS_NO_1_MINUS_RHO = "you forgot (1 - rho): velocity = rho * velocity + (1 - rho) * grad**2."
_RMS_UNSQUARED = ("the velocity averages the SQUARED gradient, (1 - rho) * grad**2, not grad: it can never be "
                  "negative (a square root of a negative velocity is NaN).")
_RMS_SWAPPED = "rho and (1 - rho) are swapped: rho weighs the OLD velocity."


def _rmsprop_cases(rng):
    """Runs of calls, each from the velocity the call before reached: (learning rate, keywords, gradients)."""
    runs = [
        (float(rng.uniform(0.001, 0.05)), {}, _grads(rng, (3,), 30, small_every=3), False),
        (float(rng.uniform(0.001, 0.05)), {"rho": float(rng.uniform(0.7, 0.95)),
                                           "epsilon": float(rng.uniform(1e-3, 5e-3))}, _grads(rng, (2, 2), 30), False),
        (0.01, {"rho": 0.0}, [np.array([2.0, -1e-4]), np.array([0.0, 1.0])], True),
        (0.1, {}, [np.array([1e-4, 5.0])] * 3, True),
    ]
    cases = []
    for lr, kwargs, grads, edge in runs:
        rho = kwargs.get("rho", 0.9)
        velocity = np.zeros_like(grads[0])
        for k, grad in enumerate(grads):
            cases.append(Case((grad, velocity, lr), kwargs, f"call {k + 1} of a run", edge))
            velocity = rho * velocity + (1 - rho) * grad**2
    return cases


def _rmsprop_update(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7):
    velocity = rho * velocity + (1 - rho) * grad**2
    return -learning_rate * grad / np.sqrt(velocity + epsilon), velocity


def _rmsprop_mistakes(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7):
    g, lr, eps = grad, learning_rate, epsilon
    v = rho * velocity + (1 - rho) * g**2
    ignored = []
    if (rho, eps) != (0.9, 1e-7):
        ignored = [Mistake("you ignored the rho / epsilon arguments you were given (the defaults were used).",
                           -lr * g / np.sqrt(0.9 * velocity + 0.1 * g**2 + 1e-7))]
    return ignored + [
        Mistake("epsilon goes INSIDE the square root in Keras: grad / sqrt(velocity + epsilon).",
                -lr * g / (np.sqrt(v) + eps)),
        Mistake("the sign is flipped: the update goes downhill, -learning_rate * grad / sqrt(velocity + epsilon).",
                lr * g / np.sqrt(v + eps)),
        Mistake("you divided by the OLD velocity; update the velocity first, then divide by the new one.",
                -lr * g / np.sqrt(velocity + eps)),
        Mistake("you forgot the square root: divide by sqrt(velocity + epsilon).", -lr * g / (v + eps)),
        Mistake(_RMS_NO_1_MINUS_RHO, -lr * g / np.sqrt(rho * velocity + g**2 + eps)),
        Mistake(_RMS_UNSQUARED, -lr * g / np.sqrt(rho * velocity + (1 - rho) * g + eps)),
        Mistake(_RMS_SWAPPED, -lr * g / np.sqrt((1 - rho) * velocity + rho * g**2 + eps)),
        Mistake(_RMS_NO_1_MINUS_RHO, rho * velocity + g**2, 1),
        Mistake(_RMS_UNSQUARED, rho * velocity + (1 - rho) * g, 1),
        Mistake("you returned the old velocity unchanged: return the NEW velocity so the next call can use it.",
                velocity, 1),
        Mistake(_RMS_SWAPPED, (1 - rho) * velocity + rho * g**2, 1),
    ]


RMSPROP_UPDATE = Exercise(
    "rmsprop_update", _rmsprop_cases, _rmsprop_update, ("grad", "velocity", "learning_rate"), _rmsprop_mistakes,
    rtol=1e-4, atol=1e-10, scaled_atol=1e-6, returns=2, parts=("update", "new_velocity"), nonfinite_hint=_RMS_UNSQUARED,
    points=3)

_ADAM_NO_1_MINUS_B1 = "you forgot (1 - beta_1): m = beta_1 * m + (1 - beta_1) * grad."
_ADAM_SWAPPED_B1 = "beta_1 and (1 - beta_1) are swapped: beta_1 weighs the OLD m."
_ADAM_UNSQUARED = "v averages the SQUARED gradient: (1 - beta_2) * grad**2."
_ADAM_NO_1_MINUS_B2 = "you forgot (1 - beta_2): v = beta_2 * v + (1 - beta_2) * grad**2."
_ADAM_BETA_1_FOR_V = "you used beta_1 for v; the second moment uses beta_2."
_ADAM_T0 = ("t starts at 1: use t = step + 1 in the bias correction (step counts from 0; with t = 0 it divides by "
            "1 - beta_1**0 = 0).")


def _adam_cases(rng):
    """Runs of calls, each from the m and v the call before reached: (learning rate, keywords, gradients)."""
    runs = [
        (float(rng.uniform(0.001, 0.1)), {}, _grads(rng, (3,), 50, small_every=2), False),
        (float(rng.uniform(0.001, 0.1)), {"beta_1": float(rng.uniform(0.5, 0.85)),
                                          "beta_2": float(rng.uniform(0.9, 0.99)),
                                          "epsilon": float(rng.uniform(1e-3, 5e-3))}, _grads(rng, (2, 2), 50), False),
        (0.1, {}, [np.array([5.0, 1e-3])] * 3, True),  # the first step is about lr, whatever the gradient's size
        (0.01, {"beta_1": 0.0}, [np.array([1.0, -1e-5]), np.array([-2.0, 0.0])], True),
    ]
    cases = []
    for lr, kwargs, grads, edge in runs:
        b1, b2 = kwargs.get("beta_1", 0.9), kwargs.get("beta_2", 0.999)
        m, v = np.zeros_like(grads[0]), np.zeros_like(grads[0])
        for step, grad in enumerate(grads):
            cases.append(Case((grad, m, v, step, lr), kwargs, f"call {step + 1} of a run", edge))
            m, v = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad**2
    return cases


def _adam_update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    t = step + 1
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return -alpha * m / (np.sqrt(v) + epsilon), m, v


def _adam_mistakes(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    g, lr, b1, b2, eps, t = grad, learning_rate, beta_1, beta_2, epsilon, step + 1
    m1, v1 = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
    alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    ignored = []
    if (b1, b2, eps) != (0.9, 0.999, 1e-7):
        m_d, v_d = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        ignored = [Mistake("you ignored the beta_1 / beta_2 / epsilon arguments you were given (the defaults were "
                           "used).", -lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m_d / (np.sqrt(v_d) + 1e-7))]
    wrong_m = {_ADAM_NO_1_MINUS_B1: b1 * m + g, _ADAM_SWAPPED_B1: (1 - b1) * m + b1 * g}
    wrong_v = {_ADAM_UNSQUARED: b2 * v + (1 - b2) * g, _ADAM_NO_1_MINUS_B2: b2 * v + g**2,
               _ADAM_BETA_1_FOR_V: b1 * v + (1 - b1) * g**2}
    return ignored + [
        Mistake("no bias correction: multiply the learning rate by sqrt(1 - beta_2**t) / (1 - beta_1**t), "
                "t = step + 1.", -lr * m1 / (np.sqrt(v1) + eps)),
        Mistake("the bias correction needs both parts: alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t).",
                -lr / (1 - b1**t) * m1 / (np.sqrt(v1) + eps)),
        Mistake("epsilon goes OUTSIDE the square root in Adam: m / (sqrt(v) + epsilon).",
                -alpha * m1 / np.sqrt(v1 + eps)),
        Mistake("that is the paper's (and PyTorch's) form m_hat / (sqrt(v_hat) + epsilon); Keras folds both "
                "corrections into alpha and adds epsilon to sqrt(v) of the UNcorrected v: "
                "-alpha * m / (sqrt(v) + epsilon).", -lr * (m1 / (1 - b1**t)) / (np.sqrt(v1 / (1 - b2**t)) + eps)),
        Mistake("the sign is flipped: the update goes downhill, -alpha * m / (sqrt(v) + epsilon).",
                alpha * m1 / (np.sqrt(v1) + eps)),
        Mistake("you used the OLD m and v in the update; update them first, then use the new ones.",
                -alpha * m / (np.sqrt(v) + eps)),
        Mistake(_ADAM_T0, -lr * np.sqrt(1 - b2**step) / (1 - b1**step) * m1 / (np.sqrt(v1) + eps)),
        *[Mistake(hint, -alpha * wm / (np.sqrt(v1) + eps)) for hint, wm in wrong_m.items()],
        *[Mistake(hint, -alpha * m1 / (np.sqrt(wv) + eps)) for hint, wv in wrong_v.items()],
        *[Mistake(hint, wm, 1) for hint, wm in wrong_m.items()],
        Mistake("you returned the old m unchanged: return the NEW m so the next call can use it.", m, 1),
        *[Mistake(hint, wv, 2) for hint, wv in wrong_v.items()],
        Mistake("you returned the old v unchanged: return the NEW v so the next call can use it.", v, 2),
    ]


ADAM_UPDATE = Exercise(
    "adam_update", _adam_cases, _adam_update, ("grad", "m", "v", "step", "learning_rate"), _adam_mistakes,
    rtol=1e-4, atol=1e-10, scaled_atol=1e-6, returns=3, parts=("update", "m", "v"), nonfinite_hint=_ADAM_T0, points=4)


def _surface(rng, dim):
    """A random quadratic bowl, with its curvatures."""
    c = np.round(np.sort(rng.uniform(0.5, 2.0, size=dim) * np.geomspace(1.0, rng.uniform(5.0, 20.0), dim)), 3)
    center = np.round(rng.normal(size=dim), 2)
    start = np.round(center + rng.uniform(1.0, 3.0, size=dim) * rng.choice([-1.0, 1.0], size=dim), 2)
    return Code(f"surfaces.quadratic({c.tolist()}, center={center.tolist()}, start={start.tolist()})",
                f"quadratic(curvatures={show(c)}, center={show(center)}, start={show(start)})"), c


_RAVINE, _ROSENBROCK = Code("surfaces.ravine"), Code("surfaces.rosenbrock")
_MAKERS = {"sgd": "sgd({})", "momentum": "sgd({}, momentum=0.9)", "rmsprop": "rmsprop({})", "adam": "adam({})"}


def _optimizer(kind, lr):
    text = _MAKERS[kind].format(f"{lr:.4g}")  # the source is exactly what messages show
    return Code(f"optimizers.{text}", text)


def _factory(kind):
    return Code(f"lambda lr: optimizers.{_MAKERS[kind].format('lr')}", f"lambda lr: {_MAKERS[kind].format('lr')}")


def _final(optimizer, surface, num_steps):
    run = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps)
    return float("inf") if run.diverged else float(run.losses[-1]), run


def _final_loss_cases(rng):
    cases = []
    for kind, lr_range in [("sgd", (0.2, 0.9)), ("momentum", (0.05, 0.3)), ("rmsprop", (0.01, 0.1)),
                           ("adam", (0.05, 0.3))]:
        surface, c = _surface(rng, int(rng.integers(2, 4)))
        lr = float(rng.uniform(*lr_range) * (2 / c.max() if kind in ("sgd", "momentum") else 1.0))
        steps = int(rng.integers(10, 40))
        cases.append(Case((_optimizer(kind, lr), surface, steps), {}, f"{kind} on a random bowl, {steps} steps"))
    surface, c = _surface(rng, 2)
    cases.append(Case((_optimizer("sgd", float(rng.uniform(1.5, 1.9) * 2 / c.max())), surface, 60), {},
                      "sgd on a random bowl, past its critical learning rate"))
    return cases + [
        Case((_optimizer("adam", 0.05), _ROSENBROCK, 200), {}, "adam on Rosenbrock's banana", edge=True),
        Case((_optimizer("rmsprop", 0.01), _RAVINE, 0), {}, "no steps: the loss at the start", edge=True),
        Case((_optimizer("sgd", 0.15), _RAVINE, 40), {}, "sgd past the ravine's critical rate 0.1", edge=True),
    ]


def _final_loss(optimizer, surface, num_steps):
    run = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps)
    return float("inf") if run.diverged else float(run.losses[-1])


_DIVERGED = "a run that diverges (run.diverged is True) has no final loss: return float('inf')."


def _final_loss_mistakes(optimizer, surface, num_steps):
    _, run = _final(optimizer, surface, num_steps)
    found = [Mistake("that is the loss at the START (losses[0]); the final loss is the last one, losses[-1].",
                     run.losses[0])]
    if run.diverged:
        return found + [
            Mistake("this run diverged: trajectory stopped early, so losses[-1] is only the last loss before the "
                    "blow-up, not the loss after num_steps. Return float('inf') when run.diverged.", run.losses[-1]),
            Mistake(_DIVERGED, -np.inf), Mistake(_DIVERGED, np.nan)]
    longer = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps + 1)
    found.append(Mistake("one step too many: trajectory(..., num_steps) already returns num_steps + 1 losses, the "
                         "start included.", longer.losses[-1]))
    if len(run.losses) > 1:
        found.append(Mistake("one step too few: the final loss is losses[-1], after num_steps updates.",
                             run.losses[-2]))
    return found


FINAL_LOSS = Exercise(
    "final_loss", _final_loss_cases, _final_loss, ("optimizer", "surface", "num_steps"), _final_loss_mistakes,
    rtol=1e-5, atol=1e-12, nonfinite_hint="this run did not diverge (run.diverged is False): return its last loss.",
    points=2)


def _best_lr_cases(rng):
    cases = []
    for kind in ("sgd", "momentum", "rmsprop", "adam"):
        make = _factory(kind)
        for _ in range(50):  # draw until one candidate is clearly the best
            surface, c = _surface(rng, 2)
            low = float(rng.uniform(0.002, 0.01) if kind in ("rmsprop", "adam") else rng.uniform(0.2, 0.5) / c.max())
            candidates = [float(f"{v:.4g}") for v in rng.permutation(low * 2.0 ** np.arange(6))]
            steps = int(rng.integers(15, 40))
            finals = sorted(_final(make.build()(lr), surface.build(), steps)[0] for lr in candidates)
            if finals[0] < 0.9 * finals[1]:
                break
        cases.append(Case((make, surface, candidates, steps), {}, f"{kind} on a random bowl, {steps} steps"))
    return cases + [
        Case((_factory("sgd"), _RAVINE, [0.2, 0.05, 0.09, 0.001], 50), {}, "sgd on the ravine", edge=True),
        Case((_factory("adam"), _ROSENBROCK, [0.001, 0.01, 0.1, 0.3], 300), {}, "adam on Rosenbrock's banana",
             edge=True),
    ]


def _best_learning_rate(make_optimizer, surface, candidates, num_steps):
    def final(lr):
        run = optimizers.trajectory(make_optimizer(lr), surface.loss, surface.grad, surface.start, num_steps)
        return float("inf") if run.diverged else float(run.losses[-1])

    return min(candidates, key=final)


def _best_lr_mistakes(make_optimizer, surface, candidates, num_steps):
    finals = np.array([_final(make_optimizer(lr), surface, num_steps)[0] for lr in candidates])
    best = int(np.argmin(finals))
    return [
        Mistake("you returned the best run's LOSS; return its learning rate.", finals[best]),
        Mistake("you returned the position in the list; return the learning rate itself, candidates[i].", best),
        Mistake("that learning rate gave the HIGHEST final loss: pick the lowest (min, np.argmin).",
                candidates[int(np.argmax(np.nan_to_num(finals, posinf=np.finfo(float).max)))]),
    ]


BEST_LEARNING_RATE = Exercise(
    "best_learning_rate", _best_lr_cases, _best_learning_rate, ("make_optimizer", "surface", "candidates", "num_steps"),
    _best_lr_mistakes, rtol=1e-9, atol=1e-12, points=2)

LESSON_04 = (SGD_MOMENTUM_UPDATE, RMSPROP_UPDATE, ADAM_UPDATE, FINAL_LOSS, BEST_LEARNING_RATE)

# ---- the learner's checks ---------------------------------------------------------------------------------------

check_numerical_gradient = check_for(
    NUMERICAL_GRADIENT, "Check a learner's ``numerical_gradient(f, x, eps=1e-6)`` (central differences, x of any "
    "shape, x itself left as it was).")
check_mse_gradient = check_for(
    MSE_GRADIENT, "Check a learner's ``mse_gradient(w, b, x, y) -> (dw, db)`` for the cost mean((x @ w + b - y)**2).")
check_gradient_descent = check_for(
    GRADIENT_DESCENT, "Check a learner's ``gradient_descent(grad_fn, w0, learning_rate, num_steps)`` -> every point, "
    "w0 first (w0 itself left as it was).")
check_fit_linear = check_for(
    FIT_LINEAR, "Check a learner's ``fit_linear(x, y, learning_rate, num_steps) -> (w, b)`` (gradient descent from "
    "zeros).")
check_sgd_momentum_update = check_for(
    SGD_MOMENTUM_UPDATE,
    "Check a learner's ``sgd_momentum_update(grad, velocity, learning_rate, momentum)`` -> (update, velocity).\n\n"
    "Keras' form: ``velocity <- momentum * velocity - learning_rate * grad``, ``update = velocity``. The learning "
    "rate changes from call to call (as under a schedule), which is where PyTorch's form gives other updates.")
check_rmsprop_update = check_for(
    RMSPROP_UPDATE,
    "Check a learner's ``rmsprop_update(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7)``.\n\n"
    "Keras' form: ``velocity <- rho * velocity + (1 - rho) * grad**2``, "
    "``update = -learning_rate * grad / sqrt(velocity + epsilon)`` (epsilon inside the root).")
check_adam_update = check_for(
    ADAM_UPDATE,
    "Check a learner's ``adam_update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``.\n\n"
    "Keras' form, with ``t = step + 1``: ``m <- beta_1 * m + (1 - beta_1) * grad``, "
    "``v <- beta_2 * v + (1 - beta_2) * grad**2``, ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, "
    "``update = -alpha * m / (sqrt(v) + epsilon)``.")
check_final_loss = check_for(
    FINAL_LOSS, "Check a learner's ``final_loss(optimizer, surface, num_steps)``: the loss after num_steps updates, "
    "inf if the run diverged.")
check_best_learning_rate = check_for(
    BEST_LEARNING_RATE, "Check a learner's ``best_learning_rate(make_optimizer, surface, candidates, num_steps)``: the "
    "candidate with the lowest final loss (diverged runs count as inf).")
