"""The course's pretrained source model: a small CNN trained on six Fashion-MNIST clothing classes.

It plays the part ImageNet weights play in most tutorials: every notebook starts from it, just
as you would start from ``keras.applications.MobileNetV2(weights="imagenet")``. The trained
model ships in ``models/source_cnn.keras`` with a card (``models/source_cnn.json``);
``load_source_model()`` retrains and saves it atomically if the file is missing.

Reproduce the shipped model: ``python -m helpers pretrain``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from pathlib import Path

from helpers import config

BLOCKS = ("block1", "block2", "block3")
FILTERS = (32, 64, 128)
FEATURE_LAYER = "features"  # global average pooling: the 128-number summary of an image
PRETRAIN_EPOCHS = 15
PRETRAIN_SEED = 0


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call (Keras's own helper) and pin op order."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # already enabled, or not available on this build
        pass


def conv_block(x, filters: int, name: str, convs: int = 2, bn_momentum: float = 0.99):
    """``convs`` × (3×3 convolution → BatchNormalization → ReLU), then 2×2 max pooling."""
    from keras import layers

    for i in range(1, convs + 1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return layers.MaxPooling2D(name=f"{name}_pool")(x)


def build_source_cnn(num_classes: int = 6, input_shape=(28, 28, 1), dropout: float = 0.3,
                     bn_momentum: float = 0.99):
    """The source architecture: three conv blocks, global average pooling, a softmax head.

    ``bn_momentum`` sets how fast BatchNormalization's moving statistics follow the data: the
    Keras default 0.99 needs hundreds of steps to settle, so a model trained from scratch for
    only a few dozen steps should use a lower value (0.9) or it evaluates with unsettled statistics.
    """
    import keras
    from keras import layers

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
    import keras
    from keras import layers

    steps = [layers.RandomFlip("horizontal", seed=seed)] if flip else []
    steps.append(layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed))
    return keras.Sequential(steps, name=name)


def pretrain_source_model(epochs: int = PRETRAIN_EPOCHS, seed: int = PRETRAIN_SEED,
                          path: Path = config.SOURCE_MODEL_PATH, verbose: int = 1):
    """Train the source CNN on the six clothing classes and save it with its card (atomically)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from helpers.data import source_task

    set_seed(seed)
    task = source_task()
    model = build_source_cnn(task.num_classes)
    aug = augmentation(seed)
    train = (tf.data.Dataset.from_tensor_slices((task.x_train, task.y_train))
             .shuffle(len(task.y_train), seed=seed).batch(128)
             .map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    steps = epochs * int(np.ceil(len(task.y_train) / 128))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(train, validation_data=(task.x_val, task.y_val), epochs=epochs,
                        verbose=verbose)
    seconds = time.perf_counter() - start
    _, test_acc = model.evaluate(task.x_test, task.y_test, verbose=0)
    card = {
        "model": "source_cnn",
        "task": task.description,
        "classes": task.class_names,
        "train_images": int(len(task.y_train)),
        "epochs": epochs,
        "seed": seed,
        "optimizer": "Adam, cosine-decayed learning rate from 2e-3, batch 128",
        "augmentation": "horizontal flip, translation up to 8%",
        "source_test_accuracy": round(float(test_acc), 4),
        "final_val_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
        "parameters": int(model.count_params()),
        "training_seconds": round(seconds, 1),
        "trained_on": f"{platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}",
        "date": _dt.date.today().isoformat(),
        "reproduce": "python -m helpers pretrain",
    }
    save_model_atomically(model, path)
    card_path = Path(path).with_suffix(".json")
    from helpers.data import atomic_write_text

    atomic_write_text(card_path, json.dumps(card, indent=2) + "\n")
    return model, card


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


def load_source_model(path: Path = config.SOURCE_MODEL_PATH, retrain_if_missing: bool = True):
    """The pretrained source CNN (a fresh copy each call); retrains it if the file is missing."""
    import keras

    path = Path(path)
    if not path.is_file():
        if not retrain_if_missing:
            raise FileNotFoundError(
                f"The source model {path} is missing. Fix: `python -m helpers pretrain` "
                "(about 10 minutes on 2 CPU cores) or restore it with `git checkout models/`."
            )
        print(f"{path} is missing: training the source model again (this takes a while)...")
        pretrain_source_model(path=path)
    try:
        return keras.models.load_model(path)
    except Exception as err:  # a truncated or foreign file
        raise RuntimeError(
            f"Could not load the source model from {path}: {err}\n"
            "Fix: `git checkout models/source_cnn.keras` or retrain with `python -m helpers pretrain`."
        ) from err


def model_card(path: Path = config.SOURCE_MODEL_CARD) -> dict:
    """The source model's card: how it was trained and how well it does."""
    return json.loads(Path(path).read_text())


def source_base(model=None, layer: str = FEATURE_LAYER):
    """The pretrained model without its head: image in, ``layer``'s output out."""
    import keras

    model = model if model is not None else load_source_model()
    return keras.Model(model.input, model.get_layer(layer).output, name="source_base")
