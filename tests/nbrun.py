"""Execute notebooks the way CI and learners do, and list what went wrong in their outputs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Anything that looks like a warning or TensorFlow log line in an output is a defect.
NOISE = re.compile(
    r"warning|warn\(|deprecat|oneDNN|absl::|cuda|tensorflow/core|I0000|W0000|E0000|Traceback", re.IGNORECASE
)


def kernel_env() -> dict:
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        TF_ENABLE_ONEDNN_OPTS="0",
        # Any attempt to download (datasets, weights) fails fast instead of succeeding on a dev machine.
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        NO_PROXY="localhost,127.0.0.1",
        PYTHONWARNINGS="default",  # show every warning, so the check below can see it
    )
    return env


# With audit=True, a hidden first cell records every matplotlib figure the lesson makes (pyplot's and the
# explorers' alike) and a hidden last cell checks them with tests/plot_audit.py; both cells are removed again.
_RECORD_FIGURES = """
import matplotlib.figure as _audit_mf
_AUDIT_FIGURES = []
_audit_init = _audit_mf.Figure.__init__
def _audit_recording_init(self, *args, **kwargs):
    _audit_init(self, *args, **kwargs)
    _AUDIT_FIGURES.append(self)
_audit_mf.Figure.__init__ = _audit_recording_init
"""
_AUDIT_MARK = "PLOT-AUDIT:"


def execute(path: Path, timeout: int = 600, audit: bool = False) -> nbformat.NotebookNode:
    """Run a notebook; with ``audit=True`` its figures' problems end up in ``nb.metadata["plot_audit"]``."""
    nb = nbformat.read(path, as_version=4)
    if audit:
        check = (ROOT / "tests" / "plot_audit.py").read_text()
        check += f"\nimport json as _json\nprint({_AUDIT_MARK!r} + _json.dumps(audit_figures(_AUDIT_FIGURES)))\n"
        nb.cells.insert(0, nbformat.v4.new_code_cell(_RECORD_FIGURES))
        nb.cells.append(nbformat.v4.new_code_cell(check))
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=kernel_env())
    if audit:
        first, last = nb.cells.pop(0), nb.cells.pop()
        texts = [text for kind, text in output_texts(first) + output_texts(last)]
        found = [line[len(_AUDIT_MARK):] for text in texts for line in text.splitlines() if line.startswith(_AUDIT_MARK)]
        if not found:
            raise RuntimeError(f"the plot audit of {path.name} printed no report: {texts}")
        nb.metadata["plot_audit"] = json.loads(found[0])
    return nb


def output_texts(cell) -> list[tuple[str, str]]:
    """(kind, text) for every output of a code cell: stream name or mime type."""
    found = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            found.append((out.name, out.text))
        elif out.output_type == "error":
            found.append(("error", f"{out.ename}: {out.evalue}"))
        else:
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    found.append((mime, value if isinstance(value, str) else "".join(value)))
    return found


def problems(nb) -> list[str]:
    """Errors, anything on stderr, warnings and log noise in the executed notebook's outputs."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for kind, text in output_texts(cell):
            if kind in ("error", "stderr"):
                found.append(f"cell {index}: {kind}: {text[:300]}")
            elif NOISE.search(text):
                found.append(f"cell {index}: noise in {kind}: {NOISE.search(text).group(0)!r} in {text[:300]!r}")
    return found


def plain_outputs(nb) -> list[str]:
    """The text outputs of every cell, for comparing two runs.

    Consecutive chunks of one stream are joined first: the kernel may split a cell's printed
    text into several chunks depending on timing, which is not a difference in content.
    """
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for kind, text in output_texts(cell):
            if kind == "text/html":
                continue
            if found and kind in ("stdout", "stderr") and found[-1][:2] == (i, kind):
                found[-1] = (i, kind, found[-1][2] + text)
            else:
                found.append((i, kind, text))
    return [f"{i}:{kind}:{text}" for i, kind, text in found]
