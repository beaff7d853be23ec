"""Notebook 05: the experiment — scratch vs feature extraction vs fine-tuning, by data size and domain.

One fair protocol for every cell of the grid: the same few-shot sample, validation-based early
stopping (best weights restored), the same augmentation, a fixed minimum of optimisation steps
per epoch (so tiny sets are not starved), the same maximum number of epochs for every strategy
(fine-tuning splits it between its two phases), and for the scratch model its own, higher
learning rate. Each cell reports test accuracy, macro-F1, wall time and trainable parameters.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

STRATEGIES = ("scratch", "feature_extraction", "fine_tuning")
MIN_STEPS_PER_EPOCH = 10


def _dataset(x, y, batch_size, seed):
    """Cached, shuffled, augmented after the cache, repeated so every epoch has enough steps."""
    from helpers.finetuning import train_dataset

    return train_dataset(x, y, batch_size, seed=seed).repeat()


def _steps(n, batch_size):
    return max(MIN_STEPS_PER_EPOCH, math.ceil(n / batch_size))


def _macro_f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro"))


def run_cell(task, strategy: str, per_class, seed: int = 0, epochs: int = 10,
             batch_size: int = 32, test_images: int | None = None, val_images: int = 1000,
             patience: int = 3) -> dict:
    """Train one strategy on one few-shot sample of ``task``; return its measured results."""
    import keras

    from helpers import data, finetuning, models, pretrained

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    smallest = int(np.bincount(task.y_train).min())
    take = "all" if per_class == "all" or int(per_class) >= smallest else int(per_class)
    x, y = data.few_shot(task.x_train, task.y_train, take, seed=seed)
    val = (task.x_val[:val_images], task.y_val[:val_images])
    x_test, y_test = task.x_test[:test_images], task.y_test[:test_images]
    ds, steps = _dataset(x, y, batch_size, seed), _steps(len(y), batch_size)

    models.set_seed(seed)
    start = time.perf_counter()

    def fit(model, n_epochs, lr_opt):
        model.compile(lr_opt, "sparse_categorical_crossentropy", metrics=["accuracy"])
        stop = finetuning.early_stopping(patience)
        hist = model.fit(ds, steps_per_epoch=steps, validation_data=val, epochs=n_epochs,
                         verbose=0, callbacks=[stop])
        return len(hist.history["loss"])

    if strategy == "scratch":
        # Its own settings: a higher learning rate, and BatchNormalization statistics that settle
        # within a short run (momentum 0.9), otherwise evaluation uses unsettled statistics.
        model = models.build_source_cnn(task.num_classes, bn_momentum=0.9)
        ran = fit(model, epochs * 2, keras.optimizers.Adam(3e-3))
    else:
        base = models.source_base(models.load_source_model())
        model = pretrained.with_new_head(base, task.num_classes, dropout=0.3)
        base.trainable = False
        head_epochs = epochs if strategy == "fine_tuning" else epochs * 2
        ran = fit(model, head_epochs, keras.optimizers.Adam(1e-2))
        if strategy == "fine_tuning":
            finetuning.unfreeze_top_blocks(base, 2)
            ran += fit(model, epochs, keras.optimizers.AdamW(1e-4, weight_decay=1e-4))
    seconds = time.perf_counter() - start
    pred = model.predict(x_test, batch_size=512, verbose=0).argmax(1)
    return {
        "task": task.name, "strategy": strategy, "per_class": per_class, "seed": seed,
        "train_images": int(len(y)), "accuracy": float((pred == y_test).mean()),
        "macro_f1": _macro_f1(y_test, pred), "seconds": seconds, "epochs_run": ran,
        "trainable_params": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
    }


def run_grid(tasks, budgets, seeds, strategies=STRATEGIES, progress: bool = True, **kwargs) -> list:
    """Every (task, budget, strategy, seed) cell, with a progress bar."""
    from tqdm.auto import tqdm

    cells = [(t, b, s, seed) for t in tasks for b in budgets for s in strategies for seed in seeds]
    rows = []
    for task, budget, strategy, seed in tqdm(cells, desc="grid", disable=not progress):
        rows.append(run_cell(task, strategy, budget, seed, **kwargs))
    return rows


def aggregate(rows) -> list[dict]:
    """Mean and spread (standard deviation) over seeds for each (task, budget, strategy)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["task"], str(r["per_class"]), r["strategy"]), []).append(r)
    out = []
    for (task, budget, strategy), rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs])
        f1 = np.array([r["macro_f1"] for r in rs])
        out.append({"task": task, "per_class": budget, "strategy": strategy, "seeds": len(rs),
                    "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std()),
                    "macro_f1_mean": float(f1.mean()), "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
                    "trainable_params": rs[0]["trainable_params"]})
    return out


def best_strategy(summary, task: str, budget: str) -> str:
    """The strategy with the highest mean accuracy in one (task, budget) cell."""
    cells = [s for s in summary if s["task"] == task and s["per_class"] == str(budget)]
    return max(cells, key=lambda s: s["accuracy_mean"])["strategy"]


def format_summary(summary) -> str:
    """A text table: task, labels per class, strategy, accuracy mean ± spread, macro-F1, time."""
    lines = [f"{'task':<5} {'labels/class':>12} {'strategy':<19} {'accuracy':>15} {'macro-F1':>9} "
             f"{'seconds':>8} {'trainable':>10}"]
    for s in sorted(summary, key=lambda s: (s["task"], _budget_key(s["per_class"]), s["strategy"])):
        lines.append(f"{s['task']:<5} {s['per_class']:>12} {s['strategy']:<19} "
                     f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} {s['macro_f1_mean']:>9.3f} "
                     f"{s['seconds_mean']:>8.1f} {s['trainable_params']:>10,}")
    return "\n".join(lines)


def _budget_key(b):
    return float("inf") if str(b) == "all" else float(b)


def plot_accuracy_vs_budget(summary, tasks=("near", "far")):
    """Accuracy (mean ± spread) against labels per class, one panel per task, one line per strategy."""
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
                        marker="o", capsize=3, label=strategy, color=f"C{i}")
            ax.set_xticks(xs, [c["per_class"] for c in cells])
        ax.set_title(f"{task} target")
        ax.set_xlabel("labels per class")
        ax.set_ylabel("test accuracy")
        ax.legend()
    fig.tight_layout()
    return fig


def save_results(path: Path, rows, summary, parameters: dict) -> None:
    """Write the raw rows and the summary as JSON (atomically)."""
    from helpers.data import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"parameters": parameters, "rows": rows,
                                        "summary": summary}, indent=1))
