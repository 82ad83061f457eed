"""Time the grader on 30 submissions of assignment 01 (a benchmark, not a test: it never fails).

Prints the seconds per submission with 2 workers with and without the bubblewrap sandbox (rounds
alternate, the best of each is kept; target: the sandbox costs under 10%), and the ratio of the
sandboxed batch to running the same 30 notebooks one by one with nbclient without grading (target: both
cores used, overhead < 30%, i.e. a ratio below 1.3 / 2 cores when the two workers really run side by side).

Usage: ``python benchmarks/grade_bench.py [--count 30] [--workers 2] [--rounds 2] [--no-plain]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
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


def grade_once(subs: Path, out: Path, workers: int, sandboxed: bool) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    rows = grade_batch(subs, "01", out, exercises=ROOT / "exercises", workers=workers,
                       limits=Limits(sandbox=sandboxed), log=io.StringIO())
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="batches per mode, alternating (best kept)")
    parser.add_argument("--no-plain", action="store_true", help="skip the nbclient comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "subs", Path(tmp) / "out"
        subs.mkdir()
        make_submissions(subs, args.count)
        times = {True: [], False: []}
        for _ in range(args.rounds):
            for sandboxed in (True, False):
                seconds, rows = grade_once(subs, out, args.workers, sandboxed)
                times[sandboxed].append(seconds)
        plain = None if args.no_plain else run_plain(subs)
    mean = sum(r["score"] for r in rows.values()) / len(rows)
    full = max(r["extra_data"]["max_score"] for r in rows.values())
    on, off = min(times[True]), min(times[False])
    print(f"graded {len(rows)} submissions with {args.workers} workers, mean total {mean:.2f} / {full:g}")
    print(f"sandboxed:   {on:.1f} s ({on / len(rows):.2f} s per submission; rounds: "
          f"{', '.join(f'{t:.1f}' for t in times[True])})")
    print(f"no sandbox:  {off:.1f} s ({off / len(rows):.2f} s per submission; rounds: "
          f"{', '.join(f'{t:.1f}' for t in times[False])})")
    print(f"sandbox overhead: {100 * (on / off - 1):+.1f}% (target: under 10%)")
    if plain is not None:
        print(f"nbclient one by one, no grading: {plain:.1f} s ({plain / len(rows):.2f} s per notebook)")
        print(f"ratio sandboxed batch / plain serial run: {on / plain:.2f} "
              f"(ideal with {args.workers} workers and no overhead: {1 / args.workers:.2f}; "
              f"overhead vs ideal: {100 * (on * args.workers / plain - 1):+.0f}%)")


if __name__ == "__main__":
    main()
