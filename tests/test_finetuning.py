import keras
import numpy as np
import pytest

from helpers import data, finetuning, freezing, models, pretrained


def _model():
    base = models.source_base(models.load_source_model(retrain_if_missing=False))
    return pretrained.with_new_head(base, 4), base


def test_unfreeze_top_blocks_flags():
    _, base = _model()
    names = finetuning.unfreeze_top_blocks(base, 1)
    assert names == ["block3_conv1", "block3_conv2"]
    assert all(not layer.trainable for layer in base.layers if layer.name.startswith("block3_bn"))
    assert finetuning.unfreeze_top_blocks(base, 0) == []
    assert len(finetuning.unfreeze_top_blocks(base, 3)) == 6
    for bad in (-1, 4, 1.0, True):
        with pytest.raises(ValueError):
            finetuning.unfreeze_top_blocks(base, bad)


def test_fine_tuning_changes_unfrozen_not_bn_stats_and_lr_lowered(near):
    model, base = _model()
    x, y = data.few_shot(near.x_train, near.y_train, 8, seed=0)
    base.trainable = False
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    finetuning.unfreeze_top_blocks(base, 1)
    finetuning.compile_for_fine_tuning(model, 1e-4)
    assert finetuning.current_learning_rate(model) == pytest.approx(1e-4)
    before, bn_before = freezing.snapshot_weights(model), freezing.bn_moving_stats(base)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    moved, still = freezing.changed_and_unchanged(before, freezing.snapshot_weights(model))
    assert {"block3_conv1/kernel", "block3_conv2/kernel"} <= set(moved)
    assert not any(k.startswith(("block1", "block2")) for k in moved)
    bn_after = freezing.bn_moving_stats(base)
    assert all(np.array_equal(bn_before[k], bn_after[k]) for k in bn_before)


def test_early_stopping_restores_best_weights(near):
    model, base = _model()
    base.trainable = False
    model.compile(keras.optimizers.Adam(0.5), "sparse_categorical_crossentropy")  # unstable on purpose
    x, y = data.few_shot(near.x_train, near.y_train, 10, seed=0)
    stop = finetuning.early_stopping(patience=2)
    snaps = []

    class Snap(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snaps.append((logs["val_loss"], [w.copy() for w in self.model.get_weights()]))

    model.fit(x, y, validation_data=(near.x_val[:200], near.y_val[:200]), epochs=8, verbose=0,
              callbacks=[Snap(), stop])
    best = min(range(len(snaps)), key=lambda i: snaps[i][0])
    assert stop.best_epoch == best
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snaps[best][1], strict=True))


def test_augment_before_cache_freezes_augmentation():
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype("float32")
    y = np.zeros(16, dtype="int64")
    _, bad = finetuning.distinct_images_over_epochs(
        finetuning.train_dataset(x, y, 8, augment_before_cache=True), 3)
    _, good = finetuning.distinct_images_over_epochs(finetuning.train_dataset(x, y, 8), 3)
    assert bad == 16 and good > 16


def test_merge_histories():
    merged = finetuning.merge_histories({"loss": [3, 2]}, {"loss": [1], "acc": [0.5]})
    assert merged == {"loss": [3, 2, 1], "acc": [0.5]}


def test_source_task_accuracy_of_untouched_base():
    """The original classifier put back on an untouched base scores what the source model scores."""
    from helpers.data import source_task

    model = models.load_source_model(retrain_if_missing=False)
    task = source_task()
    direct = float((model.predict(task.x_test[:1000], verbose=0).argmax(1) == task.y_test[:1000]).mean())
    assert finetuning.source_task_accuracy(models.source_base(model), 1000) == pytest.approx(direct, abs=1e-6)


# ---------------------------------------------------------------- a rare class (notebook 05)

def test_imbalanced_sample_cuts_one_class_only():
    x = np.arange(400, dtype="float32").reshape(400, 1)
    y = np.repeat(np.arange(4), 100)
    xs, ys = finetuning.imbalanced_sample(x, y, 30, rare_class=2, rare_count=3, seed=1)
    assert np.bincount(ys).tolist() == [30, 30, 3, 30]
    assert all(y[int(v)] == label for v, label in zip(xs[:, 0], ys, strict=True))  # labels kept
    xb, yb = data.few_shot(x, y, 30, seed=1)   # the other classes: the balanced sample's images
    for c in (0, 1, 3):
        assert set(xs[ys == c, 0]) == set(xb[yb == c, 0])
    assert set(xs[ys == 2, 0]) < set(xb[yb == 2, 0])
    for bad in (0, 31, 2.0):
        with pytest.raises(ValueError):
            finetuning.imbalanced_sample(x, y, 30, 2, bad)
    with pytest.raises(ValueError, match="rare_class"):
        finetuning.imbalanced_sample(x, y, 30, 7, 3)


def test_balanced_class_weights_give_each_class_the_same_total():
    y = np.array([0] * 30 + [1] * 30 + [2] * 3 + [3] * 30)
    w = finetuning.balanced_class_weights(y, 4)
    assert set(w) == {0, 1, 2, 3}
    totals = [w[c] * (y == c).sum() for c in range(4)]
    assert np.allclose(totals, len(y) / 4)
    assert w[2] == pytest.approx(10 * w[0])
    assert finetuning.balanced_class_weights(np.repeat(np.arange(3), 5)) == {0: 1.0, 1: 1.0, 2: 1.0}
    with pytest.raises(ValueError, match="at least one image"):
        finetuning.balanced_class_weights(np.array([0, 0, 2]), 3)


def test_oversample_repeats_small_classes_to_the_largest():
    x = np.arange(63, dtype="float32").reshape(63, 1)
    y = np.array([0] * 30 + [1] * 3 + [2] * 30)
    xo, yo = finetuning.oversample(x, y, seed=0)
    assert np.bincount(yo).tolist() == [30, 30, 30]
    assert set(xo[yo == 1, 0]) == {30.0, 31.0, 32.0}       # only the rare class's own images
    assert all(y[int(v)] == label for v, label in zip(xo[:, 0], yo, strict=True))
    assert not np.array_equal(yo[:30], np.zeros(30))        # shuffled
    xo2, yo2 = finetuning.oversample(x, y, seed=0)
    assert np.array_equal(xo, xo2) and np.array_equal(yo, yo2)


def test_recall_per_class():
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    r = finetuning.recall_per_class(y_true, y_pred, 4)
    assert r[:3].tolist() == [0.75, 1.0, 0.0] and np.isnan(r[3])
