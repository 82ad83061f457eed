"""Can a reader tell a figure's series apart without colour, and are its colours the course palette's?

:func:`audit_figure` lists, for one matplotlib figure,

* every two labelled series in one axes (or one legend) that look the same apart from their colour: same
  line style (dash pattern) and same marker for lines, same hatch and edge style for patches;
* every colour drawn that is neither in ``course_utils.plots.PALETTE`` nor a grey (colour maps, such as the
  contour plots' viridis, are fine).

This file is also sent, as source text, into the kernels that run the lessons (see ``tests.nbrun``), so it
needs nothing beyond matplotlib and ``course_utils.plots``.
"""

from __future__ import annotations

from matplotlib.artist import Artist
from matplotlib.cm import ScalarMappable
from matplotlib.collections import Collection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.container import Container
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from course_utils.plots import PALETTE

_ALLOWED = {to_hex(c) for c in PALETTE.values()}


def _no_line(line: Line2D) -> bool:
    return line.get_linestyle() in ("None", "none", "", " ") or line.get_linewidth() == 0


def style_key(artist) -> tuple:
    """What tells this series apart when colour is not seen: dash pattern, marker, hatch."""
    if isinstance(artist, Container):
        children = [c for c in artist if isinstance(c, Artist)]
        return ("container",) + (style_key(children[0]) if children else ())
    if isinstance(artist, Line2D):
        dashes = None if _no_line(artist) else (artist.get_linestyle(), repr(artist._unscaled_dash_pattern))
        marker = artist.get_marker()
        marker = None if marker in (None, "None", "none", "", " ") else str(marker)
        return ("line", dashes, marker)
    if isinstance(artist, Patch):
        return ("patch", artist.get_hatch() or None, artist.get_linestyle() if artist.get_linewidth() else None,
                artist.get_fill())
    if isinstance(artist, Collection):
        paths = tuple(repr(p.vertices.round(3).tolist()) for p in artist.get_paths()[:1])
        return ("collection", type(artist).__name__, artist.get_hatch() or None, repr(artist.get_linestyle()), paths)
    return ("other", type(artist).__name__, id(artist))


def _same_look(series: list[tuple[str, object]], where: str) -> list[str]:
    found, seen = [], {}
    for label, artist in series:
        key = style_key(artist)
        if key in seen and seen[key] != label:
            found.append(f"{where}: {seen[key]!r} and {label!r} differ only in colour ({key})")
        seen.setdefault(key, label)
    return found


def _axes_name(ax) -> str:
    return repr(ax.get_title() or ax.get_ylabel() or "axes")


def _is_grey(rgba) -> bool:
    r, g, b, _ = rgba
    return max(r, g, b) - min(r, g, b) < 0.02


def _colours(artist) -> list:
    if isinstance(artist, ScalarMappable) and artist.get_array() is not None:
        return []  # coloured by a colour map
    if isinstance(artist, Line2D):
        return [artist.get_color(), artist.get_markerfacecolor(), artist.get_markeredgecolor()]
    if isinstance(artist, Patch):
        return [artist.get_facecolor(), artist.get_edgecolor()] if artist.get_visible() else []
    if isinstance(artist, Text):
        return [artist.get_color()] if artist.get_text() else []
    if isinstance(artist, Collection):
        return [*artist.get_facecolors(), *artist.get_edgecolors()]
    return []


def off_palette(fig) -> list[str]:
    """Colours drawn in ``fig`` that are neither the palette's nor grey (alpha ignored)."""
    found = set()
    for artist in fig.findobj():
        for colour in _colours(artist):
            if isinstance(colour, str) and colour in ("none", "None", "auto"):
                continue
            rgba = to_rgba(colour)
            if rgba[3] == 0 or _is_grey(rgba):
                continue
            if to_hex(rgba) not in _ALLOWED:
                found.add(f"{type(artist).__name__} {getattr(artist, 'get_label', lambda: '')()!r}: {to_hex(rgba)}")
    return sorted(found)


def audit_figure(fig) -> list[str]:
    """Everything wrong with ``fig``: series told apart by colour alone, colours outside the palette."""
    found = []
    for ax in fig.axes:
        handles, labels = ax.get_legend_handles_labels()
        found += _same_look(list(zip(labels, handles)), f"axes {_axes_name(ax)}")
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    for legend in legends:
        if legend is None:
            continue
        labels = [t.get_text() for t in legend.get_texts()]
        found += _same_look(list(zip(labels, legend.legend_handles)), "legend")
    found += [f"colour outside the palette: {c}" for c in off_palette(fig)]
    return found


def audit_figures(figures) -> list[dict]:
    """``[{"figure": index, "title": ..., "problems": [...]}, ...]`` for the figures that have problems."""
    report = []
    for index, fig in enumerate(figures):
        problems = audit_figure(fig)
        if problems:
            titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
            report.append({"figure": index, "title": " | ".join(titles), "problems": problems})
    return report
