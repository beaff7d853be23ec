"""Notebook 08: does transfer pay on your own images, which strategy, and how many labels?

Nothing here is new protocol. The transferability assessment is notebook 03's
(``features.assess_targets``); the learning curve is notebook 06's grid (``experiment.run_grid``)
on one task, with the backbone that suits the images (``helpers.backbones``); every choice is
made on validation and every comparison is paired by seed (``helpers.stats``). What this module
adds is the reading: a recommendation in words generated from the numbers, how many labels per
class reach most of the best accuracy, and the test images the chosen model gets most wrong.

Negative transfer, as the course defines it: the transfer strategy scores below the best control
that uses no pretrained weights, trained and tuned on the same data.
"""

from __future__ import annotations

import numpy as np

from helpers import backbones, experiment, features, stats

__all__ = ["assessment", "format_assessment", "learning_curve", "comparison", "recommendation",
           "labels_needed", "plot_learning_curve", "most_confused", "plot_most_confused",
           "TARGET_FRACTION"]

TARGET_FRACTION = 0.95   # "enough labels": within this fraction of the best accuracy seen


def _budget(value):
    """Labels per class as rows store it: an int (``5``), or ``"all"``."""
    text = str(value)
    return int(text) if text.isdigit() else text


def _per_class(budget) -> str:
    return f"{budget} label{'' if str(budget) == '1' else 's'} per class"


# ---------------------------------------------------------------- the transferability assessment

def assessment(task, backbone=backbones.SOURCE_CNN, budgets=(1, 5), seeds=range(5),
               val_images: int = 500, test_images: int = 2000) -> list[dict]:
    """Pretrained features against the same network with random weights, on ``task``.

    Notebook 03's assessment (``features.assess_targets``): for each budget and seed, a linear
    probe on each network's features (layer and C chosen on validation, test read once), each
    sample with its own random twin. Returns one paired comparison per budget (pretrained minus
    random), with ``per_class`` added."""
    model = backbone.pretrained(task.x_train.shape[1:])
    found = features.assess_targets(model, [task], list(budgets), list(seeds), backbone.feature_layers,
                                    val_images=val_images, test_images=test_images)
    return [dict(found[task.name, b], per_class=_budget(b)) for b in budgets]


def format_assessment(rows, weights: str | None = "imagenet") -> str:
    """One sentence per budget, from the numbers; a warning first when the weights are random."""
    lines = []
    if weights in (None, "random"):
        lines.append("The backbone's weights are random here, so 'pretrained' is a second random "
                     "network: this assessment cannot show any benefit of pretraining.")
    for p in rows:
        lines.append(f"{_per_class(p['per_class'])}: "
                     + stats.describe(p, "pretrained features", "random weights of the same network"))
    return "\n".join(lines)


# ---------------------------------------------------------------- the learning curve

def learning_curve(task, budgets, seeds, strategies=experiment.STRATEGIES,
                   backbone=backbones.SOURCE_CNN, progress: bool = True, **run_cell_kwargs) -> list:
    """Notebook 06's fair comparison on ``task`` at several budgets: ``experiment.run_grid`` rows
    (the same code, the same menus, choices on validation), one per contender, budget and seed."""
    return experiment.run_grid([task], list(budgets), list(seeds), tuple(strategies),
                               progress=progress, backbone=backbone, **run_cell_kwargs)


def plot_learning_curve(rows, title: str | None = None):
    """Test accuracy against labels per class, one line per contender (controls dashed), error
    bars one standard deviation over seeds: notebook 06's plot, for these rows."""
    tasks = tuple(dict.fromkeys(r["task"] for r in rows))
    fig = experiment.plot_accuracy_vs_budget(experiment.aggregate(rows), tasks=tasks)
    for ax, task in zip(fig.axes, tasks, strict=False):
        ax.set_title(title or f"{task}: accuracy against labels per class")
    return fig


# ---------------------------------------------------------------- the comparison

def _present(rows, task: str, budget: str, among) -> tuple:
    found = {r["strategy"] for r in rows if r["task"] == task and str(r["per_class"]) == budget}
    return tuple(s for s in among if s in found)


def comparison(rows) -> list[dict]:
    """Per budget: the transfer strategy and the control that validation ranks best, the paired
    test difference between them (95% intervals), and notebook 06's verdict.

    The verdict is "ahead" when the best transfer strategy is ahead of every control present,
    "behind" when any control is ahead of it, "can't tell" otherwise (``experiment.verdicts``'s
    rule; on rows with every contender the two agree). Choices read validation accuracy only.
    """
    summary = experiment.aggregate(rows)
    out = []
    for task, budget in experiment.cells_of(rows):
        transfer = _present(rows, task, budget, experiment.TRANSFER)
        controls = _present(rows, task, budget, experiment.CONTROLS)
        if not transfer or not controls:
            raise ValueError(f"{task}, {_per_class(budget)}: a comparison needs at least one transfer "
                             f"strategy {experiment.TRANSFER} and one control {experiment.CONTROLS}; "
                             f"found {transfer + controls}.")
        best_t = experiment.best_on_validation(summary, task, budget, transfer, rows)
        best_c = experiment.best_on_validation(summary, task, budget, controls, rows)
        each = {c: experiment.compare(rows, task, budget, best_t, c) for c in controls}
        verdict = ("ahead" if all(p["verdict"] == "ahead" for p in each.values()) else
                   "behind" if any(p["verdict"] == "behind" for p in each.values()) else "can't tell")
        ahead_of_transfer = [c for c, p in each.items() if p["verdict"] == "behind"]
        out.append({"task": task, "per_class": _budget(budget), "transfer": best_t, "control": best_c,
                    "verdict": verdict, "transfer_vs_control": each[best_c], "transfer_vs_each": each,
                    "leading_control": (min(ahead_of_transfer, key=lambda c: each[c]["difference"])
                                        if ahead_of_transfer else None)})
    return out


def labels_needed(rows, target_fraction: float = TARGET_FRACTION, strategy: str | None = None):
    """The smallest budget whose mean test accuracy is within ``target_fraction`` of the best
    mean seen at any budget: "how many labels per class do I need?".

    With ``strategy``, that contender's curve; without, at each budget the contender validation
    ranks best (on the seeds every contender ran)."""
    curve = _curve(rows, strategy)
    best = max(curve.values())
    return next(b for b in curve if curve[b] >= target_fraction * best)


def _curve(rows, strategy: str | None = None) -> dict:
    """{budget: mean test accuracy}, budgets in increasing order, of one contender (or of the
    one validation ranks best at each budget)."""
    if len({r["task"] for r in rows}) != 1:
        raise ValueError("a learning curve is read on one task at a time; pass the rows of one task")
    summary = experiment.aggregate(rows)
    curve = {}
    for task, budget in experiment.cells_of(rows):
        among = _present(rows, task, budget, experiment.STRATEGIES)
        name = strategy or experiment.best_on_validation(summary, task, budget, among, rows)
        if name in among:
            curve[_budget(budget)] = experiment.cell(summary, task, budget, name)["accuracy_mean"]
    if not curve:
        raise ValueError(f"no rows for {strategy!r}")
    return curve


# ---------------------------------------------------------------- the recommendation in words

def _interval(p: dict) -> str:
    lo, hi = p["t"]
    return f"{p['difference']:+.3f}, 95% t-interval {lo:+.3f} to {hi:+.3f}, {p['n']} seeds"


def _budget_sentence(c: dict) -> str:
    """What one budget's comparison found, in one sentence."""
    names = experiment.LABELS
    where = f"At {_per_class(c['per_class'])}"
    if c["verdict"] == "ahead":
        return (f"{where}, transfer pays: {names[c['transfer']]} is ahead of every control "
                f"(against the best one, {names[c['control']]}: {_interval(c['transfer_vs_control'])}).")
    if c["verdict"] == "behind":
        lead = c["leading_control"]
        return (f"{where}, transfer does not pay here: the best control ({names[lead]}) is ahead of "
                f"{names[c['transfer']]} ({_interval(c['transfer_vs_each'][lead])}). That is negative "
                "transfer: the pretrained weights cost accuracy against a network without them, "
                "trained and tuned on the same data.")
    return (f"{where}, can't tell: the seeds' intervals include zero ({names[c['transfer']]} against "
            f"{names[c['control']]}: {_interval(c['transfer_vs_control'])}); label more or run more seeds.")


def _overall(c: dict, rows) -> tuple[str, str]:
    """(the recommendation at the largest budget, the contender whose curve is read)."""
    names = experiment.LABELS
    if c["verdict"] == "ahead":
        n = labels_needed(rows, strategy=c["transfer"])
        return (f"Recommendation: transfer pays: use {names[c['transfer']]} with {_per_class(n)} "
                f"(with that many it comes within {TARGET_FRACTION:.0%} of the best accuracy it "
                "reached in this run).",
                c["transfer"])
    if c["verdict"] == "behind":
        lead = c["leading_control"]
        return (f"Recommendation: transfer does not pay here: the best control ({names[lead]}) is "
                f"ahead at {_per_class(c['per_class'])}; use it, not the pretrained network.", lead)
    v = c["transfer_vs_control"]
    chosen = c["transfer"] if v["mean_a"] >= v["mean_b"] else c["control"]
    return (f"Recommendation: can't tell at {_per_class(c['per_class'])}: the seeds' intervals "
            "include zero; label more or run more seeds before choosing between "
            f"{names[c['transfer']]} and {names[c['control']]}.", chosen)


def _curve_sentence(rows, strategy: str) -> str:
    """Does the chosen contender's curve still rise at the largest budget, or is it flat?"""
    curve = _curve(rows, strategy)
    if len(curve) < 2:
        return "One budget only: measure a second one to see whether more labels would help."
    budgets = list(curve)
    n = labels_needed(rows, strategy=strategy)
    name = experiment.LABELS[strategy]
    if n == budgets[-1]:
        return (f"The curve still rises: more labels would help ({name}: {curve[budgets[-2]]:.3f} at "
                f"{_per_class(budgets[-2])}, {curve[budgets[-1]]:.3f} at {_per_class(budgets[-1])}; "
                f"the smaller budget is not within {TARGET_FRACTION:.0%} of the larger).")
    return (f"The curve is flat: more labels buy little ({name} reaches {curve[n]:.3f} at "
            f"{_per_class(n)}, within {TARGET_FRACTION:.0%} of its best, {max(curve.values()):.3f}).")


def recommendation(rows, weights: str | None = "imagenet") -> str:
    """What to do, in words generated from the numbers: per budget whether transfer pays, can't
    be told apart or costs accuracy (negative transfer); a recommendation at the largest budget;
    whether the learning curve still rises. ``weights`` is where the backbone's weights came from
    (``"imagenet"``, ``"course"``, or ``"random"``/``None``: then nothing was pretrained)."""
    found = comparison(rows)
    lines = []
    if weights in (None, "random"):
        lines.append("No pretraining was measured: the backbone has random weights here, so its "
                     "'pretrained' strategies start from random weights too, and any gap below "
                     "comes from the architecture or from luck, not from transfer.")
    lines += [_budget_sentence(c) for c in found]
    overall, strategy = _overall(found[-1], rows)
    lines += [overall, _curve_sentence(rows, strategy)]
    return "\n".join(lines)


# ---------------------------------------------------------------- the model's worst mistakes

def most_confused(model_predict, task, k: int = 8, batch_size: int = 256) -> list[dict]:
    """The ``k`` test images the model gets most wrong: wrongly classified, with the highest
    probability on the wrong class. ``model_predict(images)`` returns class probabilities.

    Each entry: the test ``index``, the ``image``, its ``true`` and ``predicted`` class names and
    the ``confidence`` given to the wrong class. The test split is only looked at here, after
    every choice was made."""
    x = np.asarray(task.x_test)
    probs = np.concatenate([np.asarray(model_predict(x[i:i + batch_size]))
                            for i in range(0, len(x), batch_size)]) if len(x) else np.zeros((0, 0))
    if probs.ndim != 2 or len(probs) != len(x):
        raise ValueError("model_predict must return one row of class probabilities per image, "
                         f"got shape {probs.shape} for {len(x)} images")
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != np.asarray(task.y_test))
    order = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:k]
    return [{"index": int(i), "image": x[i], "true": task.class_names[int(task.y_test[i])],
             "predicted": task.class_names[int(predicted[i])],
             "confidence": float(probs[i, predicted[i]])} for i in order]


def plot_most_confused(mistakes, columns: int = 4):
    """The mistakes of :func:`most_confused` in a grid, each titled true → predicted (confidence)."""
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(mistakes) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, m in zip(axes.flat, mistakes, strict=False):
        image = np.asarray(m["image"])
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image,
                  cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1)
        ax.set_title(f"{m['true']} → {m['predicted']}\n({m['confidence']:.2f})", fontsize=8)
    if not mistakes:
        axes[0, 0].set_title("no test image is misclassified")
    fig.tight_layout()
    return fig
