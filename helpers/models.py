"""The course's pretrained source model: a small CNN pretrained on a broad source of 1,006 classes.

It plays the part ImageNet weights play in most tutorials: every notebook starts from it, just
as you would start from ``keras.applications.MobileNetV2(weights="imagenet")``. Its source is
six Fashion-MNIST clothing classes (labels 0–5) and 1,000 characters rendered from Debian's
fonts (labels 6–1005). The trained model ships in ``models/source_cnn.keras`` with a card
(``models/source_cnn.json``): how it was trained and how well its features transfer.

This module holds the architecture, loading, and the random-weight control (``TWIN_SEED`` and
``TWIN_BATCHNORM``). The pretraining recipe itself is a teacher's tool, not course material:
``make pretrain`` (``python -m helpers pretrain``) reproduces the shipped model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

from helpers import config

__all__ = ["load_source_model", "source_base", "model_card", "FEATURE_LAYER", "SOURCE_CLASSES",
           "BLOCKS", "FILTERS", "build_source_cnn", "conv_block", "augmentation", "set_seed",
           "TWIN_SEED", "TWIN_BATCHNORM", "PRETRAINED_BATCHNORM", "save_model_atomically"]

BLOCKS = ("block1", "block2", "block3")
FILTERS = (32, 64, 128)
FEATURE_LAYER = "features"  # global average pooling: the 128-number summary of an image
SOURCE_CLASSES = 1006       # six clothing classes and 1,000 glyphs

# The random-weight control ("random twin"): the source architecture with fresh random weights,
# drawn with seed TWIN_SEED + the few-shot sample's seed (never the sample's own seed). A newly
# initialised BatchNormalization layer holds mean 0 and variance 1, not its inputs' statistics;
# two treatments of that are legitimate, and the control's score depends on which is used:
# "as initialised" (statistics left as they are) or "calibrated on the sample" (set from the
# few-shot sample's unlabelled images). Neither is assumed: for each sample the control is
# given both, and the one better on validation is used. The pretrained network gets a menu of
# the same size: its source statistics as they come, or recalibrated on the sample, so the two
# arms choose from menus of the same size (layer × C × BatchNormalization).
TWIN_SEED = 10_000
TWIN_BATCHNORM = ("as initialised", "calibrated on the sample")
PRETRAINED_BATCHNORM = ("from the source", "calibrated on the sample")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call (Keras's own helper) and pin op order."""
    keras.utils.set_random_seed(int(seed))
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # already enabled, or not available on this build
        pass


def conv_block(x, filters: int, name: str, convs: int = 2, bn_momentum: float = 0.99):
    """``convs`` × (3×3 convolution → BatchNormalization → ReLU), then 2×2 max pooling."""
    for i in range(1, convs + 1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return layers.MaxPooling2D(name=f"{name}_pool")(x)


def build_source_cnn(num_classes: int = SOURCE_CLASSES, input_shape=(28, 28, 1), dropout: float = 0.3,
                     bn_momentum: float = 0.99):
    """The source architecture: three conv blocks, global average pooling, a softmax head
    (``num_classes`` outputs: the shipped model's 1,006 by default).

    ``bn_momentum`` sets how fast BatchNormalization's moving statistics follow the data: the
    Keras default 0.99 needs hundreds of steps to settle, so a model trained from scratch for
    only a few dozen steps should use a lower value (0.9) or it evaluates with unsettled statistics.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for block, filters in zip(BLOCKS, FILTERS, strict=True):
        x = conv_block(x, filters, block, bn_momentum=bn_momentum)
    x = layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="source_cnn")


def augmentation(seed: int = 0, name: str = "augmentation", flip: bool = True):
    """Light augmentation for 28×28 images: small shifts, and a horizontal flip where ``flip``.

    Augmentation must keep the label true: a mirrored shoe is still a shoe, but a mirrored
    digit is not a digit (a flipped 2 or 7 is no longer a 2 or 7), so pass ``flip=False`` there.
    """
    steps = [layers.RandomFlip("horizontal", seed=seed)] if flip else []
    steps.append(layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed))
    return keras.Sequential(steps, name=name)


def save_model_atomically(model, path: Path) -> None:
    """Save to a temporary ``.keras`` file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_source_model(path: Path = config.SOURCE_MODEL_PATH, retrain_if_missing: bool = False):
    """The pretrained source CNN (a fresh copy each call).

    A missing file is an error that says how to get it back; it is never retrained here
    (``retrain_if_missing`` is accepted for old calls and changes nothing)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"The source model {path} is missing. Fix: restore it with "
            "`git checkout models/source_cnn.keras`, or retrain it with `make pretrain` "
            "(`python -m helpers pretrain`: 11 to 27 minutes of training measured on 2 CPU "
            "cores, then the card's assessment; it needs the font packages, which "
            "`make pretrain` installs)."
        )
    try:
        return keras.models.load_model(path)
    except Exception as err:  # a truncated or foreign file
        raise RuntimeError(
            f"Could not load the source model from {path}: {err}\n"
            "Fix: `git checkout models/source_cnn.keras` or retrain with `make pretrain`."
        ) from err


def model_card(path: Path = config.SOURCE_MODEL_CARD) -> dict:
    """The source model's card: how it was trained and how well it does."""
    return json.loads(Path(path).read_text())


def source_base(model=None, layer: str = FEATURE_LAYER):
    """The pretrained model without its head: image in, ``layer``'s output out."""
    model = model if model is not None else load_source_model()
    return keras.Model(model.input, model.get_layer(layer).output, name="source_base")
