"""Notebook 05: the experiment — five contenders, by labelled-data budget and domain distance.

One protocol for every cell of the grid (task × labels per class × seed):

- every contender sees the same balanced few-shot sample and is scored on the same test images;
- the two cheap baselines come first: logistic regression on raw pixels, and k-nearest
  neighbours on pretrained features. A network that does not beat them has not earned its cost;
- the three networks (scratch CNN, feature extraction, fine-tuning) get the same optimisation
  budget in **steps**, with no early stopping: nothing ends a run before its budget is spent;
- every choice a contender makes (the pixel model's regularisation, the scratch model's learning
  rate, the layer features are taken from, k) is made on the validation split, never on test;
- augmentation keeps labels true: horizontal flips only where a mirrored image has the same class.

Each cell reports test accuracy, macro-F1, training accuracy (did the model fit its sample?),
validation accuracy, what was chosen, wall time and trainable parameters.
"""

from __future__ import annotations

import json
import math
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpers import traced

BASELINES = ("pixel_logreg", "knn_features")
NETWORKS = ("scratch", "feature_extraction", "fine_tuning")
STRATEGIES = BASELINES + NETWORKS
SCRATCH_LEARNING_RATES = (3e-3, 1e-3, 3e-4)  # the scratch model's candidates, chosen on validation
TUNE_LEARNING_RATES = (1e-3, 1e-4)           # fine-tuning's candidates, chosen on validation
PIXEL_C = (0.1, 1.0, 10.0)                   # inverse regularisation of the pixel baseline
FEATURE_LAYERS = ("block3_relu1", "features")  # where features are read, chosen on validation
KNN_K = (1, 3, 5)
HEAD_LR = 1e-2
MIN_STEPS, MAX_STEPS, EPOCHS_EQUIVALENT = 300, 1500, 20


def training_steps(n_images: int, batch_size: int = 32, min_steps: int = MIN_STEPS,
                   max_steps: int = MAX_STEPS, epochs: int = EPOCHS_EQUIVALENT) -> int:
    """The step budget every network gets: ``epochs`` passes over the sample, within [min, max]."""
    return int(min(max_steps, max(min_steps, epochs * math.ceil(n_images / batch_size))))


def _macro_f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro"))


@lru_cache(maxsize=4)
def _extractor(layer: str):
    """The source model cut at ``layer`` (conv maps averaged to one vector), built once per process."""
    from helpers import features, models

    return features.pooled_extractor(models.load_source_model(), layer)


@lru_cache(maxsize=16)
def _split_features(task_name: str, split: str, n: int | None, layer: str) -> np.ndarray:
    """Features of a task's validation or test images: from the on-disk feature cache (shared
    with the notebooks and later runs; keyed by the weights and the images), else computed."""
    from helpers import data, features

    images = getattr(data.get_task(task_name), split)[:n]
    feats, _ = features.cached_features(_extractor(layer), images, f"{task_name}-{split}-{layer}")
    return feats


def _pick(candidates: dict):
    """The key of the (score, payload) pair with the best score; ties go to the first listed."""
    return max(candidates, key=lambda k: candidates[k][0])


# ---------------------------------------------------------------- the two baselines

def pixel_logreg(x, y, val, seed: int = 0):
    """Logistic regression on raw pixels, its C chosen on validation. Returns (predict, info)."""
    from sklearn.linear_model import LogisticRegression

    from helpers.features import flatten_pixels

    fits = {}
    for c in PIXEL_C:
        clf = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(flatten_pixels(x), y)
        fits[c] = (clf.score(flatten_pixels(val[0]), val[1]), clf)
    best = _pick(fits)
    clf = fits[best][1]
    return (lambda images: clf.predict(flatten_pixels(images))), {
        "choice": f"C={best}", "val_accuracy": float(fits[best][0]),
        "train_accuracy": float(clf.score(flatten_pixels(x), y)),
        "trainable_params": int(clf.coef_.size + clf.intercept_.size)}


def knn_features(task, x, y, val_n: int, seed: int = 0):
    """k-nearest neighbours (cosine) on pretrained features; layer and k chosen on validation."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    from helpers.features import extract_features

    fits = {}
    for layer in FEATURE_LAYERS:
        f = extract_features(_extractor(layer), x)
        val_f = _split_features(task.name, "x_val", val_n, layer)
        for k in KNN_K:
            if k > len(y):
                continue
            clf = make_pipeline(Normalizer(), KNeighborsClassifier(k)).fit(f, y)
            fits[(layer, k)] = (clf.score(val_f, task.y_val[:val_n]), (clf, f))
    layer, k = _pick(fits)
    clf, f = fits[(layer, k)][1]
    return layer, clf, {"choice": f"{layer}, k={k}", "val_accuracy": float(fits[(layer, k)][0]),
                        "train_accuracy": float(clf.score(f, y)), "trainable_params": 0}


# ---------------------------------------------------------------- the three networks

def _image_dataset(x, y, batch_size, seed, flip):
    """Cached, shuffled, augmented (label-preserving) and repeated: fit draws exactly ``steps`` batches."""
    from helpers.finetuning import train_dataset

    return train_dataset(x, y, batch_size, seed=seed, flip=flip).repeat()


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


def scratch_cnn(task, x, y, val, steps, batch_size, seed, learning_rates=SCRATCH_LEARNING_RATES):
    """The source architecture from random weights, one run per learning rate, best on validation."""
    import keras

    from helpers import models

    flip = task.meta.get("flip_preserves_label", True)
    fits = {}
    for lr in learning_rates:
        models.set_seed(seed)
        # BatchNormalization statistics that settle within a short run (momentum 0.9).
        fresh = models.build_source_cnn(task.num_classes, bn_momentum=0.9)
        model = traced.reusable(("scratch", task.num_classes), fresh)
        _train(model, _image_dataset(x, y, batch_size, seed, flip), steps, keras.optimizers.Adam, lr)
        fits[lr] = (_accuracy(model, *val), traced.snapshot(model))
    lr = _pick(fits)
    traced.restore(model, fits[lr][1])
    return model, {"choice": f"lr={lr:g}", "val_accuracy": float(fits[lr][0]),
                   "learning_rate": lr}


def _feature_dataset(f, y, batch_size, seed):
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices((f, y)).cache().shuffle(len(y), seed=seed)
            .batch(batch_size).repeat())


def feature_extraction(task, x, y, val_n, steps, batch_size, seed):
    """A softmax head trained on cached features of the frozen base; the layer chosen on validation."""
    import keras

    from helpers import models
    from helpers.features import dense_head, extract_features

    fits = {}
    for layer in FEATURE_LAYERS:
        extractor = _extractor(layer)  # built once per process: building it draws random numbers
        models.set_seed(seed)          # ...so seed after it, or the head would depend on the cache
        fresh = dense_head(extractor.output.shape[-1], task.num_classes, dropout=0.3)
        f = extract_features(extractor, x)
        head = traced.reusable(("head", f.shape[1], task.num_classes), fresh)
        _train(head, _feature_dataset(f, y, batch_size, seed), steps, keras.optimizers.Adam, HEAD_LR)
        val_f = _split_features(task.name, "x_val", val_n, layer)
        fits[layer] = (_accuracy(head, val_f, task.y_val[:val_n]), (head, traced.snapshot(head), f))
    layer = _pick(fits)
    head, state, f = fits[layer][1]
    traced.restore(head, state)   # the kept head may have trained on another layer since
    return layer, head, {"choice": layer, "val_accuracy": float(fits[layer][0]),
                         "train_accuracy": _accuracy(head, f, y), "trainable_params": _trainable(head)}


def fine_tuning(task, x, y, val, steps, batch_size, seed, blocks: int = 2,
                learning_rates=TUNE_LEARNING_RATES):
    """Half the budget: a head on cached features; the other half: top ``blocks`` blocks unfrozen,
    a lower learning rate (chosen on validation), augmented images, BatchNormalization in
    inference mode."""
    fits = {}
    for lr in learning_rates:
        model = _fine_tune_once(task, x, y, steps, batch_size, seed, blocks, lr)
        fits[lr] = (_accuracy(model, *val), traced.snapshot(model))
    lr = _pick(fits)
    traced.restore(model, fits[lr][1])
    return model, {"choice": f"top {blocks} blocks, lr={lr:g}",
                   "val_accuracy": float(fits[lr][0]), "learning_rate": lr}


def _fine_tune_once(task, x, y, steps, batch_size, seed, blocks, learning_rate):
    """One fine-tuning run: the head on cached features, then the top blocks with the head.

    Reuses the traced model and head of earlier runs with the same shape (helpers/traced.py)."""
    import keras

    from helpers import finetuning, models, pretrained
    from helpers.features import extract_features

    models.set_seed(seed)
    base = models.source_base(models.load_source_model())
    fresh = pretrained.with_new_head(base, task.num_classes, dropout=0.3)
    key = ("fine_tuning", task.num_classes, blocks)
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
    finetuning.unfreeze_top_blocks(base, blocks)
    flip = task.meta.get("flip_preserves_label", True)
    _train(model, _image_dataset(x, y, batch_size, seed, flip), steps - steps // 2,
           lambda lr: keras.optimizers.AdamW(lr, weight_decay=1e-4), learning_rate)
    return model


# ---------------------------------------------------------------- one cell, the grid

def run_cell(task, strategy: str, per_class, seed: int = 0, steps: int | None = None,
             step_limits=(MIN_STEPS, MAX_STEPS), batch_size: int = 32,
             test_images: int | None = None, val_images: int = 500,
             learning_rates=None) -> dict:
    """Train one contender on one few-shot sample of ``task``; return its measured results.

    ``learning_rates`` overrides the candidates of the scratch model or of fine-tuning.
    """
    from helpers import data

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if learning_rates is not None and (not len(learning_rates) or min(learning_rates) <= 0):
        raise ValueError(f"learning_rates must list positive rates to choose from, not {learning_rates!r}")
    smallest = int(np.bincount(task.y_train).min())
    take = "all" if per_class == "all" or int(per_class) >= smallest else int(per_class)
    x, y = data.few_shot(task.x_train, task.y_train, take, seed=seed)
    val = (task.x_val[:val_images], task.y_val[:val_images])
    x_test, y_test = task.x_test[:test_images], task.y_test[:test_images]
    steps = int(steps or training_steps(len(y), batch_size, *step_limits))
    start = time.perf_counter()
    if strategy == "pixel_logreg":
        predict, info = pixel_logreg(x, y, val, seed)
        pred = predict(x_test)
    elif strategy == "knn_features":
        layer, clf, info = knn_features(task, x, y, val_images, seed)
        pred = clf.predict(_split_features(task.name, "x_test", test_images, layer))
    elif strategy == "feature_extraction":
        layer, head, info = feature_extraction(task, x, y, val_images, steps, batch_size, seed)
        pred = head.predict(_split_features(task.name, "x_test", test_images, layer),
                            batch_size=512, verbose=0).argmax(1)
    else:
        train = scratch_cnn if strategy == "scratch" else fine_tuning
        extra = {"learning_rates": tuple(learning_rates)} if learning_rates else {}
        model, info = train(task, x, y, val, steps, batch_size, seed, **extra)
        pred = model.predict(x_test, batch_size=512, verbose=0).argmax(1)
        info.update(train_accuracy=_accuracy(model, x, y), trainable_params=_trainable(model))
    return {
        "task": task.name, "strategy": strategy, "per_class": per_class, "seed": seed,
        "train_images": int(len(y)), "steps": steps if strategy in NETWORKS else 0,
        "accuracy": float((pred == y_test).mean()), "macro_f1": _macro_f1(y_test, pred),
        "train_accuracy": float(info["train_accuracy"]), "val_accuracy": float(info["val_accuracy"]),
        "choice": info["choice"], "learning_rate": info.get("learning_rate"),
        "seconds": time.perf_counter() - start,
        "trainable_params": int(info["trainable_params"]),
    }


def run_grid(tasks, budgets, seeds, strategies=STRATEGIES, progress: bool = True,
             learning_rates: dict | None = None, **kwargs) -> list:
    """Every (task, budget, strategy, seed) cell, with a progress bar.

    The learning rates of the scratch model and of fine-tuning are chosen on validation with the
    first seed of each (task, budget) and then kept for the other seeds (each row records its
    ``learning_rate``). ``learning_rates`` ({strategy: candidates}) narrows the candidates.
    """
    from tqdm.auto import tqdm

    cells = [(t, b, s, seed) for t in tasks for b in budgets for s in strategies for seed in seeds]
    rows, chosen = [], {}
    bar = tqdm(cells, desc="grid", disable=not progress)
    for task, budget, strategy, seed in bar:
        bar.set_postfix_str(f"{task.name} {budget}/class {strategy} seed {seed}")
        key = (task.name, str(budget), strategy)
        lrs = chosen.get(key, (learning_rates or {}).get(strategy))
        row = run_cell(task, strategy, budget, seed, learning_rates=lrs, **kwargs)
        if row["learning_rate"] is not None:
            chosen.setdefault(key, (row["learning_rate"],))
        rows.append(row)
    return rows


def aggregate(rows) -> list[dict]:
    """Mean and spread (standard deviation) over seeds for each (task, budget, strategy)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["task"], str(r["per_class"]), r["strategy"]), []).append(r)
    out = []
    for (task, budget, strategy), rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs])
        out.append({"task": task, "per_class": budget, "strategy": strategy, "seeds": len(rs),
                    "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std()),
                    "macro_f1_mean": float(np.mean([r["macro_f1"] for r in rs])),
                    "train_accuracy_mean": float(np.mean([r.get("train_accuracy", np.nan) for r in rs])),
                    "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
                    "steps": int(rs[0].get("steps", 0)),
                    "choices": sorted({str(r.get("choice", "")) for r in rs}),
                    "trainable_params": rs[0]["trainable_params"]})
    return out


def cell(summary, task: str, budget, strategy: str) -> dict:
    """One summary entry by (task, labels per class, strategy)."""
    for s in summary:
        if s["task"] == task and s["per_class"] == str(budget) and s["strategy"] == strategy:
            return s
    raise KeyError(f"no results for {task}, {budget} labels/class, {strategy}")


def best_strategy(summary, task: str, budget, among=STRATEGIES) -> str:
    """The contender with the highest mean accuracy in one (task, budget) cell."""
    cells = [s for s in summary if s["task"] == task and s["per_class"] == str(budget)
             and s["strategy"] in among]
    return max(cells, key=lambda s: s["accuracy_mean"])["strategy"]


def beats(summary, task: str, budget, strategy: str, baseline: str = "pixel_logreg") -> str:
    """'wins', 'loses' or 'tie': is ``strategy`` ahead of ``baseline`` by more than the larger spread?"""
    a, b = cell(summary, task, budget, strategy), cell(summary, task, budget, baseline)
    gap, spread = a["accuracy_mean"] - b["accuracy_mean"], max(a["accuracy_std"], b["accuracy_std"])
    return "wins" if gap > spread else "loses" if gap < -spread else "tie"


def verdicts(summary, baseline: str = "pixel_logreg") -> list[dict]:
    """For every (task, budget) and network: does it beat the baseline beyond the seeds' spread?"""
    keys = sorted({(s["task"], s["per_class"]) for s in summary},
                  key=lambda k: (k[0], _budget_key(k[1])))
    out = []
    for task, budget in keys:
        base = cell(summary, task, budget, baseline)["accuracy_mean"]
        for strategy in (s for s in STRATEGIES if s != baseline):
            s = cell(summary, task, budget, strategy)
            out.append({"task": task, "labels/class": budget, "strategy": strategy,
                        "accuracy": round(s["accuracy_mean"], 3),
                        f"vs {baseline}": round(s["accuracy_mean"] - base, 3),
                        "verdict": beats(summary, task, budget, strategy, baseline)})
    return out


def format_summary(summary) -> str:
    """A text table: task, labels per class, contender, accuracy mean ± spread, train accuracy, time."""
    lines = [f"{'task':<5} {'labels/class':>12} {'contender':<19} {'test accuracy':>15} "
             f"{'macro-F1':>9} {'train acc':>9} {'seconds':>8} {'trainable':>10}  chosen on validation"]
    for s in sorted(summary, key=lambda s: (s["task"], _budget_key(s["per_class"]),
                                            STRATEGIES.index(s["strategy"]))):
        lines.append(f"{s['task']:<5} {s['per_class']:>12} {s['strategy']:<19} "
                     f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} {s['macro_f1_mean']:>9.3f} "
                     f"{s['train_accuracy_mean']:>9.3f} {s['seconds_mean']:>8.1f} "
                     f"{s['trainable_params']:>10,}  {'; '.join(s.get('choices', []))}")
    return "\n".join(lines)


def _budget_key(b):
    return float("inf") if str(b) == "all" else float(b)


def plot_accuracy_vs_budget(summary, tasks=("near", "far")):
    """Accuracy (mean ± spread) against labels per class, one panel per task, one line per contender."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for i, strategy in enumerate(STRATEGIES):
            cells = sorted((s for s in summary if s["task"] == task and s["strategy"] == strategy),
                           key=lambda s: _budget_key(s["per_class"]))
            if not cells:
                continue
            xs = np.arange(len(cells))
            ax.errorbar(xs, [c["accuracy_mean"] for c in cells], yerr=[c["accuracy_std"] for c in cells],
                        marker="o", capsize=3, label=strategy, color=f"C{i}",
                        linestyle="--" if strategy in BASELINES else "-")
            ax.set_xticks(xs, [c["per_class"] for c in cells])
        ax.set_title(f"{task} target")
        ax.set_xlabel("labels per class")
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_results(path: Path, rows, summary, parameters: dict) -> None:
    """Write the raw rows and the summary as JSON (atomically)."""
    from helpers.data import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"parameters": parameters, "rows": rows,
                                        "summary": summary}, indent=1))


def load_results(path: Path) -> dict:
    """A grid file written by ``save_results`` (e.g. the committed full grid)."""
    return json.loads(Path(path).read_text())


COMMITTED_GRID = Path(__file__).resolve().parent.parent / "datasets" / "results" / \
    "05_choosing_a_strategy.grid.json"
LABELS = {"pixel_logreg": "logistic regression, pixels", "knn_features": "kNN, pretrained features",
          "scratch": "scratch CNN", "feature_extraction": "feature extraction",
          "fine_tuning": "fine-tuning"}


def markdown_table(grid: dict) -> str:
    """README's table of a grid file: accuracy mean ± spread per contender, best in bold, verdicts."""
    summary, params = grid["summary"], grid["parameters"]
    keys = sorted({(s["task"], s["per_class"]) for s in summary},
                  key=lambda k: (k[0] != "near", _budget_key(k[1])))
    head = ["target", "labels/class", *(LABELS[s] for s in STRATEGIES),
            "best network vs pixels"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task, budget in keys:
        best = best_strategy(summary, task, budget)
        best_net = best_strategy(summary, task, budget, among=NETWORKS)
        cells = []
        for strategy in STRATEGIES:
            s = cell(summary, task, budget, strategy)
            text = f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f}"
            cells.append(f"**{text}**" if strategy == best else text)
        verdict = beats(summary, task, budget, best_net)
        lines.append(f"| {task} | {budget} | " + " | ".join(cells) +
                     f" | {LABELS[best_net]}: {verdict} |")
    steps = sorted({s["steps"] for s in summary if s["steps"]})
    lines.append("")
    lines.append(f"Test accuracy on {params.get('TEST_IMAGES', 'the')} test images, mean ± standard "
                 f"deviation over {params['SEEDS']} seeds; every network trained for the same "
                 f"number of steps ({', '.join(map(str, steps))} by sample size), choices made on "
                 f"{params.get('VAL_IMAGES', 'held-out')} validation images. \"wins\"/\"loses\" "
                 "means ahead/behind pixel logistic regression by more than the larger spread; "
                 "\"tie\" otherwise.")
    return "\n".join(lines)
