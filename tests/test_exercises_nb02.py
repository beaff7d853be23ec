"""Notebook 02's checks: blank, plausible wrong answers (with their hints), other right answers."""

import keras
import numpy as np
import pytest

from helpers import exercises, models, pretrained, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def _head(x, n=4, softmax=True):
    return keras.layers.Dense(n, activation="softmax" if softmax else None)(x)


def test_model_as_layer_blank_and_right_answers():
    base = models.source_base()
    assert exercises.check_model_as_layer(None, base, 4, None).status == "not_done"
    inputs = keras.Input(shape=(28, 28, 1))
    assert exercises.check_model_as_layer(keras.Model(inputs, _head(base(inputs, training=False))),
                                          base, 4, None)
    inputs = keras.Input(shape=(28, 28, 1))                # dropout, then a separate Softmax layer
    x = keras.layers.Dropout(0.2)(base(inputs, training=False))
    out = keras.layers.Softmax()(keras.layers.Dense(4)(x))
    assert exercises.check_model_as_layer(keras.Model(inputs, out), base, 4, None)


@pytest.mark.parametrize("mistake, hint", [
    ("no_training_flag", "in inference mode, with the call's training argument"),
    ("no_softmax", "not probabilities"),
    ("sequential", "Sequential"),
    ("flattened", "one by one"),
    ("old_head_kept", "not one of your model's layers"),
    ("ten_classes", "4 outputs"),
])
def test_model_as_layer_wrong_answers(mistake, hint):
    base = models.source_base()
    inputs = keras.Input(shape=(28, 28, 1))
    if mistake == "no_training_flag":
        model = keras.Model(inputs, _head(base(inputs)))
    elif mistake == "no_softmax":
        model = keras.Model(inputs, _head(base(inputs, training=False), softmax=False))
    elif mistake == "sequential":
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), base, keras.layers.Dense(4)])
    elif mistake == "flattened":
        model = keras.Model(base.inputs, _head(base.outputs[0]))
    elif mistake == "old_head_kept":
        full = models.load_source_model(retrain_if_missing=False)
        model = keras.Model(inputs, _head(full(inputs, training=False)))
    else:
        model = keras.Model(inputs, _head(base(inputs, training=False), 10))
    fb = exercises.check_model_as_layer(model, base, 4, None)
    assert fb.status == "wrong" and hint in fb.message, fb.message


def _fresh():
    return models.load_source_model(retrain_if_missing=False)


def test_freeze_all_but_three_blank_and_right_answers():
    assert exercises.check_freeze_all_but_top(_fresh(), 3, None).status == "not_done"
    model = _fresh()
    for layer in model.layers[:-3]:
        layer.trainable = False
    assert exercises.check_freeze_all_but_top(model, 3, None)
    model = _fresh()
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= len(model.layers) - 3
    assert exercises.check_freeze_all_but_top(model, 3, None)


@pytest.mark.parametrize("wrong, hint", [
    (lambda m: [setattr(layer, "trainable", False) for layer in m.layers[-3:]], "other way round"),
    (lambda m: [setattr(layer, "trainable", False) for layer in m.layers[:-2]], "wrong flag"),
    (lambda m: [setattr(layer, "trainable", False) for layer in m.layers[:-4]], "wrong flag"),
    (lambda m: setattr(m, "trainable", False), "freezes everything"),
])
def test_freeze_all_but_three_wrong_answers(wrong, hint):
    model = _fresh()
    wrong(model)
    fb = exercises.check_freeze_all_but_top(model, 3, None)
    assert fb.status == "wrong" and hint in fb.message, fb.message


def _trained_once():
    """A tiny stand-in for notebook 02's ex_transfer: compiled and fitted once, base trainable."""
    inputs = keras.Input(shape=(8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="block1_conv1")(inputs)
    x = keras.layers.BatchNormalization(name="block1_bn1")(x)
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="tiny_base")
    model = pretrained.with_new_head(base, 3)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", run_eagerly=True)
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 8, 8, 1)), rng.integers(0, 3, 8), epochs=1, verbose=0)
    return model, base


def _recompile(model):
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")


@pytest.mark.parametrize("answer, status, hint", [
    ("nothing", "not_done", "Not done yet"),
    ("flag_and_compile", "passed", ""),
    ("layer_by_layer", "passed", ""),
    ("through_the_model", "passed", ""),
    ("flag_only", "wrong", "compile again"),
    ("compile_only", "wrong", "still trainable"),
    ("whole_model", "wrong", "whole model is frozen"),
    ("head_instead", "wrong", "still trainable"),
])
def test_frozen_and_recompiled(answer, status, hint):
    model, base = _trained_once()
    if answer == "flag_and_compile":
        base.trainable = False
        _recompile(model)
    elif answer == "layer_by_layer":                 # every layer of the base frozen, one by one
        for layer in base.layers:
            layer.trainable = False
        _recompile(model)
    elif answer == "through_the_model":
        model.get_layer("tiny_base").trainable = False
        _recompile(model)
    elif answer == "flag_only":
        base.trainable = False
    elif answer == "compile_only":
        _recompile(model)
    elif answer == "whole_model":
        model.trainable = False
        _recompile(model)
    elif answer == "head_instead":
        model.layers[-1].trainable = False
        _recompile(model)
    fb = exercises.check_frozen_and_recompiled(model, base, None)
    assert fb.status == status and hint in fb.message, fb.message
