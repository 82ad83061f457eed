"""Static plotting helpers shared by the lessons.

Each takes ``ax=None`` (a new pyplot figure is made when it is missing), draws, and returns
what it drew, so a widget can keep the artist and update it later.
"""

from __future__ import annotations

import numpy as np

from course_utils.surfaces import Surface

#: The course's one palette: Okabe & Ito's eight colours, distinguishable with every common colour-vision
#: deficiency (https://jfly.uni-koeln.de/color/). Every plot in the course takes its colours from here.
PALETTE = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
#: The order in which series take colours, line styles and markers (yellow is kept for fills: thin yellow
#: lines are hard to see on white).
CYCLE = ("blue", "vermillion", "green", "purple", "orange", "sky")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (8, 2.5)))
MARKERS = ("o", "s", "^", "D", "v", "P")


def series_style(i: int, marker=False, **overrides) -> dict:
    """Matplotlib keywords for the ``i``-th of several series: a palette colour *and* a line style
    (and a marker with ``marker=True``), so the series differ in more than hue.

    Example:
        >>> series_style(1)
        {'color': '#D55E00', 'linestyle': '--'}
        >>> series_style(0, marker=True, linewidth=2)
        {'color': '#0072B2', 'linestyle': '-', 'marker': 'o', 'linewidth': 2}
    """
    k = i % len(CYCLE)
    style = {"color": PALETTE[CYCLE[k]], "linestyle": LINESTYLES[k]}
    if marker:
        style["marker"] = MARKERS[k]
    return {**style, **overrides}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def surface_grid(surface: Surface, resolution=150):
    """Evaluate a 2-D surface on a grid over its bounds: returns ``(X, Y, Z)``.

    Example:
        >>> from course_utils.surfaces import bowl
        >>> [a.shape for a in surface_grid(bowl, resolution=5)]
        [(5, 5), (5, 5), (5, 5)]
    """
    (x0, x1), (y0, y1) = surface.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return xs, ys, surface.loss(np.stack([xs, ys], axis=-1))


def plot_surface(surface: Surface, ax=None, levels=25, resolution=150, filled=True):
    """Draw a 2-D surface's contours with its minimum marked; returns the contour set.

    Levels are spaced logarithmically, so both the valley floor and the steep walls show.
    """
    ax = _axes(ax)
    xs, ys, zs = surface_grid(surface, resolution)
    low = max(float(zs.min()), 1e-3 * float(zs.max()), 1e-6)
    contour_levels = np.geomspace(low, float(zs.max()), levels)
    if filled:  # one more band from a floor up to the lowest level, so the valley bottom is filled too
        floor = contour_levels[0] / 10
        contours = ax.contourf(xs, ys, np.maximum(zs, floor), levels=np.concatenate([[floor], contour_levels]),
                               cmap="viridis", norm="log", alpha=0.8)
    else:
        contours = ax.contour(xs, ys, zs, levels=contour_levels, cmap="viridis", norm="log")
    ax.plot(*surface.minimum, marker="*", color="white" if filled else "black", markersize=12, linestyle="none")
    ax.set(xlim=surface.bounds[0], ylim=surface.bounds[1], xlabel="$w_1$", ylabel="$w_2$", title=surface.name)
    return contours


def plot_path(points, ax=None, **style):
    """Draw an optimizer's path (``points`` of shape ``(n, 2)``) as dots joined by lines; returns the Line2D."""
    ax = _axes(ax)
    points = np.asarray(points)
    (line,) = ax.plot(points[:, 0], points[:, 1], **{"marker": "o", "markersize": 3, "linewidth": 1.2, **style})
    return line


def plot_losses(losses, ax=None, log=True, **style):
    """Draw a loss curve against the step; returns the Line2D."""
    ax = _axes(ax)
    (line,) = ax.plot(np.arange(len(losses)), losses, **style)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss")
    return line


def plot_schedule(schedule, num_steps, ax=None, **style):
    """Draw a learning-rate schedule ``step -> lr`` for steps ``0 .. num_steps``; returns the Line2D."""
    ax = _axes(ax)
    steps = np.arange(num_steps + 1)
    (line,) = ax.plot(steps, schedule(steps), **style)
    ax.set(xlabel="step", ylabel="learning rate")
    return line
