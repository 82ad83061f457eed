"""Lesson 05 explorers: learning-rate schedules, and what the learning rate does to a real training run.

* :func:`schedule_explorer`: pick a schedule, move its parameters, see ``lr(step)`` (numpy only, instant).
* :func:`lr_run_explorer`: step through real digits runs made with different constant learning rates.
* :func:`schedule_training_lab`: pick a schedule and a peak rate, press *Train*: a real run on the digits.

Numbers come from plain functions (:func:`make_schedule`, :func:`run_schedule`), drawing from the widgets.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from course_utils import schedules
from course_utils._validation import fraction, integer, positive_number
from course_utils.plots import PALETTE
from course_utils.widgets.core import Demo, LiveFigure, log_slider

KINDS = {
    "constant": "constant",
    "exponential decay (smooth)": "exponential",
    "exponential decay (staircase)": "staircase",
    "piecewise constant (step decay)": "piecewise",
    "cosine decay": "cosine",
    "warmup, then constant": "warmup",
    "warmup, then cosine decay": "warmup_cosine",
}
# Which sliders each schedule uses (the others are greyed out).
USES = {
    "constant": set(),
    "exponential": {"decay_steps", "decay_rate"},
    "staircase": {"decay_steps", "decay_rate"},
    "piecewise": {"decay_steps", "decay_rate"},
    "cosine": {"decay_steps", "alpha"},
    "warmup": {"warmup_steps"},
    "warmup_cosine": {"decay_steps", "alpha", "warmup_steps"},
}
READ_AT = (0, 1000, 2000, 5000, 10000)
#: Keras' schedule classes, which the readout's code names by their module path.
KERAS_CLASSES = ("ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay")


def make_schedule(kind, learning_rate=0.1, decay_steps=1000, decay_rate=0.9, alpha=0.0, warmup_steps=1000):
    """Build one of the lesson's schedules: returns ``(schedule, keras_code)``.

    ``learning_rate`` is the initial rate (the peak rate for the warmup kinds). For ``"piecewise"`` the
    rate is multiplied by ``decay_rate`` after each of the boundaries ``decay_steps, 2*decay_steps,
    3*decay_steps`` (the sources' example is ``decay_steps=1000, decay_rate=0.1``). ``keras_code`` is the
    equivalent Keras 3 expression, as text.

    Example:
        >>> lr, code = make_schedule("piecewise", 0.1, decay_steps=1000, decay_rate=0.1)
        >>> [round(float(v), 4) for v in lr([0, 1000, 1001, 3001])]
        [0.1, 0.1, 0.01, 0.0001]
        >>> code
        'PiecewiseConstantDecay(boundaries=[1000, 2000, 3000], values=[0.1, 0.01, 0.001, 0.0001])'
    """
    if kind not in USES:
        raise ValueError(f"kind must be one of {sorted(USES)}, got {kind!r}")
    lr, r = positive_number(learning_rate, "learning_rate"), positive_number(decay_rate, "decay_rate")
    d, w = integer(decay_steps, "decay_steps", minimum=1), integer(warmup_steps, "warmup_steps")
    alpha = fraction(alpha, "alpha")
    g = lambda v: f"{float(v):.3g}"
    if kind == "constant":
        return schedules.constant(lr), f"{g(lr)}  # a plain number is a constant rate"
    if kind in ("exponential", "staircase"):
        stairs = kind == "staircase"
        code = f"ExponentialDecay({g(lr)}, decay_steps={d}, decay_rate={g(r)}"
        code += ", staircase=True)" if stairs else ")"
        return schedules.exponential_decay(lr, d, r, staircase=stairs), code
    if kind == "piecewise":
        boundaries = [d, 2 * d, 3 * d]
        values = [lr * r**k for k in range(4)]
        code = f"PiecewiseConstantDecay(boundaries={boundaries}, values=[{', '.join(g(v) for v in values)}])"
        return schedules.piecewise_constant(boundaries, values), code
    if kind == "cosine":
        return schedules.cosine_decay(lr, d, alpha), f"CosineDecay({g(lr)}, decay_steps={d}, alpha={g(alpha)})"
    if kind == "warmup":
        if w == 0:
            return schedules.constant(lr), f"{g(lr)}  # no warmup steps: a constant rate"
        return schedules.linear_warmup(lr, w), f"WarmupSchedule(warmup_steps={w}, target_lr={g(lr)})  # this lesson's"
    if kind == "warmup_cosine":
        code = f"CosineDecay(0.0, decay_steps={d}, alpha={g(alpha)}, warmup_target={g(lr)}, warmup_steps={w})"
        return schedules.cosine_decay(0.0, d, alpha, warmup_target=lr, warmup_steps=w), code


def readout_code(code: str) -> str:
    """The line of Python the explorer shows for ``code`` from :func:`make_schedule`: Keras' classes get
    their module path, a plain number (a constant rate) and the lesson's ``WarmupSchedule`` stay as they are.

    Example:
        >>> readout_code("CosineDecay(0.1, decay_steps=1000, alpha=0)")
        'keras.optimizers.schedules.CosineDecay(0.1, decay_steps=1000, alpha=0)'
        >>> readout_code(make_schedule("constant", 1.0)[1])
        'learning_rate = 1  # a plain number is a constant rate'
    """
    if code.split("(", 1)[0] in KERAS_CLASSES:
        return f"keras.optimizers.schedules.{code}"
    if code.startswith("WarmupSchedule("):
        return code
    return f"learning_rate = {code}"


def schedule_explorer(kind="exponential", learning_rate=0.1, decay_steps=1000, decay_rate=0.9, alpha=0.0,
                      warmup_steps=1000, num_steps=10000) -> Demo:
    """Pick a schedule and move its parameters: ``lr(step)`` on a linear and on a log axis.

    Left: the rate as a fraction of the initial (or peak) rate, so every schedule fills the same axes.
    Right: the rate itself on a log axis, where exponential decay is a straight line. The readout lists
    the rate at a few steps and the Keras 3 code that builds the same schedule.

    Controls: ``schedule`` (dropdown), ``learning_rate`` (log slider, 1e-4..1), ``decay_steps``,
    ``decay_rate``, ``alpha``, ``warmup_steps``.

    Example:
        >>> demo = schedule_explorer()
        >>> demo.controls["schedule"].value = "piecewise"
        >>> "PiecewiseConstantDecay" in demo.readout.value
        True
    """
    make_schedule(kind, learning_rate, decay_steps, decay_rate, alpha, warmup_steps)  # checks every argument
    steps = np.arange(0, integer(num_steps, "num_steps", minimum=1) + 1, 5)
    live = LiveFigure(1, 2, figsize=(9.4, 3.3))
    rel, ab = live.axes
    rel.set(xlim=(0, num_steps), ylim=(0, 1.08), xlabel="step", ylabel="learning rate / initial (peak) rate",
            title="shape of the schedule (linear axis)")
    ab.set(xlim=(0, num_steps), ylim=(1e-5, 2.0), yscale="log", xlabel="step", ylabel="learning rate",
           title="the rate itself (log axis)")
    for ax in live.axes:
        ax.grid(alpha=0.3)
        for s in READ_AT[1:-1]:
            ax.axvline(s, color="0.85", linewidth=0.8, zorder=0)
    (rel_line,) = rel.plot([], [], color=PALETTE["blue"], linewidth=2)
    (abs_line,) = ab.plot([], [], color=PALETTE["blue"], linewidth=2)
    (dots,) = ab.plot([], [], "o", color=PALETTE["vermillion"], markersize=5)
    live.animated(rel_line), live.animated(abs_line), live.animated(dots)
    label = live.animated(rel.text(0.98, 0.95, "", transform=rel.transAxes, ha="right", va="top", fontsize=9))

    controls = {
        "schedule": widgets.Dropdown(options=list(KINDS.items()), value=kind, description="schedule"),
        "learning_rate": log_slider(learning_rate, 1e-4, 1.0, description="initial / peak rate"),
        "decay_steps": widgets.IntSlider(value=decay_steps, min=100, max=10000, step=100, description="decay_steps"),
        "decay_rate": widgets.FloatSlider(value=decay_rate, min=0.05, max=0.99, step=0.01, description="decay_rate"),
        "alpha": widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha"),
        "warmup_steps": widgets.IntSlider(value=warmup_steps, min=0, max=5000, step=100, description="warmup_steps"),
    }

    def update(schedule, learning_rate, decay_steps, decay_rate, alpha, warmup_steps):
        for name in ("decay_steps", "decay_rate", "alpha", "warmup_steps"):
            controls[name].disabled = name not in USES[schedule]
        fn, code = make_schedule(schedule, learning_rate, decay_steps, decay_rate, alpha, warmup_steps)
        lr = np.asarray(fn(steps), dtype=np.float64)
        rel_line.set_data(steps, lr / learning_rate)
        abs_line.set_data(steps, np.maximum(lr, 1e-7))  # zero would vanish from a log axis
        read = np.asarray(fn(np.array(READ_AT)), dtype=np.float64)
        dots.set_data(READ_AT, np.maximum(read, 1e-7))
        label.set_text(next(k for k, v in KINDS.items() if v == schedule))
        cells = "".join(f"<td style='padding:0 8px'>{v:.4g}</td>" for v in read)
        heads = "".join(f"<th style='padding:0 8px'>{s}</th>" for s in READ_AT)
        return (
            f"<table><tr><th>step</th>{heads}</tr><tr><th>learning rate</th>{cells}</tr></table>"
            f"<code>{html.escape(readout_code(code))}</code>"
        )

    demo = Demo(live, controls, update)
    demo.artists = {"relative": rel_line, "absolute": abs_line, "dots": dots, "label": label}
    return demo


def run_schedule(kind, peak, total_steps, steps_per_epoch):
    """A schedule squeezed into a short run of ``total_steps`` updates (the lesson's 5-epoch digits runs).

    The sources' schedules are sized for thousands of steps; a 5-epoch digits run has a few hundred.
    Same shapes, shorter clock: exponential decay halves the rate every epoch, step decay divides it by 10
    at 40% and 80% of the run, cosine decay spans the run, warmup lasts one epoch.

    Example:
        >>> lr = run_schedule("piecewise", 0.1, total_steps=225, steps_per_epoch=45)
        >>> [round(float(v), 4) for v in lr([0, 90, 91, 181])]
        [0.1, 0.1, 0.01, 0.001]
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"kind must be one of {RUN_KINDS}, got {kind!r}")
    peak = positive_number(peak, "peak")
    total_steps = integer(total_steps, "total_steps", minimum=2)
    steps_per_epoch = integer(steps_per_epoch, "steps_per_epoch", minimum=1, maximum=total_steps - 1)
    if kind == "constant":
        return schedules.constant(peak)
    if kind == "exponential":
        return schedules.exponential_decay(peak, steps_per_epoch, 0.5)
    if kind == "piecewise":
        first, second = round(0.4 * total_steps), round(0.8 * total_steps)
        return schedules.piecewise_constant([first, second], [peak, peak / 10, peak / 100])
    if kind == "cosine":
        return schedules.cosine_decay(peak, total_steps)
    if kind == "warmup_cosine":
        return schedules.cosine_decay(0.0, total_steps - steps_per_epoch, warmup_target=peak,
                                      warmup_steps=steps_per_epoch)


RUN_KINDS = ("constant", "exponential", "piecewise", "cosine", "warmup_cosine")
RUN_LABELS = {
    "constant": "constant",
    "exponential": "exponential decay",
    "piecewise": "step decay",
    "cosine": "cosine decay",
    "warmup_cosine": "warmup + cosine",
}


def smooth(values, width=9):
    """Moving average over ``width`` points (shorter at the ends), to see a noisy loss curve's trend.

    Example:
        >>> smooth([0.0, 3.0, 0.0, 3.0], width=2).tolist()
        [0.0, 1.5, 1.5, 1.5]
    """
    values = np.asarray(values, dtype=np.float64)
    width = max(1, min(int(width), len(values)))
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="full")[: len(values)]
    counts = np.convolve(np.ones(len(values)), kernel, mode="full")[: len(values)]
    return sums / counts


def _format_lr(lr) -> str:
    return f"{lr:g}"


def lr_run_explorer(runs: dict, title="Adam on the digits") -> Demo:
    """Step through real training runs, one per learning rate (precomputed: nothing trains on a tick).

    Args:
        runs: ``{learning_rate: History}`` from :class:`course_utils.training.Trainer` runs.

    Left: the training loss of every update (all runs faint, the chosen one bold, log axis).
    Right: validation accuracy after each epoch. The readout gives the verdict of
    :func:`course_utils.training.diagnose`. Control: ``learning_rate`` (a selection slider over the runs).
    """
    from course_utils.training import diagnose

    rates = sorted(runs)
    first = runs[rates[0]]
    updates = len(first.step_loss)
    epochs = len(first.loss)
    live = LiveFigure(1, 2, figsize=(9.4, 3.3))
    left, right = live.axes
    top = max(10.0, 1.5 * max(float(np.nanmax(r.step_loss)) for r in runs.values()))
    left.set(xlim=(0, updates), ylim=(0.02, top), yscale="log", xlabel="update (batch of 32)",
             ylabel="training loss", title=f"{title}: loss of each batch")
    right.set(xlim=(0.8, epochs + 0.2), ylim=(0, 1.02), xlabel="epoch", ylabel="validation accuracy",
              title="validation accuracy", xticks=range(1, epochs + 1))
    for lr in rates:
        left.plot(np.arange(1, updates + 1), runs[lr].step_loss, color="0.8", linewidth=0.8)
        right.plot(np.arange(1, epochs + 1), runs[lr].val_accuracy, color="0.8", marker=".")
    left.axhline(np.log(10), color=PALETTE["vermillion"], linestyle=":", linewidth=1)
    left.text(updates, np.log(10) * 1.1, "chance level ln 10 ", color=PALETTE["vermillion"], ha="right",
              va="bottom", fontsize=8)
    for ax in live.axes:
        ax.grid(alpha=0.3)
    (loss_line,) = left.plot([], [], color=PALETTE["blue"], linewidth=1.6)
    (acc_line,) = right.plot([], [], color=PALETTE["blue"], marker="o", linewidth=2)
    live.animated(loss_line), live.animated(acc_line)
    label = live.animated(right.text(0.97, 0.05, "", transform=right.transAxes, ha="right", fontsize=11))

    slider = widgets.SelectionSlider(
        options=[(_format_lr(lr), lr) for lr in rates], value=rates[len(rates) // 2], description="learning rate",
        style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
    )

    def update(learning_rate):
        run = runs[learning_rate]
        loss_line.set_data(np.arange(1, updates + 1), np.clip(run.step_loss, 1e-3, None))
        acc_line.set_data(np.arange(1, epochs + 1), run.val_accuracy)
        label.set_text(f"lr = {_format_lr(learning_rate)}")
        return (
            f"<b>learning rate {_format_lr(learning_rate)}</b>: {html.escape(diagnose(run))}.<br>"
            f"training loss by epoch: {', '.join(f'{v:.3f}' for v in run.loss)}; "
            f"validation accuracy after {epochs} epochs: <b>{run.val_accuracy[-1]:.3f}</b>"
        )

    demo = Demo(live, {"learning_rate": slider}, update)
    demo.artists = {"loss": loss_line, "accuracy": acc_line, "label": label}
    return demo


def schedule_training_lab(trainer, x, y, validation=None, runs=None, epochs=5, batch_size=32, peak=0.1) -> Demo:
    """Train the digits model with a schedule of your choice, on demand (a *Train* button, ~0.5 s a run).

    Moving the controls only redraws the schedule (left); pressing *Train* runs a real training run with
    ``trainer`` and draws its loss (right) against the constant rate at the same peak. Results are cached
    by (schedule, peak), and ``runs`` (``{(kind, peak): History}``, e.g. the lesson's precomputed runs)
    seeds the cache, so those combinations show at once.

    Controls: ``schedule`` (dropdown over :data:`RUN_KINDS`), ``peak`` (log slider 1e-4..1,
    ``continuous_update=False``); ``demo.train_button`` trains.
    """
    from course_utils.data import steps_per_epoch
    from course_utils.training import diagnose

    per_epoch = steps_per_epoch(len(x), batch_size)
    total = epochs * per_epoch
    cache = {(k, round(float(p), 6)): h for (k, p), h in (runs or {}).items()}
    steps = np.arange(total)
    xs = np.arange(1, total + 1) / per_epoch  # in epochs

    live = LiveFigure(1, 2, figsize=(9.4, 3.3))
    sched_ax, loss_ax = live.axes
    sched_ax.set(xlim=(0, epochs), ylim=(0, 1.08), xlabel="epoch", ylabel="learning rate / peak rate",
                 title="the schedule (the run's clock)")
    loss_ax.set(xlim=(0, epochs), ylim=(0.005, 300), yscale="log", xlabel="epoch",
                ylabel="training loss (moving average)", title="real training run on the digits")
    for ax in live.axes:
        ax.grid(alpha=0.3)
    (sched_line,) = sched_ax.plot([], [], color=PALETTE["orange"], linewidth=2)
    (const_loss,) = loss_ax.plot([], [], color="0.45", linewidth=1.4, linestyle="--", label="constant rate")
    (run_loss,) = loss_ax.plot([], [], color=PALETTE["orange"], linewidth=2, label="chosen schedule")
    for artist in (sched_line, const_loss, run_loss):
        live.animated(artist)
    note = live.animated(loss_ax.text(0.5, 0.5, "", transform=loss_ax.transAxes, ha="center", color="0.4"))
    loss_ax.legend(loc="upper right", fontsize=8)

    controls = {
        "schedule": widgets.Dropdown(options=[(RUN_LABELS[k], k) for k in RUN_KINDS], value="cosine",
                                     description="schedule"),
        "peak": log_slider(peak, 1e-4, 1.0, description="peak rate", continuous_update=False),
    }
    button = widgets.Button(description="Train", icon="play", button_style="primary",
                            tooltip=f"train {epochs} epochs with this schedule")

    def curve(history):
        return xs, np.clip(smooth(history.step_loss), 1e-3, None)

    def update(schedule, peak):
        lr = run_schedule(schedule, peak, total, per_epoch)
        sched_line.set_data(xs - 1 / per_epoch, np.asarray(lr(steps)) / peak)
        const = cache.get(("constant", round(peak, 6)))
        run = cache.get((schedule, round(peak, 6)))
        const_loss.set_data(*(curve(const) if const is not None else ([], [])))
        run_loss.set_data(*(curve(run) if run is not None else ([], [])))
        note.set_text("" if run is not None else "press Train")
        if run is None:
            return f"<b>{RUN_LABELS[schedule]}</b>, peak {peak:.3g}: not trained yet. Press <b>Train</b>."
        text = f"<b>{RUN_LABELS[schedule]}</b>, peak {peak:.3g}: {html.escape(diagnose(run))}; "
        text += f"final training loss {run.loss[-1]:.3f}"
        if validation is not None:
            text += f", validation accuracy {run.val_accuracy[-1]:.3f}"
        if const is not None and schedule != "constant":
            text += f" (constant rate: {const.loss[-1]:.3f}"
            text += f", {const.val_accuracy[-1]:.3f})" if validation is not None else ")"
        return text + f". This run took {run.seconds:.2f} s."

    def train(_=None):
        values = demo.values()
        schedule, peak = values["schedule"], values["peak"]
        for kind in dict.fromkeys(["constant", schedule]):
            key = (kind, round(peak, 6))
            if key not in cache:
                button.description, button.disabled = "training...", True
                try:
                    lr = run_schedule(kind, peak, total, per_epoch)
                    cache[key] = trainer.run(x, y, epochs=epochs, batch_size=batch_size, learning_rate=lr,
                                             validation=validation)
                finally:
                    button.description, button.disabled = "Train", False
        demo.refresh()

    demo = Demo(live, controls, update)
    button.on_click(train)
    demo.train_button = button
    demo.cache = cache
    demo.artists = {"schedule": sched_line, "constant": const_loss, "run": run_loss, "note": note}
    header = demo.view.children[0]
    header.children = (*header.children, button)
    return demo
