"""Classroom tools: student notebooks (solutions removed) and HTML handouts."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import config

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)
PLACEHOLDER = "{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError(\"Write your solution here, then run the check below.\")"


def strip_solutions(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block with a placeholder that raises NotImplementedError,
    and drop hidden tests (graders keep them; see helpers.tools.grading)."""
    source = HIDDEN_TESTS.sub("", source).rstrip("\n")
    return SOLUTION.sub(lambda m: PLACEHOLDER.format(indent=m.group(1)), source)


def student_version(path: Path):
    """The notebook with solutions replaced, outputs cleared and execution counts removed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            stripped = strip_solutions(cell.source)
            if SOLUTION.search(cell.source):
                # Until the learner fills it in, this cell raises; let "run all" carry on past it.
                tags = cell.metadata.setdefault("tags", [])
                if "raises-exception" not in tags:
                    tags.append("raises-exception")
            cell.source = stripped
            cell.outputs = []
            cell.execution_count = None
    return nb


def make_student_notebooks(out_dir: Path, notebooks=None) -> list[Path]:
    """Write student versions of the notebooks (and their quiz banks) to ``out_dir``."""
    import shutil

    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks or sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        nb = student_version(Path(path))
        nbformat.validate(nb)
        target = out_dir / Path(path).name
        nbformat.write(nb, target)
        written.append(target)
    shutil.copytree(config.NOTEBOOKS_DIR / "quizzes", out_dir / "quizzes", dirs_exist_ok=True)
    return written


def exercise_cells(nb) -> list[int]:
    """Indices of the cells a student must complete (they hold the placeholder)."""
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and "# YOUR CODE HERE" in c.source]


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


def check_student_notebook(path: Path, timeout: int = 1200) -> list[str]:
    """Run a student notebook in quick mode; every cell except the exercises must succeed.

    Exercise cells carry the ``raises-exception`` tag, so they may fail with NotImplementedError;
    any other error raises. Returns the error names of the exercise cells, in order.
    """
    import nbformat
    from nbclient import NotebookClient

    from helpers.tools.runner import kernel_manager_with_env

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   kernel_manager_class=kernel_manager_with_env({"TLW_QUICK": "1"}),
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    return [o["ename"] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]
