"""Checks for notebook 00 (welcome): a few-shot sample, and a base model's features."""

from __future__ import annotations

import numpy as np

from helpers import data
from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["check_features", "check_few_shot_sample"]


def _row_keys(images) -> list[bytes]:
    images = np.ascontiguousarray(np.asarray(images, dtype="float32"))
    return [row.tobytes() for row in images.reshape(len(images), -1)]


def _all_rows_in(sample, pool) -> bool:
    """True if every image of ``sample`` is, pixel for pixel, one of the images of ``pool``."""
    known = set(_row_keys(pool))
    return all(key in known for key in _row_keys(sample))


def _labels_by_image(x, y) -> dict:
    """{image bytes: the set of labels that image has in (x, y)}."""
    found: dict = {}
    for key, label in zip(_row_keys(x), np.asarray(y).tolist(), strict=True):
        found.setdefault(key, set()).add(int(label))
    return found


def _few_shot_conditions(x_arr, y_arr, num_classes: int, per_class: int, train_x, train_y, seed,
                         task: str) -> list:
    """The conditions of :func:`check_few_shot_sample`, in the order their hints are given:
    the sample's form first, then where it comes from, then whether it is the seeded draw."""

    def counts():
        return np.bincount(y_arr.astype(int), minlength=num_classes)

    def mismatched():
        truth = _labels_by_image(train_x, train_y)
        return sum(int(label) not in truth.get(key, ()) for key, label
                   in zip(_row_keys(x_arr), y_arr.tolist(), strict=True))

    def same_sample():
        expected_x, expected_y = data.few_shot(train_x, train_y, per_class, seed=seed)
        mine = sorted(zip(_row_keys(x_arr), y_arr.astype(int).tolist(), strict=True))
        return mine == sorted(zip(_row_keys(expected_x), np.asarray(expected_y).tolist(), strict=True))

    return [
        (len(x_arr) == len(y_arr), f"x_small has {len(x_arr)} images but y_small has "
         f"{len(y_arr)} labels; they must match."),
        (len(y_arr) == num_classes * per_class, f"Expected {num_classes * per_class} images "
         f"({per_class} for each of {num_classes} classes), got {len(y_arr)}."),
        (x_arr.shape[1:] == (28, 28, 1), "Images should keep the shape (28, 28, 1)."),
        (lambda: np.issubdtype(y_arr.dtype, np.integer) and y_arr.min() >= 0
         and y_arr.max() < num_classes, f"y_small should hold class numbers 0 to {num_classes - 1}."),
        (lambda: train_x is None or _all_rows_in(x_arr, train_x),
         f"These images are not all from {task}.x_train: draw the sample from the training split "
         f"(its images and labels); {task}.x_test is kept for scoring models, and an image you "
         "train on would no longer test anything."),
        (lambda: train_y is None or mismatched() == 0,
         lambda: f"{mismatched()} of the {len(y_arr)} labels do not go with their images: each "
         f"label must be the one its image has in {task}.y_train. Keep images and labels together "
         "(few_shot returns them paired; shuffle both with the same order, never one alone)."),
        (lambda: (counts() == per_class).all(), lambda: "Classes are unbalanced: counts per class "
         f"{counts().tolist()}. data.few_shot samples every class equally."),
        (lambda: seed is None or train_y is None or same_sample(),
         "A balanced sample of true pairs, but not the one data.few_shot draws with SEED as its "
         "seed: use SEED, so that anyone who runs the notebook again gets the same images."),
    ]


def check_few_shot_sample(x_small, y_small, num_classes: int, per_class: int, recorder=CURRENT, *,
                          train=None, seed=None, task: str = "the task"):
    """00: ``per_class`` labelled images per class from the training split.

    ``train``: the task's training images, or ``(images, labels)``; with the labels, every
    (image, label) pair must be a pair of the training split. ``seed``: the sample must also be
    the one ``data.few_shot(images, labels, per_class, seed=seed)`` draws (in any order)."""
    train_x, train_y = (train if isinstance(train, (tuple, list)) else (train, None))
    if not_done(x_small) and not_done(y_small):
        return not_done_yet("few_shot_sample", f"store in x_small and y_small a sample of "
                            f"{per_class} labelled images per class from the {task} task's training "
                            "split, each label beside its image, drawn with the course's few-shot "
                            "sampler (data.few_shot) and SEED, so that it can be drawn again "
                            "(section 4 introduces the targets and their splits).", recorder)
    if not_done(x_small) or not_done(y_small):
        return check("few_shot_sample", [(False, "Assign both x_small (the images) and y_small "
                     "(their labels): data.few_shot returns the two together.")], "", recorder)
    x_arr, y_arr = np.asarray(x_small), np.asarray(y_small)
    conditions = _few_shot_conditions(x_arr, y_arr, num_classes, per_class, train_x, train_y, seed,
                                      task)
    return check("few_shot_sample", conditions,
                 f"{len(y_arr)} images, {per_class} per class"
                 f"{'' if train_x is None else ', all from the training split'}"
                 f"{'' if seed is None or train_y is None else ', the sample seed SEED draws'}.",
                 recorder)


def check_features(feats, base, images, recorder=CURRENT, *, asked: str = "these images"):
    """00/03: ``feats`` are the base's outputs for ``images`` (``asked`` names them in hints)."""
    if not_done(feats):
        return not_done_yet("features", f"store in feats the pretrained base's outputs for {asked}: "
                            "one feature vector per image (section 2 runs the base on images).",
                            recorder)
    expected = np.asarray(base.predict(np.asarray(images), verbose=0))
    feats = np.asarray(feats)
    return check("features", [
        (feats.shape == expected.shape, f"feats has shape {feats.shape}; the base gives "
         f"{expected.shape} for {asked}. Did you pass all of them, to the base (not the full "
         "model)?"),
        (lambda: np.allclose(feats, expected, atol=1e-4),
         f"Right shape, other numbers: these are not the base's outputs for {asked}. Pass exactly "
         "those images, unchanged (already scaled to [0, 1]), to the base."),
    ], f"feature matrix of shape {feats.shape}: one {feats.shape[-1]}-number vector per image.",
        recorder)
