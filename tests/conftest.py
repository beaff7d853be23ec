"""Shared fixtures: real data, the real shipped model, isolated progress/results files."""

import os

import pytest

os.environ.setdefault("TLW_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


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
