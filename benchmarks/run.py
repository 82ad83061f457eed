"""Print how long the course keeps a learner waiting (a benchmark, not a test: it never fails).

1. Each lesson's execution time next to a bare kernel that only imports TensorFlow
   (target: every lesson within 15 s of the bare kernel).
2. Each widget's update time, compute + redraw + PNG, median and 95th percentile over a sweep
   of its main control (target: median < 30 ms, p95 < 60 ms).
3. In the browser, key press to redrawn plot per slider, as recorded by the end-to-end tests in
   ``artifacts/latency.json`` (target: median < 150 ms).
4. The rendered course (``make site``, ``build/site``) in headless Chromium from file://: key press to the new
   pre-rendered picture decoded and painted, for every control of every explorer (target: every move < 50 ms).

Usage: ``python benchmarks/run.py [--lessons] [--widgets] [--repeat N] [--site DIR]`` (both by default; the
site's latencies are printed with the widgets' when ``DIR``, by default ``build/site``, holds a built site).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def time_notebook(nb) -> float:
    from nbclient import NotebookClient

    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
                   ).execute()
    return time.perf_counter() - start


def bench_lessons(repeat: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    bare = new_notebook(cells=[new_code_cell("import course_utils\nimport tensorflow as tf\ntf.constant(1.0)")])
    baseline = min(time_notebook(bare) for _ in range(repeat))
    print(f"{'lesson':32s} {'seconds':>8s} {'bare kernel':>12s} {'difference':>11s}  target: difference < 15 s")
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        seconds = min(time_notebook(nbformat.read(path, as_version=4)) for _ in range(repeat))
        flag = "ok" if seconds - baseline < 15 else "SLOW"
        print(f"{path.stem:32s} {seconds:8.1f} {baseline:12.1f} {seconds - baseline:11.1f}  {flag}")


def widget_cases():
    """(label, factory, control name, values to sweep) for every explorer in the lessons."""
    from course_utils.widgets import descent, losses, momentum, noise, race, schedules, training

    grid = np.linspace
    return [
        ("01 outlier_explorer: outlier", losses.outlier_explorer, "outlier", grid(-6, 24, 30)),
        ("01 robust_fit_explorer: outlier", losses.robust_fit_explorer, "outlier", grid(-6, 24, 30)),
        ("01 asymmetric_loss_explorer: over_weight", losses.asymmetric_loss_explorer, "over_weight",
         np.geomspace(0.1, 10, 30)),
        ("02 binary_ce_explorer: probability", losses.binary_ce_explorer, "probability", grid(0.01, 0.99, 30)),
        ("02 logit_stability_explorer: logit", losses.logit_stability_explorer, "logit", losses.LOGIT_STOPS),
        ("03 parabola_explorer: learning_rate", descent.parabola_explorer, "learning_rate",
         descent.log_grid(1e-3, 2.0)),
        ("03 descent_explorer: learning_rate", descent.descent_explorer, "learning_rate", descent.log_grid(1e-4, 1.0)),
        ("03 minibatch_explorer: batch_size", noise.minibatch_explorer, "batch_size", noise.BATCH_SIZES),
        ("04 momentum_explorer: momentum", momentum.momentum_explorer, "momentum", grid(0.0, 0.99, 30)),
        ("04 race_explorer: learning_rate", race.race_explorer, "learning_rate", descent.log_grid(1e-4, 1.0)),
        ("05 schedule_explorer: learning_rate", schedules.schedule_explorer, "learning_rate",
         descent.log_grid(1e-4, 1.0)),
        ("06 epochs_batches_explorer: batch_size", training.epochs_batches_explorer, "batch_size",
         [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]),
    ]


def bench_widgets(sweep: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    cases = widget_cases()
    print(f"\n{'widget update':48s} {'median ms':>10s} {'p95 ms':>8s}  target: median < 30, p95 < 60")
    for label, factory, control, values in cases:
        demo = factory()
        slider = demo.controls[control]
        values = list(values)[:sweep]
        times = []
        for value in values * 2:  # two passes: the second sees warm caches, as a learner dragging back and forth
            start = time.perf_counter()
            slider.value = value
            times.append(time.perf_counter() - start)
        median, p95 = statistics.median(times) * 1e3, percentile(times, 95) * 1e3
        flag = "ok" if median < 30 and p95 < 60 else "SLOW"
        print(f"{label:48s} {median:10.1f} {p95:8.1f}  {flag}")


def report_browser_latency() -> None:
    """Print the in-browser slider latencies recorded by tests/test_browser.py (run it first)."""
    record = ROOT / "artifacts" / "latency.json"
    print(f"\n{'in-browser: key press to redrawn plot':48s} {'median ms':>10s} {'p95 ms':>8s}  target: median < 150")
    if not record.exists():
        print("  (no record: run `pytest -m e2e tests/test_browser.py` first)")
        return
    for lesson, sliders in json.loads(record.read_text()).items():
        for slider, times in sliders.items():
            if times:
                median, p95 = statistics.median(times), percentile(times, 95)
                flag = "ok" if median < 150 else "SLOW"
                print(f"{lesson + ' ' + slider:48s} {median:10.1f} {p95:8.1f}  {flag}  ({len(times)} moves)")


# In the page: key press (a capturing listener notes the time) to the new picture decoded and on screen (the next
# animation frame after the explorer's own input handler swapped it in), so the driver's round trips do not count.
_SITE_CLOCK = """() => {
  window.courseTimes = [];
  document.addEventListener('keydown', () => { window.courseKeyDown = performance.now(); }, true);
  document.addEventListener('input', (event) => {
    const box = event.target.closest('.course-explorer');
    const start = window.courseKeyDown;
    box.querySelector('.course-explorer-picture img').decode().then(() => requestAnimationFrame(
      () => window.courseTimes.push(performance.now() - start)));
  });
}"""


_AT_END = ("c => c.type === 'range' ? c.value === c.max : c.type === 'checkbox' ? false : "
           "c.selectedIndex === c.options.length - 1")
_AT_START = "c => c.type === 'range' ? c.value === c.min : c.type === 'checkbox' ? false : c.selectedIndex === 0"


def bench_site(site: Path, moves: int = 10) -> None:
    """Move every control of every explorer in the rendered course ``moves`` stops with the keyboard (back and
    forth), timing each key press to the new picture on screen."""
    print(f"\n{'rendered course (file://): key press to new picture':54s} {'median ms':>9s} {'p95 ms':>7s} "
          f"{'max ms':>7s}  target: every move < 50")
    pages = sorted(site.glob("[0-9][0-9]_*.html"))
    if not pages:
        print(f"  (no rendered course in {site}: run `make site` first)")
        return
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_context(offline=True, viewport={"width": 1280, "height": 900}).new_page()
            for page in pages:
                tab.goto(page.as_uri())
                tab.evaluate(_SITE_CLOCK)
                for box in tab.query_selector_all(".course-explorer"):
                    times = []
                    for control in box.query_selector_all("[data-stride]"):
                        keys = {"range": ("ArrowRight", "ArrowLeft"), "checkbox": ("Space", "Space")}.get(
                            control.evaluate("c => c.type"), ("ArrowDown", "ArrowUp"))
                        control.focus()
                        forward = True
                        for _ in range(moves):  # to one end, then back: every move shows a new frame
                            if control.evaluate(_AT_END if forward else _AT_START):
                                forward = not forward
                            count = tab.evaluate("() => window.courseTimes.length")
                            tab.keyboard.press(keys[0] if forward else keys[1])
                            tab.wait_for_function("n => window.courseTimes.length > n", arg=count)
                            times.append(tab.evaluate("n => window.courseTimes[n]", count))
                    median, p95, worst = statistics.median(times), percentile(times, 95), max(times)
                    flag = "ok" if worst < 50 else "SLOW"
                    label = f"{page.stem[:2]} {box.get_attribute('id')} ({box.get_attribute('data-frames')} frames)"
                    print(f"{label:54s} {median:9.1f} {p95:7.1f} {worst:7.1f}  {flag}  ({len(times)} moves)")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", action="store_true")
    parser.add_argument("--widgets", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (the fastest is shown)")
    parser.add_argument("--sweep", type=int, default=30, help="slider positions per widget")
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "site", help="the rendered course to time")
    args = parser.parse_args()
    both = not (args.lessons or args.widgets)
    if args.widgets or both:
        bench_widgets(args.sweep)
        report_browser_latency()
        bench_site(args.site)
    if args.lessons or both:
        print()
        bench_lessons(args.repeat)


if __name__ == "__main__":
    main()
