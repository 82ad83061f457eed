"""Build the exercise notebooks from the solution notebooks (the one generated artefact).

``solutions/NN_name.ipynb`` holds the full answers between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` lines, in cells marked with nbgrader's metadata
(``{"nbgrader": {"solution": true, "grade_id": ..., ...}}``). Building replaces each such
block with the stub nbgrader's ``generate_assignment`` writes, ``# YOUR CODE HERE`` and a bare
``raise NotImplementedError()`` (no hint: anything inside the block would give the answer away,
and nbgrader drops it anyway), clears every output, and marks every locked cell
``editable: false`` and ``deletable: false`` so JupyterLab protects it. Hints live in
:mod:`course_utils.checks.hints`, outside the notebooks, and are asked for with ``hint("name")``::

    python -m course_utils.homework build     # write exercises/ from solutions/
    python -m course_utils.homework check     # exit 1 if exercises/ is out of date
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]


class SolutionMarkerError(ValueError):
    """A solution block is malformed (an END without BEGIN, a block that never ends, ...)."""


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace every solution block in ``source`` with nbgrader's stub, ``raise NotImplementedError()``.

    Example:
        >>> print(strip_solutions('''def f(x):
        ...     "Twice x."
        ...     ### BEGIN SOLUTION
        ...     return 2 * x
        ...     ### END SOLUTION'''))
        def f(x):
            "Twice x."
            # YOUR CODE HERE
            raise NotImplementedError()
    """
    out, inside, indent = [], False, ""
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise SolutionMarkerError(f"{where}, line {number}: {BEGIN} inside another solution block")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if not inside:
                raise SolutionMarkerError(f"{where}, line {number}: {END} without a {BEGIN}")
            out += [indent + text for text in STUB]
            inside = False
        elif stripped.startswith("### HINT"):
            raise SolutionMarkerError(
                f"{where}, line {number}: hints are no longer written in the notebook (they would give the answer "
                "away, and nbgrader drops them): put them in course_utils/checks/hints.py"
            )
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: {BEGIN} without a matching {END}")
    return "\n".join(out)


def build_exercise(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the exercise version of a solution notebook: solutions stubbed, outputs cleared."""
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        has_marker = BEGIN in cell.source or END in cell.source
        if has_marker and not meta.get("solution"):
            raise SolutionMarkerError(f"{name} cell {index}: solution markers in a cell not marked as a solution")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
            if meta.get("solution"):
                cell.source = strip_solutions(cell.source, f"{name} cell {index}")
        if meta.get("locked"):  # JupyterLab then refuses to change or delete it (nbgrader adds the same)
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    return nb


def _render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def planned(solutions: Path, exercises: Path) -> dict[Path, str]:
    """What ``exercises/`` should contain: ``{path: text}`` for every solution notebook."""
    result = {}
    for path in sorted(solutions.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        result[exercises / path.name] = _render(build_exercise(nb, path.name))
    return result


def out_of_date(solutions: Path = ROOT / "solutions", exercises: Path = ROOT / "exercises") -> list[str]:
    """Names of exercise notebooks that are missing, stale, or have no solution notebook."""
    plan = planned(solutions, exercises)
    stale = [p.name for p, text in plan.items() if not p.exists() or p.read_text() != text]
    orphans = [p.name for p in sorted(exercises.glob("*.ipynb")) if p not in plan]
    return stale + orphans


def build(solutions: Path = ROOT / "solutions", exercises: Path = ROOT / "exercises") -> list[Path]:
    """Write every exercise notebook; return the paths written."""
    exercises.mkdir(exist_ok=True)
    plan = planned(solutions, exercises)
    for path, text in plan.items():
        path.write_text(text)
    return list(plan)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.homework", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "check"])
    args = parser.parse_args(argv)
    if args.command == "build":
        for path in build():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale = out_of_date()
    if stale:
        print("exercises/ is out of date with solutions/: " + ", ".join(stale))
        print("run: python -m course_utils.homework build")
        return 1
    print("exercises/ is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

