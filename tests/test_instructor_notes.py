"""The instructor notes in instructors/ stay in step with the lessons they describe.

Every lesson has a notes file with the agreed headings and links. Every cell the notes point to
(written ``cell starting `<first line of the cell>` ``, optionally preceded by ``section N, ``) is
exactly one code cell of that lesson, in that section. The timing table lists the lesson's own
``## `` sections and adds up to its total. Every cut under "If time is short" (a bullet starting
``- **Skip**``; every cell it names, and every "all of section N", is skipped) leaves the later cells
their variables: no kept cell reads a name whose latest definition is in a skipped cell. (That check
sees names only; whether a skipped cell changes an object in place, a model trained by ``fit`` say, is
for the author to check by running the lesson.) The minutes the cuts save add up to what the notes
claim. The last test feeds the checks broken notes, to show that they fail when they should.
"""

from __future__ import annotations

import ast
import builtins
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "instructors"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REQUIRED_HEADINGS = ("## Timing", "## Questions for the room", "## Misconceptions", "## If time is short")

CELL_REF = re.compile(r"(?:[Ss]ection (\d+(?:\.\d+)*),\s+)?cell\s+starting\s+`([^`]+)`")
WHOLE_SECTION = re.compile(r"all of section (\d+(?:\.\d+)*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")
LIST_ITEM = re.compile(r"^(?:\d+\.|-) ")
EXPLORER = re.compile(r"\b([a-z_]+_(?:explorer|gallery|lab))\b")
MIN_PREFIX = 15


# ---------------------------------------------------------------------------------------------
# Reading lessons and notes
# ---------------------------------------------------------------------------------------------


@cache
def lesson_cells(path: Path) -> tuple[tuple[int, str, str | None], ...]:
    """``(index, source, section)`` for every code cell; ``section`` is the number of the nearest
    numbered heading above it (``"3"`` under ``## 3. ...``, ``"2.1"`` under ``### 2.1 ...``)."""
    nb = nbformat.read(path, as_version=4)
    cells, top, sub = [], None, None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    match = NUMBERED.match(line[3:])
                    top, sub = (match.group(1) if match else None), None
                elif line.startswith("### "):
                    match = NUMBERED.match(line[4:])
                    if match:
                        sub = match.group(1)
        elif cell.cell_type == "code":
            cells.append((index, cell.source, sub or top))
    return tuple(cells)


@cache
def lesson_headings(path: Path) -> tuple[str, ...]:
    """The text of every level-2 (``## ``) heading of a lesson, in order."""
    nb = nbformat.read(path, as_version=4)
    return tuple(line[3:].strip() for cell in nb.cells if cell.cell_type == "markdown"
                 for line in cell.source.splitlines() if line.startswith("## "))


def in_section(label: str | None, number: str) -> bool:
    return label is not None and (label == number or label.startswith(number + "."))


def notes_section(text: str, heading: str) -> str:
    """The lines under ``heading`` (a ``## `` line) up to the next ``## `` heading ("" when missing)."""
    lines = text.splitlines()
    if heading not in lines:
        return ""
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end])


def list_items(section: str) -> list[str]:
    """Top-level list items (``- ...`` or ``1. ...`` at column 0) with their continuation lines."""
    items: list[str] = []
    inside = False
    for line in section.splitlines():
        if LIST_ITEM.match(line):
            items.append(line)
            inside = True
        elif inside and (line.startswith(" ") or not line.strip()):
            items[-1] += "\n" + line
        else:
            inside = False
    return [item.strip() for item in items]


def resolve(path: Path, quoted: str, section: str | None) -> tuple[int | None, str]:
    """The code cell a reference points to, or None and why not."""
    matches = [(i, src, label) for i, src, label in lesson_cells(path) if src.startswith(quoted)]
    if len(matches) != 1:
        return None, f"`{quoted}` starts {len(matches)} code cells of {path.name}, not exactly one"
    index, source, label = matches[0]
    first_line = source.splitlines()[0]
    if quoted != first_line and (len(quoted) < MIN_PREFIX or not first_line.startswith(quoted)):
        return None, f"`{quoted}` is neither the whole first line of its cell nor a prefix of {MIN_PREFIX}+ characters"
    if section is not None and not in_section(label, section):
        return None, f"`{quoted}` is in section {label} of {path.name}, not in section {section}"
    return index, ""


# ---------------------------------------------------------------------------------------------
# Which names a cell reads and sets
# ---------------------------------------------------------------------------------------------


def _names_in(target) -> set[str]:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)}


def _top_level_writes(statements) -> set[str]:
    """Names a cell binds at the notebook's top level (not inside functions or comprehensions)."""
    out: set[str] = set()
    for s in statements:
        if isinstance(s, ast.Assign):
            for target in s.targets:
                out |= _names_in(target)
        elif isinstance(s, (ast.AugAssign, ast.AnnAssign)):
            out |= _names_in(s.target)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            out |= _names_in(s.target) | _top_level_writes(s.body) | _top_level_writes(s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                if item.optional_vars is not None:
                    out |= _names_in(item.optional_vars)
            out |= _top_level_writes(s.body)
        elif isinstance(s, (ast.If, ast.While)):
            out |= _top_level_writes(s.body) | _top_level_writes(s.orelse)
        elif isinstance(s, ast.Try):
            out |= _top_level_writes(s.body) | _top_level_writes(s.orelse) | _top_level_writes(s.finalbody)
            for handler in s.handlers:
                out |= _top_level_writes(handler.body)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(s.name)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            out |= {(alias.asname or alias.name).split(".")[0] for alias in s.names}
    return out


@cache
def reads_and_writes(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """``(reads, writes)``: names the cell needs from earlier cells, and names it sets for later ones.

    A name the cell binds anywhere (assignment, loop, argument) counts as its own, except for ``+=``.
    IPython's ``%magic`` and ``!shell`` lines are ignored.
    """
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    tree = ast.parse(python)
    writes = _top_level_writes(tree.body)
    own, loads, updated = set(writes), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else own).add(node.id)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            updated.add(node.target.id)  # x += 1 needs the x of an earlier cell
    reads = {name for name in loads - own if not hasattr(builtins, name)} | updated
    return frozenset(reads), frozenset(writes)


def broken_by_skipping(path: Path, skipped: set[int]) -> list[str]:
    """Kept cells that would read a name last set by a skipped cell."""
    cells = lesson_cells(path)
    problems = []
    for position, (index, source, _) in enumerate(cells):
        if index in skipped:
            continue
        for name in sorted(reads_and_writes(source)[0]):
            setters = [i for i, src, _ in cells[:position] if name in reads_and_writes(src)[1]]
            if setters and setters[-1] in skipped:
                first = source.splitlines()[0]
                problems.append(f"cell starting `{first}` reads `{name}`, set by skipped cell {setters[-1]}")
    return problems


# ---------------------------------------------------------------------------------------------
# The checks, each returning a list of problems
# ---------------------------------------------------------------------------------------------


def check_headings_and_links(text: str, notes_path: Path, lesson: Path) -> list[str]:
    problems = [f"missing heading {h!r}" for h in REQUIRED_HEADINGS if h not in text.splitlines()]
    for target in (f"../notebooks/{lesson.name}", f"../exercises/{lesson.name}"):
        if f"]({target})" not in text:
            problems.append(f"no link to {target}")
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (notes_path.parent / target.split("#")[0]).exists():
            problems.append(f"link to {target} points to no file")
    return problems


def check_references(text: str, lesson: Path) -> list[str]:
    problems = [resolve(lesson, quoted, section or None)[1] for section, quoted in CELL_REF.findall(text)]
    problems = [p for p in problems if p]
    for heading in ("## Questions for the room", "## Misconceptions"):
        items = list_items(notes_section(text, heading))
        if len(items) < 3:
            problems.append(f"{heading}: {len(items)} items, expected at least 3")
        for item in items:
            if not CELL_REF.search(item):
                problems.append(f"{heading}: item without a cell reference: {item[:60]!r}")
            if heading.startswith("## Questions") and "On screen" not in item:
                problems.append(f"{heading}: item without 'On screen': {item[:60]!r}")
    code = "\n".join(source for _, source, _ in lesson_cells(lesson))
    for name in sorted(set(EXPLORER.findall(text))):
        if name not in code:
            problems.append(f"widget {name} is not used in {lesson.name}")
    return problems


def check_timing(text: str, lesson: Path) -> list[str]:
    rows = [line.strip() for line in notes_section(text, "## Timing").splitlines() if line.strip().startswith("|")]
    if len(rows) < 3:
        return ["## Timing: no table"]
    problems, titles, minutes, totals = [], [], [], []
    for row in rows[2:]:  # after the header and the |---| line
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        number = re.sub(r"[^\d]", "", cells[1]) if len(cells) > 1 else ""
        if not number:
            problems.append(f"## Timing: row without minutes: {row}")
        elif "Total" in cells[0]:
            totals.append(int(number))
        else:
            titles.append(cells[0])
            minutes.append(int(number))
    headings = lesson_headings(lesson)
    problems += [f"## Timing: {t!r} is not a ## heading of {lesson.name}" for t in titles if t not in headings]
    problems += [f"## Timing: section {h!r} has no row" for h in headings if NUMBERED.match(h) and h not in titles]
    if len(totals) != 1:
        problems.append(f"## Timing: {len(totals)} total rows, expected one")
    elif sum(minutes) != totals[0]:
        problems.append(f"## Timing: the minutes add up to {sum(minutes)}, the table says {totals[0]}")
    return problems


def skipped_cells(bullet: str, lesson: Path) -> set[int]:
    cells = {index for section, quoted in CELL_REF.findall(bullet)
             if (index := resolve(lesson, quoted, section or None)[0]) is not None}
    for number in WHOLE_SECTION.findall(bullet):
        cells |= {index for index, _, label in lesson_cells(lesson) if in_section(label, number)}
    return cells


def check_cuts(text: str, lesson: Path) -> list[str]:
    bullets = [item for item in list_items(notes_section(text, "## If time is short")) if item.startswith("- **Skip")]
    if not bullets:
        return ["## If time is short: no '- **Skip**' bullet"]
    problems, everything = [], set()
    for bullet in bullets:
        cells = skipped_cells(bullet, lesson)
        if not cells:
            problems.append(f"## If time is short: a Skip bullet names no cell: {bullet[:60]!r}")
        everything |= cells
        problems += broken_by_skipping(lesson, cells)
    problems += [f"with every cut at once: {p}" for p in broken_by_skipping(lesson, everything)]
    # "Together they save about M minutes (T down to R)": M is the sum of the bullets' "(..., N min)".
    saved = [int(m.group(1)) for bullet in bullets if (m := re.search(r"(\d+) min\b", bullet))]
    claim = re.search(r"save\s+about\s+(\d+)\s+minutes\s+\((\d+)\s+down\s+to\s+(\d+)\)",
                      notes_section(text, "## If time is short"))
    total = re.search(r"\*\*Total\*\* \| \*\*(\d+)\*\*", text)
    if len(saved) != len(bullets) or claim is None or total is None:
        problems.append("## If time is short: every Skip needs its '(N min)', and the section its 'save about M "
                        "minutes (T down to R)'")
    elif [int(g) for g in claim.groups()] != [sum(saved), int(total.group(1)), int(total.group(1)) - sum(saved)]:
        problems.append(f"## If time is short: the cuts save {sum(saved)} of {total.group(1)} minutes, the text says "
                        f"{claim.group(0)!r}")
    return problems


def all_problems(text: str, notes_path: Path, lesson: Path) -> list[str]:
    return (check_headings_and_links(text, notes_path, lesson) + check_references(text, lesson)
            + check_timing(text, lesson) + check_cuts(text, lesson))


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def notes_for(lesson: Path) -> Path:
    return NOTES / f"{lesson.stem}.md"


def test_the_lessons_are_found():
    assert len(LESSONS) >= 6, f"expected the six lesson notebooks in notebooks/, found {[p.name for p in LESSONS]}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_has_notes(lesson):
    assert notes_for(lesson).is_file(), f"no instructor notes for {lesson.name}: expected {notes_for(lesson)}"


def test_every_notes_file_belongs_to_a_lesson():
    stems = {p.stem for p in LESSONS}
    orphans = [p.name for p in NOTES.glob("*.md") if p.name != "README.md" and p.stem not in stems]
    assert not orphans, f"notes for lessons that do not exist: {orphans}"


def test_readme_links_every_notes_file_and_resolves():
    readme = NOTES / "README.md"
    text = readme.read_text(encoding="utf-8")
    links = LINK.findall(text)
    missing = [p.name for p in LESSONS if notes_for(p).name not in links]
    assert not missing, f"README.md does not link {missing}"
    dead = [t for t in links if not re.match(r"[a-z]+:", t) and not t.startswith("#")
            and not (readme.parent / t.split("#")[0]).exists()]
    assert not dead, f"README.md links to missing files: {dead}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_headings_and_links(lesson):
    path = notes_for(lesson)
    assert check_headings_and_links(path.read_text(encoding="utf-8"), path, lesson) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_cell_references_resolve(lesson):
    assert check_references(notes_for(lesson).read_text(encoding="utf-8"), lesson) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_timing_table(lesson):
    assert check_timing(notes_for(lesson).read_text(encoding="utf-8"), lesson) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_cuts_leave_later_cells_their_variables(lesson):
    assert check_cuts(notes_for(lesson).read_text(encoding="utf-8"), lesson) == []


def test_checks_catch_broken_notes():
    """Each kind of mistake in real notes is reported (so the tests above can fail)."""
    lesson = LESSONS[0]
    path = notes_for(lesson)
    good = path.read_text(encoding="utf-8")
    assert all_problems(good, path, lesson) == []
    quoted = CELL_REF.search(notes_section(good, "## Misconceptions")).group(2)
    cells = [source for _, source, _ in lesson_cells(lesson)]
    read_later = [set().union(*(reads_and_writes(s)[0] for s in cells[k + 1:])) for k in range(len(cells))]
    needed = next(s for k, s in enumerate(cells) if k > 0 and reads_and_writes(s)[1] & read_later[k])  # not imports
    first_row = [line for line in notes_section(good, "## Timing").splitlines() if line.startswith("|")][2]
    title = first_row.strip("|").split("|")[0].strip()
    broken = {
        "a reference to no cell": good.replace(f"`{quoted}`", "`print('this line is in no cell')`", 1),
        "a reference too short to be a prefix": good.replace(f"`{quoted}`", f"`{quoted[:5]}`", 1),
        "a reference in the wrong section": re.sub(r"ection \d+,(\s+)cell", r"ection 99,\1cell", good, count=1),
        "a timing row for no section": good.replace(f"| {title} |", "| 99. No such section |", 1),
        "minutes that do not add up": re.sub(r"\*\*Total\*\* \| \*\*(\d+)\*\*", "**Total** | **1**", good),
        "a dead link": good + "\n[missing](../notebooks/99_missing.ipynb)\n",
        "a missing heading": good.replace("## Misconceptions", "## Mistakes"),
        "a cut that breaks a later cell": good.replace(
            "## If time is short\n", f"## If time is short\n\n- **Skip** cell starting `{needed.splitlines()[0]}`\n"),
        "a widget the lesson does not use": good + "\nAlso try `imaginary_explorer`.\n",
        "savings that do not add up": re.sub(r"save\s+about\s+\d+", "save about 1", good),
    }
    for mistake, text in broken.items():
        assert all_problems(text, path, lesson), f"the checks did not notice {mistake}"
