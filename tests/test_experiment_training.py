"""helpers.experiment.training: every network trains by one rule (until it fits its sample and
validation stops improving, at most ``max_steps``), and keeps its best validation weights.

A two-class, two-dimensional problem and a softmax layer keep each run to a second or two.
"""

import keras
import numpy as np
import pytest

from helpers.experiment import training


def _blobs(n: int, seed: int, swap_labels: bool = False):
    """Two well separated blobs, ``n`` points, balanced; ``swap_labels`` gives each blob the
    other's label (a validation set that the fitted model gets all wrong)."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    x = (rng.normal(0, 0.3, (n, 2)) + np.where(y[:, None] == 1, 1.0, -1.0)).astype("float32")
    return x, (1 - y if swap_labels else y)


def _model():
    """A softmax layer that starts by calling everything class 0 (training accuracy 0.5)."""
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        2, activation="softmax", kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant([3.0, 0.0]))])


def _run(learning_rate, val=None, **kw):
    x, y = _blobs(40, 0)
    val = _blobs(40, 1) if val is None else val
    model = _model()
    kw = dict(dict(max_steps=500, check_every=5, patience=2), **kw)
    run = training.train_until_fit(model, training.feature_dataset(x, y, 8, 0),
                                   keras.optimizers.Adam, learning_rate, (x, y), val, **kw)
    return model, run, (x, y), val


def test_a_learnable_sample_is_fitted_and_the_run_stops_once_validation_stalls():
    model, run, train, val = _run(0.05)
    assert run["fitted"] and not run["under_fit"]
    assert run["fitted_at"] is not None and 0 < run["fitted_at"] <= run["steps"]
    # stopped by patience: two checks after the best validation, long before max_steps
    assert run["steps"] < 500 and run["steps"] % 5 == 0
    assert run["kept_step"] <= run["steps"] - 2 * 5
    assert run["val_accuracy"] == 1.0 and training.accuracy(model, *val) == 1.0
    assert run["final_train_accuracy"] >= training.FIT_LEVEL


def test_a_run_cut_off_by_max_steps_before_it_fitted_under_fits():
    """Patience longer than the run: nothing but max_steps stops it, before it fitted (and
    before its training accuracy could count as stalled)."""
    _, run, _, _ = _run(1e-9, max_steps=20, patience=10)
    assert run["steps"] == 20
    assert not run["fitted"] and run["fitted_at"] is None
    assert run["under_fit"]
    assert run["final_train_accuracy"] == 0.5          # it never learnt anything


def test_a_network_that_cannot_learn_runs_to_max_steps_and_under_fits():
    """Trained end to end, a network must fit its sample: at a learning rate of 1e-9 it learns
    nothing, so it runs to max_steps and under-fits, whatever its training accuracy does."""
    _, run, _, _ = _run(1e-9, max_steps=100)
    assert not run["fitted"] and run["fitted_at"] is None
    assert run["steps"] == 100 and run["under_fit"]


def test_a_head_on_frozen_features_may_stop_once_training_accuracy_stalls():
    """A head that cannot rise further (here: it learns nothing) stops after the patience, not at
    max_steps, and is not under-fit: that is what its features allow."""
    _, run, _, _ = _run(1e-9, max_steps=500, must_fit=False)
    assert not run["fitted"] and run["fitted_at"] is None
    assert run["steps"] < 500 and run["final_train_accuracy"] == 0.5
    assert not run["under_fit"]


def test_the_weights_of_the_best_validation_check_are_kept():
    """Validation labels swapped: the more the model fits its sample, the worse validation
    gets, so the kept weights are an early check's, not the final ones."""
    model, run, train, val = _run(0.05, val=_blobs(40, 1, swap_labels=True))
    assert run["fitted"] and run["final_train_accuracy"] >= training.FIT_LEVEL
    assert run["kept_step"] < run["steps"]
    assert training.accuracy(model, *val) == pytest.approx(run["val_accuracy"])
    # what the model holds now is not what it ended training with
    assert training.accuracy(model, *train) < run["final_train_accuracy"]


def test_check_every_is_capped_by_max_steps():
    _, run, _, _ = _run(0.05, max_steps=3, check_every=25)
    assert run["steps"] == 3


def test_image_dataset_refuses_unknown_policies():
    x, y = np.zeros((4, 28, 28, 1), "float32"), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="unknown augmentation policy 'rotations'"):
        training.image_dataset(x, y, 2, 0, "rotations")
    xb, yb = next(iter(training.image_dataset(x, y, 2, 0, "none")))
    assert xb.shape == (2, 28, 28, 1) and yb.shape == (2,)
