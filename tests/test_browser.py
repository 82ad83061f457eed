"""The course in a real browser: JupyterLab in headless Chromium, driven by Playwright.

For every lesson: open it, run all cells, wait for the kernel, and check that no cell shows an
error and the browser console has none; then move each learning-rate slider with the keyboard
and check the plot changed, the readout shows the new value, and the widget still has exactly
one figure. Then every explorer is worked from the keyboard alone, as a screen-reader user would: Tab
reaches each control in order and Chromium's accessibility tree gives each a name; the arrow keys, Home and
End move each slider, it announces the value it shows, and the summary (a live region) follows. One exercise
is filled in through the browser and its check must pass. Screenshots go to ``artifacts/screenshots/``;
slider latencies to ``artifacts/latency.json``, the keyboard run's times to ``artifacts/keyboard.json``.

Without Chromium these tests skip, except with ``CI=true``, where they fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LATENCY_MOVES = 20

pytestmark = pytest.mark.e2e


def _require_browser():
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package")
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": with CI=true they must run, not skip")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a free port and a random token, serving a copy of the course."""
    _require_browser()
    root = tmp_path_factory.mktemp("course")
    for folder in ("notebooks", "exercises"):
        shutil.copytree(ROOT / folder, root / folder)  # JupyterLab rewrites what it opens: work on copies
    settings = root / ".settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), TF_CPP_MIN_LOG_LEVEL="3",
               TF_ENABLE_ONEDNN_OPTS="0")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--allow-root", "--LabApp.expose_app_in_browser=True",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                request = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("JupyterLab did not start within 60 s")
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return context, page


@pytest.fixture
def page(browser):
    context, page = _new_page(browser)
    yield page
    context.close()


@pytest.fixture(scope="module", params=LESSONS, ids=lambda p: p.stem)
def lesson(request, browser, lab):
    """One lesson opened and run top to bottom once, shared by the tests that look at it (pytest groups them)."""
    context, page = _new_page(browser)
    path = request.param
    start = time.perf_counter()
    open_notebook(page, lab, f"notebooks/{path.name}")
    run_all(page)
    page.run_seconds = time.perf_counter() - start
    yield path, page
    context.close()


KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

ALL_CELLS_DONE = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.every(c => c.model.type !== 'code' || (c.model.executionCount !== null
                                && !c.node.querySelector('.jp-InputArea-prompt').textContent.includes('*')));
}"""


def open_notebook(page, lab, relative: str):
    page.goto(f"{lab['base']}/lab/tree/{relative}?reset&token={lab['token']}")
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)


def run_all(page, timeout_ms=300_000):
    # Not returning the promise: awaiting it from page.evaluate can hang.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(ALL_CELLS_DONE, timeout=timeout_ms, polling=500)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout_ms)


def error_outputs(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], .jp-OutputArea-output.jp-mod-error",
        "nodes => nodes.map(n => n.textContent.slice(0, 300))",
    )


def sliders_to_move(page) -> list[int]:
    """Indices (among all slider handles) of the learning-rate sliders, or the first slider if there are none."""
    labels = page.eval_on_selector_all(
        ".widget-slider", "nodes => nodes.map(n => (n.querySelector('.widget-label') || {}).textContent || '')"
    )
    chosen = [i for i, text in enumerate(labels) if "rate" in text.lower()]
    return chosen or ([0] if labels else [])


MOVE_AND_MEASURE = """async ([index, key]) => {
  const slider = document.querySelectorAll('.widget-slider')[index];
  const box = slider.closest('.widget-vbox');
  const images = box.querySelectorAll('img');
  const img = images[0];
  const handle = slider.querySelector(".noUi-handle[role='slider']");
  const before = {src: img.src, readout: slider.querySelector('.widget-readout').textContent,
                  value: handle.getAttribute('aria-valuenow')};
  const changed = new Promise(resolve => {
    const observer = new MutationObserver(() => { observer.disconnect(); resolve(); });
    observer.observe(img, {attributes: true, attributeFilter: ['src']});
  });
  handle.focus();
  const start = performance.now();
  handle.dispatchEvent(new KeyboardEvent('keydown', {key, code: key, bubbles: true}));
  const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), 15000));
  const outcome = await Promise.race([changed, timeout]);
  if (outcome !== 'timeout') { await img.decode().catch(() => null); }
  await new Promise(resolve => requestAnimationFrame(() => resolve()));
  return {ms: performance.now() - start, timedOut: outcome === 'timeout', images: images.length,
          before, after: {src: img.src, readout: slider.querySelector('.widget-readout').textContent,
                          value: handle.getAttribute('aria-valuenow')}};
}"""


def shot(page, name: str):
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def test_lesson_in_the_browser(lesson):
    path, page = lesson
    assert error_outputs(page) == []
    assert page.console_errors == []
    indices = sliders_to_move(page)
    assert indices, "every lesson has at least one slider"
    latencies = {}
    for index in indices:
        page.eval_on_selector_all(".widget-slider", f"n => n[{index}].scrollIntoView({{block: 'center'}})")
        shot(page, f"{path.stem}-slider{index}-before")
        moved = page.evaluate(MOVE_AND_MEASURE, [index, "ArrowRight"])
        if moved["before"]["value"] == moved["after"]["value"]:  # already at the right end
            moved = page.evaluate(MOVE_AND_MEASURE, [index, "ArrowLeft"])
        shot(page, f"{path.stem}-slider{index}-after")
        assert not moved["timedOut"], "the plot did not change after the slider moved"
        assert moved["after"]["src"] != moved["before"]["src"]
        assert moved["after"]["readout"] != moved["before"]["readout"], "the readout did not show the new value"
        assert moved["images"] == 1, "the widget must hold exactly one figure"
        times = []
        for i in range(LATENCY_MOVES):
            key = "ArrowLeft" if i % 2 else "ArrowRight"
            step = page.evaluate(MOVE_AND_MEASURE, [index, key])
            if not step["timedOut"]:
                times.append(step["ms"])
        latencies[f"slider {index}"] = times
        assert page.eval_on_selector_all(".widget-slider", f"n => n[{index}].closest('.widget-vbox')"
                                         ".querySelectorAll('img').length") == 1
    assert error_outputs(page) == [] and page.console_errors == []
    record = ARTIFACTS / "latency.json"
    ARTIFACTS.mkdir(exist_ok=True)
    data = json.loads(record.read_text()) if record.exists() else {}
    data[path.stem] = latencies
    record.write_text(json.dumps(data, indent=1))


def test_an_exercise_filled_in_the_browser_passes_its_check(page, lab):
    solutions = nbformat.read(ROOT / "solutions" / "01_loss_as_error.ipynb", as_version=4)
    answer = next(c.source for c in solutions.cells if c.get("id") == "mse")
    open_notebook(page, lab, "exercises/01_loss_as_error.ipynb")
    index = page.evaluate(
        """([answer]) => {
             const nb = window.jupyterapp.shell.currentWidget.content;
             const i = nb.widgets.findIndex(c => c.model.id === 'mse');
             nb.widgets[i].model.sharedModel.setSource(answer);
             return i;
           }""",
        [answer],
    )
    for cell in ("setup", "mse", "mse-check"):
        page.evaluate(
            """([id]) => {
                 const nb = window.jupyterapp.shell.currentWidget.content;
                 nb.activeCellIndex = nb.widgets.findIndex(c => c.model.id === id);
                 window.jupyterapp.commands.execute('notebook:run-cell');
               }""",
            [cell],
        )
        page.wait_for_function(
            """([id]) => {
                 const cell = window.jupyterapp.shell.currentWidget.content.widgets.find(c => c.model.id === id);
                 return cell.model.executionCount !== null
                        && !cell.node.querySelector('.jp-InputArea-prompt').textContent.includes('*');
               }""",
            arg=[cell], timeout=120_000,
        )
    check = page.locator(".jp-Cell").nth(index + 1)
    check.locator("text=✓ mse passed").wait_for(timeout=60_000)
    shot(page, "exercise-01-mse-passed")
    assert page.console_errors == []


# --- Keyboard and screen readers -------------------------------------------------------------------------
# An explorer is a Demo: a box holding its controls, its figure and a summary in a live region (role="status").

EXPLORER_CONTROLS = """([index, mark]) => {
  const box = [...document.querySelectorAll('.widget-vbox')].filter(
    b => b.querySelector(':scope > .widget-html [role="status"]'))[index];
  box.scrollIntoView({block: 'center'});
  // every part of every control a learner works: slider handles and their editable readouts, drop-downs,
  // checkboxes, toggle and plain buttons, in document order ...
  const controls = [...box.querySelectorAll(
    '.noUi-handle[role="slider"], .widget-readout[contenteditable="true"], .widget-dropdown select,'
    + ' .widget-checkbox input, .widget-toggle-buttons button, button.widget-button')]
    .filter(n => !n.disabled && n.offsetParent !== null);  // a greyed-out button or a hidden control is no stop
  // ... and whatever else the browser would stop at with Tab: the two lists must be the same
  const tabbable = [...box.querySelectorAll(
    '[tabindex]:not([tabindex="-1"]), a[href], button, input, select, textarea, [contenteditable="true"]')]
    .filter(n => !n.disabled && n.offsetParent !== null);
  if (controls.length !== tabbable.length || controls.some((n, i) => n !== tabbable[i])) { return null; }
  controls.forEach((n, i) => n.setAttribute(mark, String(i)));
  box.tabIndex = -1;  // the starting point: focus sits on the explorer's box, just before its first control
  box.focus();
  return controls.map(n => {
    const slider = n.closest('.widget-slider');
    return {tag: n.tagName.toLowerCase(), slider: n.getAttribute('role') === 'slider',
            toggle: !!n.closest('.widget-toggle-buttons'),
            description: slider ? slider.querySelector(':scope > .widget-label').textContent.trim() : null};
  });
}"""

COUNT_EXPLORERS = """() => [...document.querySelectorAll('.widget-vbox')].filter(
  b => b.querySelector(':scope > .widget-html [role="status"]')).length"""

FOCUSED_STATE = """([mark]) => {
  const node = document.activeElement;
  const box = node.closest('.widget-vbox:has(> .widget-html [role="status"])');
  const slider = node.closest('.widget-slider');
  // the handle's own position, exactly (aria-valuenow is rounded to one decimal)
  const ui = slider && slider.querySelector('.slider').noUiSlider;
  return {
    mark: node.getAttribute(mark),
    summary: box ? box.querySelector('[role="status"]').textContent.trim() : null,
    readout: slider ? slider.querySelector('.widget-readout').textContent.trim() : null,
    now: ui ? Number(ui.get(true)) : null, min: ui ? ui.options.range.min : null,
    max: ui ? ui.options.range.max : null, disabled: node.getAttribute('aria-disabled') === 'true',
  };
}"""


def focused_accessible(cdp) -> dict:
    """Role, name and value of the focused element as Chromium's accessibility tree gives them to a screen reader."""
    handle = cdp.send("Runtime.evaluate", {"expression": "document.activeElement"})["result"]["objectId"]
    try:
        node = cdp.send("Accessibility.getPartialAXTree", {"objectId": handle, "fetchRelatives": False})["nodes"][0]
    finally:
        cdp.send("Runtime.releaseObject", {"objectId": handle})
    spoken = {key: str((node.get(key) or {}).get("value", "")) for key in ("role", "name", "value")}
    properties = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
    spoken["pressed"] = properties.get("pressed")
    if properties.get("valuetext"):  # what screen readers say for a slider instead of its number
        # This Chromium's DevTools protocol hands the valuetext over as UTF-8 bytes read as Latin-1 ("−" arrives
        # as "â\x88\x92"; the name is fine): undo that, and leave text that is not such a mix-up as it is.
        try:
            spoken["value"] = properties["valuetext"].encode("latin-1").decode("utf-8")
        except UnicodeError:
            spoken["value"] = properties["valuetext"]
    return spoken


def press_and_wait(page, key: str, mark: str, before: dict) -> dict:
    """Press ``key`` on the focused slider; once its value moved, wait for the kernel's new summary."""
    page.keyboard.press(key)
    after = page.evaluate(FOCUSED_STATE, [mark])
    if after["now"] != before["now"]:
        page.wait_for_function(
            """([mark, summary]) => {
                 const box = document.activeElement.closest('.widget-vbox:has(> .widget-html [role="status"])');
                 return box.querySelector('[role="status"]').textContent.trim() !== summary;
               }""",
            arg=[mark, before["summary"]], timeout=60_000, polling=100,
        )
        after = page.evaluate(FOCUSED_STATE, [mark])
    return after


def test_explorers_work_from_the_keyboard(lesson):
    """Tab reaches every control of every explorer in order, each with a name a screen reader reads out; the
    arrow keys, Home and End move every slider, its announced value is the value shown, and the summary follows."""
    path, page = lesson
    cdp = page.context.new_cdp_session(page)
    mark = "data-keyboard-test"
    start = time.perf_counter()
    count, tested = page.evaluate(COUNT_EXPLORERS), 0
    for index in range(count):
        controls = page.evaluate(EXPLORER_CONTROLS, [index, mark])
        where = f"{path.stem}, explorer {index + 1}"
        assert controls is not None, f"{where}: what Tab stops at is not the list of its controls"
        if not controls:  # a live display without controls (06's training curve)
            continue
        tested += 1
        for position, control in enumerate(controls):
            page.keyboard.press("Tab")
            state = page.evaluate(FOCUSED_STATE, [mark])
            assert state["mark"] == str(position), f"{where}: Tab stop {position + 1} is not the next control"
            spoken = focused_accessible(cdp)
            assert spoken["name"].strip(), f"{where}: a {spoken['role'] or control['tag']} without a name"
            if control["toggle"]:  # one of a set of toggle buttons: a screen reader must tell which is chosen
                assert spoken["pressed"] in ("true", "false", True, False), f"{where}: toggle {spoken['name']!r}"
            if not control["slider"]:
                continue
            name = f"{where}, slider {control['description']!r}"
            assert spoken["role"] == "slider" and spoken["name"] == control["description"], name
            assert spoken["value"] == state["readout"], f"{name}: announces {spoken['value']!r}, shows {state['readout']!r}"
            if state["disabled"]:  # e.g. a schedule's parameter the chosen schedule does not use
                continue
            moved = press_and_wait(page, "ArrowRight", mark, state)
            if moved["now"] == state["now"]:  # already at the right end
                moved = press_and_wait(page, "ArrowLeft", mark, state)
            assert moved["now"] != state["now"], f"{name}: the arrow keys do not move it"
            assert moved["summary"] != state["summary"], f"{name}: the summary did not follow the slider"
            assert focused_accessible(cdp)["value"] == moved["readout"] != state["readout"], name
            at_end = press_and_wait(page, "End", mark, moved)
            assert at_end["now"] == at_end["max"], f"{name}: End does not go to the maximum"
            at_home = press_and_wait(page, "Home", mark, at_end)
            assert at_home["now"] == at_home["min"], f"{name}: Home does not go to the minimum"
            assert at_home["summary"] != at_end["summary"], f"{name}: the summary is the same at both ends"
            assert focused_accessible(cdp)["value"] == at_home["readout"], name
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUSED_STATE, [mark])["mark"] is None, f"{where}: Tab does not leave the explorer"
    assert tested, f"{path.stem} shows no explorer with controls"
    assert error_outputs(page) == [] and page.console_errors == []
    record = ARTIFACTS / "keyboard.json"
    ARTIFACTS.mkdir(exist_ok=True)
    data = json.loads(record.read_text()) if record.exists() else {}
    data[path.stem] = {"explorers": tested, "run_all_seconds": round(page.run_seconds, 1),
                       "keyboard_seconds": round(time.perf_counter() - start, 1)}
    record.write_text(json.dumps(data, indent=1))
