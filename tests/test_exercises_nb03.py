"""Notebook 03's checks: blank, plausible wrong answers (with their hints), other right answers."""

import functools

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import data, exercises, features, models, pretrained, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


@pytest.fixture(scope="module")
def cached(source_model, near):
    """The notebook's cached features, smaller: 10 images per class, 300 test images."""
    base = models.source_base(source_model)
    x, y = data.few_shot(near.x_train, near.y_train, 10, seed=0)
    return {"x": x, "y": y, "f": base.predict(x, verbose=0), "y_test": near.y_test[:300],
            "f_test": base.predict(near.x_test[:300], verbose=0)}


def test_classifier_on_features(cached):
    f, y, f_test, y_test = cached["f"], cached["y"], cached["f_test"], cached["y_test"]

    def check(clf, acc):
        return exercises.check_classifier_on_features(clf, acc, (f, y), (f_test, y_test), 4, None)

    assert check(None, None).status == "not_done"
    for clf in (LogisticRegression(max_iter=2000).fit(f, y),                 # the solution's
                make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(f, y),
                KNeighborsClassifier(3).fit(f, y)):
        assert check(clf, clf.score(f_test, y_test)).status == "passed"
    right = LogisticRegression(max_iter=2000).fit(f, y)
    pixels = LogisticRegression(max_iter=2000).fit(cached["x"].reshape(len(y), -1), y)
    on_test = LogisticRegression(max_iter=2000).fit(f_test, y_test)
    for clf, acc, hint in ((LogisticRegression(), 0.5, "not fitted"),
                           (pixels, 0.5, "not on the images"),
                           (on_test, on_test.score(f_test, y_test), "fit it on f_few"),
                           (right, right.score(f, y), "training features"),
                           (right, 0.99, "score clf on f_test, y_test"),
                           (None, 0.9, "Store the fitted classifier"),
                           (right, None, "Store one number")):
        fb = check(clf, acc)
        assert fb.status == "wrong" and hint in fb.message, fb.message


def test_layer_features(source_model, near):
    x = near.x_test[:6]
    check = functools.partial(exercises.check_layer_features, model=source_model,
                              layer_name="block2_pool", images=x, recorder=None)
    assert check(None).status == "not_done"
    assert check(features.extract_features(features.pooled_extractor(source_model, "block2_pool"), x))
    maps = pretrained.feature_maps(source_model, "block2_pool", x)
    assert check(np.asarray(maps).mean(axis=(1, 2)))                      # averaged by hand
    block1 = pretrained.feature_maps(source_model, "block1_pool", x)
    for wrong, hint in ((maps, "global average pooling"),                  # not pooled
                        (np.asarray(maps).max(axis=(1, 2)), "average (not max)"),
                        (np.asarray(block1).mean(axis=(1, 2)), "channels")):
        fb = check(wrong)
        assert fb.status == "wrong" and hint in fb.message, fb.message


def _head(activation=None, loss="sparse_categorical_crossentropy", extra=None, n_in=128):
    layers = [keras.Input(shape=(n_in,)), keras.layers.Dense(4, activation=activation)]
    model = keras.Sequential(layers + ([extra] if extra is not None else []))
    model.compile(keras.optimizers.Adam(1e-2), loss, metrics=["accuracy"])
    return model


@pytest.mark.parametrize("activation, loss, extra", [
    ("softmax", "sparse_categorical_crossentropy", None),
    (None, keras.losses.SparseCategoricalCrossentropy(from_logits=True), None),
    ("softmax", keras.losses.sparse_categorical_crossentropy, None),        # the loss as a function
    ("softmax", keras.losses.SparseCategoricalCrossentropy(), None),        # a loss object
    (None, functools.partial(keras.losses.sparse_categorical_crossentropy, from_logits=True), None),
    (None, "sparse_categorical_crossentropy", keras.layers.Softmax()),
    (None, "sparse_categorical_crossentropy", keras.layers.Activation("softmax")),
])
def test_matching_head_right_answers(activation, loss, extra):
    fb = exercises.check_matching_head(_head(activation, loss, extra), 128, 4, None)
    assert fb.status == "passed", fb.message


@pytest.mark.parametrize("head, hint", [
    (lambda: _head("softmax", keras.losses.SparseCategoricalCrossentropy(from_logits=True)), "disagree"),
    (lambda: _head(None, "sparse_categorical_crossentropy"), "raw scores"),
    (lambda: _head(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   keras.layers.Softmax()), "probabilities"),
    (lambda: _head("softmax", "mse"), "cross-entropy"),
    (lambda: _head("softmax", n_in=64), "128 features"),
])
def test_matching_head_wrong_answers(head, hint):
    fb = exercises.check_matching_head(head(), 128, 4, None)
    assert fb.status == "wrong" and hint in fb.message, fb.message


def test_matching_head_trained_and_scored_on_test(cached):
    f, y, f_test, y_test = cached["f"], cached["y"], cached["f_test"], cached["y_test"]
    kw = dict(test=(f_test, y_test), train=(f, y), recorder=None)
    assert exercises.check_matching_head(None, f.shape[1], 4, accuracy=None, **kw).status == "not_done"
    models.set_seed(0)
    m = _head("softmax", keras.losses.sparse_categorical_crossentropy, n_in=f.shape[1])
    fb = exercises.check_matching_head(m, f.shape[1], 4, accuracy=0.5, **kw)
    assert fb.status == "wrong" and "never trained" in fb.message
    m.fit(f, y, epochs=20, batch_size=16, verbose=0)
    for acc, hint in ((m.evaluate(f, y, verbose=0)[1], "training features"), (None, "Store"),
                      (0.123, "not the head's accuracy on the test features")):
        fb = exercises.check_matching_head(m, f.shape[1], 4, accuracy=acc, **kw)
        assert fb.status == "wrong" and hint in fb.message, fb.message
    right = exercises.check_matching_head(m, f.shape[1], 4, accuracy=m.evaluate(f_test, y_test, verbose=0)[1], **kw)
    assert right.status == "passed", right.message


def test_matching_head_trained_on_the_test_features_is_caught(cached):
    """With the notebook cell's first line, exercises.watch_fit_data(), the check sees what each
    head was fitted on: a head trained on f_test (alone or as well) fails, whatever it scores."""
    f, y, f_test, y_test = cached["f"], cached["y"], cached["f_test"], cached["y_test"]
    kw = dict(test=(f_test, y_test), train=(f, y), recorder=None)
    original = keras.Model.fit

    def head():
        models.set_seed(0)
        return _head(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True), n_in=f.shape[1])

    exercises.watch_fit_data()
    try:
        exercises.watch_fit_data()                       # running the cell again changes nothing
        cheat = head()
        cheat.fit(f_test, y_test, epochs=5, batch_size=32, verbose=0)
        both = head()
        both.fit(f, y, epochs=5, batch_size=16, verbose=0)
        both.fit(x=f_test, y=y_test, epochs=2, verbose=0)
        for m in (cheat, both):
            fb = exercises.check_matching_head(m, f.shape[1], 4,
                                               accuracy=m.evaluate(f_test, y_test, verbose=0)[1], **kw)
            assert fb.status == "wrong" and "trained on the test features" in fb.message, fb.message
        for fit in (lambda m: m.fit(f, y, epochs=20, batch_size=16, verbose=0),
                    lambda m: m.fit(x=f, y=y, epochs=20, verbose=0),
                    lambda m: m.fit(f.astype("float64"), y, 16, 20, verbose=0)):
            right = head()
            fit(right)
            fb = exercises.check_matching_head(right, f.shape[1], 4,
                                               accuracy=right.evaluate(f_test, y_test, verbose=0)[1], **kw)
            assert fb.status == "passed", fb.message
    finally:
        exercises.watch_fit_data(False)
    assert keras.Model.fit is original
