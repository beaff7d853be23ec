"""Shared fixtures: real data, the real shipped model, isolated progress/results files."""

import os

import pytest

os.environ.setdefault("TLW_QUICK", "1")


@pytest.fixture(autouse=True)
def _isolated_files(tmp_path, monkeypatch):
    """Each test writes progress and results into its own temporary folder."""
    monkeypatch.setenv("TLW_PROGRESS_FILE", str(tmp_path / "progress.json"))
    monkeypatch.setenv("TLW_RESULTS_DIR", str(tmp_path / "results"))


@pytest.fixture(scope="session")
def source_model():
    from helpers.models import load_source_model

    return load_source_model(retrain_if_missing=False)


@pytest.fixture(scope="session")
def near():
    from helpers.data import near_task

    return near_task()


def _netns_prefix() -> list[str]:
    """``unshare -n`` (a new network namespace with only loopback) when this machine allows it."""
    import shutil
    import subprocess

    if shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"],
                               capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "netns"]
    return []


@pytest.fixture(scope="session")
def course_run(request, tmp_path_factory):
    """The whole course executed once in quick mode with downloads forbidden.

    Under `make test` nbval has already executed every notebook in this test run (see the root
    conftest.py: each notebook leaves a marker with the run's ``TLW_TEST_RUN``), so its executed
    copies are used. Run on its own (``pytest tests``), the course is executed here through
    ``python -m helpers run --exercises both`` (papermill: each exercise blank, then solved, as
    `make test` runs them), where the machine allows with no network at all.
    """
    import subprocess
    import sys

    from helpers import config
    from helpers.tools import testrun

    names = [p.name for p in config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")]
    if testrun.ran_in_this_run(names):
        return {"out": testrun.EXECUTED_DIR, "stdout": "", "stderr": "", "returncode": 0,
                "executed_by": "nbval"}
    out = tmp_path_factory.mktemp("course")
    prefix = _netns_prefix()
    env = {**os.environ, "TLW_OFFLINE": "1", "TLW_QUICK": "1", "KERAS_HOME": str(out / "keras")}
    env.pop("TLW_RESULTS_DIR", None)
    proc = subprocess.run([*prefix, sys.executable, "-m", "helpers", "run", "--quick",
                           "--exercises", "both", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=3000)
    return {"out": out, "stdout": proc.stdout, "stderr": proc.stderr,
            "returncode": proc.returncode, "executed_by": "papermill"}


def pytest_terminal_summary(terminalreporter):
    """Print what tests attached as ``quiz_audit`` (tests/test_quiz_audit.py: the n-grams' rates
    among keys and distractors, the test-wise learners' scores), even under xdist."""
    for rep in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(rep, "user_properties", []):
            if name == "quiz_audit" and rep.when == "call":
                terminalreporter.write_sep("-", "quiz cue audit")
                terminalreporter.write_line(value)


@pytest.fixture(scope="session")
def far():
    """The far target (scikit-learn's digits at 28×28): small, offline, loaded once a session.
    Tests cut it down with ``copy.copy`` and slicing; none changes its arrays in place."""
    from helpers.data import far_task

    return far_task()
