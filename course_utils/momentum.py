"""Why momentum works, on a quadratic: every eigen-direction on its own, as a 2 x 2 linear map.

On ``f(w) = 1/2 * sum_i c_i * w_i**2`` (curvatures ``c_i > 0``, minimum at 0) the gradient of
direction ``i`` is ``c_i * w_i``: it depends on that direction alone, so each direction evolves
independently of the others. With Keras' momentum (``v <- mu * v - lr * g; w <- w + v``) one
direction's state ``(w_i, v_i)`` is multiplied at every step by::

    M_i = [[1 - lr * c_i,  mu],
           [  - lr * c_i,  mu]]

and the error shrinks like ``rho(M_i) ** k``, where ``rho`` is the spectral radius (the largest
eigenvalue modulus). ``mu = 0`` is plain gradient descent: the eigenvalues are ``1 - lr * c_i``
and 0. Goh's "Why Momentum Really Works" (Distill, 2017) writes momentum as
``z <- beta * z + g; w <- w - alpha * z``: the same weights step for step (a constant rate),
with Keras' velocity ``v = -alpha * z``.

Everything here is plain float64 algebra; :mod:`course_utils.optimizers` runs the real thing.

>>> round(convergence_rate(0.04, 0.9, [1.0, 20.0]), 4)   # the race on the ravine: sqrt(0.9)
0.9487
>>> [round(x, 4) for x in optimal_momentum([1.0, 20.0])]
[0.1336, 0.4026, 0.6345]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_utils._validation import as_array, describe, fraction, integer, positive_number

#: The four ways one direction can behave under momentum (Distill's taxonomy), as :func:`regime` names them.
REGIMES = ("no overshoot", "critically damped", "swings", "flips sign", "diverges")


class Tuning(NamedTuple):
    """A learning rate and momentum pair, with the convergence rate it gives."""

    learning_rate: float
    momentum: float
    rate: float


def _curvatures(curvatures, name="curvatures") -> np.ndarray:
    c = as_array(curvatures, name, dtype=np.float64, min_ndim=1)
    if c.ndim != 1 or c.size == 0 or not np.all(c > 0):
        raise ValueError(f"{name} must be a non-empty list of numbers > 0 (the curvatures of a quadratic), "
                         f"got {describe(curvatures)}")
    return c


def _condition_numbers(condition_number) -> np.ndarray:
    kappa = as_array(condition_number, "condition_number", dtype=np.float64, min_ndim=0)
    if not np.all(kappa >= 1):
        raise ValueError(f"condition_number must be >= 1 (largest curvature / smallest), "
                         f"got {describe(condition_number)}")
    return kappa


def condition_number(curvatures) -> float:
    """The condition number ``kappa = max(c) / min(c)`` of a quadratic with curvatures ``c``.

    Example:
        >>> condition_number([1.0, 20.0])
        20.0
    """
    c = _curvatures(curvatures)
    return float(c.max() / c.min())


def iteration_matrix(learning_rate, momentum, curvature) -> np.ndarray:
    """The 2 x 2 matrix one step of momentum applies to one direction's ``(w, v)``.

    ``w' = (1 - lr c) w + mu v`` and ``v' = -lr c w + mu v`` (Keras' ``v <- mu v - lr g; w <- w + v``
    with ``g = c w``). Its trace is ``1 + mu - lr c`` and its determinant ``mu``.

    Args:
        learning_rate: ``lr > 0``.
        momentum: ``mu`` in [0, 1); 0 is plain gradient descent.
        curvature: ``c > 0``, this direction's curvature (an eigenvalue of the Hessian).

    Example:
        >>> iteration_matrix(0.1, 0.5, 2.0).round(3).tolist()
        [[0.8, 0.5], [-0.2, 0.5]]
    """
    lr = positive_number(learning_rate, "learning_rate")
    mu = fraction(momentum, "momentum", high_open=True)
    c = positive_number(curvature, "curvature")
    return np.array([[1.0 - lr * c, mu], [-lr * c, mu]])


def eigenvalues(learning_rate, momentum, curvature) -> np.ndarray:
    """The two eigenvalues of :func:`iteration_matrix`: the roots of ``s**2 - (1 + mu - lr c) s + mu = 0``.

    ``s = ((1 + mu - lr c) +- sqrt((1 + mu - lr c)**2 - 4 mu)) / 2``; complex (a damped oscillation,
    modulus ``sqrt(mu)``) when ``(1 + mu - lr c)**2 < 4 mu``. Returned as complex numbers, larger modulus first.

    Example:
        >>> eigenvalues(0.1, 0.0, 2.0)   # plain gradient descent: 1 - lr c, and 0
        array([0.8+0.j, 0. +0.j])
    """
    lr = positive_number(learning_rate, "learning_rate")
    mu = fraction(momentum, "momentum", high_open=True)
    c = positive_number(curvature, "curvature")
    trace = 1.0 + mu - lr * c
    root = np.sqrt(complex(trace * trace - 4.0 * mu))
    pair = np.array([(trace + root) / 2, (trace - root) / 2])
    return pair[np.argsort(-np.abs(pair), kind="stable")]


def direction_rates(learning_rate, momentum, curvatures) -> np.ndarray:
    """Each direction's convergence rate: the spectral radius ``max |s|`` of its :func:`iteration_matrix`.

    The error along direction ``i`` shrinks (asymptotically) by this factor per step; >= 1 means it does not
    converge. With ``momentum=0`` it is ``|1 - lr c_i|``, lesson 03's factor.

    Example:
        >>> direction_rates(0.04, 0.0, [1.0, 20.0]).round(3).tolist()
        [0.96, 0.2]
    """
    c = _curvatures(curvatures)
    return np.array([float(np.abs(eigenvalues(learning_rate, momentum, ci)).max()) for ci in c])


def convergence_rate(learning_rate, momentum, curvatures) -> float:
    """The convergence rate of the whole quadratic: the slowest direction's rate, ``max_i rho(M_i)``.

    Example:
        >>> round(convergence_rate(0.04, 0.0, [1.0, 20.0]), 3)   # SGD crawls along the ravine's floor
        0.96
    """
    return float(direction_rates(learning_rate, momentum, curvatures).max())


def regime(learning_rate, momentum, curvature) -> str:
    """How one direction moves, from ``x = lr * c`` (Distill's four regions), as one of :data:`REGIMES`.

    * ``x < (1 - sqrt(mu))**2``: two real positive eigenvalues, no overshoot ("no overshoot");
    * ``x = (1 +- sqrt(mu))**2`` (to rounding): one repeated eigenvalue, the fastest this ``mu`` allows
      ("critically damped"; the best pair of :func:`optimal_momentum` puts both extreme curvatures there);
    * ``(1 - sqrt(mu))**2 < x < (1 + sqrt(mu))**2``: complex eigenvalues, a damped oscillation ("swings");
    * ``(1 + sqrt(mu))**2 < x < 2 + 2 mu``: a negative eigenvalue dominates, the sign flips every step;
    * ``x >= 2 + 2 mu``: "diverges".

    Example:
        >>> [regime(lr, 0.5, 1.0) for lr in (0.05, 1.0, 2.95, 3.0)]
        ['no overshoot', 'swings', 'flips sign', 'diverges']
    """
    lr = positive_number(learning_rate, "learning_rate")
    mu = fraction(momentum, "momentum", high_open=True)
    x = lr * positive_number(curvature, "curvature")
    if x >= 2.0 + 2.0 * mu:
        return "diverges"
    if mu > 0 and min(abs(x - (1.0 - np.sqrt(mu)) ** 2), abs(x - (1.0 + np.sqrt(mu)) ** 2)) <= 1e-9 * max(x, 1.0):
        return "critically damped"
    if x > (1.0 + np.sqrt(mu)) ** 2:
        return "flips sign"
    if x > (1.0 - np.sqrt(mu)) ** 2:
        return "swings"
    return "no overshoot"


def max_learning_rate(momentum, curvatures) -> float:
    """The largest stable learning rate: every direction converges iff ``lr < (2 + 2 mu) / max(c)``.

    Example:
        >>> round(max_learning_rate(0.0, [1.0, 20.0]), 3), round(max_learning_rate(0.9, [1.0, 20.0]), 3)
        (0.1, 0.19)
    """
    mu = fraction(momentum, "momentum", high_open=True)
    return float((2.0 + 2.0 * mu) / _curvatures(curvatures).max())


def optimal_gd(curvatures) -> Tuning:
    """The best plain gradient descent: ``lr = 2 / (c_min + c_max)``, rate ``(kappa - 1) / (kappa + 1)``.

    At that rate the slowest and the fastest direction shrink equally fast, ``1 - lr c_min = -(1 - lr c_max)``.

    Example:
        >>> [round(x, 4) for x in optimal_gd([1.0, 20.0])]
        [0.0952, 0.0, 0.9048]
    """
    c = _curvatures(curvatures)
    kappa = c.max() / c.min()
    return Tuning(float(2.0 / (c.min() + c.max())), 0.0, float((kappa - 1.0) / (kappa + 1.0)))


def optimal_momentum(curvatures) -> Tuning:
    """The best momentum pair (Distill, "Optimal parameters") and its rate::

        lr = (2 / (sqrt(c_min) + sqrt(c_max)))**2
        mu = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))**2
        rate = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)

    Example:
        >>> [round(x, 4) for x in optimal_momentum([1.0, 100.0])]
        [0.0331, 0.6694, 0.8182]
    """
    c = _curvatures(curvatures)
    root = np.sqrt(c.max() / c.min())
    rate = (root - 1.0) / (root + 1.0)
    return Tuning(float((2.0 / (np.sqrt(c.min()) + np.sqrt(c.max()))) ** 2), float(rate**2), float(rate))


def best_rates(condition_number) -> tuple[np.ndarray, np.ndarray]:
    """The best convergence rates as a function of the condition number: ``(gradient descent, momentum)``.

    ``(kappa - 1) / (kappa + 1)`` and ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``: momentum's rate is gradient
    descent's with ``kappa`` replaced by ``sqrt(kappa)``.

    Args:
        condition_number: ``kappa >= 1``, one number or an array.

    Example:
        >>> [r.round(4).tolist() for r in best_rates([1.0, 100.0])]
        [[0.0, 0.9802], [0.0, 0.8182]]
    """
    kappa = _condition_numbers(condition_number)
    root = np.sqrt(kappa)
    return (kappa - 1.0) / (kappa + 1.0), (root - 1.0) / (root + 1.0)


def steps_per_tenfold(rate) -> np.ndarray | float:
    """Steps needed to shrink the error tenfold at a convergence ``rate`` in (0, 1): ``-1 / log10(rate)``.

    Example:
        >>> round(steps_per_tenfold(0.9), 2)
        21.85
    """
    r = as_array(rate, "rate", dtype=np.float64, min_ndim=0)
    if not np.all((r > 0) & (r < 1)):
        raise ValueError(f"rate must be in (0, 1) (a converging rate), got {describe(rate)}")
    steps = -1.0 / np.log10(r)
    return float(steps) if steps.ndim == 0 else steps


def empirical_rate(errors, window=20) -> float:
    """The convergence rate measured from a run: the per-step shrink of the error's envelope.

    ``(max of the last `window` errors / max of the first `window`) ** (1 / (len(errors) - window))``.
    Taking the largest error in a window (not one value) steps over the zero crossings of a swinging run.

    Args:
        errors: the sizes ``|w_k - w*|`` (or of one direction's error) for k = 0, 1, ..., at least 2 windows long.
        window: steps per window, >= 1.

    Example:
        >>> round(empirical_rate(0.9 ** np.arange(100)), 6)
        0.9
    """
    window = integer(window, "window", minimum=1)
    e = np.abs(as_array(errors, "errors", dtype=np.float64, min_ndim=1))
    if e.ndim != 1 or e.size < 2 * window:
        raise ValueError(f"errors must be a 1-D sequence of at least 2 * window = {2 * window} values, "
                         f"got shape {e.shape}")
    first, last = e[:window].max(), e[-window:].max()
    if first == 0 or last == 0:
        raise ValueError("errors must not be all zero in the first or last window: the rate is undefined")
    return float((last / first) ** (1.0 / (e.size - window)))
