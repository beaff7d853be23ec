"""Notebook 08: does transfer pay on your own images, which strategy, and how many labels?

Nothing here is new protocol: the assessment is notebook 03's (``probes.transferability``), the
learning curve notebook 06's grid (``experiment.run_grid``) on one task, with the backbone that
suits the images; choices on validation, comparisons paired by seed. What this module adds is
the reading: a recommendation in words generated from the numbers, and how many labels per class
reach most of the best validation accuracy. Test accuracy is only reported, never used to choose.

Negative transfer, as the course defines it: the pretrained weights make the result worse than
not using them: the transfer strategy scores below the best control that uses no pretrained
weights, trained and tuned on the same data.

With random weights (no ImageNet weights offline) nothing was pretrained: the "pretrained"
network is one fixed random draw, given the same choices as its random twins, and the words
name it so ("random backbone (one fixed draw)" against "random twins").
"""

from __future__ import annotations

import math

import numpy as np

from helpers import backbones, experiment, probes, stats
from helpers.mistakes import most_confused, plot_most_confused  # noqa: F401 - capstone.<name> as before
from helpers.own_images import usable_budgets  # noqa: F401 - capstone.<name> as before

__all__ = ["assessment", "format_assessment", "learning_curve", "comparison", "recommendation",
           "labels_needed", "plot_learning_curve", "format_learning_curve", "most_confused", "plot_most_confused",
           "usable_budgets", "display_labels", "curve", "smallest_within", "TARGET_FRACTION", "MIN_SEEDS",
           "CURVE_MENUS", "CURVE_AUGMENTATIONS"]

TARGET_FRACTION = 0.95   # "enough labels": within this fraction of the best validation accuracy
# The learning curve's menus: one setting each (shifts as augmentation), so that it runs in
# minutes; ``learning_curve(..., menus_own={}, augmentations=experiment.AUGMENTATIONS)`` gives
# notebook 06's full menus. The exported model is trained with the same (``final_model``).
CURVE_MENUS = experiment.ONE_SETTING
CURVE_AUGMENTATIONS = ("shifts",)
MIN_SEEDS = 3            # fewer seeds than this: no verdict, "can't tell: too few seeds"
FIRM_SPREAD_SEEDS = 5    # fewer seeds than this and every seed's difference the same: no verdict
SMALL_TEST_PER_CLASS = 10  # fewer test images in a class than this: the words warn
RANDOM_LABELS = {"feature_extraction": "feature extraction, random backbone (one fixed draw)",
                 "fine_tuning": "fine-tuning, random backbone (one fixed draw)",
                 "random_features": "feature extraction, random twins (a new draw per seed)"}


def _random(weights) -> bool:
    return weights in (None, "random")   # no pretrained weights were measured


def display_labels(weights: str | None = "imagenet") -> dict:
    """{strategy: the name it is shown by}, for the notebook, the report and the plots.

    With pretrained weights these are notebook 06's names (``experiment.LABELS``). With random
    weights (``"random"``/``None``) nothing is pretrained: the "pretrained" contenders start
    from one fixed random draw of the backbone, and the random-weights control from a new
    draw per seed, and the names say so."""
    return {**experiment.LABELS, **(RANDOM_LABELS if _random(weights) else {})}


def _per_class(budget) -> str:
    return ("all training images of each class" if str(budget) == "all"
            else f"{budget} label{'' if str(budget) == '1' else 's'} per class")


# ---------------------------------------------------------------- verdicts that need enough seeds

def _firm(p: dict) -> dict:
    """A paired comparison with the capstone's verdict rule on top of ``stats.verdict``: no
    verdict from fewer than ``MIN_SEEDS`` seeds, nor from a difference that came out the same
    on every one of fewer than ``FIRM_SPREAD_SEEDS`` seeds (a tiny test split makes identical
    differences likely, and their zero-width interval claims a certainty the seeds lack).
    ``why`` says why a verdict was withheld ("" when it was not)."""
    p = dict(p, why="")
    if p["n"] < MIN_SEEDS:
        p.update(verdict="can't tell", why=f"too few seeds ({p['n']}; a verdict needs at least "
                                           f"{MIN_SEEDS})")
    elif p["sd"] <= 1e-9 and p["n"] < FIRM_SPREAD_SEEDS and p["verdict"] != "can't tell":
        p.update(verdict="can't tell",
                 why=f"every seed gave the same difference ({p['difference']:+.3f}), so the interval "
                     f"has no width; with {p['n']} seeds that shows a test split too small to vary, "
                     f"not a sure gap (a verdict from identical differences needs "
                     f"{FIRM_SPREAD_SEEDS} seeds)")
    return p


def _small_test_warning(task) -> str:
    """A warning when the test split has fewer than ``SMALL_TEST_PER_CLASS`` images of a class."""
    if task is None:
        return ""
    counts = np.bincount(np.asarray(task.y_test), minlength=task.num_classes)
    if counts.min() >= SMALL_TEST_PER_CLASS:
        return ""
    name = task.class_names[int(counts.argmin())]
    return (f"Warning: the test split is small ({int(counts.min())} test images of {name!r}, "
            f"{int(counts.sum())} in all; fewer than about {SMALL_TEST_PER_CLASS} per class). The "
            "intervals cover what the seeds vary (the few-shot samples and the training), not the "
            "test set's own sampling error, which at this size is large: one image more or less "
            "right moves a class's test accuracy by "
            f"{1 / max(int(counts.min()), 1):.0%}. Read every test number here as rough; add "
            "images for a firmer answer.")


# ---------------------------------------------------------------- the transferability assessment

def assessment(task, backbone=backbones.SOURCE_CNN, budgets=(1, 5), seeds=range(5),
               val_images: int = 500, test_images: int = 2000, progress: bool = True) -> list[dict]:
    """Pretrained features against the same network with random weights, on ``task``.

    Notebook 03's assessment (``probes.transferability``): for each budget and seed, a linear
    probe on each network's features (layer, C and BatchNormalization, kept or calibrated on the
    sample, chosen on validation; test read once), each sample with its own random twin (the
    course's random control, ``helpers.models``). Returns one paired comparison per budget
    (pretrained minus random test accuracy), with ``per_class`` added and the capstone's verdict
    rule (``why``: why a verdict was withheld). ``progress``: a progress bar.

    With random weights the "pretrained" network is the backbone's one fixed random draw, offered
    the same BatchNormalization choice as the twins: the two arms then differ only by the draw."""
    budgets, seeds = list(budgets), list(seeds)
    rows = probes.transferability(backbone.pretrained(task.x_train.shape[1:]), task, budgets,
                                  seeds, backbone.feature_layers, val_images=val_images,
                                  test_images=test_images, progress=progress)
    out = []
    for b in budgets:
        mine = [r for r in rows if r["per_class"] == b]
        p = stats.paired([r["pretrained_test"] for r in mine], [r["random_test"] for r in mine])
        out.append(dict(_firm(p), per_class=experiment.budget_value(b)))
    return out


def format_assessment(rows, weights: str | None = "imagenet", task=None) -> str:
    """One sentence per budget, from the numbers (test accuracy); a note first when the weights
    are random, a warning last when ``task``'s test split is small."""
    lines = []
    random = _random(weights)
    if random:
        lines.append("The backbone's weights are random here: no pretraining was measured. Both "
                     "arms are random networks, given the same choices on each sample: one fixed draw "
                     "of the backbone against a new draw per seed (random twins); a gap between "
                     "them is the luck of one draw, not an effect of pretraining.")
    a, b = (("random backbone (one fixed draw)", "random twins (a new draw per seed)") if random
            else ("pretrained features", "random weights of the same network"))
    for p in rows:
        why = f" No verdict: {p['why']}." if p.get("why") else ""
        lines.append(f"{_per_class(p['per_class'])}, test accuracy: " + stats.describe(p, a, b) + why)
    warning = _small_test_warning(task)
    return "\n".join(lines + ([warning] if warning else []))


# ---------------------------------------------------------------- the learning curve

def learning_curve(task, budgets, seeds, strategies=experiment.STRATEGIES,
                   backbone=backbones.SOURCE_CNN, progress: bool = True,
                   menus_own=CURVE_MENUS, augmentations=CURVE_AUGMENTATIONS,
                   **run_cell_kwargs) -> list:
    """Notebook 06's fair comparison on ``task`` at several budgets: ``experiment.run_grid`` rows
    (the same code, the same training rule, choices on validation), one per contender, budget
    and seed, with the menus ``CURVE_MENUS`` and ``CURVE_AUGMENTATIONS`` unless told otherwise.
    Pass budgets through :func:`usable_budgets` first."""
    return experiment.run_grid([task], list(budgets), list(seeds), tuple(strategies),
                               progress=progress, backbone=backbone, menus_own=menus_own,
                               augmentations=augmentations, **run_cell_kwargs)


def format_learning_curve(rows, weights: str | None = "imagenet") -> str:
    """Notebook 06's summary table of these rows (test accuracy mean ± SD, validation accuracy,
    the choices made on validation), its contenders named by :func:`display_labels`."""
    text = experiment.format_summary(experiment.aggregate(rows))
    for strategy, label in display_labels(weights).items():
        text = text.replace(experiment.LABELS[strategy], label)
    return text


def plot_learning_curve(rows, title: str | None = None, weights: str | None = "imagenet"):
    """Test accuracy against labels per class, one line per contender (controls dashed), error
    bars one standard deviation over seeds: notebook 06's plot, for these rows, its contenders
    named by :func:`display_labels`."""
    tasks = tuple(dict.fromkeys(r["task"] for r in rows))
    fig = experiment.plot_accuracy_vs_budget(experiment.aggregate(rows), tasks=tasks)
    rename = {experiment.LABELS[s]: label for s, label in display_labels(weights).items()}
    for ax, task in zip(fig.axes, tasks, strict=False):
        ax.set_title(title or f"{task}: test accuracy against labels per class")
        for line in ax.get_lines():
            line.set_label(rename.get(line.get_label(), line.get_label()))
        for container in ax.containers:
            container.set_label(rename.get(container.get_label(), container.get_label()))
        if ax.get_legend() is not None:
            ax.legend(fontsize=8)
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
    rule), each pair judged by :func:`_firm` (no verdict from fewer than ``MIN_SEEDS`` seeds, nor
    from identical differences on few seeds; its ``why`` says so). ``leading_control``: of the
    controls ahead of transfer, the one validation ranks best. As in notebook 06, a budget where
    a network did not learn its sample gets no verdict, and a budget's "ahead" or "behind" stands
    only if it survives Holm's correction across the budgets judged (``per_budget``: the verdict
    before it). Choices read validation accuracy only; the differences are test accuracy, reported.
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
        each = {c: _firm(experiment.compare(rows, task, budget, best_t, c)) for c in controls}
        verdict = experiment.verdict_against_every_control(each)
        unfit = experiment.under_fit(rows, task, budget)
        why = next((p["why"] for p in each.values() if p["why"]), "")
        if unfit:   # notebook 06's rule: a network that did not learn its sample gives no verdict
            verdict = "can't tell"
            why = (f"{', '.join(unfit)} did not learn its sample in every seed (training "
                   "accuracy below the rule's level when the steps ran out); allow more steps "
                   "(MAX_STEPS) for a verdict")
        ahead_of_transfer = tuple(c for c, p in each.items() if p["verdict"] == "behind")
        out.append({"task": task, "per_class": experiment.budget_value(budget), "transfer": best_t, "control": best_c,
                    "verdict": verdict, "per_budget": verdict, "p_value": experiment.claim_p_value(each, verdict),
                    "transfer_vs_control": each[best_c], "transfer_vs_each": each,
                    "why": why, "under_fit": unfit,
                    "leading_control": (experiment.best_on_validation(summary, task, budget,
                                                                      ahead_of_transfer, rows)
                                        if ahead_of_transfer else None)})
    return _corrected_across_budgets(out)


def _corrected_across_budgets(compared: list) -> list:
    """Keep each budget's "ahead" or "behind" only if it survives Holm's correction across the
    budgets that have one; otherwise it becomes "can't tell", and ``why`` says so."""
    claims = [c for c in compared if c["verdict"] != "can't tell"]
    for c, kept in zip(claims, stats.holm([c["p_value"] for c in claims]), strict=True):
        if not kept:
            c.update(verdict="can't tell",
                     why=f"{c['per_budget']} at this budget alone (p = {c['p_value']:.3f}), but not once "
                         f"the {len(claims)} budgets with a verdict are counted (Holm's correction)")
    return compared


def labels_needed(rows, target_fraction: float = TARGET_FRACTION, strategy: str | None = None):
    """The smallest budget whose mean *validation* accuracy is within ``target_fraction`` of the
    best mean validation accuracy seen at any budget: "how many labels per class do I need?".

    With ``strategy``, that contender's curve; without, at each budget the contender validation
    ranks best (on the seeds every contender ran). Test accuracy plays no part: it is reported,
    never used to choose."""
    return smallest_within(curve(rows, strategy), target_fraction)


def smallest_within(points: dict, fraction: float):
    """The first budget of ``points`` ({budget: accuracy}, increasing budgets) whose accuracy
    reaches ``fraction`` of the best."""
    best = max(points.values())
    return next(b for b in points if points[b] >= fraction * best)


def curve(rows, strategy: str | None = None, key: str = "val_accuracy_mean") -> dict:
    """{budget: mean ``key`` over seeds}, budgets in increasing order, of one contender (or of
    the one validation ranks best at each budget). ``key`` is validation accuracy unless a
    reported test number is asked for (``"accuracy_mean"``)."""
    if len({r["task"] for r in rows}) != 1:
        raise ValueError("a learning curve is read on one task at a time; pass the rows of one task")
    summary = experiment.aggregate(rows)
    points = {}
    for task, budget in experiment.cells_of(rows):
        among = _present(rows, task, budget, experiment.STRATEGIES)
        name = strategy or experiment.best_on_validation(summary, task, budget, among, rows)
        if name in among:
            points[experiment.budget_value(budget)] = experiment.cell(summary, task, budget, name)[key]
    if not points:
        raise ValueError(f"no rows for {strategy!r}")
    return points


# ---------------------------------------------------------------- the recommendation in words

def _interval(p: dict) -> str:
    lo, hi = p["t"]
    seeds = f"{p['n']} seed{'s' * (p['n'] != 1)}"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"test-accuracy difference {p['difference']:+.3f}, no interval from {seeds}"
    return f"test-accuracy difference {p['difference']:+.3f}, 95% t-interval {lo:+.3f} to {hi:+.3f}, {seeds}"


def _cant_tell_why(c: dict) -> str:
    return c["why"] if c.get("why") else "the seeds' intervals include zero"


def _budget_sentence(c: dict, weights) -> str:
    """What one budget's comparison found, in one sentence."""
    names = display_labels(weights)
    where = f"At {_per_class(c['per_class'])}"
    if c["verdict"] == "ahead":
        if _random(weights):
            return (f"{where}, {names[c['transfer']]} is ahead of every control (against the one "
                    f"validation ranks best, {names[c['control']]}: {_interval(c['transfer_vs_control'])}).")
        return (f"{where}, transfer pays: {names[c['transfer']]} is ahead of every control "
                f"(against the one validation ranks best, {names[c['control']]}: "
                f"{_interval(c['transfer_vs_control'])}).")
    if c["verdict"] == "behind":
        lead = c["leading_control"]
        if _random(weights):
            return (f"{where}, a control is ahead: {names[lead]} beats {names[c['transfer']]} "
                    f"({_interval(c['transfer_vs_each'][lead])}).")
        return (f"{where}, transfer does not pay here: a control ({names[lead]}) is ahead of "
                f"{names[c['transfer']]} ({_interval(c['transfer_vs_each'][lead])}). That is negative "
                "transfer: the pretrained weights cost accuracy against a network without them, "
                "trained and tuned on the same data.")
    return (f"{where}, can't tell: {_cant_tell_why(c)} ({names[c['transfer']]} against "
            f"{names[c['control']]}: {_interval(c['transfer_vs_control'])}); "
            + ("run more seeds." if "too few seeds" in c.get("why", "") else
               "label more or run more seeds."))


def _overall(c: dict, rows, weights=None) -> tuple[str, str]:
    """(the recommendation at the largest budget, the contender whose curve is read).
    Every choice here reads validation accuracy."""
    names = display_labels(weights)
    summary = experiment.aggregate(rows)
    budget = str(c["per_class"])
    if _random(weights):
        among = _present(rows, c["task"], budget, experiment.STRATEGIES)
        best = experiment.best_on_validation(summary, c["task"], budget, among, rows)
        return ("Recommendation: no verdict on transfer: the backbone's weights are random, so no "
                "pretraining was measured. To measure it, make the ImageNet weights available "
                "(run once with a connection, so that Keras downloads them into its cache, "
                "$KERAS_HOME/models, or copy the weights file there) and run again. Meanwhile, the "
                f"contender validation ranks best at {_per_class(c['per_class'])} is "
                f"{names[best]}.", best)
    if c["verdict"] == "ahead":
        n = labels_needed(rows, strategy=c["transfer"])
        return (f"Recommendation: transfer pays: use {names[c['transfer']]} with {_per_class(n)} "
                f"(with that many its mean validation accuracy comes within {TARGET_FRACTION:.0%} "
                "of the best it reached in this run).", c["transfer"])
    if c["verdict"] == "behind":
        lead = c["leading_control"]
        return (f"Recommendation: transfer does not pay here: a control ({names[lead]}) is ahead "
                f"at {_per_class(c['per_class'])}; use it, not the pretrained network.", lead)
    chosen = experiment.best_on_validation(summary, c["task"], budget, (c["transfer"], c["control"]), rows)
    return (f"Recommendation: can't tell at {_per_class(c['per_class'])}: {_cant_tell_why(c)}; "
            f"{'run more seeds' if 'too few seeds' in c.get('why', '') else 'label more or run more seeds'} "
            f"before choosing between {names[c['transfer']]} and {names[c['control']]} (until then, "
            f"validation ranks {names[chosen]} higher).", chosen)


def _curve_sentence(rows, strategy: str, weights=None) -> str:
    """Does the chosen contender's validation curve still rise at the largest budget, or is it
    flat? (Read on validation; its test accuracy is reported beside.)"""
    val, test = curve(rows, strategy), curve(rows, strategy, "accuracy_mean")
    if len(val) < 2:
        return "One budget only: measure a second one to see whether more labels would help."
    budgets = list(val)
    n = labels_needed(rows, strategy=strategy)
    name = display_labels(weights)[strategy]
    if n == budgets[-1]:
        return (f"The curve still rises: more labels would help ({name}, mean validation accuracy "
                f"{val[budgets[-2]]:.3f} at {_per_class(budgets[-2])}, {val[budgets[-1]]:.3f} at "
                f"{_per_class(budgets[-1])}: the smaller budget is not within {TARGET_FRACTION:.0%} "
                f"of the larger; mean test accuracy {test[budgets[-2]]:.3f} and {test[budgets[-1]]:.3f}).")
    return (f"The curve is flat: more labels buy little ({name} reaches a mean validation accuracy "
            f"of {val[n]:.3f} at {_per_class(n)}, within {TARGET_FRACTION:.0%} of its best, "
            f"{max(val.values()):.3f}; mean test accuracy {test[n]:.3f} there).")


def recommendation(rows, weights: str | None = "imagenet", task=None) -> str:
    """What to do, in words generated from the numbers: per budget whether transfer pays, can't
    be told apart or costs accuracy (negative transfer); a recommendation at the largest budget;
    whether the learning curve still rises. ``weights`` is where the backbone's weights came from
    (``"imagenet"``, ``"course"``, or ``"random"``/``None``: then nothing was pretrained, and no
    verdict on transfer is given). ``task``, the task the rows were measured on: with it, a
    warning when its test split is small. Choices read validation; the differences quoted are
    test accuracy."""
    found = comparison(rows)
    lines = []
    if _random(weights):
        lines.append("No pretraining was measured: the backbone's weights are random here. Its "
                     "transfer contenders start from one fixed random draw (the random "
                     "backbone), its random-weights control from a new draw per seed (random "
                     "twins); a gap between them is the luck of one draw, not an effect of "
                     "pretraining.")
    lines += [_budget_sentence(c, weights) for c in found]
    overall, strategy = _overall(found[-1], rows, weights)
    lines += [overall, _curve_sentence(rows, strategy, weights)]
    warning = _small_test_warning(task)
    return "\n".join(lines + ([warning] if warning else []))
