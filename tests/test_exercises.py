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


def test_unfrozen_top_block_check():
    base = models.source_base()
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block3_") and "bn" not in layer.name
    assert exercises.check_unfrozen_top_block(base, "block3")
    base.get_layer("block3_bn1").trainable = True
    fb = exercises.check_unfrozen_top_block(base, "block3")
    assert not fb and "block3_bn1" in fb.message
    base.trainable = False
    assert "base.trainable is False" in exercises.check_unfrozen_top_block(base, "block3").message


def test_lowered_learning_rate_check():
    model = pretrained.with_new_head(models.source_base(), 4)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    assert exercises.check_lowered_learning_rate(model, 1e-2)
    model.compile(keras.optimizers.Adam(5e-3), "sparse_categorical_crossentropy")
    fb = exercises.check_lowered_learning_rate(model, 1e-2)
    assert not fb and "at least 10x less" in fb.message
    model.compile(keras.optimizers.Adam(1e-7), "sparse_categorical_crossentropy")
    assert "barely move" in exercises.check_lowered_learning_rate(model, 1e-2).message


def test_control_on_validation_check():
    """05-1: the control is chosen by validation accuracy; choosing by test fails with a hint."""
    summary = [{"task": "far", "per_class": "5", "strategy": s, "accuracy_mean": t, "val_accuracy_mean": v}
               for s, t, v in (("pixel_logreg", 0.70, 0.72), ("random_features", 0.60, 0.61),
                               ("scratch", 0.74, 0.70), ("fine_tuning", 0.90, 0.90))]
    assert exercises.check_control_on_validation("pixel_logreg", summary, "far", 5)
    fb = exercises.check_control_on_validation("scratch", summary, "far", 5)   # best on test
    assert not fb and "val_accuracy_mean" in fb.message and "test" in fb.message
    fb = exercises.check_control_on_validation("fine_tuning", summary, "far", 5)  # not a control
    assert not fb and "not a control" in fb.message
    assert not exercises.check_control_on_validation(None, summary, "far", 5)


def test_paired_gain_check():
    """05-2: per-seed differences, paired by seed; unpaired or flipped answers fail with a hint."""
    rows = [{"task": "near", "per_class": 2, "strategy": s, "seed": seed, "accuracy": acc}
            for s, accs in (("fine_tuning", (0.80, 0.70, 0.90)), ("scratch", (0.75, 0.72, 0.80)))
            for seed, acc in zip((2, 0, 1), accs, strict=True)]
    right = [0.70 - 0.72, 0.90 - 0.80, 0.80 - 0.75]          # seeds 0, 1, 2
    assert exercises.check_paired_gain(right, rows, "near", 2, "fine_tuning", "scratch")
    fb = exercises.check_paired_gain([-d for d in right], rows, "near", 2, "fine_tuning", "scratch")
    assert not fb and "minus" in fb.message
    shuffled = [0.70 - 0.80, 0.90 - 0.75, 0.80 - 0.72]        # each list sorted by value, not seed
    fb = exercises.check_paired_gain(shuffled, rows, "near", 2, "fine_tuning", "scratch")
    assert not fb and "paired" in fb.message
    fb = exercises.check_paired_gain(right[:2], rows, "near", 2, "fine_tuning", "scratch")
    assert not fb and "one difference per seed" in fb.message


def test_preprocessed_and_kfold_checks(near):
    from helpers import applications

    images = near.x_test[:2]
    raw = applications.to_rgb_batch(images)
    good = keras.applications.mobilenet_v2.preprocess_input(raw)   # the natural answer: no .copy()
    assert exercises.check_preprocessed(good, "MobileNetV2", images)
    raw = applications.to_rgb_batch(images)
    fb = exercises.check_preprocessed(raw / 255.0, "MobileNetV2", images)
    assert not fb and "divided by 255" in fb.message
    fb = exercises.check_preprocessed(raw, "MobileNetV2", images)
    assert not fb and "still the raw" in fb.message
    twice = keras.applications.mobilenet_v2.preprocess_input(good.copy())
    assert not exercises.check_preprocessed(twice, "MobileNetV2", images)
    assert exercises.check_kfold_scores([0.8, 0.85, 0.9], 3)
    assert "same split" in exercises.check_kfold_scores([0.8, 0.8, 0.8], 3).message
    assert "Expected 3 scores" in exercises.check_kfold_scores([0.8, 0.9], 3).message
