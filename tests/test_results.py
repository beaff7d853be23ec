"""The committed full run of notebook 05's grid (datasets/results/): complete, fair, and what it shows.

These tests read the file; they fail if a re-run of the grid stops supporting what the course
and README say about it.
"""

import pytest

from helpers import experiment, results
from helpers.config import ROOT

RESULTS = ROOT / "datasets" / "results"


@pytest.fixture(scope="module")
def grid():
    return experiment.load_results(experiment.COMMITTED_GRID)


def _budgets(grid):
    return [str(b) for b in grid["parameters"]["LABEL_BUDGETS"]]


def test_full_grid_is_complete(grid):
    params = grid["parameters"]
    assert params["QUICK"] is False and params["SEEDS"] >= 3
    assert len(_budgets(grid)) >= 3 and {"5", "20"} <= set(_budgets(grid))
    cells = {(s["task"], s["per_class"], s["strategy"]) for s in grid["summary"]}
    assert len(cells) == 2 * len(_budgets(grid)) * len(experiment.STRATEGIES)
    assert all(s["seeds"] == params["SEEDS"] for s in grid["summary"])
    assert len(grid["rows"]) == len(cells) * params["SEEDS"]
    assert "python -m helpers run 05" in (RESULTS / "README.md").read_text()


def test_every_network_got_the_same_step_budget(grid):
    by_sample = {}
    for r in grid["rows"]:
        if r["strategy"] in experiment.NETWORKS:
            by_sample.setdefault((r["task"], str(r["per_class"]), r["seed"]), set()).add(r["steps"])
    assert by_sample and all(len(steps) == 1 for steps in by_sample.values()), by_sample
    assert min(s for steps in by_sample.values() for s in steps) >= experiment.MIN_STEPS


def test_scratch_model_fits_its_training_sample(grid):
    """With 5 or 20 labels per class the scratch CNN fits its sample (mean >= 0.99 per cell).

    With 100 per class the learning rate chosen on validation (the lowest candidate) leaves it
    a little short of memorising every augmented image within the step budget; the notebook
    prints those cells, and they must still be close.
    """
    for s in grid["summary"]:
        if s["strategy"] == "scratch":
            floor = 0.99 if s["per_class"] in ("5", "20") else 0.9
            assert s["train_accuracy_mean"] >= floor, (s["task"], s["per_class"], s["train_accuracy_mean"])


@pytest.mark.parametrize("task", ["near", "far"])
def test_scratch_beats_or_matches_pixel_logistic_regression_at_20(grid, task):
    """A scratch CNN that loses to pixel logistic regression is under-trained."""
    assert experiment.beats(grid["summary"], task, "20", "scratch") in ("wins", "tie")


@pytest.mark.parametrize("budget", ["5", "20"])
def test_transfer_beats_pixel_logistic_regression_on_near(grid, budget):
    verdicts = {s: experiment.beats(grid["summary"], "near", budget, s)
                for s in ("feature_extraction", "fine_tuning")}
    assert "wins" in verdicts.values(), verdicts


def test_choices_were_made_on_validation(grid):
    for r in grid["rows"]:
        assert r["choice"] and 0 <= r["val_accuracy"] <= 1
        if r["strategy"] in ("scratch", "fine_tuning"):
            candidates = (experiment.SCRATCH_LEARNING_RATES if r["strategy"] == "scratch"
                          else experiment.TUNE_LEARNING_RATES)
            assert r["learning_rate"] in candidates


def test_readme_table_is_generated_from_the_grid(grid):
    readme = (ROOT / "README.md").read_text()
    assert results.generated_block(readme, "grid") == experiment.markdown_table(grid), \
        "README's grid table is stale: run `python -m helpers tables`"


def test_generated_block_roundtrip(tmp_path):
    begin, end = results._markers("x")
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{begin}\nold\n{end}\noutro\n")
    assert results.replace_generated_block(doc, "x", "new table") is True
    assert results.generated_block(doc.read_text(), "x") == "new table"
    assert doc.read_text().startswith("intro\n") and doc.read_text().endswith("outro\n")
    assert results.replace_generated_block(doc, "x", "new table") is False
    with pytest.raises(ValueError, match="no generated block 'y'"):
        results.generated_block(doc.read_text(), "y")


@pytest.mark.parametrize("doc", ["README.md", "docs/benchmark.md"])
def test_benchmark_tables_are_generated_from_the_bench_file(doc):
    import json

    from helpers import bench

    res = json.loads(bench.COMMITTED.read_text())
    assert results.generated_block((ROOT / doc).read_text(), "bench") == bench.to_markdown(res).strip(), \
        f"{doc}'s benchmark table is stale: run `python -m helpers tables`"
    assert {line.split(":")[0] for line in res["targets"]} == set(bench.TARGETS)


def test_memory_table_is_generated_from_the_full_mode_file():
    """README's quick/full memory table comes from bench.json and memory_full.json."""
    import json

    from helpers import bench

    full = json.loads(bench.COMMITTED_MEMORY.read_text())
    assert full["mode"] == "full" and set(full["notebooks"]) == {p.stem for p in
                                                                ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")}
    table = bench.memory_markdown(json.loads(bench.COMMITTED.read_text()), full)
    assert results.generated_block((ROOT / "README.md").read_text(), "memory") == table.strip(), \
        "README's memory table is stale: run `python -m helpers tables`"
