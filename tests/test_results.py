"""The committed full run of notebook 06's grid (datasets/results/) and the model card.

These tests check the protocol (complete, same samples, same budgets, choices on validation,
controls present) and that README's tables are generated from the files. They never check who
wins: the notebooks and README print whatever the committed run found.
"""

import numpy as np
import pytest

from helpers import experiment
from helpers.config import ROOT
from helpers.tools.blocks import generated_block
from helpers.tools.grid import markdown_table, source_fingerprint

RESULTS = ROOT / "datasets" / "results"


PARTS = sorted((RESULTS / "grid-parts").glob("*.json"))


@pytest.fixture(scope="module")
def grid():
    return experiment.load_results(experiment.COMMITTED_GRID)


def _keys(grid):
    return {(r["task"], str(r["per_class"]), r["strategy"], r["seed"]) for r in grid["rows"]}


def _seeds_by_cell(grid):
    out = {}
    for r in grid["rows"]:
        out.setdefault((r["task"], str(r["per_class"])), {}).setdefault(r["strategy"], set()).add(r["seed"])
    return out


def test_full_grid_is_complete(grid):
    """Three targets, budgets from 1 to 100, at least five seeds, every contender in every cell."""
    params = grid["parameters"]
    assert params["SEEDS"] >= 5 and {1, 2, 5, 20, 100} <= set(params["LABEL_BUDGETS"])
    expected = {(t, str(b), s, seed) for t in experiment.TASKS for b in params["LABEL_BUDGETS"]
                for s in experiment.STRATEGIES for seed in range(params["SEEDS"])}
    assert expected <= _keys(grid) and len(grid["rows"]) == len(_keys(grid))
    assert "python -m helpers grid" in (RESULTS / "README.md").read_text()


def test_only_the_cheap_contenders_have_extra_seeds_and_they_share_them(grid):
    """Extra seeds go to the cheap contenders only, all of them, so their comparisons stay paired."""
    params = grid["parameters"]
    for (task, budget), by_strategy in _seeds_by_cell(grid).items():
        core = set(range(params["SEEDS"]))
        for strategy, seeds in by_strategy.items():
            if strategy not in experiment.CHEAP:
                assert seeds == core, (task, budget, strategy)
        cheap = {frozenset(by_strategy[s]) for s in experiment.CHEAP}
        assert len(cheap) == 1, (task, budget)
        extra = sorted(set(next(iter(cheap))) - core)
        for strategy in experiment.CHEAP:
            assert params["EXTRA_SEEDS"].get(strategy, {}).get(f"{task} {budget}", []) == extra


def test_every_contender_saw_the_same_sample_and_images(grid):
    by_seed = {}
    for r in grid["rows"]:
        by_seed.setdefault((r["task"], str(r["per_class"]), r["seed"]), []).append(r)
    for key, rows in by_seed.items():
        assert len({r["sample"] for r in rows}) == 1, key
        assert len({(r["test_images"], r["val_images"], r["train_images"]) for r in rows}) == 1, key
    samples = {(k[0], k[1]): set() for k in by_seed}
    for (task, budget, _), rows in by_seed.items():
        samples[task, budget].add(rows[0]["sample"])
    seeds = _seeds_by_cell(grid)
    whole = experiment.whole_split_cells(grid["rows"])
    for cell, s in samples.items():  # one sample per seed, a different one for each seed ...
        if cell in whole:            # ... unless a class has fewer images than the budget
            from helpers import data

            task = data.get_task(cell[0])
            assert int(cell[1]) >= min(np.bincount(task.y_train)) and whole[cell] == len(task.y_train)
        else:
            assert len(s) == len(set.union(*seeds[cell].values())), cell
    assert set(whole) <= {("far", "100")}, whole   # only the digits have classes under 100 images


def test_test_and_validation_sizes_are_what_each_target_has(grid):
    from helpers import data

    for r in grid["rows"]:
        task = data.get_task(r["task"])
        assert r["test_images"] == min(2000, len(task.y_test))
        assert r["val_images"] == min(500, len(task.y_val))


def test_every_network_got_the_same_step_budget(grid):
    """The committed file predates the training rule: its networks shared a fixed step budget."""
    assert "PROTOCOL" not in grid["parameters"]
    by_sample = {}
    for r in grid["rows"]:
        if r["strategy"] in experiment.NETWORKS:
            by_sample.setdefault((r["task"], str(r["per_class"]), r["seed"]), set()).add(r["steps"])
    assert by_sample and all(len(steps) == 1 for steps in by_sample.values()), by_sample
    assert min(s for steps in by_sample.values() for s in steps) >= grid["parameters"]["STEP_LIMITS"][0]


def test_choices_were_made_on_validation_among_the_declared_candidates(grid):
    rates = grid["parameters"]["LEARNING_RATES"]
    for r in grid["rows"]:
        assert r["choice"] and 0 <= r["val_accuracy"] <= 1
        if r["strategy"] in rates:
            assert r["learning_rate"] in rates[r["strategy"]]
        elif r["strategy"] in ("feature_extraction", "random_features"):
            assert r["choice"] in experiment.FEATURE_LAYERS
        else:
            assert r["choice"].startswith("C=")


def test_every_transfer_strategy_stands_beside_its_random_init_control(grid):
    verdicts = grid["verdicts"]
    seeds = _seeds_by_cell(grid)
    assert len(verdicts) == len(experiment.TASKS) * len(grid["parameters"]["LABEL_BUDGETS"])
    for v in verdicts:
        assert v["transfer"] in experiment.TRANSFER and v["control"] in experiment.CONTROLS
        assert set(v["transfer_vs_each"]) == set(experiment.CONTROLS)
        assert v["verdict"] in ("ahead", "behind", "can't tell", "under-fit")
        assert (v["verdict"] == "under-fit") == bool(v["under_fit"])
        assert v["verdict"] in (v["verdict_per_cell"], "can't tell", "under-fit")
        for strategy, control in experiment.CONTROL_OF.items():
            p = v[f"{strategy}_vs_{control}"]
            shared = seeds[v["task"], str(v["per_class"])]
            n = len(shared[strategy] & shared[control])
            assert n >= grid["parameters"]["SEEDS"] and p["n"] == n
            assert p["verdict"] in ("ahead", "behind", "can't tell")
        for control, p in v["transfer_vs_each"].items():
            shared = seeds[v["task"], str(v["per_class"])]
            assert p["n"] == len(shared[v["transfer"]] & shared[control])


def test_committed_verdicts_are_recomputed_from_the_rows(grid):
    """The file's verdicts are what the rows give today (best on validation, paired intervals)."""
    assert experiment.verdicts(grid["rows"]) == grid["verdicts"]


def test_readme_table_is_generated_from_the_grid(grid):
    readme = (ROOT / "README.md").read_text()
    assert generated_block(readme, "grid") == markdown_table(grid), \
        "README's grid table is stale: run `python -m helpers tables`"



@pytest.mark.parametrize("doc", ["README.md", "docs/benchmark.md"])
def test_benchmark_tables_are_generated_from_the_bench_file(doc):
    import json

    from helpers.tools import bench

    res = json.loads(bench.COMMITTED.read_text())
    assert generated_block((ROOT / doc).read_text(), "bench") == bench.to_markdown(res).strip(), \
        f"{doc}'s benchmark table is stale: run `python -m helpers tables`"
    assert {line.split(":")[0] for line in res["targets"]} == set(bench.TARGETS)


def test_bench_measures_every_notebook_at_its_default_settings():
    """`make bench` runs each notebook as a learner gets it (QUICK off) and in quick mode."""
    import json

    from helpers.tools import bench

    res = json.loads(bench.COMMITTED.read_text())
    notebooks = {p.stem for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")}
    assert set(res["defaults"]["notebooks"]) == notebooks == set(res["course"]["notebooks"])
    seconds = [r["seconds"] for r in res["defaults"]["notebooks"].values()]
    assert res["defaults"]["max_s"] == max(seconds) and res["defaults"]["total_s"] == pytest.approx(sum(seconds))
    table = bench.to_markdown(res)
    for nb, r in res["defaults"]["notebooks"].items():
        assert f"| {nb} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |" in table


# ---------------------------------------------------------------- the re-run, in parts

@pytest.fixture(scope="module", params=PARTS, ids=[p.stem for p in PARTS])
def part(request):
    return experiment.load_results(request.param)


def test_parts_were_made_with_the_committed_source_model_and_protocol(part):
    params = part["parameters"]
    assert params["SOURCE_MODEL"] == source_fingerprint(), "a part made with another source model"
    assert params["PROTOCOL"] and params["OWN_SETTINGS"] == {
        s: {k: list(v) for k, v in own.items()} for s, own in experiment.OWN_SETTINGS.items()}
    assert params["AUGMENTATIONS"] == list(experiment.AUGMENTATIONS)


def test_every_part_is_complete_with_the_same_sample_per_seed(part):
    rows, params = part["rows"], part["parameters"]
    keys = {(r["task"], r["per_class"], r["strategy"], r["seed"]) for r in rows}
    assert keys == {(t, b, s, seed) for t in params["TASKS"] for b in params["LABEL_BUDGETS"]
                    for s in params["STRATEGIES"] for seed in params["SEED_LIST"]}
    by_seed = {}
    for r in rows:
        by_seed.setdefault((r["task"], r["per_class"], r["seed"]), set()).add(r["sample"])
    assert all(len(s) == 1 for s in by_seed.values())


def test_every_contender_chose_from_a_menu_of_the_same_size_on_validation(part):
    from helpers import data

    for r in part["rows"]:
        flips = data.get_task(r["task"]).meta.get("flip_preserves_label", True)
        menu = experiment.menu(r["strategy"], flips)
        assert r["menu_size"] == len(menu) == (12 if flips else 8)
        assert [t["setting"] for t in r["tried"]] == menu        # every setting tried, in order
        scores = [t["val_accuracy"] for t in r["tried"]]
        assert r["setting"] == menu[scores.index(max(scores))]   # the best on validation, first on ties
        assert round(r["val_accuracy"], 4) == max(scores)


def test_networks_followed_the_training_rule(part):
    for r in part["rows"]:
        if r["strategy"] in experiment.NETWORKS:
            assert 0 < r["steps"] <= 2 * r["max_steps"]          # fine-tuning: two phases
            assert r["kept_step"] <= r["steps"]
            assert not (r["fitted"] and r["under_fit"]) or r["strategy"] == "fine_tuning"
            if r["strategy"] == "scratch":           # trained end to end: it must reach the level
                assert r["under_fit"] == (not r["fitted"])
                assert r["steps"] >= r["max_steps"] - experiment.CHECK_EVERY or not r["under_fit"]
            if r["strategy"] == "fine_tuning":
                assert r["fitted"] or r["under_fit"]
        else:
            assert r["steps"] == 0 and not r["under_fit"]
