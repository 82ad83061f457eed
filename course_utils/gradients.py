"""Numerical gradients by central differences, and a gradient check.

Backpropagation (``tf.GradientTape``) gives exact gradients; these helpers give an
independent estimate to test them against.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from course_utils._validation import as_array, describe, positive_number, scalar_result


def numerical_gradient(f, x, eps=1e-6) -> np.ndarray:
    """Estimate the gradient of a scalar function ``f`` at ``x`` by central differences.

    ``df/dx_i ~ (f(x + eps * e_i) - f(x - eps * e_i)) / (2 * eps)``; the error shrinks
    like ``eps**2``, but an ``eps`` that is too small drowns in rounding error. The
    computation is in float64 (use float64 functions: float32 needs eps near 1e-3).

    Args:
        f: ``x -> float``.
        x: the point, any shape.
        eps: half the step, > 0.

    Returns:
        float64 array shaped like ``x``.

    Example:
        >>> numerical_gradient(lambda w: (w ** 2).sum(), np.array([1.0, -3.0])).round(6).tolist()
        [2.0, -6.0]
    """
    if not callable(f):
        raise TypeError(f"f must be a function x -> float, got {type(f).__name__} {describe(f)}")
    h = positive_number(eps, "eps")
    x = as_array(x, "x", dtype=np.float64, min_ndim=0)
    lost = (x + h == x) | (x - h == x)
    if np.any(lost):
        where = tuple(int(i) for i in np.argwhere(lost)[0]) if x.ndim else ()
        raise ValueError(
            f"eps={h!r} is below the float64 spacing of x={x[where].item()!r} at index {where}: x + eps == x, so the "
            f"gradient would come out as 0; expected eps well above {float(np.spacing(x[where])):.3g} (e.g. 1e-6)"
        )
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (scalar_result(f(x + step), "f") - scalar_result(f(x - step), "f")) / (2 * h)
    return grad


class GradientCheck(NamedTuple):
    relative_error: float  # ||analytic - numerical|| / max(||analytic||, ||numerical||)
    analytic: np.ndarray
    numerical: np.ndarray

    @property
    def ok(self) -> bool:
        """True when the relative error is below 1e-6 (the usual float64 threshold)."""
        return self.relative_error < 1e-6


def gradient_check(f, grad_f, x, eps=1e-6) -> GradientCheck:
    """Compare an analytic gradient with a numerical one and report the relative error.

    ``relative_error = ||a - n|| / max(||a||, ||n||)`` (0 when both are 0). Below about
    1e-7 the gradient is right; above 1e-3 it is almost certainly wrong.

    Args:
        f: ``x -> float``.
        grad_f: ``x -> gradient`` shaped like ``x``.
        x: the point to check at.
        eps: step for :func:`numerical_gradient`.

    Example:
        >>> check = gradient_check(lambda w: (w ** 2).sum(), lambda w: 2 * w, np.array([1.0, 2.0]))
        >>> check.ok
        True
        >>> gradient_check(lambda w: (w ** 2).sum(), lambda w: w, np.array([1.0, 2.0])).ok  # forgot the 2
        False
    """
    if not callable(grad_f):
        raise TypeError(f"grad_f must be a function x -> gradient, got {type(grad_f).__name__} {describe(grad_f)}")
    x = as_array(x, "x", dtype=np.float64, min_ndim=0)
    numerical = numerical_gradient(f, x, eps)
    raw = grad_f(x)
    if isinstance(raw, numbers.Number) and x.ndim == 0:
        raw = np.asarray(raw)
    analytic = as_array(raw, "grad_f(x)", dtype=np.float64, min_ndim=0)
    if analytic.shape != x.shape:
        raise ValueError(f"grad_f(x) must have the shape of x {x.shape}, got {analytic.shape}")
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numerical))
    error = 0.0 if scale == 0 else float(np.linalg.norm(analytic - numerical) / scale)
    return GradientCheck(error, analytic, numerical)
