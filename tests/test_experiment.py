import json

import numpy as np
import pytest

from helpers import data, experiment, models, traced


def test_training_steps_same_budget_rules():
    assert experiment.training_steps(20, 32) == experiment.MIN_STEPS
    assert experiment.training_steps(4000, 32) == experiment.MAX_STEPS
    assert experiment.training_steps(1000, 32, 10, 10_000, epochs=2) == 64


@pytest.mark.parametrize("strategy", ["pixel_logreg", "knn_features", "feature_extraction"])
def test_cheap_contenders_report_all_measures(strategy):
    far = data.far_task()
    r = experiment.run_cell(far, strategy, 5, seed=0, steps=20, test_images=100, val_images=100)
    assert r["train_images"] == 50 and r["strategy"] == strategy
    for key in ("accuracy", "macro_f1", "train_accuracy", "val_accuracy"):
        assert 0.0 <= r[key] <= 1.0, key
    assert r["accuracy"] > 0.3  # far above chance (0.1) even with 5 digits per class
    assert r["seconds"] > 0 and r["choice"]
    assert r["steps"] == (20 if strategy == "feature_extraction" else 0)


def test_feature_extraction_picks_its_layer_on_validation():
    far = data.far_task()
    r = experiment.run_cell(far, "feature_extraction", 5, seed=0, steps=20, test_images=50,
                            val_images=100)
    assert r["choice"] in experiment.FEATURE_LAYERS
    width = {"features": 128, "block3_relu1": 128}[r["choice"]]
    assert r["trainable_params"] == width * 10 + 10


def test_networks_train_for_the_given_steps_and_pick_a_learning_rate():
    far = data.far_task()
    rs = [experiment.run_cell(far, s, 5, seed=0, steps=4, test_images=50, val_images=50,
                              learning_rates=lrs)
          for s, lrs in (("scratch", (1e-3, 3e-3)), ("fine_tuning", (1e-3,)))]
    assert [r["steps"] for r in rs] == [4, 4]
    assert rs[0]["learning_rate"] in (1e-3, 3e-3) and rs[1]["learning_rate"] == 1e-3
    assert rs[0]["trainable_params"] > rs[1]["trainable_params"] > 0


def test_grid_keeps_the_first_seeds_learning_rate():
    far = data.far_task()
    rows = experiment.run_grid([far], [5], [0, 1], strategies=("scratch",), progress=False,
                               steps=2, test_images=30, val_images=30,
                               learning_rates={"scratch": (1e-3, 3e-3)})
    assert len(rows) == 2 and rows[0]["learning_rate"] == rows[1]["learning_rate"]
    assert rows[1]["choice"] == f"lr={rows[0]['learning_rate']:g}"


def test_all_budget_and_bad_strategy():
    far = data.far_task()
    r = experiment.run_cell(far, "pixel_logreg", "all", seed=0, test_images=50, val_images=50)
    assert r["train_images"] == len(far.y_train)
    with pytest.raises(ValueError, match="strategy"):
        experiment.run_cell(far, "magic", 5)
    with pytest.raises(ValueError, match="learning_rates must list positive rates"):
        experiment.run_cell(far, "scratch", 5, learning_rates=())


def test_no_flip_for_digits():
    """Augmentation must keep the label: a mirrored digit is not that digit."""
    assert data.far_task().meta["flip_preserves_label"] is False
    assert data.near_task().meta["flip_preserves_label"] is True
    kinds = [type(layer).__name__ for layer in models.augmentation(flip=False).layers]
    assert "RandomFlip" not in kinds and "RandomTranslation" in kinds


def _rows():
    accs = {"pixel_logreg": (0.70, 0.72), "knn_features": (0.60, 0.62), "scratch": (0.55, 0.75),
            "feature_extraction": (0.80, 0.90), "fine_tuning": (0.712, 0.722)}
    return [{"task": "near", "per_class": 5, "strategy": s, "seed": seed, "accuracy": acc,
             "macro_f1": acc, "train_accuracy": 1.0, "seconds": 1.0, "trainable_params": 10,
             "steps": 300 if s in experiment.NETWORKS else 0, "choice": "x"}
            for s, pair in accs.items() for seed, acc in enumerate(pair)]


def test_aggregate_best_verdicts_and_save(tmp_path):
    summary = experiment.aggregate(_rows())
    fe = experiment.cell(summary, "near", 5, "feature_extraction")
    assert fe["accuracy_mean"] == pytest.approx(0.85) and fe["accuracy_std"] == pytest.approx(0.05)
    assert experiment.best_strategy(summary, "near", "5") == "feature_extraction"
    assert experiment.best_strategy(summary, "near", "5", among=("scratch", "knn_features")) == "scratch"
    assert experiment.beats(summary, "near", 5, "feature_extraction") == "wins"   # +0.14 > 0.05
    assert experiment.beats(summary, "near", 5, "fine_tuning") == "tie"          # +0.007 < 0.01
    assert experiment.beats(summary, "near", 5, "knn_features") == "loses"
    assert experiment.beats(summary, "near", 5, "scratch") == "tie"              # spread 0.1
    verdicts = {v["strategy"]: v["verdict"] for v in experiment.verdicts(summary)}
    assert verdicts == {"knn_features": "loses", "scratch": "tie", "feature_extraction": "wins",
                        "fine_tuning": "tie"}
    assert "0.850 ± 0.050" in experiment.format_summary(summary)
    experiment.save_results(tmp_path / "g.json", _rows(), summary, {"SEEDS": 2})
    assert json.loads((tmp_path / "g.json").read_text())["parameters"] == {"SEEDS": 2}


def test_markdown_table_is_built_from_the_numbers():
    summary = experiment.aggregate(_rows())
    table = experiment.markdown_table({"summary": summary, "parameters": {"SEEDS": 2}})
    row = next(line for line in table.splitlines() if line.startswith("| near | 5 |"))
    assert "**0.850 ± 0.050**" in row and "0.710 ± 0.010" in row
    assert row.endswith("feature extraction: wins |")
    with pytest.raises(KeyError):
        experiment.cell(summary, "far", 5, "scratch")


def test_near_target_is_off_centre_and_fixed():
    near = data.near_task()
    assert near.meta["max_shift_pixels"] == data.NEAR_MAX_SHIFT
    x = np.zeros((50, 28, 28, 1), "float32")
    x[:, 12:16, 12:16] = 1
    a, b = data.offset_images(x, 3, seed=1), data.offset_images(x, 3, seed=1)
    assert np.array_equal(a, b) and a.sum() == x.sum()  # shifted, nothing cut off, reproducible
    assert len({tuple(np.argwhere(img[..., 0])[0]) for img in a}) > 5


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["scratch", "feature_extraction", "fine_tuning"])
def test_reused_traced_model_gives_the_same_run_as_a_new_one(strategy, near):
    """The grid reuses one compiled model per architecture: a run on it must equal a fresh one."""
    traced.forget()
    kw = dict(steps=20, test_images=200, val_images=100, learning_rates=(1e-3,))
    first = experiment.run_cell(near, strategy, 3, 1, **kw)      # builds and traces
    assert traced.KEPT
    experiment.run_cell(near, strategy, 3, 0, **kw)              # another seed on the same model
    again = experiment.run_cell(near, strategy, 3, 1, **kw)      # seed 1 again, reused model
    for key in ("accuracy", "val_accuracy", "train_accuracy", "macro_f1"):
        assert again[key] == first[key], key
