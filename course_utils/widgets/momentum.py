"""Lesson 04 (optimizers), why momentum works: pictures of :mod:`course_utils.momentum` and an explorer.

Numbers: :func:`direction_errors` (a real run of :func:`course_utils.optimizers.sgd`, one curve per direction).
Pictures: :func:`plot_rates_vs_condition`, :func:`plot_direction_errors`. Explorer: :func:`momentum_explorer`.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course_utils import momentum as theory
from course_utils import optimizers
from course_utils._validation import fraction, integer, number_in, positive_number
from course_utils.plots import PALETTE, series_style
from course_utils.surfaces import quadratic
from course_utils.widgets.core import Demo, LiveFigure, log_slider


def direction_errors(learning_rate, momentum, curvatures, num_steps=100) -> np.ndarray:
    """Run ``optimizers.sgd(learning_rate, momentum)`` on ``1/2 sum c_i w_i**2`` from ``w = (1, ..., 1)``.

    Returns the iterates, shape ``(num_steps + 1, len(curvatures))``: column ``i`` is direction ``i``'s
    error ``w_i`` step by step (the minimum is at 0), signed, so a swing shows as a change of sign.

    Example:
        >>> direction_errors(0.04, 0.0, [1.0, 20.0], num_steps=2).round(4).tolist()
        [[1.0, 1.0], [0.96, 0.2], [0.9216, 0.04]]
    """
    c = theory._curvatures(curvatures)
    steps = integer(num_steps, "num_steps", minimum=1)
    surface = quadratic(c, start=np.ones_like(c), name="diagonal quadratic")
    run = optimizers.trajectory(optimizers.sgd(learning_rate, momentum=momentum), surface.loss, surface.grad,
                                surface.start, steps)
    if run.diverged:
        raise ValueError(f"learning_rate {learning_rate} with momentum {momentum} diverges on curvatures "
                         f"{c.tolist()}: the largest stable rate is {theory.max_learning_rate(momentum, c):.3g}")
    return run.points.astype(np.float64)


def plot_rates_vs_condition(kappas=None, steps=False, mark=None, ax=None):
    """The best convergence rate of gradient descent and of momentum against the condition number (log x).

    Args:
        kappas: condition numbers to draw (default 1 to 10,000).
        steps: draw the steps needed per tenfold shrink of the error (log y) instead of the rate.
        mark: a condition number to mark with a dotted vertical line (the ravine's 20, say), or None.
        ax: where to draw (a new figure when None).

    Returns ``{"gradient descent": Line2D, "momentum": Line2D}``.
    """
    kappas = np.geomspace(1.0, 1e4, 200) if kappas is None else theory._condition_numbers(kappas)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    curves = dict(zip(("gradient descent", "momentum"), theory.best_rates(kappas)))
    lines = {}
    for i, (name, rate) in enumerate(curves.items()):
        y = theory.steps_per_tenfold(rate[kappas > 1]) if steps else rate
        x = kappas[kappas > 1] if steps else kappas
        formula = {"gradient descent": r"$(\kappa-1)/(\kappa+1)$",
                   "momentum": r"$(\sqrt{\kappa}-1)/(\sqrt{\kappa}+1)$"}[name]
        (lines[name],) = ax.plot(x, y, **series_style(i), linewidth=2, label=f"{name}, best tuned: {formula}")
    if mark is not None:
        ax.axvline(positive_number(mark, "mark"), color="0.4", linestyle=":", linewidth=1)
    ax.set(xscale="log", xlabel=r"condition number $\kappa = \lambda_{max} / \lambda_{min}$")
    if steps:
        ax.set(yscale="log", ylabel="steps per tenfold shrink of the error")
    else:
        ax.set(ylim=(0, 1.02), ylabel="convergence rate (error factor per step)")
    ax.legend(fontsize=8)
    return lines


def plot_direction_errors(learning_rate, momentum, curvatures=(1.0, 20.0), num_steps=100, ax=None):
    """One line per direction: its error ``w_i`` over the steps of a real momentum run (signed, linear axis).

    Each line is labelled with the direction's curvature, its rate from :func:`course_utils.momentum.direction_rates`
    and its :func:`~course_utils.momentum.regime`. Returns the list of lines.
    """
    c = theory._curvatures(curvatures)
    errors = direction_errors(learning_rate, momentum, c, num_steps)
    rates = theory.direction_rates(learning_rate, momentum, c)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    lines = []
    for i, ci in enumerate(c):
        label = f"curvature {ci:g}: x{rates[i]:.3f}/step, {theory.regime(learning_rate, momentum, ci)}"
        lines += ax.plot(errors[:, i], **series_style(i), linewidth=1.6, label=label)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    top = 1.05 * max(1.0, float(np.abs(errors).max()))
    ax.set(xlabel="step", ylabel="error along the direction", ylim=(-top, top),
           title=f"lr {learning_rate:.3g}, momentum {momentum:.3g}: rate {rates.max():.3f}")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8, loc="upper right")
    return lines


def _explorer_text(learning_rate, momentum, curvatures) -> str:
    c = theory._curvatures(curvatures)
    rates = theory.direction_rates(learning_rate, momentum, c)
    parts = [f"curvature {ci:g}: x{r:.3f} per step ({theory.regime(learning_rate, momentum, ci)})"
             for ci, r in zip(c, rates)]
    best = theory.optimal_momentum(c)
    overall = rates.max()
    speed = (f"about {theory.steps_per_tenfold(overall):.0f} steps per tenfold shrink" if overall < 1
             else "it does not converge")
    return (f"<b>learning rate {learning_rate:.3g}, momentum {momentum:.2f}</b>: " + "; ".join(parts) +
            f". Overall rate {overall:.3f}: {speed}. Best pair for this quadratic: learning rate "
            f"{best.learning_rate:.3g}, momentum {best.momentum:.2f}, rate {best.rate:.3f}.")


def momentum_explorer(learning_rate=0.04, momentum=0.9, curvatures=(1.0, 20.0), num_steps=100):
    """Drag momentum and the learning rate; watch each direction's error in a real run and its rate.

    Left: the error along each direction (signed) over ``num_steps`` steps of ``optimizers.sgd``; right:
    the rate ``rho(M)`` of every curvature between the smallest and the largest for the current setting
    (plain gradient descent's, same learning rate, dashed), with the best momentum pair's rate dotted and the
    directions of the left panel as dots.
    The readout gives each direction's rate and regime, and the best pair.

    Example:
        >>> demo = momentum_explorer(0.04, 0.9)
        >>> demo.controls["momentum"].value = 0.4
        >>> "momentum 0.40" in demo.summary()
        True
    """
    c = theory._curvatures(curvatures)
    learning_rate = positive_number(learning_rate, "learning_rate")
    momentum = number_in(fraction(momentum, "momentum", high_open=True), "momentum", 0.0, 0.99)
    steps = integer(num_steps, "num_steps", minimum=1)
    live = LiveFigure(1, 2, figsize=(9.6, 3.5))
    path_ax, rate_ax = live.axes
    path_ax.set(xlim=(0, steps), ylim=(-2.0, 2.0), xlabel="step", ylabel="error along the direction")
    path_ax.axhline(0.0, color="0.6", linewidth=0.8)
    paths = [live.animated(path_ax.plot([], [], **series_style(i), linewidth=1.6, label=f"curvature {ci:g}")[0])
             for i, ci in enumerate(c)]
    path_ax.legend(fontsize=8, loc="upper right")
    grid = np.geomspace(c.min(), c.max(), 60)
    best = theory.optimal_momentum(c)
    rate_ax.axhline(best.rate, color=PALETTE["black"], linestyle=":", linewidth=1,
                    label=f"best pair: {best.rate:.3f}")
    with_momentum = live.animated(rate_ax.plot([], [], **series_style(0), linewidth=2, label="with momentum")[0])
    without = live.animated(rate_ax.plot([], [], **series_style(1), linewidth=1.5, label="same lr, no momentum")[0])
    # the directions of the left panel, as points on the curve
    points = live.animated(rate_ax.plot([], [], "o", color=PALETTE["black"], markersize=5)[0])
    rate_ax.set(xscale="log", xlim=(c.min(), c.max()), ylim=(0, 1.2), xlabel="curvature of a direction",
                ylabel="rate (error factor per step)")
    rate_ax.axhline(1.0, color="0.6", linewidth=0.8)
    rate_ax.legend(fontsize=8, loc="lower left")

    def update(learning_rate, momentum):
        stable = learning_rate < theory.max_learning_rate(momentum, c)
        errors = direction_errors(learning_rate, momentum, c, steps) if stable else np.full((1, c.size), np.nan)
        for i, line in enumerate(paths):
            line.set_data(np.arange(len(errors)), errors[:, i])
        with_momentum.set_data(grid, np.minimum(theory.direction_rates(learning_rate, momentum, grid), 1.2))
        without.set_data(grid, np.minimum(theory.direction_rates(learning_rate, 0.0, grid), 1.2))
        points.set_data(c, np.minimum(theory.direction_rates(learning_rate, momentum, c), 1.2))
        return _explorer_text(learning_rate, momentum, c)

    controls = {
        "learning_rate": log_slider(learning_rate, 1e-3, 1.0),
        "momentum": widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01, description="momentum",
                                        readout_format=".2f", style={"description_width": "initial"},
                                        layout=widgets.Layout(width="380px")),
    }
    return Demo(live, controls, update)
