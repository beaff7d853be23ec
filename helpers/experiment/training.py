"""Notebook 06's training rule, the same for every network: train until the sample is fitted and
validation has stopped improving, then keep the weights validation liked best.

Every ``CHECK_EVERY`` steps the run measures accuracy on its own (un-augmented) training images
and on the validation images. It stops once training accuracy has reached ``FIT_LEVEL`` and
validation accuracy has not improved for ``PATIENCE`` checks, or after ``MAX_STEPS`` steps. A
run that never reaches ``FIT_LEVEL`` **under-fits**: its row says so, and a cell where a network
under-fits gets no verdict (a scratch CNN stopped before it learned its sample would make any
transfer look good).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from helpers import traced
from helpers.finetuning import train_dataset

__all__ = ["FIT_LEVEL", "PATIENCE", "CHECK_EVERY", "MAX_STEPS", "HEAD_LR", "train_until_fit",
           "image_dataset", "feature_dataset", "accuracy", "trainable_count"]

FIT_LEVEL = 0.95      # training accuracy a run must reach to count as fitted
PATIENCE = 3          # checks without a better validation accuracy, once fitted
CHECK_EVERY = 25      # steps between checks (at least one pass over the sample)
MAX_STEPS = 2000      # no run goes further; one that has not fitted by then under-fits
HEAD_LR = 1e-2        # a new softmax layer on fixed features


def accuracy(model, x, y) -> float:
    """Share of ``x`` that ``model`` labels ``y`` (one forward pass in batches of 512)."""
    return float((model.predict(x, batch_size=512, verbose=0).argmax(1) == np.asarray(y)).mean())


def trainable_count(model) -> int:
    """Weights the optimizer changes (frozen layers excluded)."""
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def image_dataset(x, y, batch_size: int, seed: int, augmentation: str):
    """Shuffled batches of the sample under an augmentation policy, repeated without end."""
    if augmentation not in ("none", "shifts", "shifts and flips"):
        raise ValueError(f"unknown augmentation policy {augmentation!r}")
    return train_dataset(x, y, batch_size, seed=seed, augment=augmentation != "none",
                         flip=augmentation == "shifts and flips").repeat()


def feature_dataset(f, y, batch_size: int, seed: int):
    """Shuffled batches of fixed feature vectors, repeated without end."""
    return (tf.data.Dataset.from_tensor_slices((f, y)).cache().shuffle(len(y), seed=seed)
            .batch(batch_size).repeat())


class _UntilFit(keras.callbacks.Callback):
    """Checks training and validation accuracy at the end of every ``CHECK_EVERY``-step epoch."""

    def __init__(self, train, val, check_every: int, fit_level: float, patience: int):
        super().__init__()
        self.train, self.val = train, val
        self.check_every, self.fit_level, self.patience = check_every, fit_level, patience
        self.best, self.best_state, self.best_step, self.since = -1.0, None, 0, 0
        self.fitted_at, self.steps, self.checks = None, 0, []

    def on_epoch_end(self, epoch, logs=None):
        self.steps = (epoch + 1) * self.check_every
        train_acc, val_acc = accuracy(self.model, *self.train), accuracy(self.model, *self.val)
        self.checks.append((self.steps, train_acc, val_acc))
        if self.fitted_at is None and train_acc >= self.fit_level:
            self.fitted_at = self.steps
        if val_acc > self.best:
            self.best, self.best_state, self.best_step, self.since = (
                val_acc, traced.snapshot(self.model), self.steps, 0)
        else:
            self.since += 1
        if self.fitted_at is not None and self.since >= self.patience:
            self.model.stop_training = True


def train_until_fit(model, dataset, make_optimizer, learning_rate: float, train, val,
                    max_steps: int = MAX_STEPS, check_every: int = CHECK_EVERY,
                    fit_level: float = FIT_LEVEL, patience: int = PATIENCE) -> dict:
    """Train by the rule above, keep the best validation weights, and say how it went.

    ``train`` and ``val`` are ``(x, y)`` pairs (the un-augmented sample, the validation images).
    The first call compiles ``model``; a reused traced model only gets its optimizer reset
    (``helpers.traced``). Returns steps run, when the sample was fitted (None: under-fitted),
    and the kept weights' step and validation accuracy."""
    traced.compile_or_reset(model, lambda: model.compile(
        make_optimizer(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"]),
        learning_rate)
    check_every = max(1, min(check_every, max_steps))
    watch = _UntilFit(train, val, check_every, fit_level, patience)
    model.fit(dataset, steps_per_epoch=check_every, epochs=max(1, max_steps // check_every),
              verbose=0, shuffle=False, callbacks=[watch])
    traced.restore(model, watch.best_state)
    return {"steps": watch.steps, "fitted_at": watch.fitted_at, "kept_step": watch.best_step,
            "val_accuracy": watch.best, "fitted": watch.fitted_at is not None}
