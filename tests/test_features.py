import numpy as np
import pytest

from helpers import data, features, models


@pytest.fixture(scope="module")
def base():
    return models.source_base(models.load_source_model(retrain_if_missing=False))


def test_extract_features_shape(base, near):
    f = features.extract_features(base, near.x_test[:10])
    assert f.shape == (10, 128) and f.dtype == np.float32


def test_cached_features_hit_and_keyed_by_weights(base, near, tmp_path):
    x = near.x_test[:50]
    f1, hit1 = features.cached_features(base, x, "t", cache_dir=tmp_path)
    f2, hit2 = features.cached_features(base, x, "t", cache_dir=tmp_path)
    assert (hit1, hit2) == (False, True) and np.array_equal(f1, f2)
    other = models.source_base(models.build_source_cnn())
    _, hit3 = features.cached_features(other, x, "t", cache_dir=tmp_path)
    assert hit3 is False  # different weights: never stale features
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_pooled_extractor_shapes(near):
    model = models.load_source_model(retrain_if_missing=False)
    assert features.pooled_extractor(model, "block1_pool").output.shape[-1] == 32
    assert features.pooled_extractor(model, "block2_pool").output.shape[-1] == 64


def test_pretrained_features_beat_pixels_with_few_labels(base, near):
    x, y = data.few_shot(near.x_train, near.y_train, 20, seed=0)
    xt, yt = near.x_test[:2000], near.y_test[:2000]
    pixels = features.linear_probe(features.flatten_pixels(x), y, features.flatten_pixels(xt), yt)
    last = features.linear_probe(features.extract_features(base, x), y,
                                 features.extract_features(base, xt), yt)
    mid = features.pooled_extractor(base, "block3_relu1")
    middle = features.linear_probe(features.extract_features(mid, x), y,
                                   features.extract_features(mid, xt), yt)
    assert last > pixels and middle > pixels


def test_cached_training_faster_at_equal_accuracy(base, near):
    out = features.in_loop_vs_cached(base, near.x_train[:800], near.y_train[:800],
                                     near.x_test[:500], near.y_test[:500], 4, epochs=3)
    assert out["speedup"] > 1.5
    assert abs(out["in_loop_accuracy"] - out["cached_accuracy"]) < 0.1


def test_regression_targets_and_model():
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    t = features.regression_pretext_targets(x)
    assert t.shape == (3, 49)
    assert t[0, 0] == pytest.approx(x[0, :4, :4, 0].mean())
    assert features.build_regression_model().output.shape[-1] == 49
