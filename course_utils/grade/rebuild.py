"""Rebuild a submission from the released notebook, keeping only the learner's solution cells.

Cells are matched by id (which equals the nbgrader ``grade_id``; the ``grade_id`` is used when a
cell has no id). Every other cell, all metadata and tags, and the kernelspec come from the release,
so edited or deleted check cells, added ``skip-execution``/``raises-exception`` tags and the like
have no effect; they are only recorded in :class:`Changes` for the feedback.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


class InvalidNotebook(ValueError):
    """The submission cannot be read as a notebook."""


@dataclass
class Changes:
    """How the submission differs from the release, by cell id."""

    edited: list[str] = field(default_factory=list)  # locked cells whose source changed
    missing: list[str] = field(default_factory=list)  # release cells not in the submission
    added: list[str] = field(default_factory=list)  # submission cells not in the release

    def describe(self) -> list[str]:
        lines = []
        for words, ids in [("edited locked cells (ignored, the released version was used)", self.edited),
                           ("missing cells (the released version was used)", self.missing),
                           ("added cells (ignored)", self.added)]:
            if ids:
                lines.append(f"{words}: {', '.join(ids)}")
        return lines


def nbgrader(cell) -> dict:
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def cell_key(cell) -> str | None:
    key = cell.get("id") or nbgrader(cell).get("grade_id")
    return key if isinstance(key, str) else None


def _source(cell) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise InvalidNotebook("a cell's source is not text")
    return source


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def read_submission(data: bytes) -> list[dict]:
    """The cells of a submitted notebook file (lenient: any nbformat 4 JSON with a list of cells)."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidNotebook(f"not a valid notebook file (JSON): {error}") from None
    except RecursionError:
        raise InvalidNotebook("not a valid notebook file: JSON nested too deep") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidNotebook("not a notebook: no list of cells")
    cells = [c for c in nb["cells"] if isinstance(c, dict)]
    for cell in cells:
        _source(cell)
        if not isinstance(cell.get("metadata", {}), dict):
            raise InvalidNotebook("a cell's metadata is not a mapping")
    return cells


def rebuild(release: nbformat.NotebookNode, submitted_cells: list[dict]) -> tuple[nbformat.NotebookNode, Changes]:
    """The release with the learner's solution cells put in, and what else differed."""
    nb = copy.deepcopy(release)
    theirs = {}
    for cell in submitted_cells:
        key = cell_key(cell)
        if isinstance(key, str) and key not in theirs:
            theirs[key] = cell
    changes = Changes()
    keys = set()
    for cell in nb.cells:
        key = cell_key(cell)
        keys.add(key)
        mine = theirs.get(key)
        if mine is None or mine.get("cell_type") != cell.cell_type:
            changes.missing.append(key)
        elif nbgrader(cell).get("solution"):
            cell.source = _source(mine)
        elif _normal(_source(mine)) != _normal(cell.source):
            changes.edited.append(key)
    changes.added = [key for key in theirs if key not in keys]
    return nb, changes


def find_release(exercises: Path, assignment: str) -> Path:
    """``exercises/NN_*.ipynb`` for ``assignment == "NN"``."""
    found = sorted(exercises.glob(f"{assignment}_*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one released notebook {exercises}/{assignment}_*.ipynb, found {len(found)}")
    return found[0]
