"""Notebook 08: the contender the recommendation names, as one Keras model that takes images and
gives class probabilities, so it can be exported and used on new images.

The comparison (``helpers.capstone``) keeps only scores. This module runs the chosen contender
through notebook 06's own code once more (``experiment.run_cell(..., return_model=True)``): the
row it returns is that model's measurement, and what it trained is wrapped, unchanged, into a
single ``keras.Model``, so the model exported is the model measured:

- fine-tuning and the scratch CNN already are such models (a copy is returned, so later runs that
  reuse traced models cannot change it);
- feature extraction (pretrained or random weights) is the extractor, a ``Normalization`` layer
  holding the training features' mean and spread, and the trained head;
- logistic regression on pixels is one ``Dense`` layer with a softmax: the scaler's mean and
  spread folded into the weights, so the exported model needs no scikit-learn.

Every choice here reads validation accuracy only (:func:`chosen_strategy`); the test images are
read once, for the row's score.
"""

from __future__ import annotations

import keras
import numpy as np

from helpers import backbones, capstone, experiment

__all__ = ["train_chosen", "chosen_strategy", "as_keras_model", "logistic_regression_as_keras"]


def _copy(model):
    """A separate copy of a (traced, reusable) model with the same weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def logistic_regression_as_keras(pipeline, image_shape, num_classes: int):
    """A fitted ``StandardScaler`` + ``LogisticRegression`` pipeline on flattened pixels as one
    Keras layer: ``softmax(W (x - mean) / scale + b)`` is ``softmax(W' x + b')``."""
    scaler, lr = pipeline[0], pipeline[-1]
    coef, intercept = np.asarray(lr.coef_, "float64"), np.asarray(lr.intercept_, "float64")
    if coef.shape[0] == 1:     # two classes: scikit-learn keeps one row; softmax([0, z]) = sigmoid
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
    scale = np.asarray(scaler.scale_, "float64")
    weights = (coef / scale).T
    bias = intercept - coef @ (np.asarray(scaler.mean_, "float64") / scale)
    inputs = keras.Input(shape=tuple(image_shape))
    x = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(num_classes, activation="softmax", name="logistic_regression")
    model = keras.Model(inputs, dense(x), name="pixel_logreg")
    dense.set_weights([weights.astype("float32"), bias.astype("float32")])
    return model


def _feature_model(trained):
    """Extractor, standardisation and head of a feature contender as one model; the mean and
    spread are the very ones the head was trained with (``experiment.standardizer``'s)."""
    ext, head, scale = trained["extractor"], trained["head"], trained["scale"]
    mean, sd = scale.mean, scale.sd
    inputs = keras.Input(shape=trained["image_shape"])
    x = _copy(ext)(inputs)
    x = keras.layers.Normalization(mean=mean, variance=np.square(sd), name="standardize")(x)
    outputs = _copy(head)(x)
    name = "feature_extraction" if trained["strategy"] == "feature_extraction" else "random_features"
    return keras.Model(inputs, outputs, name=name)


def as_keras_model(trained: dict):
    """What ``experiment.run_cell(..., return_model=True)`` trained, as one Keras model from
    images (as the task stores them) to class probabilities."""
    strategy = trained["strategy"]
    if strategy in ("scratch", "fine_tuning"):
        return _copy(trained["model"])
    if strategy == "pixel_logreg":
        return logistic_regression_as_keras(trained["pipeline"], trained["image_shape"],
                                            trained["num_classes"])
    return _feature_model(trained)


def train_chosen(task, strategy: str, per_class, seed: int = 0, backbone=backbones.SOURCE_CNN,
                 max_steps: int | None = None, batch_size: int = 32, val_images: int = 500,
                 test_images: int | None = None, own: dict | None = None,
                 augmentations=capstone.CURVE_AUGMENTATIONS):
    """Train ``strategy`` (one of ``experiment.STRATEGIES``) on the few-shot sample of ``task``
    for ``per_class`` and ``seed`` with ``experiment.run_cell`` itself, with the learning curve's
    menus unless told otherwise (``own``: the contender's own settings; every choice made on
    validation, as there). Returns ``(model, info)``: a Keras model from images (as ``task``
    stores them) to class probabilities, and what was chosen, with ``info["row"]``, the run's
    measured row (its ``accuracy`` is this model's, on the first ``test_images`` test images;
    ``None``: all of them)."""
    if strategy not in experiment.STRATEGIES:
        raise ValueError(f"strategy must be one of {experiment.STRATEGIES}, not {strategy!r}")
    own = capstone.CURVE_MENUS.get(strategy) if own is None else own
    limit = {} if max_steps is None else {"max_steps": max_steps}
    row, trained = experiment.run_cell(task, strategy, per_class, seed, **limit,
                                       batch_size=batch_size, val_images=val_images,
                                       test_images=test_images, backbone=backbone, own=own,
                                       augmentations=augmentations, return_model=True)
    model = as_keras_model(trained)
    return model, {"choice": row["choice"], "val_accuracy": row["val_accuracy"], "row": row}


def chosen_strategy(compared: dict, rows, weights: str | None = "imagenet") -> str:
    """The contender to train finally and export for one budget of ``capstone.comparison``: the
    one ``capstone.recommendation`` recommends there (the same function decides, so the words
    and the exported model cannot disagree). Every choice between contenders reads mean
    *validation* accuracy over the seeds: "can't tell" takes whichever of the best transfer
    strategy and the best control validation ranks higher, "behind" the control validation ranks
    best among those ahead, random weights the contender validation ranks best. Test accuracy
    chooses nothing; it is reported."""
    return capstone._overall(compared, rows, weights)[1]
