"""A learner's module reads in one sitting: every module under helpers/ (the teacher's and CI's
tools in helpers/tools/ aside) is at most ``MAX_LINES`` lines and says in ``__all__`` what it
offers. Read from the source (no import), so this costs nothing.

The two lists below are the modules still waiting for their split or their ``__all__``; each
entry must still need its exception, so a list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
MAX_LINES = 400
LEARNER_MODULES = sorted(p for p in HELPERS.rglob("*.py")
                         if "tools" not in p.relative_to(HELPERS).parts
                         and p.name != "__main__.py")   # `python -m helpers` is the CLI's door



def _name(path: Path) -> str:
    return path.relative_to(HELPERS).as_posix()


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def _all_names(tree: ast.Module) -> list | None:
    """The literal strings of a module's ``__all__`` (starred parts left out), or None."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                 for t in node.targets):
            return [e.value for e in getattr(node.value, "elts", [])
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return None


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize("path", LEARNER_MODULES, ids=_name)
def test_a_learner_module_reads_in_one_sitting(path):
    lines = _lines(path)
    assert lines <= MAX_LINES, (f"helpers/{_name(path)} has {lines} lines (at most {MAX_LINES}): "
                                "split it along its concerns, re-exporting the old names")


@pytest.mark.parametrize("path", LEARNER_MODULES, ids=_name)
def test_a_learner_module_says_what_it_offers(path):
    tree = ast.parse(path.read_text())
    names = _all_names(tree)
    assert names is not None, f"helpers/{_name(path)} has no __all__"
    missing = set(names) - _top_level_names(tree)
    assert not missing, f"helpers/{_name(path)}: __all__ names what it does not define: {missing}"


def test_the_experiment_package_offers_what_its_modules_offer():
    """helpers.experiment re-exports its six modules: its __all__ is theirs, each name once, and
    every name is there to be used (``experiment.run_cell``)."""
    import helpers.experiment as experiment

    parts = [getattr(experiment, m).__all__ for m in ("analysis", "cells", "contenders", "menus",
                                                      "reports", "training")]
    assert experiment.__all__ == [n for part in parts for n in part]
    assert len(set(experiment.__all__)) == len(experiment.__all__)
    assert all(hasattr(experiment, n) for n in experiment.__all__)


LONG_FUNCTION = 55   # lines: "no function over about 50 lines without a reason in its docstring"


def _long_functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > LONG_FUNCTION:
                yield node, length


@pytest.mark.parametrize("path", sorted((ROOT / "helpers").rglob("*.py")), ids=_name)
def test_a_long_function_says_why(path):
    """Functions read in one sitting too: over about 50 lines, the docstring says why."""
    unexplained = [f"{node.name} ({length} lines)" for node, length in _long_functions(path)
                   if "it is long because" not in " ".join((ast.get_docstring(node) or "").lower().split())]
    assert not unexplained, (f"helpers/{_name(path)}: {unexplained} are long with no reason: split "
                             "them, or say in the docstring why they are long ('It is long because ...')")
