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


def test_random_twin_has_the_architecture_but_not_the_weights(source_model):
    twin = features.random_twin(source_model, seed=3)
    assert [layer.name for layer in twin.layers] == [layer.name for layer in source_model.layers]
    assert twin.count_params() == source_model.count_params()
    a, b = source_model.get_layer("block1_conv1").kernel, twin.get_layer("block1_conv1").kernel
    assert not np.allclose(a.numpy(), b.numpy())
    again = features.random_twin(source_model, seed=3).get_layer("block1_conv1").kernel
    assert np.array_equal(b.numpy(), again.numpy())


def test_random_twin_draws_with_the_twin_seed_plus_the_sample_seed(source_model):
    """One control, defined in models.py: its weights are drawn with TWIN_SEED + the sample's
    seed, never with the sample's own seed."""
    import keras

    twin = features.random_twin(source_model, seed=3).get_layer("block1_conv1").kernel.numpy()
    models.set_seed(models.TWIN_SEED + 3)
    by_hand = keras.models.clone_model(source_model).get_layer("block1_conv1").kernel.numpy()
    models.set_seed(3)
    own_seed = keras.models.clone_model(source_model).get_layer("block1_conv1").kernel.numpy()
    assert np.array_equal(twin, by_hand) and not np.allclose(twin, own_seed)


def test_transferability_chooses_on_validation_and_scores_both_models(source_model):
    import copy

    far = data.far_task()
    rows = features.transferability(source_model, far, [2], [0, 1], ["block2_pool", "features"],
                                    val_images=100, test_images=200, progress=False)
    assert [(r["per_class"], r["seed"]) for r in rows] == [(2, 0), (2, 1)]
    for r in rows:
        for name in ("pretrained", "random"):
            assert r[f"{name}_layer"] in ("block2_pool", "features")
            assert 0 <= r[f"{name}_val"] <= 1 and 0 <= r[f"{name}_test"] <= 1
    scrambled = copy.copy(far)
    scrambled.y_test = np.random.default_rng(0).permutation(far.y_test)
    again = features.transferability(source_model, scrambled, [2], [0, 1], ["block2_pool", "features"],
                                     val_images=100, test_images=200, progress=False)
    for a, b in zip(rows, again, strict=True):   # test labels never change a choice
        assert (a["pretrained_layer"], a["pretrained_val"]) == (b["pretrained_layer"], b["pretrained_val"])


def test_three_probes_chooses_on_validation_and_reads_test_once(source_model):
    far = data.far_task()
    twin = features.random_twin(source_model, seed=0)
    r = features.three_probes(far, source_model, twin, per_class=2, seed=0, test_images=100,
                              val_images=60, layers=("block2_pool", "features"))
    for key in ("pixels", "random weights", "pretrained"):
        assert 0 <= r[key] <= 1
    assert r["pretrained layer"] in ("block2_pool", "features")
    assert r["pretrained batchnorm"] in models.PRETRAINED_BATCHNORM
    assert r["random weights batchnorm"] in models.TWIN_BATCHNORM
    assert r["pretrained points"].shape == (100, 2) and r["pixel points"].shape == (100, 2)
    assert len(r["y_test"]) == 100
    import copy

    scrambled = copy.copy(far)   # test labels never change a choice
    scrambled.y_test = np.random.default_rng(0).permutation(far.y_test)
    again = features.three_probes(scrambled, source_model, twin, per_class=2, seed=0, test_images=100,
                                  val_images=60, layers=("block2_pool", "features"))
    for name in ("pretrained", "random weights"):
        assert again[f"{name} layer"] == r[f"{name} layer"]
        assert again[f"{name} batchnorm"] == r[f"{name} batchnorm"]
    text = features.three_probes_in_words(r, "far")
    assert text.startswith("far: pretrained features") and "random weights" in text


def test_three_probes_makes_the_choice_transferability_makes(source_model):
    """Notebook 00's probes and the assessment share one protocol: on the same sample, each arm
    chooses the same layer and BatchNormalization statistics, with the same validation score."""
    far = data.far_task()
    layers = ("block2_pool", "features")
    r = features.three_probes(far, source_model, features.random_twin(source_model, 1), per_class=2,
                              seed=1, test_images=100, val_images=60, layers=layers)
    (row,) = features.transferability(source_model, far, [2], [1], layers, val_images=60,
                                      test_images=100, progress=False)
    for name, arm in (("pretrained", "pretrained"), ("random weights", "random")):
        assert (r[f"{name} layer"], r[f"{name} batchnorm"]) == (row[f"{arm}_layer"],
                                                                row[f"{arm}_batchnorm"])
        assert r[name] == pytest.approx(row[f"{arm}_test"])


def test_depth_probe_chooses_statistics_per_layer_on_validation(source_model):
    far = data.far_task()
    layers = ("block2_pool", "features")
    x, y = data.few_shot(far.x_train, far.y_train, 2, seed=0)
    val = (far.x_val[:60], far.y_val[:60])
    twin = features.random_twin(source_model, 0)
    depth = features.depth_probe(source_model, twin, layers, (x, y), val, seed=0)
    assert set(depth) == {"pretrained", "random weights"}
    for name, options in (("pretrained", models.PRETRAINED_BATCHNORM),
                          ("random weights", models.TWIN_BATCHNORM)):
        arm = depth[name]
        assert set(arm["validation"]) == set(layers) and set(arm["batchnorm"].values()) <= set(options)
        assert arm["validation"][arm["layer"]] == max(arm["validation"].values())
        feats = features.layer_features(arm["network"], layers, val[0])[arm["layer"]]
        assert arm["probe"].score(feats, val[1]) == pytest.approx(arm["validation"][arm["layer"]])
    # the twin's score at a layer is the better of its two treatments, each with C on validation
    calibrated = features.random_twin(source_model, 0, calibrate_on=x)
    for layer in layers:
        by_hand = max(features.probe(features.layer_features(net, layers, x)[layer], y,
                                     features.layer_features(net, layers, val[0])[layer], val[1], 0)[1]
                      for net in (twin, calibrated))
        assert depth["random weights"]["validation"][layer] == pytest.approx(by_hand)


def test_three_probes_in_words_follows_the_numbers():
    ahead = {"pixels": 0.5, "random weights": 0.6, "pretrained": 0.7}
    behind = {"pixels": 0.8, "random weights": 0.9, "pretrained": 0.7}
    assert "did not beat" not in features.three_probes_in_words(ahead, "x")
    assert features.three_probes_in_words(behind, "x").count("did not beat") == 2


def test_probe_on_validation_and_source_choice(base, near):
    x, y = data.few_shot(near.x_train, near.y_train, 3, seed=0)
    val = (near.x_val[:80], near.y_val[:80])
    clf, acc = features.probe_on_validation(base, (x, y), val)
    assert 0 <= acc <= 1
    feats = features.extract_features(base, val[0])
    assert acc == pytest.approx(clf.score(feats, val[1]))   # the score is a validation score


def test_assess_targets_pairs_every_target_and_budget(source_model):
    far = data.far_task()
    out = features.assess_targets(source_model, [far], [1, 2], [0, 1], ["features"],
                                  val_images=50, test_images=60)
    assert set(out) == {("far", 1), ("far", 2)}
    for p in out.values():
        assert p["n"] == 2 and p["bootstrap"][0] <= p["difference"] <= p["bootstrap"][1]


def test_plots_of_depth_and_assessment():
    import matplotlib

    matplotlib.use("Agg")
    depth = {("near", "pretrained"): {"a": 0.5, "b": 0.6}, ("near", "random weights"): {"a": 0.4, "b": 0.5}}
    ax = features.plot_depth_probe(depth, ["a", "b"], title="t")
    assert len(ax.lines) == 2
    p = {"difference": 0.1, "bootstrap": [0.05, 0.15]}
    ax = features.plot_assessment({("near", 1): p, ("far", 1): p}, title="t")
    assert ax.get_title() == "t"
