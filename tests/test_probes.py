"""The linear probe, the random-weight control and the transferability assessment
(helpers/probes.py): choices on validation, equal menus, the test split read once."""

import numpy as np
import pytest

from helpers import data, features, models, probes


@pytest.fixture(scope="module")
def base():
    return models.source_base(models.load_source_model(retrain_if_missing=False))


def test_random_twin_has_the_architecture_but_not_the_weights(source_model):
    twin = probes.random_twin(source_model, seed=3)
    assert [layer.name for layer in twin.layers] == [layer.name for layer in source_model.layers]
    assert twin.count_params() == source_model.count_params()
    a, b = source_model.get_layer("block1_conv1").kernel, twin.get_layer("block1_conv1").kernel
    assert not np.allclose(a.numpy(), b.numpy())
    again = probes.random_twin(source_model, seed=3).get_layer("block1_conv1").kernel
    assert np.array_equal(b.numpy(), again.numpy())


def test_random_twin_draws_with_the_twin_seed_plus_the_sample_seed(source_model):
    """One control, defined in models.py: its weights are drawn with TWIN_SEED + the sample's
    seed, never with the sample's own seed."""
    import keras

    twin = probes.random_twin(source_model, seed=3).get_layer("block1_conv1").kernel.numpy()
    models.set_seed(models.TWIN_SEED + 3)
    by_hand = keras.models.clone_model(source_model).get_layer("block1_conv1").kernel.numpy()
    models.set_seed(3)
    own_seed = keras.models.clone_model(source_model).get_layer("block1_conv1").kernel.numpy()
    assert np.array_equal(twin, by_hand) and not np.allclose(twin, own_seed)


def test_a_copy_with_batchnorm_calibrated_leaves_the_original_alone():
    import keras

    inputs = keras.Input(shape=(8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    images = np.random.default_rng(0).normal(3.0, 2.0, (32, 8, 8, 3)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    twin = probes.calibrated_copy(model, images)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))
    assert np.array_equal(twin.get_layer("conv").get_weights()[0], model.get_layer("conv").get_weights()[0])
    conv_out = np.asarray(keras.Model(model.input, model.get_layer("conv").output)(images))
    mean = conv_out.reshape(-1, 4).mean(0)
    assert np.allclose(twin.get_layer("bn").moving_mean.numpy(), mean, atol=1e-4)
    assert np.allclose(model.get_layer("bn").moving_mean.numpy(), 0)


def test_transferability_chooses_on_validation_and_scores_both_models(source_model):
    import copy

    far = data.far_task()
    rows = probes.transferability(source_model, far, [2], [0, 1], ["block2_pool", "features"],
                                  val_images=100, test_images=200, progress=False)
    assert [(r["per_class"], r["seed"]) for r in rows] == [(2, 0), (2, 1)]
    for r in rows:
        for name in ("pretrained", "random"):
            assert r[f"{name}_layer"] in ("block2_pool", "features")
            assert 0 <= r[f"{name}_val"] <= 1 and 0 <= r[f"{name}_test"] <= 1
    scrambled = copy.copy(far)
    scrambled.y_test = np.random.default_rng(0).permutation(far.y_test)
    again = probes.transferability(source_model, scrambled, [2], [0, 1], ["block2_pool", "features"],
                                   val_images=100, test_images=200, progress=False)
    for a, b in zip(rows, again, strict=True):   # test labels never change a choice
        assert (a["pretrained_layer"], a["pretrained_val"]) == (b["pretrained_layer"], b["pretrained_val"])


def test_three_probes_chooses_on_validation_and_reads_test_once(source_model):
    far = data.far_task()
    twin = probes.random_twin(source_model, seed=0)
    r = probes.three_probes(far, source_model, twin, per_class=2, seed=0, test_images=100,
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
    again = probes.three_probes(scrambled, source_model, twin, per_class=2, seed=0, test_images=100,
                                val_images=60, layers=("block2_pool", "features"))
    for name in ("pretrained", "random weights"):
        assert again[f"{name} layer"] == r[f"{name} layer"]
        assert again[f"{name} batchnorm"] == r[f"{name} batchnorm"]
    text = probes.three_probes_in_words(r, "far")
    assert text.startswith("far: pretrained features") and "random weights" in text


def test_three_probes_makes_the_choice_transferability_makes(source_model):
    """Notebook 00's probes and the assessment share one protocol: on the same sample, each arm
    chooses the same layer and BatchNormalization statistics, with the same validation score."""
    far = data.far_task()
    layers = ("block2_pool", "features")
    r = probes.three_probes(far, source_model, probes.random_twin(source_model, 1), per_class=2,
                            seed=1, test_images=100, val_images=60, layers=layers)
    (row,) = probes.transferability(source_model, far, [2], [1], layers, val_images=60,
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
    twin = probes.random_twin(source_model, 0)
    depth = probes.depth_probe(source_model, twin, layers, (x, y), val, seed=0)
    assert set(depth) == {"pretrained", "random weights"}
    for name, options in (("pretrained", models.PRETRAINED_BATCHNORM),
                          ("random weights", models.TWIN_BATCHNORM)):
        arm = depth[name]
        assert set(arm["validation"]) == set(layers) and set(arm["batchnorm"].values()) <= set(options)
        assert arm["validation"][arm["layer"]] == max(arm["validation"].values())
        feats = probes.layer_features(arm["network"], layers, val[0])[arm["layer"]]
        assert arm["probe"].score(feats, val[1]) == pytest.approx(arm["validation"][arm["layer"]])
    # the twin's score at a layer is the better of its two treatments, each with C on validation
    calibrated = probes.random_twin(source_model, 0, calibrate_on=x)
    for layer in layers:
        by_hand = max(probes.tuned_probe(probes.layer_features(net, layers, x)[layer], y,
                                         probes.layer_features(net, layers, val[0])[layer], val[1],
                                         0)[1]
                      for net in (twin, calibrated))
        assert depth["random weights"]["validation"][layer] == pytest.approx(by_hand)


def test_three_probes_in_words_follows_the_numbers():
    ahead = {"pixels": 0.5, "random weights": 0.6, "pretrained": 0.7}
    behind = {"pixels": 0.8, "random weights": 0.9, "pretrained": 0.7}
    assert "did not beat" not in probes.three_probes_in_words(ahead, "x")
    assert probes.three_probes_in_words(behind, "x").count("did not beat") == 2


def test_probe_on_validation_and_source_choice(base, near):
    x, y = data.few_shot(near.x_train, near.y_train, 3, seed=0)
    val = (near.x_val[:80], near.y_val[:80])
    clf, acc = probes.probe_on_validation(base, (x, y), val)
    assert 0 <= acc <= 1
    feats = features.extract_features(base, val[0])
    assert acc == pytest.approx(clf.score(feats, val[1]))   # the score is a validation score


def test_assess_targets_pairs_every_target_and_budget(source_model):
    far = data.far_task()
    out = probes.assess_targets(source_model, [far], [1, 2], [0, 1], ["features"],
                                val_images=50, test_images=60)
    assert set(out) == {("far", 1), ("far", 2)}
    for p in out.values():
        assert p["n"] == 2 and p["bootstrap"][0] <= p["difference"] <= p["bootstrap"][1]


def test_plots_of_depth_and_assessment():
    import matplotlib

    matplotlib.use("Agg")
    depth = {("near", "pretrained"): {"a": 0.5, "b": 0.6}, ("near", "random weights"): {"a": 0.4, "b": 0.5}}
    ax = probes.plot_depth_probe(depth, ["a", "b"], title="t")
    assert len(ax.lines) == 2
    p = {"difference": 0.1, "bootstrap": [0.05, 0.15]}
    ax = probes.plot_assessment({("near", 1): p, ("far", 1): p}, title="t")
    assert ax.get_title() == "t"
