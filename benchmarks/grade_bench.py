"""Time the grader on 30 submissions of assignment 01 (a benchmark, not a test: it never fails).

Prints the seconds per submission with 2 workers, and the ratio of the whole graded batch to running
the same 30 notebooks one by one with nbclient without grading (target: both cores used, overhead < 30%,
i.e. a ratio below 1.3 / 2 cores when the two workers really run side by side).

Usage: ``python benchmarks/grade_bench.py [--count 30] [--workers 2]``
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from course_utils.grade import Limits, grade_batch  # noqa: E402

SOLUTION = ROOT / "solutions" / "01_loss_as_error.ipynb"
WRONG = {  # small variations, some wrong
    "mse": "def mse(y_true, y_pred):\n    return np.sum((y_true - y_pred) ** 2, axis=-1)\n",
    "mae": "def mae(y_true, y_pred):\n    return np.abs(np.mean(y_true - y_pred, axis=-1))\n",
    "huber": "def huber(y_true, y_pred, delta=1.0):\n    return np.mean(0.5 * (y_true - y_pred) ** 2, axis=-1)\n",
}


def make_submissions(folder: Path, count: int) -> None:
    for i in range(count):
        nb = nbformat.read(SOLUTION, as_version=4)
        wrong = list(WRONG)[i % 4] if i % 4 < 3 else None
        for cell in nb.cells:
            if cell.id == wrong:
                cell.source = WRONG[wrong]
            elif cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source += f"\n# student {i}\n"
        nbformat.write(nb, folder / f"student{i:02d}.ipynb")


def run_plain(folder: Path) -> float:
    """The same notebooks, one by one, with nbclient (check cells included), no grading."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "subs", Path(tmp) / "out"
        subs.mkdir()
        make_submissions(subs, args.count)
        start_cpu = os.times()
        start = time.perf_counter()
        rows = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=args.workers,
                           limits=Limits(), log=io.StringIO())
        graded = time.perf_counter() - start
        cpu = os.times()
        children = (cpu.children_user + cpu.children_system) - (start_cpu.children_user + start_cpu.children_system)
        plain = run_plain(subs)
    mean = sum(r["score"] for r in rows.values()) / len(rows)
    print(f"graded {len(rows)} submissions with {args.workers} workers in {graded:.1f} s "
          f"({graded / len(rows):.2f} s per submission), mean total {mean:.2f} / 9")
    print(f"CPU used by workers and kernels: {children:.1f} s = {children / graded:.2f} cores busy on average")
    print(f"nbclient one by one, no grading: {plain:.1f} s ({plain / len(rows):.2f} s per notebook)")
    print(f"ratio graded batch / plain serial run: {graded / plain:.2f} "
          f"(ideal with {args.workers} workers and no overhead: {1 / args.workers:.2f}; "
          f"overhead vs ideal: {100 * (graded * args.workers / plain - 1):+.0f}%)")


if __name__ == "__main__":
    main()
