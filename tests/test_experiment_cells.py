"""helpers.experiment.cells: one contender on one few-shot sample gives one row.

The protocol: every contender of a seed trains on the same sample; every choice is made on
validation (the test images could be noise with scrambled labels and nothing chosen would
change); the row records the menu it chose from. These tests never check who wins. Menus are
narrowed and runs cut to a few steps, so each test takes seconds.
"""

import copy

import numpy as np
import pytest

from helpers import data, experiment, final_model, traced
from helpers.experiment import menus

TINY = dict(test_images=100, val_images=50, max_steps=10)
ONE = dict(augmentations=("none",), **TINY)


def _scrambled(task):
    """The task with its test images replaced by noise and its test labels permuted."""
    out = copy.copy(task)
    rng = np.random.default_rng(0)
    out.x_test = rng.random(task.x_test.shape).astype(task.x_test.dtype)
    out.y_test = rng.permutation(task.y_test)
    return out


@pytest.mark.parametrize("strategy, narrowed", [
    ("pixel_logreg", dict(own={"C": (1e-2, 1.0)})),
    # one learning rate, two augmentation policies: a menu of two, each a training run
    ("scratch", dict(own={"learning_rate": (1e-3,)}, augmentations=("none", "shifts"))),
])
def test_choices_read_validation_only(far, strategy, narrowed):
    """Noise for test images and scrambled test labels change the test score, never what was
    chosen on validation nor any validation score."""
    kw = dict(seed=0, test_images=200, val_images=60, max_steps=10, **narrowed)
    a = experiment.run_cell(far, strategy, 2, **kw)
    b = experiment.run_cell(_scrambled(far), strategy, 2, **kw)
    assert a["setting"] == b["setting"] and a["choice"] == b["choice"]
    assert a["tried"] == b["tried"] and a["val_accuracy"] == b["val_accuracy"]
    if strategy == "pixel_logreg":
        assert a["accuracy"] != b["accuracy"]           # the test images did change
    declared = menus.menu(strategy, far.meta["flip_preserves_label"], narrowed.get("own"),
                          narrowed.get("augmentations", menus.AUGMENTATIONS))
    assert a["menu_size"] == len(declared) == len(a["tried"])
    assert a["setting"] in declared and [t["setting"] for t in a["tried"]] == declared
    best = max(t["val_accuracy"] for t in a["tried"])
    assert a["val_accuracy"] == pytest.approx(best, abs=1e-4)
    assert a["choice"] == menus.describe_setting(a["setting"])


def test_every_contender_of_a_seed_trains_on_the_same_sample(far):
    strategies = ("pixel_logreg", "random_features", "feature_extraction")
    rows = experiment.run_grid([far], [2], [0, 1], strategies, progress=False,
                               menus_own=menus.ONE_SETTING, **ONE)
    assert [(r["strategy"], r["seed"]) for r in rows] == \
        [(s, seed) for s in strategies for seed in (0, 1)]
    by_seed = {seed: {r["sample"] for r in rows if r["seed"] == seed} for seed in (0, 1)}
    assert all(len(prints) == 1 for prints in by_seed.values())
    assert by_seed[0] != by_seed[1]
    x, y = data.few_shot(far.x_train, far.y_train, 2, seed=1)
    assert by_seed[1] == {experiment.sample_fingerprint(x, y)}
    for r in rows:
        assert r["train_images"] == 20 and r["menu_size"] == 1 and r["test_images"] == 100
        assert r["setting"] == menus.menu(r["strategy"], False, menus.ONE_SETTING[r["strategy"]],
                                          ("none",))[0]
        assert r["steps"] <= 10 and r["max_steps"] == (10 if r["strategy"] != "pixel_logreg" else 0)
        for key in ("accuracy", "macro_f1", "train_accuracy", "val_accuracy"):
            assert 0.0 <= r[key] <= 1.0, key


@pytest.mark.parametrize("strategy", ["pixel_logreg", "random_features", "feature_extraction",
                                      "scratch"])
def test_the_returned_model_reproduces_the_rows_accuracy(far, strategy):
    """What ``return_model=True`` hands back, wrapped as one Keras model, scores on the test
    images exactly what the row says."""
    row, trained = experiment.run_cell(far, strategy, 2, seed=0, own=menus.ONE_SETTING[strategy],
                                       return_model=True, **ONE)
    model = final_model.as_keras_model(trained)
    probs = model.predict(far.x_test[:100], verbose=0)
    assert probs.shape == (100, far.num_classes)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert float((probs.argmax(1) == far.y_test[:100]).mean()) == pytest.approx(row["accuracy"])


def test_a_reused_traced_model_gives_the_same_run_as_a_new_one(far):
    """The grid reuses one compiled model per architecture: a run on it equals a fresh one."""
    traced.forget()
    kw = dict(own=menus.ONE_SETTING["fine_tuning"], **ONE)
    first = experiment.run_cell(far, "fine_tuning", 2, 1, **kw)     # builds and traces
    assert traced.KEPT
    experiment.run_cell(far, "fine_tuning", 2, 0, **kw)             # another seed, same model
    again = experiment.run_cell(far, "fine_tuning", 2, 1, **kw)     # seed 1 again, reused
    for key in ("accuracy", "val_accuracy", "train_accuracy", "macro_f1", "tried", "steps"):
        assert again[key] == first[key], key


def test_all_budget_bad_strategy_and_bad_limits(far):
    """A budget at or above the smallest class's size trains on the whole split (digits: two
    classes have fewer than 100 training images)."""
    smallest = int(np.bincount(far.y_train).min())
    assert [experiment.sample_budget(far, b) for b in (5, smallest - 1, smallest, 100, "all")] == \
        [5, smallest - 1, "all", "all", "all"]
    with pytest.raises(ValueError, match="strategy must be one of"):
        experiment.run_cell(far, "magic", 5)
    with pytest.raises(ValueError, match="max_steps must be a positive number"):
        experiment.run_cell(far, "scratch", 5, max_steps=0)
    with pytest.raises(ValueError, match="scratch has no setting"):
        experiment.run_cell(far, "scratch", 5, own={"C": (1.0,)})
    with pytest.raises(ValueError, match="flips change this target's labels"):
        experiment.run_cell(far, "pixel_logreg", 5, augmentations=("shifts and flips",))


def test_run_extra_seeds_reproduces_the_cheap_contenders_extra_runs():
    rows = experiment.run_extra_seeds({"pixel_logreg": {"far 1": [5, 6]}}, progress=False,
                                      menus_own=menus.ONE_SETTING, **ONE)
    assert [(r["task"], r["per_class"], r["strategy"], r["seed"]) for r in rows] == \
        [("far", 1, "pixel_logreg", 5), ("far", 1, "pixel_logreg", 6)]
    assert rows[0]["sample"] != rows[1]["sample"] and rows[0]["menu_size"] == 1
