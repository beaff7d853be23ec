"""Notebooks 04 and 05: fine-tuning — unfreeze the top blocks, recompile with a lower learning rate, train on.

The recipe: (1) train a new head on the frozen base; (2) unfreeze the top block(s), keeping
BatchNormalization in inference mode; (3) recompile with a learning rate 10–100× lower;
(4) train with early stopping, dropout, weight decay and augmentation.
"""

from __future__ import annotations

import time
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import confusion_matrix

from helpers import data, models, traced
from helpers.freezing import trainable_count
from helpers.models import BLOCKS

__all__ = ["block_of", "unfreeze_top_blocks", "compile_for_fine_tuning",
           "current_learning_rate", "early_stopping", "augment_layer", "train_dataset",
           "distinct_images_over_epochs", "merge_histories", "two_phase",
           "source_task_accuracy", "most_confused_pairs", "fit_discriminative",
           "imbalanced_sample", "balanced_class_weights", "oversample", "recall_per_class"]


def block_of(layer_name: str) -> str | None:
    """The block a layer belongs to (``block2_conv1`` → ``block2``), or None."""
    prefix = layer_name.split("_")[0]
    return prefix if prefix in BLOCKS else None


def unfreeze_top_blocks(base, n_blocks: int, train_batchnorm: bool = False) -> list[str]:
    """Make the last ``n_blocks`` conv blocks of ``base`` trainable, everything else frozen.

    BatchNormalization layers stay frozen unless ``train_batchnorm``: in Keras 3 a frozen
    BatchNormalization layer runs in inference mode, so it keeps normalising with the source
    statistics (``fit`` hands ``training=True`` down even past ``base(x, training=False)``).
    Returns the names of the trainable layers. Recompile afterwards!
    """
    if not isinstance(n_blocks, int) or isinstance(n_blocks, bool) or not 0 <= n_blocks <= len(BLOCKS):
        raise ValueError(f"n_blocks must be an integer from 0 to {len(BLOCKS)}, not {n_blocks!r}")
    chosen = set(BLOCKS[len(BLOCKS) - n_blocks:])
    base.trainable = True
    for layer in base.layers:
        in_block = block_of(layer.name) in chosen
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = in_block and (train_batchnorm or not is_bn)
    return [layer.name for layer in base.layers if layer.trainable and layer.weights]


def compile_for_fine_tuning(model, learning_rate: float, weight_decay: float = 1e-4):
    """Compile with AdamW at ``learning_rate`` (use 10–100× less than for the head)."""
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def current_learning_rate(model) -> float:
    """The learning rate the model's optimizer uses now."""
    return float(np.asarray(model.optimizer.learning_rate))


def early_stopping(patience: int = 3):
    """Stop when validation loss stops improving and go back to the best epoch's weights."""
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                         restore_best_weights=True)


def augment_layer(seed: int = 0, flip: bool = True):
    """Random (optional) flips and small shifts, applied to each batch during training only."""
    return models.augmentation(seed, name="finetune_augmentation", flip=flip)


def train_dataset(x, y, batch_size: int, seed: int = 0, augment: bool = True,
                  augment_before_cache: bool = False, flip: bool = True):
    """A tf.data pipeline for training. The right order is cache → shuffle → batch → augment.

    ``augment_before_cache=True`` builds the buggy order (augment, then cache): the first
    epoch's random images are stored and replayed unchanged in every later epoch.
    """
    aug = augment_layer(seed, flip=flip)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if augment and augment_before_cache:
        ds = ds.map(lambda a, b: (aug(a[None], training=True)[0], b)).cache()
        return ds.shuffle(len(y), seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    ds = ds.cache().shuffle(len(y), seed=seed).batch(batch_size)
    if augment:
        ds = ds.map(lambda a, b: (aug(a, training=True), b))
    return ds.prefetch(tf.data.AUTOTUNE)


def distinct_images_over_epochs(dataset, epochs: int) -> tuple[int, int]:
    """(images seen, distinct images seen) over ``epochs`` passes: measures augmentation variety."""
    seen = set()
    total = 0
    for _ in range(epochs):
        for batch, _labels in dataset:
            for img in np.asarray(batch):
                seen.add(np.round(img, 4).tobytes())
                total += 1
    return total, len(seen)


def merge_histories(*histories) -> dict:
    """Join several ``History`` objects (phases of one training) into one dict of lists."""
    merged: dict = {}
    for h in histories:
        for k, v in getattr(h, "history", h).items():
            merged.setdefault(k, []).extend(v)
    return merged


def two_phase(make_model, train, val, head_epochs: int, tune_epochs: int, blocks: int,
              head_lr: float = 1e-2, tune_lr: float = 1e-4, seed: int = 0, patience: int = 4,
              train_head_first: bool = True, early_stop: bool = True, test=None,
              source_images: int = 0, reuse: bool = False) -> dict:
    """Head on the frozen base, then fine-tune the top ``blocks`` blocks; return curves and scores.

    ``make_model()`` returns ``(model, base)`` with the base called with ``training=False``.
    ``train`` is a tf.data dataset (or ``(x, y)``) and ``val`` is ``(x_val, y_val)``: early
    stopping (``early_stop``, best weights restored) watches ``val``, so ``val_accuracy`` is
    optimistic; pass ``test=(x, y)`` for an unbiased ``test_accuracy``. With
    ``source_images`` > 0, ``source_accuracy_after`` measures how much of the source skill is left
    on that many source test images (None otherwise: it costs a pass over them).

    ``reuse=True`` keeps one traced model per ``make_model`` and per number of unfrozen blocks
    (helpers/traced.py): later runs skip tracing (seconds each) and give the same numbers as a
    newly built model, but the returned ``model`` is shared: use it before the next such run.
    ``seconds`` is the run's wall time, tracing included.
    """
    started = time.perf_counter()
    models.set_seed(seed)
    model, base, h1, head_only_val = _train_head(make_model, train, val, head_epochs, head_lr,
                                                 train_head_first, reuse)
    pretrained_before = _body_weights(base)
    tuner, stopper, h2 = _fine_tune_top(make_model, model, base, train, val, tune_epochs, blocks,
                                        tune_lr, patience, early_stop, reuse)
    curves = merge_histories(h1, h2)
    return {"model": tuner, "curves": curves, "unfreeze_epoch": len(curves.get("loss", [])) - len(h2.history["loss"]),
            "head_only_val_accuracy": head_only_val,
            "val_accuracy": float(tuner.evaluate(*val, verbose=0)[1]),
            "test_accuracy": float(tuner.evaluate(*test, verbose=0)[1]) if test else None,
            "best_epoch": (int(stopper.best_epoch) if stopper and stopper.best_weights is not None
                           else None),
            "learning_rate": current_learning_rate(tuner),
            "relative_weight_change": _relative_change(pretrained_before, _body_weights(base)),
            "source_accuracy_after": (source_task_accuracy(base, source_images) if source_images > 0
                                      else None),
            "trainable_params": trainable_count(tuner),
            "seconds": time.perf_counter() - started}


def _train_head(make_model, train, val, head_epochs: int, head_lr: float, train_head_first: bool,
                reuse: bool):
    """Phase 1 of :func:`two_phase`: a new model, its base frozen, the head trained (unless
    ``train_head_first`` is False or ``head_epochs`` is 0). Returns ``(model, base, history or
    {}, validation accuracy of the head alone)``."""
    model, base = make_model()
    if reuse:
        model, base = traced.reusable((make_model, "frozen"), (model, base))
    h1 = {}
    base.trainable = False
    _compile(model, lambda: model.compile(keras.optimizers.Adam(head_lr),
                                          "sparse_categorical_crossentropy", metrics=["accuracy"]),
             head_lr, reuse)
    if train_head_first and head_epochs > 0:
        h1 = _fit(model, train, val, head_epochs, [])
    # the last epoch's validation already scored these exact weights; evaluate only if untrained
    head_only_val = (float(h1.history["val_accuracy"][-1]) if h1 else
                     float(model.evaluate(*val, verbose=0)[1]))
    return model, base, h1, head_only_val


def _fine_tune_top(make_model, model, base, train, val, tune_epochs: int, blocks: int,
                   tune_lr: float, patience: int, early_stop: bool, reuse: bool):
    """Phase 2 of :func:`two_phase`: the top ``blocks`` blocks unfrozen, recompiled at
    ``tune_lr``, trained (early stopping on ``val`` if ``early_stop``). Returns ``(the model
    that trained, the EarlyStopping callback or None, its history)``."""
    unfreeze_top_blocks(base, blocks)
    # the same layers as a second model: its own optimizer and traced step for this configuration
    tuner = traced.view((make_model, "tune", blocks), model) if reuse else model
    _compile(tuner, lambda: compile_for_fine_tuning(tuner, tune_lr), tune_lr, reuse)
    stopper = early_stopping(patience) if early_stop else None
    h2 = _fit(tuner, train, val, tune_epochs, [stopper] if stopper else [])
    return tuner, stopper, h2


def _body_weights(base) -> list:
    """Copies of the base's learned weights (BatchNormalization's moving statistics left out)."""
    return [w.numpy().copy() for w in base.weights if "moving" not in w.path]


def _relative_change(before: list, after: list) -> float:
    """How far the weights moved: the norm of the change over the norm of the weights before."""
    return float(np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(after, before, strict=True)))
                 / np.sqrt(sum((b ** 2).sum() for b in before)))


def _compile(model, compile_fresh, learning_rate: float, reuse: bool) -> None:
    """Always compile a new model; a kept one (``reuse``) keeps its traced step (helpers/traced.py)."""
    if reuse:
        traced.compile_or_reset(model, compile_fresh, learning_rate)
    else:
        compile_fresh()


def _fit(model, train, val, epochs, callbacks):
    traced.build_before_fit(model, *val)      # shapes only: one trace of the step, not two
    if isinstance(train, tuple):
        return model.fit(*train, validation_data=val, epochs=epochs, batch_size=32, verbose=0,
                         callbacks=callbacks)
    return model.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=callbacks)


def source_task_accuracy(base, n_images: int = 2000) -> float:
    """How much of the source skill a (fine-tuned) base still has: accuracy on the source task
    with the original pretrained classifier put back on top."""
    units, weights = _source_head()
    head = keras.layers.Dense(units, activation="softmax")
    inputs = keras.Input(shape=base.input.shape[1:])
    model = keras.Model(inputs, head(base(inputs, training=False)))
    head.set_weights(weights)
    task = data.source_task()
    pred = model.predict(task.x_test[:n_images], batch_size=512, verbose=0).argmax(1)
    return float((pred == task.y_test[:n_images]).mean())


@lru_cache(maxsize=1)
def _source_head():
    """The pretrained classifier's size and weights, read from disk once per process."""
    layer = models.load_source_model().get_layer("predictions")
    return layer.units, [w.copy() for w in layer.get_weights()]


def most_confused_pairs(y_true, y_pred, class_names, top: int = 3) -> list[tuple[str, str, int]]:
    """The ``top`` (true class, predicted class, count) mistakes, most frequent first."""
    cm = confusion_matrix(y_true, y_pred, labels=range(len(class_names)))
    np.fill_diagonal(cm, 0)
    order = np.argsort(cm, axis=None)[::-1][:top]
    pairs = [np.unravel_index(i, cm.shape) for i in order]
    return [(class_names[t], class_names[p], int(cm[t, p])) for t, p in pairs if cm[t, p] > 0]


def fit_discriminative(model, base, dataset, steps: int, body_lr: float, head_lr: float) -> list:
    """Train with two learning rates: ``body_lr`` for the base's trainable weights, ``head_lr``
    for the rest (the new head). Keras's ``fit`` has one optimizer, so this is a small custom
    loop with two. Returns the loss of every step."""
    body = list(base.trainable_variables)
    body_ids = {id(v) for v in body}
    head = [v for v in model.trainable_variables if id(v) not in body_ids]
    opt_body, opt_head = keras.optimizers.Adam(body_lr), keras.optimizers.Adam(head_lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, body + head)
        opt_body.apply_gradients(zip(grads[:len(body)], body, strict=True))
        opt_head.apply_gradients(zip(grads[len(body):], head, strict=True))
        return loss

    return [float(train_step(x, y)) for x, y in dataset.take(steps)]


# ---------------------------------------------------------------- a rare class (notebook 05)

def imbalanced_sample(x, y, per_class: int, rare_class: int, rare_count: int, seed: int = 0):
    """A few-shot sample with one rare class: ``per_class`` images of every class except
    ``rare_class``, which keeps only ``rare_count``. The other classes' images are those of the
    balanced ``data.few_shot(x, y, per_class, seed)``, so the two samples differ only in the rare
    class."""
    if not isinstance(rare_count, (int, np.integer)) or not 1 <= rare_count <= per_class:
        raise ValueError(f"rare_count must be an integer from 1 to per_class={per_class}, "
                         f"not {rare_count!r}")
    if rare_class not in set(np.unique(y).tolist()):
        raise ValueError(f"rare_class {rare_class!r} is not one of the labels {np.unique(y).tolist()}")
    xs, ys = data.few_shot(x, y, per_class, seed=seed)
    keep = np.ones(len(ys), bool)
    keep[np.flatnonzero(ys == rare_class)[rare_count:]] = False
    return xs[keep], ys[keep]


def balanced_class_weights(y, num_classes: int | None = None) -> dict:
    """``{class: weight}`` for ``fit(class_weight=...)``: ``n / (k * n_class)``, so each class
    contributes the same total weight to the loss (scikit-learn's "balanced" rule); a class of
    average size gets 1, a class ten times smaller than the others about ten times more."""
    y = np.asarray(y)
    k = num_classes if num_classes is not None else int(y.max()) + 1
    counts = np.bincount(y, minlength=k)
    if (counts == 0).any():
        raise ValueError(f"every class needs at least one image; counts per class: {counts.tolist()}")
    return {c: float(len(y) / (k * counts[c])) for c in range(k)}


def oversample(x, y, seed: int = 0):
    """Repeat the images of every smaller class (drawn at random, with replacement) until each
    class has as many as the largest; shuffled. The repeats add no new information: they only
    make the small class count as much in each epoch."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    labels, counts = np.unique(y, return_counts=True)
    idx = [np.concatenate([np.flatnonzero(y == c),
                           rng.choice(np.flatnonzero(y == c), counts.max() - n, replace=True)])
           for c, n in zip(labels, counts, strict=True)]
    order = rng.permutation(np.concatenate(idx))
    return x[order], y[order]


def recall_per_class(y_true, y_pred, num_classes: int) -> np.ndarray:
    """For each class, the fraction of its test images predicted as that class (its recall)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array([float((y_pred[y_true == c] == c).mean()) if (y_true == c).any() else np.nan
                     for c in range(num_classes)])
