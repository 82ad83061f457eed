"""An explorer's pictures and summaries over its controls' stops, rendered ahead of time for a page without a kernel.

Every control of a :class:`~course_utils.widgets.core.Demo` can only take a finite set of values (a slider moves
from ``min`` to ``max`` by ``step``, a dropdown has its options, a checkbox two states), so what the explorer draws
can be rendered for each of them. :func:`plan` picks the settings (every stop of the main control, the others at a
few values or at their current value where the combinations would be too many), :func:`render_frames` walks them
and returns one picture and one summary per setting. ``tools/render_course.py`` uses both to build the rendered
course; the live training curve (:class:`~course_utils.widgets.training.LiveCurve`) becomes a replay of its
recorded run, one stop per finished epoch.

Example:
    >>> import ipywidgets as widgets
    >>> from course_utils.widgets.core import Demo, LiveFigure
    >>> live = LiveFigure()
    >>> line = live.animated(live.axes.plot([], [])[0])
    >>> _ = live.axes.set(xlim=(0, 1), ylim=(0, 2))
    >>> def update(slope, show):
    ...     line.set_data([0, 1], [0, slope])
    ...     return f"slope = {slope:.2f}" + (" shown" if show else "")
    >>> demo = Demo(live, {"slope": widgets.FloatSlider(value=1.0, min=0, max=2, step=0.5),
    ...                    "show": widgets.Checkbox(value=False, description="show")}, update)
    >>> controls = plan(demo)
    >>> [(c.name, c.labels, c.start) for c in controls]
    [('slope', ['0.00', '0.50', '1.00', '1.50', '2.00'], 2), ('show', ['off', 'on'], 0)]
    >>> frames = render_frames(demo, controls)
    >>> len(frames), frames[3].summary, frames[5].summary  # the first control varies fastest
    (10, 'slope = 1.50', 'slope = 0.00 shown')
    >>> demo.summary()  # the controls are back where they were
    'slope = 1.00'
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ipywidgets as widgets
import numpy as np

from course_utils.widgets.core import Demo

# Frames per explorer at most: the main control's stops times the other controls' chosen values (the main control
# keeps every stop whatever its count). The rendered course trims further if a page would exceed its size budget.
MAX_FRAMES = 300
# The kinds of control a page shows: a slider, a list of options, a checkbox.
RANGE = "range"
SELECT = "select"
CHECKBOX = "checkbox"


@dataclass
class Control:
    """One control as the rendered page shows it: its stops (labels and values) and where it starts.

    ``labels``/``values`` are the pre-rendered stops; ``all_stops`` how many the live control has;
    ``kind`` is ``"range"`` (a slider), ``"select"`` (options) or ``"checkbox"``.
    """

    name: str
    label: str
    kind: str
    labels: list[str]
    values: list[Any]
    start: int
    all_stops: int = 0
    widget: Any = field(default=None, repr=False)

    def __post_init__(self):
        self.all_stops = self.all_stops or len(self.values)


class Frame(NamedTuple):
    """The explorer at one setting: its picture (PNG bytes) and its summary in words."""

    png: bytes
    summary: str


def _number_label(value, fmt: str) -> str:
    try:
        return format(value, fmt)
    except (TypeError, ValueError):
        return str(value)


def _options(control) -> list[tuple[str, Any]]:
    pairs = []
    for option in control.options:
        if isinstance(option, tuple | list) and len(option) == 2:
            pairs.append((str(option[0]), option[1]))
        else:
            pairs.append((str(option), option))
    return pairs


def _with_value(values: list, value) -> list:
    """``values`` (increasing numbers) with ``value`` put in its place, unless it is one of them already."""
    if np.isclose(values, value, rtol=1e-9, atol=0).any():
        return values
    return sorted([*values, value])


def stops(control) -> tuple[str, list[tuple[str, Any]]]:
    """The kind of ``control`` and every (label, value) it can take, in order.

    A slider's values are ``min + k * step`` (a log slider's ``base ** (min + k * step)``) for k = 0, 1, ...
    up to ``max``, and its current value where that falls between two of them; options and selection sliders
    give their options; a checkbox is off or on.

    Example:
        >>> stops(widgets.IntSlider(value=3, min=0, max=6, step=3))
        ('range', [('0', 0), ('3', 3), ('6', 6)])
        >>> stops(widgets.FloatSlider(value=0.7, min=0, max=1, step=0.5))
        ('range', [('0.00', 0.0), ('0.50', 0.5), ('0.70', 0.7), ('1.00', 1.0)])
        >>> stops(widgets.Dropdown(options=[("one", 1), ("two", 2)]))
        ('select', [('one', 1), ('two', 2)])
    """
    if isinstance(control, widgets.FloatLogSlider):
        count = int(round((control.max - control.min) / control.step)) + 1
        exponents = control.min + control.step * np.arange(count)
        values = _with_value([float(control.base ** round(float(e), 10)) for e in exponents], control.value)
        return RANGE, [(_number_label(v, control.readout_format), v) for v in values]
    if isinstance(control, widgets.IntSlider | widgets.FloatSlider):
        count = int(round((control.max - control.min) / control.step)) + 1
        values = [control.min + k * control.step for k in range(count)]
        values = [int(v) if isinstance(control, widgets.IntSlider) else round(float(v), 10) for v in values]
        return RANGE, [(_number_label(v, control.readout_format), v) for v in _with_value(values, control.value)]
    if isinstance(control, widgets.SelectionSlider):
        return RANGE, _options(control)
    if isinstance(control, widgets.Dropdown | widgets.ToggleButtons | widgets.RadioButtons | widgets.Select):
        return SELECT, _options(control)
    if isinstance(control, widgets.Checkbox | widgets.ToggleButton):
        return CHECKBOX, [("off", False), ("on", True)]
    raise TypeError(f"control: got a {type(control).__name__}, expected a slider, a selection or a checkbox")


def _position(values: list, value) -> int:
    """Where ``value`` is among a control's stops (numbers: the nearest, so 0.1 finds 10 ** -1.0)."""
    if value in values:
        return values.index(value)
    try:
        return int(np.argmin(np.abs(np.asarray(values, dtype=float) - float(value))))
    except (TypeError, ValueError):
        raise ValueError(f"value: got {value!r}, expected one of the control's stops {values}") from None


def _few(kind: str, count: int, start: int) -> list[int]:
    """Stops a secondary control gets when there is room: all options of a selection or checkbox; a slider's
    two ends and its current value."""
    if kind != RANGE:
        return list(range(count))
    return sorted({0, start, count - 1})


def plan(demo: Demo, max_frames: int = MAX_FRAMES) -> list[Control]:
    """The controls of ``demo`` as the rendered page shows them, with the stops to pre-render.

    The main control (the first slider, else the first control) keeps every stop. Each other control (options
    and checkboxes first, then sliders, each group in order) gets all its options (a slider: its two ends and its
    current value) if the number of frames stays within ``max_frames``, else only its current value. A live
    training curve gets one control, the epoch, stopping at every finished epoch. Buttons are not controls here
    (they act, they hold no value).

    Args:
        demo: the explorer, with its controls where the page should start.
        max_frames: the most settings to render.
    """
    from course_utils.widgets.training import LiveCurve

    if isinstance(demo, LiveCurve):
        done = len(demo.history.get("loss", []))
        if not done:
            return []
        epochs = list(range(1, done + 1))
        return [Control("epoch", "epoch of the recorded run", RANGE, [str(e) for e in epochs], epochs, done - 1)]
    found = []
    for name, widget in demo.controls.items():
        kind, pairs = stops(widget)
        labels, values = [p[0] for p in pairs], [p[1] for p in pairs]
        label = (widget.description or name).strip()
        found.append(Control(name, label, kind, labels, values, _position(values, widget.value), widget=widget))
    if not found:
        return []
    main = next((c for c in found if c.kind == RANGE), found[0])
    total = len(main.values)
    # Options and checkboxes first (each changes what is drawn), then the other sliders.
    for control in sorted((c for c in found if c is not main), key=lambda c: c.kind == RANGE):
        keep = _few(control.kind, len(control.values), control.start)
        if total * len(keep) > max_frames:
            keep = [control.start]
        total *= len(keep)
        control.labels = [control.labels[i] for i in keep]
        control.values = [control.values[i] for i in keep]
        control.start = keep.index(control.start)
    return [main] + [c for c in found if c is not main]


def settings(controls: list[Control]):
    """Every setting, as one stop index per control, the first control varying fastest (frame ``k``'s indices
    are the digits of ``k`` in the mixed radix of the controls' stop counts)."""
    ranges = [range(len(c.values)) for c in reversed(controls)]
    for indices in itertools.product(*ranges):
        yield tuple(reversed(indices))


def render_frames(demo: Demo, controls: list[Control]) -> list[Frame]:
    """Set ``demo`` to every setting of ``controls`` (from :func:`plan`) in turn; its picture and summary at each.

    The controls (or the training curve's history) are put back as they were afterwards.
    """
    from course_utils.widgets.training import LiveCurve

    if isinstance(demo, LiveCurve):
        history = {key: list(values) for key, values in demo.history.items()}
        frames = []
        try:
            for (index,) in settings(controls):
                demo.feed({key: values[:controls[0].values[index]] for key, values in history.items()})
                frames.append(Frame(demo.live.png, demo.summary()))
        finally:
            demo.feed(history)
        return frames
    before = demo.values()
    frames = []
    try:
        for indices in settings(controls):
            for control, index in zip(controls, indices):
                control.widget.value = control.values[index]
            frames.append(Frame(demo.live.png, demo.summary()))
    finally:
        for name, value in before.items():
            demo.controls[name].value = value
    return frames


def buttons(demo: Demo) -> list[str]:
    """The descriptions of the buttons shown with ``demo`` (actions such as *Train*, which need a kernel)."""
    found, todo = [], [demo.view]
    while todo:
        widget = todo.pop()
        if isinstance(widget, widgets.Button):
            found.append(widget.description)
        todo.extend(getattr(widget, "children", ()))
    return found


def explorer_frames(demo: Demo, max_frames: int = MAX_FRAMES) -> dict:
    """Everything the rendered page needs for ``demo``, as plain data (picklable, no widgets).

    Returns a dict with ``model_id`` (the displayed widget's), ``controls`` (name, label, kind, labels, start,
    all_stops each), ``fixed`` (label and value of every control kept at one value), ``buttons`` and ``frames``
    (a list of :class:`Frame` as tuples).
    """
    controls = plan(demo, max_frames)
    frames = render_frames(demo, controls) if controls else [Frame(demo.live.png, demo.summary())]

    def describe(c: Control) -> dict:
        return dict(name=c.name, label=c.label, kind=c.kind, labels=c.labels, start=c.start, all_stops=c.all_stops)

    return dict(
        model_id=demo.view.model_id,
        controls=[describe(c) for c in controls if len(c.values) > 1],
        fixed=[describe(c) for c in controls if len(c.values) == 1],
        buttons=buttons(demo),
        frames=[tuple(frame) for frame in frames],
    )
