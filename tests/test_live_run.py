"""helpers.live_run: notebook 06's live-run plan, from its parameters and the committed grid.

Whatever is asked, every contender chooses among the same number of settings, on validation,
for every seed."""

import json

import pytest

from helpers import experiment, live_run

COMMITTED = experiment.load_results(experiment.COMMITTED_GRID)
# A committed grid made under the current protocol, as `python -m helpers grid` merges one.
NEW_GRID = {"parameters": {"LABEL_BUDGETS": [1, 5, 20], "SEEDS": 3, "PROTOCOL": "now",
                           "EXTRA_SEEDS": {"pixel_logreg": {"far 1": [3, 4]}}}}


def test_the_default_menus_are_shifts_and_every_contenders_four_own_settings():
    plan = live_run.plan("near", "5", 0, 2, COMMITTED)
    assert (plan.targets, plan.budgets, plan.seeds) == (["near"], [5], [0, 1])
    assert plan.augmentations == ("shifts",) and plan.own == {}
    assert plan.max_steps == experiment.MAX_STEPS and not plan.quick and not plan.full_grid
    assert plan.menu_sizes() == dict.fromkeys(experiment.STRATEGIES, 4)
    assert plan.settings == dict(batch_size=32, augmentations=("shifts",),
                                 max_steps=experiment.MAX_STEPS, test_images=2000,
                                 val_images=500, menus_own={})
    assert plan.n_runs == 2 * len(experiment.STRATEGIES)
    text = str(plan)
    assert "= 10 runs" in text and "4 settings each" in text and "augmentation shifts x" in text


def test_asked_augmentations_give_every_contender_the_same_menu_size():
    plan = live_run.plan("far", "2,20", 3, 5, COMMITTED, augmentations="none, shifts")
    assert plan.budgets == [2, 20] and plan.seeds == [3, 4, 5, 6, 7]
    assert plan.augmentations == ("none", "shifts")
    assert plan.menu_sizes() == dict.fromkeys(experiment.STRATEGIES, 8)
    # flips are asked for but the digits drop them: still the same size for everyone
    plan = live_run.plan("far", "2", 0, 1, COMMITTED, augmentations="none,shifts and flips")
    assert plan.menu_sizes() == dict.fromkeys(experiment.STRATEGIES, 4)


@pytest.mark.parametrize("grid", [COMMITTED, NEW_GRID], ids=["committed", "new protocol"])
def test_full_grid_repeats_every_cell_of_the_committed_grid_with_full_menus(grid):
    plan = live_run.plan("near", "5", 0, 2, grid, full_grid=True, augmentations="none")
    p = grid["parameters"]
    assert plan.targets == list(experiment.TASKS)
    assert plan.budgets == [int(b) for b in p["LABEL_BUDGETS"]]
    assert plan.seeds == list(range(p["SEEDS"]))
    assert plan.augmentations == experiment.AUGMENTATIONS and plan.own == {}
    assert plan.extra_seeds == p["EXTRA_SEEDS"] and "extra seed runs" in str(plan)
    assert plan.n_runs == 3 * len(p["LABEL_BUDGETS"]) * len(experiment.STRATEGIES) * p["SEEDS"]
    assert plan.extra_settings == plan.settings


def test_full_grid_menus_are_twelve_settings_each_on_clothing():
    plan = live_run.plan("near", "5", 0, 2, NEW_GRID, full_grid=True)
    assert plan.menu_sizes() == dict.fromkeys(experiment.STRATEGIES, 12)   # first target: look


def test_quick_mode_is_small_whatever_was_asked():
    plan = live_run.plan("look", "2,20", 0, 5, NEW_GRID, full_grid=True, quick=True,
                         test_images=200, val_images=100)
    assert plan.seeds == [0, 1] and plan.budgets == [1] and plan.extra_seeds == {}
    assert plan.max_steps == live_run.QUICK_MAX_STEPS and plan.quick
    assert plan.own == experiment.ONE_SETTING and len(plan.augmentations) == 1
    assert plan.menu_sizes() == dict.fromkeys(experiment.STRATEGIES, 1)
    assert plan.settings["menus_own"] == experiment.ONE_SETTING
    assert (plan.settings["test_images"], plan.settings["val_images"]) == (200, 100)
    assert "quick mode" in str(plan) and "1 settings each" in str(plan)
    plan = live_run.plan("near", "5,20", 4, 3, COMMITTED, quick=True)
    assert (plan.seeds, plan.budgets, plan.augmentations) == ([4, 5], [5], ("shifts",))


@pytest.mark.parametrize("args, kw, name", [
    (("middle", "5", 0, 2), {}, "TARGET"),
    (("near", "5,x", 0, 2), {}, "LABEL_BUDGETS"),
    (("near", "", 0, 2), {}, "LABEL_BUDGETS"),
    (("near", "0", 0, 2), {}, "LABEL_BUDGETS"),
    (("near", "5", 0, 2), {"augmentations": "shifts,rotations"}, "AUGMENTATIONS"),
    (("near", "5", 0, 2), {"augmentations": ""}, "AUGMENTATIONS"),
    (("near", "5", 0, 0), {}, "SEEDS"),
    (("near", "5", 0, "two"), {}, "SEEDS"),
    (("near", "5", -1, 2), {}, "SEED"),
])
def test_bad_parameters_are_named(args, kw, name):
    with pytest.raises(ValueError, match=name):
        live_run.plan(*args, COMMITTED, **kw)


def test_parameters_are_plain_values():
    params = live_run.plan("near", "5", 0, 2, COMMITTED, batch_size=16).parameters()
    assert json.loads(json.dumps(params)) == params
    assert params["BATCH_SIZE"] == 16 and params["SEED_LIST"] == [0, 1] and params["LABEL_BUDGETS"] == [5]
    assert params["AUGMENTATIONS"] == ["shifts"] and params["MAX_STEPS"] == experiment.MAX_STEPS
    quick = live_run.plan("near", "5", 0, 2, COMMITTED, quick=True).parameters()
    assert json.loads(json.dumps(quick)) == quick
    assert quick["OWN_SETTINGS"]["scratch"] == {"learning_rate": [1e-3]} and quick["QUICK"]


def test_parse_helpers():
    assert live_run.parse_budgets(5) == [5] and live_run.parse_budgets("2, 20") == [2, 20]
    assert live_run.parse_augmentations(" none , shifts and flips ") == ("none", "shifts and flips")
