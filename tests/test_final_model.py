"""Notebook 08's chosen model (helpers/final_model.py): the model exported is the model measured,
and the choice of contender reads validation only."""

import numpy as np
import pytest

from helpers import backbones, capstone, experiment, final_model, own_images


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """The offline example folder, small: four classes of 28x28 grey images, ten each."""
    folder = own_images.make_example_folder(tmp_path_factory.mktemp("own") / "images", per_class=10)
    return own_images.load_task(own_images.scan_folder(folder), 28, 1, seed=0)


def _accuracy(model, task) -> float:
    return float((model.predict(task.x_test, verbose=0).argmax(1) == task.y_test).mean())


@pytest.mark.parametrize("strategy", experiment.STRATEGIES)
def test_the_chosen_model_scores_what_its_row_measured(task, strategy):
    model, info = final_model.train_chosen(task, strategy, 2, seed=1, backbone=backbones.SOURCE_CNN,
                                           max_steps=10, val_images=len(task.y_val))
    row = info["row"]
    assert row["strategy"] == strategy and row["test_images"] == len(task.y_test)
    assert info["choice"] == row["choice"] and info["val_accuracy"] == row["val_accuracy"]
    assert _accuracy(model, task) == pytest.approx(row["accuracy"], abs=1e-9)
    # the same as the row run_cell makes without return_model (the learning curve's)
    again = experiment.run_cell(task, strategy, 2, 1, max_steps=10, val_images=len(task.y_val),
                                test_images=None, own=capstone.CURVE_MENUS[strategy],
                                augmentations=capstone.CURVE_AUGMENTATIONS)
    assert again["sample"] == row["sample"] and again["choice"] == row["choice"]


def test_the_exported_model_scores_what_its_row_measured(task, tmp_path):
    import keras

    model, info = final_model.train_chosen(task, "feature_extraction", 2, seed=0, max_steps=10,
                                           val_images=len(task.y_val))
    model.export(tmp_path / "model", verbose=False)
    served = keras.layers.TFSMLayer(tmp_path / "model", call_endpoint="serve")
    probs = np.asarray(served(task.x_test))
    assert float((probs.argmax(1) == task.y_test).mean()) == pytest.approx(info["row"]["accuracy"], abs=1e-9)


def _rows(val: dict, test: dict, seeds=(0, 1, 2, 3, 4)):
    noise = [0.0, 0.02, -0.02, 0.01, -0.01]
    return [{"task": "own", "per_class": 5, "strategy": s, "seed": seed,
             "accuracy": test[s] + noise[(seed + len(s)) % 5], "val_accuracy": val[s] + noise[seed], "macro_f1": test[s], "train_accuracy": 1.0,
             "seconds": 1.0, "trainable_params": 1, "steps": 0, "choice": "", "test_images": 40,
             "val_images": 40} for s in val for seed in seeds]


def _recommended(rows, weights="imagenet") -> str:
    """The contender the recommendation's words name (the last one its line mentions)."""
    line = next(x for x in capstone.recommendation(rows, weights).splitlines()
                if x.startswith("Recommendation:"))
    labels = capstone.display_labels(weights)
    return max((line.rfind(labels[s]), s) for s in labels if labels[s] in line)[1]


def test_cant_tell_chooses_on_validation_never_test():
    # validation ranks the control first, test ranks transfer a little ahead (the seeds can't
    # tell): the control is chosen, then the other way round
    val = {"scratch": 0.80, "fine_tuning": 0.70}
    test = {"scratch": 0.70, "fine_tuning": 0.71}
    for v, t, expected in ((val, test, "scratch"), ({"scratch": 0.70, "fine_tuning": 0.80}, test, "fine_tuning")):
        rows = _rows(v, t)
        (compared,) = capstone.comparison(rows)
        assert compared["verdict"] == "can't tell"
        assert final_model.chosen_strategy(compared, rows) == expected
        assert f"validation ranks {experiment.LABELS[expected]} higher" in capstone.recommendation(rows)


@pytest.mark.parametrize("weights", ["imagenet", "random"])
def test_the_exported_contender_is_the_recommended_one(weights):
    scenarios = [({"scratch": 0.80, "fine_tuning": 0.70}, {"scratch": 0.70, "fine_tuning": 0.71}),
                 ({"scratch": 0.60, "fine_tuning": 0.90}, {"scratch": 0.50, "fine_tuning": 0.90}),
                 ({"scratch": 0.90, "fine_tuning": 0.50}, {"scratch": 0.90, "fine_tuning": 0.50})]
    for val, test in scenarios:
        rows = _rows(val, test)
        chosen = final_model.chosen_strategy(capstone.comparison(rows)[-1], rows, weights)
        assert chosen == _recommended(rows, weights), (val, test)
        if weights == "random":       # no verdict on transfer: validation alone decides
            assert chosen == max(val, key=val.get)
