"""Checks for notebook 07 (going further): a family's own preprocessing, and k-fold scores
recomputed from the pool."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from helpers.applications import preprocess_input, to_rgb_batch
from helpers.exercises.core import CURRENT, check, not_done, not_done_yet
from helpers.features import extract_features, linear_probe
from helpers.stats import sample_sd

__all__ = ["check_kfold_scores", "check_preprocessed"]


def check_preprocessed(batch, name: str, images, recorder=CURRENT):
    """07: ``images`` (grey, 0..1) as 96×96 RGB 0..255 pixels, through the family's own
    ``preprocess_input``.

    The expectation is rebuilt from ``images``, never from the learner's ``raw``: some
    ``preprocess_input`` functions change a float array in place, so ``raw`` may already hold
    the answer after a correct ``ready = preprocess_input(raw)``.
    """
    if not_done(batch):
        return not_done_yet("preprocessed", f"store in ready the pixels of raw prepared the way "
                            f"{name} expects, with its family's own preprocessing (section 1 "
                            "shows why each family has its own).", recorder)
    pixels = np.asarray(to_rgb_batch(images), dtype="float32")
    expected = np.asarray(preprocess_input(name)(pixels.copy()))
    batch = np.asarray(batch)
    return check("preprocessed", [
        (batch.shape == expected.shape, f"Shape {batch.shape} should stay {expected.shape}: "
         "preprocess_input changes values, not shape."),
        (lambda: np.allclose(expected, pixels, atol=1e-4)
         or not np.allclose(batch, pixels / 255.0, atol=1e-4),
         "These are the pixels divided by 255 (0..1). Each family scales in its own way: use "
         f"{name}'s own preprocessing on the 0..255 pixels (section 1)."),
        (lambda: np.allclose(expected, pixels, atol=1e-4) or not np.allclose(batch, pixels, atol=1e-4),
         f"These are still the raw 0..255 pixels: prepare them with {name}'s own preprocessing."),
        (lambda: np.allclose(batch, expected, atol=1e-4),
         f"Values in [{batch.min():.2f}, {batch.max():.2f}], expected [{expected.min():.2f}, "
         f"{expected.max():.2f}]. Use {name}'s own preprocessing (section 1), once, on the 0..255 "
         "pixels."),
    ], f"values now in [{expected.min():.1f}, {expected.max():.1f}], as {name} expects.", recorder)


def _splits(labels, k: int, seed: int):
    """The admissible splits, by name: k folds, shuffled with ``seed``, stratified or not."""
    dummy = np.zeros((len(labels), 1))
    return {f"{cls.__name__}({k}, shuffle=True, random_state=SEED)":
            list(cls(k, shuffle=True, random_state=seed).split(dummy, labels))
            for cls in (StratifiedKFold, KFold)}


def _unshuffled(labels, k: int):
    dummy = np.zeros((len(labels), 1))
    return [list(cls(k).split(dummy, labels)) for cls in (StratifiedKFold, KFold)]


def _as_scores(scores) -> np.ndarray:
    """The learner's scores as a float array (a 2-D empty one when they are not numbers)."""
    try:
        return np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        return np.array([[]])


def _pool(features, base, images, labels):
    """``(features, labels)`` of the pool as arrays, or ``(None, labels)`` without a pool."""
    if labels is None or (features is None and base is None):
        return None, labels
    pool = np.asarray(features if features is not None else extract_features(base, images))
    return pool, np.asarray(labels)


def _fold_matcher(scores, pool, labels, seed: int):
    """``matches(splits, on)``: do ``scores`` equal, in any order, the course's logistic
    regression's accuracies on the ``on`` ("test" or "train") rows of one of ``splits``?"""
    cache: dict = {}

    def fold_scores(split, on):
        key = (id(split), on)
        if key not in cache:
            cache[key] = sorted(linear_probe(pool[tr], labels[tr], pool[te if on == "test" else tr],
                                             labels[te if on == "test" else tr], seed)
                                for tr, te in split)
        return cache[key]

    def possible(split, on):
        """Could these be accuracies on these folds (a whole number of right answers each)?"""
        sizes = [len(te if on == "test" else tr) for tr, te in split]
        return all(any(abs(s * n - round(s * n)) < 1e-6 for n in sizes) for s in scores)

    def matches(candidates, on="test"):
        return any(possible(s, on) and np.allclose(sorted(scores), fold_scores(s, on), atol=1e-6)
                   for s in candidates)
    return matches


def _kfold_conditions(scores, k: int, pool, labels, seed: int) -> list:
    """The conditions of :func:`check_kfold_scores`, in the order their hints are given."""
    splits = _splits(labels, k, seed) if pool is not None else {}
    matches = _fold_matcher(scores, pool, labels, seed) if pool is not None else None
    return [
        (scores.ndim == 1 and len(scores) == k, f"Expected {k} scores (one per fold), got "
         f"{scores.shape}."),
        (lambda: ((0 <= scores) & (scores <= 1)).all(), "Scores should be accuracies between 0 and 1."),
        (lambda: pool is None or matches(splits.values()) or not matches(splits.values(), "train"),
         "These are the accuracies on the training folds, which the classifier has seen: score each "
         "fold's model on that fold's test indices."),
        (lambda: pool is None or matches(splits.values()) or not matches(_unshuffled(labels, k)),
         f"These folds were not shuffled: shuffle them, seeded with SEED, so that each fold mixes "
         f"the pool's rows and anyone can draw the same {k} folds again."),
        (lambda: sample_sd(scores) > 1e-9, "All folds have exactly the same score: did you evaluate "
         "on the same split every time? Use the test indices each fold gives you."),
        (lambda: pool is None or matches(splits.values()),
         f"These are not the test-fold accuracies of a {k}-fold cross-validation of the pool: the "
         "check uses the source model's features of pool_x, folds shuffled with SEED (stratified "
         "or not), and on each fold the course's logistic regression, features.linear_probe with "
         "SEED, trained on the fold's training rows and scored on its test rows (section 4)."),
    ]


def check_kfold_scores(scores, k: int, recorder=CURRENT, *, features=None, base=None, images=None,
                       labels=None, seed: int = 0):
    """07: the test-fold accuracies of a ``k``-fold cross-validation of the course's logistic
    regression (``features.linear_probe``) on the pool's features, recomputed here.

    The pool is ``features`` (or ``base``'s features of ``images``) with ``labels``; a right
    answer splits with ``StratifiedKFold`` or ``KFold`` (k folds, ``shuffle=True``,
    ``random_state=seed``) and gives one accuracy per fold, in any order. Without a pool, only
    the form is checked (k numbers in [0, 1], not all equal)."""
    if not_done(scores):
        return not_done_yet("kfold_scores", f"store in my_scores the {k} test-fold accuracies "
                            f"of a shuffled {k}-fold cross-validation, seeded with SEED, of the "
                            "course's logistic regression (features.linear_probe) on the source "
                            "model's features of the pool (section 4 explains k-fold).", recorder)
    scores = _as_scores(scores)
    pool, labels = _pool(features, base, images, labels)
    return check("kfold_scores", _kfold_conditions(scores, k, pool, labels, seed),
                 lambda: f"{k} folds: mean {scores.mean():.3f}, sample SD {sample_sd(scores):.3f}"
                         f"{'' if pool is None else ', the accuracies each test fold gives'}.",
                 recorder)
