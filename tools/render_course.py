"""Build a static, readable HTML version of the course: every lesson executed, with its outputs and plots.

    python tools/render_course.py [--out build/site] [--notebooks NB.ipynb ...]

Each notebook runs in a fresh kernel with its own folder as the working directory, like in JupyterLab.
Any error, stderr output or warning in an output stops the build with a message naming the notebook and
the cell; the site is built in a temporary folder and moved to ``--out`` only when everything succeeded.

The pages need no network: images are embedded and formulas are converted to MathML at build time. Each
explorer (a ``Demo``) is pre-rendered over its controls' stops (course_utils/widgets/frames.py) in the kernel
that ran its lesson, and shown with real HTML controls and a few lines of inline script that swap its picture and
summary; any other widget becomes its static snapshot and a note that the live version needs JupyterLab. Frames
are encoded in parallel on all cores. The build prints each page's size, the site's size and its own duration
against the budgets below, and fails when a page or the site is over its size budget.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import copy
import datetime
import html
import io
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
import nbformat
import numpy as np
from bs4 import BeautifulSoup
from latex2mathml.converter import convert as latex_to_mathml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test suite's kernel environment and output checks, shared with the tests
from tests.nbrun import LESSONS, kernel_env, problems  # noqa: E402

COURSE_TITLE = "Loss & Optimization"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Widget models that only lay out or display things; anything else in a widget is a control the reader could move.
PASSIVE_WIDGETS = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "ImageModel", "HTMLModel", "LabelModel",
                   "OutputModel", "LayoutModel"}
# Budgets of the rendered course: bytes per lesson page, bytes for the whole site, seconds for the build (2 cores).
PAGE_BUDGET = 8_000_000
SITE_BUDGET = 40_000_000
TIME_BUDGET = 300
# Colours in a pre-rendered frame's palette: the plots use a few flat colours, so 64 change only anti-aliased edges.
FRAME_COLOURS = 64
# Run after the lesson, in its kernel: every explorer's frames, pickled to a file the build reads.
FRAMES_CELL = """# rendered course: pre-render every explorer over its controls' stops
import gc as _course_gc
import pickle as _course_pickle
from course_utils.widgets.core import Demo as _CourseDemo
from course_utils.widgets.frames import explorer_frames as _course_explorer_frames
with open({path!r}, "wb") as _course_file:
    _course_pickle.dump([_course_explorer_frames(_demo) for _demo in _course_gc.get_objects()
                         if isinstance(_demo, _CourseDemo)], _course_file)
"""
# latex2mathml sets no space between \log (and co.) and its argument, which TeX does: "log p", not "logp".
FUNCTION_NAME = re.compile(r"(<mi>(?:log|ln|exp|sin|cos|tan)</mi>)(?=<mi|<mn|<msub|<msup|<mrow)")

# The lab template without anything it would fetch from a CDN: require.js, the widget manager, MathJax, mermaid.
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.site_css }}</style>{%- endblock extra_css -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output | get_metadata('alt', 'image/png') | escape_html }}">
</div>
{%- endblock data_png -%}
{%- block body_header -%}{{ super() }}
<nav class="course-nav"><a href="index.html">{{ resources.course_title | e }}</a> · all lessons</nav>
{%- endblock body_header -%}
"""

SITE_CSS = """
body { --jp-content-font-size1: 16px; --jp-code-font-size: 14px; }
/* Code colours with at least 4.5:1 contrast on the cell background (#f5f5f5), WCAG AA; JupyterLab's own
   comment, number, operator, atom and bracket colours fall short of it. On body: the theme sets them on :root,
   later in the page. */
body {
  --jp-mirror-editor-keyword-color: #006e00; --jp-mirror-editor-atom-color: #4b4bd6;
  --jp-mirror-editor-number-color: #006a00; --jp-mirror-editor-variable-3-color: #006b44;
  --jp-mirror-editor-operator-color: #7a1fd1; --jp-mirror-editor-meta-color: #7a1fd1;
  --jp-mirror-editor-comment-color: #3b6b6b; --jp-mirror-editor-builtin-color: #006e00;
  --jp-mirror-editor-bracket-color: #6b6b55; --jp-mirror-editor-quote-color: #006e00;
  --jp-mirror-editor-error-color: #c00000; --jp-mirror-editor-hr-color: #595959;
}
/* Links in running text are underlined, not told apart by colour alone (body: the theme's own a:link rule,
   which removes the underline, comes later in the page with the same specificity). */
body .jp-RenderedHTMLCommon a:link, body .jp-RenderedHTMLCommon a:visited, .course-index a, .course-widget-note a {
  text-decoration: underline; }
main, .course-index { max-width: 1100px; margin: 0 auto; padding: 0 1em; }
math { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", math; font-size: 1.08em; }
math[display="block"] { margin: 0.6em 0; }
.course-nav { max-width: 1100px; margin: 0.8em auto 0; padding: 0 1em; font-family: var(--jp-ui-font-family); }
.course-explorer-controls { display: flex; flex-wrap: wrap; gap: 0.4em 1.6em; align-items: center;
  font-family: var(--jp-ui-font-family); margin: 0.3em 0; }
.course-explorer-controls label { margin-right: 0.4em; }
.course-explorer-controls input[type="range"] { width: 260px; vertical-align: middle; }
.course-explorer-controls output { display: inline-block; min-width: 4em; margin-left: 0.4em; font-weight: bold; }
.course-explorer-picture img { max-width: 100%; height: auto; }
.course-explorer-summary { font-family: var(--jp-ui-font-family); margin: 0.2em 0; }
.course-visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.course-widget-note { border-left: 4px solid #1976d2; background: #e8f1fb; padding: 0.4em 0.8em;
  margin: 0.3em 0 0.6em; font-family: var(--jp-ui-font-family); }
.course-index li { margin-bottom: 1em; }
.course-index .build { color: #666; font-size: 0.9em; margin-top: 2em; }
/* Projectors and very wide screens: larger type and a wider column. */
@media (min-width: 1800px) {
  body { --jp-content-font-size1: 20px; --jp-code-font-size: 17px; }
  main, .course-nav, .course-index { max-width: 1500px; }
}
@media print {
  body { --jp-content-font-size1: 12pt; --jp-code-font-size: 9.5pt; }
  .course-nav { display: none; }
  .jp-Cell pre { white-space: pre-wrap; }  /* wrap long code lines instead of cutting them off */
  .jp-OutputArea-child { break-inside: avoid; }
  .jp-OutputArea-output img { max-width: 100%; }
}
"""


class BuildError(Exception):
    """A problem that stops the build; the message says where."""


def tex_to_mathml(tex: str, display: str) -> str:
    tex = re.sub(r"\\arg(?![A-Za-z])", r"\\operatorname{arg}", tex)  # latex2mathml does not know \arg
    try:
        mathml = latex_to_mathml(tex, display=display)
    except Exception as error:
        raise BuildError(f"cannot convert the formula {tex!r} to MathML: {error}") from error
    if re.search(r">[^<]*\\[A-Za-z]", mathml):  # a command latex2mathml passed through as text
        raise BuildError(f"the formula {tex!r} uses a command latex2mathml cannot render")
    return FUNCTION_NAME.sub(r'\1<mspace width="0.1667em"/>', mathml)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with formulas as MathML instead of TeX left for MathJax."""

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, "inline")

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, "block")

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


def markdown_to_html(source: str, **renderer_options) -> str:
    return MarkdownWithMath(renderer=MathMLRenderer(escape=False, **renderer_options)).render(source)


class SiteExporter(HTMLExporter):
    """The lab template, offline: MathML formulas, no CDN scripts, images embedded."""

    @jinja2.pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        return markdown_to_html(
            source,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
        )


def make_exporter() -> SiteExporter:
    return SiteExporter(
        extra_loaders=[jinja2.DictLoader({"course_site.html.j2": TEMPLATE})],
        template_file="course_site.html.j2",
        embed_images=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def execute(path: Path, timeout: int) -> tuple[nbformat.NotebookNode, list[dict]]:
    """Run ``path`` top to bottom in a fresh kernel; BuildError names the cell on any error, stderr or warning.

    Returns the executed notebook and, from the same kernel afterwards, every explorer's frames
    (:func:`course_utils.widgets.frames.explorer_frames`).
    """
    nb = nbformat.read(path, as_version=4)
    frames_file = tempfile.NamedTemporaryFile(suffix=".pickle", delete=False)
    frames_file.close()
    nb.cells.append(nbformat.v4.new_code_cell(FRAMES_CELL.format(path=frames_file.name)))
    try:
        nb = _run(path, nb, timeout)
        nb.cells.pop()  # the frames cell is the build's, not the lesson's
        with open(frames_file.name, "rb") as file:
            return nb, pickle.load(file)
    finally:
        os.unlink(frames_file.name)


def _run(path: Path, nb: nbformat.NotebookNode, timeout: int) -> nbformat.NotebookNode:
    running = {}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=lambda cell, cell_index: running.update(index=cell_index),
    )
    failed = None
    # The kernel process's own stderr (ipykernel's start-up notices, a crash) goes to a log, shown if it dies.
    with tempfile.TemporaryFile("w+") as kernel_log:
        try:
            client.execute(env=kernel_env(), stderr=kernel_log)
        except (CellExecutionError, CellTimeoutError, RuntimeError) as error:  # RuntimeError: dead or no kernel
            failed = error
            kernel_log.seek(0)
            log_tail = kernel_log.read().strip().splitlines()[-5:]
    found = problems(nb)
    if failed is None and not found:
        return nb
    lines = [f"{path.name} failed (cells counted from 0, markdown cells included):"]
    if failed is not None:
        index = running.get("index")
        if index is None:
            lines.append(f"  the kernel did not start: {failed}")
        else:
            first_line = (nb.cells[index].source.strip().splitlines() or [""])[0]
            lines.append(f"  cell {index} stopped the run: {first_line}")
        if not isinstance(failed, CellExecutionError):
            lines.append(f"  {type(failed).__name__}: {str(failed).strip().splitlines()[-1]}")
            lines += [f"  kernel: {line}" for line in log_tail]
    lines += [f"  {problem}" for problem in found]
    raise BuildError("\n".join(lines))


def has_controls(model_id: str, state: dict) -> bool:
    """Whether the widget ``model_id`` contains anything but layout and display widgets (sliders, buttons...)."""
    model = state.get(model_id, {})
    if model.get("model_name") not in PASSIVE_WIDGETS:
        return True
    children = model.get("state", {}).get("children", [])
    return any(has_controls(child.removeprefix("IPY_MODEL_"), state) for child in children)


def widget_note(name: str, png: bool, controls: bool) -> nbformat.NotebookNode:
    if not png:
        text = f"this widget has no static picture; open <code>{name}</code> in JupyterLab to use it."
    elif controls:
        text = (f"this plot is a snapshot of the widget's starting state; open <code>{name}</code> in JupyterLab "
                "to move the controls and watch it redraw.")
    else:
        text = (f"this plot is a snapshot of the widget when the lesson finished running; open <code>{name}</code> "
                "in JupyterLab to watch it update live.")
    note = f'<p class="course-widget-note"><strong>Interactive in JupyterLab:</strong> {text}</p>'
    return nbformat.v4.new_output("display_data", data={"text/html": note})


def encode_frame(png: bytes) -> bytes:
    """A frame as a small PNG: its colours reduced to a palette of FRAME_COLOURS (a third of the kernel's PNG,
    which is encoded for speed). zlib level 6: level 9 takes four times as long for 7% less."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(FRAME_COLOURS, method=Image.Quantize.FASTOCTREE).save(buffer, format="png", compress_level=6)
    return buffer.getvalue()


def encode_explorer(explorer: dict, pool: concurrent.futures.Executor) -> dict:
    """``explorer`` (from the kernel) with its frames split into distinct pictures, being encoded in ``pool``
    (``images``: futures of PNG bytes) and ``frames``: one (picture index, summary) per setting."""
    distinct: dict[bytes, int] = {}
    frames = [(distinct.setdefault(png, len(distinct)), summary) for png, summary in explorer["frames"]]
    images = [pool.submit(encode_frame, png) for png in distinct]
    return {**explorer, "frames": frames, "images": images}


def fix_control(explorer: dict, position: int) -> dict:
    """``explorer`` with its control at ``position`` kept at its starting value: the frames of its other values are
    dropped (frame k's stop of control c is ``k // stride(c) % stops(c)``, the stride being the product of the
    stop counts of the controls before c), and so are the pictures no frame shows any more."""
    controls = explorer["controls"]
    control = controls[position]
    stride = int(np.prod([len(c["labels"]) for c in controls[:position]]))
    count, start = len(control["labels"]), control["start"]
    kept = [frame for k, frame in enumerate(explorer["frames"]) if k // stride % count == start]
    used = sorted({picture for picture, _ in kept})
    renumber = {old: new for new, old in enumerate(used)}
    return {**explorer, "controls": controls[:position] + controls[position + 1:],
            "fixed": [*explorer["fixed"], {**control, "labels": [control["labels"][start]], "start": 0}],
            "frames": [(renumber[picture], summary) for picture, summary in kept],
            "images": [explorer["images"][picture] for picture in used]}


def trim_largest(explorers: dict) -> str | None:
    """Keep one more control at its starting value, to make a page smaller: in the explorer whose pictures weigh
    most, the control after the main one with the fewest stops. Returns its label, or None if no explorer has a
    control left to keep (every main control keeps every stop)."""
    weights = {key: sum(len(image.result()) for image in e["images"]) for key, e in explorers.items()
               if len(e["controls"]) > 1}
    if not weights:
        return None
    key = max(weights, key=weights.get)
    controls = explorers[key]["controls"]
    position = min(range(1, len(controls)), key=lambda i: len(controls[i]["labels"]))
    explorers[key] = fix_control(explorers[key], position)
    return controls[position]["label"]


def _stops_text(control: dict) -> str:
    labels, total = control["labels"], control["all_stops"]
    if control["kind"] == "checkbox":
        return "off and on"
    if len(labels) == total:
        if control["kind"] == "range":
            return f"all {total} stops, {labels[0]} to {labels[-1]}"
        return f"all {total} options"
    return f"{', '.join(labels)} (of {total} {'stops' if control['kind'] == 'range' else 'options'})"


def explorer_note(explorer: dict, name: str) -> str:
    """Which values the page pre-rendered, and where the full version runs."""
    shown = "; ".join(f"{html.escape(c['label'])}: {html.escape(_stops_text(c))}" for c in explorer["controls"])
    text = f"these pictures were rendered when the course was built, for {shown}." if shown else (
        "this picture was rendered when the course was built.")
    if explorer["fixed"]:
        fixed = ", ".join(f"{html.escape(c['label'])} {html.escape(c['labels'][0])}" for c in explorer["fixed"])
        text += f" Kept at their starting values here: {fixed}."
    if explorer["buttons"]:
        text += f" The {', '.join(html.escape(b) for b in explorer['buttons'])} button works only with a kernel."
    text += (f" The full, editable version, with every value and your own code, runs in JupyterLab: open "
             f"<code>{html.escape(name)}</code> there (<code>make lab</code>).")
    return f'<p class="course-widget-note"><strong>Pre-rendered:</strong> {text}</p>'


def _control_html(control: dict, ident: str, stride: int) -> str:
    label = html.escape(control["label"])
    start = control["start"]
    if control["kind"] == "checkbox":
        checked = " checked" if start else ""
        return (f'<span><input type="checkbox" id="{ident}" data-stride="{stride}"{checked}>'
                f'<label for="{ident}">{label}</label></span>')
    if control["kind"] == "select":
        options = "".join(f'<option value="{i}"{" selected" if i == start else ""}>{html.escape(text)}</option>'
                          for i, text in enumerate(control["labels"]))
        return (f'<span><label for="{ident}">{label}</label>'
                f'<select id="{ident}" data-stride="{stride}">{options}</select></span>')
    value = html.escape(control["labels"][start])
    return (f'<span><label for="{ident}">{label}</label>'
            f'<input type="range" id="{ident}" min="0" max="{len(control["labels"]) - 1}" step="1" value="{start}" '
            f'aria-valuetext="{value}" data-stride="{stride}" data-control="{control["name"]}">'
            f'<output for="{ident}" aria-hidden="true">{value}</output></span>')


def explorer_html(explorer: dict, number: int, name: str, snapshot: str, alt: str) -> str:
    """An explorer as the page shows it: real controls, its picture (at first the kernel's own ``snapshot``,
    base64 PNG, described by ``alt``), its summary in a live region, the note, and its frames as JSON."""
    stride, controls = 1, []
    for index, control in enumerate(explorer["controls"]):
        controls.append(_control_html(control, f"explorer{number}-{index}", stride))
        stride *= len(control["labels"])
    images = [f"data:image/png;base64,{base64.b64encode(future.result()).decode('ascii')}"
              for future in explorer["images"]]
    data = {"images": images, "frames": explorer["frames"],
            "labels": {c["name"]: c["labels"] for c in explorer["controls"] if c["kind"] == "range"}}
    # "<" escaped: a summary can never close the script element early.
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    width, height = Image.open(io.BytesIO(base64.b64decode(snapshot))).size
    group = f'<div class="course-explorer-controls" role="group" aria-label="controls">{"".join(controls)}</div>' \
        if controls else ""
    return (
        f'<div class="course-explorer" id="explorer{number}" data-frames="{len(explorer["frames"])}">{group}'
        f'<div class="course-explorer-picture"><img src="data:image/png;base64,{snapshot}" alt="{html.escape(alt)}" '
        f'width="{width}" height="{height}"></div>'
        f'<div class="course-explorer-summary" role="status" aria-live="polite">{html.escape(alt)}</div>'
        f'{explorer_note(explorer, name)}'
        f'<script type="application/json" class="course-explorer-frames">{payload}</script></div>'
    )


# The page's only script: a control's move picks the frame at the controls' stops (sum of stop * stride).
EXPLORER_SCRIPT = """
document.querySelectorAll(".course-explorer").forEach(function (box) {
  var data = JSON.parse(box.querySelector(".course-explorer-frames").textContent);
  var picture = box.querySelector(".course-explorer-picture img");
  var summary = box.querySelector(".course-explorer-summary");
  var inputs = box.querySelectorAll("[data-stride]");
  function show() {
    var frame = 0;
    inputs.forEach(function (input) {
      var stop = input.type === "checkbox" ? (input.checked ? 1 : 0) : Number(input.value);
      frame += stop * Number(input.dataset.stride);
      if (input.type === "range") {
        var label = data.labels[input.dataset.control][stop];
        input.setAttribute("aria-valuetext", label);
        box.querySelector("output[for='" + input.id + "']").value = label;
      }
    });
    picture.src = data.images[data.frames[frame][0]];
    picture.alt = summary.textContent = data.frames[frame][1];
    box.dataset.frame = frame;
  }
  inputs.forEach(function (input) { input.addEventListener("input", show); input.addEventListener("change", show); });
});
"""


def replace_widgets(nb: nbformat.NotebookNode, name: str, explorers: dict | None = None) -> int:
    """Swap every widget output for its pre-rendered explorer (``explorers``: model id -> :func:`encode_explorer`'s
    dict), or else for its static PNG and a note; returns how many widgets there were."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    explorers = explorers or {}
    count = 0
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            if view is None:
                outputs.append(output)
                continue
            count += 1
            output.data.pop("text/plain", None)  # "VBox(children=...)" says nothing to a reader
            explorer = explorers.get(view["model_id"])
            if explorer is not None and "image/png" in output.data:
                alt = output.get("metadata", {}).get("image/png", {}).get("alt", "")
                block = explorer_html(explorer, count, name, output.data["image/png"], alt)
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": block}))
                continue
            if "image/png" in output.data:
                outputs.append(output)
            outputs.append(widget_note(name, "image/png" in output.data, has_controls(view["model_id"], state)))
        if "outputs" in cell:
            cell.outputs = outputs
    return count


def add_alt_texts(nb: nbformat.NotebookNode) -> None:
    """Give every image its text alternative: an explorer's snapshot brings its own (the summary under its plot);
    a figure takes the next text from its cell's ``alt`` metadata (a string, or a list with one per figure)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        texts = cell.metadata.get("alt", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        needing = [o for o in cell.outputs if "image/png" in o.get("data", {})
                   and not o.get("metadata", {}).get("image/png", {}).get("alt")]
        if len(texts) != len(needing):
            first_line = (cell.source.strip().splitlines() or [""])[0]
            raise BuildError(f"cell {index} ({first_line}) shows {len(needing)} figure(s) without a description, but "
                             f"its metadata 'alt' has {len(texts)}: give each figure one text saying what it shows")
        for output, text in zip(needing, texts):
            output.setdefault("metadata", {}).setdefault("image/png", {})["alt"] = text


def rewrite_links(soup: BeautifulSoup, source_dir: Path, pages: dict[Path, str], site: Path) -> None:
    """Links to rendered lessons go to their pages; links to other files (the exercises) to copies in the site."""
    for anchor in soup.find_all("a", href=True):
        parts = urlsplit(anchor["href"])
        if parts.scheme or parts.netloc or not parts.path or anchor.find_parent(class_="course-nav"):
            continue  # another site, an anchor on this page, or the link to the index the template adds
        target = (source_dir / unquote(parts.path)).resolve()
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if target in pages:
            anchor["href"] = pages[target] + fragment
        elif target.is_file():
            # Published next to the pages, e.g. exercises/01_loss_as_error.ipynb, for download.
            relative = f"{target.parent.name}/{target.name}"
            (site / target.parent.name).mkdir(exist_ok=True)
            shutil.copy2(target, site / relative)
            anchor["href"] = relative + fragment
            if target.suffix == ".ipynb":
                anchor["download"] = target.name
        else:
            raise BuildError(f"the link {anchor['href']!r} points to nothing")


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(rgb: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of an sRGB colour against white: (1 + 0.05) / (luminance + 0.05)."""
    return 1.05 / (_luminance(rgb) + 0.05)


def readable(hex_colour: str, minimum: float = 4.5) -> str:
    """The colour, darkened in steps keeping its hue until its contrast with white reaches ``minimum`` (WCAG AA)."""
    rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    darker = rgb
    for step in range(101):
        darker = tuple(round(c * (1 - step / 100)) for c in rgb)
        if contrast_with_white(darker) >= minimum:
            break
    return "#{:02x}{:02x}{:02x}".format(*darker)


def readable_output_colours(soup: BeautifulSoup) -> None:
    """Darken inline text colours in cell outputs (Keras' model summary: cyan, green, blue on white) to 4.5:1."""
    for output in soup.find_all(class_="jp-OutputArea-output"):
        for element in output.find_all(style=True):
            if "background" in element["style"]:
                continue  # its own background: the contrast is the output's choice, not against white
            element["style"] = re.sub(r"(?<![\w-])(color|text-decoration-color):\s*(#[0-9a-fA-F]{6})",
                                      lambda m: f"{m[1]}: {readable(m[2])}", element["style"])


def name_formula_headers(soup: BeautifulSoup) -> None:
    """Give a table header that holds only a formula its text, for screen readers only: axe-core does not count
    MathML as a header's text (empty-table-header). The formula itself is then hidden from screen readers, so they
    read it once."""
    for header in soup.find_all("th"):
        formulas = header.find_all("math")
        rest = "".join(text for text in header.find_all(string=True) if not text.find_parent("math")).strip()
        if not formulas or rest:
            continue
        text = soup.new_tag("span", attrs={"class": "course-visually-hidden"})
        text.string = " ".join(" ".join(math.get_text(" ").split()) for math in formulas)
        header.insert(0, text)
        for math in formulas:
            math["aria-hidden"] = "true"


def lesson_title_and_summary(nb: nbformat.NotebookNode, fallback: str) -> tuple[str, str]:
    """The first markdown cell's heading, and its first paragraph of prose (not a line of navigation links)."""
    first = next((cell.source for cell in nb.cells if cell.cell_type == "markdown"), "")
    blocks = [block.strip() for block in re.split(r"\n\s*\n", first) if block.strip()]
    title = next((b.lstrip("#").strip() for b in blocks if b.startswith("# ")), fallback)
    prose = [b for b in blocks if not b.startswith("#") and ".ipynb)" not in b and not b.startswith("$$")]
    summary = " ".join(prose[0].split()) if prose else ""
    if summary and summary[-1] not in ".!?":
        summary = summary.rstrip(",:;") + "."  # a paragraph that leads into a formula or a list
    return title, summary


def binder_url(repository: str) -> str:
    """mybinder.org's link that builds ``repository`` (a GitHub URL) and opens its lessons in JupyterLab.

    Example: ``binder_url("https://github.com/ana/course")`` is
    ``https://mybinder.org/v2/gh/ana/course/HEAD?urlpath=lab/tree/notebooks``.
    """
    parts = urlsplit(repository)
    path = parts.path.strip("/").removesuffix(".git").split("/")
    if parts.scheme != "https" or parts.netloc != "github.com" or len(path) != 2 or not all(path):
        raise BuildError(f"[project.urls] Repository in pyproject.toml: got {repository!r}, expected "
                         "https://github.com/OWNER/NAME")
    return f"https://mybinder.org/v2/gh/{path[0]}/{path[1]}/HEAD?urlpath=lab/tree/notebooks"


def repository_url() -> str:
    """The course's public repository: pyproject.toml's ``[project.urls] Repository``, its one definition."""
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("urls", {})
    if "Repository" not in urls:
        raise BuildError("pyproject.toml has no [project.urls] Repository: set it to the course's GitHub URL")
    return urls["Repository"]


def build_info() -> str:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    built = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"course version {version} · commit {commit} · built {built}"


def index_page(lessons: list[dict], info: str, binder: str) -> str:
    items = []
    for lesson in lessons:
        exercises = ""
        if lesson["exercises"]:
            exercises = (f' · <a href="{lesson["exercises"]}" download>exercise notebook</a>')
        items.append(
            f'<li><a href="{lesson["page"]}">{html.escape(lesson["title"])}</a>{exercises}'
            f'<div class="summary">{markdown_to_html(lesson["summary"])}</div></li>'
        )
    listing = "\n".join(items)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(COURSE_TITLE)}</title>
<style type="text/css">
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; }}
{SITE_CSS}
</style>
</head>
<body>
<main class="course-index">
<h1>{html.escape(COURSE_TITLE)}</h1>
<p>An interactive Jupyter course on how neural networks learn: loss functions, cross-entropy, gradient descent,
optimizers, learning-rate schedules and the full training loop, in TensorFlow/Keras 3 and numpy.</p>
<p>These pages show every lesson as it ran, with all its outputs and plots. Each explorer works here too, without
Python: its controls move through pictures rendered when the course was built, and it says which values those
are. The full, editable course, with every value, the Train buttons and your own code, runs in JupyterLab:</p>
<ul>
<li><a class="course-binder" href="{html.escape(binder)}">launch on Binder</a>: the whole course with its real
kernel in your browser, nothing to install (it needs the network; the first launch builds the environment and can
take several minutes);</li>
<li>or on your own computer: clone the course and run <code>make lab</code>.</li>
</ul>
<p>The exercise notebooks check your answers in their check cells, which need the course's environment too
(Binder or <code>make lab</code>).</p>
<ol>
{listing}
</ol>
<p class="build">{html.escape(info)}</p>
</main>
</body>
</html>
"""


def _timed_execute(path: Path, timeout: int):
    started = time.monotonic()
    nb, explorers = execute(path, timeout)
    return nb, explorers, time.monotonic() - started


def check_budgets(site: Path, pages: list[str], seconds: float) -> list[str]:
    """Measure each lesson page, the whole site and the build against the budgets; print the figures.

    Returns the problems (a page or the site too big); the build time is printed, not enforced (it depends on
    the machine and its load).
    """
    problems = []
    for name in pages:
        size = (site / name).stat().st_size
        over = size > PAGE_BUDGET
        print(f"  {name:36s} {size / 1e6:6.2f} MB  (budget {PAGE_BUDGET / 1e6:.0f} MB){'  OVER' if over else ''}")
        if over:
            problems.append(f"{name} is {size / 1e6:.2f} MB, over the {PAGE_BUDGET / 1e6:.0f} MB budget for a page")
    total = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    print(f"  {'whole site':36s} {total / 1e6:6.2f} MB  (budget {SITE_BUDGET / 1e6:.0f} MB)"
          f"{'  OVER' if total > SITE_BUDGET else ''}")
    if total > SITE_BUDGET:
        problems.append(f"the site is {total / 1e6:.2f} MB, over the {SITE_BUDGET / 1e6:.0f} MB budget")
    print(f"  {'build time':36s} {seconds:6.0f} s   (budget {TIME_BUDGET} s on 2 cores, "
          f"{os.cpu_count()} core(s) here){'  OVER' if seconds > TIME_BUDGET else ''}", flush=True)
    return problems


def page_html(nb: nbformat.NotebookNode, path: Path, explorers: dict, pages: dict[Path, str], site: Path,
              exporter: SiteExporter) -> tuple[str, int]:
    """The executed lesson ``nb`` (changed in place) as its page; and how many widgets it showed."""
    try:
        widgets = replace_widgets(nb, path.name, explorers)
        add_alt_texts(nb)
        body, _ = exporter.from_notebook_node(
            nb, resources={"metadata": {"name": path.stem, "path": str(path.parent)},
                           "site_css": SITE_CSS, "course_title": COURSE_TITLE})
        soup = BeautifulSoup(body, "html.parser")
        rewrite_links(soup, path.parent, pages, site)
        readable_output_colours(soup)
        name_formula_headers(soup)
    except BuildError as error:
        raise BuildError(f"{path.name}: {error}") from error
    if soup.select(".course-explorer"):
        script = soup.new_tag("script")
        script.string = EXPLORER_SCRIPT
        soup.body.append(script)
    return str(soup), widgets


def render(notebooks: list[Path], site: Path, timeout: int) -> None:
    """Execute and export every notebook into the empty folder ``site``, then write its index.

    Lessons run in parallel kernels, one per core; their explorers' frames are encoded in a pool of processes,
    one per core, as each lesson finishes.
    """
    started = time.monotonic()
    binder = binder_url(repository_url())  # checked before the lessons run
    pages = {path.resolve(): f"{path.stem}.html" for path in notebooks}
    exporter = make_exporter()
    lessons = []
    workers = os.cpu_count() or 1
    results = {}
    with concurrent.futures.ProcessPoolExecutor(workers) as encoders:
        encoders.submit(int).result()  # start the encoders now, before the threads below (fork with one thread)
        with concurrent.futures.ThreadPoolExecutor(min(workers, len(notebooks))) as runs:
            running = {runs.submit(_timed_execute, path, timeout): path for path in notebooks}
            try:
                for future in concurrent.futures.as_completed(running):
                    nb, explorers, seconds = future.result()
                    encoded = {e["model_id"]: encode_explorer(e, encoders) for e in explorers}
                    results[running[future]] = nb, encoded, seconds
            except BaseException:
                runs.shutdown(wait=True, cancel_futures=True)
                raise
        for path in notebooks:
            nb, explorers, seconds = results[path]
            title, summary = lesson_title_and_summary(nb, path.stem)
            nb.metadata["title"] = title
            while True:
                text, widgets = page_html(copy.deepcopy(nb), path, explorers, pages, site, exporter)
                size = len(text.encode("utf-8"))
                if size <= PAGE_BUDGET:
                    break
                trimmed = trim_largest(explorers)
                if trimmed is None:
                    break  # nothing left to trim: check_budgets reports the page
                print(f"{path.name}: {size / 1e6:.2f} MB is over the page budget: {trimmed} kept at its starting "
                      "value", flush=True)
            (site / pages[path.resolve()]).write_text(text, encoding="utf-8")
            # Lessons link to their exercises, so rewrite_links has copied them into the site.
            exercises = f"exercises/{path.name}" if (site / "exercises" / path.name).is_file() else ""
            lessons.append(dict(title=title, summary=summary, page=pages[path.resolve()], exercises=exercises))
            frames = sum(len(e["frames"]) for e in explorers.values())
            pictures = sum(len(e["images"]) for e in explorers.values())
            print(f"{path.name}: ran in {seconds:.1f} s, {widgets} widget(s), {len(explorers)} explorer(s) "
                  f"pre-rendered at {frames} settings ({pictures} distinct pictures) -> {pages[path.resolve()]}",
                  flush=True)
    (site / "index.html").write_text(index_page(lessons, build_info(), binder),
                                     encoding="utf-8")
    print("budgets:")
    problems = check_budgets(site, [pages[path.resolve()] for path in notebooks], time.monotonic() - started)
    if problems:
        raise BuildError("\n".join(problems))


def build(notebooks: list[Path], out: Path, timeout: int = 600) -> None:
    """Render into a temporary folder beside ``out`` and move it into place only when everything worked."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's 0o700 would make the published folder unreadable to a web server
    try:
        render(notebooks, staging, timeout)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="where the site goes")
    parser.add_argument("--notebooks", type=Path, nargs="+", default=LESSONS,
                        help="notebooks to render, in order (default: the six lessons)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    try:
        build(args.notebooks, args.out, args.timeout)
    except BuildError as error:
        print(f"render_course: build failed ({args.out} left as it was)\n{error}", file=sys.stderr)
        return 1
    print(f"site written to {args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
