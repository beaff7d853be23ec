"""Notebook 08: the contender the recommendation names, trained once more as one Keras model
that takes images and gives class probabilities, so it can be exported and used on new images.

The comparison (``helpers.capstone``) keeps only scores; this module trains the chosen contender
with notebook 06's own code (``helpers.experiment``), on the same kind of sample, and wraps what
it returns into a single ``keras.Model``:

- fine-tuning and the scratch CNN already are such models (a copy is returned, so later runs that
  reuse traced models cannot change it);
- feature extraction (pretrained or random weights) is the extractor, a ``Normalization`` layer
  holding the training features' mean and spread, and the trained head;
- logistic regression on pixels is one ``Dense`` layer with a softmax: the scaler's mean and
  spread folded into the weights, so the exported model needs no scikit-learn.
"""

from __future__ import annotations

import numpy as np

from helpers import backbones, data, experiment, features, models

__all__ = ["train_chosen", "chosen_strategy", "logistic_regression_as_keras"]


def _copy(model):
    """A separate copy of a (traced, reusable) model with the same weights."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def logistic_regression_as_keras(pipeline, image_shape, num_classes: int):
    """A fitted ``StandardScaler`` + ``LogisticRegression`` pipeline on flattened pixels as one
    Keras layer: ``softmax(W (x - mean) / scale + b)`` is ``softmax(W' x + b')``."""
    import keras

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


def _feature_model(task, x_aug, y_aug, val_images, steps, batch_size, seed, pretrained, backbone):
    import keras

    layer, ext, head, scale, info = experiment.feature_extraction(
        task, x_aug, y_aug, val_images, steps, batch_size, seed, pretrained=pretrained,
        backbone=backbone)
    train_f = features.extract_features(ext, x_aug)
    mean = train_f.mean(axis=0)
    # the head reads scale(f) = (f - mean) / sd (experiment.standardizer); sd from two points
    probe = np.stack([mean, mean + 1.0])
    sd = 1.0 / (scale(probe)[1] - scale(probe)[0])
    inputs = keras.Input(shape=x_aug.shape[1:])
    x = _copy(ext)(inputs)
    x = keras.layers.Normalization(mean=mean, variance=sd ** 2, name="standardize")(x)
    outputs = _copy(head)(x)
    return keras.Model(inputs, outputs, name=f"{'pretrained' if pretrained else 'random'}_features"), info


def train_chosen(task, strategy: str, per_class, seed: int = 0, backbone=backbones.SOURCE_CNN,
                 steps: int | None = None, batch_size: int = 32, val_images: int = 500):
    """Train ``strategy`` (one of ``experiment.STRATEGIES``) on the few-shot sample of ``task``
    that ``experiment.run_cell`` draws for ``per_class`` and ``seed``, with every choice made on
    validation as there. Returns ``(model, info)``: a Keras model from images (as ``task`` stores
    them) to class probabilities, and what was chosen."""
    if strategy not in experiment.STRATEGIES:
        raise ValueError(f"strategy must be one of {experiment.STRATEGIES}, not {strategy!r}")
    x, y = data.few_shot(task.x_train, task.y_train, experiment.sample_budget(task, per_class), seed=seed)
    val = (task.x_val[:val_images], task.y_val[:val_images])
    steps = int(steps or experiment.training_steps(len(y), batch_size))
    flip = task.meta.get("flip_preserves_label", True)
    if strategy in ("scratch", "fine_tuning"):
        train = experiment.scratch_cnn if strategy == "scratch" else experiment.fine_tuning
        model, info = train(task, x, y, val, steps, batch_size, seed, backbone=backbone)
        return _copy(model), info
    x_aug, y_aug = experiment.augmented_copies(x, y, experiment.AUG_COPIES, seed, flip)
    if strategy == "pixel_logreg":
        clf, val_acc = features.probe(features.flatten_pixels(x_aug), y_aug,
                                      features.flatten_pixels(val[0]), val[1], seed,
                                      c_values=experiment.PIXEL_C, max_iter=1000)
        model = logistic_regression_as_keras(clf, x.shape[1:], task.num_classes)
        return model, {"choice": f"C={clf[-1].C}", "val_accuracy": float(val_acc)}
    models.set_seed(seed)
    return _feature_model(task, x_aug, y_aug, val_images, steps, batch_size, seed,
                          strategy == "feature_extraction", backbone)


def chosen_strategy(compared: dict) -> str:
    """The contender the recommendation points to for one budget of ``capstone.comparison``:
    the best transfer strategy when it is ahead of every control, the control ahead of it when
    transfer is behind, and, when the seeds can't tell, whichever of the two has the higher mean
    (a tie is a free choice, so the numbers may break it)."""
    if compared["verdict"] == "ahead":
        return compared["transfer"]
    if compared["verdict"] == "behind":
        return compared.get("leading_control") or compared["control"]
    p = compared["transfer_vs_control"]
    return compared["transfer"] if p["mean_a"] >= p["mean_b"] else compared["control"]
