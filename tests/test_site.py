"""The static site (tools/render_course.py): built once for real from all six lessons, then read like a visitor would:
every page there, with its title, plots, pre-rendered explorers and working links, nothing from the network, within
its size budget; every explorer's controls moved with the keyboard in Chromium from file:// with the network off;
and a broken notebook stops the build without leaving a half-written site. The frame walker
(course_utils/widgets/frames.py) is tested on its own first."""

import base64
import importlib.util
import io
import json
import os
import re
import subprocess
import sys

import ipywidgets as widgets
import nbformat
import numpy as np
import pytest
from bs4 import BeautifulSoup
from PIL import Image

from course_utils.widgets import frames as frames_module
from course_utils.widgets import losses, race, schedules, training
from course_utils.widgets.core import log_slider
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


def render_module():
    spec = importlib.util.spec_from_file_location("render_course", SCRIPT)
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    return render


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "site"
    result = run_build("--out", out)
    assert result.returncode == 0, f"the build failed:\n{result.stdout}\n{result.stderr}"
    return out, result.stdout


@pytest.fixture(scope="module")
def site(built):
    return built[0]


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
    # No MathJax, require.js or widget manager: only the explorers' inline script and their frames as JSON.
    scripts = soup.find_all("script")
    assert not [script for script in scripts if script.get("src")]
    code = [script for script in scripts if script.get("type") != "application/json"]
    assert len(code) == (1 if soup.select(".course-explorer") else 0)
    assert not [script for script in code if re.search(r"fetch\(|XMLHttpRequest|import\(|https?:", script.text)]
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
def test_every_widget_is_a_pre_rendered_explorer_with_a_note(site, lesson):
    soup = page(site, lesson)
    html = str(soup)
    assert "widget-view+json" not in html and "widget-state+json" not in html
    assert "Loading widget" not in html and not soup.select(".jupyter-widgets")
    explorers = soup.select(".course-explorer")
    assert len(explorers) == code_cells(lesson, WIDGET_CELL)
    for box in explorers:
        img = box.select_one(".course-explorer-picture img")
        assert PNG.match(img["src"])
        summary = box.select_one(".course-explorer-summary")
        assert summary["role"] == "status" and summary["aria-live"] == "polite"
        assert summary.text == img["alt"]  # the kernel's own summary of its own picture
        note = box.select_one(".course-widget-note").text
        assert "Pre-rendered" in note and "make lab" in note and lesson.name in note and "JupyterLab" in note
        data = json.loads(box.select_one("script.course-explorer-frames").string)
        controls = box.select("[data-stride]")
        assert controls, "an explorer without a control to move"
        assert len(data["frames"]) == int(box["data-frames"]) == np.prod(
            [len(data["labels"][c["data-control"]]) if c.name == "input" and c["type"] == "range"
             else len(c.find_all("option")) if c.name == "select" else 2 for c in controls])
        assert {index for index, _ in data["frames"]} == set(range(len(data["images"])))
        assert all(PNG.match(image) for image in data["images"])
        for control in controls:
            label = box.find("label", attrs={"for": control["id"]})
            assert label is not None and label.text.strip(), "every control has a label"
            assert control.get("disabled") is None
            if control.name == "input" and control["type"] == "range":
                labels = data["labels"][control["data-control"]]
                assert int(control["max"]) == len(labels) - 1
                assert control["aria-valuetext"] == labels[int(control["value"])]
                # The note says which values were rendered: every stop, or the ones listed.
                assert f"all {len(labels)} stops" in note or ", ".join(labels) in note


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
    render = render_module()

    def contrast(colour):
        return render.contrast_with_white(tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5)))

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


def test_build_prints_its_budgets_and_every_page_fits_them(built):
    """Every lesson page at most 8 MB, the site at most 40 MB; the build prints these figures and its time."""
    site, stdout = built
    budgets = stdout[stdout.index("budgets:"):]
    sizes = {lesson.stem: (site / f"{lesson.stem}.html").stat().st_size for lesson in LESSONS}
    for name, size in sizes.items():
        assert size <= 8_000_000, (name, size)
        assert re.search(rf"{name}\.html\s+{size / 1e6:.2f} MB", budgets), budgets
    total = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    assert total <= 40_000_000
    assert re.search(rf"whole site\s+{total / 1e6:.2f} MB", budgets)
    assert re.search(r"build time\s+\d+ s", budgets)
    assert "OVER" not in budgets.replace("build time", "")  # the time depends on the machine's load; sizes do not


def _require_browser():
    from tests.test_browser import CHROMIUM

    missing = [] if CHROMIUM.exists() else [str(CHROMIUM)]
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package")
    if missing:
        reason = f"the browser check needs {' and '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": with CI=true it must run, not skip")
        pytest.skip(reason)


# What a reader sees of one explorer: its picture, the picture's text alternative and the announced summary.
STATE = """(box) => {
  const img = box.querySelector('.course-explorer-picture img');
  return {src: img.src, alt: img.alt, summary: box.querySelector('.course-explorer-summary').textContent};
}"""
# A key that moves a control one stop, and the key that moves it back.
KEYS = {"range": ("ArrowRight", "ArrowLeft"), "select": ("ArrowDown", "ArrowUp"), "checkbox": ("Space", "Space")}


def _pixels(data_uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))).convert("RGB"))


def test_every_explorer_moves_with_the_keyboard_offline_and_matches_the_kernel(site):
    """From file:// with the network off: every control of every explorer, moved one stop with the keyboard,
    changes the picture, its text alternative and the announced summary (a range announces its new value); moved
    back, the explorer shows its pre-rendered frame of the starting setting, which must be the kernel's own
    picture (same pixels, once reduced to the site's palette) and summary (the same text) at that setting."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    encode = render_module().encode_frame
    requested, errors, checked = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                          else (requested.append(route.request.url), route.abort()))
            tab = context.new_page()
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
            for lesson in LESSONS:
                tab.goto((site / f"{lesson.stem}.html").as_uri())
                boxes = tab.query_selector_all(".course-explorer")
                assert len(boxes) == code_cells(lesson, WIDGET_CELL)
                for box in boxes:
                    name = f"{lesson.stem} #{box.get_attribute('id')}"
                    kernel = box.evaluate(STATE)
                    controls = box.query_selector_all("[data-stride]")
                    for control in controls:
                        kind = control.evaluate("c => c.type === 'range' || c.type === 'checkbox' ? c.type : 'select'")
                        forward, back = KEYS[kind]
                        at_end = control.evaluate("c => c.type === 'range' ? c.value === c.max : "
                                                  "c.type === 'checkbox' ? false : c.selectedIndex === c.options.length - 1")
                        if at_end:
                            forward, back = back, forward
                        before = box.evaluate(STATE)
                        valuetext = control.get_attribute("aria-valuetext")
                        control.focus()
                        tab.keyboard.press(forward)
                        after = box.evaluate(STATE)
                        what = f"{name} {control.get_attribute('id')} ({kind}, {forward})"
                        assert after["src"] != before["src"], f"{what}: the picture did not change"
                        assert after["summary"] != before["summary"], f"{what}: the summary did not change"
                        assert after["alt"] == after["summary"]
                        if kind == "range":
                            assert control.get_attribute("aria-valuetext") != valuetext
                            output = box.query_selector(f"output[for='{control.get_attribute('id')}']")
                            assert output.text_content() == control.get_attribute("aria-valuetext")
                        tab.keyboard.press(back)
                        assert box.evaluate(STATE) == {**before, "src": box.evaluate(STATE)["src"]}
                        checked.append(what)
                    frame = box.evaluate(STATE)
                    assert frame["src"] != kernel["src"], f"{name}: no control was moved"
                    assert frame["summary"] == kernel["summary"], f"{name}: the page and the kernel disagree"
                    assert np.array_equal(_pixels(frame["src"]), _pixels(
                        "x," + base64.b64encode(encode(base64.b64decode(kernel["src"].split(",", 1)[1]))).decode())
                    ), f"{name}: the pre-rendered picture at the starting setting is not the kernel's"
        finally:
            browser.close()
    assert requested == [] and errors == []
    assert len(checked) >= sum(code_cells(lesson, WIDGET_CELL) for lesson in LESSONS)


# The frame walker on its own (course_utils/widgets/frames.py).

def test_stops_cover_every_kind_of_control_and_refuse_a_button():
    log = log_slider(0.01, 1e-4, 1.0)
    kind, pairs = frames_module.stops(log)
    assert kind == "range" and len(pairs) == 41 and pairs[0][1] == pytest.approx(1e-4) and pairs[-1][1] == 1.0
    assert [label for label, _ in pairs[19:22]] == ["0.00794", "0.01", "0.0126"]
    kind, pairs = frames_module.stops(widgets.FloatSlider(value=0.08, min=0.05, max=0.99, step=0.01))
    assert len(pairs) == 95 and pairs[3] == ("0.08", 0.08)  # 0.05 + 3 * 0.01 without float noise
    assert frames_module.stops(widgets.SelectionSlider(options=[("a", 1.5), ("b", 2.5)]))[1] == [("a", 1.5), ("b", 2.5)]
    assert frames_module.stops(widgets.ToggleButtons(options=["x", "y"])) == ("select", [("x", "x"), ("y", "y")])
    assert frames_module.stops(widgets.Checkbox()) == ("checkbox", [("off", False), ("on", True)])
    with pytest.raises(TypeError, match="control: got a Button, expected a slider"):
        frames_module.stops(widgets.Button())


@pytest.mark.parametrize("factory", [losses.outlier_explorer, race.race_explorer, schedules.schedule_explorer],
                         ids=lambda f: f.__name__)
def test_plan_keeps_every_stop_of_the_main_slider_within_the_frame_budget(factory):
    demo = factory()
    controls = frames_module.plan(demo)
    main = controls[0]
    assert main.kind == "range" and len(main.values) == main.all_stops
    assert main.values[main.start] == demo.controls[main.name].value
    frames = int(np.prod([len(c.values) for c in controls]))
    assert frames <= frames_module.MAX_FRAMES
    # Nothing is left out that would still have fitted: each control kept at one value would overflow.
    for control in controls[1:]:
        if len(control.values) == 1:
            assert frames * (2 if control.kind == "checkbox" else 3) > frames_module.MAX_FRAMES
        assert control.values[control.start] == demo.controls[control.name].value
    if factory is schedules.schedule_explorer:  # options before sliders: every schedule, each at one setting
        assert [c.name for c in controls if len(c.values) > 1] == ["learning_rate", "schedule"]


def test_render_frames_are_what_setting_the_controls_by_hand_shows():
    demo = losses.outlier_explorer(outlier=14.0)
    controls = frames_module.plan(demo, max_frames=20)
    assert [(c.name, len(c.values)) for c in controls] == [("outlier", 61), ("delta", 1)]
    walked = frames_module.render_frames(demo, controls)
    assert len(walked) == 61 and len({frame.png for frame in walked}) == 61
    assert demo.values() == {"outlier": 14.0, "delta": 1.0}  # put back
    for index in (0, 17, 60):
        demo.controls["outlier"].value = controls[0].values[index]
        assert (demo.live.png, demo.summary()) == tuple(walked[index])


def test_the_first_control_varies_fastest():
    demo = race.race_explorer()
    controls = frames_module.plan(demo)
    assert [c.name for c in controls][:2] == ["learning_rate", "surface"] and len(controls[1].values) == 3
    strides = np.cumprod([1] + [len(c.values) for c in controls[:-1]])
    wanted = {c.name: c.start for c in controls} | {"learning_rate": 5, "surface": 2}
    k = sum(int(stride) * wanted[c.name] for stride, c in zip(strides, controls))
    walked = frames_module.render_frames(demo, controls)
    for control in controls:
        demo.controls[control.name].value = control.values[wanted[control.name]]
    assert tuple(walked[k]) == (demo.live.png, demo.summary())


def test_the_live_training_curve_replays_its_run_epoch_by_epoch():
    curve = training.live_training_curve(epochs=3)
    assert frames_module.plan(curve) == []  # nothing recorded yet: nothing to replay
    curve.feed({"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6]})
    data = frames_module.explorer_frames(curve)
    assert [c["labels"] for c in data["controls"]] == [["1", "2", "3"]] and data["controls"][0]["start"] == 2
    assert [summary.split(":")[0] for _, summary in data["frames"]] == [
        "after epoch 1 of 3", "after epoch 2 of 3", "after epoch 3 of 3"]
    assert data["frames"][-1] == (curve.live.png, curve.summary())  # the recorded end state, put back
    assert curve.lines["loss"].get_ydata().tolist() == [0.9, 0.5, 0.3]


# Binder: runtime.txt, postBuild and the "launch on Binder" links (README and the site's index).
REPO2DOCKER = ROOT / ".venv-repo2docker" / "bin" / "repo2docker"  # pinned in tools/repo2docker-requirements.txt


def test_readme_and_index_launch_binder_on_the_one_repository_url(site):
    render = render_module()
    url = render.binder_url(render.repository_url())
    assert url.startswith("https://mybinder.org/v2/gh/") and url.endswith("/HEAD?urlpath=lab/tree/notebooks")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"[![launch on Binder](https://mybinder.org/badge_logo.svg)]({url})" in readme.split("\n## ")[0]
    index = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert index.select_one("a.course-binder")["href"] == url and "Binder" in index.select_one("a.course-binder").text
    assert not index.find_all(["img", "script"])  # a text link: the index loads nothing from the network
    for wrong in ("https://gitlab.com/ana/course", "https://github.com/ana", "http://github.com/ana/course"):
        with pytest.raises(render.BuildError, match=r"Repository in pyproject.toml: got .*expected https://github"):
            render.binder_url(wrong)


def test_postbuild_installs_course_utils_a_quiet_kernel_and_the_lab_settings(tmp_path):
    """postBuild run for real against a stand-in ``python`` that records its calls (what it installs is
    requirements.txt's business, checked in the build plan below)."""
    assert (ROOT / "runtime.txt").read_text().strip() == "python-3.11"
    assert os.access(ROOT / "postBuild", os.X_OK)
    prefix, stubs, calls = tmp_path / "env", tmp_path / "bin", tmp_path / "calls"
    stubs.mkdir()
    (stubs / "python").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n'
                                  f'case "$*" in *sys.prefix*) echo {prefix};; esac\n')
    (stubs / "python").chmod(0o755)
    subprocess.run(["bash", str(ROOT / "postBuild")], cwd=ROOT, check=True, timeout=60,
                   env=dict(os.environ, PATH=f"{stubs}:{os.environ['PATH']}"))
    made = calls.read_text().splitlines()
    assert "-m pip install --no-deps -e ." in made
    kernel = next(call for call in made if call.startswith("-m ipykernel install --sys-prefix"))
    for name, value in [("TF_CPP_MIN_LOG_LEVEL", "3"), ("TF_ENABLE_ONEDNN_OPTS", "0"), ("PYTHONUTF8", "1")]:
        assert f"--env {name} {value}" in kernel
    settings = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert settings.read_text() == (ROOT / "tools" / "jupyterlab-overrides.json").read_text()


def test_repo2docker_plan_installs_the_pins_then_runs_postbuild():
    """repo2docker's own build plan for this repository (no container is built): Python 3.11 from runtime.txt,
    ``pip install -r requirements.txt`` into the notebook environment, then postBuild."""
    if not REPO2DOCKER.exists():
        reason = f"the Binder check needs {REPO2DOCKER} (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": with CI=true it must run, not skip")
        pytest.skip(reason)
    result = subprocess.run([str(REPO2DOCKER), "--no-build", "--debug", str(ROOT)], capture_output=True, text=True,
                            timeout=300)
    plan = result.stdout + result.stderr
    assert result.returncode == 0, plan
    assert "Building conda environment for python=3.11" in plan
    lines = [line.strip() for line in plan.splitlines()]
    assert "COPY --chown=0:0 src/requirements.txt ${REPO_DIR}/requirements.txt" in lines
    pins = lines.index('RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "requirements.txt"')
    assert lines.index("RUN ./postBuild") > pins


def test_a_page_over_budget_keeps_a_control_at_its_start_and_drops_only_its_other_frames():
    """fix_control and trim_largest (used when a page would exceed 8 MB) on a made-up explorer: 3 x 2 x 2 stops."""
    import concurrent.futures

    render = render_module()

    def control(name, count, start):
        return dict(name=name, label=name, kind="range", labels=[f"{name}{i}" for i in range(count)], start=start,
                    all_stops=count)

    controls = [control("a", 3, 1), control("b", 2, 1), control("c", 2, 0)]
    settings = [(a, b, c) for c in range(2) for b in range(2) for a in range(3)]  # the first control fastest
    summaries = [f"a{a} b{b} c{c}" for a, b, c in settings]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        images = [pool.submit(bytes, [k] * (10 + k)) for k in range(12)]
    explorer = dict(model_id="m", controls=controls, fixed=[], buttons=[],
                    frames=[(k, summary) for k, summary in enumerate(summaries)], images=images)
    kept = render.fix_control(explorer, 1)
    assert [c["name"] for c in kept["controls"]] == ["a", "c"] and kept["fixed"][0]["labels"] == ["b1"]
    assert [summary for _, summary in kept["frames"]] == ["a0 b1 c0", "a1 b1 c0", "a2 b1 c0",
                                                           "a0 b1 c1", "a1 b1 c1", "a2 b1 c1"]
    assert [kept["images"][picture].result()[0] for picture, _ in kept["frames"]] == [3, 4, 5, 9, 10, 11]
    explorers = {"m": explorer}
    assert render.trim_largest(explorers) == "b"  # the fewest stops after the main control (b before c: first)
    assert render.trim_largest(explorers) == "c"
    assert render.trim_largest(explorers) is None  # the main control keeps every stop
    assert [summary for _, summary in explorers["m"]["frames"]] == ["a0 b1 c0", "a1 b1 c0", "a2 b1 c0"]
    assert "all 3 stops" in render.explorer_note(explorers["m"], "x.ipynb")
    assert "Kept at their starting values here: b b1, c c0." in render.explorer_note(explorers["m"], "x.ipynb")


def test_a_header_that_is_only_a_formula_gets_its_text_for_screen_readers():
    render = render_module()
    soup = BeautifulSoup('<table><tr><th><math><mi>η</mi><mi>λ</mi></math></th><th>the <math><mi>x</mi></math></th>'
                         '</tr></table>', "html.parser")
    render.name_formula_headers(soup)
    only, mixed = soup.find_all("th")
    assert only.select_one(".course-visually-hidden").text == "η λ" and only.math["aria-hidden"] == "true"
    assert not mixed.select(".course-visually-hidden") and not mixed.math.get("aria-hidden")
    assert ".course-visually-hidden" in render.SITE_CSS
