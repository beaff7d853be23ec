"""Notebook 06's five contenders, each trained once per setting of its menu (``menus``) and kept
at the setting validation ranks best.

- controls, no pretrained weights: logistic regression on pixels; feature extraction from the
  source architecture with random weights (**the random control**, see below); the same CNN
  trained from scratch;
- transfer: feature extraction from the pretrained network; fine-tuning its top two blocks.

**The random control** is the source architecture with random weights (seed
``RANDOM_INIT_SEED`` + the sample's seed), read as a frozen feature extractor. Its
BatchNormalization statistics are either left as initialised (mean 0, variance 1) or calibrated
on the sample's images; which one is a menu item chosen on validation, like every other setting,
and the pretrained network gets the same choice (its source statistics, or calibrated).

Each function returns ``(predict, info)``: ``predict(images)`` gives labels, ``info`` what was
chosen and how the chosen run trained (``fitted``: it reached ``training.FIT_LEVEL``;
``under_fit``: it did not learn its sample, by ``training``'s rule).
"""

from __future__ import annotations

from functools import lru_cache

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import backbones, features, models, pretrained, traced
from helpers.experiment import training
from helpers.experiment.training import HEAD_LR, train_until_fit

__all__ = ["AUG_COPIES", "RANDOM_INIT_SEED", "augmented_copies", "extractor", "standardizer",
           "pixel_logreg", "fixed_features", "scratch_cnn", "fine_tuning", "pick", "choose"]

AUG_COPIES = 10              # augmented copies for the contenders that learn from fixed vectors
RANDOM_INIT_SEED = models.TWIN_SEED   # the random control uses seed + this (models.py)


def pick(fits: list) -> int:
    """Index of the best validation score in ``fits`` (a list of (score, ...)); ties: first."""
    return max(range(len(fits)), key=lambda i: (fits[i][0], -i))


def augmented_copies(x, y, augmentation: str, copies: int = AUG_COPIES, seed: int = 0):
    """The sample, plus ``copies`` augmented copies under the policy (none: the sample alone)."""
    if augmentation == "none":
        return np.asarray(x), np.asarray(y)
    aug = models.augmentation(seed, flip=augmentation == "shifts and flips")
    xs = [np.asarray(x)] + [np.asarray(aug(x, training=True)) for _ in range(copies)]
    return np.concatenate(xs), np.tile(np.asarray(y), copies + 1)


def standardizer(train_features, floor: float = 1e-2):
    """Subtract the training features' mean and divide by their spread, per feature: pretrained
    and random-init activations have very different scales, and the head should not care.

    A feature that barely varies in the (small) training sample gets the spread ``floor`` × the
    median spread instead, so that it cannot be blown up a million times on new images."""
    mean, sd = train_features.mean(axis=0), train_features.std(axis=0)
    sd = np.maximum(sd, floor * max(float(np.median(sd)), 1e-12))

    def scale(f):
        return ((np.asarray(f) - mean) / sd).astype("float32")

    scale.mean, scale.sd = mean, sd   # what an exported model's Normalization layer needs
    return scale


# ---------------------------------------------------------------- pixels

def pixel_logreg(x, y, val, setting: dict, seed: int = 0) -> tuple:
    """Logistic regression on standardised raw pixels of the (augmented) sample, at ``C``."""
    xa, ya = augmented_copies(x, y, setting["augmentation"], seed=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=setting["C"], max_iter=1000))
    clf.fit(features.flatten_pixels(xa), ya)

    def predict(images):
        return clf.predict(features.flatten_pixels(images))

    return predict, {"val_accuracy": float((predict(val[0]) == val[1]).mean()), "fitted": True,
                     "under_fit": False,
                     "steps": 0, "trainable_params": int(clf[-1].coef_.size + clf[-1].intercept_.size),
                     "trained": {"pipeline": clf}}


# ---------------------------------------------------------------- frozen features

@lru_cache(maxsize=4)
def _pretrained_extractor(layer: str, backbone=backbones.SOURCE_CNN, image_shape=None):
    """The backbone's pretrained network cut at ``layer``, built once per process."""
    return backbone.extractor(backbone.pretrained(image_shape), layer)


def extractor(layer: str, pretrained_weights: bool, seed: int = 0, batchnorm: str = "kept",
              calibrate_on=None, backbone=backbones.SOURCE_CNN, image_shape=None):
    """The frozen network cut at ``layer``: pretrained, or the random control for ``seed``;
    its BatchNormalization ``kept`` or ``calibrated`` on ``calibrate_on`` (the sample)."""
    shape = None if image_shape is None else tuple(image_shape)
    if batchnorm == "calibrated" and calibrate_on is None:
        raise ValueError("calibrating BatchNormalization needs the sample's images")
    if pretrained_weights and backbone.weights is not None:
        if batchnorm == "kept":
            return _pretrained_extractor(layer, backbone, shape)
        return features.calibrate_batchnorm(backbone.extractor(backbone.pretrained(shape), layer),
                                            calibrate_on)
    # random weights: the control's own draw, or (offline capstone) the fixed "pretrained" draw
    net = backbone.pretrained(shape) if pretrained_weights else \
        backbone.random_init(RANDOM_INIT_SEED + seed, shape)
    ext = backbone.extractor(net, layer)
    return features.calibrate_batchnorm(ext, calibrate_on) if batchnorm == "calibrated" else ext


def _val_features(ext, task, val, layer, cacheable, backbone):
    """Validation features; the pretrained network's uncalibrated ones through the disk cache."""
    if not cacheable:
        return features.extract_features(ext, val[0])
    key = f"{task.name}-x_val{len(val[1])}-{layer}{backbone.cache_tag()}"
    return features.cached_features(ext, val[0], key)[0]


def fixed_features(task, x, y, val, setting: dict, seed: int, batch_size: int = 32,
                   pretrained_weights: bool = True, backbone=backbones.SOURCE_CNN,
                   max_steps: int = training.MAX_STEPS) -> tuple:
    """A softmax head on frozen features of the (augmented) sample, trained by the rule."""
    xa, ya = augmented_copies(x, y, setting["augmentation"], seed=seed)
    layer, bn = setting["layer"], setting["batchnorm"]
    ext = extractor(layer, pretrained_weights, seed, bn, calibrate_on=xa, backbone=backbone,
                    image_shape=x.shape[1:])
    models.set_seed(seed)        # after building: a random twin's draw must not move the head's
    fresh = features.dense_head(ext.output.shape[-1], task.num_classes, dropout=0.3)
    scale = standardizer(features.extract_features(ext, xa))
    head = traced.reusable(("head", ext.output.shape[-1], task.num_classes), fresh)
    cacheable = pretrained_weights and bn == "kept" and backbone.weights is not None
    val_f = scale(_val_features(ext, task, val, layer, cacheable, backbone))
    train_f = scale(features.extract_features(ext, x))
    run = train_until_fit(head, training.feature_dataset(scale(features.extract_features(ext, xa)),
                                                         ya, batch_size, seed),
                          keras.optimizers.Adam, HEAD_LR, (train_f, y), (val_f, val[1]), max_steps,
                          must_fit=False)
    state = traced.snapshot(head)

    def predict(images):
        traced.restore(head, state)   # the kept head may have trained on another setting since
        return head.predict(scale(features.extract_features(ext, images)), batch_size=512,
                            verbose=0).argmax(1)

    trained = {"layer": layer, "extractor": ext, "head": head, "scale": scale, "x_aug": xa,
               "state": state}
    return predict, dict(run, trainable_params=training.trainable_count(head), trained=trained)


# ---------------------------------------------------------------- whole networks

def scratch_cnn(task, x, y, val, setting: dict, seed: int, batch_size: int = 32,
                backbone=backbones.SOURCE_CNN, max_steps: int = training.MAX_STEPS) -> tuple:
    """The backbone's architecture from random weights, trained end to end by the rule."""
    models.set_seed(seed)
    fresh = backbone.scratch(task.num_classes, x.shape[1:])
    model = traced.reusable(("scratch", task.num_classes, *backbone.trace_key(x.shape[1:])), fresh)
    run = train_until_fit(model, training.image_dataset(x, y, batch_size, seed, setting["augmentation"]),
                          keras.optimizers.Adam, setting["learning_rate"], (x, y), val, max_steps)
    return _network_result(model, run)


def fine_tuning(task, x, y, val, setting: dict, seed: int, batch_size: int = 32,
                backbone=backbones.SOURCE_CNN, max_steps: int = training.MAX_STEPS,
                blocks: int = 2, memo: dict | None = None) -> tuple:
    """A head on the frozen base's features first, then the top ``blocks`` blocks unfrozen at
    the setting's (lower) learning rate, BatchNormalization in inference mode (notebook 04).
    Both phases follow the rule, each up to ``max_steps``. The first phase does not depend on the setting, so with a
    ``memo`` (one dict per sample) it runs once and later settings start from its result."""
    models.set_seed(seed)
    base = backbone.base(backbone.calibrated(backbone.pretrained(x.shape[1:]), x))
    fresh = pretrained.with_new_head(base, task.num_classes, dropout=0.3)
    key = ("fine_tuning", task.num_classes, blocks, *backbone.trace_key(x.shape[1:]))
    model = traced.reusable(key, fresh)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    if (key, "head") not in traced.KEPT:  # the head alone, sharing the model's head layers
        traced.KEPT[key, "head"] = keras.Sequential([keras.Input(shape=base.output.shape[1:]),
                                                     model.get_layer("new_dropout"),
                                                     model.get_layer("new_predictions")])
    head = traced.KEPT[key, "head"]
    base.trainable = False
    memo = {} if memo is None else memo
    if "head" not in memo:
        val_f = features.extract_features(base, val[0])
        train_f = features.extract_features(base, x)
        first = train_until_fit(head, training.feature_dataset(train_f, y, batch_size, seed),
                                keras.optimizers.Adam, HEAD_LR, (train_f, y), (val_f, val[1]), max_steps,
                                must_fit=False)
        memo["head"] = (first, traced.snapshot(head))
    first, state = memo["head"]
    traced.restore(head, state)
    backbone.unfreeze_top_blocks(base, blocks)
    run = train_until_fit(model, training.image_dataset(x, y, batch_size, seed, setting["augmentation"]),
                          lambda lr: keras.optimizers.AdamW(lr, weight_decay=1e-4),
                          setting["learning_rate"], (x, y), val, max_steps)
    run["steps"] += first["steps"]
    run["head_steps"] = first["steps"]
    run["under_fit"] = run["under_fit"] or first["under_fit"]
    return _network_result(model, run)


def _network_result(model, run: dict) -> tuple:
    state = traced.snapshot(model)

    def predict(images):
        traced.restore(model, state)   # a traced model is shared with later runs
        return model.predict(images, batch_size=512, verbose=0).argmax(1)

    return predict, dict(run, trainable_params=training.trainable_count(model),
                         trained={"model": model, "state": state})


def choose(train_one, menu: list) -> tuple:
    """Run ``train_one(setting)`` for every setting of ``menu``; keep the best on validation.

    Returns ``(predict, info, tried)``: ``tried`` lists every setting with its validation score."""
    fits = []
    for setting in menu:
        predict, info = train_one(setting)
        fits.append((info["val_accuracy"], setting, predict, info))
    best = pick(fits)
    tried = [{"setting": s, "val_accuracy": round(float(v), 4), "fitted": bool(i["fitted"]),
              "under_fit": bool(i["under_fit"])} for v, s, _, i in fits]
    return fits[best][2], dict(fits[best][3], setting=fits[best][1]), tried

