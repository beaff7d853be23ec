"""helpers.experiment.contenders: the five contenders, the random control, the choice on
validation. These tests check the protocol, never who wins."""

import numpy as np
import pytest

from helpers import data, experiment
from helpers.experiment import contenders


def test_every_transfer_strategy_has_a_random_init_control():
    assert set(experiment.CONTROL_OF) == set(experiment.TRANSFER)
    assert set(experiment.CONTROL_OF.values()) <= set(experiment.CONTROLS)
    assert not set(experiment.CONTROLS) & set(experiment.TRANSFER)
    assert set(experiment.NETWORKS) == {"random_features", "scratch", "feature_extraction", "fine_tuning"}


def test_augmented_copies_follow_the_policy_and_keep_labels(far):
    x, y = data.few_shot(far.x_train, far.y_train, 2, seed=0)
    xn, yn = contenders.augmented_copies(x, y, "none", copies=3, seed=0)
    assert np.array_equal(xn, x) and np.array_equal(yn, y)            # none: the sample alone
    xa, ya = contenders.augmented_copies(x, y, "shifts", copies=3, seed=0)
    assert xa.shape == (4 * len(y), 28, 28, 1) and np.array_equal(ya, np.tile(y, 4))
    assert np.array_equal(xa[:len(y)], x) and not np.array_equal(xa[len(y):2 * len(y)], x)
    again, _ = contenders.augmented_copies(x, y, "shifts", copies=3, seed=0)
    assert np.array_equal(xa, again)


def test_standardizer_does_not_blow_up_dead_features():
    train = np.zeros((20, 3), "float32")
    train[:, 0] = np.linspace(0, 1, 20)
    train[:, 1] = np.linspace(0, 2, 20)       # column 2 never fires in the sample
    scale = contenders.standardizer(train)
    new = np.array([[0.5, 1.0, 0.01]], "float32")
    assert np.abs(scale(new)).max() < 10       # not 0.01 / 1e-6 = 10,000
    assert scale(train)[:, 0].std() == pytest.approx(1, rel=1e-3)
    assert scale.mean.shape == scale.sd.shape == (3,)


def test_choose_keeps_the_best_on_validation_ties_to_the_first_and_records_every_try():
    menu = [{"augmentation": "none", "C": c} for c in (0.1, 1.0, 10.0)]
    val = {0.1: 0.5, 1.0: 0.8, 10.0: 0.8}

    def train_one(setting):
        return (lambda images: setting["C"]), {"val_accuracy": val[setting["C"]], "fitted": True,
                                               "under_fit": False}

    predict, info, tried = contenders.choose(train_one, menu)
    assert info["setting"] == menu[1] and predict(None) == 1.0
    assert [t["setting"] for t in tried] == menu
    assert [t["val_accuracy"] for t in tried] == [0.5, 0.8, 0.8]
    assert contenders.pick([(0.3,), (0.7,), (0.7,), (0.1,)]) == 1


def _features(ext, images):
    return ext.predict(images, verbose=0)


def test_the_random_control_differs_by_seed(far):
    probe = far.x_test[:20]
    a = contenders.extractor("features", pretrained_weights=False, seed=0)
    b = contenders.extractor("features", pretrained_weights=False, seed=1)
    again = contenders.extractor("features", pretrained_weights=False, seed=0)
    assert not np.allclose(_features(a, probe), _features(b, probe))
    assert np.allclose(_features(a, probe), _features(again, probe))    # the seed's own draw
    pre = contenders.extractor("features", pretrained_weights=True)
    assert [w.shape for w in pre.weights] == [w.shape for w in a.weights]   # same architecture
    assert not np.allclose(_features(a, probe), _features(pre, probe))
    with pytest.raises(ValueError, match="calibrat"):
        contenders.extractor("features", pretrained_weights=False, seed=0, batchnorm="calibrated")


def test_kept_and_calibrated_batchnorm_really_differ(far):
    """The menu's two BatchNormalization settings give different features, for the random
    control and for the pretrained network; calibrating never touches the kept network."""
    x, probe = far.x_train[:40], far.x_test[:20]
    kept = contenders.extractor("features", False, seed=0, batchnorm="kept")
    calibrated = contenders.extractor("features", False, seed=0, batchnorm="calibrated", calibrate_on=x)
    bn = next(layer for layer in kept.layers if "bn" in layer.name)
    bn_cal = calibrated.get_layer(bn.name)
    assert np.allclose(bn.moving_variance.numpy(), 1.0)          # as initialised
    assert not np.allclose(bn_cal.moving_variance.numpy(), 1.0)  # the sample's statistics
    assert not np.allclose(_features(kept, probe), _features(calibrated, probe))

    pre_kept = contenders.extractor("features", True, batchnorm="kept")
    before = _features(pre_kept, probe)
    pre_cal = contenders.extractor("features", True, batchnorm="calibrated", calibrate_on=x)
    assert not np.allclose(before, _features(pre_cal, probe))
    assert np.array_equal(before, _features(contenders.extractor("features", True), probe))
