import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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


def test_linear_probe_trains_on_the_sample_and_scores_the_test_images(base, near):
    """A standardised logistic regression fitted on the sample's features alone; the test images
    are scored as (image, label) pairs, whatever their order. Which features win is not checked."""
    x, y = data.few_shot(near.x_train, near.y_train, 20, seed=0)
    xt, yt = near.x_test[:500], near.y_test[:500]
    f, ft = features.extract_features(base, x), features.extract_features(base, xt)
    score = features.linear_probe(f, y, ft, yt)
    by_hand = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=0))
    assert score == pytest.approx(by_hand.fit(f, y).score(ft, yt))
    order = np.random.default_rng(0).permutation(len(yt))
    assert features.linear_probe(f, y, ft[order], yt[order]) == pytest.approx(score)
    pixels = features.linear_probe(features.flatten_pixels(x), y, features.flatten_pixels(xt), yt)
    assert features.flatten_pixels(x).shape == (len(x), 28 * 28) and 0 <= pixels <= 1


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
