"""Every exercise check, on a correct and on a wrong answer; wrong answers get a specific hint."""

import keras

from helpers import data, exercises, models, pretrained, results


def test_feedback_renders_and_records():
    rec = results.Recorder("nbx")
    fb = exercises.check("demo", [(True, "a"), (False, "look at b")], "ok", rec)
    assert not fb and "look at b" in repr(fb) and "Not yet" in fb._repr_html_()
    assert rec.data["exercises"] == {"demo": False}
    assert exercises.check("demo2", [(True, "a")], "fine", rec)
    assert rec.data["exercises"]["demo2"] is True


def test_few_shot_sample(near):
    x, y = data.few_shot(near.x_train, near.y_train, 3)
    assert exercises.check_few_shot_sample(x, y, 4, 3)
    bad = exercises.check_few_shot_sample(near.x_train[:12], near.y_train[:12], 4, 3)
    assert not bad and "unbalanced" in bad.message
    assert "few_shot" in exercises.check_few_shot_sample(None, None, 4, 3).message


def test_features_check(source_model, near):
    base = models.source_base(source_model)
    x = near.x_test[:8]
    assert exercises.check_features(base.predict(x, verbose=0), base, x)
    wrong = exercises.check_features(source_model.predict(x, verbose=0), base, x)
    assert not wrong and "shape" in wrong.message


def test_submodel_check(source_model):
    good = keras.Model(source_model.input, source_model.get_layer("block2_pool").output)
    assert exercises.check_submodel(good, source_model, "block2_pool")
    wrong = keras.Model(source_model.input, source_model.get_layer("block1_pool").output)
    fb = exercises.check_submodel(wrong, source_model, "block2_pool")
    assert not fb and "get_layer('block2_pool')" in fb.message


def test_layer_slice_check(source_model):
    assert exercises.check_layer_slice([layer.name for layer in source_model.layers[-3:]], source_model, 3)
    fb = exercises.check_layer_slice(source_model.layers[-3:], source_model, 3)
    assert not fb and ".name" in fb.message
    assert not exercises.check_layer_slice(["a", "b"], source_model, 3)


def test_freeze_all_but_top_check():
    model = models.load_source_model(retrain_if_missing=False)
    for layer in model.layers[:-2]:
        layer.trainable = False
    assert exercises.check_freeze_all_but_top(model, 2)
    model.layers[-1].trainable = False
    fb = exercises.check_freeze_all_but_top(model, 2)
    assert not fb and "predictions" in fb.message


def test_frozen_and_recompiled_check(near):
    base = models.source_base()
    model = pretrained.with_new_head(base, 4)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(near.x_train[:16], near.y_train[:16], epochs=1, verbose=0)
    base.trainable = False
    fb = exercises.check_frozen_and_recompiled(model, base)
    assert not fb and "compile" in fb.message
    model.compile("adam", "sparse_categorical_crossentropy")
    assert exercises.check_frozen_and_recompiled(model, base)


def test_layer_features_check(source_model, near):
    from helpers.features import extract_features, pooled_extractor

    x = near.x_test[:6]
    good = extract_features(pooled_extractor(source_model, "block2_pool"), x)
    assert exercises.check_layer_features(good, source_model, "block2_pool", x)
    maps = pretrained.feature_maps(source_model, "block2_pool", x)
    fb = exercises.check_layer_features(maps, source_model, "block2_pool", x)
    assert not fb and "GlobalAveragePooling2D" in fb.message


def test_matching_head_check():
    def head(activation, loss):
        m = keras.Sequential([keras.Input(shape=(128,)), keras.layers.Dense(4, activation=activation)])
        m.compile("adam", loss)
        return m

    assert exercises.check_matching_head(head("softmax", "sparse_categorical_crossentropy"), 128, 4)
    assert exercises.check_matching_head(
        head(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True)), 128, 4)
    fb = exercises.check_matching_head(
        head("softmax", keras.losses.SparseCategoricalCrossentropy(from_logits=True)), 128, 4)
    assert not fb and "disagree" in fb.message
