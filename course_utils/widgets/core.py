"""One matplotlib figure, redrawn in place behind ipywidgets controls, fast.

* :class:`LiveFigure` owns a figure that is never registered with pyplot (so re-running a
  cell cannot leak or stack figures) and shows it as an ``ipywidgets.Image``. Static parts
  (contours, axes, labels) are drawn once and cached; only the artists marked with
  :meth:`LiveFigure.animated` are redrawn on each update (blitting), so an update costs a
  few milliseconds instead of a full redraw.
* :class:`Demo` ties controls to an update function and a LiveFigure. Displaying a Demo
  gives the live widget where widgets work (JupyterLab, VS Code, Colab) and a static PNG of
  the current figure everywhere else (a plain nbconvert export, GitHub, a dead kernel).
* Every Demo works from the keyboard: Tab reaches each control, sliders move with the arrow keys,
  Page Up/Down and Home/End (noUiSlider, which ipywidgets draws them with), and :data:`ARIA_SCRIPT`
  gives screen readers what ipywidgets 8.1 leaves out (each slider's name and its real value).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image


def log_slider(value, low, high, description="learning rate", steps_per_decade=10, continuous_update=True,
               **kwargs) -> widgets.FloatLogSlider:
    """A log-scale slider from ``low`` to ``high`` (powers of ten), ``steps_per_decade`` keyboard steps per decade.

    Its readout shows the value; in a :class:`Demo`, :data:`ARIA_SCRIPT` makes that what screen readers say too
    (ipywidgets alone announces the exponent).

    Example:
        >>> s = log_slider(0.01, 1e-4, 1.0)
        >>> s.min, s.max, round(s.step, 2)
        (-4.0, 0.0, 0.1)
    """
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=float(np.log10(low)),
        max=float(np.log10(high)),
        step=1.0 / steps_per_decade,
        description=description,
        readout_format=".3g",
        continuous_update=continuous_update,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="380px"),
        **kwargs,
    )


# ipywidgets 8.1 draws a slider as a noUiSlider handle (role="slider") that has no accessible name (its
# description label is not tied to it) and whose aria-valuetext is the slider's internal position: the
# exponent for a FloatLogSlider, the index for a SelectionSlider (upstream: jupyter-widgets/ipywidgets#2650).
# No widget option fixes that, and the course ships no JupyterLab extension, so each Demo carries this
# script in an Output widget: the browser runs it where the Demo is shown, and it keeps, for every control
# of that one Demo, the ARIA attributes in step with what the learner sees. Frontends that do not run it
# still get working keyboard controls, only without these names.
ARIA_SCRIPT = """
const label = (control) => {
  const text = control.querySelector(':scope > .widget-label');
  return text ? text.textContent.trim() : '';
};
const set = (node, name, value) => {
  if (value === null) { node.removeAttribute(name); }
  else if (node.getAttribute(name) !== value) { node.setAttribute(name, value); }
};
const describe = (box) => {
  for (const slider of box.querySelectorAll('.widget-slider')) {
    const handle = slider.querySelector('.noUi-handle[role="slider"]');
    const readout = slider.querySelector('.widget-readout');
    if (!handle) { continue; }
    set(handle, 'aria-label', label(slider) || null);
    set(handle, 'aria-valuetext', readout ? readout.textContent.trim() : null);
    set(handle, 'aria-disabled', slider.querySelector('.slider[disabled]') ? 'true' : null);
    if (readout) {  // the readout is an editable text box (type a value, then Enter): name it too
      set(readout, 'role', 'textbox');
      set(readout, 'aria-label', `${label(slider)}: type a value`);
    }
  }
  for (const group of box.querySelectorAll('.widget-toggle-buttons')) {
    set(group, 'role', 'group');
    set(group, 'aria-label', label(group) || null);
    for (const button of group.querySelectorAll('button')) {
      set(button, 'aria-pressed', button.classList.contains('mod-active') ? 'true' : 'false');
    }
  }
};
const start = (tries) => {
  if (typeof element === 'undefined') { return; }  // a frontend that does not say where the output is
  const box = element.closest('.widget-vbox');
  if (!box) { if (tries > 0) { setTimeout(() => start(tries - 1), 100); } return; }
  describe(box);
  new MutationObserver(() => describe(box)).observe(box, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ['class', 'disabled', 'aria-valuetext'],
  });
};
start(100);
"""


def aria_helper() -> widgets.Output:
    """An invisible widget that runs :data:`ARIA_SCRIPT` in the browser, for the box it is put in.

    Example:
        >>> helper = aria_helper()
        >>> helper.outputs[0]["data"]["application/javascript"] == ARIA_SCRIPT
        True
    """
    return widgets.Output(
        outputs=({"output_type": "display_data", "data": {"application/javascript": ARIA_SCRIPT}, "metadata": {}},),
        layout=widgets.Layout(display="none"),
    )


class LiveFigure:
    """A figure with cached static content and a few animated artists, shown as an image widget.

    Args:
        nrows, ncols: the grid of axes (``self.axes`` is one Axes or an array of them).
        figsize: inches; ``dpi`` sets the pixel size.
        subplot_kw: passed on to ``Figure.subplots`` (e.g. ``subplot_kw={"projection": ...}``).

    Example:
        >>> live = LiveFigure()
        >>> line = live.animated(live.axes.plot([0, 1], [0, 1])[0])
        >>> first = live.refresh()
        >>> line.set_ydata([1, 0])
        >>> live.refresh() != first
        True
    """

    def __init__(self, nrows=1, ncols=1, figsize=(8.0, 3.4), dpi=90, **subplots_kw):
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(nrows, ncols, **subplots_kw)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{int(figsize[0] * dpi)}px"))
        self.png = b""
        self.full_draws = 0
        self._animated = []
        self._background = None

    def animated(self, artist):
        """Mark ``artist`` as changing on every update; returns it."""
        artist.set_animated(True)
        self._animated.append(artist)
        return artist

    def invalidate(self) -> None:
        """Redraw everything on the next refresh (call after changing limits, labels or other static parts)."""
        self._background = None

    def refresh(self) -> bytes:
        """Redraw (blitting when the static part is unchanged), update the image widget, return the PNG."""
        canvas = self.figure.canvas
        if self._background is None:
            self.figure.set_layout_engine("constrained")
            canvas.draw()  # draws everything but the animated artists
            self.figure.set_layout_engine("none")  # freeze the layout: later blits must match it
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self.full_draws += 1
        else:
            canvas.restore_region(self._background)
        for artist in self._animated:
            if artist.get_visible():
                self.figure.draw_artist(artist)
        buffer = io.BytesIO()
        # An opaque RGB image encodes about a quarter faster than RGBA; the figure has no transparency.
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB").save(
            buffer, format="png", compress_level=1
        )
        self.png = buffer.getvalue()
        self.image.value = self.png
        return self.png


class Demo:
    """Controls wired to an update function that changes a :class:`LiveFigure`.

    ``update(**values)`` receives every control's current value by name, changes the
    figure's artists, and may return an HTML string for the readout under the figure.
    Changing any control (by hand or from code) runs it and redraws.

    Example:
        >>> live = LiveFigure()
        >>> line = live.animated(live.axes.plot([], [])[0])
        >>> _ = live.axes.set(xlim=(0, 1), ylim=(0, 2))
        >>> def update(slope):
        ...     line.set_data([0, 1], [0, slope])
        ...     return f"slope = {slope:.2f}"
        >>> demo = Demo(live, {"slope": widgets.FloatSlider(value=1.0, min=0, max=2)}, update)
        >>> demo.controls["slope"].value = 1.5
        >>> demo.summary(), line.get_ydata()[-1]
        ('slope = 1.50', 1.5)
    """

    def __init__(self, live: LiveFigure, controls: dict, update: Callable[..., str | None]):
        self.live = live
        self.controls = dict(controls)
        self._update = update
        self.readout = widgets.HTML()
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.view = widgets.VBox(
            [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")), live.image,
             self.readout, aria_helper()]
        )
        self.refresh()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self) -> None:
        text = self._update(**self.values())
        if text is not None:
            # A polite live region: screen readers announce the new summary each time a control moves.
            self.readout.value = f'<div role="status" aria-live="polite">{text}</div>'
        self.live.refresh()

    def _changed(self, change) -> None:
        self.refresh()

    def summary(self) -> str:
        """The readout as plain text: what the plot shows now, in words (the picture's text alternative)."""
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", self.readout.value)).split())

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.view._repr_mimebundle_(**kwargs)
        # Frontends without widget support fall back to this picture of the current state, described in words.
        bundle["image/png"] = base64.b64encode(self.live.png).decode("ascii")
        return bundle, {"image/png": {"alt": self.summary()}}
