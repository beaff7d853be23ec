"""Notebook 06's grid: one contender on one few-shot sample (a cell and a seed) gives one row.

Every contender of a seed sees the same balanced sample and is scored on the same test images,
read once, after every choice was made on validation. Each row records the setting chosen, every
setting tried with its validation score, and whether the chosen run fitted its sample.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from tqdm.auto import tqdm

from helpers import backbones, config, data, traced
from helpers.experiment import contenders, menus, training

__all__ = ["CONTROLS", "TRANSFER", "STRATEGIES", "NETWORKS", "CONTROL_OF", "TASKS", "CHEAP",
           "LABELS", "TASK_LABELS", "COMMITTED_GRID", "PROTOCOL", "run_cell", "run_grid", "run_extra_seeds",
           "sample_budget", "sample_fingerprint", "load_results",
           "has_every_contender"]

CONTROLS = ("pixel_logreg", "random_features", "scratch")
TRANSFER = ("feature_extraction", "fine_tuning")
STRATEGIES = CONTROLS + TRANSFER
NETWORKS = ("random_features", "scratch", "feature_extraction", "fine_tuning")
CONTROL_OF = {"feature_extraction": "random_features", "fine_tuning": "scratch"}
TASKS = config.TARGETS
CHEAP = ("pixel_logreg", "random_features", "feature_extraction")  # may run extra seeds
LABELS = {"pixel_logreg": "logistic regression, pixels",
          "random_features": "feature extraction, random weights",
          "scratch": "scratch CNN (random init)",
          "feature_extraction": "feature extraction, pretrained",
          "fine_tuning": "fine-tuning, pretrained"}
TASK_LABELS = {"look": "same classes, new look", "near": "new classes, same look",
               "far": "new classes, new look (digits)"}
COMMITTED_GRID = config.COMMITTED_RESULTS_DIR / "06_choosing_a_strategy.grid.json"
# Stored with every grid file made by this code (``parameters["PROTOCOL"]``).
PROTOCOL = ("every contender chooses, for every seed and on validation, among the same number of "
            "settings (augmentation policy x four of its own); every network trains until it fits "
            "its sample and validation stops improving; under-fit cells get no verdict; verdicts "
            "are corrected across the cells judged (Holm)")


def sample_budget(task, per_class):
    """What ``few_shot`` is asked for: ``per_class`` images of each class, or "all" (the whole
    training split) where that is as many as the smallest class has, or more."""
    smallest = int(np.bincount(task.y_train).min())
    return "all" if per_class == "all" or int(per_class) >= smallest else int(per_class)


def sample_fingerprint(x, y) -> str:
    """A short hash of a few-shot sample: rows with equal prints trained on the same images."""
    return hashlib.sha256(np.ascontiguousarray(x).tobytes() + np.asarray(y).tobytes()).hexdigest()[:12]


def _trainer(strategy, task, x, y, val, seed, batch_size, backbone, max_steps):
    """``setting → (predict, info)`` for one contender on one sample."""
    if strategy == "pixel_logreg":
        return lambda s: contenders.pixel_logreg(x, y, val, s, seed)
    if strategy in ("random_features", "feature_extraction"):
        return lambda s: contenders.fixed_features(
            task, x, y, val, s, seed, batch_size, strategy == "feature_extraction", backbone, max_steps)
    if strategy == "scratch":
        return lambda s: contenders.scratch_cnn(task, x, y, val, s, seed, batch_size, backbone, max_steps)
    memo: dict = {}     # fine-tuning's first phase (the head alone) is the same for every setting
    return lambda s: contenders.fine_tuning(task, x, y, val, s, seed, batch_size, backbone,
                                            max_steps, memo=memo)


def _cell_menu(task, strategy: str, max_steps, own, augmentations, backbone) -> list[dict]:
    """The contender's menu on ``task`` (flips only where they keep labels, a frozen network's
    layers from ``backbone``), after checking the arguments."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if int(max_steps) < 1:
        raise ValueError(f"max_steps must be a positive number of steps, not {max_steps!r}")
    if strategy in NETWORKS:
        backbone.check_images(task.x_train.shape[1:])
    flips = task.meta.get("flip_preserves_label", True)
    if "layer" in menus.OWN_SETTINGS[strategy] and "layer" not in (own or {}):
        own = dict(own or {}, layer=tuple(backbone.feature_layers))   # this backbone's layers
    return menus.menu(strategy, flips, own, augmentations)


def run_cell(task, strategy: str, per_class, seed: int = 0, batch_size: int = 32,
             test_images: int | None = 2000, val_images: int = 500,
             max_steps: int = training.MAX_STEPS, own: dict | None = None,
             augmentations=menus.AUGMENTATIONS, backbone=backbones.SOURCE_CNN,
             return_model: bool = False):
    """Train one contender on one few-shot sample of ``task``, once per setting of its menu;
    keep the setting validation ranks best; score it once on test. Returns the row.

    ``own`` narrows the contender's own settings (``menus.menu``) and ``augmentations`` the
    policies, e.g. for a quicker live run; the row records the menu it chose from.
    ``return_model=True`` returns ``(row, trained)``: what made the row's predictions
    (``helpers.final_model.as_keras_model`` turns it into one Keras model).
    ``backbone`` (``helpers.backbones``) is the network the four networks start from.
    """
    menu = _cell_menu(task, strategy, max_steps, own, augmentations, backbone)
    x, y = data.few_shot(task.x_train, task.y_train, sample_budget(task, per_class), seed=seed)
    val = (task.x_val[:val_images], task.y_val[:val_images])
    x_test, y_test = task.x_test[:test_images], task.y_test[:test_images]
    start = time.perf_counter()
    train_one = _trainer(strategy, task, x, y, val, seed, batch_size, backbone, int(max_steps))
    predict, info, tried = contenders.choose(train_one, menu)
    pred, train_pred = predict(x_test), predict(x)
    setting = info["setting"]
    row = {
        "task": task.name, "strategy": strategy, "per_class": per_class, "seed": seed,
        "train_images": int(len(y)), "sample": sample_fingerprint(x, y),
        "test_images": int(len(y_test)), "val_images": int(len(val[1])),
        "accuracy": float((pred == y_test).mean()), "macro_f1": _macro_f1(y_test, pred),
        "train_accuracy": float((train_pred == y).mean()), "val_accuracy": float(info["val_accuracy"]),
        "setting": setting, "choice": menus.describe_setting(setting),
        "learning_rate": setting.get("learning_rate"), "menu_size": len(menu), "tried": tried,
        "fitted": bool(info["fitted"]), "under_fit": bool(info["under_fit"]),
        "fitted_at": info.get("fitted_at"),
        "steps": int(info["steps"]), "kept_step": info.get("kept_step"),
        "max_steps": int(max_steps) if strategy in NETWORKS else 0,
        "seconds": time.perf_counter() - start,
        "trainable_params": int(info["trainable_params"]),
        **({} if backbone == backbones.SOURCE_CNN else
           {"backbone": backbone.name, "weights": backbone.weights_label}),
    }
    if not return_model:
        return row
    trained = dict(info["trained"])
    for key in ("model", "head"):
        if key in trained:
            traced.restore(trained[key], trained.pop("state"))
    return row, dict(trained, strategy=strategy, image_shape=tuple(x.shape[1:]),
                     num_classes=task.num_classes)


def _macro_f1(y_true, y_pred) -> float:
    return float(f1_score(y_true, y_pred, average="macro"))


def run_grid(tasks, budgets, seeds, strategies=STRATEGIES, progress: bool = True,
             menus_own: dict | None = None, **kwargs) -> list:
    """Every (task, budget, contender, seed), with a progress bar; every seed chooses its own
    settings on validation. ``menus_own`` ({contender: own settings}) narrows menus."""
    cells = [(t, b, s, seed) for t in tasks for b in budgets for s in strategies for seed in seeds]
    rows = []
    bar = tqdm(cells, desc="grid", disable=not progress)
    for task, budget, strategy, seed in bar:
        bar.set_postfix_str(f"{task.name} {budget}/class {strategy} seed {seed}")
        rows.append(run_cell(task, strategy, budget, seed, own=(menus_own or {}).get(strategy),
                             **kwargs))
    return rows


def run_extra_seeds(extra_seeds: dict, progress: bool = True, **kwargs) -> list:
    """The committed grid's extra seeds of the cheap contenders ({strategy: {"task budget":
    [seeds]}}, its ``EXTRA_SEEDS`` parameter), so ``FULL_GRID`` reproduces all of it."""
    rows = []
    for strategy, by_cell in extra_seeds.items():
        for key, seeds in by_cell.items():
            task, budget = key.split()
            rows += run_grid([data.get_task(task)], [int(budget)], seeds, (strategy,),
                             progress=progress, **kwargs)
    return rows


def has_every_contender(rows) -> bool:
    """True if every cell of ``rows`` has every contender (so verdicts can be computed)."""
    found: dict = {}
    for r in rows:
        found.setdefault((r["task"], str(r["per_class"])), set()).add(r["strategy"])
    return bool(found) and all(set(STRATEGIES) <= s for s in found.values())


def load_results(path: Path) -> dict:
    """A grid file written by ``analysis.save_results`` (e.g. the committed full grid)."""
    return json.loads(Path(path).read_text())
