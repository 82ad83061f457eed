"""Lesson 06 explorers: epochs and batches, a live training curve, batch sizes, and a troubleshooting gallery.

* :func:`epochs_batches_explorer`: data set size, batch size, epochs -> steps per epoch and updates (instant).
* :func:`live_training_curve`: a figure that redraws in place after every epoch of ``model.fit`` (or a hand loop).
* :func:`batch_size_explorer`: step through real runs made with different batch sizes (precomputed).
* :func:`troubleshooting_gallery`: runs that go wrong, and their fixes (precomputed).
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import to_rgba

from course_utils.data import batches, steps_per_epoch
from course_utils.plots import PALETTE
from course_utils.widgets.core import Demo, LiveFigure

_WIDE = {"style": {"description_width": "initial"}, "layout": widgets.Layout(width="330px")}


def batch_picture(num_examples, batch_size, epochs, max_epochs=None) -> np.ndarray:
    """An RGBA picture (uint8) of training: one row per epoch, one column per example, coloured by batch.

    Batches alternate between two blues; a last, smaller batch is orange (colours of the course palette);
    rows past ``epochs`` are empty.

    Example:
        >>> picture = batch_picture(5, 2, epochs=2, max_epochs=3)
        >>> picture.shape, bool(picture[2].any())  # 3 rows of 5 examples; the third epoch is not run
        ((3, 5, 4), False)
    """
    max_epochs = max_epochs or epochs
    batch = np.arange(num_examples) // batch_size
    colors = (255 * np.array([to_rgba(PALETTE[c]) for c in ("blue", "sky", "orange")])).astype(np.uint8)
    kind = batch % 2
    if num_examples % batch_size:
        kind[batch == batch[-1]] = 2
    row = colors[kind]
    picture = np.zeros((max_epochs, num_examples, 4), dtype=np.uint8)  # uint8 RGBA: drawn without conversion
    picture[:epochs] = row
    return picture


def batch_of_each_example(num_examples, batch_size, epochs, shuffle=True) -> np.ndarray:
    """Which batch (0, 1, ...) each example falls in, epoch by epoch: an int array ``(epochs, num_examples)``.

    Epoch ``e`` is shuffled with seed ``e``, exactly as :func:`course_utils.data.batches` (and
    :class:`course_utils.training.Trainer`) shuffle, so the rows show the reshuffle between epochs.

    Example:
        >>> batch_of_each_example(4, 2, epochs=1, shuffle=False).tolist()
        [[0, 0, 1, 1]]
    """
    examples = np.arange(num_examples)
    which = np.empty((epochs, num_examples), dtype=int)
    for epoch in range(epochs):
        for k, (_, members) in enumerate(batches(examples, examples, batch_size, shuffle=shuffle, seed=epoch)):
            which[epoch, members] = k
    return which


def plot_batch_assignment(which, ax=None, cmap="viridis"):
    """Draw :func:`batch_of_each_example`: one row per epoch, one column per example (in the data's order),
    coloured by the batch the example is studied in. Returns the image (and adds a colour bar).
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 2.2))
    epochs, count = which.shape
    image = ax.imshow(which + 1, aspect="auto", interpolation="nearest", cmap=cmap,
                      extent=(0.5, count + 0.5, epochs + 0.5, 0.5))
    ax.figure.colorbar(image, ax=ax, label="batch", ticks=range(1, int(which.max()) + 2), pad=0.01)
    ax.set(xlabel="example (in the data's own order)", ylabel="epoch", yticks=range(1, epochs + 1))
    return image


def _seconds_per_step(step_seconds, batch_size):
    """Interpolate a measured ``{batch_size: seconds per update}`` table (log-log) at ``batch_size``."""
    if step_seconds is None:
        return None
    if not isinstance(step_seconds, dict):
        return float(step_seconds)
    sizes = np.array(sorted(step_seconds), dtype=float)
    costs = np.array([step_seconds[s] for s in sorted(step_seconds)], dtype=float)
    return float(np.exp(np.interp(np.log(batch_size), np.log(sizes), np.log(costs))))


def epochs_batches_explorer(num_examples=100, batch_size=10, epochs=3, step_seconds=None, max_examples=2000,
                            max_epochs=8) -> Demo:
    """Data set size, batch size and epochs: how many updates does training make?

    The picture has one row per epoch; each row is the whole data set cut into batches (alternating
    blues, a smaller last batch in orange). The readout counts steps per epoch
    (:func:`course_utils.data.steps_per_epoch`) and total updates, and estimates the time from
    ``step_seconds`` (seconds per update, a number or a measured ``{batch_size: seconds}`` table).

    Controls: ``num_examples`` (10..max_examples), ``batch_size`` (1..512), ``epochs`` (1..max_epochs).

    Example:
        >>> demo = epochs_batches_explorer()
        >>> "10 steps per epoch" in demo.readout.value and "30 updates" in demo.readout.value
        True
    """
    live = LiveFigure(figsize=(8.6, 2.7))
    ax = live.axes
    ax.set_facecolor("0.96")  # epochs not run stay grey
    image = ax.imshow(batch_picture(num_examples, batch_size, epochs, max_epochs), aspect="auto",
                      interpolation="nearest", extent=(0, 1, max_epochs + 0.5, 0.5))
    live.animated(image)
    ax.set(xlim=(0, 1), ylim=(max_epochs + 0.5, 0.5), yticks=range(1, max_epochs + 1), ylabel="epoch",
           xticks=[0, 0.25, 0.5, 0.75, 1], xticklabels=["first", "", "", "", "last example"],
           xlabel="the whole data set, cut into batches (each colour block = one batch = one update)")
    label = live.animated(ax.text(1.0, 1.02, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=10))
    controls = {
        "num_examples": widgets.IntSlider(value=num_examples, min=10, max=max_examples, step=10,
                                          description="examples", **_WIDE),
        "batch_size": widgets.IntSlider(value=batch_size, min=1, max=512, description="batch size", **_WIDE),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=max_epochs, description="epochs", **_WIDE),
    }

    def update(num_examples, batch_size, epochs):
        per_epoch = steps_per_epoch(num_examples, batch_size)
        image.set_data(batch_picture(num_examples, batch_size, epochs, max_epochs))
        label.set_text(f"{num_examples} examples / batch {batch_size} = {per_epoch} steps per epoch")
        last = num_examples - (per_epoch - 1) * batch_size
        lines = [
            f"<b>{num_examples}</b> examples in batches of <b>{batch_size}</b>: "
            f"<b>{per_epoch} steps per epoch</b> "
            + (f"(the last batch holds only {last})" if last != batch_size else "(all batches full)"),
            f"<b>{epochs}</b> epoch{'s' * (epochs > 1)} = <b>{per_epoch * epochs} updates</b> of the weights; "
            f"every example is seen {epochs} time{'s' * (epochs > 1)}",
        ]
        cost = _seconds_per_step(step_seconds, batch_size)
        if cost is not None:
            lines.append(f"estimated time on this machine: {per_epoch * epochs} x {cost * 1e3:.2f} ms "
                         f"= {per_epoch * epochs * cost:.2f} s (measured cost of one update at this batch size)")
        return "<br>".join(lines)

    demo = Demo(live, controls, update)
    demo.artists = {"image": image, "label": label}
    return demo


class LiveCurve(Demo):
    """A loss (and accuracy) plot that redraws in place after every epoch: pass ``curve.callback`` to fit.

    The axes are fixed up front (``epochs`` on x, ``loss_range`` on a log y axis, accuracy 0..1), so
    each epoch only redraws the lines (a few ms), never the whole figure. :meth:`show` displays it and,
    when training ends, refreshes the static picture saved in the notebook.
    """

    def __init__(self, epochs, loss_range=(0.01, 3.0), title="training the digits model"):
        from course_utils.training import CurveCallback

        self.epochs = int(epochs)
        self.history: dict[str, list[float]] = {}
        self._handle = None
        live = LiveFigure(1, 2, figsize=(9.4, 3.1))
        loss_ax, acc_ax = live.axes
        ticks = range(1, self.epochs + 1) if self.epochs <= 20 else None
        loss_ax.set(xlim=(0.5, self.epochs + 0.5), ylim=loss_range, yscale="log", xlabel="epoch", ylabel="loss",
                    title=title)
        acc_ax.set(xlim=(0.5, self.epochs + 0.5), ylim=(0, 1.02), xlabel="epoch", ylabel="accuracy",
                   title="accuracy")
        if ticks is not None:
            loss_ax.set_xticks(ticks)
            acc_ax.set_xticks(ticks)
        for ax in live.axes:
            ax.grid(alpha=0.3)
        self.lines = {}
        for ax, key, style in [
            (loss_ax, "loss", dict(color=PALETTE["blue"], marker="o", label="training")),
            (loss_ax, "val_loss", dict(color=PALETTE["orange"], marker="s", linestyle="--", label="validation")),
            (acc_ax, "accuracy", dict(color=PALETTE["blue"], marker="o", label="training")),
            (acc_ax, "val_accuracy", dict(color=PALETTE["orange"], marker="s", linestyle="--", label="validation")),
        ]:
            self.lines[key] = live.animated(ax.plot([], [], **style)[0])
        loss_ax.legend(loc="lower left", fontsize=8)
        acc_ax.legend(loc="lower right", fontsize=8)
        self.status = live.animated(loss_ax.text(0.98, 0.95, "waiting for the first epoch", ha="right", va="top",
                                                 transform=loss_ax.transAxes, fontsize=9))
        super().__init__(live, {}, self._draw)
        self.callback = CurveCallback(self.feed, on_end=self.finish)

    def _draw(self):
        for key, line in self.lines.items():
            values = np.asarray(self.history.get(key, []), dtype=float)
            line.set_data(np.arange(1, len(values) + 1), values)
        done = len(self.history.get("loss", []))
        if not done:
            return "No epoch finished yet."
        parts = [f"{key} {values[-1]:.4f}" for key, values in self.history.items()]
        self.status.set_text(f"epoch {done}/{self.epochs}: loss {self.history['loss'][-1]:.3f}")
        return f"after epoch {done} of {self.epochs}: " + ", ".join(parts)

    def feed(self, history: dict) -> None:
        """Show ``history`` (``{"loss": [...], ...}``, one value per finished epoch) and redraw."""
        self.history = {key: list(values) for key, values in history.items()}
        self.refresh()

    def add(self, epoch: int, logs: dict) -> None:
        """Append one epoch's ``logs``: use as ``Trainer.run(..., on_epoch_end=curve.add)`` in a hand loop.

        Epoch 0 starts a new curve (a new run).
        """
        if epoch == 0:
            self.history = {}
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.refresh()

    def show(self):
        """Display the curve (call before training); :meth:`finish` later refreshes the saved picture."""
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return None

    def finish(self) -> None:
        """Training is over: refresh the displayed output, so a saved or exported notebook shows the end state."""
        if self._handle is not None:
            self._handle.update(self)


def live_training_curve(epochs, loss_range=(0.01, 3.0), title="training the digits model") -> LiveCurve:
    """A :class:`LiveCurve` for ``epochs`` epochs.

    Example:
        >>> curve = live_training_curve(epochs=3)
        >>> curve.callback.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.0})
        >>> curve.lines["loss"].get_ydata().tolist(), "epoch 1 of 3" in curve.readout.value
        ([0.9], True)
    """
    return LiveCurve(epochs, loss_range, title)


def batch_size_explorer(runs: dict, title="Adam, learning rate 0.001", epoch_seconds=None) -> Demo:
    """Step through real runs made with different batch sizes (precomputed: nothing trains on a tick).

    Left: training loss against epochs (every batch's loss, smoothed; faint lines: the other sizes).
    Right: the same against the number of updates, on a log axis: per *epoch* small batches get further,
    per *update* big batches are steadier. Control: ``batch_size`` (a selection slider over ``runs``).

    Args:
        runs: ``{batch_size: History}`` from :class:`course_utils.training.Trainer` runs (same epochs each).
        epoch_seconds: optional ``{batch_size: seconds per epoch, repeated}`` from
            :func:`course_utils.training.time_epochs`; the readout then quotes the median and the range of the
            repeats instead of the single run's time.
    """
    from course_utils.widgets.schedules import smooth

    sizes = sorted(runs)
    epochs = len(runs[sizes[0]].loss)
    most = max(len(r.step_loss) for r in runs.values())
    low = min(float(np.nanmin(r.step_loss)) for r in runs.values())
    live = LiveFigure(1, 2, figsize=(9.4, 3.3))
    by_epoch, by_update = live.axes
    by_epoch.set(xlim=(0, epochs), ylim=(max(low / 2, 1e-3), 3.0), yscale="log", xlabel="epoch",
                 ylabel="training loss", title=f"{title}: per epoch")
    by_update.set(xlim=(1, most), ylim=(max(low / 2, 1e-3), 3.0), xscale="log", yscale="log",
                  xlabel="update (log scale)", ylabel="training loss", title="per update")
    for ax in live.axes:
        ax.grid(alpha=0.3, which="both")

    def xy(run, width):
        n = len(run.step_loss)
        return np.arange(1, n + 1), smooth(run.step_loss, width)

    for size in sizes:
        steps, values = xy(runs[size], 5)
        by_epoch.plot(steps / runs[size].updates_per_epoch, values, color="0.8", linewidth=0.8)
        by_update.plot(steps, values, color="0.8", linewidth=0.8)
    (raw_line,) = by_epoch.plot([], [], color=PALETTE["blue"], linewidth=0.6, alpha=0.45)
    (epoch_line,) = by_epoch.plot([], [], color=PALETTE["blue"], linewidth=2, marker="o")
    (update_line,) = by_update.plot([], [], color=PALETTE["blue"], linewidth=2)
    for artist in (raw_line, epoch_line, update_line):
        live.animated(artist)
    label = live.animated(by_update.text(0.03, 0.05, "", transform=by_update.transAxes, ha="left", va="bottom"))
    start = 32 if 32 in runs else sizes[len(sizes) // 2]
    slider = widgets.SelectionSlider(options=[(str(s), s) for s in sizes], value=start, description="batch size",
                                     **_WIDE)

    def update(batch_size):
        run = runs[batch_size]
        per_epoch = run.updates_per_epoch
        steps = np.arange(1, len(run.step_loss) + 1)
        raw_line.set_data(steps / per_epoch, run.step_loss)
        epoch_line.set_data(np.arange(1, epochs + 1), run.loss)
        update_line.set_data(*xy(run, 5))
        label.set_text(f"batch {batch_size}: {per_epoch} updates per epoch")
        noise = float(np.std(np.diff(np.log(run.step_loss[-per_epoch:])))) if per_epoch > 2 else float("nan")
        return (
            f"<b>batch size {batch_size}</b>: {per_epoch} updates per epoch, {len(run.step_loss)} in {epochs} "
            f"epochs. Loss after each epoch: {', '.join(f'{v:.3f}' for v in run.loss)}. "
            f"Validation accuracy {run.val_accuracy[-1]:.3f}.<br>Batch-to-batch jitter of the loss in the last "
            f"epoch: {noise:.2f} (log units). " + _epoch_time(run, batch_size, epochs, epoch_seconds)
        )

    demo = Demo(live, {"batch_size": slider}, update)
    demo.artists = {"raw": raw_line, "epochs": epoch_line, "updates": update_line, "label": label}
    return demo


def _epoch_time(run, batch_size, epochs, epoch_seconds) -> str:
    """The readout's timing sentence: repeated measurements when there are some, else the one run's time."""
    if epoch_seconds is not None and batch_size in epoch_seconds:
        times = 1e3 * np.asarray(epoch_seconds[batch_size], dtype=float)
        return (f"Time per epoch on this machine: median {np.median(times):.1f} ms over {times.size} repeats "
                f"(range {times.min():.1f} to {times.max():.1f} ms).")
    return f"Time per epoch on this machine, one run (it varies): {run.seconds / epochs * 1e3:.0f} ms."


class Case(NamedTuple):
    """One troubleshooting example: a run that goes wrong, the fixed run, and what to say about them."""

    problem: object  # a course_utils.training.History
    fix: object
    symptom: str
    fix_label: str


def troubleshooting_gallery(cases: dict, selected=None, show_fix=False) -> Demo:
    """Runs that go wrong and their fixes, side by side (precomputed).

    Training loss (smoothed, every update) and validation loss (markers, after each epoch). The problem run
    is vermillion, solid, with circles; the fix (shown when ``show_fix`` is ticked) is blue, dash-dotted, with
    squares: told apart without colour, too. The x axis counts updates on a log scale, so runs of different
    lengths share it and the first updates (where explosions and NaNs happen) are easy to see; the loss
    axis (log) spans what the chosen case's runs reach.

    Controls: ``case`` (toggle buttons over ``cases``), ``show_fix`` (checkbox).
    """
    from course_utils.training import diagnose
    from course_utils.widgets.schedules import smooth

    names = list(cases)
    most = max(len(h.step_loss) for c in cases.values() for h in (c.problem, c.fix))
    live = LiveFigure(figsize=(8.6, 3.4))
    ax = live.axes
    ax.set(xlim=(1, most), xscale="log", yscale="log", xlabel="update (log scale)", ylabel="loss",
           title="what went wrong, and the fix")
    ax.grid(alpha=0.3)
    ax.axhline(np.log(10), color="0.5", linestyle=":", linewidth=1)
    ax.text(most, np.log(10) * 1.15, "chance level ln 10 ", ha="right", va="bottom", fontsize=8, color="0.4")
    artists = {}
    looks = {"problem": (PALETTE["vermillion"], "-", ":", "o"), "fix": (PALETTE["blue"], "-.", ":", "s")}
    for which, (color, train_style, val_style, marker) in looks.items():
        artists[which] = (
            live.animated(ax.plot([], [], color=color, linestyle=train_style, linewidth=1.8,
                                  label=f"{which}: training")[0]),
            live.animated(ax.plot([], [], color=color, linestyle=val_style, marker=marker, markersize=4,
                                  label=f"{which}: validation")[0]),
        )
    ax.legend(loc="upper right", fontsize=8, ncols=2)
    # x in updates, y as a fraction of the axes: the NaN note stays in view whatever the loss range
    mark = live.animated(ax.text(0, 0.8, "", color=PALETTE["vermillion"], fontsize=12, fontweight="bold",
                                 ha="center", transform=ax.get_xaxis_transform()))
    shown = {"case": None}

    def loss_range(c):
        """From a bit below the lowest to a bit above the highest loss the case's two runs draw."""
        values = np.concatenate([np.clip(smooth(r.step_loss[np.isfinite(r.step_loss)], 3), 1e-4, 1e5)
                                 for r in (c.problem, c.fix)]
                                + [r.val_loss[np.isfinite(r.val_loss)] for r in (c.problem, c.fix)])
        low, high = max(float(values.min()), 1e-4), max(float(values.max()), np.log(10))
        return low / 1.6, high * 2.5
    controls = {
        "case": widgets.ToggleButtons(options=names, value=selected or names[0], description="problem",
                                      style={"button_width": "150px"}),
        "show_fix": widgets.Checkbox(value=show_fix, description="show the fix"),
    }

    def draw(run, which, visible):
        train, val = artists[which]
        train.set_visible(visible)
        val.set_visible(visible)
        steps = np.arange(1, len(run.step_loss) + 1)
        finite = np.isfinite(run.step_loss)
        train.set_data(steps[finite], np.clip(smooth(run.step_loss[finite], 3), 1e-4, 1e5))
        ends = np.arange(1, len(run.loss) + 1) * run.updates_per_epoch
        val.set_data(ends, np.clip(run.val_loss, 1e-4, 1e5))

    def update(case, show_fix):
        c = cases[case]
        if case != shown["case"]:  # a new case: fit the loss axis to its runs (a full redraw, once)
            ax.set_ylim(*loss_range(c))
            live.invalidate()
            shown["case"] = case
        draw(c.problem, "problem", True)
        draw(c.fix, "fix", show_fix)
        bad = ~np.isfinite(c.problem.step_loss)
        if bad.any():
            where = int(np.argmax(bad))
            mark.set_position((where + 1, 0.8))
            mark.set_text(f"NaN at update {where + 1}")
        else:
            mark.set_text("")
        text = f"<b>{html.escape(case)}</b>: {html.escape(c.symptom)}"
        text += f"<br>problem run: {html.escape(diagnose(c.problem))}"
        if show_fix:
            text += f"<br><b>fix</b> ({html.escape(c.fix_label)}): {html.escape(diagnose(c.fix))}"
        return text

    demo = Demo(live, controls, update)
    demo.artists = {"problem": artists["problem"], "fix": artists["fix"], "mark": mark}
    return demo
