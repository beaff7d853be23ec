"""The two wings stay apart: what a learner reads (helpers/*.py, helpers/exercises/, the notebooks)
never imports the teacher's and CI's tools (helpers/tools/)."""

import ast
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LEARNER_MODULES = sorted(p for p in (ROOT / "helpers").rglob("*.py")
                         if "tools" not in p.relative_to(ROOT / "helpers").parts
                         and p.name != "__main__.py")   # `python -m helpers` is the CLI's door
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def tools_imports(source: str) -> list[str]:
    """The imports of ``helpers.tools`` (or anything under it) in Python source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("helpers.tools")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("helpers.tools") or (
                    node.module == "helpers" and any(a.name == "tools" for a in node.names)):
                found.append(node.module)
    return found


def test_the_scanner_sees_every_form():
    assert tools_imports("import helpers.tools.runner") == ["helpers.tools.runner"]
    assert tools_imports("from helpers.tools import runner") == ["helpers.tools"]
    assert tools_imports("from helpers import tools") == ["helpers"]
    assert tools_imports("def f():\n    from helpers.tools.doctor import doctor") == ["helpers.tools.doctor"]
    assert tools_imports("from helpers import data, models") == []


@pytest.mark.parametrize("path", LEARNER_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_learner_modules_never_import_the_tools(path):
    text = path.read_text()
    assert not tools_imports(text), f"{path.name} imports helpers.tools"
    # not even by name in a docstring: a reader would follow it across the boundary
    assert "helpers.tools" not in text, f"{path.name} names helpers.tools"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_never_import_the_tools(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines()
                               if not line.lstrip().startswith(("!", "%")))   # shell and magics
            assert not tools_imports(source), f"{path.stem}: {cell.source[:80]!r}"
