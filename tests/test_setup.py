"""The project's own files describe one environment: pins agree, notebooks name the right kernel."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_repeats_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(p for p in pip_section if p != "-e .") == sorted(project)
    assert "-e ." in pip_section


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
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "helpers").rglob("__init__.py")}
    assert found == {"helpers", "helpers.tools"} and found <= set(packages)


def test_python_m_helpers_help_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "helpers", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import re

    listed = re.search(r"\{([a-z,]+)\}", proc.stdout).group(1).split(",")
    assert listed == ["doctor", "data", "pretrain", "grid", "progress", "run", "report", "sweep", "student",
                      "teacher", "nbgrader", "html", "book", "bench", "tables"]
    for command in listed:   # each with its one-line help
        assert re.search(rf"^\s+{command}\s+\S", proc.stdout, re.M), command
