import keras
import numpy as np
import pytest

from helpers import data, freezing, models, pretrained


def _transfer(num_classes=4):
    base = models.source_base(models.load_source_model(retrain_if_missing=False))
    return base, pretrained.with_new_head(base, num_classes)


def test_counts_before_and_after_freezing():
    base, model = _transfer()
    before = freezing.count_params(model)
    freezing.freeze(base)
    after = freezing.count_params(model)
    head = 128 * 4 + 4
    assert after["trainable"] == head
    assert before["total"] == after["total"]
    assert before["trainable"] > after["trainable"]
    bn_stats = sum(int(np.prod(v.shape)) for v in base.weights if "moving" in v.path)
    assert before["non_trainable"] == bn_stats


def test_freeze_all_but_top_flags_and_errors():
    model = models.load_source_model(retrain_if_missing=False)
    names = freezing.freeze_all_but_top(model, 3)
    assert names == [layer.name for layer in model.layers[-3:]]
    assert all(not layer.trainable for layer in model.layers[:-3])
    assert freezing.freeze_all_but_top(model, 0) == []
    assert freezing.count_params(model)["trainable"] == 0
    for bad in (-1, 1.5, len(model.layers) + 1):
        with pytest.raises(ValueError):
            freezing.freeze_all_but_top(model, bad)


def test_frozen_weights_unchanged_head_changed_after_fit(near):
    base, model = _transfer()
    freezing.freeze(base)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    x, y = data.few_shot(near.x_train, near.y_train, 4, seed=0)
    before = freezing.snapshot_weights(model)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    moved, still = freezing.changed_and_unchanged(before, freezing.snapshot_weights(model))
    assert set(moved) == {"new_predictions/kernel", "new_predictions/bias"}
    assert len(still) == len(base.weights)


def test_trainable_change_needs_recompile(near):
    base, model = _transfer()
    x, y = data.few_shot(near.x_train, near.y_train, 4, seed=0)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    freezing.freeze(base)
    b = freezing.snapshot_weights(model)
    model.fit(x, y, epochs=1, verbose=0)
    moved, _ = freezing.changed_and_unchanged(b, freezing.snapshot_weights(model))
    assert any(not k.startswith("new_") for k in moved), "Keras changed: stale step no longer trains the base"


def test_batchnorm_demo_shows_drift(near):
    x, y = data.few_shot(near.x_train, near.y_train, 5, seed=0)
    out = freezing.batchnorm_demo(models.source_base, x, y, near.x_val[:300], near.y_val[:300],
                                  near.num_classes, epochs=3, batch_size=8)
    # the mechanism notebook 02 teaches: frozen statistics stay exactly put, trainable ones move
    # towards the new images (which gap is larger on one small sample is a result, not checked)
    assert out["right"]["bn_mean_drift"] == 0.0
    assert out["trap"]["bn_mean_drift"] > 0.01
    for mode in ("right", "trap"):
        assert all(0 <= out[mode][k] <= 1 for k in ("train_accuracy_reported",
                                                     "train_accuracy_inference", "val_accuracy"))


def test_batchnorm_layers_found_in_nested_model():
    base, model = _transfer()
    assert len(freezing.batchnorm_layers(model)) == 6
    stats = freezing.bn_moving_stats(model)
    assert len(stats) == 12


def test_training_false_at_the_call_vs_frozen_batchnorm(near):
    """What notebooks 02 and 04 teach about `training` and `trainable`, checked on the pinned Keras:
    under fit's training=True, `base(inputs, training=False)` does not keep an unfrozen
    BatchNormalization layer in inference mode (the outer call's mode overrides it), while the
    layer's own `trainable = False` does. If a Keras upgrade changes this, revisit the prose."""
    batch = near.x_train[:16]

    def drift(bn_trainable, inference_call):
        base = models.source_base(models.load_source_model(retrain_if_missing=False))
        base.trainable = True
        for layer in freezing.batchnorm_layers(base):
            layer.trainable = bn_trainable
        inputs = keras.Input(shape=(28, 28, 1))
        x = base(inputs, training=False) if inference_call else base(inputs)
        model = keras.Model(inputs, keras.layers.Dense(4)(x))
        before = freezing.bn_moving_stats(base)
        model(batch, training=True)                      # the call fit makes on every batch
        after = freezing.bn_moving_stats(base)
        return max(float(np.abs(after[k] - before[k]).max()) for k in before)

    assert drift(True, True) > 0 and drift(True, False) > 0      # training=False is overridden
    assert drift(False, True) == 0 and drift(False, False) == 0  # a frozen BN layer keeps its statistics


def test_watch_weights_reports_what_fit_changed(near):
    base, model = _transfer()
    freezing.freeze(base)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    x, y = data.few_shot(near.x_train, near.y_train, 2, seed=0)
    with freezing.watch_weights(model) as watch:
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert set(watch.moved) == {"new_predictions/kernel", "new_predictions/bias"}
    assert len(watch.still) == len(base.weights)
    assert watch.changes["new_predictions/kernel"] > 0
    with freezing.watch_weights(base) as nothing:   # no training: nothing moves
        model.predict(x, verbose=0)
    assert nothing.moved == [] and len(nothing.still) == len(base.weights)


def test_training_call_contrast_and_its_sentence(near):
    def build(base, inference_call):
        inputs = keras.Input(shape=(28, 28, 1))
        x = base(inputs, training=False) if inference_call else base(inputs)
        return keras.Model(inputs, keras.layers.Dense(4)(x))

    def make_base():
        return models.source_base(models.load_source_model(retrain_if_missing=False))

    contrast = freezing.training_call_contrast(make_base, build, near.x_train[:8])
    assert len(contrast) == 4
    for label, r in contrast.items():   # what notebook 02 teaches on the pinned Keras
        assert r["moving_averages_moved"] is ("trainable" in label)
    text = freezing.contrast_in_words(contrast, keras.__version__)
    assert "changed nothing" in text and "stayed put" in text


def test_plot_batchnorm_demo():
    import matplotlib

    matplotlib.use("Agg")
    row = {"train_accuracy_reported": 0.8, "train_accuracy_inference": 0.7, "val_accuracy": 0.6}
    ax = freezing.plot_batchnorm_demo({"right": row, "trap": row})
    assert len(ax.patches) == 6
