"""The static site (tools/render_course.py): built once for real from all six lessons, then read like a visitor would:
every page there, with its title, plots, widget snapshots and working links, nothing from the network; and a
broken notebook stops the build without leaving a half-written site."""

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
from bs4 import BeautifulSoup

from tests.nbrun import LESSONS, ROOT

SCRIPT = ROOT / "tools" / "render_course.py"
AXE = ROOT / "tools" / "node_modules" / "axe-core" / "axe.min.js"  # pinned in tools/package-lock.json
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PNG = re.compile(r"^data:image/png;base64,")
# Code cells that display a widget (a course explorer, lab or gallery, or the live training curve) or a figure.
WIDGET_CELL = re.compile(r"_explorer\(|_lab\(|_gallery\(|(?<!plt)\.show\(\)")
FIGURE_CELL = re.compile(r"plt\.(subplots|figure)\(")
REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
REMOTE_CSS = re.compile(r"""url\(\s*["']?\s*(https?:)?//|@import""", re.I)

pytestmark = pytest.mark.skipif(not LESSONS, reason="no lesson notebooks yet")


def run_build(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "site"
    result = run_build("--out", out)
    assert result.returncode == 0, f"the build failed:\n{result.stdout}\n{result.stderr}"
    return out


def page(site, lesson) -> BeautifulSoup:
    return BeautifulSoup((site / f"{lesson.stem}.html").read_text(encoding="utf-8"), "html.parser")


def code_cells(lesson, pattern) -> int:
    nb = nbformat.read(lesson, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code" and pattern.search(cell.source))


def lesson_title(lesson) -> str:
    first = nbformat.read(lesson, as_version=4).cells[0].source
    return re.search(r"^# (.+)$", first, re.M).group(1).strip()


def test_index_lists_the_six_lessons_in_order(site):
    index = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    pages = [a["href"] for a in index.select("ol a") if a["href"].endswith(".html")]
    assert pages == [f"{lesson.stem}.html" for lesson in LESSONS]
    assert all((site / href).is_file() for href in pages)
    assert "Loss & Optimization" in index.title.text
    build = index.select_one(".build").text
    assert "course version" in build and "commit" in build and "built" in build
    summaries = [li.select_one(".summary").text.strip() for li in index.select("ol > li")]
    assert all(len(summary) > 40 for summary in summaries), summaries


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_page_has_title_plots_and_no_errors(site, lesson):
    soup = page(site, lesson)
    title = lesson_title(lesson)
    assert soup.title.text == title
    assert title in soup.h1.text
    pngs = [img for img in soup.find_all("img") if PNG.match(img.get("src", ""))]
    assert len(pngs) >= code_cells(lesson, FIGURE_CELL) + code_cells(lesson, WIDGET_CELL)
    text = soup.get_text()
    assert "Traceback" not in text
    assert not soup.select('[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-error')


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_page_reads_offline(site, lesson):
    soup = page(site, lesson)
    assert not soup.find_all("script"), "the page needs no JavaScript (MathJax, require.js, widget manager)"
    fetched = [tag.get("src") or tag.get("href") for tag in soup.find_all(["link", "img", "iframe", "source"])]
    assert not [url for url in fetched if url and REMOTE.match(url)]
    assert not [style for style in soup.find_all("style") if REMOTE_CSS.search(style.text)]
    # Formulas are MathML, not TeX waiting for MathJax.
    markdown = " ".join(div.get_text() for div in soup.select(".jp-MarkdownOutput"))
    assert soup.find("math") is not None
    assert not re.search(r"\\(frac|hat|eta|log|sum|text)\b|\$\$", markdown)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_links_are_rewritten_and_resolve_in_the_site(site, lesson):
    soup = page(site, lesson)
    relative = [a["href"].split("#")[0] for a in soup.find_all("a", href=True)
                if not re.match(r"^(#|[a-z]+:)", a["href"])]
    lesson_links = [href for href in relative if re.fullmatch(r"\d\d_\w+\.html", href)]
    assert lesson_links, "the lesson links to no other lesson"
    assert not [href for href in relative if href.endswith(".ipynb") and not href.startswith("exercises/")]
    missing = [href for href in relative if not (site / href).is_file()]
    assert missing == []
    assert f"exercises/{lesson.name}" in relative


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_widget_is_a_snapshot_with_a_note(site, lesson):
    soup = page(site, lesson)
    html = str(soup)
    assert "widget-view+json" not in html and "widget-state+json" not in html
    assert "Loading widget" not in html and not soup.select(".jupyter-widgets")
    notes = soup.select(".course-widget-note")
    assert len(notes) >= code_cells(lesson, WIDGET_CELL)
    for note in notes:
        assert "Interactive in JupyterLab" in note.text and "open" in note.text
        snapshot = note.find_parent(class_="jp-OutputArea-child").find_previous_sibling(class_="jp-OutputArea-child")
        assert snapshot is not None and any(PNG.match(img.get("src", "")) for img in snapshot.find_all("img"))


def test_a_failing_cell_stops_the_build_and_names_it(tmp_path):
    v4 = nbformat.v4
    broken = tmp_path / "broken.ipynb"
    nbformat.write(v4.new_notebook(cells=[
        v4.new_markdown_cell("# Broken\n\nA lesson with a bug."),
        v4.new_code_cell("x = 1"),
        v4.new_code_cell("raise ValueError('boom')"),
        v4.new_code_cell("print('never')"),
    ]), broken)
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the last good build")

    result = run_build("--out", out, "--notebooks", broken)

    assert result.returncode != 0
    assert "broken.ipynb" in result.stderr and "cell 2" in result.stderr
    assert "ValueError: boom" in result.stderr and "raise ValueError('boom')" in result.stderr
    # The previous site is untouched and no half-built folder is left beside it.
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert (out / "index.html").read_text() == "the last good build"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb", "site"]


def _require_axe():
    from tests.test_browser import CHROMIUM

    missing = [str(path) for path in (CHROMIUM, AXE) if not path.exists()]
    if missing:
        reason = f"the accessibility check needs {' and '.join(missing)} (make test installs both)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": with CI=true it must run, not skip")
        pytest.skip(reason)


def test_every_page_passes_axe_core(site):
    """Zero violations of WCAG 2.1 A/AA and axe's best practices on the index and every lesson, from file://."""
    _require_axe()
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name in ["index.html"] + [f"{lesson.stem}.html" for lesson in LESSONS]:
                page.goto((site / name).as_uri())
                page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
                result = page.evaluate(
                    "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
                    AXE_RULES,
                )
                found[name] = [
                    f"{v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['help']}: "
                    + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:3])
                    for v in result
                ]
        finally:
            browser.close()
    assert {name: v for name, v in found.items() if v} == {}, json.dumps(found, indent=1)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_image_says_what_it_shows(site, lesson):
    soup = page(site, lesson)
    images = soup.find_all("img")
    assert images
    for img in images:
        alt = img.get("alt", "")
        assert len(alt) >= 25, f"an image's alt text is too short to say what it shows: {alt!r}"
        assert "No description" not in alt


def test_output_colours_are_darkened_to_readable_contrast():
    """Keras' coloured model summary keeps its hues, each darkened just enough for 4.5:1 on white."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_course", SCRIPT)
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)

    def contrast(colour):
        return 1.05 / (render._luminance(tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))) + 0.05)

    for colour in ["#00d7ff", "#00af00", "#0087ff", "#ff0000", "#ffffff"]:
        darker = render.readable(colour)
        assert 4.5 <= contrast(darker) < 4.5 * 1.15, (colour, darker)
    assert render.readable("#212121") == "#212121"  # already readable: unchanged
    soup = BeautifulSoup('<div class="jp-OutputArea-output"><span style="color: #00d7ff; text-decoration-color: '
                         '#00d7ff">None</span><span style="color: #00d7ff; background-color: #000">x</span></div>',
                         "html.parser")
    render.readable_output_colours(soup)
    first, second = soup.find_all("span")
    assert first["style"] == "color: #008199; text-decoration-color: #008199"
    assert second["style"] == "color: #00d7ff; background-color: #000"
