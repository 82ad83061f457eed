"""Build a static, readable HTML version of the course: every lesson executed, with its outputs and plots.

    python tools/render_course.py [--out build/site] [--notebooks NB.ipynb ...]

Each notebook runs in a fresh kernel with its own folder as the working directory, like in JupyterLab.
Any error, stderr output or warning in an output stops the build with a message naming the notebook and
the cell; the site is built in a temporary folder and moved to ``--out`` only when everything succeeded.

The pages need no network and no JavaScript: images are embedded, formulas are converted to MathML at build
time, and each widget is replaced by its static snapshot (``Demo``'s ``image/png``) and a note that the live
version needs JupyterLab.
"""

from __future__ import annotations

import argparse
import datetime
import html
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
from bs4 import BeautifulSoup
from latex2mathml.converter import convert as latex_to_mathml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test suite's kernel environment and output checks, shared with the tests
from tests.nbrun import LESSONS, kernel_env, problems  # noqa: E402

COURSE_TITLE = "Loss & Optimization"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Widget models that only lay out or display things; anything else in a widget is a control the reader could move.
PASSIVE_WIDGETS = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "ImageModel", "HTMLModel", "LabelModel",
                   "OutputModel", "LayoutModel"}
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


def execute(path: Path, timeout: int) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel; BuildError names the cell on any error, stderr or warning."""
    nb = nbformat.read(path, as_version=4)
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


def replace_widgets(nb: nbformat.NotebookNode, name: str) -> int:
    """Swap every widget output for its static PNG and a note; returns how many there were."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
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


def readable(hex_colour: str, minimum: float = 4.5) -> str:
    """The colour, darkened in steps keeping its hue until its contrast with white reaches ``minimum`` (WCAG AA)."""
    rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    darker = rgb
    for step in range(101):
        darker = tuple(round(c * (1 - step / 100)) for c in rgb)
        if 1.05 / (_luminance(darker) + 0.05) >= minimum:
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


def index_page(lessons: list[dict], info: str) -> str:
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
<p>These pages show every lesson as it ran, with all its outputs and plots. The sliders and buttons need a running
kernel: where a lesson has a widget, its page shows a snapshot of it. To use them, clone the course and run
<code>make lab</code>. The exercise notebooks check your answers in their check cells, which need the course's
environment too.</p>
<ol>
{listing}
</ol>
<p class="build">{html.escape(info)}</p>
</main>
</body>
</html>
"""


def render(notebooks: list[Path], site: Path, timeout: int) -> None:
    """Execute and export every notebook into the empty folder ``site``, then write its index."""
    pages = {path.resolve(): f"{path.stem}.html" for path in notebooks}
    exporter = make_exporter()
    lessons = []
    for path in notebooks:
        started = time.monotonic()
        nb = execute(path, timeout)
        title, summary = lesson_title_and_summary(nb, path.stem)
        widgets = replace_widgets(nb, path.name)
        nb.metadata["title"] = title
        try:
            add_alt_texts(nb)
            body, _ = exporter.from_notebook_node(
                nb, resources={"metadata": {"name": path.stem, "path": str(path.parent)},
                               "site_css": SITE_CSS, "course_title": COURSE_TITLE})
            soup = BeautifulSoup(body, "html.parser")
            rewrite_links(soup, path.parent, pages, site)
            readable_output_colours(soup)
        except BuildError as error:
            raise BuildError(f"{path.name}: {error}") from error
        (site / pages[path.resolve()]).write_text(str(soup), encoding="utf-8")
        # Lessons link to their exercises, so rewrite_links has copied them into the site.
        exercises = f"exercises/{path.name}" if (site / "exercises" / path.name).is_file() else ""
        lessons.append(dict(title=title, summary=summary, page=pages[path.resolve()], exercises=exercises))
        print(f"{path.name}: ran in {time.monotonic() - started:.1f} s, {widgets} widget(s) -> {pages[path.resolve()]}",
              flush=True)
    (site / "index.html").write_text(index_page(lessons, build_info()), encoding="utf-8")


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
