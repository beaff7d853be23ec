"""Notebook 06's results in words and pictures: the summary table, the verdicts, two plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from helpers import stats
from helpers.experiment.analysis import budget_key
from helpers.experiment.cells import CONTROLS, LABELS, STRATEGIES, TASK_LABELS, TASKS

__all__ = ["VERDICT_TEXT", "VERDICT_WHY", "format_verdicts", "format_summary",
           "plot_accuracy_vs_budget", "plot_transfer_gain"]

# A verdict in words, for live quiz questions built from measurements (the same length each).
VERDICT_TEXT = {"ahead": "ahead: transfer beats every control, and that survives the correction",
                "behind": "behind: some control beats transfer, and that survives the correction",
                "can't tell": "can't tell: a gap is within the intervals, or lost in the correction"}
VERDICT_WHY = {"ahead": "Section 4 prints it: against each control the paired gain exceeds the luck of the samples, across all the cells judged.",
               "behind": "Section 4 prints it: a control is ahead there, across all the cells judged, so the pretrained weights cost accuracy.",
               "can't tell": "Section 4 prints it: a gap could be the luck of the samples, in this cell or once all the cells judged are counted."}


def format_verdicts(verdict_rows) -> str:
    """Per cell, in words generated from the numbers: the verdict, then each control."""
    lines = []
    for v in verdict_rows:
        head = f"{v['task']:<5} {v['per_class']:>4}/class  "
        if v.get("under_fit"):
            lines.append(head + f"NO VERDICT: {', '.join(LABELS[s] for s in v['under_fit'])} "
                         "did not fit its sample in every seed")
            continue
        lines.append(head + f"{LABELS[v['transfer']]} (best transfer on validation) against the "
                     f"controls: {v['verdict'].upper()}" + _correction(v))
        for control, p in v["transfer_vs_each"].items():
            lines.append("      " + stats.describe(p, LABELS[v["transfer"]], LABELS[control]))
    return "\n".join(lines)


def _correction(v: dict) -> str:
    """What the correction over the grid's cells did to a cell's own 95% verdict."""
    if "survives_holm" not in v or v["verdict_per_cell"] == "can't tell":
        return ""
    n = v.get("cells_judged", 1)
    if n < 2:
        return ""
    if v["survives_holm"]:
        return f" (holds across all {n} cells judged: Holm, and Benjamini-Hochberg)"
    bh = "holds" if v["survives_bh"] else "does not hold"
    return (f" ({v['verdict_per_cell']} in this cell alone, p = {v['p_value']:.3f}, but not across "
            f"the {n} cells judged under Holm's correction; under Benjamini-Hochberg it {bh})")


def format_summary(summary) -> str:
    """A text table: task, labels per class, contender, accuracy mean ± SD, validation, time."""
    lines = [f"{'task':<5} {'labels/class':>12} {'contender':<35} {'test accuracy':>15} "
             f"{'val acc':>8} {'train acc':>9} {'fitted':>6} {'steps':>6} {'seconds':>8} {'trainable':>10}  "
             "chosen on validation"]
    order = {t: i for i, t in enumerate(TASKS)}
    for s in sorted(summary, key=lambda s: (order.get(s["task"], 99), budget_key(s["per_class"]),
                                            STRATEGIES.index(s["strategy"]))):
        lines.append(f"{s['task']:<5} {s['per_class']:>12} {LABELS[s['strategy']]:<35} "
                     f"{s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f} {s['val_accuracy_mean']:>8.3f} "
                     f"{s['train_accuracy_mean']:>9.3f} {s.get('fitted', s['seeds']):>3}/{s['seeds']:<2} "
                     f"{s.get('steps_mean', 0):>6.0f} {s['seconds_mean']:>8.1f} "
                     f"{s['trainable_params']:>10,}  {'; '.join(s.get('choices', []))}")
    return "\n".join(lines)


def plot_accuracy_vs_budget(summary, tasks=TASKS):
    """Accuracy (mean ± SD) against labels per class, one panel per target, one line per contender.

    Controls are dashed, transfer strategies solid; each control shares its transfer partner's colour.
    """
    present = [t for t in tasks if any(s["task"] == t for s in summary)]
    fig, axes = plt.subplots(1, len(present), figsize=(5.5 * len(present), 4), squeeze=False)
    colours = {"feature_extraction": "C0", "random_features": "C0", "fine_tuning": "C1",
               "scratch": "C1", "pixel_logreg": "C7"}
    for ax, task in zip(axes[0], present, strict=True):
        for strategy in STRATEGIES:
            cells = sorted((s for s in summary if s["task"] == task and s["strategy"] == strategy),
                           key=lambda s: budget_key(s["per_class"]))
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
