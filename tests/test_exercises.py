"""Every exercise check, on a correct and on a wrong answer; wrong answers get a specific hint."""

import warnings

import keras
import numpy as np
import pytest

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


def test_few_shot_sample_must_come_from_the_training_split(near):
    """00-1: a balanced sample of *test* images fails in the check itself, not only in a hidden test."""
    x, y = data.few_shot(near.x_train, near.y_train, 3, seed=0)
    assert exercises.check_few_shot_sample(x, y, 4, 3, train=near.x_train, task="near")
    x_test, y_test = data.few_shot(near.x_test, near.y_test, 3, seed=0)   # balanced, right shape
    fb = exercises.check_few_shot_sample(x_test, y_test, 4, 3, train=near.x_train, task="near")
    assert not fb and "near.x_test is kept for scoring" in fb.message
    mixed = np.concatenate([x[:-1], x_test[-1:]])                         # one test image is enough
    assert not exercises.check_few_shot_sample(mixed, y, 4, 3, train=near.x_train, task="near")


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


def test_model_as_layer_check():
    """02-1: the base itself, one layer, called with training=False, under a new head."""
    base = models.source_base()

    def head(x, n=4):
        return keras.layers.Dense(n, activation="softmax")(x)

    inputs = keras.Input(shape=(28, 28, 1))
    plain_call = keras.Model(inputs, head(base(inputs)))                 # no training=False
    fb = exercises.check_model_as_layer(plain_call, base, 4)
    assert not fb and "training=False" in fb.message
    inputs = keras.Input(shape=(28, 28, 1))
    right = keras.Model(inputs, head(base(inputs, training=False)))      # after another call of base
    assert exercises.check_model_as_layer(right, base, 4)

    flattened = keras.Model(base.inputs, head(base.outputs[0]))          # the base's layers, copied in
    fb = exercises.check_model_as_layer(flattened, base, 4)
    assert not fb and "one by one" in fb.message
    fb = exercises.check_model_as_layer(keras.Sequential([keras.Input(shape=(28, 28, 1)), base,
                                                          keras.layers.Dense(4)]), base, 4)
    assert not fb and "Sequential" in fb.message
    full = models.load_source_model(retrain_if_missing=False)            # the old head still on
    inputs = keras.Input(shape=(28, 28, 1))
    fb = exercises.check_model_as_layer(keras.Model(inputs, head(full(inputs, training=False))), base, 4)
    assert not fb and "not one of your model's layers" in fb.message
    inputs = keras.Input(shape=(28, 28, 1))
    fb = exercises.check_model_as_layer(keras.Model(inputs, head(base(inputs, training=False), 10)), base, 4)
    assert not fb and "4 outputs" in fb.message
    assert "Assign" in exercises.check_model_as_layer(None, base, 4).message


def test_freeze_all_but_top_check():
    model = models.load_source_model(retrain_if_missing=False)
    for layer in model.layers[:-2]:
        layer.trainable = False
    assert exercises.check_freeze_all_but_top(model, 2)
    model.layers[-1].trainable = False
    fb = exercises.check_freeze_all_but_top(model, 2)
    assert not fb and "predictions" in fb.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda m: [setattr(layer, "trainable", False) for layer in m.layers[-3:]], "other way round"),
    (lambda m: [setattr(layer, "trainable", False) for layer in m.layers[:-2]], "wrong flag"),
    (lambda m: setattr(m, "trainable", False), "freezes everything"),
])
def test_freeze_all_but_three_plausible_mistakes(wrong, hint):
    """02-2: `layers[:-3]` passes; the inverted slice, an off-by-one and a frozen model get hints."""
    model = models.load_source_model(retrain_if_missing=False)
    for layer in model.layers[:-3]:
        layer.trainable = False
    assert exercises.check_freeze_all_but_top(model, 3)
    model = models.load_source_model(retrain_if_missing=False)
    wrong(model)
    fb = exercises.check_freeze_all_but_top(model, 3)
    assert not fb and hint in fb.message, fb.message


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


def _features(source_model, near, per_class=10, test_images=300):
    base = models.source_base(source_model)
    x, y = data.few_shot(near.x_train, near.y_train, per_class, seed=0)
    return (x, y, base.predict(x, verbose=0), y), (near.x_test[:test_images], near.y_test[:test_images],
                                                    base.predict(near.x_test[:test_images], verbose=0))


def test_classifier_on_features_check(source_model, near):
    """03-1: a scikit-learn classifier fitted on the cached training features, scored on test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (x, y, f, _), (x_test, y_test, f_test) = _features(source_model, near)
    train, test = (f, y), (f_test, y_test)

    def check(clf, acc):
        return exercises.check_classifier_on_features(clf, acc, train, test, 4)

    right = LogisticRegression(max_iter=2000).fit(f, y)
    assert check(right, right.score(f_test, y_test))
    scaled = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(f, y)
    assert check(scaled, scaled.score(f_test, y_test))
    knn = KNeighborsClassifier(3).fit(f, y)
    assert check(knn, knn.score(f_test, y_test))

    fb = check(LogisticRegression(), 0.5)
    assert not fb and "not fitted" in fb.message
    pixels = LogisticRegression(max_iter=2000).fit(x.reshape(len(x), -1), y)
    fb = check(pixels, 0.5)
    assert not fb and "not on the images" in fb.message
    on_test = LogisticRegression(max_iter=2000).fit(f_test, y_test)   # the test features leak in
    fb = check(on_test, on_test.score(f_test, y_test))
    assert not fb and "fit it on f_few" in fb.message
    fb = check(right, right.score(f, y))                              # scored on what it was fitted on
    assert not fb and "training features" in fb.message
    fb = check(right, 0.99)
    assert not fb and "clf.score(f_test, y_test)" in fb.message
    assert "Assign" in check(None, None).message


def test_matching_head_check():
    def head(activation, loss, softmax_layer=None):
        layers = [keras.Input(shape=(128,)), keras.layers.Dense(4, activation=activation)]
        m = keras.Sequential(layers + ([softmax_layer] if softmax_layer is not None else []))
        m.compile("adam", loss)
        return m

    assert exercises.check_matching_head(head("softmax", "sparse_categorical_crossentropy"), 128, 4)
    assert exercises.check_matching_head(
        head(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True)), 128, 4)
    fb = exercises.check_matching_head(
        head("softmax", keras.losses.SparseCategoricalCrossentropy(from_logits=True)), 128, 4)
    assert not fb and "disagree" in fb.message
    # a softmax written as its own layer is still a softmax
    assert exercises.check_matching_head(
        head(None, "sparse_categorical_crossentropy", keras.layers.Softmax()), 128, 4)
    assert exercises.check_matching_head(
        head(None, "sparse_categorical_crossentropy", keras.layers.Activation("softmax")), 128, 4)
    fb = exercises.check_matching_head(
        head(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True), keras.layers.Softmax()),
        128, 4)
    assert not fb and "probabilities" in fb.message
    fb = exercises.check_matching_head(head(None, "sparse_categorical_crossentropy"), 128, 4)
    assert not fb and "raw scores" in fb.message


def test_matching_head_must_be_trained_and_scored_on_test(source_model, near):
    """03-3: with test data given, an untrained head, or one scored on training data, fails."""
    (_, y, f, _), (_, y_test, f_test) = _features(source_model, near)
    kw = dict(test=(f_test, y_test), train=(f, y))
    models.set_seed(0)
    m = keras.Sequential([keras.Input(shape=(f.shape[1],)), keras.layers.Dense(4), keras.layers.Softmax()])
    m.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    fb = exercises.check_matching_head(m, f.shape[1], 4, accuracy=0.5, **kw)
    assert not fb and "never trained" in fb.message
    m.fit(f, y, epochs=20, batch_size=16, verbose=0)
    fb = exercises.check_matching_head(m, f.shape[1], 4, accuracy=m.evaluate(f, y, verbose=0)[1], **kw)
    assert not fb and "training features" in fb.message
    fb = exercises.check_matching_head(m, f.shape[1], 4, accuracy=None, **kw)
    assert not fb and "Store" in fb.message
    right = exercises.check_matching_head(m, f.shape[1], 4, accuracy=m.evaluate(f_test, y_test, verbose=0)[1], **kw)
    assert right, right.message


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


def test_unfrozen_top_two_blocks_check():
    """04-1: blocks 2 and 3's convolutions trainable; block 3 alone, or their BatchNormalization, fail."""
    base = models.source_base()
    base.trainable = True
    for layer in base.layers:
        layer.trainable = (layer.name.startswith(("block2_", "block3_"))
                           and not isinstance(layer, keras.layers.BatchNormalization))
    assert exercises.check_unfrozen_top_block(base, ("block2", "block3"))
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block3_") and "bn" not in layer.name
    fb = exercises.check_unfrozen_top_block(base, ("block2", "block3"))
    assert not fb and "block2_conv1" in fb.message
    for layer in base.layers:
        layer.trainable = layer.name.startswith(("block2_", "block3_"))
    fb = exercises.check_unfrozen_top_block(base, ("block2", "block3"))
    assert not fb and "BatchNormalization" in fb.message


def test_lowered_learning_rate_check():
    model = pretrained.with_new_head(models.source_base(), 4)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    assert exercises.check_lowered_learning_rate(model, 1e-2)
    model.compile(keras.optimizers.Adam(5e-3), "sparse_categorical_crossentropy")
    fb = exercises.check_lowered_learning_rate(model, 1e-2)
    assert not fb and "at least 10x less" in fb.message
    model.compile(keras.optimizers.Adam(1e-7), "sparse_categorical_crossentropy")
    assert "barely move" in exercises.check_lowered_learning_rate(model, 1e-2).message


def _small_model(dropout=0.3):
    inputs = keras.Input(shape=(8,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    if dropout is not None:
        x = keras.layers.Dropout(dropout)(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    return model


def test_early_stopping_dropout_check():
    """04-4: dropout in the head and EarlyStopping(val_loss, restore_best_weights) used in fit."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 2, 64)
    val = (x[:16], y[:16])

    def trained(model=None, validation=True, **stop):
        model = model or _small_model()
        stopper = keras.callbacks.EarlyStopping(**({"monitor": "val_loss", "patience": 2,
                                                    "restore_best_weights": True} | stop))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # Keras warns when the watched metric is missing
            model.fit(x, y, validation_data=val if validation else None, epochs=3, verbose=0,
                      callbacks=[stopper])
        return model, stopper

    assert exercises.check_early_stopping_dropout(*trained())
    fb = exercises.check_early_stopping_dropout(*trained(_small_model(None)))
    assert not fb and "no Dropout layer" in fb.message
    fb = exercises.check_early_stopping_dropout(*trained(_small_model(0.0)))
    assert not fb and "drops nothing" in fb.message
    fb = exercises.check_early_stopping_dropout(*trained(monitor="loss"))
    assert not fb and "monitor='val_loss'" in fb.message
    fb = exercises.check_early_stopping_dropout(*trained(restore_best_weights=False))
    assert not fb and "restore_best_weights=True" in fb.message
    fb = exercises.check_early_stopping_dropout(*trained(validation=False))
    assert not fb and "validation_data" in fb.message
    model, stopper = trained()
    fb = exercises.check_early_stopping_dropout(_small_model(), stopper)   # built, never used in fit
    assert not fb and "callbacks=[stopper]" in fb.message
    assert "Assign" in exercises.check_early_stopping_dropout(None, None).message


def test_augmentation_used_in_training(near):
    """04-5: the learner's augmentation must be the trained model's first step, not just built."""
    sample = near.x_train[:8]
    x, y = near.x_train[:32], near.y_train[:32]

    def augment():
        return keras.Sequential([keras.layers.RandomFlip("horizontal", seed=0),
                                 keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=0)])

    def model_with(aug, first=True, fit=True):
        inputs = keras.Input(shape=(28, 28, 1))
        x_ = aug(inputs) if first and aug is not None else inputs
        x_ = keras.layers.Conv2D(4, 3)(x_)
        if not first and aug is not None:
            x_ = aug(x_)
        x_ = keras.layers.GlobalAveragePooling2D()(x_)
        model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x_))
        model.compile("adam", "sparse_categorical_crossentropy")
        if fit:
            model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        return model

    aug = augment()
    assert exercises.check_augmentation(aug, sample, model=model_with(aug))
    assert exercises.check_augmentation(aug, sample)          # without a model: the old check only
    aug = augment()
    fb = exercises.check_augmentation(aug, sample, model=model_with(None))   # built, never used
    assert not fb and "not used in training" in fb.message
    aug = augment()
    fb = exercises.check_augmentation(aug, sample, model=model_with(aug, first=False))
    assert not fb and "after layers with weights" in fb.message
    aug = augment()
    fb = exercises.check_augmentation(aug, sample, model=model_with(aug, fit=False))
    assert not fb and "never been trained" in fb.message
    fb = exercises.check_augmentation(augment(), sample, model=None)          # the student placeholder
    assert not fb and "Assign the model" in fb.message
    seq = augment()
    flat = keras.Sequential([keras.Input(shape=(28, 28, 1)), *seq.layers, keras.layers.Flatten(),
                             keras.layers.Dense(4, activation="softmax")])
    flat.compile("adam", "sparse_categorical_crossentropy")
    flat.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert exercises.check_augmentation(seq, sample, model=flat)             # its layers, unpacked


def test_control_on_validation_check():
    """06-1: the control is chosen by validation accuracy; choosing by test fails with a hint."""
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
    """06-2: per-seed differences, paired by seed; unpaired or flipped answers fail with a hint."""
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


def test_lowered_learning_rate_check_on_an_uncompiled_model():
    """04-2 in the student version: the model was never compiled; the check answers, it does not crash."""
    model = pretrained.with_new_head(models.source_base(), 4)
    fb = exercises.check_lowered_learning_rate(model, 1e-2)
    assert not fb and "Compile" in fb.message
