"""nbgrader assignments: every exercise becomes an answer cell and a locked, graded check cell.

In the course notebooks each exercise is two cells: the answer (blank for the learner; the
teacher's version, which this module starts from, has the worked solution from ``solutions/``
between ``### BEGIN SOLUTION`` / ``### END SOLUTION``) and the check right below it
(``exercises.check_...``). This module adds
the ``nbgrader`` cell metadata that makes them an autograded assignment and writes a course
folder that ``nbgrader generate_assignment`` and ``nbgrader autograde`` use as it is. While
nbgrader executes a notebook it sets ``NBGRADER_EXECUTION``: the course then runs quick, a
wrong answer raises ``AssertionError`` (``exercises.strict()``) and nothing is written to the
learner's progress or results files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import config

SCHEMA_VERSION = 3
POINTS_PER_EXERCISE = 1
COURSE_ID = "transfer-learning-workbook"
CELL_TIMEOUT_S = 600   # per cell, in quick mode; the longest quick cell takes about a minute

CONFIG_TEMPLATE = '''\
# nbgrader configuration written by `python -m helpers nbgrader`; edit freely.
# Run nbgrader commands from this folder, e.g.
#   nbgrader generate_assignment 03_feature_extraction
#   nbgrader autograde 03_feature_extraction
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "{course_id}"
c.CourseDirectory.root = "."
# The notebooks run in quick mode while nbgrader executes them (it sets NBGRADER_EXECUTION,
# which helpers.config.quick_mode follows), so a cell finishes well inside this limit.
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
# The checks raise AssertionError on a wrong answer; a learner's own error in an answer cell
# must not stop the grading of the others. nbgrader's Execute always allows errors (its
# `allow_errors` is fixed at True, not a config option); `force_raise_errors` is the option
# that would override that, so it stays off.
c.Execute.force_raise_errors = False
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


def is_answer_cell(cell) -> bool:
    return cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source


def is_check_cell(cell) -> bool:
    return cell.cell_type == "code" and "exercises.check_" in cell.source


def exercise_pairs(nb) -> list[tuple[int, int]]:
    """(answer cell, check cell) indices; ValueError if an answer has no check right after it."""
    pairs = []
    for i, cell in enumerate(nb.cells):
        if not is_answer_cell(cell):
            continue
        if "exercises.check_" in cell.source:
            raise ValueError(f"cell {i}: the answer and its check share a cell; nbgrader needs the "
                             "check in its own cell right below the answer")
        nxt = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        if nxt is None or not is_check_cell(nxt):
            raise ValueError(f"cell {i}: an answer cell must be followed by its check cell")
        pairs.append((i, i + 1))
    return pairs


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_version(path: Path):
    """The notebook with nbgrader metadata: answers are solution cells, checks are locked
    graded test cells, every other cell is read-only; outputs cleared."""
    import nbformat

    from helpers.tools.classroom import teacher_version

    nb = teacher_version(nbformat.read(path, as_version=4))   # the worked solutions filled in
    prefix = Path(path).stem[:2]
    try:
        pairs = exercise_pairs(nb)
    except ValueError as err:
        raise ValueError(f"{Path(path).name}, {err}") from None
    roles = {}
    for n, (answer, check) in enumerate(pairs, 1):
        roles[answer] = _meta(f"ex{prefix}-{n}-answer", solution=True)
        roles[check] = _meta(f"ex{prefix}-{n}-check", grade=True, locked=True,
                             points=POINTS_PER_EXERCISE)
    for i, cell in enumerate(nb.cells):
        cell.metadata["nbgrader"] = roles.get(i) or _meta(f"{prefix}-cell-{i:03d}", locked=True)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def write_course(out_dir: Path, notebooks=None) -> list[Path]:
    """``out_dir/source/<assignment>/<notebook>.ipynb`` (one assignment per notebook) and
    ``out_dir/nbgrader_config.py``. Existing files are replaced; nothing else is touched."""
    import nbformat

    out_dir = Path(out_dir)
    written = []
    for path in notebooks or sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        path = Path(path)
        nb = nbgrader_version(path)
        nbformat.validate(nb)
        folder = out_dir / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        nbformat.write(nb, target)
        written.append(target)
    (out_dir / "nbgrader_config.py").write_text(
        CONFIG_TEMPLATE.format(course_id=COURSE_ID, timeout=CELL_TIMEOUT_S))
    return written


def total_points(nb) -> int:
    """Points a notebook's graded cells are worth."""
    return sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def copy_submission(released: Path, course_dir: Path, student: str, answers: dict[int, str] | None = None) -> Path:
    """Place a student's copy of a released notebook under ``submitted/<student>/<assignment>/``,
    optionally with ``answers`` (answer-cell index → source) filled in. For tests and dry runs."""
    import nbformat

    released = Path(released)
    nb = nbformat.read(released, as_version=4)
    for i, source in (answers or {}).items():
        nb.cells[i].source = source
    target = Path(course_dir) / "submitted" / student / released.parent.name / released.name
    if target.parent.exists():
        shutil.rmtree(target.parent)
    target.parent.mkdir(parents=True)
    nbformat.write(nb, target)
    return target
