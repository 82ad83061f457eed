"""Print how long the course keeps a learner waiting (a benchmark, not a test: it never fails).

1. Each lesson's execution time next to a bare kernel that only imports TensorFlow
   (target: every lesson within 15 s of the bare kernel).
2. Each widget's update time, compute + redraw + PNG, median and 95th percentile over a sweep
   of its main control (target: median < 30 ms, p95 < 60 ms).
3. In the browser, key press to redrawn plot per slider, as recorded by the end-to-end tests in
   ``artifacts/latency.json`` (target: median < 150 ms).

Usage: ``python benchmarks/run.py [--lessons] [--widgets] [--repeat N]`` (both by default).
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
    from course_utils.widgets import descent, losses, race, schedules, training

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", action="store_true")
    parser.add_argument("--widgets", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (the fastest is shown)")
    parser.add_argument("--sweep", type=int, default=30, help="slider positions per widget")
    args = parser.parse_args()
    both = not (args.lessons or args.widgets)
    if args.widgets or both:
        bench_widgets(args.sweep)
        report_browser_latency()
    if args.lessons or both:
        print()
        bench_lessons(args.repeat)


if __name__ == "__main__":
    main()
