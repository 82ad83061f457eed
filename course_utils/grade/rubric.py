"""What each graded exercise is: the learner's function, inputs made at grading time, the reference.

A rubric maps a graded cell id (``"mse-check"``) to an :class:`Exercise`. Inputs are made fresh for
every submission (an unseeded generator) and include fixed edge cases. Arguments that are objects
rather than arrays (an optimizer, a surface, a function) are :class:`Code`: one Python expression
evaluated by the grader for its reference and by the kernel for the learner, so both get the same
object without anything being pickled. References are plain numpy formulas or the grader's own
:mod:`course_utils`, always evaluated in the grader's process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from course_utils import optimizers, surfaces

EPS = 1e-7  # Keras' probability clip


@dataclass(frozen=True)
class Code:
    """An argument built from a Python expression over ``np``, ``optimizers`` and ``surfaces``."""

    source: str

    def build(self):
        namespace = {"__builtins__": __builtins__, "np": np, "optimizers": optimizers, "surfaces": surfaces}
        return eval(self.source, namespace)  # the rubric's own, trusted expression


@dataclass(frozen=True)
class Tensor:
    """An argument given to the learner as ``tf.constant(value, dtype)`` (and to the reference as numpy)."""

    value: np.ndarray
    dtype: str


@dataclass(frozen=True)
class Case:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = "a random input"

    def grader_args(self):
        """The arguments as the reference sees them (grader-side objects)."""
        def convert(a):
            if isinstance(a, Code):
                return a.build()
            if isinstance(a, Tensor):
                return np.asarray(a.value)
            return a.copy() if isinstance(a, np.ndarray) else a

        return [convert(a) for a in self.args], {k: convert(v) for k, v in self.kwargs.items()}


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: ``function(*case.args, **case.kwargs)`` must match ``reference`` on every case.

    ``returns`` is 0 for one array/number, ``n`` for a tuple of ``n`` of them.
    """

    function: str
    cases: Callable[[np.random.Generator], list[Case]]
    reference: Callable
    rtol: float = 1e-6
    atol: float = 1e-8
    returns: int = 0

    def expected(self, case: Case):
        args, kwargs = case.grader_args()
        with np.errstate(all="ignore"):
            return self.reference(*args, **kwargs)


# --- lesson 01 -----------------------------------------------------------------------------------------------


def _regression(rng, extra=lambda rng: {}):
    cases = []
    for shape in [(3,), (4,), (2, 3), (5, 2), (1, 4), (3, 2, 4)]:
        scale = float(rng.choice([1.0, 10.0, 0.1]))
        t, p = rng.normal(size=shape) * scale, rng.normal(size=shape) * scale
        cases.append(Case((t, p), extra(rng), f"a random input of shape {shape}"))
    edges = [([2.0], [2.0], "a perfect prediction"), ([1.0, -1.0], [-1.0, 1.0], "errors that cancel"),
             ([[0.0, 0.0]], [[3.0, -4.0]], "a one-sample batch"), ([5.0, 5.0], [4.0, 6.0], "one under, one over")]
    cases += [Case((np.array(t), np.array(p)), extra(rng), label) for t, p, label in edges]
    return cases


def _huber(t, p, delta=1.0):
    a = np.abs(p - t)
    return np.mean(np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2), -1)


def _under(t, p, under_weight=3.0):
    e2 = (t - p) ** 2
    return np.mean(np.where(p < t, under_weight * e2, e2), -1)


LESSON_01 = {
    "mse-check": Exercise("mse", _regression, lambda t, p: np.mean((t - p) ** 2, -1)),
    "mae-check": Exercise("mae", _regression, lambda t, p: np.mean(np.abs(t - p), -1)),
    "huber-check": Exercise(
        "huber", lambda rng: _regression(rng) + _regression(rng, lambda r: {"delta": float(r.uniform(0.2, 3.0))}),
        _huber),
    "under_penalty_mse-check": Exercise(
        "under_penalty_mse",
        lambda rng: _regression(rng) + _regression(rng, lambda r: {"under_weight": float(r.uniform(1.5, 5.0))}),
        _under),
}

# --- lesson 02 -----------------------------------------------------------------------------------------------


def _binary(rng):
    cases = [Case((rng.integers(0, 2, size=s).astype(float), rng.uniform(0.01, 0.99, size=s)), {},
                  f"a random input of shape {s}") for s in [(4,), (3, 2), (2, 5)]]
    edges = [([1.0, 0.0], [1.0, 0.0], "exactly right"), ([1.0, 0.0], [0.0, 1.0], "certain and wrong"),
             ([[1.0, 0.0, 1.0]], [[0.9, 0.1, 0.51]], "a one-sample batch")]
    return cases + [Case((np.array(t), np.array(p)), {}, label) for t, p, label in edges]


def _categorical(rng):
    cases = []
    for s in [(3,), (4, 3), (2, 5)]:
        z = rng.normal(size=s) * 2
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        cases.append(Case((np.eye(s[-1])[rng.integers(0, s[-1], size=s[:-1])], p), {}, f"a random input of shape {s}"))
    edges = [([0.0, 1.0, 0.0], [0.1, 0.8, 0.1], "a confident right answer"),
             ([[1.0, 0.0, 0.0]], [[0.0, 0.5, 0.5]], "probability 0 for the true class")]
    return cases + [Case((np.array(t), np.array(p)), {}, label) for t, p, label in edges]


def _hinge_cases(rng):
    cases = [Case((rng.choice([-1.0, 1.0], size=s), rng.normal(size=s) * 1.5), {}, f"a random input of shape {s}")
             for s in [(3,), (4,), (2, 3)]]
    edges = [([1.0, -1.0], [3.0, -2.0], "beyond the margin"), ([[1.0, -1.0, 1.0]], [[-0.5, 0.5, 1.0]], "a batch")]
    return cases + [Case((np.array(t), np.array(p)), {}, label) for t, p, label in edges]


def _bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), -1)


def _logits_cases(rng):
    cases = [Case((Tensor(rng.integers(0, 2, size=(n, 1)), "int32"),
                   Tensor((rng.normal(size=(n, 1)) * 4).astype(np.float32), "float32")), {},
                  f"a random batch of {n}") for n in (3, 6)]
    edges = [([[1], [0], [1], [0]], [[1000.0], [1000.0], [-1000.0], [-1000.0]], "logits of +-1000"),
             ([[1]], [[0.0]], "a logit of 0")]
    return cases + [Case((Tensor(np.array(t), "int32"), Tensor(np.array(p, np.float32), "float32")), {}, label)
                    for t, p, label in edges]


def _logits_objective(labels, logits):
    z, x = labels.astype(np.float64), logits.astype(np.float64)
    return np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))


LESSON_02 = {
    "binary_crossentropy-check": Exercise("binary_crossentropy", _binary, _bce, rtol=1e-5, atol=1e-5),
    "categorical_crossentropy-check": Exercise(
        "categorical_crossentropy", _categorical,
        lambda t, p: -np.sum(t * np.log(np.clip(p, EPS, 1 - EPS)), -1), rtol=1e-5, atol=1e-5),
    "hinge-check": Exercise("hinge", _hinge_cases, lambda t, p: np.mean(np.maximum(0.0, 1.0 - t * p), -1)),
    "logits_objective-check": Exercise("logits_objective", _logits_cases, _logits_objective, rtol=1e-4, atol=1e-5),
}

# --- lesson 03 -----------------------------------------------------------------------------------------------

_SMOOTH = "lambda x: float(np.sum(np.sin(x) * x**2 + 0.3 * x**3))"


def _central_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def _gradient_cases(rng):
    cases = [Case((Code(_SMOOTH), rng.normal(size=s)), {"eps": e}, f"a random point of shape {s}, eps={e:.3g}")
             for s, e in [((4,), 0.1), ((2, 3), float(rng.uniform(0.01, 0.2)))]]
    return cases + [Case((Code(_SMOOTH), rng.normal(size=s)), {}, f"a random point of shape {s}")
                    for s in [(3,), (2, 2)]]


def _mse_gradient_cases(rng):
    cases = []
    for n, d in [(8, 3), (int(rng.integers(5, 15)), 2), (6, 1)]:
        cases.append(Case((rng.normal(size=d), float(rng.normal()), rng.normal(size=(n, d)), rng.normal(size=n)), {},
                          f"random data of {n} samples and {d} features"))
    return cases


def _mse_gradient(w, b, x, y):
    error = x @ w + b - y
    return 2 * x.T @ error / len(y), 2 * np.mean(error)


def _quadratic_grad(rng, d):
    c, centre = np.round(rng.uniform(0.5, 3.0, size=d), 3), np.round(rng.normal(size=d), 3)
    return Code(f"lambda w: np.array({c.tolist()}) * (w - np.array({centre.tolist()}))")


def _descent_cases(rng):
    return [Case((_quadratic_grad(rng, d), rng.normal(size=d), float(rng.uniform(0.05, 0.4)), n), {},
                 f"a random bowl in {d}-D, {n} steps") for d, n in [(2, 5), (3, 12), (1, 0)]]


def _gradient_descent(grad_fn, w0, learning_rate, num_steps):
    points = [np.array(w0, dtype=float)]
    for _ in range(num_steps):
        points.append(points[-1] - learning_rate * grad_fn(points[-1]))
    return np.array(points)


def _fit_cases(rng):
    cases = []
    for n, d, steps in [(30, 2, 50), (20, 3, 20)]:
        x = rng.normal(size=(n, d))
        y = x @ (rng.normal(size=d) * 2) + float(rng.normal()) + rng.normal(size=n) * 0.3
        label = f"random data of {n} samples, {d} features"
        cases.append(Case((x, y, float(rng.uniform(0.02, 0.1)), steps), {}, label))
    return cases


def _fit_linear(x, y, learning_rate, num_steps):
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(num_steps):
        dw, db = _mse_gradient(w, b, x, y)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b


LESSON_03 = {
    "numerical_gradient-check": Exercise("numerical_gradient", _gradient_cases, _central_difference, rtol=1e-5,
                                         atol=1e-6),
    "mse_gradient-check": Exercise("mse_gradient", _mse_gradient_cases, _mse_gradient, returns=2),
    "gradient_descent-check": Exercise("gradient_descent", _descent_cases, _gradient_descent),
    "fit_linear-check": Exercise("fit_linear", _fit_cases, _fit_linear, rtol=1e-5, atol=1e-7, returns=2),
}

# --- lesson 04 -----------------------------------------------------------------------------------------------


def _state_cases(rng, extra):
    cases = []
    for s in [(3,), (2, 2)]:
        cases.append(Case(extra(rng, s), {}, f"a random state of shape {s}"))
    return cases


def _momentum(grad, velocity, learning_rate, momentum):
    v = momentum * velocity - learning_rate * grad
    return v, v


def _rmsprop(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7):
    v = rho * velocity + (1 - rho) * grad**2
    return -learning_rate * grad / np.sqrt(v + epsilon), v


def _adam(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    t = step + 1
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return -alpha * m / (np.sqrt(v) + epsilon), m, v


def _momentum_cases(rng):
    return _state_cases(rng, lambda r, s: (r.normal(size=s), r.normal(size=s), float(r.uniform(0.01, 0.5)),
                                          float(r.uniform(0.5, 0.99)))) + [
        Case((np.zeros(2), np.zeros(2), 0.1, 0.9), {}, "a zero gradient")]


def _rmsprop_cases(rng):
    return _state_cases(rng, lambda r, s: (r.normal(size=s), r.uniform(0, 2, size=s), float(r.uniform(0.01, 0.5)))) + [
        Case((rng.normal(size=3), rng.uniform(0, 2, size=3), 0.1), {"rho": 0.5, "epsilon": 1e-3}, "rho=0.5")]


def _adam_cases(rng):
    return _state_cases(rng, lambda r, s: (r.normal(size=s), r.normal(size=s), r.uniform(0, 2, size=s),
                                          int(r.integers(0, 20)), float(r.uniform(0.001, 0.1)))) + [
        Case((rng.normal(size=2), np.zeros(2), np.zeros(2), 0, 0.01), {"beta_1": 0.5, "beta_2": 0.9},
             "the first step, other betas")]


def _final_loss(optimizer, surface, num_steps):
    run = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps)
    return float("inf") if run.diverged else float(run.losses[-1])


def _final_loss_cases(rng):
    lr = float(np.round(rng.uniform(0.01, 0.05), 4))
    return [Case((Code(f"optimizers.sgd({lr})"), Code("surfaces.ravine"), int(rng.integers(5, 40))), {}, "SGD"),
            Case((Code(f"optimizers.adam({lr * 2})"), Code("surfaces.rosenbrock"), 30), {}, "Adam"),
            Case((Code("optimizers.sgd(0.5)"), Code("surfaces.ravine"), 40), {}, "a run that diverges")]


def _best_learning_rate(make_optimizer, surface, candidates, num_steps):
    return min(candidates, key=lambda lr: _final_loss(make_optimizer(lr), surface, num_steps))


def _best_lr_cases(rng):
    candidates = sorted(float(c) for c in rng.choice([0.001, 0.003, 0.01, 0.03, 0.05, 0.09, 0.2, 0.5], 5, False))
    return [Case((Code("optimizers.sgd"), Code("surfaces.ravine"), candidates, 30), {}, "SGD on the ravine"),
            Case((Code("optimizers.adam"), Code("surfaces.bowl"), candidates, 20), {}, "Adam on the bowl")]


LESSON_04 = {
    "sgd_momentum_update-check": Exercise("sgd_momentum_update", _momentum_cases, _momentum, returns=2),
    "rmsprop_update-check": Exercise("rmsprop_update", _rmsprop_cases, _rmsprop, returns=2),
    "adam_update-check": Exercise("adam_update", _adam_cases, _adam, returns=3),
    "final_loss-check": Exercise("final_loss", _final_loss_cases, _final_loss, rtol=1e-6),
    "best_learning_rate-check": Exercise("best_learning_rate", _best_lr_cases, _best_learning_rate),
}

RUBRICS: dict[str, dict[str, Exercise]] = {"01": LESSON_01, "02": LESSON_02, "03": LESSON_03, "04": LESSON_04}


class NoRubric(LookupError):
    """The assignment has no rubric: it cannot be graded automatically."""


def rubric_for(assignment: str) -> dict[str, Exercise]:
    """The rubric of assignment ``"NN"``; :class:`NoRubric` names the assignments that have one."""
    try:
        return RUBRICS[assignment]
    except KeyError:
        raise NoRubric(
            f"no grading rubric for assignment {assignment!r}; rubrics exist for {', '.join(sorted(RUBRICS))} "
            "(add one in course_utils/grade/rubric.py)"
        ) from None


def judge(exercise: Exercise, case: Case, expected, got: dict) -> str | None:
    """``None`` when the learner's result ``got`` (decoded probe data) matches ``expected``; else why not."""
    call = f"{exercise.function} on {case.label}"
    if "error" in got:
        if got["error"].startswith("NotImplementedError"):
            return f"{exercise.function} is not written yet."
        return f"{call} raised {got['error']}"
    parts = got["items"] if exercise.returns else [got["value"]]
    wanted = list(expected) if exercise.returns else [expected]
    for index, (leaf, want) in enumerate(zip(parts, wanted)):
        which = f" (returned value {index + 1})" if exercise.returns else ""
        want = np.asarray(want, dtype=np.float64)
        value = np.asarray(leaf["data"], dtype=np.float64).reshape(leaf["shape"])
        if value.shape != want.shape:
            return f"{call} returned shape {value.shape}{which}, expected shape {want.shape}."
        if not np.allclose(value, want, rtol=exercise.rtol, atol=exercise.atol):
            return f"{call} gave a wrong value{which}."
    return None
