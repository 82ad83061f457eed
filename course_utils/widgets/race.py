"""Lesson 04 (optimizers): an optimizer race on a loss surface, step sizes, and optimizer state counted two ways.

Numbers: :func:`race`, :func:`working_rates`, :func:`step_sizes`, :func:`state_table`, :func:`compare_with_keras`.
Pictures: :func:`plot_race`, :func:`plot_step_sizes`. Text: :func:`race_table_html`,
:func:`format_state_table`. Explorer: :func:`race_explorer`.
Keras is imported only inside the functions that compare with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import to_hex

from course_utils import optimizers
from course_utils._validation import as_array, describe, integer, positive_number
from course_utils.optimizers import Optimizer, Trajectory
from course_utils.plots import plot_surface, series_style
from course_utils.surfaces import SURFACES, Surface, as_surface
from course_utils.widgets.core import Demo, LiveFigure, log_slider
from course_utils.widgets.descent import (
    LOSS_RANGE,
    TOLERANCE,
    Sweep,
    check_lr_range,
    check_run,
    check_surface_name,
    clip_losses,
    clip_points,
    describe_run,
    log_grid,
)

#: The contestants: key -> (label, factory ``learning_rate -> Optimizer``). Keras' other defaults throughout.
OPTIMIZERS: dict[str, tuple[str, Callable[..., Optimizer]]] = {
    "sgd": ("SGD", lambda lr: optimizers.sgd(lr)),
    "momentum": ("SGD + momentum 0.9", lambda lr: optimizers.sgd(lr, momentum=0.9)),
    "rmsprop": ("RMSprop", lambda lr: optimizers.rmsprop(lr)),
    "adagrad": ("Adagrad", lambda lr: optimizers.adagrad(lr)),
    "adam": ("Adam", lambda lr: optimizers.adam(lr)),
}
#: Each contestant's colour, line style and marker (course_utils.plots): told apart without colour, too.
STYLES = {key: series_style(i, marker=True) for i, key in enumerate(OPTIMIZERS)}
COLORS = {key: style["color"] for key, style in STYLES.items()}
#: Paths are drawn in this order with shrinking widths, so a path that runs on top of another (Adam's on
#: SGD's along the ravine's floor) leaves the one below visible around and between its dashes.
PATH_WIDTHS = {"sgd": 3.2, "momentum": 2.4, "rmsprop": 2.0, "adagrad": 1.6, "adam": 1.3}
#: Steps per surface in the race: enough for the good optimizers to arrive and the others to show their habits.
RACE_STEPS = {"bowl": 60, "ravine": 150, "rosenbrock": 500}
#: The digits network of lesson 06 (Dense 512 relu on 64 inputs, Dense 10): its weight shapes, 38,410 in all.
DIGITS_SHAPES = [(64, 512), (512,), (512, 10), (10,)]


def _optimizer_names(names, name: str) -> tuple[str, ...]:
    """Check ``names`` is a list of keys of :data:`OPTIMIZERS` and return it as a tuple."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        hint = f"; for one optimizer use [{names!r}]" if isinstance(names, str) else ""
        raise TypeError(f"{name} must be a list of optimizer names among {list(OPTIMIZERS)}, got "
                        f"{type(names).__name__} {describe(names)}{hint}")
    unknown = [k for k in names if not isinstance(k, str) or k not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"{name} must name optimizers among {list(OPTIMIZERS)}, got {unknown}")
    return tuple(names)


# ----------------------------------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------------------------------


def race(surface: Surface, learning_rate, names=tuple(OPTIMIZERS), num_steps=None) -> dict[str, Trajectory]:
    """Run each named optimizer from the surface's start with the same learning rate; ``{key: Trajectory}``.

    Example:
        >>> from course_utils.surfaces import ravine
        >>> runs = race(ravine, 0.05, ["sgd", "momentum"], num_steps=150)
        >>> [describe_run(run) for run in runs.values()]
        ['not there after 150 steps: loss 1.27e-06', 'reached loss < 1e-06 after 106 steps']
    """
    surface, names = as_surface(surface), _optimizer_names(names, "names")
    learning_rate = positive_number(learning_rate, "learning_rate")
    steps = RACE_STEPS.get(surface.name, 100) if num_steps is None else integer(num_steps, "num_steps")
    return {k: optimizers.trajectory(OPTIMIZERS[k][1](learning_rate), surface.loss, surface.grad, surface.start,
                                     steps) for k in names}


def step_sizes(optimizer: Optimizer, gradients) -> np.ndarray:
    """How far one weight moves at each step (``|update|``) for a given sequence of its gradients.

    Example:
        >>> step_sizes(optimizers.adagrad(0.1), [1.0, 1.0, 1.0]).round(4).tolist()  # shrinks
        [0.0953, 0.069, 0.0568]
        >>> step_sizes(optimizers.adam(0.1), [100.0, 100.0]).round(4).tolist()  # about lr, whatever the gradient
        [0.1, 0.1]
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer such as optimizers.adam(0.1), got {describe(optimizer)}")
    state = optimizer.init(np.zeros(1))
    sizes = []
    for g in gradients:
        updates, state = optimizer.update(np.array([g], dtype=np.float32), state)
        sizes.append(abs(float(updates[0])))
    return np.array(sizes)


def working_rates(key: str, surface: Surface, learning_rates=None, num_steps=None, target=1e-2) -> np.ndarray:
    """The learning rates (from a log grid, 1e-4 to 1 by default) with which optimizer ``key`` ends below ``target``.

    A wide range means the optimizer forgives a rough guess of the learning rate.

    Example:
        >>> from course_utils.surfaces import ravine
        >>> working_rates("sgd", ravine).round(4).tolist()  # SGD only works up to the critical rate 0.1
        [0.0251, 0.0316, 0.0398, 0.0501, 0.0631, 0.0794]
    """
    key, surface = _optimizer_names([key], "key")[0], as_surface(surface)
    target = positive_number(target, "target")
    if learning_rates is None:
        grid = log_grid(1e-4, 1.0)
    else:
        grid = as_array(learning_rates, "learning_rates", dtype=np.float64)
        if np.any(grid <= 0):
            raise ValueError(f"learning_rates must all be > 0, got {describe(grid.tolist())}")
    steps = RACE_STEPS.get(surface.name, 100) if num_steps is None else integer(num_steps, "num_steps", minimum=1)
    sweep = Sweep(OPTIMIZERS[key][1], surface, grid, steps)
    runs = [sweep.run(lr) for lr in grid]
    return np.array([lr for lr, run in zip(grid, runs) if not run.diverged and run.losses[-1] < target])


def _check_runs(runs) -> dict[str, Trajectory]:
    """Check ``runs`` is what :func:`race` returns: ``{optimizer name: Trajectory}``."""
    if not isinstance(runs, dict):
        raise TypeError(f"runs must be a dict {{optimizer name: Trajectory}} as race(...) returns, got "
                        f"{type(runs).__name__} {describe(runs)}")
    _optimizer_names(list(runs), "runs' keys")
    return {key: check_run(run, f"runs[{key!r}]") for key, run in runs.items()}


class StateRow(NamedTuple):
    label: str
    sources_say: str  # the sources' memory column, "" where they do not list it
    ours: int  # floats in our optimizer state (course_utils.optimizers.state_size)
    keras: int  # floats in a built Keras optimizer (keras_tools.keras_state_size)
    parameters: int

    @property
    def per_parameter(self) -> float:
        return self.ours / self.parameters


#: label, the sources' memory column, our factory name, keyword arguments (the same for Keras).
STATE_CONFIGS = [
    ("SGD", "Low", "sgd", {}),
    ("SGD, momentum=0.9", "", "sgd", {"momentum": 0.9}),
    ("RMSprop", "Medium", "rmsprop", {}),
    ("RMSprop, momentum=0.9", "", "rmsprop", {"momentum": 0.9}),
    ("RMSprop, centered", "", "rmsprop", {"centered": True}),
    ("RMSprop, momentum + centered", "", "rmsprop", {"momentum": 0.9, "centered": True}),
    ("Adagrad", "Medium", "adagrad", {}),
    ("Adam", "Medium", "adam", {}),
]
_KERAS_NAMES = {"sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adam": "Adam"}


def state_table(shapes=DIGITS_SHAPES) -> list[StateRow]:
    """Count the optimizer state for weights of these shapes, with our optimizers and with Keras' (built on them).

    Example:
        >>> [(r.label, r.ours, r.keras) for r in state_table([(3, 2), (2,)])][-2:]
        [('Adagrad', 8, 8), ('Adam', 16, 16)]
    """
    import keras

    from course_utils.keras_tools import keras_state_size

    params = [np.zeros(s, dtype=np.float32) for s in shapes]
    count = sum(p.size for p in params)
    rows = []
    for label, said, name, kwargs in STATE_CONFIGS:
        ours = optimizers.state_size(getattr(optimizers, name)(**kwargs).init(params))
        theirs = getattr(keras.optimizers, _KERAS_NAMES[name])(**kwargs)
        theirs.build([keras.Variable(p) for p in params])
        rows.append(StateRow(label, said, ours, keras_state_size(theirs), count))
    return rows


def format_state_table(rows: list[StateRow]) -> str:
    """A plain-text table of :func:`state_table` rows (floats per weight, and the extra memory in float32).

    Example:
        >>> print(format_state_table([StateRow("Adam", "Medium", 20, 20, 10)]).splitlines()[-1])
        Adam                                Medium        20        20           2          0.1 KB
    """
    lines = [f"{'optimizer':<30}{'sources say':>12}{'ours':>10}{'Keras':>10}{'per weight':>12}{'float32 memory':>16}",
             "-" * 90]
    for r in rows:
        kb = r.ours * 4 / 1024
        lines.append(f"{r.label:<30}{r.sources_say or '-':>12}{r.ours:>10,}{r.keras:>10,}{r.per_parameter:>12g}"
                     f"{kb:>13,.1f} KB")
    return "\n".join(lines)


def compare_with_keras(name: str, num_steps=5, seed=0, **kwargs) -> float:
    """Run our optimizer and Keras' for ``num_steps`` on the same random gradients; the largest weight difference.

    Example:
        >>> compare_with_keras("adam", learning_rate=0.1) < 1e-6
        True
    """
    if name not in _KERAS_NAMES:
        raise ValueError(f"name must be one of {list(_KERAS_NAMES)}, got {describe(name)}")
    num_steps, seed = integer(num_steps, "num_steps", minimum=1), integer(seed, "seed")
    import keras

    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (4,)]
    params = [rng.normal(size=s).astype(np.float32) for s in shapes]
    variables = [keras.Variable(p) for p in params]
    ours = getattr(optimizers, name)(**kwargs)
    theirs = getattr(keras.optimizers, _KERAS_NAMES[name])(**kwargs)
    state = ours.init(params)
    for _ in range(num_steps):
        grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
        updates, state = ours.update(grads, state)
        params = optimizers.apply_updates(params, updates)
        theirs.apply_gradients(zip(grads, variables))
    return max(float(np.max(np.abs(p - v.numpy()))) for p, v in zip(params, variables))


# ----------------------------------------------------------------------------------------------
# Pictures and text
# ----------------------------------------------------------------------------------------------


def race_table_html(runs: dict[str, Trajectory], tolerance=TOLERANCE) -> str:
    """An HTML table: optimizer, what happened, final loss."""
    runs = _check_runs(runs)
    rows = []
    for key, run in runs.items():
        final = "&infin;" if run.diverged else f"{run.losses[-1]:.3g}"
        name = f"<td style='color:{to_hex(COLORS[key])};font-weight:bold;text-align:left'>{OPTIMIZERS[key][0]}</td>"
        rows.append(f"<tr>{name}<td style='text-align:left'>{describe_run(run, tolerance)}</td><td>{final}</td></tr>")
    head = ("<tr><th style='text-align:left'>optimizer</th><th style='text-align:left'>result</th>"
            "<th>final loss</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def plot_race(surface: Surface, runs: dict[str, Trajectory], axes=None):
    """Paths on the contour plot (left) and loss curves (right, fixed log range); returns ``{key: (path, loss)}``.

    A path has its optimizer's colour and line style (the legend on the right shows both); the loss curves
    add a marker every 10 steps.
    """
    surface = as_surface(surface)
    runs = _check_runs(runs)
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    contour_ax, loss_ax = axes
    plot_surface(surface, ax=contour_ax)
    drawn = {}
    for key, run in runs.items():
        xy = clip_points(run.points, surface.bounds)
        (path,) = contour_ax.plot(xy[:, 0], xy[:, 1], **{**STYLES[key], "marker": None},
                                  linewidth=PATH_WIDTHS[key])
        (loss,) = loss_ax.plot(clip_losses(run.losses), **STYLES[key], markevery=10, markersize=4,
                               label=OPTIMIZERS[key][0])
        drawn[key] = (path, loss)
    loss_ax.set(yscale="log", ylim=LOSS_RANGE, xlim=(0, max(len(r.losses) for r in runs.values()) - 1),
                xlabel="step", ylabel="loss")
    loss_ax.legend(fontsize=8, loc="lower left")
    return drawn


def key_index(key: str) -> int:
    """The position of optimizer ``key`` in :data:`OPTIMIZERS` (staggers markers of lines that coincide)."""
    return list(OPTIMIZERS).index(key)


def plot_step_sizes(gradient=1.0, learning_rate=0.01, num_steps=100, ax=None):
    """Step length per step for every contestant when the gradient is the same constant each step.

    SGD's step is ``lr * g`` (it scales with the gradient); RMSprop's and Adam's are about ``lr``
    whatever the gradient; Adagrad's shrinks like ``1 / sqrt(step)``. Returns ``{key: Line2D}``.
    """
    learning_rate = positive_number(learning_rate, "learning_rate")
    num_steps = integer(num_steps, "num_steps", minimum=1)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    lines = {}
    for key, (label, make) in OPTIMIZERS.items():
        sizes = step_sizes(make(learning_rate), np.full(num_steps, gradient))
        (lines[key],) = ax.plot(np.arange(1, num_steps + 1), sizes, **STYLES[key], markevery=(key_index(key), 10),
                                markersize=4, label=label)
    ax.set(yscale="log", xlabel="step", ylabel="|step| (weight change)",
           title=f"constant gradient {gradient:g}, lr = {learning_rate:g}")
    return lines


# ----------------------------------------------------------------------------------------------
# Explorer
# ----------------------------------------------------------------------------------------------


def race_explorer(surface="ravine", learning_rate=0.04, chosen=("sgd", "momentum", "adam"), lr_range=(1e-4, 1.0)):
    """Race optimizers on a loss surface with one shared learning rate: paths and loss curves side by side.

    Controls: ``surface`` (dropdown), ``learning_rate`` (log slider over ``lr_range``) and one
    checkbox per optimizer (``sgd``, ``momentum``, ``rmsprop``, ``adagrad``, ``adam``). Runs for
    every slider position are computed once per (surface, optimizer), the first time they are needed.

    Example:
        >>> demo = race_explorer("ravine", 0.04, chosen=("sgd", "adam"))
        >>> demo.controls["learning_rate"].value = 0.25
        >>> "diverged" in demo.readout.value
        True
    """
    chosen = _optimizer_names(chosen, "chosen")
    surface = check_surface_name(surface)
    learning_rate, grid = positive_number(learning_rate, "learning_rate"), log_grid(*check_lr_range(lr_range))
    sweeps: dict[tuple[str, str], Sweep] = {}
    live = LiveFigure(1, 2, figsize=(9.6, 3.7))
    contour_ax, loss_ax = live.axes
    loss_ax.set(yscale="log", ylim=LOSS_RANGE, xlabel="step", ylabel="loss")
    loss_ax.axhline(TOLERANCE, color="0.5", linestyle=":", linewidth=1)
    paths, ends, curves = {}, {}, {}
    for key, (label, _) in OPTIMIZERS.items():
        style = STYLES[key]
        paths[key] = live.animated(contour_ax.plot([], [], color=style["color"], linestyle=style["linestyle"],
                                                   linewidth=PATH_WIDTHS[key])[0])
        ends[key] = live.animated(contour_ax.plot([], [], style["marker"], color=style["color"],
                                                  markeredgecolor="white", markersize=8)[0])
        curves[key] = live.animated(loss_ax.plot([], [], **style, markevery=10, markersize=4, label=label)[0])
    drawn = {"surface": None, "chosen": None, "artists": [], "legend": None}

    def redraw_static(surface_name, keys):
        if surface_name != drawn["surface"]:
            for artist in drawn["artists"]:
                artist.remove()
            before = list(contour_ax.lines)
            fills = [plot_surface(SURFACES[surface_name], ax=contour_ax)]
            drawn["artists"] = [*fills, *(line for line in contour_ax.lines if line not in before)]
            steps = RACE_STEPS[surface_name]
            contour_ax.set_title(f"{surface_name}: one learning rate for all", fontsize=10)
            loss_ax.set_xlim(0, steps)
            loss_ax.set_title(f"loss over {steps} steps", fontsize=10)
        if drawn["legend"] is not None:
            drawn["legend"].remove()
        drawn["legend"] = loss_ax.legend(handles=[curves[k] for k in keys], fontsize=8, loc="lower left") \
            if keys else None
        drawn.update(surface=surface_name, chosen=keys)
        live.invalidate()

    def update(surface, learning_rate, **ticks):
        keys = tuple(k for k in OPTIMIZERS if ticks[k])
        if (surface, keys) != (drawn["surface"], drawn["chosen"]):
            redraw_static(surface, keys)
        s = SURFACES[surface]
        runs = {}
        for key in OPTIMIZERS:
            on = key in keys
            for artist in (paths[key], ends[key], curves[key]):
                artist.set_visible(on)
            if not on:
                continue
            if (surface, key) not in sweeps:
                sweeps[surface, key] = Sweep(OPTIMIZERS[key][1], s, grid, RACE_STEPS[surface])
            run = runs[key] = sweeps[surface, key].run(learning_rate)
            xy = clip_points(run.points, s.bounds)
            paths[key].set_data(xy[:, 0], xy[:, 1])
            ends[key].set_data([xy[-1, 0]], [xy[-1, 1]])
            curves[key].set_data(np.arange(len(run.losses)), clip_losses(run.losses))
        if not runs:
            return "Tick at least one optimizer."
        return (f"<b>{surface}, learning rate {learning_rate:.3g} for every optimizer</b> "
                f"(arrived = loss below {TOLERANCE:.0e}):" + race_table_html(runs))

    controls = {
        "surface": widgets.Dropdown(options=list(SURFACES), value=surface, description="surface",
                                    layout=widgets.Layout(width="200px")),
        "learning_rate": log_slider(learning_rate, *lr_range),
    }
    for key, (label, _) in OPTIMIZERS.items():
        controls[key] = widgets.Checkbox(value=key in chosen, description=label, indent=False,
                                         layout=widgets.Layout(width="auto", margin="0 12px 0 0"))
    return Demo(live, controls, update)

