"""The project's own files describe one environment: pins agree, notebooks name the right kernel."""

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = PROJECT["dependencies"]
EXTRAS = PROJECT["optional-dependencies"]
# the teachers' and maintainers' tools: never in the learner's install
NOT_FOR_LEARNERS = {"nbgrader", "sphinx", "myst-nb", "sphinx-book-theme", "dask", "distributed",
                    "papermill", "playwright", "ruff", "pytest", "pytest-xdist", "nbval"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)).lower()


def _names(requirements) -> set[str]:
    return {_name(r) for r in requirements}


def test_environment_yml_pins_nothing_and_installs_the_course():
    """One list of pins (pyproject.toml); conda/Binder installs the course, which brings them."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-e ."]
    assert [d for d in env["dependencies"] if isinstance(d, str)] == ["python=3.11", "pip"]


def test_every_pin_is_exact_and_the_extras_are_teach_test_all():
    for requirement in RUNTIME + EXTRAS["teach"] + EXTRAS["test"]:
        assert re.search(r"==[0-9]", requirement), f"not pinned: {requirement}"
    assert set(EXTRAS) == {"teach", "test", "all"}
    assert EXTRAS["all"] == [f"{PROJECT['name']}[teach,test]"]
    groups = [_names(RUNTIME), _names(EXTRAS["teach"]), _names(EXTRAS["test"])]
    assert sum(map(len, groups)) == len(set().union(*groups)), "a package pinned twice"


def test_the_learners_install_leaves_the_tools_out():
    assert not _names(RUNTIME) & NOT_FOR_LEARNERS
    assert {"tensorflow-cpu", "keras", "jupyterlab", "ipykernel", "ipywidgets"} <= _names(RUNTIME)
    assert NOT_FOR_LEARNERS <= _names(EXTRAS["teach"]) | _names(EXTRAS["test"])


def _imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"helpers", "__future__"}


def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join(line for c in cells if c["cell_type"] == "code"
                     for line in "".join(c["source"]).splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def test_every_imported_package_is_declared_where_it_is_needed():
    """What the notebooks, the learner's modules and the worked solutions import is in the
    runtime; what helpers/tools imports is in the runtime or `teach`; what the tests import, in
    any group. Module names are mapped to distributions by the installed metadata."""
    import importlib.metadata as md

    learner = [p for p in (ROOT / "helpers").rglob("*.py") if "tools" not in p.relative_to(ROOT).parts]
    sources = {
        "runtime": [p.read_text() for p in learner + sorted((ROOT / "solutions").glob("*.py"))]
        + [_notebook_code(p) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))],
        "teach": [p.read_text() for p in (ROOT / "helpers" / "tools").rglob("*.py")],
        "test": [p.read_text() for p in [ROOT / "conftest.py", *(ROOT / "tests").rglob("*.py")]],
    }
    allowed = {"runtime": _names(RUNTIME)}
    allowed["teach"] = allowed["runtime"] | _names(EXTRAS["teach"])
    allowed["test"] = allowed["teach"] | _names(EXTRAS["test"])
    providers = md.packages_distributions()
    # the tests' shared helpers (e.g. tests/pages.py), unless an installed package has the name
    local = {p.stem for p in (ROOT / "tests").rglob("*.py") if not providers.get(p.stem)}
    missing = {}
    for group, texts in sources.items():
        imported = set().union(*map(_imports, texts)) - (local if group == "test" else set())
        for module in sorted(imported):
            dists = {_name(d) for d in providers.get(module, [])}
            if not dists & allowed[group]:
                missing[module] = (group, sorted(dists) or "not installed")
    assert not missing, f"imported but not declared in its group (module: group, provider): {missing}"


def test_make_lab_installs_the_course_and_make_test_everything(tmp_path):
    """Dry runs against an empty environment folder: the commands make would run."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    venv = tmp_path / "venv"

    def dry_run(goal):
        proc = subprocess.run(["make", "-n", goal, f"VENV={venv}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    lab, test = dry_run("lab"), dry_run("test")
    assert 'uv pip install -q --python' in lab and '-e "."' in lab
    assert "[teach]" not in lab and "[all]" not in lab and "nbgrader-ui.sh disable" in lab
    assert '-e ".[all]"' in test and "pip install -q -e \".[all]\"" in test   # uv, then pip's fallback
    assert f"touch {venv}/.installed-{digest}-course" in lab
    assert f"{venv}/.installed-{digest}-all" in test
    # a changed pyproject.toml has another hash: the old stamps go, and the install runs again
    assert f"! -name '.installed-{digest}-*' -delete" in lab


def test_install_measurements_use_the_makefiles_uv():
    from helpers.tools import installs

    assert f"UV_PIN  := {installs.UV_PIN}" in (ROOT / "Makefile").read_text()


def test_apt_txt_names_the_dataset_package():
    assert "dataset-fashion-mnist" in (ROOT / "apt.txt").read_text().split()


def test_jupyterlab_override_turns_news_off():
    overrides = json.loads((ROOT / "jupyter" / "overrides.json").read_text())
    notif = overrides["@jupyterlab/apputils-extension:notification"]
    assert notif["fetchNews"] == "false" and notif["checkForUpdates"] is False


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make lab") < readme.index("make test")


# ---------------------------------------------------------------- Binder / JupyterHub

def test_binder_environment_matches_pyproject():
    """repo2docker builds from environment.yml + apt.txt + postBuild + start in the root."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    minimum = pyproject["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))
    assert not (ROOT / "binder").exists(), "a binder/ folder would make repo2docker ignore the root files"
    for name in ("postBuild", "start"):
        path = ROOT / name
        assert path.stat().st_mode & 0o111, f"{name} must be executable"
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_binder_start_sets_quick_mode_and_runs_the_command():
    out = subprocess.run([str(ROOT / "start"), "env"], capture_output=True, text=True, check=True)
    assert "TLW_QUICK=1" in out.stdout.splitlines()


def test_binder_postbuild_runs_in_this_environment():
    """postBuild for real against this environment: settings copied, nbgrader menus off, data checked."""
    prefix = Path(sys.prefix)
    env = {**os.environ, "NB_PYTHON_PREFIX": str(prefix),
           "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([str(ROOT / "postBuild")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    settings = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert settings.read_text() == (ROOT / "jupyter" / "overrides.json").read_text()
    assert (prefix / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader").is_dir()
    assert "Fashion-MNIST ready" in proc.stdout


def test_readme_binder_badge_opens_the_welcome_notebook():
    import re

    readme = (ROOT / "README.md").read_text()
    url = re.search(r"https://mybinder\.org/v2/gh/[^)\s]+", readme).group(0)
    path = url.split("urlpath=lab/tree/", 1)[1]
    assert path == "notebooks/00_welcome.ipynb" and (ROOT / path).is_file()


# ---------------------------------------------------------------- package layout

TOOLS = {"cli", "runner", "bench", "book", "grading", "classroom", "doctor"}


def test_tools_live_in_their_own_wing():
    """helpers/ holds what backs the notebooks; the teacher's and CI's tools are in helpers/tools/."""
    top = {p.stem for p in (ROOT / "helpers").glob("*.py")}
    assert not top & TOOLS, f"tool modules at helpers/ top level: {sorted(top & TOOLS)}"
    assert TOOLS <= {p.stem for p in (ROOT / "helpers" / "tools").glob("*.py")}
    assert (ROOT / "helpers" / "tools" / "__init__.py").is_file()


def test_setuptools_packages_include_every_subpackage():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(setuptools["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "helpers").rglob("__init__.py")}
    assert {"helpers", "helpers.tools"} <= found and found <= packages, sorted(found - packages)
    # the course's files: each folder mapped once into helpers/_course/, in the checkout's layout
    mapped = setuptools["package-dir"]
    assert set(mapped) == {p for p in packages if p.startswith("helpers._course.")}
    for package, folder in mapped.items():
        assert package.removeprefix("helpers._course.").split(".") == folder.split("/")
        assert (ROOT / folder).is_dir(), folder
        for pattern in setuptools["package-data"][package]:
            assert list((ROOT / folder).glob(pattern)), f"{folder}/{pattern} matches nothing"


def test_python_m_helpers_help_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "helpers", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import re

    listed = re.search(r"\{([a-z,]+)\}", proc.stdout).group(1).split(",")
    assert listed == ["doctor", "data", "pretrain", "grid", "progress", "run", "report", "sweep", "student",
                      "teacher", "nbgrader", "html", "book", "bench", "tables", "assess"]
    for command in listed:   # each with its one-line help
        assert re.search(rf"^\s+{command}\s+\S", proc.stdout, re.M), command


def test_the_longest_test_files_listed_for_scheduling_exist_and_make_test_keeps_their_order():
    """conftest.py starts the longest test files first; make test must not let pytest-xdist
    reorder them (its default starts files with the most tests first)."""
    tree = ast.parse((ROOT / "conftest.py").read_text())
    listed = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", None) == "LONGEST_FIRST" for t in node.targets))
    assert listed and len(set(listed)) == len(listed)
    assert all((ROOT / "tests" / name).is_file() for name in listed), listed
    helpers_session = next(line for line in (ROOT / "Makefile").read_text().splitlines()
                           if "--dist loadfile" in line and "$(TEST_NOTEBOOKS)" not in line
                           and "nbval" not in line)
    assert "--no-loadscope-reorder" in helpers_session
