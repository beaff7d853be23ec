"""Notebook 06: the experiment — does transfer beat the best contender without pretrained weights?

Five contenders, in two groups:

- **controls**, no pretrained weights: logistic regression on raw pixels; feature extraction
  from the *same architecture with random weights*; the same CNN trained from scratch;
- **transfer**, the pretrained source model: feature extraction; fine-tuning the top two blocks.

Each transfer strategy has its own random-init control (``CONTROL_OF``): what the pretrained
weights add is the gap between the two, measured on the same samples.

One protocol for every cell of the grid (target × labels per class × seed):

- every contender sees the same balanced few-shot sample and is scored on the same test images;
- every contender gets the same label-preserving augmentation: the networks draw augmented
  batches, the contenders that train on fixed vectors get ``AUG_COPIES`` augmented copies;
- the four networks get the same optimisation budget in **steps**, with no early stopping;
- every choice (the pixel model's regularisation, learning rates, the layer features are read
  from) is made on the validation split, never on test;
- the verdict compares the transfer strategy and the control that validation ranks best, seed
  by seed on test (paired differences, 95% intervals: ``helpers.stats``).
"""

from __future__ import annotations

import json
import math
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpers import backbones, config, stats, traced

CONTROLS = ("pixel_logreg", "random_features", "scratch")
TRANSFER = ("feature_extraction", "fine_tuning")
STRATEGIES = CONTROLS + TRANSFER
NETWORKS = ("random_features", "scratch", "feature_extraction", "fine_tuning")
CONTROL_OF = {"feature_extraction": "random_features", "fine_tuning": "scratch"}
TASKS = ("look", "near", "far")
CHEAP = ("pixel_logreg", "random_features", "feature_extraction")  # may run extra seeds
SCRATCH_LEARNING_RATES = (3e-3, 1e-3, 3e-4)  # the scratch model's candidates, chosen on validation
TUNE_LEARNING_RATES = (1e-3, 1e-4)           # fine-tuning's candidates, chosen on validation
PIXEL_C = (0.01, 0.1, 1.0)                   # inverse regularisation of the pixel baseline
FEATURE_LAYERS = ("block3_relu1", "features")  # where features are read, chosen on validation
AUG_COPIES = 10                              # augmented copies for the fixed-vector contenders
RANDOM_INIT_SEED = 10_000                    # random-init twins use seed + this (not the sample's)
HEAD_LR = 1e-2
MIN_STEPS, MAX_STEPS, EPOCHS_EQUIVALENT = 300, 1500, 20
LABELS = {"pixel_logreg": "logistic regression, pixels",
          "random_features": "feature extraction, random weights",
          "scratch": "scratch CNN (random init)",
          "feature_extraction": "feature extraction, pretrained",
          "fine_tuning": "fine-tuning, pretrained"}
# A verdict in words, for live quiz questions built from measurements (the same length each).
VERDICT_TEXT = {"ahead": "ahead: transfer beats every control, with both intervals above zero",
                "behind": "behind: at least one control beats transfer, beyond both intervals",
                "can't tell": "can't tell: some gap to a control lies within the seeds' intervals"}
VERDICT_WHY = {"ahead": "Section 4 prints it: against each control, the paired gain exceeds the luck of the samples.",
               "behind": "Section 4 prints it: a control is ahead there, so the pretrained weights cost accuracy.",
               "can't tell": "Section 4 prints it: for at least one control the gap could be the luck of the samples."}
TASK_LABELS = {"look": "same classes, new look", "near": "new classes, same look",
               "far": "new classes, new look (digits)"}


def training_steps(n_images: int, batch_size: int = 32, min_steps: int = MIN_STEPS,
                   max_steps: int = MAX_STEPS, epochs: int = EPOCHS_EQUIVALENT) -> int:
    """The step budget every network gets: ``epochs`` passes over the sample, within [min, max]."""
    return int(min(max_steps, max(min_steps, epochs * math.ceil(n_images / batch_size))))


def _macro_f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro"))


def _pick(candidates: dict):
    """The key of the (score, payload) pair with the best score; ties go to the first listed."""
    return max(candidates, key=lambda k: candidates[k][0])


# ---------------------------------------------------------------- samples and features

def augmented_copies(x, y, copies: int = AUG_COPIES, seed: int = 0, flip: bool = True):
    """The sample plus ``copies`` augmented copies of it (the networks' augmentation, drawn once)."""
    from helpers import models

    aug = models.augmentation(seed, flip=flip)
    xs = [np.asarray(x)] + [np.asarray(aug(x, training=True)) for _ in range(copies)]
    return np.concatenate(xs), np.tile(np.asarray(y), copies + 1)


@lru_cache(maxsize=4)
def _pretrained_extractor(layer: str, backbone=backbones.SOURCE_CNN, image_shape=None):
    """The backbone's pretrained network cut at ``layer`` (conv maps averaged to one vector),
    built once per process."""
    return backbone.extractor(backbone.pretrained(image_shape), layer)


def _random_extractor(layer: str, seed: int, calibrate_on, backbone=backbones.SOURCE_CNN):
    """The same architecture with random weights (seed ``RANDOM_INIT_SEED + seed``), cut at
    ``layer``, its BatchNormalization statistics calibrated on ``calibrate_on`` (the sample)."""
    from helpers import features

    twin = backbone.random_init(RANDOM_INIT_SEED + seed, np.shape(calibrate_on)[1:])
    return features.calibrate_batchnorm(backbone.extractor(twin, layer), calibrate_on)


def extractor(layer: str, pretrained: bool, seed: int = 0, calibrate_on=None,
              backbone=backbones.SOURCE_CNN, image_shape=None):
    """Pretrained extractor, or its random-init twin for this seed (calibrated on the sample).

    ``image_shape`` is the shape of one stored image; the source CNN needs none (28×28×1)."""
    if pretrained and backbone.weights is None and calibrate_on is not None:
        # No pretraining (offline): the "pretrained" arm is one fixed random draw, calibrated on
        # the sample as every twin is, so the two arms differ only by the draw.
        shape = tuple(np.asarray(calibrate_on).shape[1:])
        return backbone.calibrated(backbone.extractor(backbone.pretrained(shape), layer), calibrate_on)
    if pretrained:
        shape = None if image_shape is None else tuple(image_shape)
        return _pretrained_extractor(layer, backbone, shape)
    if calibrate_on is None:
        raise ValueError("a random-init extractor needs the sample's images to calibrate on")
    return _random_extractor(layer, seed, calibrate_on, backbone)


def _split_features(ext, task, split: str, n: int | None, layer: str, pretrained: bool,
                    backbone=backbones.SOURCE_CNN):
    """Features of a task's validation or test images. The pretrained model's go through the
    on-disk feature cache (keyed by the backbone, its weights and the images); a random twin's
    are computed."""
    from helpers import features

    images = getattr(task, split)[:n]
    if not pretrained or backbone.weights is None:   # a calibrated random draw: never cached
        return features.extract_features(ext, images)
    key = f"{task.name}-{split}-{layer}{backbone.cache_tag()}"
    feats, _ = features.cached_features(ext, images, key)
    return feats


# ---------------------------------------------------------------- the contenders

def pixel_logreg(x, y, val, seed: int = 0):
    """Logistic regression on standardised raw pixels (notebook 00's linear probe), its C chosen
    on validation. Returns (predict, info)."""
    from helpers.features import flatten_pixels, probe

    clf, val_acc = probe(flatten_pixels(x), y, flatten_pixels(val[0]), val[1], seed,
                         c_values=PIXEL_C, max_iter=1000)
    lr = clf[-1]
    return (lambda images: clf.predict(flatten_pixels(images))), {
        "choice": f"C={lr.C}", "val_accuracy": float(val_acc),
        "trainable_params": int(lr.coef_.size + lr.intercept_.size), "pipeline": clf}


def _image_dataset(x, y, batch_size, seed, flip):
    """Cached, shuffled, augmented (label-preserving) and repeated: fit draws exactly ``steps`` batches."""
    from helpers.finetuning import train_dataset

    return train_dataset(x, y, batch_size, seed=seed, flip=flip).repeat()


def _feature_dataset(f, y, batch_size, seed):
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices((f, y)).cache().shuffle(len(y), seed=seed)
            .batch(batch_size).repeat())


def _train(model, dataset, steps: int, make_optimizer, learning_rate: float) -> None:
    """Compile the first time; afterwards keep the traced step and only reset the optimizer
    (step 0, zero moments, ``learning_rate``). See helpers/traced.py. Then ``steps`` steps."""
    traced.compile_or_reset(model, lambda: model.compile(
        make_optimizer(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"]),
        learning_rate)
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)


def _accuracy(model, x, y) -> float:
    return float((model.predict(x, batch_size=512, verbose=0).argmax(1) == y).mean())


def _trainable(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def feature_extraction(task, x_aug, y_aug, val_n, steps, batch_size, seed, pretrained=True,
                       backbone=backbones.SOURCE_CNN):
    """A softmax head trained on fixed features of augmented images; layer chosen on validation
    among ``backbone.feature_layers``.

    ``pretrained=False`` is the control: the same head on the same architecture with random
    weights, its BatchNormalization calibrated on the (augmented) sample.
    Returns ``(layer, extractor, head, scale, info)``: the head reads ``scale(features)``.
    """
    import keras

    from helpers import models
    from helpers.features import dense_head, extract_features

    fits = {}
    for layer in backbone.feature_layers:
        ext = extractor(layer, pretrained, seed, calibrate_on=x_aug,  # building draws random numbers...
                        backbone=backbone, image_shape=x_aug.shape[1:])
        models.set_seed(seed)               # ...so seed after it, or the head would depend on it
        fresh = dense_head(ext.output.shape[-1], task.num_classes, dropout=0.3)
        train_f = extract_features(ext, x_aug)
        scale = standardizer(train_f)
        head = traced.reusable(("head", ext.output.shape[-1], task.num_classes), fresh)
        _train(head, _feature_dataset(scale(train_f), y_aug, batch_size, seed), steps,
               keras.optimizers.Adam, HEAD_LR)
        val_f = scale(_split_features(ext, task, "x_val", val_n, layer, pretrained, backbone))
        fits[layer] = (_accuracy(head, val_f, task.y_val[:val_n]),
                       (head, traced.snapshot(head), ext, scale))
    layer = _pick(fits)
    head, state, ext, scale = fits[layer][1]
    traced.restore(head, state)   # the kept head may have trained on another layer since
    return layer, ext, head, scale, {"choice": layer, "val_accuracy": float(fits[layer][0]),
                                     "trainable_params": _trainable(head)}


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


def scratch_cnn(task, x, y, val, steps, batch_size, seed, learning_rates=SCRATCH_LEARNING_RATES,
                backbone=backbones.SOURCE_CNN):
    """The backbone's architecture from random weights, one run per learning rate, best on validation."""
    import keras

    from helpers import models

    flip = task.meta.get("flip_preserves_label", True)
    fits = {}
    for lr in learning_rates:
        models.set_seed(seed)
        # BatchNormalization statistics that settle within a short run (momentum 0.9).
        fresh = backbone.scratch(task.num_classes, x.shape[1:])
        model = traced.reusable(("scratch", task.num_classes, *backbone.trace_key(x.shape[1:])), fresh)
        _train(model, _image_dataset(x, y, batch_size, seed, flip), steps, keras.optimizers.Adam, lr)
        fits[lr] = (_accuracy(model, *val), traced.snapshot(model))
    lr = _pick(fits)
    traced.restore(model, fits[lr][1])
    return model, {"choice": f"lr={lr:g}", "val_accuracy": float(fits[lr][0]),
                   "learning_rate": lr}


def fine_tuning(task, x, y, val, steps, batch_size, seed, blocks: int = 2,
                learning_rates=TUNE_LEARNING_RATES, backbone=backbones.SOURCE_CNN):
    """Half the budget: a head on cached features; the other half: top ``blocks`` blocks unfrozen,
    a lower learning rate (chosen on validation), augmented images, BatchNormalization in
    inference mode."""
    fits = {}
    for lr in learning_rates:
        model = _fine_tune_once(task, x, y, steps, batch_size, seed, blocks, lr, backbone)
        fits[lr] = (_accuracy(model, *val), traced.snapshot(model))
    lr = _pick(fits)
    traced.restore(model, fits[lr][1])
    return model, {"choice": f"top {blocks} blocks, lr={lr:g}",
                   "val_accuracy": float(fits[lr][0]), "learning_rate": lr}


def _fine_tune_once(task, x, y, steps, batch_size, seed, blocks, learning_rate,
                    backbone=backbones.SOURCE_CNN):
    """One fine-tuning run: the head on cached features, then the top blocks with the head.

    Reuses the traced model and head of earlier runs with the same shape (helpers/traced.py)."""
    import keras

    from helpers import models, pretrained
    from helpers.features import extract_features

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
    _train(head, _feature_dataset(extract_features(base, x), y, batch_size, seed), steps // 2,
           keras.optimizers.Adam, HEAD_LR)
    backbone.unfreeze_top_blocks(base, blocks)
    flip = task.meta.get("flip_preserves_label", True)
    _train(model, _image_dataset(x, y, batch_size, seed, flip), steps - steps // 2,
           lambda lr: keras.optimizers.AdamW(lr, weight_decay=1e-4), learning_rate)
    return model


# ---------------------------------------------------------------- one cell, the grid

def run_cell(task, strategy: str, per_class, seed: int = 0, steps: int | None = None,
             step_limits=(MIN_STEPS, MAX_STEPS), batch_size: int = 32,
             test_images: int | None = 2000, val_images: int = 500,
             learning_rates=None, backbone=backbones.SOURCE_CNN, return_model: bool = False):
    """Train one contender on one few-shot sample of ``task``; return its measured results.

    ``return_model=True`` returns ``(row, trained)`` instead: ``trained`` holds what made the
    row's predictions (``helpers.final_model.as_keras_model`` turns it into one Keras model), so
    a model exported from it is the one measured, not a retrained look-alike.

    ``learning_rates`` overrides the candidates of the scratch model or of fine-tuning.
    ``backbone`` (``helpers.backbones``) is the network the four networks start from: the
    pretrained one, its random-init twin, and its architecture trained from scratch. Logistic
    regression reads the pixels at the size the task stores them. Rows made with another
    backbone than the source CNN also record its name and where its weights came from.
    """
    from helpers import data
    from helpers.features import extract_features

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if learning_rates is not None and (not len(learning_rates) or min(learning_rates) <= 0):
        raise ValueError(f"learning_rates must list positive rates to choose from, not {learning_rates!r}")
    if strategy in NETWORKS:
        backbone.check_images(task.x_train.shape[1:])
    x, y = data.few_shot(task.x_train, task.y_train, sample_budget(task, per_class), seed=seed)
    val = (task.x_val[:val_images], task.y_val[:val_images])
    x_test, y_test = task.x_test[:test_images], task.y_test[:test_images]
    steps = int(steps or training_steps(len(y), batch_size, *step_limits))
    flip = task.meta.get("flip_preserves_label", True)
    start = time.perf_counter()
    if strategy in ("pixel_logreg", "random_features", "feature_extraction"):
        x_aug, y_aug = augmented_copies(x, y, AUG_COPIES, seed, flip)
    if strategy == "pixel_logreg":
        predict, info = pixel_logreg(x_aug, y_aug, val, seed)
        pred, train_pred = predict(x_test), predict(x)
    elif strategy in ("random_features", "feature_extraction"):
        pretrained = strategy == "feature_extraction"
        layer, ext, head, scale, info = feature_extraction(task, x_aug, y_aug, val_images, steps,
                                                           batch_size, seed, pretrained=pretrained,
                                                           backbone=backbone)
        test_f = scale(_split_features(ext, task, "x_test", test_images, layer, pretrained, backbone))
        pred = head.predict(test_f, batch_size=512, verbose=0).argmax(1)
        train_pred = head.predict(scale(extract_features(ext, x)), batch_size=512, verbose=0).argmax(1)
    else:
        train = scratch_cnn if strategy == "scratch" else fine_tuning
        extra = {"learning_rates": tuple(learning_rates)} if learning_rates else {}
        model, info = train(task, x, y, val, steps, batch_size, seed, backbone=backbone, **extra)
        pred = model.predict(x_test, batch_size=512, verbose=0).argmax(1)
        train_pred = model.predict(x, batch_size=512, verbose=0).argmax(1)
        info["trainable_params"] = _trainable(model)
    row = {
        "task": task.name, "strategy": strategy, "per_class": per_class, "seed": seed,
        "train_images": int(len(y)), "sample": sample_fingerprint(x, y),
        "steps": steps if strategy in NETWORKS else 0,
        "test_images": int(len(y_test)), "val_images": int(len(val[1])),
        "accuracy": float((pred == y_test).mean()), "macro_f1": _macro_f1(y_test, pred),
        "train_accuracy": float((train_pred == y).mean()), "val_accuracy": float(info["val_accuracy"]),
        "choice": info["choice"], "learning_rate": info.get("learning_rate"),
        "seconds": time.perf_counter() - start,
        "trainable_params": int(info["trainable_params"]),
        **({} if backbone == backbones.SOURCE_CNN else
           {"backbone": backbone.name, "weights": backbone.weights_label}),
    }
    if not return_model:
        return row
    trained = ({"pipeline": info["pipeline"]} if strategy == "pixel_logreg" else
               {"model": model} if strategy in ("scratch", "fine_tuning") else
               {"layer": layer, "extractor": ext, "head": head, "scale": scale, "x_aug": x_aug})
    return row, dict(trained, strategy=strategy, image_shape=tuple(x.shape[1:]),
                     num_classes=task.num_classes)


def sample_budget(task, per_class):
    """What ``few_shot`` is asked for: ``per_class`` images of each class, or "all" (the whole
    training split) where that is as many as the smallest class has, or more."""
    smallest = int(np.bincount(task.y_train).min())
    return "all" if per_class == "all" or int(per_class) >= smallest else int(per_class)


def sample_fingerprint(x, y) -> str:
    """A short hash of a few-shot sample: rows with equal prints trained on the same images."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(x).tobytes() + np.asarray(y).tobytes()).hexdigest()[:12]


def run_grid(tasks, budgets, seeds, strategies=STRATEGIES, progress: bool = True,
             learning_rates: dict | None = None, backbone=backbones.SOURCE_CNN, **kwargs) -> list:
    """Every (task, budget, strategy, seed) cell, with a progress bar.

    The learning rates of the scratch model and of fine-tuning are chosen on validation with the
    first seed of each (task, budget) and then kept for the other seeds (each row records its
    ``learning_rate``). ``learning_rates`` ({strategy: candidates}) narrows the candidates.
    ``backbone`` goes to every ``run_cell`` (the capstone's own images use one of its own).
    """
    from tqdm.auto import tqdm

    cells = [(t, b, s, seed) for t in tasks for b in budgets for s in strategies for seed in seeds]
    rows, chosen = [], {}
    bar = tqdm(cells, desc="grid", disable=not progress)
    for task, budget, strategy, seed in bar:
        bar.set_postfix_str(f"{task.name} {budget}/class {strategy} seed {seed}")
        key = (task.name, str(budget), strategy)
        lrs = chosen.get(key, (learning_rates or {}).get(strategy))
        row = run_cell(task, strategy, budget, seed, learning_rates=lrs, backbone=backbone, **kwargs)
        if row["learning_rate"] is not None:
            chosen.setdefault(key, (row["learning_rate"],))
        rows.append(row)
    return rows


def run_extra_seeds(extra_seeds: dict, progress: bool = True, **kwargs) -> list:
    """The committed grid's extra seeds of the cheap contenders ({strategy: {"task budget":
    [seeds]}}, its ``EXTRA_SEEDS`` parameter), so ``FULL_GRID`` reproduces all of it."""
    from helpers import data

    rows = []
    for strategy, by_cell in extra_seeds.items():
        for key, seeds in by_cell.items():
            task, budget = key.split()
            rows += run_grid([data.get_task(task)], [int(budget)], seeds, (strategy,),
                             progress=progress, **kwargs)
    return rows


# ---------------------------------------------------------------- reading the results

def _budget_key(b):
    return float("inf") if str(b) == "all" else float(b)


def cells_of(rows) -> list[tuple[str, str]]:
    """The (task, labels per class) cells present in ``rows``, targets in course order."""
    keys = {(r["task"], str(r["per_class"])) for r in rows}
    order = {t: i for i, t in enumerate(TASKS)}
    return sorted(keys, key=lambda k: (order.get(k[0], 99), _budget_key(k[1])))


def scores(rows, task: str, budget, strategy: str, key: str = "accuracy") -> dict:
    """{seed: score} of one contender in one cell."""
    return {r["seed"]: r[key] for r in rows if r["task"] == task
            and str(r["per_class"]) == str(budget) and r["strategy"] == strategy}


def _seeds_by_cell(rows) -> tuple[dict, dict]:
    """({cell: {contender: its seeds}}, {cell: the seeds every contender of the cell ran})."""
    seeds: dict = {}
    for r in rows:
        seeds.setdefault((r["task"], str(r["per_class"])), {}).setdefault(r["strategy"], set()).add(r["seed"])
    return seeds, {cell: set.intersection(*by.values()) for cell, by in seeds.items()}


def seed_counts(rows) -> tuple[int, dict]:
    """(how many seeds every contender ran in every cell, {cheap contender: {cell: its extra
    seeds}}): "extra" means beyond the seeds every contender of that cell ran."""
    seeds, shared = _seeds_by_cell(rows)
    extra: dict = {}
    for (task, budget), by in sorted(seeds.items()):
        for strategy, s in sorted(by.items()):
            more = sorted(s - shared[task, budget])
            if more:
                extra.setdefault(strategy, {})[f"{task} {budget}"] = more
    return min(len(s) for s in shared.values()), extra


def whole_split_cells(rows) -> dict:
    """{(task, budget): training images} for cells whose budget exceeds a class's training images:
    there ``run_cell`` trains on the whole split, the same sample for every seed."""
    out = {}
    for task, budget in cells_of(rows):
        cell_rows = [r for r in rows if r["task"] == task and str(r["per_class"]) == budget]
        if len({r["seed"] for r in cell_rows}) > 1 and len({r["sample"] for r in cell_rows}) == 1:
            out[task, budget] = int(cell_rows[0]["train_images"])
    return out


def on_shared_seeds(rows) -> list:
    """Only the runs whose seed every contender of that cell ran: the same samples for all."""
    shared = _seeds_by_cell(rows)[1]
    return [r for r in rows if r["seed"] in shared[r["task"], str(r["per_class"])]]


def budget_value(budget):
    """Labels per class as the rows store it: an int (``5``), or ``"all"``."""
    text = str(budget)
    return int(text) if text.isdigit() else text


def aggregate(rows) -> list[dict]:
    """Mean and sample standard deviation over seeds for each (task, budget, strategy).

    ``per_class`` keeps the rows' type (an int such as ``5``, or ``"all"``), so that
    ``s["per_class"] == 5`` finds the cell."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["task"], str(r["per_class"]), r["strategy"]), []).append(r)
    out = []
    for (task, budget, strategy), rs in groups.items():
        acc = [r["accuracy"] for r in rs]
        out.append({"task": task, "per_class": budget_value(budget), "strategy": strategy,
                    "seeds": len(rs),
                    "accuracy_mean": float(np.mean(acc)), "accuracy_sd": stats.sample_sd(acc),
                    "val_accuracy_mean": float(np.mean([r["val_accuracy"] for r in rs])),
                    "macro_f1_mean": float(np.mean([r["macro_f1"] for r in rs])),
                    "train_accuracy_mean": float(np.mean([r["train_accuracy"] for r in rs])),
                    "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
                    "steps": int(rs[0].get("steps", 0)),
                    "test_images": int(rs[0].get("test_images", 0)),
                    "val_images": int(rs[0].get("val_images", 0)),
                    "choices": sorted({str(r.get("choice", "")) for r in rs}),
                    "trainable_params": rs[0]["trainable_params"]})
    return out


def cell(summary, task: str, budget, strategy: str) -> dict:
    """One summary entry by (task, labels per class, strategy)."""
    for s in summary:
        if s["task"] == task and str(s["per_class"]) == str(budget) and s["strategy"] == strategy:
            return s
    raise KeyError(f"no results for {task}, {budget} labels/class, {strategy}")


def best_on_validation(summary, task: str, budget, among, rows=None) -> str:
    """The contender of ``among`` with the highest mean *validation* accuracy in one cell.

    With ``rows``, the means are taken over the seeds every candidate ran, so a cheap contender
    with extra seeds (``CHEAP``) is ranked on the same samples as the others.
    """
    cells = [s for s in summary if s["task"] == task and str(s["per_class"]) == str(budget)
             and s["strategy"] in among]
    if not cells:
        raise KeyError(f"no results for {task}, {budget} labels/class among {among}")
    if rows is None:
        return max(cells, key=lambda s: s["val_accuracy_mean"])["strategy"]
    val = {s["strategy"]: scores(rows, task, budget, s["strategy"], "val_accuracy") for s in cells}
    shared = set.intersection(*(set(v) for v in val.values()))
    if not shared:
        raise KeyError(f"{sorted(val)} share no seed in {task}, {budget} labels/class")
    return max(val, key=lambda k: (np.mean([val[k][seed] for seed in shared]), -among.index(k)))


def compare(rows, task: str, budget, a: str, b: str) -> dict:
    """Paired comparison of ``a`` against ``b`` on the seeds both ran (test accuracy)."""
    sa, sb = scores(rows, task, budget, a), scores(rows, task, budget, b)
    seeds = sorted(set(sa) & set(sb))
    if not seeds:
        raise KeyError(f"{a} and {b} share no seed in {task}, {budget} labels/class")
    return stats.paired([sa[s] for s in seeds], [sb[s] for s in seeds])


def verdict_against_every_control(comparisons: dict) -> str:
    """"ahead" when transfer is ahead of every control, "behind" when any control is ahead of
    it, else "can't tell" (``comparisons``: control → ``compare``'s result)."""
    found = [p["verdict"] for p in comparisons.values()]
    return "ahead" if all(v == "ahead" for v in found) else \
        "behind" if "behind" in found else "can't tell"


def verdicts(rows) -> list[dict]:
    """Per cell: does the transfer strategy that validation ranks best beat the controls?

    "ahead" only if it is ahead of **every** control (both intervals above zero for each: an
    intersection-union test, so picking the control needs no luck); "behind" if any control is
    ahead of it; "can't tell" otherwise. Also each transfer strategy against its own twin.
    Each comparison pairs the seeds both contenders ran: the cheap contenders (``CHEAP``) may
    have extra seeds, which tighten the comparisons among them.
    ``per_class`` keeps the rows' type (an int such as ``2``, or ``"all"``), as in ``aggregate``,
    so that ``v["per_class"] == 2`` finds the cell.
    """
    summary = aggregate(rows)
    out = []
    for task, budget in cells_of(rows):
        best_t = best_on_validation(summary, task, budget, TRANSFER, rows)
        each = {c: compare(rows, task, budget, best_t, c) for c in CONTROLS}
        verdict = verdict_against_every_control(each)
        best_c = best_on_validation(summary, task, budget, CONTROLS, rows)
        entry = {"task": task, "per_class": budget_value(budget), "transfer": best_t, "control": best_c,
                 "verdict": verdict, "transfer_vs_control": each[best_c], "transfer_vs_each": each}
        for strategy, control in CONTROL_OF.items():
            entry[f"{strategy}_vs_{control}"] = compare(rows, task, budget, strategy, control)
        out.append(entry)
    return out


def format_verdicts(verdict_rows) -> str:
    """Per cell, in words generated from the numbers: the verdict, then each control."""
    lines = []
    for v in verdict_rows:
        lines.append(f"{v['task']:<5} {v['per_class']:>4}/class  {LABELS[v['transfer']]} "
                     f"(best transfer on validation) against the controls: {v['verdict'].upper()}")
        for control, p in v["transfer_vs_each"].items():
            lines.append("      " + stats.describe(p, LABELS[v["transfer"]], LABELS[control]))
    return "\n".join(lines)


def format_summary(summary) -> str:
    """A text table: task, labels per class, contender, accuracy mean ± SD, validation, time."""
    lines = [f"{'task':<5} {'labels/class':>12} {'contender':<35} {'test accuracy':>15} "
             f"{'val acc':>8} {'train acc':>9} {'seconds':>8} {'trainable':>10}  chosen on validation"]
    order = {t: i for i, t in enumerate(TASKS)}
    for s in sorted(summary, key=lambda s: (order.get(s["task"], 99), _budget_key(s["per_class"]),
                                            STRATEGIES.index(s["strategy"]))):
        lines.append(f"{s['task']:<5} {s['per_class']:>12} {LABELS[s['strategy']]:<35} "
                     f"{s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f} {s['val_accuracy_mean']:>8.3f} "
                     f"{s['train_accuracy_mean']:>9.3f} {s['seconds_mean']:>8.1f} "
                     f"{s['trainable_params']:>10,}  {'; '.join(s.get('choices', []))}")
    return "\n".join(lines)


def plot_accuracy_vs_budget(summary, tasks=TASKS):
    """Accuracy (mean ± SD) against labels per class, one panel per target, one line per contender.

    Controls are dashed, transfer strategies solid; each control shares its transfer partner's colour.
    """
    import matplotlib.pyplot as plt

    present = [t for t in tasks if any(s["task"] == t for s in summary)]
    fig, axes = plt.subplots(1, len(present), figsize=(5.5 * len(present), 4), squeeze=False)
    colours = {"feature_extraction": "C0", "random_features": "C0", "fine_tuning": "C1",
               "scratch": "C1", "pixel_logreg": "C7"}
    for ax, task in zip(axes[0], present, strict=True):
        for strategy in STRATEGIES:
            cells = sorted((s for s in summary if s["task"] == task and s["strategy"] == strategy),
                           key=lambda s: _budget_key(s["per_class"]))
            if not cells:
                continue
            xs = np.arange(len(cells))
            ax.errorbar(xs, [c["accuracy_mean"] for c in cells], yerr=[c["accuracy_sd"] for c in cells],
                        marker="o", capsize=3, label=LABELS[strategy], color=colours[strategy],
                        linestyle="--" if strategy in CONTROLS else "-")
            ax.set_xticks(xs, [str(c["per_class"]) for c in cells])
        ax.set_title(f"{task}: {TASK_LABELS.get(task, task)}")
        ax.set_xlabel("labels per class")
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_transfer_gain(verdict_rows, tasks=TASKS):
    """What pretraining adds: the paired difference (transfer − best control) with its 95% interval."""
    import matplotlib.pyplot as plt

    present = [t for t in tasks if any(v["task"] == t for v in verdict_rows)]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, task in enumerate(present):
        vs = [v for v in verdict_rows if v["task"] == task]
        xs = np.arange(len(vs)) + (i - (len(present) - 1) / 2) * 0.2
        mean = np.array([v["transfer_vs_control"]["difference"] for v in vs])
        lo = np.array([v["transfer_vs_control"]["t"][0] for v in vs])
        hi = np.array([v["transfer_vs_control"]["t"][1] for v in vs])
        ax.errorbar(xs, mean, yerr=[mean - lo, hi - mean], fmt="o", capsize=3,
                    label=f"{task}: {TASK_LABELS.get(task, task)}")
        ax.set_xticks(np.arange(len(vs)), [v["per_class"] for v in vs])
    ax.axhline(0, color="grey", linewidth=1)
    ax.set_xlabel("labels per class")
    ax.set_ylabel("test accuracy: transfer − best control")
    ax.set_title("Best transfer − best control, paired by seed (95% t-interval)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_results(path: Path, rows, parameters: dict) -> None:
    """Write the raw rows, the summary and the verdicts as JSON (atomically)."""
    from helpers.data import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A part that runs some contenders only (extra seeds for the cheap ones) has no verdicts of
    # its own: they are computed once the parts are merged.
    atomic_write_text(path, json.dumps({"parameters": parameters, "rows": rows,
                                        "summary": aggregate(rows),
                                        "verdicts": verdicts(rows) if has_every_contender(rows) else []},
                                       indent=1))


def has_every_contender(rows) -> bool:
    """True if every cell of ``rows`` has every contender (so verdicts can be computed)."""
    found: dict = {}
    for r in rows:
        found.setdefault((r["task"], str(r["per_class"])), set()).add(r["strategy"])
    return bool(found) and all(set(STRATEGIES) <= s for s in found.values())


def load_results(path: Path) -> dict:
    """A grid file written by ``save_results`` (e.g. the committed full grid)."""
    return json.loads(Path(path).read_text())


COMMITTED_GRID = config.COMMITTED_RESULTS_DIR / "06_choosing_a_strategy.grid.json"


def _interval(p: dict) -> str:
    lo, hi = p["bootstrap"]
    return f"{p['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def markdown_table(grid: dict) -> str:
    """README's table of a grid file: accuracy per contender, the paired verdicts, the sizes."""
    rows = grid["rows"]
    summary = aggregate(rows)
    head = ["target", "labels/class", *(LABELS[s] for s in STRATEGIES),
            "pretrained FE − random FE", "fine-tuning − scratch",
            "best transfer − best control (both chosen on validation); verdict against every control"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    shared_summary = aggregate(on_shared_seeds(rows))
    for v in verdicts(rows):
        task, budget = v["task"], v["per_class"]
        best = max((cell(shared_summary, task, budget, s) for s in STRATEGIES),
                   key=lambda s: s["accuracy_mean"])["strategy"]
        cells = []
        for strategy in STRATEGIES:
            s = cell(summary, task, budget, strategy)
            text = f"{s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f}"
            cells.append(f"**{text}**" if strategy == best else text)
        p = v["transfer_vs_control"]
        lines.append(f"| {task} | {budget} | " + " | ".join(cells)
                     + f" | {_interval(v['feature_extraction_vs_random_features'])}"
                     + f" | {_interval(v['fine_tuning_vs_scratch'])}"
                     + f" | {LABELS[v['transfer']]} − {LABELS[v['control']]}: {_interval(p)}; "
                       f"**{v['verdict']}** |")
    sizes = []
    for task in TASKS:
        s = [x for x in summary if x["task"] == task]
        if s:
            sizes.append(f"{task} ({TASK_LABELS[task]}): {s[0]['test_images']:,} test and "
                         f"{s[0]['val_images']:,} validation images")
    steps = sorted({s["steps"] for s in summary if s["steps"]})
    common, extra = seed_counts(rows)
    more = sorted({len(v) for by_cell in extra.values() for v in by_cell.values()})
    extra_cells = sorted({c for by_cell in extra.values() for c in by_cell})
    seeds_text = f"{common} seeds"
    if extra:
        budgets = sorted({c.split()[1] for c in extra_cells}, key=_budget_key)
        targets = [t for t in TASKS if any(c.split()[0] == t for c in extra_cells)]
        where = (f"{', '.join(budgets)} labels per class" if len(extra_cells) == len(budgets) * len(targets)
                 else ", ".join(extra_cells))
        seeds_text += (f" ({common + max(more)} for the cheap contenders, "
                       f"{'; '.join(LABELS[c] for c in CHEAP if c in extra)}, at {where} on "
                       f"{', '.join(targets)}; comparisons pair the seeds both contenders ran)")
    verdict_rows = verdicts(rows)
    whole = whole_split_cells(rows)
    whole_text = "".join(
        f" {task} {budget}: a class has fewer than {budget} training images, so every seed trains on "
        f"the whole training split ({n:,} images, the same for every seed); its seeds vary only the "
        "training randomness (initialisation, augmentation, order)." for (task, budget), n in whole.items())
    lines += ["", f"Test accuracy, mean ± sample standard deviation over {seeds_text} "
              f"(each seed draws its own few-shot sample, the same for every contender). "
              f"{'; '.join(sizes)}.{whole_text} Every network trained for the same number of steps "
              f"({', '.join(map(str, steps))} by sample size); every choice made on validation. "
              "Differences are paired by seed, with the 95% bootstrap interval in brackets (exact: "
              f"every resample enumerated, up to {stats.EXACT_UP_TO} seeds). "
              "A pair counts as ahead (or behind) only when that interval and the t-interval both "
              "leave out zero. The verdict is \"ahead\" when the best transfer strategy is ahead of "
              "every control, \"behind\" when any control is ahead of it, \"can't tell\" otherwise "
              f"({len(verdict_rows)} cells at 95% each: expect the odd cell to mislead). Bold: highest "
              "mean test accuracy of the row over the seeds every contender ran. Made with `python -m helpers grid` "
              "(datasets/results/README.md)."]
    return "\n".join(lines)
