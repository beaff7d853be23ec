"""The project's own files describe one environment: pins agree, notebooks name the right kernel."""

import json
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
