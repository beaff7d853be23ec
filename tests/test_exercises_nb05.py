"""Notebook 05's checks: blank, plausible wrong answers (with their hints), other right answers."""

import warnings

import keras
import numpy as np
import pytest

from helpers import exercises, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def _small_model(dropout=0.3):
    inputs = keras.Input(shape=(8,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    if dropout is not None:
        x = keras.layers.Dropout(dropout)(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)
    return model


def _after_softmax():
    """Dropout after the softmax: it blanks class probabilities, it regularises nothing."""
    inputs = keras.Input(shape=(8,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    x = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, keras.layers.Dropout(0.3)(x))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)
    return model


_RNG = np.random.default_rng(0)
X, Y = _RNG.normal(size=(32, 8)).astype("float32"), _RNG.integers(0, 2, 32)
VAL = (_RNG.normal(size=(16, 8)).astype("float32"), _RNG.integers(0, 2, 16))         # the notebook's val
X_TEST, Y_TEST = _RNG.normal(size=(16, 8)).astype("float32"), _RNG.integers(0, 2, 16)


def _trained(model=None, validation=True, epochs=3, **stop):
    """``validation``: True (the notebook's val), False (none), or other ``(x, y)``."""
    model = model or _small_model()
    stopper = keras.callbacks.EarlyStopping(**({"monitor": "val_loss", "patience": 2,
                                                "restore_best_weights": True} | stop))
    data = VAL if validation is True else (validation or None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # Keras warns when the watched metric is missing
        model.fit(X, Y, validation_data=data, epochs=epochs, batch_size=8, verbose=0,
                  callbacks=[stopper])
    return model, stopper


def test_early_stopping_dropout_blank_and_right_answers():
    assert exercises.check_early_stopping_dropout(None, None, None, val=VAL).status == "not_done"
    assert exercises.check_early_stopping_dropout(*_trained(), None)          # val not given
    for right in (_trained(), _trained(epochs=8, patience=1),                  # may stop early
                  _trained(monitor="val_accuracy", patience=3)):
        fb = exercises.check_early_stopping_dropout(*right, None, val=VAL)
        assert fb.status == "passed", fb.message


@pytest.mark.parametrize("answer, hint", [
    (lambda: _trained(_small_model(None)), "no Dropout layer"),
    (lambda: _trained(_small_model(0.0)), "drops nothing"),
    (lambda: _trained(monitor="loss"), "watch a validation metric"),
    (lambda: _trained(restore_best_weights=False), "restore_best_weights=True"),
    (lambda: _trained(validation=False), "give fit the validation data"),
    (lambda: (_small_model(), _trained()[1]), "among its callbacks"),     # built, never used in fit
    (lambda: (_trained()[0], None), "Assign both"),
    (lambda: (_trained()[0], keras.callbacks.ModelCheckpoint("x.keras")), "EarlyStopping callback"),
    (lambda: _trained(_after_softmax()), "after the last Dense layer"),
    (lambda: _trained(validation=(X_TEST, Y_TEST)), "never the test set"),        # stopped on test
])
def test_early_stopping_dropout_wrong_answers(answer, hint):
    fb = exercises.check_early_stopping_dropout(*answer(), None, val=VAL)
    assert fb.status == "wrong" and hint in fb.message, fb.message


def _augment():
    return keras.Sequential([keras.layers.RandomFlip("horizontal", seed=0),
                             keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=0)])


def _model_with(aug, first=True, fit=True, near=None):
    inputs = keras.Input(shape=(28, 28, 1))
    x = aug(inputs) if first and aug is not None else inputs
    x = keras.layers.Conv2D(4, 3)(x)
    if not first and aug is not None:
        x = aug(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    if fit:
        model.fit(near.x_train[:16], near.y_train[:16], epochs=1, batch_size=16, verbose=0)
    return model


def test_augmentation_blank_and_right_answers(near):
    sample = near.x_train[:8]
    assert exercises.check_augmentation(None, sample, None, model=None).status == "not_done"
    assert exercises.check_augmentation(None, sample, None).status == "not_done"
    aug = _augment()
    assert exercises.check_augmentation(aug, sample, None, model=_model_with(aug, near=near))
    assert exercises.check_augmentation(_augment(), sample, None)           # without a model
    one = keras.layers.RandomRotation(0.1, fill_mode="constant", seed=0)   # one layer, no Sequential
    assert exercises.check_augmentation(one, sample, None, model=_model_with(one, near=near))
    seq = _augment()                                                        # its layers, unpacked
    flat = keras.Sequential([keras.Input(shape=(28, 28, 1)), *seq.layers, keras.layers.Flatten(),
                             keras.layers.Dense(4, activation="softmax")])
    flat.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    flat.fit(near.x_train[:16], near.y_train[:16], epochs=1, batch_size=16, verbose=0)
    assert exercises.check_augmentation(seq, sample, None, model=flat)


@pytest.mark.parametrize("mistake, hint", [
    ("dropout_only", "Dropout is not augmentation"),
    ("dropout_layer", "Dropout is not augmentation"),
    ("not_in_model", "not used in training"),
    ("after_the_base", "after layers with weights"),
    ("never_trained", "never been trained"),
    ("no_model", "Assign the model"),
    ("identity", "never changed"),
])
def test_augmentation_wrong_answers(near, mistake, hint):
    sample = near.x_train[:8]
    aug = {"dropout_only": keras.Sequential([keras.layers.Dropout(0.3)]),
           "dropout_layer": keras.layers.Dropout(0.3),
           "identity": keras.Sequential([keras.layers.Rescaling(1.0)])}.get(mistake, _augment())
    model = {"not_in_model": lambda: _model_with(None, near=near),
             "after_the_base": lambda: _model_with(aug, first=False, near=near),
             "never_trained": lambda: _model_with(aug, fit=False, near=near),
             "no_model": lambda: None}.get(mistake, lambda: _model_with(aug, near=near))()
    fb = exercises.check_augmentation(aug, sample, None, model=model)
    assert fb.status == "wrong" and hint in fb.message, fb.message


class _Unlucky:
    """An augmentation whose first training calls leave a small batch unchanged by chance (as a
    flip-only augmentation does on eight images once in 256 calls), and changes it afterwards."""

    def __init__(self, unlucky_calls=5):
        self.calls, self.unlucky_calls = 0, unlucky_calls

    def __call__(self, images, training=False):
        if not training:
            return images
        self.calls += 1
        return images if self.calls <= self.unlucky_calls else np.asarray(images)[:, :, ::-1]


def test_a_right_augmentation_never_fails_by_chance(near):
    sample = near.x_train[:8]
    fb = exercises.check_augmentation(_Unlucky(), sample, None)
    assert fb.status == "passed", fb.message
    flip = keras.Sequential([keras.layers.RandomFlip("horizontal")])       # unseeded, flip only
    for _ in range(10):
        assert exercises.check_augmentation(flip, sample, None)
    fb = exercises.check_augmentation(_Unlucky(unlucky_calls=10 ** 6), sample, None)
    assert fb.status == "wrong" and "never changed" in fb.message, fb.message
