"""Mini-batch gradient noise on a real least-squares problem (lesson 03, and why lesson 05 decays the rate).

Training never sees the true gradient: each update uses the gradient of one mini-batch, a noisy estimate
of it. Here the problem is small enough to compute everything exactly: fitting a line ``y ~ w x + b`` to
``n`` noisy points with lesson 01's mean squared error, two weights ``(w, b)``, so the loss can be drawn as
a contour map.

* :func:`line_fit` makes the data (fixed seed); :class:`LeastSquares` holds it.
* :func:`loss`, :func:`gradient` (of the whole data or of one batch), :func:`minimum` (closed form),
  :func:`as_surface` (for the plotting helpers of :mod:`course_utils.plots`).
* :func:`batch_indices` draws the batches the way ``model.fit`` does: shuffle, then cut into batches,
  every epoch anew. :func:`gradient_noise` is the exact size of the noise that sampling adds.
* :func:`noisy_trajectory` runs plain SGD (the update of ``course_utils.optimizers.sgd``, with a rate or a
  schedule) on mini-batch gradients; :func:`distance_to_minimum` and :func:`noise_ball` measure where it ends.

With the whole data set as the batch there is no noise, and :func:`noisy_trajectory` is exactly
``optimizers.trajectory`` on the full gradient. Smaller batches make noisier steps: with a constant rate
the weights stop approaching the minimum and wander in a "noise ball" around it, larger for a larger rate
and smaller for a larger batch. A decaying rate shrinks the ball as it goes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_utils._validation import FLOAT, as_array, describe, integer, positive_number, rates
from course_utils.optimizers import Trajectory
from course_utils.surfaces import Surface


class LeastSquares(NamedTuple):
    """A least-squares problem: find ``params`` with ``features @ params`` close to ``targets``.

    The loss is the mean squared error ``L(p) = mean_i (f_i . p - t_i)**2`` over the ``n`` examples.
    """

    features: np.ndarray  # (n, d): one row f_i per example
    targets: np.ndarray  # (n,)

    @property
    def num_examples(self) -> int:
        return len(self.targets)


def line_fit(num_examples=256, slope=2.0, intercept=1.0, noise=1.0, seed=0) -> LeastSquares:
    """Noisy points around the line ``y = slope x + intercept``, as a least-squares problem in ``(w, b)``.

    ``x`` is drawn from a normal distribution with mean 1 and spread 1, and ``y = slope x + intercept + e``
    with Gaussian ``e`` of standard deviation ``noise``. The features of example ``i`` are ``(x_i, 1)``,
    so ``features @ (w, b) = w x_i + b``: lesson 03's linear model.

    Example:
        >>> problem = line_fit()
        >>> problem.features.shape, problem.features[:2].round(3).tolist()
        ((256, 2), [[1.126, 1.0], [0.868, 1.0]])
    """
    n = integer(num_examples, "num_examples", minimum=2)
    slope = float(as_array(slope, "slope", dtype=np.float64, min_ndim=0))
    intercept = float(as_array(intercept, "intercept", dtype=np.float64, min_ndim=0))
    noise = positive_number(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(integer(seed, "seed"))
    x = rng.normal(1.0, 1.0, n)
    y = slope * x + intercept + noise * rng.normal(0.0, 1.0, n)
    return LeastSquares(np.column_stack([x, np.ones(n)]), y)


def _problem(problem) -> LeastSquares:
    if not isinstance(problem, LeastSquares):
        raise TypeError(f"problem must be a LeastSquares such as noise.line_fit(), got {type(problem).__name__} "
                        f"{describe(problem)}")
    return problem


def _params(problem: LeastSquares, params, name="params") -> np.ndarray:
    """Check ``params`` holds points of ``d`` weights (shape ``(..., d)``); NaN and inf pass (a diverging run)."""
    p = as_array(params, name, dtype=np.float64, finite=False)
    d = problem.features.shape[1]
    if p.shape[-1] != d:
        raise ValueError(f"{name} must have shape (..., {d}): {d} weights per point in its last axis, "
                         f"got shape {p.shape}")
    return p


def _batch(problem: LeastSquares, batch) -> np.ndarray:
    """Check ``batch`` is a 1-D array of example indices (each in ``0..n-1``) and return it as int64."""
    n = problem.num_examples
    index = as_array(batch, "batch", dtype=None)
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise ValueError(f"batch must be a 1-D array of example indices (integers), got {describe(batch)} "
                         f"with shape {index.shape} and dtype {index.dtype}")
    if index.min() < 0 or index.max() >= n:
        raise ValueError(f"batch must hold indices from 0 to {n - 1} (the problem has {n} examples), "
                         f"got values from {index.min()} to {index.max()}")
    return index.astype(np.int64)


def loss(problem: LeastSquares, params) -> np.ndarray:
    """The mean squared error ``L(p) = mean_i (f_i . p - t_i)**2`` for one point or a grid of points ``(..., d)``.

    Example:
        >>> problem = LeastSquares(np.array([[1.0, 1.0], [2.0, 1.0]]), np.array([3.0, 5.0]))
        >>> float(loss(problem, [2.0, 1.0])), float(loss(problem, [0.0, 0.0]))
        (0.0, 17.0)
    """
    problem = _problem(problem)
    return _loss(problem.features, problem.targets, _params(problem, params))


def _errors(features, targets, p):
    """``f_i . p - t_i`` for every example, written out weight by weight (not a matrix product), so that one
    point and a stack of points round exactly alike: a run's losses can be computed all at once."""
    return sum(p[..., k, None] * features[:, k] for k in range(features.shape[1])) - targets


def _loss(features, targets, p):
    errors = _errors(features, targets, p)
    return np.mean(errors * errors, axis=-1)


def _gradient(features, targets, p):
    return (2.0 / len(targets)) * (_errors(features, targets, p) @ features)


def gradient(problem: LeastSquares, params, batch=None) -> np.ndarray:
    """The gradient of the mean squared error over ``batch`` (example indices; None: all examples).

    ``g_B(p) = (2 / |B|) sum_{i in B} (f_i . p - t_i) f_i``: the mean of the examples' gradients. With
    ``batch=None`` it is the true gradient of :func:`loss`; a batch of examples gives a noisy estimate.

    Example:
        >>> problem = LeastSquares(np.array([[1.0, 1.0], [2.0, 1.0]]), np.array([3.0, 5.0]))
        >>> gradient(problem, [0.0, 0.0]).tolist(), gradient(problem, [0.0, 0.0], batch=[1]).tolist()
        ([-13.0, -8.0], [-20.0, -10.0])
    """
    problem = _problem(problem)
    p = _params(problem, params)
    if batch is None:
        features, targets = problem.features, problem.targets
    else:
        index = _batch(problem, batch)
        features, targets = problem.features[index], problem.targets[index]
    return _gradient(features, targets, p)


def minimum(problem: LeastSquares) -> np.ndarray:
    """Where the loss is smallest: the least-squares solution of ``features @ p = targets``.

    Example:
        >>> problem = LeastSquares(np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]), np.array([3.0, 5.0, 7.0]))
        >>> minimum(problem).round(6).tolist()
        [2.0, 1.0]
    """
    problem = _problem(problem)
    return np.linalg.lstsq(problem.features, problem.targets, rcond=None)[0]


def as_surface(problem: LeastSquares, start=(-1.0, -1.0), half_width=4.0, name="line fit") -> Surface:
    """The problem's full-batch loss as a :class:`~course_utils.surfaces.Surface` (for contour plots and paths).

    Its bounds are a square of ``2 * half_width`` around the minimum.

    Example:
        >>> surface = as_surface(line_fit())
        >>> surface.name, surface.start.tolist(), float(surface.loss(surface.minimum)) < 1.1
        ('line fit', [-1.0, -1.0], True)
    """
    problem = _problem(problem)
    best = minimum(problem)
    start = _params(problem, start, "start")
    if start.shape != best.shape or not np.all(np.isfinite(start)):
        raise ValueError(f"start must be one finite point of {best.size} weights, got {describe(start)}")
    half_width = positive_number(half_width, "half_width")
    bounds = tuple((float(m - half_width), float(m + half_width)) for m in best)
    return Surface(name, lambda p: loss(problem, p), lambda p: gradient(problem, p), best, start, bounds, None)


def batch_indices(num_examples, batch_size, num_steps, seed=0) -> np.ndarray:
    """The examples of each update's batch, drawn like ``model.fit`` does: shape ``(num_steps, batch_size)``.

    Each epoch shuffles the ``n`` examples and cuts them into ``n // batch_size`` batches (a remainder
    of fewer than ``batch_size`` examples is left out of that epoch); epochs follow each other until
    ``num_steps`` batches are drawn. Indices within a batch are sorted (the order inside a batch does not
    change its gradient), so ``batch_size = n`` gives ``0, 1, ..., n-1`` at every step. Fixed ``seed``:
    the same batches every time.

    Example:
        >>> batch_indices(6, batch_size=2, num_steps=4, seed=0).tolist()
        [[2, 3], [4, 5], [0, 1], [4, 5]]
        >>> batch_indices(3, batch_size=3, num_steps=2).tolist()
        [[0, 1, 2], [0, 1, 2]]
    """
    n = integer(num_examples, "num_examples", minimum=1)
    size = integer(batch_size, "batch_size", minimum=1, maximum=n)
    steps = integer(num_steps, "num_steps")
    rng = np.random.default_rng(integer(seed, "seed"))
    per_epoch = n // size
    epochs = -(-steps // per_epoch)  # ceil
    cut = [rng.permutation(n)[: per_epoch * size].reshape(per_epoch, size) for _ in range(epochs)]
    order = np.concatenate(cut) if cut else np.zeros((0, size), dtype=np.int64)
    return np.sort(order[:steps], axis=1)


def gradient_noise(problem: LeastSquares, params, batch_size) -> float:
    """How far a mini-batch gradient is from the true one, on average: ``E ||g_B - g||**2`` (exact).

    For a batch of ``b`` of the ``n`` examples drawn without replacement (one batch of a shuffled epoch),
    ``E ||g_B - g||**2 = (n - b) / (n - 1) * s**2 / b``, where ``s**2 = mean_i ||g_i - g||**2`` is the spread
    of the single examples' gradients ``g_i`` around their mean ``g``. So the noise falls like ``1 / b``
    (a little faster: the factor ``(n - b) / (n - 1)`` takes it to 0 at ``b = n``, the whole data set).

    Example:
        >>> problem = line_fit()
        >>> p = minimum(problem)
        >>> [round(gradient_noise(problem, p, b), 3) for b in (1, 4, 256)]
        [12.808, 3.164, 0.0]
    """
    problem = _problem(problem)
    p = _params(problem, params)
    if p.ndim != 1:
        raise ValueError(f"params must be one point of {problem.features.shape[1]} weights, got shape {p.shape}")
    n = problem.num_examples
    b = integer(batch_size, "batch_size", minimum=1, maximum=n)
    per_example = 2.0 * _errors(problem.features, problem.targets, p)[:, None] * problem.features  # g_i, (n, d)
    spread = float(np.mean(np.sum((per_example - per_example.mean(axis=0)) ** 2, axis=1)))
    return (n - b) / (n - 1) * spread / b if n > 1 else 0.0


def noisy_trajectory(problem: LeastSquares, learning_rate, batch_size, num_steps, start=(-1.0, -1.0), seed=0,
                     blow_up=1e12) -> Trajectory:
    """Stochastic gradient descent on mini-batches: ``p <- p - lr_t * g_B(t)(p)``, one batch per update.

    Args:
        problem: a :class:`LeastSquares` problem.
        learning_rate: a number > 0, or a schedule ``step -> lr`` from :mod:`course_utils.schedules`.
        batch_size: examples per update, from 1 to ``n`` (``n``: the true gradient, no noise).
        num_steps: number of updates.
        start: the starting point ``(w, b)``.
        seed: which batches (:func:`batch_indices`); the same seed draws the same batches.
        blow_up: stop early (``diverged=True``) when the loss exceeds this or stops being finite.

    Returns the :class:`~course_utils.optimizers.Trajectory`: every point, and the loss on the *whole*
    data at each (what you would measure, not what the batch saw). Runs with the same seed and batch
    size see the same batches, so a constant and a decaying rate can be compared fairly.

    Example:
        >>> problem = line_fit()
        >>> run = noisy_trajectory(problem, 0.1, batch_size=8, num_steps=200)
        >>> run.points.shape, round(float(distance_to_minimum(problem, run)[-1]), 3)
        ((201, 2), 0.098)
    """
    problem = _problem(problem)
    order = batch_indices(problem.num_examples, batch_size, num_steps, seed)
    lrs = _rates(learning_rate, len(order))
    limit = positive_number(blow_up, "blow_up")
    p = _params(problem, start, "start")
    if p.shape != (problem.features.shape[1],) or not np.all(np.isfinite(p)):
        raise ValueError(f"start must be one finite point of {problem.features.shape[1]} weights, got {describe(p)}")
    p = p.astype(FLOAT)
    features, targets = problem.features, problem.targets
    full = order.shape[1] == problem.num_examples  # the whole data: the true gradient, computed as gradient() does
    points = np.empty((len(order) + 1, p.size), dtype=FLOAT)
    points[0] = p
    with np.errstate(over="ignore", invalid="ignore"):
        for step, index in enumerate(order):
            # optimizers.sgd's update, -(g * lr) in float32, written out: a widget runs this loop on every move.
            f, t = (features, targets) if full else (features[index], targets[index])
            p = p + -(_gradient(f, t, p.astype(np.float64)).astype(FLOAT) * lrs[step])
            points[step + 1] = p
        losses = _loss(features, targets, points.astype(np.float64))
    bad = ~np.isfinite(losses) | (np.abs(losses) > limit) | ~np.all(np.isfinite(points), axis=1)
    end = int(np.argmax(bad)) if bad.any() else len(points)  # stop before the first point past blow_up
    return Trajectory(points[:end], losses[:end], bool(bad.any()))


def _rates(learning_rate, num_steps: int) -> np.ndarray:
    """The rate of each of ``num_steps`` updates (float32): a number, or a schedule ``step -> lr`` (step 0 first)."""
    if callable(learning_rate):
        values = rates(learning_rate(np.arange(num_steps)), "learning_rate(step)")
        return np.broadcast_to(values, (num_steps,))
    return np.full(num_steps, positive_number(learning_rate, "learning_rate"), dtype=FLOAT)


def distance_to_minimum(problem: LeastSquares, run: Trajectory) -> np.ndarray:
    """The distance ``||p_k - p*||`` of every point of a run from the minimum.

    Example:
        >>> problem = line_fit()
        >>> distance_to_minimum(problem, noisy_trajectory(problem, 0.1, 256, num_steps=2)).round(3).tolist()
        [3.59, 1.695, 0.801]
    """
    problem = _problem(problem)
    if not isinstance(run, Trajectory):
        raise TypeError(f"run must be a Trajectory from noisy_trajectory(...), got {type(run).__name__} "
                        f"{describe(run)}")
    return np.linalg.norm(run.points - minimum(problem), axis=-1)


def noise_ball(problem: LeastSquares, run: Trajectory, last=50) -> float:
    """How far from the minimum a run stays at its end: the root mean square of its last ``last`` distances.

    One point can land close to the minimum by luck; the average over the last steps is the size of the
    "ball" the weights wander in. A diverged run gives ``inf``.

    Example:
        >>> problem = line_fit()
        >>> round(noise_ball(problem, noisy_trajectory(problem, 0.1, batch_size=8, num_steps=300)), 3)
        0.172
    """
    distances = distance_to_minimum(problem, run)
    last = integer(last, "last", minimum=1)
    if run.diverged:
        return float("inf")
    if last > len(distances):
        raise ValueError(f"last must be at most the run's {len(distances)} points, got {last}")
    return float(np.sqrt(np.mean(distances[-last:] ** 2)))

