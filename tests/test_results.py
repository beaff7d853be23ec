"""The committed full run of notebook 05's grid (datasets/results/): complete, and what it shows."""

import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parent.parent / "datasets" / "results"
GRID = RESULTS / "05_choosing_a_strategy.grid.json"


@pytest.fixture(scope="module")
def grid():
    return json.loads(GRID.read_text())


def test_full_grid_is_complete(grid):
    params = grid["parameters"]
    assert params["QUICK"] is False and params["SEEDS"] >= 3
    budgets = [str(b) for b in params["LABEL_BUDGETS"]]
    assert len(budgets) >= 4
    cells = {(s["task"], s["per_class"], s["strategy"]) for s in grid["summary"]}
    assert len(cells) == 2 * len(budgets) * 3
    assert all(s["seeds"] == params["SEEDS"] for s in grid["summary"])
    assert len(grid["rows"]) == len(cells) * params["SEEDS"]
    assert "python -m helpers run 05" in (RESULTS / "README.md").read_text()


def test_feature_extraction_beats_fair_scratch_at_5_labels_near(grid):
    cell = {s["strategy"]: s for s in grid["summary"] if s["task"] == "near" and s["per_class"] == "5"}
    fe, scratch = cell["feature_extraction"], cell["scratch"]
    assert fe["accuracy_mean"] - fe["accuracy_std"] > scratch["accuracy_mean"] + scratch["accuracy_std"]
