"""Checks for notebook 03 (feature extraction): a classifier on cached features, features from
another layer, and a head whose outputs and loss agree."""

from __future__ import annotations

import functools
import hashlib
import weakref

import keras
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from helpers.exercises.core import CURRENT, check, gives_probabilities, not_done, not_done_yet
from helpers.features import extract_features, pooled_extractor

__all__ = ["check_classifier_on_features", "check_layer_features", "check_matching_head",
           "watch_fit_data"]

_FITS: list = []        # (weak reference to a model, fingerprint of the inputs it was fitted on)
_ORIGINAL_FIT: list = []  # (defined on keras.Model itself?, its fit) before watch_fit_data()
_FINGERPRINT_MAX = 8_000_000   # numbers; a larger input is noted by its shape only


def _fingerprint(x):
    """(shape, digest) of an array of inputs; None for a dataset or generator."""
    try:
        arr = np.ascontiguousarray(np.asarray(x, dtype="float32"))
    except Exception:  # noqa: BLE001 - a tf.data.Dataset, a generator...: not compared
        return None
    if arr.ndim == 0:
        return None
    digest = hashlib.sha1(arr.tobytes()).hexdigest() if arr.size <= _FINGERPRINT_MAX else None
    return arr.shape, digest


def watch_fit_data(on: bool = True):
    """From now on (``on=False``: no longer), note what every Keras model is fitted on, a
    fingerprint of its inputs, so that ``check_matching_head`` can tell a head trained on the
    training features from one trained on the test features. ``fit`` itself is unchanged."""
    if not on:
        if _ORIGINAL_FIT:
            own, original = _ORIGINAL_FIT.pop()
            if own:
                keras.Model.fit = original
            else:
                del keras.Model.fit          # back to the inherited fit
        _FITS.clear()
        return
    if _ORIGINAL_FIT:
        return
    original = keras.Model.fit
    own = "fit" in vars(keras.Model)

    @functools.wraps(original)
    def fit(self, x=None, *args, **kwargs):
        _FITS.append((weakref.ref(self), _fingerprint(x)))
        return original(self, x, *args, **kwargs)

    _ORIGINAL_FIT.append((own, original))
    keras.Model.fit = fit


def _fitted_inputs(model) -> list:
    """The fingerprints of the inputs ``model`` was fitted on since ``watch_fit_data()``."""
    return [fp for ref, fp in _FITS if ref() is model and fp is not None]


def check_layer_features(feats, model, layer_name: str, images, recorder=CURRENT):
    """03: one pooled feature vector per image, taken at ``layer_name``."""
    if not_done(feats):
        return not_done_yet("layer_features", f"store one feature vector per image: the output "
                            f"of the source model's layer '{layer_name}', averaged over height and "
                            "width (section (c) reads features at other layers).", recorder)
    expected = extract_features(pooled_extractor(model, layer_name), images)
    feats = np.asarray(feats)
    channels = model.get_layer(layer_name).output.shape[-1]
    return check("layer_features", [
        (feats.ndim == 2, f"Expected one vector per image (2-D array); got shape {feats.shape}. "
         "Average the feature maps over height and width (global average pooling, section (c))."),
        (feats.shape == expected.shape, f"Expected shape {expected.shape} ({channels} channels at "
         f"{layer_name}); got {feats.shape}. Take the output of the layer '{layer_name}'."),
        (lambda: np.allclose(feats, expected, atol=1e-4), f"Right shape, different values: take "
         f"the output of '{layer_name}' for these images, then average (not max) over the two "
         "spatial axes."),
    ], f"{feats.shape[0]} vectors of {feats.shape[-1]} numbers from {layer_name}.", recorder)


def _sklearn_outputs(clf, x):
    """What a scikit-learn classifier says about ``x``: probabilities where it has them."""
    return clf.predict_proba(x) if hasattr(clf, "predict_proba") else clf.predict(x)


def _fitted_on(clf, x, y, x_probe) -> bool:
    """True if ``clf`` behaves like a copy of itself fitted on ``(x, y)``, judged on ``x_probe``.

    A deterministic classifier (logistic regression, kNN...) refitted gives the same numbers; a
    random one without a seed (two refits disagree) is judged on its predicted classes instead."""
    first = clone(clf).fit(x, y)
    mine = np.asarray(_sklearn_outputs(clf, x_probe))
    if np.allclose(mine, np.asarray(_sklearn_outputs(first, x_probe)), atol=1e-5):
        return True
    second = clone(clf).fit(x, y)
    if np.allclose(_sklearn_outputs(first, x_probe), _sklearn_outputs(second, x_probe), atol=1e-5):
        return False   # deterministic, and ``clf`` says something else: fitted on other data
    return float(np.mean(clf.predict(x_probe) == first.predict(x_probe))) >= 0.95


def _is_fitted(clf) -> bool:
    try:
        check_is_fitted(clf)
        return True
    except (NotFittedError, TypeError):
        return False


def check_classifier_on_features(clf, accuracy, train, test, num_classes: int, recorder=CURRENT):
    """03: a scikit-learn classifier fitted on the cached training features ``train = (f, y)``,
    and its accuracy on ``test = (f, y)``, above chance."""
    if not_done(clf) and not_done(accuracy):
        return not_done_yet("classifier_on_features", "store in clf a scikit-learn logistic "
                            "regression fitted on the cached training features and their labels, "
                            "and in clf_accuracy its accuracy on the test features (section (b) "
                            "trains a classifier on cached features).", recorder)
    (f_train, y_train), (f_test, y_test) = train, test
    n_in = getattr(clf, "n_features_in_", None)
    score = functools.cache(lambda: float(clf.score(f_test, y_test)))
    chance = 1 / num_classes
    return check("classifier_on_features", [
        (not not_done(clf), "Store the fitted classifier in clf too, not only its accuracy."),
        (hasattr(clf, "fit") and hasattr(clf, "predict"), "clf should be a scikit-learn classifier, "
         "such as a logistic regression."),
        (lambda: _is_fitted(clf), "clf is not fitted yet: fit it on the training features and "
         "their labels."),
        (lambda: n_in == f_train.shape[1], f"clf was fitted on {n_in} numbers per image, but the cached "
         f"features have {f_train.shape[1]}: fit it on the features (f_few), not on the images."),
        (lambda: _fitted_on(clf, f_train, y_train, f_test), "clf does not behave like a classifier fitted "
         "on the training features: fit it on f_few, y_few (the test features are kept for scoring)."),
        (lambda: not not_done(accuracy) and np.ndim(accuracy) == 0,
         "Store one number in clf_accuracy: the accuracy on the test features."),
        (lambda: not (abs(float(accuracy) - float(clf.score(f_train, y_train))) < 1e-9
                      and abs(float(accuracy) - score()) > 1e-9),
         "That is the accuracy on the training features, which the classifier has seen; score it on "
         "f_test, y_test."),
        (lambda: abs(float(accuracy) - score()) < 1e-6, "The stored accuracy is not clf's accuracy on "
         "the test features: score clf on f_test, y_test."),
        (lambda: score() > chance + 0.05, lambda: f"Test accuracy {score():.3f} is at chance level "
         f"({chance:.2f}) for {num_classes} classes: are the labels the ones that go with f_few?"),
    ], lambda: f"fitted on {len(y_train)} cached feature vectors, test accuracy {score():.3f} "
               f"(chance: {chance:.2f}).", recorder)


def _loss_from_logits(loss) -> bool | None:
    """The loss's ``from_logits`` (False, True), or None if it is not a cross-entropy. A loss
    given by name or as a function has the default, False."""
    if isinstance(loss, str):
        return False if "crossentropy" in loss.lower() else None
    keywords = {}
    if isinstance(loss, functools.partial):
        loss, keywords = loss.func, dict(loss.keywords)
    cfg = getattr(loss, "get_config", lambda: {})() if not isinstance(loss, type) else {}
    if isinstance(cfg, dict) and "from_logits" in cfg:
        return bool(cfg["from_logits"])
    name = getattr(loss, "__name__", "") or type(loss).__name__
    if "crossentropy" in name.lower().replace("_", ""):
        return bool(keywords.get("from_logits", False))
    return None


def _head_form_conditions(model, num_features: int, num_classes: int, from_logits, probs,
                          kind) -> list:
    """A Keras model from ``num_features`` features to ``num_classes`` outputs, compiled with a
    cross-entropy whose ``from_logits`` agrees with what it outputs (``probs()``)."""
    return [
        (isinstance(model, keras.Model), "my_head should be a Keras model."),
        (lambda: tuple(model.inputs[0].shape[1:]) == (num_features,),
         lambda: f"The head's input should be {num_features} features; it is "
                 f"{tuple(model.inputs[0].shape[1:])}."),
        (lambda: model.outputs[0].shape[-1] == num_classes,
         f"The head needs {num_classes} outputs, one per class."),
        (lambda: getattr(model, "compiled", False), "Compile the head (optimizer, loss, metrics)."),
        (lambda: from_logits is not None, "Use a (sparse) categorical cross-entropy loss for classes."),
        (lambda: probs() == (from_logits is False),
         lambda: f"The head outputs {kind()} but the loss has from_logits={from_logits}: they disagree. "
         "Softmax outputs need from_logits=False; no activation (logits) needs from_logits=True."),
    ]


def _trained_head_conditions(model, num_classes: int, test, train, accuracy, accuracy_on) -> list:
    """Trained, on the training features only, and ``accuracy`` is its accuracy on ``test``
    (``accuracy_on("test")``), better than chance."""
    chance = 1 / num_classes
    return [
        (lambda: int(model.optimizer.iterations.numpy()) > 0,
         "The head is compiled but never trained: train it on the training features f_few, y_few."),
        (lambda: not any(fp == _fingerprint(test[0]) for fp in _fitted_inputs(model)),
         "The head was trained on the test features: train it on f_few, y_few only; the test "
         "features are kept for scoring, and a head that has seen them no longer tests "
         "anything."),
        (lambda: not not_done(accuracy) and np.ndim(accuracy) == 0,
         "Store the head's test accuracy (one number) in my_head_accuracy."),
        (lambda: train is None or abs(float(accuracy) - accuracy_on("test")) < 2e-3
         or abs(float(accuracy) - accuracy_on("train")) >= 2e-3,
         "That is the accuracy on the training features; score the head on f_test, y_test."),
        (lambda: abs(float(accuracy) - accuracy_on("test")) < 2e-3,
         lambda: f"The stored accuracy is not the head's accuracy on the test features "
         f"({accuracy_on('test'):.3f}): evaluate the head on f_test, y_test and keep the "
         "accuracy."),
        (lambda: accuracy_on("test") > chance + 0.05,
         lambda: f"Test accuracy {accuracy_on('test'):.3f} is about chance ({chance:.2f}): train "
         "for more epochs or with a larger learning rate."),
    ]


def check_matching_head(model, num_features: int, num_classes: int, recorder=CURRENT, *,
                        test=None, accuracy=None, train=None):
    """03: a compiled head whose outputs and loss agree (softmax probabilities with
    ``from_logits=False``, raw scores with ``from_logits=True``; judged on what the model outputs,
    so ``Dense(..., activation="softmax")``, ``layers.Softmax()`` and ``Activation("softmax")`` all
    count; the loss by name, as a function or as a loss object). With ``test = (f, y)`` the head
    must also be trained and ``accuracy`` be its accuracy there (``train = (f, y)`` lets the hint
    spot a training-set score)."""
    if not_done(model):
        return not_done_yet("matching_head", "store in my_head a Keras model from the features to "
                            "one output per class, compiled with a loss that agrees with its "
                            "outputs (the trap section), then trained on the training features, "
                            "and its test accuracy in my_head_accuracy.", recorder)
    from_logits = _loss_from_logits(getattr(model, "loss", None))
    probe = (np.asarray(test[0][:64]) if test is not None else
             np.random.default_rng(0).normal(size=(16, num_features)))
    probs = functools.cache(lambda: gives_probabilities(model, probe))
    kind = lambda: "probabilities (softmax)" if probs() else "raw scores (logits)"  # noqa: E731

    @functools.cache
    def accuracy_on(which):
        x, y = test if which == "test" else train
        return float(np.mean(np.argmax(np.asarray(model.predict(x, verbose=0)), -1) == np.asarray(y)))

    conditions = _head_form_conditions(model, num_features, num_classes, from_logits, probs, kind)
    if test is not None:
        conditions += _trained_head_conditions(model, num_classes, test, train, accuracy,
                                               accuracy_on)

    def success():
        trained = "" if test is None else f"; trained, test accuracy {accuracy_on('test'):.3f}"
        return f"outputs {kind()} with from_logits={from_logits}: they agree{trained}."
    return check("matching_head", conditions, success, recorder)
