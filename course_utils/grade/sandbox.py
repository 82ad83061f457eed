"""The OS sandbox a submission's kernel runs in: bubblewrap namespaces plus one control group.

:func:`command` wraps the kernel's command line so that it runs inside ``bwrap`` with new PID, mount,
IPC, UTS, network and (where allowed) user namespaces, all capabilities dropped, and a file system
made only of what the kernel needs, read-only: the system (``/usr``, ``/etc``, ...), the Python
installation and the course's virtual environment, and ``course_utils`` *without* its grader. The only
writable places are a private ``/tmp`` and the kernel's own folder; the ZeroMQ ``ipc`` sockets live in a
folder bound into the sandbox, so no network is needed. ``--die-with-parent`` and the PID namespace
make every process the kernel starts (``setsid`` or not) die with the sandbox.

:class:`Cgroup` puts the whole sandbox in one control group: one memory limit for everything inside
(not per process), a process/thread count limit and at most one CPU. It uses cgroup v2 where the
machine has it and lets us, else the v1 ``memory``/``pids``/``cpu`` hierarchies; where neither can be
written it is ``None`` and only per-process limits (``RLIMIT_AS``, ``RLIMIT_CPU``) apply.
:func:`check` says whether a sandbox can start here, and why not.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BWRAP = "bwrap"
MAX_PROCESSES = 512  # processes and threads in one sandbox (TensorFlow starts a few dozen threads)
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]


class SandboxUnavailable(RuntimeError):
    """No sandbox can start on this machine (the message says why and what to do)."""


def _course_package() -> Path:
    spec = importlib.util.find_spec("course_utils")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _readonly_paths() -> list[str]:
    """What the kernel needs to read: the Python installation, the venv, course_utils (grader hidden)."""
    paths = []
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}:
        real = os.path.realpath(prefix)
        if not any(real == s or real.startswith(s + "/") for s in SYSTEM):
            paths.append(real)
    paths.append(str(_course_package()))
    return sorted(set(paths))


def command(argv: list[str], *, work: str, shared: list[str], cgroup: Cgroup | None, memory_bytes: int,
            cpu_seconds: int) -> list[str]:
    """``argv`` run inside the sandbox: ``work`` is its writable folder (and cwd), ``shared`` more writable ones."""
    box = [shutil.which(BWRAP) or BWRAP, "--unshare-all", "--unshare-user-try", "--die-with-parent", "--new-session",
           "--cap-drop", "ALL", "--hostname", "sandbox"]
    for path in SYSTEM:
        if os.path.islink(path):
            box += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            box += ["--ro-bind", path, path]
    box += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _readonly_paths():
        box += ["--ro-bind", path, path]
    grader = _course_package() / "grade"
    box += ["--tmpfs", str(grader), "--remount-ro", str(grader)]  # the grader and its rubric: not there
    for path in [work, *shared]:
        box += ["--bind", path, path]
    # ipykernel exits when its parent looks gone (parent pid 1): inside a PID namespace it always is.
    box += ["--setenv", "JPY_PARENT_PID", "1", "--chdir", work, "--"]
    # Limits every process inherits (per process); the cgroup below bounds the sandbox as a whole.
    limits = f"ulimit -v {memory_bytes // 1024} && ulimit -t {cpu_seconds}"
    join = "".join(f' && echo $$ > "{path}"' for path in (cgroup.procs_files if cgroup else []))
    script = f"{limits}{join} && exec \"$@\""
    return ["/bin/sh", "-c", script, "sandbox", *box, *argv]


@functools.cache
def check() -> str:
    """'' when a sandbox starts here; else the reason (no bwrap, not Linux, no namespaces)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap sandboxes need Linux (this is {sys.platform})"
    if shutil.which(BWRAP) is None:
        return "bubblewrap is not installed (apt-get install bubblewrap, or dnf install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="grade-check-") as work:
        probe = command(["/bin/true"], work=work, shared=[], cgroup=None, memory_bytes=1 << 30, cpu_seconds=10)
        try:
            done = subprocess.run(probe[4:], capture_output=True, text=True, timeout=30)  # bwrap alone
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not run: {error}"
    if done.returncode != 0:
        return f"bubblewrap could not create its namespaces here: {done.stderr.strip()[:300]}"
    return ""


def require() -> None:
    reason = check()
    if reason:
        raise SandboxUnavailable(
            f"cannot sandbox the learners' kernels: {reason}. Run the grader on Linux with bubblewrap and user "
            "namespaces, or pass --no-sandbox to grade without a sandbox (recorded in grades.csv and the feedback; "
            "learner code can then read and write anything this user can)")


# --- control groups ----------------------------------------------------------------------------------------

V2 = Path("/sys/fs/cgroup")
V1 = Path("/sys/fs/cgroup")


def _own_v2_group() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return V2 / line[3:].lstrip("/")
    except OSError:
        pass
    return None


class Cgroup:
    """One control group for one sandbox: memory (total), process count and one CPU. See :meth:`create`."""

    def __init__(self, folders: list[Path], version: int):
        self.folders, self.version = folders, version

    @property
    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders]

    @classmethod
    def create(cls, name: str, memory_bytes: int) -> Cgroup | None:
        """A new group (v2, else v1), or None when this machine does not let us make one."""
        for make in (cls._v2, cls._v1):
            try:
                group = make(name, memory_bytes)
            except OSError:
                group = None
            if group is not None:
                return group
        return None

    @classmethod
    def _v2(cls, name: str, memory_bytes: int) -> Cgroup | None:
        if not (V2 / "cgroup.controllers").exists():
            return None
        parent = _own_v2_group()
        if parent is None:
            return None
        # A v2 group with processes cannot delegate controllers: use the parent's parent if needed.
        for base in (parent, parent.parent):
            controllers = (base / "cgroup.subtree_control").read_text().split()
            if {"memory", "pids"} <= set(controllers):
                break
        else:
            return None
        folder = base / name
        folder.mkdir()
        group = cls([folder], 2)
        try:
            (folder / "memory.max").write_text(str(memory_bytes))
            if (folder / "memory.swap.max").exists():
                (folder / "memory.swap.max").write_text("0")
            (folder / "pids.max").write_text(str(MAX_PROCESSES))
            if (folder / "cpu.max").exists():
                (folder / "cpu.max").write_text("100000 100000")
        except OSError:
            group.remove()
            raise
        return group

    @classmethod
    def _v1(cls, name: str, memory_bytes: int) -> Cgroup | None:
        memory, pids = V1 / "memory", V1 / "pids"
        if not (memory / "memory.limit_in_bytes").exists() or not (pids / "cgroup.procs").exists():
            return None
        folders = [memory / name, pids / name]
        cpu = V1 / "cpu"
        if (cpu / "cpu.cfs_quota_us").exists():
            folders.append(cpu / name)
        group = cls([], 1)
        try:
            for folder in folders:
                folder.mkdir()
                group.folders.append(folder)
            (memory / name / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = memory / name / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    swap.write_text(str(memory_bytes))
                except OSError:  # swap accounting off: nothing to limit
                    pass
            (pids / name / "pids.max").write_text(str(MAX_PROCESSES))
            if len(folders) == 3:
                (cpu / name / "cpu.cfs_period_us").write_text("100000")
                (cpu / name / "cpu.cfs_quota_us").write_text("100000")
        except OSError:
            group.remove()
            raise
        return group

    def oom_kills(self) -> int:
        """How many processes the memory limit has killed so far."""
        try:
            if self.version == 2:
                text = (self.folders[0] / "memory.events").read_text()
            else:
                text = (self.folders[0] / "memory.oom_control").read_text()
            fields = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
            return int(fields.get("oom_kill", 0))
        except (OSError, ValueError):
            return 0

    def pids(self) -> list[int]:
        found = set()
        for procs in self.procs_files:
            try:
                found.update(int(p) for p in Path(procs).read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(found)

    def kill(self) -> None:
        """Kill every process in the group (the sandbox's own mechanisms should already have)."""
        if self.version == 2 and (self.folders[0] / "cgroup.kill").exists():
            try:
                (self.folders[0] / "cgroup.kill").write_text("1")
            except OSError:
                pass
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and delete the group."""
        self.kill()
        for folder in reversed(self.folders):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.folders = []


def remove_groups(tag: str) -> None:
    """Remove every control group named ``tag-...`` (a batch's, left by a worker that was killed)."""
    if not tag:
        return
    for hierarchy in [V2, *(V1 / c for c in ("memory", "pids", "cpu"))]:
        try:
            names = [p for p in hierarchy.rglob(f"{tag}-*") if p.is_dir()] if hierarchy.is_dir() else []
        except OSError:
            continue
        for folder in names:
            Cgroup([folder], 2 if hierarchy == V2 else 1).remove()
