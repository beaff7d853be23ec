"""The two wings stay apart: what a learner reads (helpers/*.py, helpers/exercises/, the notebooks)
never imports the teacher's and CI's tools (helpers/tools/). And the modules' imports: no cycle
among helpers' modules, and the cheap modules cheap."""

import ast
import subprocess
import sys
import tomllib
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


# ---------------------------------------------------------------- the import graph and cheap modules

HELPERS = ROOT / "helpers"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(HELPERS.rglob("*.py"))}


def imported_modules(name: str, source: str, modules=MODULES) -> set[str]:
    """The modules of ``modules`` that module ``name`` imports, anywhere in its source: at its top,
    inside functions, under ``if``. ``from package import sub`` names the submodule when there is
    one, else the package; the ``helpers`` package itself (its ``__init__`` imports nothing of
    its own) is left out."""
    found = set()
    package = name.split(".") if modules.get(name, Path()).name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:   # helpers.models.set_seed -> helpers.models
                target = target.rpartition(".")[0]
            if target and target not in (name, "helpers"):
                found.add(target)
    return found


def find_cycle(graph: dict) -> list[str] | None:
    """One cycle of ``graph`` ({node: nodes it points to}) as [a, b, ..., a], or None."""
    state: dict = {}          # 1: on the current path, 2: done
    path: list = []

    def visit(node):
        state[node], _ = 1, path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_scanner_sees_every_form():
    modules = dict.fromkeys(["helpers.a", "helpers.b", "helpers.pkg", "helpers.pkg.c"], Path("x.py"))
    modules["helpers.pkg"] = Path("__init__.py")
    source = ("import helpers.b\nfrom helpers.pkg import c, NAME\nimport numpy\n"
              "def f():\n    from helpers.b import thing\n")
    assert imported_modules("helpers.a", source, modules) == {"helpers.b", "helpers.pkg.c", "helpers.pkg"}
    assert imported_modules("helpers.pkg.c", "from . import NAME\nfrom .c import x\n", modules) == \
        {"helpers.pkg"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_helpers_modules_import_each_other_without_cycles():
    """No two of helpers' modules import each other, directly or round a loop, not even from
    inside a function: a function that needs the other side belongs there."""
    graph = {name: imported_modules(name, path.read_text()) for name, path in MODULES.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _cheap_modules() -> list[str]:
    """The modules that pyproject.toml lets import inside functions because they must stay cheap
    (its per-file-ignores of PLC0415 for one helpers/*.py file each)."""
    ignores = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"][
        "per-file-ignores"]
    return sorted(_module_name(ROOT / pattern) for pattern, rules in ignores.items()
                  if "PLC0415" in rules and pattern.startswith("helpers/") and "*" not in pattern)


HEAVY = ("tensorflow", "keras", "numpy", "scipy", "sklearn", "matplotlib")


def test_the_cheap_modules_are_listed():
    assert {"helpers.config", "helpers.params"} <= set(_cheap_modules())


@pytest.mark.parametrize("module", _cheap_modules())
def test_cheap_modules_import_nothing_heavy(module):
    """What the command line and the parameter checks load stays free of the numeric stack, so
    `python -m helpers ...` and a notebook's first cell start fast."""
    code = (f"import sys\nimport {module}\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]", f"{module} imports {out.stdout.strip()}"

