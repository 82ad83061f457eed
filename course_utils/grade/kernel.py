"""A throw-away Jupyter kernel for one submission: run cells, evaluate grader code, notice trouble at once.

The kernel runs the course's Python (``python3`` kernelspec = the grader's interpreter) in a fresh
temporary folder with a scrubbed environment and an address-space limit. Every request waits with a
deadline while polling ``km.is_alive()``, so an infinite loop raises :class:`CellTimeout` and an
``os._exit`` raises :class:`KernelDied` within a fraction of a second. Output is captured up to a cap.

Grader code never goes through the cell pipeline: it is sent as ``user_expressions`` of an
execute request with empty code, which IPython evaluates with ``eval`` after skipping the
(empty) cell, so the learner's input transformers, AST transformers and cell hooks cannot touch it.
"""

from __future__ import annotations

import ast
import os
import queue
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from jupyter_client import KernelManager

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
    return (
        "(lambda b, g: (b.exec(b.compile(" + repr(source) + ", '<grader>', 'exec'), g), g.get('RESULT'))[1])"
        "(__import__('builtins'), {'__builtins__': __import__('builtins'), '__name__': '__grader__'})"
    )


class KernelTrouble(Exception):
    """The kernel could not answer: see :attr:`status` (``timeout``, ``kernel-died``, ...)."""

    status = "kernel-error"


class CellTimeout(KernelTrouble):
    status = "timeout"


class KernelDied(KernelTrouble):
    status = "kernel-died"


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


class Kernel:
    """One kernel process in its own fresh temporary folder (removed by :meth:`close`).

    :meth:`launch` only spawns the process, so a batch can boot the next submission's kernel while it
    grades the current one; :meth:`connect` waits for it. :meth:`start` does both.
    """

    def __init__(self, *, memory_bytes: int = 3 << 30, output_cap: int = 20_000, startup_timeout: float = 60.0):
        self.memory_bytes, self.output_cap, self.startup_timeout = memory_bytes, output_cap, startup_timeout
        self.root = tempfile.mkdtemp(prefix="grade-")
        self.workdir = os.path.join(self.root, "work")  # holds nothing of the grader's
        os.mkdir(self.workdir)
        self.km = self.kc = None

    def launch(self) -> None:
        """Spawn the kernel process; do not wait for it."""
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=self.workdir, env=kernel_env(self.workdir), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)

    def connect(self) -> None:
        """Wait until the launched kernel answers, then cap its memory (before any learner code runs)."""
        self.kc = self.km.blocking_client()
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
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # already dead: nothing left to stop
                pass
        self.km = self.kc = None

    def close(self) -> None:
        """Stop the kernel and delete its folder."""
        self.shutdown()
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """A brand-new kernel process (same folder); the old one is killed."""
        self.shutdown()
        self.start()

    def execute(self, code: str, timeout: float, user_expressions: dict | None = None) -> Reply:
        """Run ``code``; raise :class:`CellTimeout` or :class:`KernelDied` instead of hanging."""
        msg_id = self.kc.execute(code, silent=False, store_history=bool(code), user_expressions=user_expressions or {},
                                 allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        reply, idle, chunks, size, capped = None, False, [], 0, False
        while reply is None or not idle:
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
            if not self.km.is_alive():
                raise KernelDied("the kernel process died")
            if time.monotonic() > deadline:
                if reply is not None:  # the answer is in; only trailing output is late
                    break
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

    def _drain_iopub(self):
        while True:
            try:
                yield self.kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return


def _output_text(kind: str, content: dict) -> str:
    if kind == "stream":
        return content.get("text", "")
    if kind == "error":
        return f"{content.get('ename')}: {content.get('evalue')}\n"
    if kind in ("execute_result", "display_data"):
        return str(content.get("data", {}).get("text/plain", "")) + "\n"
    return ""
