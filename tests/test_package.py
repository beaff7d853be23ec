"""The course as a package and in Colab.

- The wheel carries the helpers and the files the notebooks read (the source model and its card,
  the quiz banks, the data manifest, the committed results, the worked solutions). Installed into
  a fresh virtual environment that cannot see this repository, it runs notebook 01 in quick mode
  from a temporary folder, reading those files from the installed package and writing nothing
  into it.
- Every numbered notebook opens with the same Colab cell (helpers/tools/colab.py), which does
  nothing outside Colab and, inside, installs the course before it imports anything from it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from helpers import config, data
from helpers.tools import colab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# not copied into the folder the wheel is built from: environments, outputs, caches, git
NOT_SOURCES = {".venv", ".git", "build", "cache", "__pycache__", ".pytest_cache", ".ruff_cache",
               ".ipynb_checkpoints"}


def _course_files() -> list[str]:
    """The repository's files the wheel must carry, as paths under helpers/_course/."""
    globs = ["models/source_cnn.keras", "models/source_cnn.json", "notebooks/quizzes/*.yml",
             "datasets/manifest.json", "datasets/results/*.json", "solutions/*.py"]
    return sorted(str(p.relative_to(ROOT)) for g in globs for p in ROOT.glob(g))


# ---------------------------------------------------------------- the wheel

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built offline from a copy of the working tree (nothing lands in the repository)."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist = base / "src", base / "dist"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [
        n for n in names if n in NOT_SOURCES or n.endswith(".egg-info")])
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    proc = subprocess.run([*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-q",
                           "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        "building the wheel failed (it needs setuptools>=77 from the `test` extra: make test "
        f"installs it):\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    (found,) = dist.glob("transfer_learning_workbook-*.whl")
    return found


def test_wheel_carries_the_helpers_and_the_course_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("helpers", "helpers/tools", "helpers/exercises"):
        modules = {p.name for p in (ROOT / package).glob("*.py")}
        assert {f"{package}/{m}" for m in modules} <= names, package
    missing = [f for f in _course_files() if f"helpers/_course/{f}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert "helpers/_course/datasets/results/06_choosing_a_strategy.grid.json" in names
    assert not [n for n in names if "/cache/" in n or n.startswith(("build/", "tests/"))]


# The first cell records every file the kernel opens; the last one prints where the modules and
# the course's files came from, so the test can tell the installed package from the repository.
_AUDIT = """\
import os as _os
import sys as _sys

_opened = []


def _record(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, _os.PathLike)):
        _opened.append(_os.fsdecode(args[0]))


_sys.addaudithook(_record)
"""
_REPORT = """\
import json, sys
from helpers import config
print("TLW-PACKAGE " + json.dumps({
    "executable": sys.executable, "installed": config.INSTALLED, "root": str(config.ROOT),
    "build": str(config.BUILD_DIR), "cache": str(config.CACHE_DIR), "opened": _opened,
    "modules": sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})}))
"""


def _fresh_venv(base: Path) -> tuple[Path, Path]:
    """A virtual environment with this one's packages on its path (a plain path line: the .pth
    files there, such as the editable install of this repository, are not run) but not the
    course. Returns (python, site-packages)."""
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "course_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return python, site


@pytest.mark.slow
def test_installed_wheel_runs_a_notebook_from_a_temporary_folder(wheel, tmp_path):
    python, site = _fresh_venv(tmp_path)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TLW_", "PYTHON", "JUPYTER", "NBGRADER")) and k != "VIRTUAL_ENV"}
    env.update(TLW_OFFLINE="1", TLW_DATA_DIR=str(data.locate_fashion_mnist(allow_download=False)),
               XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_DATA_HOME=str(tmp_path / "share"),
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), MPLCONFIGDIR=str(tmp_path / "mpl"))
    work = tmp_path / "work"
    work.mkdir()

    # Before the wheel: this environment sees the dependencies but not the course.
    probe = subprocess.run([str(python), "-c", "import keras, papermill; import helpers"], cwd=work,
                           env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode != 0 and "No module named 'helpers'" in probe.stderr, probe.stderr[-2000:]

    install = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "install",
                              "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    shipped = {p for p in (site / "helpers").rglob("*") if p.is_file() and "__pycache__" not in p.parts}

    nb = nbformat.read(ROOT / "notebooks" / "01_pretrained_model.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_AUDIT))
    nb.cells.append(nbformat.v4.new_code_cell(_REPORT))
    nbformat.write(nb, work / "01_pretrained_model.ipynb")
    run = subprocess.run([str(python), "-m", "papermill", "01_pretrained_model.ipynb", "out.ipynb",
                          "-p", "QUICK", "True", "--no-progress-bar", "--execution-timeout", "600"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]

    out = nbformat.read(work / "out.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in out.cells[-1].outputs)
    report = json.loads(text.split("TLW-PACKAGE ", 1)[1])
    installed = (site / "helpers").resolve()
    assert Path(report["executable"]).parent == python.parent, "the kernel ran another Python"
    assert report["installed"] is True and Path(report["root"]) == installed / "_course"
    # every module and every course file came from the environments, none from the repository
    # (this environment's packages may live inside it, in .venv)
    read = {Path(f).resolve() for f in report["modules"] + report["opened"] if f}
    from_repo = [f for f in read if f.is_relative_to(ROOT) and not f.is_relative_to(sys.prefix)]
    assert not from_repo, f"read from the repository: {sorted(from_repo)[:5]}"
    assert installed / "__init__.py" in read
    opened = {Path(p).resolve() for p in report["opened"]}
    assert installed / "_course" / "models" / "source_cnn.keras" in opened
    assert installed / "_course" / "notebooks" / "quizzes" / "01_pretrained_model.yml" in opened
    # outputs went to the current folder and the user's cache, nothing into the package
    assert Path(report["build"]) == work / "build" and (work / "build" / "results").is_dir()
    assert Path(report["cache"]) == tmp_path / "cache" / "transfer-learning-workbook"
    after = {p for p in installed.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert after == shipped, f"written into the installed package: {sorted(after - shipped)[:5]}"


def _subcommands() -> list[str]:
    from helpers.tools import cli

    (sub,) = [a for a in cli.build_parser()._actions if a.dest == "command"]
    return sorted(sub.choices)


@pytest.mark.slow
def test_installed_wheel_runs_every_command_from_a_temporary_folder(wheel, tmp_path):
    """``python -m helpers`` once installed: every subcommand's --help and ``doctor`` run from a
    folder outside the repository (the parser must not need paths inside the course's root)."""
    python, site = _fresh_venv(tmp_path)
    install = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "install",
                              "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TLW_", "PYTHON", "JUPYTER", "NBGRADER")) and k != "VIRTUAL_ENV"}
    env.update(TLW_OFFLINE="1", TLW_DATA_DIR=str(data.locate_fashion_mnist(allow_download=False)),
               XDG_CACHE_HOME=str(tmp_path / "cache"), MPLCONFIGDIR=str(tmp_path / "mpl"))
    work = tmp_path / "work"
    work.mkdir()

    def helpers(*args):
        return subprocess.run([str(python), "-m", "helpers", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    commands = _subcommands()
    assert {"assess", "doctor", "run"} <= set(commands)
    for command in [None, *commands]:
        done = helpers(*([command] if command else []), "--help")
        assert done.returncode == 0 and "Traceback" not in done.stderr, (command, done.stderr[-3000:])
        assert "usage: python -m helpers" in done.stdout, command
    assert "build/assess" in helpers("assess", "--help").stdout
    doctor = helpers("doctor")
    assert "Traceback" not in doctor.stderr + doctor.stdout, doctor.stderr[-3000:]
    assert "source model" in doctor.stdout and doctor.returncode in (0, 1), doctor.stdout[-3000:]
    # the command was run from the installed package, not from the repository
    where = subprocess.run([str(python), "-c", "import helpers; print(helpers.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, timeout=120)
    assert Path(where.stdout.strip()).resolve().is_relative_to(site.resolve()), where.stdout


# ---------------------------------------------------------------- the Colab cell

def test_there_is_a_notebook_to_check():
    assert [p.name for p in NOTEBOOKS] == [p.name for p in colab.notebooks()] and len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_opens_with_the_same_colab_cell(path):
    """The same text everywhere, the first code cell, right before the parameters:
    `python -m helpers.tools.colab` writes it."""
    assert colab.problems(path) == []


def test_writing_the_colab_cell_again_changes_nothing(tmp_path):
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / path.name)
    copies = sorted(tmp_path.glob("*.ipynb"))
    assert colab.write(copies) == []
    # and a notebook without it gets it before its parameters cell, nothing else changed
    nb = nbformat.read(copies[0], as_version=4)
    nb.cells = [c for c in nb.cells if "colab" not in c.metadata.get("tags", [])]
    nbformat.write(nb, copies[0])
    assert colab.write(copies) == [copies[0]] and colab.problems(copies[0]) == []
    assert copies[0].read_text() == NOTEBOOKS[0].read_text()


_RUN_CELL = textwrap.dedent("""\
    import json, subprocess, sys
    calls = []
    def fake_run(args, **kwargs):
        calls.append({"args": args, "helpers_imported": "helpers" in sys.modules})
        return subprocess.CompletedProcess(args, int(sys.argv[1]), "", "pip: no network")
    subprocess.run = fake_run
    if sys.argv[2] == "module":
        sys.modules["google.colab"] = type(sys)("google.colab")
    try:
        exec(compile(sys.stdin.read(), "colab-cell", "exec"), {})
    finally:
        print("CALLS " + json.dumps(calls))
    """)


def _run_cell(tmp_path, pip_status=0, colab_by="env"):
    env = {k: v for k, v in os.environ.items() if k != "COLAB_RELEASE_TAG"}
    env.update(TLW_OFFLINE="1", TLW_DATA_DIR=str(data.locate_fashion_mnist(allow_download=False)),
               PYTHONPATH=str(ROOT))
    if colab_by == "env":
        env["COLAB_RELEASE_TAG"] = "release-colab-test"
    proc = subprocess.run([sys.executable, "-c", _RUN_CELL, str(pip_status), colab_by],
                          input=colab.CELL, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    lines = proc.stdout.splitlines()
    calls = json.loads(lines[-1].removeprefix("CALLS "))
    return proc, lines[:-1], calls


def test_outside_colab_the_cell_does_nothing(tmp_path):
    proc, printed, calls = _run_cell(tmp_path, colab_by="nothing")
    assert proc.returncode == 0 and printed == [] and calls == [] and proc.stderr == ""


@pytest.mark.parametrize("colab_by", ["env", "module"])
def test_in_colab_the_cell_installs_the_course_first_then_fetches_the_data(tmp_path, colab_by):
    proc, printed, calls = _run_cell(tmp_path, colab_by=colab_by)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (call,) = calls
    assert call["args"][1:5] == ["-m", "pip", "install", "-q"] and "--no-deps" in call["args"]
    assert call["args"][-1] == f"git+{colab.REPOSITORY}"
    assert call["helpers_imported"] is False, "the cell imported helpers before installing them"
    folder = data.locate_fashion_mnist(allow_download=False)
    assert printed == [f"Colab: course installed, Fashion-MNIST ready in {folder}"]


def test_in_colab_a_failed_install_says_so(tmp_path):
    proc, printed, _ = _run_cell(tmp_path, pip_status=1)
    assert proc.returncode != 0 and printed == []
    assert "Installing the course failed" in proc.stderr and "pip: no network" in proc.stderr


def test_readme_opens_every_notebook_in_colab_from_the_same_repository():
    readme = (ROOT / "README.md").read_text()
    binder = re.search(r"https://mybinder\.org/v2/gh/([^/]+/[^/]+)/", readme).group(1)
    assert colab.REPOSITORY == f"https://github.com/{binder}"
    links = re.findall(r"https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/"
                       r"(notebooks/[0-9][0-9]_\w+\.ipynb)", readme)
    assert {repo for repo, _ in links} == {binder}
    assert sorted({path for _, path in links}) == [f"notebooks/{p.name}" for p in NOTEBOOKS]


def test_checkout_keeps_its_own_folders():
    """In the repository (and `pip install -e .`) the paths are the checkout's, as before."""
    assert config.INSTALLED is False and config.ROOT == ROOT
    assert config.MODELS_DIR == ROOT / "models" and config.SOURCE_MODEL_PATH.is_file()
    assert config.CACHE_DIR == ROOT / "datasets" / "cache" and config.BUILD_DIR == ROOT / "build"
    assert (config.NOTEBOOKS_DIR / "quizzes").is_dir() and config.SOLUTIONS_DIR.is_dir()
    assert (config.COMMITTED_RESULTS_DIR / "06_choosing_a_strategy.grid.json").is_file()


def test_readme_install_block_is_generated_from_the_measurements():
    from helpers.tools import installs
    from helpers.tools.blocks import generated_block

    measured = json.loads(installs.COMMITTED.read_text())
    labels = [e["label"] for e in measured["installs"]]
    assert any(label.startswith("before") for label in labels) and any("make lab" in x for x in labels)
    block = generated_block((ROOT / "README.md").read_text(), "install")
    assert block == installs.markdown(measured), "stale: run `python -m helpers.tools.installs readme`"
    learner = next(e for e in measured["installs"] if "make lab" in e["label"])
    before = next(e for e in measured["installs"] if e["label"].startswith("before"))
    assert learner["packages"] < before["packages"] and learner["size_mb"] < before["size_mb"]
