"""The backbone abstraction (helpers/backbones.py) and notebook 06's comparison on any backbone.

The source CNN must give the committed grid's rows unchanged; an ImageNet family must run every
contender end to end with random weights, offline, without downloading anything. No test here
checks which contender wins.
"""

import collections
import random

import keras
import numpy as np
import pytest

from helpers import applications, backbones, capstone, config, data, experiment, features

TINY = backbones.keras_application("MobileNetV2", 32, weights=None)   # the smallest it accepts


def _tiny_task(shape=(20, 20, 3), seed: int = 0):
    """Three colour classes of noisy 20×20 images: train 30, validation 12, test 12."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = np.arange(n) % 3
        x = (rng.random((n, *shape)) * 0.3).astype("float32")
        for c in range(3):
            x[y == c, :, :, c % shape[-1]] += 0.6
        return x, y

    (xt, yt), (xv, yv), (xs, ys) = split(30), split(12), split(12)
    return data.Task("tiny", "synthetic colours", ["red", "green", "blue"], xt, yt, xv, yv, xs, ys,
                     {"flip_preserves_label": True})


def test_source_cnn_is_what_notebook_06_has_always_used():
    assert backbones.SOURCE_CNN.feature_layers == experiment.FEATURE_LAYERS
    assert backbones.SOURCE_CNN.input_shape == (28, 28, 1)
    assert backbones.named("source_cnn") is backbones.SOURCE_CNN
    assert backbones.SOURCE_CNN.trace_key((28, 28, 1)) == () and backbones.SOURCE_CNN.cache_tag() == ""
    with pytest.raises(ValueError, match="28x28 grey"):
        backbones.SOURCE_CNN.check_images((32, 32, 3))


@pytest.mark.parametrize("strategy", ["random_features", "feature_extraction"])
def test_default_backbone_reproduces_the_committed_grid(strategy):
    """The contenders that read the backbone, on a cell of a committed grid part made by the
    current protocol: every field the same."""
    part = experiment.load_results(config.COMMITTED_RESULTS_DIR / "grid-parts" / "far-1.json")
    p = part["parameters"]
    assert p["PROTOCOL"] == experiment.PROTOCOL
    row = next(r for r in part["rows"] if (r["task"], str(r["per_class"]), r["strategy"], r["seed"])
               == ("far", "1", strategy, 0))
    new = experiment.run_cell(data.get_task("far"), strategy, 1, seed=0, batch_size=p["BATCH_SIZE"],
                              test_images=p["TEST_IMAGES"], val_images=p["VAL_IMAGES"],
                              max_steps=p["MAX_STEPS"], backbone=backbones.SOURCE_CNN)
    assert {k: v for k, v in new.items() if k != "seconds"} == \
        {k: v for k, v in row.items() if k != "seconds"}


@pytest.mark.parametrize("family", sorted(backbones.PREPROCESS_SCALE))
def test_preparation_is_the_familys_own_preprocess_input(family):
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    scale, offset = backbones.PREPROCESS_SCALE[family]
    expected = np.asarray(applications.preprocess_input(family)(x * 255.0))
    assert np.allclose(x * scale + offset, expected, atol=1e-5)


def test_grey_images_are_resized_and_made_rgb_inside_the_network():
    grey = np.random.default_rng(0).random((2, 20, 20, 1)).astype("float32")
    ready = TINY.prepare(grey)
    assert ready.shape == (2, 32, 32, 3) and ready.min() >= -1 and ready.max() <= 1
    assert np.array_equal(ready[..., 0], ready[..., 2])
    model = TINY.pretrained((20, 20, 1))
    assert tuple(model.input.shape[1:]) == (20, 20, 1)
    assert all(name in [layer.name for layer in model.layers] for name in TINY.feature_layers)


def test_random_twin_is_the_same_architecture_with_other_weights():
    shape = (20, 20, 3)
    pre, again = TINY.pretrained(shape), TINY.pretrained(shape)
    twin, twin_again = TINY.random_init(1, shape), TINY.random_init(1, shape)
    assert [w.shape for w in pre.weights] == [w.shape for w in twin.weights]
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(pre.weights, again.weights, strict=True))
    assert all(np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(twin.weights, twin_again.weights, strict=True))
    assert not all(np.allclose(a.numpy(), b.numpy()) for a, b in zip(pre.weights, twin.weights, strict=True))


def test_loading_the_weights_once_moves_no_random_numbers():
    """A cold weight cache and a warm one leave the random numbers in the same state."""
    backbones._fixed_random_weights.cache_clear()
    draws = []
    for _ in range(2):
        random.seed(7)
        np.random.seed(7)
        TINY.pretrained((20, 20, 3))
        draws.append((random.random(), np.random.random()))
    assert draws[0] == draws[1]


def test_unfreezing_the_top_blocks_of_mobilenet():
    base = TINY.base(TINY.pretrained((20, 20, 3)))
    assert backbones.block_names(base, "MobileNetV2")[-2:] == ["block_15", "block_16"]
    names = TINY.unfreeze_top_blocks(base, 2)
    assert names and all(n.startswith(("block_15_", "block_16_", "Conv_1")) for n in names)
    assert any(n.startswith("block_15_") for n in names) and "Conv_1" in names
    assert not any(layer.trainable for layer in base.layers
                   if isinstance(layer, keras.layers.BatchNormalization))
    assert TINY.unfreeze_top_blocks(base, 0) == []
    with pytest.raises(ValueError, match="n_blocks"):
        TINY.unfreeze_top_blocks(base, 99)


def test_imagenet_weights_offline_fall_back_to_random_without_waiting(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TLW_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))           # an empty cache
    wanted = backbones.keras_application("MobileNetV2", 96, "imagenet")
    got = backbones.with_available_weights(wanted)
    assert got.weights is None and got.weights_label == "random" and got.name == "MobileNetV2"
    assert "TLW_OFFLINE" in capsys.readouterr().out
    assert backbones.named("MobileNetV2", 96, "random") == got
    with pytest.raises(ValueError, match="sizes"):
        backbones.keras_application("MobileNetV2", 32, "imagenet")   # no ImageNet weights at 32 px
    with pytest.raises(ValueError, match="Unknown backbone"):
        backbones.keras_application("ResNet50")


@pytest.mark.slow
def test_fine_tuning_and_frozen_features_on_an_imagenet_family(monkeypatch):
    """Fine-tuning on a tiny colour task with MobileNetV2 (random weights): a row that says which
    backbone ran, and a second run on the kept, traced model gives the same row; frozen features
    at another of its layers, calibrated. (Every contender on this family, in one sample, and
    their parameter counts: test_capstone_runs.py's photos test.)"""
    monkeypatch.setenv("TLW_OFFLINE", "1")
    task = _tiny_task()
    kw = dict(seed=0, max_steps=4, test_images=None, val_images=12, backbone=TINY,
              augmentations=("none",), own={"learning_rate": (1e-3,)})
    first = experiment.run_cell(task, "fine_tuning", 2, **kw)
    assert 0 <= first["accuracy"] <= 1 and first["test_images"] == 12 and first["train_images"] == 6
    assert (first["backbone"], first["weights"]) == ("MobileNetV2", "random")
    assert 0 < first["trainable_params"]
    again = experiment.run_cell(task, "fine_tuning", 2, **kw)   # traced, reused
    assert {k: v for k, v in again.items() if k != "seconds"} == \
        {k: v for k, v in first.items() if k != "seconds"}
    # frozen features at one of the family's own layers, BatchNormalization calibrated
    layer = next(name for name in TINY.feature_layers if name != "features")
    kw["own"] = {"layer": (layer,), "batchnorm": ("calibrated",)}
    frozen = experiment.run_cell(task, "feature_extraction", 2, **kw)
    assert frozen["setting"]["layer"] == layer and frozen["backbone"] == "MobileNetV2"
    assert 0 <= frozen["accuracy"] <= 1 and frozen["sample"] == first["sample"]


def test_frozen_contenders_choose_among_the_backbones_own_layers(monkeypatch):
    """Without a layer list of its own, a frozen contender's menu is the backbone's layers (×
    BatchNormalization kept or calibrated), and each setting reaches the trainer with the backbone."""
    seen = []

    def trainer(task, x, y, val, setting, seed, batch_size, pretrained_weights, backbone, max_steps):
        seen.append((setting["layer"], setting["batchnorm"], backbone))
        return (lambda images: np.zeros(len(images), int)), dict(
            val_accuracy=0.5, fitted=True, under_fit=False, steps=1, trainable_params=3, trained={})

    monkeypatch.setattr(experiment.contenders, "fixed_features", trainer)
    for strategy in ("feature_extraction", "random_features"):
        seen.clear()
        row = experiment.run_cell(_tiny_task(), strategy, 2, test_images=None, val_images=12,
                                  backbone=TINY, augmentations=("none",))
        assert row["menu_size"] == len(seen) == 2 * len(TINY.feature_layers)
        assert {layer for layer, _, _ in seen} == set(TINY.feature_layers) != {"features"}
        assert {bn for _, bn, _ in seen} == {"kept", "calibrated"}
        assert all(b is TINY for _, _, b in seen) and row["setting"]["layer"] in TINY.feature_layers


def test_imagenet_weights_from_keras_cache_load_offline(monkeypatch, tmp_path):
    """A weight file where Keras looks for it (MobileNetV2 checks no hash): the backbone loads
    it offline, behind its preparation layers, and keeps ImageNet as its weights."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    monkeypatch.setenv("TLW_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    # Keras read KERAS_HOME when it was imported; point it at the same folder for this test
    monkeypatch.setattr(keras.src.backend.config, "_KERAS_DIR", str(tmp_path))
    saved = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None)
    path = applications.cached_weights_path("MobileNetV2", 96)
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, saved)
    wanted = backbones.keras_application("MobileNetV2", 96, "imagenet")
    assert backbones.with_available_weights(wanted) is wanted
    model = wanted.pretrained((28, 28, 1))
    assert tuple(model.input.shape[1:]) == (28, 28, 1)
    loaded = [w for layer in backbones._weighted(model) for w in layer.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, saved.get_weights(), strict=True))


def _bn_stats(model):
    return [np.asarray(v) for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
            for v in (layer.moving_mean, layer.moving_variance)]


def test_the_fixed_random_draw_is_calibrated_as_the_twins_are():
    """With random weights, the stand-in for pretrained weights gets its BatchNormalization
    statistics from the sample exactly as a random twin does; pretrained weights keep theirs."""
    shape = (20, 20, 3)
    x = _tiny_task().x_train[:6]
    drawn = TINY.pretrained(shape)
    assert all(np.allclose(m, 0) for m in _bn_stats(drawn)[:1])            # uncalibrated: mean 0
    calibrated = TINY.calibrated(drawn, x)
    by_hand = features.calibrate_batchnorm(TINY.pretrained(shape), x)
    assert calibrated is drawn
    assert all(np.allclose(a, b) for a, b in zip(_bn_stats(calibrated), _bn_stats(by_hand), strict=True))
    assert not np.allclose(_bn_stats(calibrated)[0], 0)
    twin = features.calibrate_batchnorm(TINY.random_init(3, shape), x)
    assert [a.shape for a in _bn_stats(twin)] == [a.shape for a in _bn_stats(calibrated)]
    source = backbones.SOURCE_CNN.pretrained()
    before = _bn_stats(source)
    assert backbones.SOURCE_CNN.calibrated(source, np.zeros((4, 28, 28, 1), "float32")) is source
    assert all(np.array_equal(a, b) for a, b in zip(before, _bn_stats(source), strict=True))


def test_assessment_with_random_weights_calibrates_both_arms(monkeypatch):
    """With random weights both arms are offered the same BatchNormalization menu: each seed's
    sample (2 x 3 classes) calibrates a copy of the fixed draw and of that seed's twin."""
    monkeypatch.setenv("TLW_OFFLINE", "1")
    seen = []
    original = features.calibrate_batchnorm

    def spy(model, images, *args, **kwargs):
        # the learned weights say which network this is (calibration moves only the statistics)
        weights = b"".join(np.asarray(w).tobytes() for w in model.trainable_weights)
        seen.append((len(images), hash(weights)))
        return original(model, images, *args, **kwargs)

    monkeypatch.setattr(features, "calibrate_batchnorm", spy)
    found = capstone.assessment(_tiny_task(), TINY, budgets=[2], seeds=range(3), val_images=12,
                                test_images=12)
    assert [n for n, _ in seen] == [6] * 6
    # both arms: the fixed draw three times (once per seed), and three different twins
    assert sorted(collections.Counter(w for _, w in seen).values()) == [1, 1, 1, 3]
    assert [p["per_class"] for p in found] == [2] and found[0]["n"] == 3
    assert "random backbone (one fixed draw)" in capstone.format_assessment(found, "random")
