"""Lesson 03 (gradient descent): the numbers, the static pictures and two explorers.

Numbers (no plotting): :func:`contraction_factor`, :func:`parabola_regime`,
:func:`steps_to_reach`, :func:`describe_run`, :func:`batched_runs` and :class:`Sweep`
(one optimizer run for a whole grid of learning rates at once, so a slider only looks
results up). Pictures: :func:`plot_slope_step`, :func:`plot_parabola_path`, :func:`draw_surface`,
:func:`plot_contraction`, :func:`plot_descent`. Explorers: :func:`parabola_explorer`
(1-D, the critical learning rate) and :func:`descent_explorer` (2-D surfaces).
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np

from course_utils import optimizers
from course_utils._validation import as_array, describe, integer, positive_number
from course_utils.optimizers import Trajectory
from course_utils.plots import PALETTE, plot_losses, plot_path, plot_surface
from course_utils.surfaces import SURFACES, Surface, as_surface, critical_learning_rate, parabola
from course_utils.widgets.core import Demo, LiveFigure, log_slider

# The course palette's colours under the names these pictures use them for.
RED, BLUE, GREEN, ORANGE = (PALETTE[c] for c in ("vermillion", "blue", "green", "orange"))

#: Loss below which a run counts as "arrived" (every demo surface has its minimum at loss 0).
TOLERANCE = 1e-6
#: Steps shown per surface in the 2-D explorer: enough to tell converging, crawling and diverging apart.
DESCENT_STEPS = {"bowl": 50, "ravine": 100, "rosenbrock": 1000}
#: Fixed log-scale range of every loss axis; values outside are drawn just past the frame.
LOSS_RANGE = (1e-10, 1e4)


# ----------------------------------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------------------------------


def log_grid(low, high, steps_per_decade=10) -> np.ndarray:
    """The values a :func:`~course_utils.widgets.core.log_slider` from ``low`` to ``high`` can take.

    Example:
        >>> log_grid(0.01, 1.0, steps_per_decade=2).round(4).tolist()
        [0.01, 0.0316, 0.1, 0.3162, 1.0]
    """
    low, high = _rate_range(low, high, "low", "high")
    steps_per_decade = integer(steps_per_decade, "steps_per_decade", minimum=1)
    lo, hi = float(np.log10(low)), float(np.log10(high))
    count = int(np.floor((hi - lo) * steps_per_decade + 1e-9)) + 1
    return 10.0 ** (lo + np.arange(count) / steps_per_decade)


def check_lr_range(value, name="lr_range") -> tuple[float, float]:
    """Check a ``(low, high)`` pair of learning rates with ``0 < low < high`` and return it as floats."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of learning rates, got {type(value).__name__} {value!r}")
    return _rate_range(*value, f"{name}[0]", f"{name}[1]")


def check_surface_name(value, name="surface") -> str:
    """Check ``value`` is the name of one of the explorers' surfaces (:data:`~course_utils.surfaces.SURFACES`)."""
    if not isinstance(value, str) or value not in SURFACES:
        hint = f"; pass its name {value.name!r}" if isinstance(value, Surface) else ""
        raise ValueError(f"{name} must be one of the names {list(SURFACES)}, got {describe(value)}{hint}")
    return value


def _rate_range(low, high, low_name, high_name) -> tuple[float, float]:
    low, high = positive_number(low, low_name), positive_number(high, high_name)
    if not low < high:
        raise ValueError(f"{low_name} must be below {high_name}, got {low_name}={low!r} and {high_name}={high!r}")
    return low, high


def contraction_factor(learning_rate, curvature) -> float:
    """What one gradient-descent step multiplies the distance to the minimum by, on ``c/2 (w - w*)**2``.

    The gradient is ``c (w - w*)``, so ``w - w* <- (w - w*) - lr c (w - w*) = (1 - lr c)(w - w*)``.

    Example:
        >>> contraction_factor(0.1, 2.0), contraction_factor(0.75, 2.0), contraction_factor(1.5, 2.0)
        (0.8, -0.5, -2.0)
    """
    learning_rate = positive_number(learning_rate, "learning_rate")
    curvature = positive_number(curvature, "curvature")
    return float(1.0 - learning_rate * curvature)


def parabola_regime(learning_rate, curvature=2.0) -> str:
    """Name what gradient descent does on a parabola of curvature ``c`` with this learning rate.

    ``0 < lr < 1/c``: converges smoothly; ``lr = 1/c``: lands on the minimum in one step;
    ``1/c < lr < 2/c``: overshoots to the other side each step but still converges;
    ``lr = 2/c`` (the critical rate): bounces between two points forever; ``lr > 2/c``: diverges.

    Example:
        >>> for lr in (0.1, 0.5, 0.75, 1.0, 1.2):
        ...     print(lr, parabola_regime(lr))
        0.1 converges smoothly
        0.5 lands on the minimum in one step
        0.75 oscillates but converges
        1.0 bounces forever
        1.2 diverges
    """
    r = contraction_factor(learning_rate, curvature)
    if np.isclose(r, 0.0, atol=1e-9):
        return "lands on the minimum in one step"
    if np.isclose(r, -1.0, rtol=0, atol=1e-9):
        return "bounces forever"
    if r > 0:
        return "converges smoothly"
    return "oscillates but converges" if r > -1 else "diverges"


def steps_to_reach(losses, tolerance=TOLERANCE) -> int | None:
    """The first step whose loss is below ``tolerance``, or None if the run never gets there.

    Example:
        >>> steps_to_reach([4.0, 1.0, 1e-7, 1e-9]), steps_to_reach([4.0, 3.0]) is None
        (2, True)
    """
    below = np.flatnonzero(np.asarray(losses) < tolerance)
    return int(below[0]) if below.size else None


def check_run(run, name="run") -> Trajectory:
    """Check ``run`` is a :class:`~course_utils.optimizers.Trajectory` (what ``optimizers.trajectory`` returns)."""
    if not isinstance(run, Trajectory):
        raise TypeError(f"{name} must be a Trajectory from optimizers.trajectory(...), got {type(run).__name__} "
                        f"{describe(run)}")
    return run


def describe_run(run: Trajectory, tolerance=TOLERANCE) -> str:
    """One line on how a run ended: diverged, arrived (after how many steps) or still on its way.

    Example:
        >>> from course_utils.surfaces import bowl
        >>> describe_run(optimizers.trajectory(optimizers.sgd(0.5), bowl.loss, bowl.grad, bowl.start, 40))
        'reached loss < 1e-06 after 12 steps'
    """
    run, tolerance = check_run(run), positive_number(tolerance, "tolerance")
    steps = len(run.losses) - 1
    if run.diverged:
        return f"diverged: the loss blew up at step {steps + 1}"
    arrived = steps_to_reach(run.losses, tolerance)
    if arrived is not None:
        return f"reached loss < {tolerance:.0e} after {arrived} steps"
    return f"not there after {steps} steps: loss {run.losses[-1]:.3g}"


def batched_runs(make_optimizer: Callable, surface: Surface, learning_rates, num_steps: int, blow_up=1e12):
    """Run ``make_optimizer(lr)`` on ``surface`` for every learning rate at once.

    Each row is exactly :func:`course_utils.optimizers.trajectory` for one learning rate
    (the optimizers work elementwise, so a stack of K copies of the weights, with a column of
    K learning rates, runs K independent descents for the price of one).

    Returns ``(points, losses, lengths, diverged)``: ``points`` ``(K, num_steps + 1, dim)`` and
    ``losses`` ``(K, num_steps + 1)`` are NaN after a run stopped, ``lengths[k]`` counts its
    recorded points, ``diverged[k]`` says whether it blew up.

    Example:
        >>> points, losses, lengths, diverged = batched_runs(optimizers.sgd, parabola, [0.1, 5.0], 10)
        >>> lengths.tolist(), diverged.tolist()
        ([11, 6], [False, True])
    """
    lrs = np.asarray(learning_rates, dtype=np.float32).reshape(-1, 1)
    count, dim = lrs.shape[0], surface.start.size
    optimizer = make_optimizer(lambda step: lrs)  # a "schedule" returning one rate per row
    w = np.tile(surface.start.astype(np.float32), (count, 1))
    state = optimizer.init(w)
    points = np.full((count, num_steps + 1, dim), np.nan)
    losses = np.full((count, num_steps + 1), np.nan)
    points[:, 0], losses[:, 0] = w, surface.loss(w)
    lengths = np.full(count, num_steps + 1)
    diverged = np.zeros(count, dtype=bool)
    alive = np.ones(count, dtype=bool)
    with np.errstate(all="ignore"):
        for step in range(1, num_steps + 1):
            g = np.asarray(surface.grad(w), dtype=np.float32)
            stop = alive & ~np.all(np.isfinite(g), axis=1)
            alive &= ~stop
            g[~alive] = 0.0  # stopped rows are frozen; their numbers are never read again
            updates, state = optimizer.update(g, state)
            candidate = w + updates
            loss = surface.loss(candidate)
            blown = alive & (~np.isfinite(loss) | (np.abs(loss) > blow_up) | ~np.all(np.isfinite(candidate), axis=1))
            stop |= blown
            alive &= ~blown
            lengths[stop] = step
            diverged |= stop
            if not alive.any():
                break
            w = np.where(alive[:, None], candidate, w)
            points[alive, step], losses[alive, step] = w[alive], loss[alive]
    return points, losses, lengths, diverged


class Sweep:
    """Runs of one optimizer on one surface for a grid of learning rates, computed once, looked up by :meth:`run`.

    A learning rate that is not on the grid (say, typed into the slider) is computed on demand and kept.

    Example:
        >>> sweep = Sweep(optimizers.sgd, parabola, log_grid(0.01, 1.0), num_steps=20)
        >>> run = sweep.run(0.1)
        >>> len(run.points), run.diverged, round(float(run.points[-1, 0]), 4)
        (21, False, 2.9539)
    """

    def __init__(self, make_optimizer: Callable, surface: Surface, learning_rates, num_steps: int, blow_up=1e12):
        self.make_optimizer, self.surface = make_optimizer, surface
        self.num_steps, self.blow_up = int(num_steps), blow_up
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self._log = np.log10(self.learning_rates)
        self._grid = batched_runs(make_optimizer, surface, self.learning_rates, self.num_steps, blow_up)
        self._extra: dict[float, Trajectory] = {}

    def run(self, learning_rate) -> Trajectory:
        lr = float(learning_rate)
        i = int(np.argmin(np.abs(self._log - np.log10(lr))))
        if abs(self._log[i] - np.log10(lr)) > 1e-6:  # off the grid: compute it once
            if lr not in self._extra:
                self._extra[lr] = _row(batched_runs(self.make_optimizer, self.surface, [lr], self.num_steps,
                                                    self.blow_up), 0)
            return self._extra[lr]
        return _row(self._grid, i)


def _row(runs, i) -> Trajectory:
    points, losses, lengths, diverged = runs
    n = int(lengths[i])
    return Trajectory(points[i, :n], losses[i, :n], bool(diverged[i]))


def clip_points(points, bounds, margin=0.05) -> np.ndarray:
    """Clip a path to the plot's bounds widened by ``margin`` (a fraction), so a diverging path leaves the frame.

    Example:
        >>> clip_points([[0.0, 0.0], [100.0, -1e9]], ((-1, 1), (-1, 1))).tolist()
        [[0.0, 0.0], [1.1, -1.1]]
    """
    points = np.asarray(points, dtype=np.float64)
    low = np.array([b[0] for b in bounds])
    high = np.array([b[1] for b in bounds])
    pad = margin * (high - low)
    return np.clip(points, low - pad, high + pad)


def clip_losses(losses, loss_range=LOSS_RANGE) -> np.ndarray:
    """Clip losses to just outside a fixed log-scale range (a factor of 2), so the axis never has to change.

    Example:
        >>> clip_losses([1e9, 1.0, 0.0], (1e-6, 1e3)).tolist()
        [2000.0, 1.0, 5e-07]
    """
    low, high = loss_range
    return np.clip(np.asarray(losses, dtype=np.float64), low / 2, high * 2)


# ----------------------------------------------------------------------------------------------
# Static pictures (each takes ax=None and returns what it drew)
# ----------------------------------------------------------------------------------------------

#: Where the 1-D pictures look at the parabola (w* = 3, start -1).
PARABOLA_VIEW = ((-6.0, 12.0), (-5.0, 85.0))


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


def _draw_parabola(ax, surface=parabola, view=PARABOLA_VIEW):
    ws = np.linspace(*view[0], 300)
    ax.plot(ws, surface.loss(ws[:, None]), color="0.35", linewidth=1.5)
    ax.plot(surface.minimum[0], 0.0, marker="*", color="black", markersize=11, linestyle="none")
    ax.set(xlim=view[0], ylim=view[1], xlabel="weight $w$", ylabel="loss $f(w)$")


def plot_slope_step(w, learning_rate, surface=parabola, ax=None):
    """The blindfolded hiker's view: the slope under the feet at ``w`` and the step downhill it suggests.

    Draws the curve, the tangent at ``w`` and an arrow from ``w`` to ``w - lr * f'(w)``.
    Returns ``{"tangent": Line2D, "arrow": Annotation, "next_w": float}``.
    """
    w, surface = float(as_array(w, "w", dtype=np.float64, min_ndim=0)), as_surface(surface)
    learning_rate = positive_number(learning_rate, "learning_rate")
    ax = _axes(ax)
    _draw_parabola(ax, surface)
    w = float(w)
    f, slope = float(surface.loss(np.array([w]))), float(surface.grad(np.array([w]))[0])
    nxt = w - learning_rate * slope
    span = np.array([w - 2.5, w + 2.5])
    (tangent,) = ax.plot(span, f + slope * (span - w), color=RED, linewidth=2,
                         label=f"slope $f'(w)$ = {slope:.0f}")
    ax.plot([w], [f], "o", color=RED, markersize=7)
    f_next = float(surface.loss(np.array([nxt])))
    arrow = ax.annotate("", xy=(nxt, f_next), xytext=(w, f),
                        arrowprops=dict(arrowstyle="->", color=BLUE, linewidth=2))
    ax.plot([nxt], [f_next], "o", color=BLUE, markersize=7,
            label=f"next $w = w - {learning_rate:g}\\cdot f'(w)$ = {nxt:.1f}")
    ax.legend(loc="upper center", fontsize=8, frameon=False)
    return {"tangent": tangent, "arrow": arrow, "next_w": nxt}


def plot_parabola_path(run: Trajectory, ax=None, surface=parabola, view=PARABOLA_VIEW, **style):
    """Draw the parabola and the iterates ``(w_k, f(w_k))`` of a run, joined in order; returns the path Line2D.

    Points outside ``view`` are clipped to just past its edge.
    """
    run, surface = check_run(run), as_surface(surface)
    ax = _axes(ax)
    _draw_parabola(ax, surface, view)
    xy = clip_points(np.column_stack([run.points[:, 0], run.losses]), view)
    (line,) = ax.plot(xy[:, 0], xy[:, 1], **{"marker": "o", "markersize": 4, "linewidth": 1, **style})
    return line


def plot_contraction(curvature=2.0, ax=None, max_lr=2.0):
    """The factor ``|1 - lr c|`` that each step multiplies the error by, against the learning rate (linear axis).

    Shades the three regimes (smooth, zig-zag, diverging) and marks the critical rate ``2/c``.
    Returns the Line2D of the factor.
    """
    ax = _axes(ax)
    lrs = np.linspace(0.0, max_lr, 401)
    half, critical = 1.0 / curvature, 2.0 / curvature
    ax.axvspan(0.0, half, color=GREEN, alpha=0.12, linewidth=0)
    ax.axvspan(half, critical, color=ORANGE, alpha=0.15, linewidth=0)
    ax.axvspan(critical, max(max_lr, critical * 1.5), color=RED, alpha=0.12, linewidth=0)
    (line,) = ax.plot(lrs, np.abs(1 - lrs * curvature), color="0.2")
    ax.axhline(1.0, color="0.4", linestyle=":", linewidth=1)
    ax.axvline(critical, color=RED, linestyle="--", linewidth=1.2)
    ax.text(critical + 0.03 * max_lr, 2.85, f"critical lr\n= 2/c = {critical:g}", color=RED, fontsize=8,
            va="top")
    ax.text(0.03 * max_lr, 2.85, "smooth", color=GREEN, fontsize=8, va="top")
    ax.text(half + 0.03 * max_lr, 2.85, "zig-zag", color=ORANGE, fontsize=8, va="top")
    ax.text(critical + 0.03 * max_lr, 0.12, "diverges", color=RED, fontsize=8)
    ax.set(xlim=(0, max(max_lr, critical * 1.5)), ylim=(0, 3), xlabel="learning rate",
           ylabel="|1 - lr c|  (per step)")
    return line


def plot_descent(surface: Surface, run: Trajectory, axes=None, label=None, color=RED):
    """Contour plot with the path on the left, loss curve (log scale, fixed range) on the right.

    ``axes`` is a pair of Axes (a new 1x2 figure when None). Returns ``(path_line, loss_line)``.
    """
    surface, run = as_surface(surface), check_run(run)
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    contour_ax, loss_ax = axes
    if not contour_ax.collections:
        plot_surface(surface, ax=contour_ax)
    style = {} if len(run.points) <= 150 else {"marker": ""}
    path = plot_path(clip_points(run.points, surface.bounds), ax=contour_ax, color=color, label=label, **style)
    loss = plot_losses(clip_losses(run.losses), ax=loss_ax, color=color, label=label)
    loss_ax.set_ylim(*LOSS_RANGE)
    return path, loss


# ----------------------------------------------------------------------------------------------
# Explorers
# ----------------------------------------------------------------------------------------------


def parabola_explorer(learning_rate=0.1, num_steps=20, lr_range=(1e-3, 2.0)) -> Demo:
    """Gradient descent on ``f(w) = (w - 3)**2`` from ``w = -1``: the iterates, the loss, and the critical rate.

    Control: ``learning_rate`` (log slider over ``lr_range``). Left: the parabola and the
    iterates; middle: the loss per step (log scale); right: the factor ``|1 - lr c|`` each step
    multiplies the error by, with the critical learning rate ``2/c = 1`` marked.

    Example:
        >>> demo = parabola_explorer(0.1)
        >>> demo.controls["learning_rate"].value = 1.2
        >>> "diverges" in demo.readout.value
        True
    """
    lr_range = check_lr_range(lr_range)
    learning_rate = positive_number(learning_rate, "learning_rate")
    num_steps = integer(num_steps, "num_steps", minimum=1)
    c = float(parabola.curvatures[0])
    critical = critical_learning_rate(parabola)
    sweep = Sweep(optimizers.sgd, parabola, log_grid(*lr_range), num_steps)
    live = LiveFigure(1, 3, figsize=(10.2, 3.2))
    curve_ax, loss_ax, factor_ax = live.axes
    _draw_parabola(curve_ax)
    curve_ax.set_title("the iterates on the loss curve", fontsize=10)
    loss_ax.set(yscale="log", xlim=(0, num_steps), ylim=LOSS_RANGE, xlabel="step", ylabel="loss")
    loss_ax.set_title("loss per step", fontsize=10)
    plot_contraction(c, ax=factor_ax, max_lr=lr_range[1])
    factor_ax.set_title("error multiplier per step", fontsize=10)
    path = live.animated(curve_ax.plot([], [], marker="o", markersize=4, linewidth=1, color=BLUE)[0])
    loss_line = live.animated(loss_ax.plot([], [], marker="o", markersize=3, color=BLUE)[0])
    marker = live.animated(factor_ax.plot([], [], "o", color=BLUE, markersize=8)[0])
    status = live.animated(curve_ax.text(0.5, 0.97, "", transform=curve_ax.transAxes, ha="center", va="top",
                                         fontsize=9, color=BLUE))

    def update(learning_rate):
        run = sweep.run(learning_rate)
        xy = clip_points(np.column_stack([run.points[:, 0], run.losses]), PARABOLA_VIEW)
        path.set_data(xy[:, 0], xy[:, 1])
        loss_line.set_data(np.arange(len(run.losses)), clip_losses(run.losses))
        r = contraction_factor(learning_rate, c)
        marker.set_data([learning_rate], [min(abs(r), 2.95)])
        regime = parabola_regime(learning_rate, c)
        if regime == "converges smoothly" and run.losses[-1] > 0.1 * run.losses[0]:
            regime = "crawls"
        status.set_text(regime)
        end = ("the loss blew up past 1e12" if run.diverged
               else f"loss {run.losses[-1]:.3g} at w = {run.points[-1, 0]:.4g}")
        return (
            f"<b>lr = {learning_rate:.3g}</b>: {regime}. Each step multiplies the distance to the minimum by "
            f"1 &minus; lr&middot;c = {r:.3g}. After {len(run.losses) - 1} steps: {end}.<br>"
            f"Critical learning rate 2/c = {critical:g}: below it descent converges, above it it diverges "
            f"(between 1/c = {1 / c:g} and 2/c it zig-zags across the minimum)."
        )

    return Demo(live, {"learning_rate": log_slider(learning_rate, *lr_range)}, update)


def _factor_word(r) -> str:
    if np.isclose(r, -1.0, rtol=0, atol=1e-9):
        return "bounces forever"
    if abs(r) > 1:
        return "diverges"
    if np.isclose(r, 0.0, atol=1e-9):
        return "settles in one step"
    if r < 0:
        return "zig-zags"
    return "crawls" if r > 0.95 else "shrinks"


def axis_factors(surface: Surface, learning_rate) -> str:
    """What gradient descent does along each axis of a quadratic surface, as one line of HTML.

    Example:
        >>> from course_utils.surfaces import ravine
        >>> text = axis_factors(ravine, 0.095).replace("<sub>", "_").replace("</sub>", "").replace("&times;", "x")
        >>> for part in text.split("; "):
        ...     print(part)
        w_1 (curvature 1): x0.905 per step, shrinks
        w_2 (curvature 20): x-0.9 per step, zig-zags. Critical lr = 2 / 20 = 0.1
    """
    if surface.curvatures is None:
        return "Not a quadratic: no single critical learning rate, the curvature changes along the way"
    parts = []
    for axis, curvature in enumerate(surface.curvatures):
        r = contraction_factor(learning_rate, curvature)
        parts.append(f"w<sub>{axis + 1}</sub> (curvature {curvature:g}): &times;{r:.3g} per step, {_factor_word(r)}")
    return "; ".join(parts) + f". Critical lr = 2 / {surface.curvatures.max():g} = {critical_learning_rate(surface):g}"


def short_verdict(run: Trajectory, tolerance=TOLERANCE) -> str:
    """A few words for the figure (the readout has the full sentence).

    Example:
        >>> short_verdict(Trajectory(np.zeros((3, 2)), np.array([5.0, 1e12, 1e13]), True))
        'diverged at step 3'
    """
    run, tolerance = check_run(run), positive_number(tolerance, "tolerance")
    steps = len(run.losses) - 1
    if run.diverged:
        return f"diverged at step {steps + 1}"
    arrived = steps_to_reach(run.losses, tolerance)
    return f"arrived in {arrived} steps" if arrived is not None else f"loss {run.losses[-1]:.2g} after {steps}"


def descent_explorer(surface="ravine", learning_rate=0.08, lr_range=(1e-4, 1.0), num_steps=None) -> Demo:
    """Plain gradient descent on a 2-D loss surface: the path on the contour plot and the loss curve.

    Controls: ``surface`` (dropdown: bowl, ravine, rosenbrock) and ``learning_rate`` (log slider
    over ``lr_range``). The number of steps is fixed per surface (:data:`DESCENT_STEPS`) unless
    ``num_steps`` is given. The runs for every slider position are computed once per surface.

    Example:
        >>> demo = descent_explorer("ravine", 0.08)
        >>> demo.controls["learning_rate"].value = 0.2
        >>> "diverged" in demo.readout.value
        True
    """
    surface = check_surface_name(surface)
    learning_rate, grid = positive_number(learning_rate, "learning_rate"), log_grid(*check_lr_range(lr_range))
    if num_steps is not None:
        num_steps = integer(num_steps, "num_steps", minimum=1)
    sweeps: dict[str, Sweep] = {}
    live = LiveFigure(1, 2, figsize=(9.2, 3.6))
    contour_ax, loss_ax = live.axes
    loss_ax.set(yscale="log", ylim=LOSS_RANGE, xlabel="step", ylabel="loss")
    loss_ax.axhline(TOLERANCE, color="0.5", linestyle=":", linewidth=1)
    loss_ax.text(0.99, TOLERANCE * 1.6, f"arrived: loss < {TOLERANCE:.0e}", transform=loss_ax.get_yaxis_transform(),
                 ha="right", fontsize=7, color="0.4")
    path = live.animated(contour_ax.plot([], [], marker="o", markersize=2.5, linewidth=1.1, color=RED)[0])
    start = live.animated(contour_ax.plot([], [], "o", color="white", markeredgecolor="black", markersize=7)[0])
    end = live.animated(contour_ax.plot([], [], "X", color=RED, markeredgecolor="white", markersize=9)[0])
    loss_line = live.animated(loss_ax.plot([], [], color=RED)[0])
    status = live.animated(loss_ax.text(0.97, 0.95, "", transform=loss_ax.transAxes, ha="right", va="top",
                                        fontsize=9, color=RED))
    drawn = {"name": None, "artists": []}

    def show_surface(name):
        for artist in drawn["artists"]:
            artist.remove()
        lines_before = list(contour_ax.lines)
        fills = [plot_surface(SURFACES[name], ax=contour_ax)]
        drawn.update(name=name, artists=[*fills, *(line for line in contour_ax.lines if line not in lines_before)])
        steps = num_steps or DESCENT_STEPS[name]
        path.set_marker("o" if steps <= 150 else "")
        loss_ax.set(xlim=(0, steps))
        loss_ax.set_title(f"loss over {steps} steps", fontsize=10)
        contour_ax.set_title(f"{name}: the path of gradient descent", fontsize=10)
        if name not in sweeps:
            sweeps[name] = Sweep(optimizers.sgd, SURFACES[name], grid, steps)
        live.invalidate()

    def update(surface, learning_rate):
        if surface != drawn["name"]:
            show_surface(surface)
        s, run = SURFACES[surface], sweeps[surface].run(learning_rate)
        xy = clip_points(run.points, s.bounds)
        path.set_data(xy[:, 0], xy[:, 1])
        start.set_data([xy[0, 0]], [xy[0, 1]])
        end.set_data([xy[-1, 0]], [xy[-1, 1]])
        loss_line.set_data(np.arange(len(run.losses)), clip_losses(run.losses))
        status.set_text(short_verdict(run))
        final = "&infin; (blew up)" if run.diverged else format(run.losses[-1], ".3g")
        return (f"<b>{surface}, lr = {learning_rate:.3g}</b>: {describe_run(run)}. Final loss {final}.<br>"
                f"{axis_factors(s, learning_rate)}.")

    dropdown = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface",
                                layout=widgets.Layout(width="200px"))
    return Demo(live, {"surface": dropdown, "learning_rate": log_slider(learning_rate, *lr_range)}, update)
