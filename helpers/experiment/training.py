"""Notebook 06's training rule, the same for every network: train until the sample is fitted and
validation has stopped improving, then keep the weights validation liked best.

Every ``CHECK_EVERY`` steps the run measures accuracy on its own (un-augmented) training images
and on the validation images. It stops once validation accuracy has not improved for
``PATIENCE`` checks and the sample is learnt, or after ``MAX_STEPS`` steps. "Learnt" means:

- for a network trained end to end (the scratch CNN, fine-tuning's second phase), training
  accuracy has reached ``FIT_LEVEL``: such a network can fit any few-shot sample, so one that
  has not **under-fits**, whatever the reason;
- for a new head on frozen features (``must_fit=False``), training accuracy has reached
  ``FIT_LEVEL`` or has stopped rising for ``PATIENCE`` checks: the features may not allow more,
  and that is their capacity, not a short run. Such a head under-fits only when it is cut off
  at ``MAX_STEPS`` while still rising.

A row says when its run under-fitted, and a cell where a network under-fits gets no verdict (a
scratch CNN stopped before it learned its sample would make any transfer look good). Runs are
whole multiples of ``CHECK_EVERY`` steps, ``max_steps`` rounded down.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from helpers import traced
from helpers.finetuning import train_dataset
from helpers.freezing import trainable_count

__all__ = ["FIT_LEVEL", "PATIENCE", "CHECK_EVERY", "MAX_STEPS", "HEAD_LR", "train_until_fit",
           "image_dataset", "feature_dataset", "accuracy", "trainable_count"]

FIT_LEVEL = 0.95      # training accuracy a run must reach to count as fitted
PATIENCE = 3          # checks without a better validation accuracy, once fitted
CHECK_EVERY = 25      # steps between checks (at least one pass over the sample)
MAX_STEPS = 2000      # no run goes further; one that has not fitted by then under-fits
HEAD_LR = 1e-2        # a new softmax layer on fixed features


def accuracy(model, x, y) -> float:
    """Share of ``x`` that ``model`` labels ``y`` (one forward pass in batches of 512).

    Up to 512 images go through ``predict_on_batch``: the same numbers as ``predict``, without
    the set-up ``predict`` pays on every call (the training rule checks accuracy often)."""
    x = np.asarray(x)
    scores = (model.predict_on_batch(x) if len(x) <= 512 else
              model.predict(x, batch_size=512, verbose=0))
    return float((np.asarray(scores).argmax(1) == np.asarray(y)).mean())


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

    def __init__(self, train, val, check_every: int, fit_level: float, patience: int,
                 must_fit: bool = True):
        super().__init__()
        self.must_fit = must_fit
        self.train, self.val = train, val
        self.check_every, self.fit_level, self.patience = check_every, fit_level, patience
        self.best, self.best_state, self.best_step, self.since = -1.0, None, 0, 0
        self.best_train, self.train_since = -1.0, 0
        self.fitted_at, self.steps, self.checks = None, 0, []

    @property
    def learnt(self) -> bool:
        """The sample is fitted (or, where fitting it is not required, training accuracy has
        stopped rising)."""
        return self.fitted_at is not None or (not self.must_fit and self.train_since >= self.patience)

    def on_epoch_end(self, epoch, logs=None):
        self.steps = (epoch + 1) * self.check_every
        train_acc, val_acc = accuracy(self.model, *self.train), accuracy(self.model, *self.val)
        self.checks.append((self.steps, train_acc, val_acc))
        if self.fitted_at is None and train_acc >= self.fit_level:
            self.fitted_at = self.steps
        self.best_train, self.train_since = ((train_acc, 0) if train_acc > self.best_train
                                             else (self.best_train, self.train_since + 1))
        if val_acc > self.best:
            self.best, self.best_state, self.best_step, self.since = (
                val_acc, traced.snapshot(self.model), self.steps, 0)
        else:
            self.since += 1
        if self.learnt and self.since >= self.patience:
            self.model.stop_training = True


def train_until_fit(model, dataset, make_optimizer, learning_rate: float, train, val,
                    max_steps: int = MAX_STEPS, check_every: int = CHECK_EVERY,
                    fit_level: float = FIT_LEVEL, patience: int = PATIENCE,
                    must_fit: bool = True) -> dict:
    """Train by the rule above, keep the best validation weights, and say how it went.

    ``train`` and ``val`` are ``(x, y)`` pairs (the un-augmented sample, the validation images).
    The first call compiles ``model``; a reused traced model only gets its optimizer reset
    (``helpers.traced``). ``must_fit=False`` for a head on frozen features (see above). Returns
    steps run, when the sample was fitted (None: never), whether the run under-fitted, and the
    kept weights' step and validation accuracy."""
    traced.compile_or_reset(model, lambda: model.compile(
        make_optimizer(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"]),
        learning_rate)
    traced.build_before_fit(model, *train)
    check_every = max(1, min(check_every, max_steps))
    watch = _UntilFit(train, val, check_every, fit_level, patience, must_fit)
    model.fit(dataset, steps_per_epoch=check_every, epochs=max(1, max_steps // check_every),
              verbose=0, shuffle=False, callbacks=[watch])
    traced.restore(model, watch.best_state)
    return {"steps": watch.steps, "fitted_at": watch.fitted_at, "kept_step": watch.best_step,
            "val_accuracy": watch.best, "fitted": watch.fitted_at is not None,
            "under_fit": not watch.learnt, "final_train_accuracy": watch.checks[-1][1]}
