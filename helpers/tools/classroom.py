"""Classroom tools: the teacher's notebooks (solutions filled in), the test copies (each exercise
run blank, then solved), student copies and HTML handouts.

The notebooks in ``notebooks/`` are the learner's: every exercise's answer cell is blank and ends
in the line ``# Exercise 02-1: your answer here ...`` (``helpers.solutions.MARKER``). The worked
solutions live in ``solutions/<notebook>.py``; this module puts them back where a teacher, a
grader or a test needs them.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from helpers import config, solutions

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)
PLACEHOLDER = "{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError(\"Write your solution here, then run the check below.\")"
_STUCK = re.compile(r"\n[ \t]*# Stuck\?[^\n]*")


def strip_solutions(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block with a placeholder that raises NotImplementedError,
    and drop hidden tests (graders keep them; see helpers.tools.grading)."""
    source = HIDDEN_TESTS.sub("", source).rstrip("\n")
    return SOLUTION.sub(lambda m: PLACEHOLDER.format(indent=m.group(1)), source)


def exercise_id(cell) -> str | None:
    """The id (``"02-1"``) of a blank answer cell, or None for any other cell."""
    if cell.cell_type != "code":
        return None
    match = solutions.MARKER.search(cell.source)
    return match.group("id") if match else None


def fill_solution(source: str, known: dict[str, str]) -> str:
    """A blank answer cell's source with its marker lines replaced by the worked solution,
    between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader's markers)."""
    match = solutions.MARKER.search(source)
    if match is None:
        return source
    ident, indent = match.group("id"), match.group("indent")
    if ident not in known:
        raise KeyError(f"exercise {ident} has no solution in {solutions.SOLUTIONS_DIR}")
    body = "\n".join(indent + line if line else line for line in known[ident].splitlines())
    block = f"{indent}### BEGIN SOLUTION\n{body}\n{indent}### END SOLUTION"
    tail = _STUCK.sub("", source[match.end():], count=1)
    return source[:match.start()] + block + tail


def teacher_version(nb, known: dict[str, str] | None = None):
    """The notebook with every exercise's solution filled in (a copy; ``nb`` is unchanged)."""
    known = solutions.all_solutions() if known is None else known
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if exercise_id(cell):
            cell.source = fill_solution(cell.source, known)
    return nb


def blank_then_solved(nb, known: dict[str, str] | None = None):
    """The test copy: each exercise runs blank with its check (which must answer "not done"),
    then with the worked solution and the same check (which must pass). The results recorder
    logs both outcomes in order (``exercise_log``), and the notebook tests read them."""
    known = solutions.all_solutions() if known is None else known
    nb = copy.deepcopy(nb)
    cells = []
    for i, cell in enumerate(nb.cells):
        cells.append(cell)
        previous = nb.cells[i - 1] if i else None
        if previous is not None and exercise_id(previous):
            solved = copy.deepcopy(previous)
            solved.source = fill_solution(previous.source, known)
            cells += [solved, copy.deepcopy(cell)]
    seen = set()
    for j, cell in enumerate(cells):   # cell ids must stay unique
        if cell.get("id") in seen:
            cell["id"] = f"{cell['id']}-solved-{j}"
        seen.add(cell.get("id"))
    nb.cells = cells
    return nb


def prepared_copy(nb, exercises: str = "blank"):
    """``exercises``: "blank" (as a learner gets it), "solved" (the teacher's version) or "both"
    (each exercise blank, then solved: the test copy)."""
    if exercises == "blank":
        return nb
    if exercises == "solved":
        return teacher_version(nb)
    if exercises == "both":
        return blank_then_solved(nb)
    raise ValueError(f"exercises must be 'blank', 'solved' or 'both', not {exercises!r}")


def prepare_test_copies(out_dir: Path, paths, parameters: dict) -> list[Path]:
    """`make test`: papermill's parameter injection, then each exercise blank and solved."""
    import nbformat
    import papermill as pm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        target = out_dir / Path(path).name
        pm.execute_notebook(str(path), str(target), parameters=parameters, prepare_only=True,
                            progress_bar=False)
        nb = blank_then_solved(nbformat.read(target, as_version=4))
        nbformat.write(nb, target)
        written.append(target)
    return written


def _write_copies(out_dir: Path, notebooks, version) -> list[Path]:
    """``version(path)`` of each notebook (default: every numbered one) written to ``out_dir``,
    validated, with the quiz banks beside them."""
    import shutil

    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks or sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        nb = version(Path(path))
        nbformat.validate(nb)
        target = out_dir / Path(path).name
        nbformat.write(nb, target)
        written.append(target)
    shutil.copytree(config.NOTEBOOKS_DIR / "quizzes", out_dir / "quizzes", dirs_exist_ok=True)
    return written


def make_teacher_notebooks(out_dir: Path, notebooks=None) -> list[Path]:
    """Write the teacher's notebooks (solutions filled in, between nbgrader's markers)."""
    import nbformat

    known = solutions.all_solutions()
    return _write_copies(out_dir, notebooks,
                         lambda path: teacher_version(nbformat.read(path, as_version=4), known))


def student_version(path: Path):
    """The learner's notebook as committed (blank exercises), outputs cleared."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return nb


def make_student_notebooks(out_dir: Path, notebooks=None) -> list[Path]:
    """Write student copies of the notebooks (and their quiz banks) to ``out_dir``: the blank
    notebooks, without the solutions folder (``exercises.solution`` then says so)."""
    return _write_copies(out_dir, notebooks, student_version)


def exercise_cells(nb) -> list[int]:
    """Indices of the cells a student must complete (blank answer cells)."""
    return [i for i, c in enumerate(nb.cells) if exercise_id(c)]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_widget_views(nb, quizzes_only: bool = False) -> int:
    """Remove widget-view outputs that have a static HTML/text form, so a page shows that form.

    A quiz needs its kernel to check answers, so in a handout its static form is always the
    better choice; other widgets are kept when their state was saved (``quizzes_only``).
    """
    removed = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            is_quiz = "tlw-quiz-static" in str(data.get("text/html", ""))
            if quizzes_only and not is_quiz:
                continue
            if WIDGET_VIEW in data and ("text/html" in data or "text/plain" in data):
                del data[WIDGET_VIEW]
                removed += 1
    return removed


def export_html(executed: list[Path], out_dir: Path) -> list[Path]:
    """Executed notebooks → self-contained HTML files (images inlined).

    Quizzes are shown in their static form (checking answers needs a kernel); other widgets
    keep their saved state where the notebook has one.
    """
    import nbformat
    from nbconvert import HTMLExporter

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    written = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        saved = bool(nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json"))
        drop_widget_views(nb, quizzes_only=saved)
        body, _ = exporter.from_notebook_node(nb)
        target = out_dir / (Path(path).stem + ".html")
        target.write_text(body)
        written.append(target)
    return written
