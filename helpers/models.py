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
PRETRAIN_EPOCHS = 4
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


GLYPH_CLASSES = 1000       # characters rendered from Debian's fonts (helpers/glyphs.py)
GLYPH_TRAIN, GLYPH_HELD_OUT = 60, 10  # renders per character for training and for checking


def source_training_data(seed: int = PRETRAIN_SEED):
    """The broad source: the six clothing classes (labels 0–5) and 1,000 glyphs (labels 6–1005).

    Returns ``(x, y), (x_held_out, y_held_out), names``: float images in [0, 1], labels, and the
    1,006 class names. Renders are cached in ``datasets/cache`` by the fonts' fingerprint.
    """
    import numpy as np

    from helpers import glyphs
    from helpers.data import atomic_write_bytes, source_task

    files = glyphs.font_files()
    cache = config.CACHE_DIR / f"glyphs-{glyphs.fonts_fingerprint(files)}-{seed}.npz"
    if cache.is_file():
        z = np.load(cache)
        chars, gx, gy, hx, hy = list(z["chars"]), z["gx"], z["gy"], z["hx"], z["hy"]
    else:
        chars = glyphs.choose_characters(GLYPH_CLASSES, seed=seed, files=files)
        gx, gy = glyphs.render_glyphs(chars, GLYPH_TRAIN, seed=seed, files=files)
        hx, hy = glyphs.render_glyphs(chars, GLYPH_HELD_OUT, seed=seed + 1, files=files)
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, chars=np.array(chars), gx=gx, gy=gy, hx=hx, hy=hy)
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, buf.getvalue())
    clothing = source_task()
    offset = clothing.num_classes
    x = np.concatenate([clothing.x_train, gx])
    y = np.concatenate([clothing.y_train, gy + offset])
    x_held = np.concatenate([clothing.x_val, hx])
    y_held = np.concatenate([clothing.y_val, hy + offset])
    names = list(clothing.class_names) + [f"glyph {c} (U+{ord(c):04X})" for c in chars]
    return (x, y), (x_held, y_held), names


def pretrain_source_model(epochs: int = PRETRAIN_EPOCHS, seed: int = PRETRAIN_SEED,
                          path: Path = config.SOURCE_MODEL_PATH, verbose: int = 1):
    """Train the source CNN on the broad source (clothing + 1,000 glyphs); save it with its card.

    The recipe: Adam with a cosine-decayed learning rate from 2e-3, label smoothing 0.1,
    batch 128, shifts of up to 8% as augmentation (no flips: a mirrored glyph is another glyph).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from helpers import glyphs
    from helpers.data import source_task

    set_seed(seed)
    start = time.perf_counter()
    (x, y), (x_held, y_held), names = source_training_data(seed)
    render_seconds = time.perf_counter() - start
    model = build_source_cnn(len(names))
    shift = keras.Sequential([keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant",
                                                             seed=seed)])
    train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=seed).batch(128)
             .map(lambda a, b: (shift(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    steps = epochs * int(np.ceil(len(y) / 128))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                  loss=_smoothed_loss(len(names), 0.1), metrics=["accuracy"])
    history = model.fit(train, epochs=epochs, verbose=verbose)
    train_seconds = time.perf_counter() - start - render_seconds
    clothing = source_task()
    pred = model.predict(clothing.x_test, batch_size=512, verbose=0).argmax(1)
    held_pred = model.predict(x_held, batch_size=512, verbose=0).argmax(1)
    glyph = y_held >= clothing.num_classes
    files = glyphs.font_files()
    card = {
        "model": "source_cnn",
        "task": (f"broad source: {clothing.num_classes} Fashion-MNIST clothing classes and "
                 f"{len(names) - clothing.num_classes} characters rendered from "
                 f"{len(files)} fonts ({len(names)} classes)"),
        "classes": names,
        "clothing_classes": clothing.class_names,
        "train_images": int(len(y)),
        "glyph_renders_per_class": {"train": GLYPH_TRAIN, "held_out": GLYPH_HELD_OUT},
        "fonts": {"files": len(files), "fingerprint": glyphs.fonts_fingerprint(files),
                  "debian_packages": list(glyphs.FONT_PACKAGES)},
        "epochs": epochs,
        "seed": seed,
        "optimizer": "Adam, cosine-decayed learning rate from 2e-3, batch 128, label smoothing 0.1",
        "augmentation": "renders vary font, size, stroke, rotation, shift, blur, contrast and "
                        "noise; training adds shifts of up to 8% (no flips)",
        "source_test_accuracy": round(float((pred == clothing.y_test).mean()), 4),
        "glyph_held_out_accuracy": round(float((held_pred[glyph] == y_held[glyph]).mean()), 4),
        "final_train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "parameters": int(model.count_params()),
        "render_seconds": round(render_seconds, 1),
        "training_seconds": round(train_seconds, 1),
        "trained_on": f"{platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}",
        "date": _dt.date.today().isoformat(),
        "reproduce": "python -m helpers pretrain",
    }
    card["transferability_on_validation"] = assess_on_validation(model)
    # Saved uncompiled: the smoothed loss is a local function load_model could not rebuild, and
    # an optimizer's state is of no use to anyone who transfers the weights.
    save_model_atomically(keras.Model(model.inputs[0], model.outputs[0], name=model.name), path)
    card_path = Path(path).with_suffix(".json")
    from helpers.data import atomic_write_text

    atomic_write_text(card_path, json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return model, card


ASSESS_TASKS = ("look", "near", "far")
ASSESS_BUDGETS = (1, 2, 5)
ASSESS_SEEDS = 5
ASSESS_LAYERS = ("block2_pool", "block3_relu1", "features")


def assess_on_validation(model, tasks=ASSESS_TASKS, budgets=ASSESS_BUDGETS,
                         seeds=ASSESS_SEEDS, layers=ASSESS_LAYERS, progress: bool = True) -> dict:
    """The transferability assessment of a candidate source model, on validation data only.

    Each target's validation split is cut in two: the probe's layer and C are chosen on the first
    half and scored on the second, so a source recipe can be chosen without touching test.
    Returns {task: {budget: paired comparison of pretrained vs random-init probe accuracy}}.
    """
    import copy

    from helpers import data, features, stats

    out = {}
    for name in tasks:
        task = copy.copy(data.get_task(name))
        half = len(task.y_val) // 2
        task.x_val, task.x_test = task.x_val[:half], task.x_val[half:]
        task.y_val, task.y_test = task.y_val[:half], task.y_val[half:]
        rows = features.transferability(model, task, budgets, range(seeds), layers,
                                        val_images=half, test_images=None, progress=progress)
        out[name] = {str(b): stats.paired([r["pretrained_test"] for r in rows if r["per_class"] == b],
                                          [r["random_test"] for r in rows if r["per_class"] == b])
                     for b in budgets}
    return out


def assessment_markdown(card: dict) -> str:
    """README's table of the card's transferability assessment (validation only)."""
    rows = ["| target | labels/class | pretrained features | random weights, same network | "
            "difference [95% bootstrap] | 95% t-interval | verdict |", "|---|---|---|---|---|---|---|"]
    goal = []
    for task, by_budget in card["transferability_on_validation"].items():
        for budget, p in by_budget.items():
            rows.append(f"| {task} | {budget} | {p['mean_a']:.3f} | {p['mean_b']:.3f} | "
                        f"{p['difference']:+.3f} [{p['bootstrap'][0]:+.3f}, {p['bootstrap'][1]:+.3f}] | "
                        f"[{p['t'][0]:+.3f}, {p['t'][1]:+.3f}] | {p['verdict']} |")
            if task in ("near", "far"):
                goal.append(p["difference"] >= 0.10 and p["verdict"] == "ahead")
    rows += ["", f"Linear probes on the targets' validation splits (choices on one half, scores on the "
             f"other), {ASSESS_SEEDS} few-shot samples per cell, each with its own random-weight twin "
             f"whose BatchNormalization is calibrated on that sample. The goal set for the source "
             f"(pretrained ahead of random weights by at least 0.10, both intervals above zero, at "
             f"1, 2 and 5 labels per class on the new-classes targets) is met in {sum(goal)} of "
             f"{len(goal)} cells."]
    first = card.get("transferability_on_validation_uncalibrated_twin")
    if first:
        met = [p["difference"] >= 0.10 and p["verdict"] == "ahead"
               for task in ("near", "far") for p in first[task].values()]
        diffs = [p["difference"] for by_budget in first.values() for p in by_budget.values()]
        now = card["transferability_on_validation"]
        stronger = sum(first[t][b]["mean_b"] > now[t][b]["mean_b"] for t in first for b in first[t])
        rows.append(f"Measured first with the twin's BatchNormalization left at its initial "
                    f"statistics (that twin scored higher than the calibrated one in {stronger} of "
                    f"{len(diffs)} cells), the differences ran from "
                    f"{min(diffs):+.3f} to {max(diffs):+.3f} and the goal was met in {sum(met)} of "
                    f"{len(met)} cells: whether the goal is met depends on that choice of control.")
    return "\n".join(rows)


def _smoothed_loss(num_classes: int, smoothing: float):
    """Sparse cross-entropy with label smoothing (Keras's own smoothing needs one-hot labels)."""
    import keras

    loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)

    def smoothed(y_true, y_pred):
        return loss(keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"),
                                      num_classes), y_pred)

    return smoothed


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
