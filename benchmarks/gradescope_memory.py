"""Peak memory and time of one Gradescope run (a benchmark, not a test: it never fails).

For each assignment, builds its autograder zip and runs ``run_autograder`` on the solution in the same stand-in
for Gradescope's container as tests/test_gradescope.py (bubblewrap, ``/autograder`` bound, no namespaces
inside, so the kernel runs unsandboxed as it most likely does on Gradescope). The whole container runs in a
memory control group of its own, whose peak is what a container memory limit counts (page cache included).
It also polls the container's processes every 50 ms: the peak of their summed resident memory (shared
libraries counted once per process, so an overestimate) and of their summed private anonymous memory (what
cannot be dropped or shared; the floor), and the largest address space of one process, which the kernel's
``--memory-gb`` limit (``RLIMIT_AS``) must stay above. ``--cpus 0.5`` also caps the container at half a CPU
with the cgroup's CPU quota, Gradescope's default allocation, to see the time a learner waits there.

``--hog`` also grades the solution with its first answer cell filling memory until the kernel's limit stops it:
the most a learner can make the container use.

Usage: ``python benchmarks/gradescope_memory.py [--assignments 01 06] [--cpus 0.5] [--hog]`` (as root, on Linux with
cgroup v1 or v2; without a writable cgroup only the polled figures are printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("PYTHONUTF8", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from course_utils.grade import gradescope  # noqa: E402
from course_utils.grade.rebuild import find_release  # noqa: E402
from tests.test_gradescope import stand_in  # noqa: E402

MiB = 1 << 20


class Group:
    """A fresh memory (and CPU) control group, v2 or v1; ``None`` from :meth:`make` when none can be made."""

    def __init__(self, memory: Path, cpu: Path | None, version: int):
        self.memory, self.cpu, self.version = memory, cpu, version

    @classmethod
    def make(cls, name: str, cpus: float | None) -> Group | None:
        v2 = Path("/sys/fs/cgroup")
        try:
            if (v2 / "cgroup.controllers").exists():
                folder = v2 / name
                folder.mkdir()
                if cpus:
                    (folder / "cpu.max").write_text(f"{int(cpus * 100_000)} 100000")
                return cls(folder, folder, 2)
            memory = v2 / "memory" / name
            memory.mkdir()
            cpu = None
            if cpus:
                cpu = v2 / "cpu" / name
                cpu.mkdir()
                (cpu / "cpu.cfs_period_us").write_text("100000")
                (cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * 100_000)))
            return cls(memory, cpu, 1)
        except OSError as error:
            print(f"(no control group: {error})")
            return None

    def join(self) -> None:
        """Put the calling process in the group (run in the child before exec)."""
        for folder in {self.memory, self.cpu} - {None}:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def peak(self) -> int:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return int((self.memory / name).read_text())

    def remove(self) -> None:
        for folder in {self.memory, self.cpu} - {None}:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, found through /proc (never by name)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += [child for child, parent in parents.items() if parent == current]
    return found


def memory_of(pids: list[int]) -> tuple[int, int, int]:
    """Summed VmRSS and RssAnon of ``pids``, and the largest address space (VmPeak) of one of them, in bytes."""
    rss = anon = virtual = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("RssAnon:"):
                    anon += int(line.split()[1]) * 1024
                elif line.startswith("VmPeak:"):
                    virtual = max(virtual, int(line.split()[1]) * 1024)
        except OSError:
            continue
    return rss, anon, virtual


HOG = ("import numpy as np\nblocks = []\nwhile True:\n    blocks.append(np.ones(16 << 20))  # 128 MiB at a time\n")


def hog(solution: Path) -> str:
    """The solution with memory filled (until the kernel's limit stops it) in its first answer cell."""
    nb = nbformat.read(solution, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    cell.source = HOG + cell.source
    return nbformat.writes(nb)


def measure(assignment: str, cpus: float | None, tmp: Path, hogging: bool = False) -> None:
    archive = gradescope.build(assignment, tmp / f"autograder-{assignment}.zip")
    solution = find_release(ROOT / "solutions", assignment)
    text = hog(solution) if hogging else solution.read_text()
    command, box = stand_in(archive, tmp / f"run-{assignment}{'-hog' * hogging}", {solution.name: text})
    group = Group.make(f"gradescope-bench-{os.getpid()}-{assignment}", cpus)
    peak_rss = peak_anon = peak_virtual = 0
    start = time.perf_counter()
    process = subprocess.Popen(command, preexec_fn=group.join if group else None)
    try:
        while process.poll() is None:
            rss, anon, virtual = memory_of(tree(process.pid))
            peak_rss, peak_anon, peak_virtual = max(peak_rss, rss), max(peak_anon, anon), max(peak_virtual, virtual)
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        cgroup_peak = group.peak() if group else None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if group:
            group.remove()
    results = box / "results" / "results.json"
    summary = "no results.json"
    if results.exists():
        result = json.loads(results.read_text())
        summary = f"{result['score']:g}/{result['extra_data']['max_score']:g} {result['extra_data']['status']}, " \
                  f"sandbox {result['extra_data']['sandbox']}"
    label = f"assignment {assignment}" + " (memory hog)" * hogging
    print(f"{label}: {summary}; {seconds:.0f} s" + (f" at {cpus:g} CPU" if cpus else "")
          + f"; load average {os.getloadavg()[0]:.1f}")
    if cgroup_peak is not None:
        print(f"  container peak (control group, page cache included): {cgroup_peak / MiB:,.0f} MiB")
    print(f"  peak summed RSS of its processes:                     {peak_rss / MiB:,.0f} MiB")
    print(f"  peak summed private anonymous memory:                 {peak_anon / MiB:,.0f} MiB")
    print(f"  largest address space of one process (VmPeak; the kernel's --memory-gb caps it): "
          f"{peak_virtual / MiB:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=["06"], help="two digits each (default: 06)")
    parser.add_argument("--cpus", type=float, default=None, help="CPU quota of the container (e.g. 0.5)")
    parser.add_argument("--hog", action="store_true",
                        help="also grade a solution whose first answer cell fills memory: the worst case")
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        sys.exit("needs bubblewrap (apt-get install bubblewrap)")
    with tempfile.TemporaryDirectory(prefix="gradescope-bench-") as tmp:
        for assignment in args.assignments:
            measure(assignment, args.cpus, Path(tmp))
            if args.hog:
                measure(assignment, args.cpus, Path(tmp), hogging=True)


if __name__ == "__main__":
    main()
