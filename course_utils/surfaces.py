"""Loss surfaces with exact gradients, for the gradient-descent and optimizer demos.

A :class:`Surface` takes points ``w`` of shape ``(..., dim)`` (one point, or a whole
grid for a contour plot) and returns losses of shape ``(...)`` and gradients of shape
``(..., dim)``, all in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from course_utils._validation import as_array, describe


class Surface(NamedTuple):
    name: str
    loss: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    minimum: np.ndarray  # where the loss is smallest
    start: np.ndarray  # a good starting point for demos
    bounds: tuple  # ((xmin, xmax), (ymin, ymax)) for plots; ((xmin, xmax),) in 1-D
    curvatures: np.ndarray | None  # second derivatives along each axis for quadratics, else None


def quadratic(curvatures, center=None, start=None, name="quadratic") -> Surface:
    """The quadratic bowl ``f(w) = 0.5 * sum(c_i * (w_i - center_i)**2)``.

    Its gradient is ``c * (w - center)``. Plain gradient descent converges exactly when
    ``0 < lr < 2 / max(c)`` (see :func:`critical_learning_rate`); unequal curvatures make a ravine.

    Example:
        >>> s = quadratic([1.0, 10.0])
        >>> float(s.loss(np.array([1.0, 1.0]))), s.grad(np.array([1.0, 1.0])).tolist()
        (5.5, [1.0, 10.0])
    """
    c = as_array(curvatures, "curvatures", dtype=np.float64)
    if c.ndim != 1 or not np.all(c > 0):
        raise ValueError(f"curvatures must be a non-empty list of positive numbers, got {curvatures!r}")
    centre = np.zeros_like(c) if center is None else as_array(center, "center", dtype=np.float64)
    if centre.shape != c.shape:
        raise ValueError(f"center must have {c.size} entries like curvatures, got {center!r}")
    if start is None:  # a point up the slope, further out along the gentler directions
        start = centre + np.where(np.arange(c.size) % 2 == 0, -3.0, 3.0) / np.sqrt(c / c.min())
    start = as_array(start, "start", dtype=np.float64)
    if start.shape != c.shape:
        raise ValueError(f"start must have {c.size} entries like curvatures, got {start.tolist()!r}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {describe(name)}")
    bounds = tuple((float(m - 4.0), float(m + 4.0)) for m in centre)

    def loss(w):
        d = _points(w, c.size, name) - centre
        return 0.5 * np.sum(c * d * d, axis=-1)

    def grad(w):
        return c * (_points(w, c.size, name) - centre)

    return Surface(name, loss, grad, centre, start, bounds, c)


def _points(w, dim: int, surface: str) -> np.ndarray:
    """Check ``w`` holds points of ``dim`` coordinates (shape ``(..., dim)``); NaN and inf pass (a diverging run)."""
    w = as_array(w, "w", dtype=np.float64, finite=False)
    if w.shape[-1] != dim:
        raise ValueError(
            f"w must have shape (..., {dim}) for {surface}: {dim} coordinate(s) per point in its last axis, "
            f"got shape {w.shape}" + (f"; for one point pass w.reshape(-1, {dim})" if w.size % dim == 0 else "")
        )
    return w


def as_surface(surface, name: str = "surface") -> Surface:
    """Check ``surface`` is a :class:`Surface` (not its name) and return it."""
    if not isinstance(surface, Surface):
        named = isinstance(surface, str) and surface in SURFACES
        hint = f"; for the surface of that name use course_utils.surfaces.SURFACES[{surface!r}]" if named else ""
        raise TypeError(
            f"{name} must be a Surface such as course_utils.surfaces.ravine, got {type(surface).__name__} "
            f"{describe(surface)}{hint}"
        )
    return surface


def critical_learning_rate(surface: Surface) -> float:
    """The largest learning rate for which plain gradient descent still converges on a quadratic: ``2 / max(c)``.

    Example:
        >>> critical_learning_rate(parabola)
        1.0
    """
    if as_surface(surface).curvatures is None:
        raise ValueError(f"{surface.name} is not a quadratic; the critical learning rate is only exact for quadratics")
    return float(2.0 / surface.curvatures.max())


def _rosenbrock_loss(w, a=1.0, b=100.0):
    w = _points(w, 2, "rosenbrock")
    x, y = w[..., 0], w[..., 1]
    return (a - x) ** 2 + b * (y - x**2) ** 2


def _rosenbrock_grad(w, a=1.0, b=100.0):
    w = _points(w, 2, "rosenbrock")
    x, y = w[..., 0], w[..., 1]
    return np.stack([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)], axis=-1)


#: ``f(w) = (w - 3)**2``, a 1-D parabola (curvature 2, critical learning rate 1).
parabola = quadratic([2.0], center=[3.0], start=[-1.0], name="parabola")
#: A round bowl ``0.5 * (x**2 + y**2)``: every direction is equally steep.
bowl = quadratic([1.0, 1.0], start=[-3.0, 2.5], name="bowl")
#: An ill-conditioned ravine ``0.5 * (x**2 + 20 * y**2)``: steep across, shallow along.
ravine = quadratic([1.0, 20.0], start=[-3.5, 0.8], name="ravine")
#: Rosenbrock's banana valley ``(1 - x)**2 + 100 * (y - x**2)**2``, minimum at (1, 1).
rosenbrock = Surface(
    "rosenbrock",
    _rosenbrock_loss,
    _rosenbrock_grad,
    np.array([1.0, 1.0]),
    np.array([-1.5, 2.0]),
    ((-2.0, 2.0), (-1.0, 3.0)),
    None,
)

SURFACES = {s.name: s for s in (bowl, ravine, rosenbrock)}
