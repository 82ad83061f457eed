"""A throw-away Jupyter kernel for one submission: run cells, evaluate grader code, notice trouble at once.

The kernel runs the grader's own Python interpreter in a fresh temporary folder with a scrubbed
environment and per-process limits, inside an OS sandbox (:mod:`~course_utils.grade.sandbox`: bubblewrap
namespaces, one control group) unless the batch runs with ``--no-sandbox``. It is reached over ZeroMQ's
``ipc`` transport (sockets in a folder bound into the sandbox; the sandbox has no network), and
messages above :data:`MAX_MESSAGE` bytes are refused by the grader's sockets, so no answer or output
can fill the grader's memory. Every request waits with a
deadline while polling ``km.is_alive()``, so an infinite loop raises :class:`CellTimeout` and an
``os._exit`` raises :class:`KernelDied` within a fraction of a second. Output is captured up to a cap.

Grader code never goes through the cell pipeline: it is sent as ``user_expressions`` of an
execute request with empty code, which IPython evaluates with ``eval`` after skipping the
(empty) cell, so the learner's input transformers, AST transformers and cell hooks cannot touch it.
"""

from __future__ import annotations

import ast
import itertools
import os
import pwd
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import zmq
from jupyter_client import KernelManager

from course_utils.grade import sandbox

MAX_MESSAGE = 64 << 20  # bytes: a bigger message from the kernel (a huge print or answer) is dropped unread
OUTPUT_GRACE = 2.0  # seconds to wait for a cell's last output after its reply
_names = itertools.count()

#: Restores IPython's cell pipeline to its start-of-kernel defaults (run before every learner cell):
#: fresh input transformers, no AST transformers, and no instance attributes shadowing the shell's
#: methods (``get_ipython().showtraceback = lambda *a, **k: None``, ``ip.run_cell = ...``).
RESET_SOURCE = """
import inspect
from IPython import get_ipython
from IPython.core.inputtransformer2 import TransformerManager
ip = get_ipython()
ip.input_transformer_manager = TransformerManager()
ip.input_transformers_post = []
ip.ast_transformers = []
for name in [k for k in list(vars(ip)) if inspect.isfunction(getattr(type(ip), k, None))]:
    del vars(ip)[name]
RESULT = "reset"
"""


def limit_source(memory_bytes: int) -> str:
    """Grader code that caps the kernel's address space (run first, before any learner code)."""
    return (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory_bytes}, {memory_bytes}))\n"
        "RESULT = 'limited'\n"
    )


def as_expression(source: str) -> str:
    """An expression running ``source`` in a private namespace and giving back its ``RESULT``."""
    # The real builtins without looking up a name (``__import__``, ``__builtins__``) the learner could shadow.
    # (os._wrap_close was made at start-up, so its module globals hold the real builtins dict.)
    builtins = ("[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close' "
                "and c.__module__ == 'os'][0].__init__.__globals__['__builtins__']")
    return (
        "(lambda b, g: (b['exec'](b['compile'](" + repr(source) + ", '<grader>', 'exec'), g), g.get('RESULT'))[1])"
        f"(*(lambda b: (b, {{'__builtins__': b, '__name__': '__grader__'}}))({builtins}))"
    )


class KernelTrouble(Exception):
    """The kernel could not answer: see :attr:`status` (``timeout``, ``kernel-died``, ...)."""

    status = "kernel-error"


class CellTimeout(KernelTrouble):
    status = "timeout"


class KernelDied(KernelTrouble):
    status = "kernel-died"


class KernelTampered(KernelTrouble):
    """The kernel no longer speaks the protocol (a message the grader cannot read, grader code that cannot run)."""

    status = "kernel-tampered"


class MemoryLimit(KernelDied):
    """The sandbox's memory limit killed the kernel (or its last process)."""

    status = "memory-limit"


class ProbeError(Exception):
    """Grader code raised in the kernel, or its result could not be read back."""


@dataclass
class Reply:
    """What one execute request gave back."""

    status: str  # "ok" or "error"
    ename: str = ""
    evalue: str = ""
    output: str = ""
    output_capped: bool = False
    user_expressions: dict = field(default_factory=dict)


def kernel_env(home: str) -> dict:
    """A minimal environment: nothing of the grader's (no OUT_DIR, tokens, paths), no network, 1 thread."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
    proxy = "http://127.0.0.1:9"
    return {
        **keep,
        "HOME": home,
        "TMPDIR": home,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONNOUSERSITE": "1",
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
    }


def _account(user: str) -> pwd.struct_passwd:
    """The unprivileged account ``user``; a clear error when it does not exist, is root, or the grader is not."""
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"kernel user {user!r} does not exist; expected an unprivileged account "
                         "(e.g. made with useradd --system)") from None
    if account.pw_uid == 0:
        raise ValueError(f"kernel user {user!r} is root; expected an unprivileged account")
    if os.geteuid() != 0:
        raise ValueError(f"running kernels as {user!r} needs a grader running as root, not uid {os.geteuid()}")
    return account


class _Manager(KernelManager):
    """Starts ``wrap(argv)``: the grader's own interpreter running ipykernel, in the sandbox when there is one."""

    wrap = None

    def format_kernel_cmd(self, extra_arguments=None):
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
        return self.wrap(argv) if self.wrap else argv


class Kernel:
    """One kernel process in its own fresh temporary folder (removed by :meth:`close`).

    :meth:`launch` only spawns the process, so a batch can boot the next submission's kernel while it
    grades the current one; :meth:`connect` waits for it. :meth:`start` does both. With ``sandboxed``
    the kernel runs in a bubblewrap sandbox with one control group (see :mod:`~course_utils.grade.sandbox`);
    ``scratch`` is the folder its temporary folder goes in (a batch removes it at the end, whatever happens).
    ``user``: an unprivileged account the kernel runs as (the grader must be root), for where no sandbox can
    start (Gradescope's container): the learner's code then cannot read the grader's memory or environment,
    signal it, or write the grader's files. Its folder is then a fresh one in the system's temp folder (the
    scratch folder's parents are private to the grader), owned by that account.
    """

    def __init__(self, *, memory_bytes: int = 3 << 30, output_cap: int = 20_000, startup_timeout: float = 60.0,
                 sandboxed: bool = False, cpu_seconds: int = 3600, scratch: str | None = None,
                 user: str | None = None):
        self.memory_bytes, self.output_cap, self.startup_timeout = memory_bytes, output_cap, startup_timeout
        self.sandboxed, self.cpu_seconds = sandboxed, cpu_seconds
        self.account = _account(user) if user is not None else None
        self.root = tempfile.mkdtemp(prefix="grade-", dir=None if user is not None else scratch)
        self.tag = os.path.basename(scratch) if scratch else "grade"  # names its control groups
        self.workdir = os.path.join(self.root, "work")  # holds nothing of the grader's
        self.conn = os.path.join(self.root, "conn")  # connection file and ipc sockets
        if len(self.conn) > 90:  # a socket's path must fit in 107 bytes
            self.conn = tempfile.mkdtemp(prefix="grade-conn-")
        self.km = self.kc = self.cgroup = None
        self.isolation = "none"

    def launch(self) -> None:
        """Spawn the kernel process (in a fresh sandbox and working folder); do not wait for it."""
        for folder in (self.workdir, self.conn):
            shutil.rmtree(folder, ignore_errors=True)
            os.mkdir(folder, 0o700)
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)  # every socket of this kernel's client
        context.setsockopt(zmq.LINGER, 0)
        self.km = _Manager(kernel_name="python3", transport="ipc", ip=os.path.join(self.conn, "k"),
                           connection_file=os.path.join(self.conn, "kernel.json"), context=context)
        if self.sandboxed:
            name = f"{self.tag}-{os.getpid()}-{next(_names)}"
            self.cgroup = sandbox.Cgroup.create(name, self.memory_bytes)
            self.isolation = "bwrap+cgroup" if self.cgroup else "bwrap"
            self.km.wrap = lambda argv: sandbox.command(argv, work=self.workdir, shared=[self.conn],
                                                        cgroup=self.cgroup, memory_bytes=self.memory_bytes,
                                                        cpu_seconds=self.cpu_seconds)
        as_user = {}
        if self.account is not None:
            uid, gid = self.account.pw_uid, self.account.pw_gid
            self.km.write_connection_file()  # start_kernel keeps it: written here so the account can read it
            for path in (self.root, self.workdir, self.conn, self.km.connection_file):
                os.chown(path, uid, gid)
            as_user = dict(user=uid, group=gid, extra_groups=[])
            self.isolation = f"user {self.account.pw_name}"
        self.km.start_kernel(cwd=self.workdir, env=kernel_env(self.workdir), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, **as_user)

    def connect(self) -> None:
        """Wait until the launched kernel answers, then cap its memory (before any learner code runs)."""
        self.kc = self.km.client(context=self.km.context)  # blocking, on the context that caps message sizes
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as error:
            raise KernelDied(f"the kernel did not start: {error}") from None
        self.evaluate(limit_source(self.memory_bytes), timeout=30)

    def start(self) -> None:
        self.launch()
        self.connect()

    def shutdown(self) -> None:
        """Stop the kernel, everything it started and its sandbox."""
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # already dead: nothing left to stop
                pass
            try:
                self.km.context.destroy(linger=0)
            except Exception:
                pass
        if self.cgroup is not None:
            self.cgroup.remove()
        self.km = self.kc = self.cgroup = None

    def close(self) -> None:
        """Stop the kernel and delete its folder."""
        self.shutdown()
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.conn, ignore_errors=True)

    def restart(self) -> None:
        """A brand-new kernel process in a fresh sandbox and folder; the old one is killed."""
        self.shutdown()
        self.start()

    def died(self) -> KernelDied:
        """Why the kernel process is gone: the memory limit, or something else."""
        if self.cgroup is not None and self.cgroup.oom_kills():
            return MemoryLimit("the kernel was killed by the memory limit")
        return KernelDied("the kernel process died")

    def execute(self, code: str, timeout: float, user_expressions: dict | None = None) -> Reply:
        """Run ``code``; raise :class:`CellTimeout` or :class:`KernelDied` instead of hanging."""
        msg_id = self.kc.execute(code, silent=False, store_history=bool(code), user_expressions=user_expressions or {},
                                 allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        reply, idle, chunks, size, capped, replied = None, False, [], 0, False, None
        while reply is None or not idle:
            if reply is not None:  # the answer is in: wait a little for the end of its output, not for ever
                replied = replied or time.monotonic()
                if time.monotonic() > min(deadline, replied + OUTPUT_GRACE):
                    capped = True  # output was lost (a message above MAX_MESSAGE is dropped, and the socket with it)
                    self._reconnect_iopub()
                    break
                time.sleep(0.01)
            for msg in self._drain_iopub():
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                text = _output_text(kind, content)
                if text and not capped:
                    chunks.append(text[: self.output_cap - size])
                    size += len(chunks[-1])
                    capped = size >= self.output_cap
            if reply is None:
                try:
                    msg = self.kc.get_shell_msg(timeout=0.05)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg["content"]
                except queue.Empty:
                    pass
                except Exception as error:  # signed by the kernel, but not a message: learner code broke it
                    raise KernelTampered(
                        f"the kernel sent a reply the grader cannot read ({type(error).__name__})") from None
            if not isinstance(reply, (dict, type(None))):
                raise KernelTampered("the kernel sent a reply the grader cannot read")
            if not self.km.is_alive():
                raise self.died()
            if time.monotonic() > deadline and reply is None:
                raise CellTimeout(f"no answer within {timeout:g} s")
        return Reply(
            status=reply.get("status", "error"),
            ename=reply.get("ename", ""),
            evalue=str(reply.get("evalue", ""))[:500],
            output="".join(chunks),
            output_capped=capped,
            user_expressions=reply.get("user_expressions") or {},
        )

    def evaluate(self, source: str, timeout: float) -> str:
        """Run grader ``source`` (which sets ``RESULT`` to a str) outside the cell pipeline; return ``RESULT``."""
        reply = self.execute("", timeout, {"r": as_expression(source)})
        value = reply.user_expressions.get("r")
        if not value or value.get("status") != "ok":
            what = f"{value.get('ename')}: {value.get('evalue')}" if value else f"no result ({reply.ename})"
            raise ProbeError(f"grader code failed in the kernel: {what}")
        text = value.get("data", {}).get("text/plain", "")
        if len(text) > 20_000_000:
            raise ProbeError("the kernel sent back too much data")
        try:
            result = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ProbeError("the kernel sent back something unreadable") from None
        if not isinstance(result, str):
            raise ProbeError("the kernel sent back something unreadable")
        return result

    def reset_pipeline(self, timeout: float = 30) -> None:
        """Undo input/AST transformers and shell-method overrides a previous cell may have installed."""
        self.evaluate(RESET_SOURCE, timeout)

    def _reconnect_iopub(self) -> None:
        """A new output socket (ZeroMQ drops the connection that carried a message above MAX_MESSAGE)."""
        self.kc.iopub_channel.stop()
        self.kc._iopub_channel = None
        self.kc.iopub_channel.start()

    def _drain_iopub(self):
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return
            except Exception as error:
                raise KernelTampered(
                    f"the kernel sent output the grader cannot read ({type(error).__name__})") from None
            if isinstance(msg, dict) and isinstance(msg.get("content"), dict) and isinstance(
                    msg.get("parent_header"), dict):
                yield msg


def _output_text(kind: str, content: dict) -> str:
    if kind == "stream":
        return content.get("text", "")
    if kind == "error":
        return f"{content.get('ename')}: {content.get('evalue')}\n"
    if kind in ("execute_result", "display_data"):
        return str(content.get("data", {}).get("text/plain", "")) + "\n"
    return ""
