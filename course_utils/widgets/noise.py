"""Lesson 03, section 7: mini-batch noise, and why a decaying learning rate helps.

Numbers come from :mod:`course_utils.noise` (a line fitted to 256 noisy points by least squares, SGD on
mini-batches). Here: :func:`compare_runs` (the same batches with a constant and with a decaying rate),
:func:`describe_runs` (what they show, in words), the static picture :func:`plot_noise_runs` and the
explorer :func:`minibatch_explorer`.
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from course_utils import noise, schedules
from course_utils._validation import integer, positive_number
from course_utils.optimizers import Trajectory
from course_utils.plots import plot_surface, series_style
from course_utils.widgets.core import Demo, LiveFigure, log_slider
from course_utils.widgets.descent import check_lr_range, clip_points

#: The batch sizes the explorer offers: powers of two up to the whole data set (256 examples).
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Updates per run, and how many of the last ones :func:`course_utils.noise.noise_ball` averages over.
NUM_STEPS, LAST = 300, 50
#: The decaying rate halves every ``HALF_LIFE`` updates: ``lr * 0.5 ** (step / HALF_LIFE)``.
HALF_LIFE = 50
#: How far the close-up reaches from the minimum, in each weight.
ZOOM = 0.6
#: Range of the distance axis (log scale); smaller distances are drawn at its floor.
DISTANCE_RANGE = (1e-4, 10.0)
#: Grid points per axis for the contours (each costs the loss over all 256 examples; the ellipses stay smooth).
RESOLUTION = 80
#: How the two runs are drawn: each differs from the other in colour, line style and marker.
CONSTANT_STYLE = series_style(0, marker=True)
DECAY_STYLE = series_style(1, marker=True)


class RunPair(NamedTuple):
    """Two runs on the same batches: one with a constant learning rate, one with a decaying rate."""

    constant: Trajectory
    decay: Trajectory


def decaying_rate(learning_rate, half_life=HALF_LIFE):
    """The decaying rule of this section: start at ``learning_rate``, halve every ``half_life`` updates.

    ``lr_t = learning_rate * 0.5 ** (t / half_life)``: :func:`course_utils.schedules.exponential_decay`
    (lesson 05 is about such schedules).

    Example:
        >>> [round(float(v), 4) for v in decaying_rate(0.1)([0, 50, 100, 300])]
        [0.1, 0.05, 0.025, 0.0016]
    """
    return schedules.exponential_decay(positive_number(learning_rate, "learning_rate"),
                                       integer(half_life, "half_life", minimum=1), 0.5)


def compare_runs(problem, learning_rate, batch_size, num_steps=NUM_STEPS, half_life=HALF_LIFE, seed=0) -> RunPair:
    """SGD on the same mini-batches twice: with a constant ``learning_rate``, and starting from it and halving it
    every ``half_life`` updates (:func:`decaying_rate`).

    Example:
        >>> runs = compare_runs(noise.line_fit(), 0.1, batch_size=8)
        >>> [round(noise.noise_ball(noise.line_fit(), run), 4) for run in runs]
        [0.1718, 0.0069]
    """
    constant = noise.noisy_trajectory(problem, learning_rate, batch_size, num_steps, seed=seed)
    decay = noise.noisy_trajectory(problem, decaying_rate(learning_rate, half_life), batch_size, num_steps, seed=seed)
    return RunPair(constant, decay)


def _distance_text(value: float) -> str:
    return "diverged (the loss blew up)" if not np.isfinite(value) else f"{value:.2g}"


def describe_runs(problem, runs: RunPair, learning_rate, batch_size, half_life=HALF_LIFE, last=LAST) -> str:
    """What a :func:`compare_runs` pair shows, in one plain sentence (the explorer's readout and alt text).

    Example:
        >>> problem = noise.line_fit()
        >>> import textwrap
        >>> print(textwrap.fill(describe_runs(problem, compare_runs(problem, 0.1, 8), 0.1, 8), 100))
        batch 8 of 256, learning rate 0.1: at the minimum, where the true gradient is 0, a batch's gradient
        is typically 1.2 long. Over the last 50 steps the weights stay 0.17 from the minimum with the
        constant rate, 0.0069 with the rate halved every 50 steps.
    """
    n = problem.num_examples
    size = integer(batch_size, "batch_size", minimum=1, maximum=n)
    spread = np.sqrt(noise.gradient_noise(problem, noise.minimum(problem), size))
    runs = _check_runs(runs)
    ball = {k: noise.noise_ball(problem, run, min(last, len(run.points))) for k, run in runs._asdict().items()}
    off = "every step uses the true gradient, so there is no noise" if size == n else (
        f"at the minimum, where the true gradient is 0, a batch's gradient is typically {spread:.2g} long")
    return (f"batch {size} of {n}, learning rate {learning_rate:.3g}: {off}. Over the last {last} steps the "
            f"weights stay {_distance_text(ball['constant'])} from the minimum with the constant rate, "
            f"{_distance_text(ball['decay'])} with the rate halved every {half_life} steps.")


def _panels(problem, axes, num_steps):
    """The static part of the three panels: contours (whole view and close-up) and the distance axes."""
    path_ax, zoom_ax, dist_ax = axes
    plot_surface(noise.as_surface(problem), ax=path_ax, resolution=RESOLUTION)
    path_ax.set(xlabel="slope $w$", ylabel="intercept $b$", title="the paths (loss contours of all 256 points)")
    close = noise.as_surface(problem, half_width=ZOOM)
    plot_surface(close, ax=zoom_ax, resolution=RESOLUTION)
    zoom_ax.set(xlabel="slope $w$", ylabel="intercept $b$", title=f"close-up: the last {LAST} steps")
    dist_ax.set(yscale="log", xlim=(0, num_steps), ylim=DISTANCE_RANGE, xlabel="update",
                ylabel="distance to the minimum", title="how close the weights get")
    dist_ax.grid(alpha=0.3)


def _draw(problem, runs, axes, artists=None, last=LAST):
    """Put the runs into the panels: new lines when ``artists`` is None, else update those."""
    path_ax, zoom_ax, dist_ax = axes
    whole, close = noise.as_surface(problem).bounds, noise.as_surface(problem, half_width=ZOOM).bounds
    drawn = artists or {}
    for key, style, label in (("constant", CONSTANT_STYLE, "constant rate"),
                              ("decay", DECAY_STYLE, f"rate halved every {HALF_LIFE} steps")):
        run = getattr(runs, key)
        path = clip_points(run.points, whole)
        tail = clip_points(run.points[-last:], close, margin=0.02)
        distance = np.clip(noise.distance_to_minimum(problem, run), DISTANCE_RANGE[0], DISTANCE_RANGE[1] * 2)
        data = {f"{key}_path": path.T, f"{key}_tail": tail.T, f"{key}_distance": (np.arange(len(distance)), distance)}
        if artists is None:
            drawn[f"{key}_path"] = path_ax.plot(*data[f"{key}_path"], **{**style, "marker": None}, linewidth=1,
                                                alpha=0.8, label=label)[0]
            drawn[f"{key}_tail"] = zoom_ax.plot(*data[f"{key}_tail"], **style, linewidth=0.6, markersize=3.5,
                                                label=label)[0]
            drawn[f"{key}_distance"] = dist_ax.plot(*data[f"{key}_distance"], **{**style, "marker": None},
                                                    linewidth=1.4, label=label)[0]
        else:
            for name, xy in data.items():
                drawn[name].set_data(*xy)
    return drawn


def plot_noise_runs(problem, runs: RunPair, axes=None):
    """The static picture of a :func:`compare_runs` pair: the paths, a close-up of the end, the distance per update.

    ``axes`` is a row of three Axes (a new figure when None). Returns the dict of the Line2D drawn
    (``"constant_path"``, ``"decay_tail"``, ...).
    """
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
    _check_runs(runs)
    _panels(problem, axes, len(runs.constant.points) - 1)
    drawn = _draw(problem, runs, axes)
    axes[2].legend(fontsize=8, loc="lower left")
    return drawn


def _check_runs(runs) -> RunPair:
    if not isinstance(runs, RunPair):
        raise TypeError(f"runs must be the RunPair that compare_runs(...) returns, got {type(runs).__name__}")
    return runs


def minibatch_explorer(batch_size=8, learning_rate=0.1, lr_range=(1e-3, 0.3), num_steps=NUM_STEPS, seed=0) -> Demo:
    """SGD on mini-batches of a line fit: the noise ball of a constant rate, and a decaying rate that shrinks it.

    Controls: ``batch_size`` (1 to 256, the whole data set) and ``learning_rate`` (log slider over
    ``lr_range``). Both runs see the same batches (fixed ``seed``). Left: the two paths on the loss contours;
    middle: a close-up of their last 50 points around the minimum; right: the distance to the minimum
    after each update. The readout says how noisy a batch's gradient is and how close each run stays.

    Example:
        >>> demo = minibatch_explorer(batch_size=8, learning_rate=0.1)
        >>> demo.controls["batch_size"].value = 256
        >>> "no noise" in demo.summary()
        True
    """
    problem = noise.line_fit()
    if batch_size not in BATCH_SIZES:
        raise ValueError(f"batch_size must be one of {list(BATCH_SIZES)}, got {batch_size!r}")
    learning_rate = positive_number(learning_rate, "learning_rate")
    lr_range = check_lr_range(lr_range)
    num_steps = integer(num_steps, "num_steps", minimum=LAST)
    live = LiveFigure(1, 3, figsize=(11.4, 3.7))
    _panels(problem, live.axes, num_steps)
    first = compare_runs(problem, learning_rate, batch_size, num_steps, seed=seed)
    artists = _draw(problem, first, live.axes)
    for artist in artists.values():
        live.animated(artist)
    live.axes[2].legend(fontsize=8, loc="lower left")
    cache = {(batch_size, learning_rate): first}

    def update(batch_size, learning_rate):
        key = (batch_size, learning_rate)
        if key not in cache:
            cache[key] = compare_runs(problem, learning_rate, batch_size, num_steps, seed=seed)
        runs = cache[key]
        _draw(problem, runs, live.axes, artists)
        return describe_runs(problem, runs, learning_rate, batch_size)

    controls = {
        "batch_size": widgets.SelectionSlider(
            options=[(f"{b} (all)" if b == problem.num_examples else str(b), b) for b in BATCH_SIZES],
            value=batch_size, description="batch size", style={"description_width": "initial"},
            layout=widgets.Layout(width="380px")),
        "learning_rate": log_slider(learning_rate, *lr_range, description="learning rate"),
    }
    demo = Demo(live, controls, update)
    demo.artists = artists
    demo.problem = problem
    return demo
