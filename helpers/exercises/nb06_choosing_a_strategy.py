"""Checks for notebook 06 (choosing a strategy): a control chosen on validation, paired
differences, and a decision read from the committed grid."""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from helpers import experiment
from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["check_control_on_validation", "check_decision", "check_paired_gain"]


def _in_cell(s: dict, task: str, budget) -> bool:
    return s["task"] == task and str(s["per_class"]) == str(budget)


def _best_on_test(summary, task: str, budget, among) -> str:
    return max((s for s in summary if _in_cell(s, task, budget) and s["strategy"] in among),
               key=lambda s: s["accuracy_mean"])["strategy"]


def check_control_on_validation(answer, summary, task: str, budget, recorder=CURRENT):
    """06: the control (no pretrained weights) that *validation* ranks best in one cell.
    ``summary`` is ``aggregate`` over the seeds every contender ran (``on_shared_seeds``)."""
    if not_done(answer):
        return not_done_yet("control_on_validation", "write best_control = the name (a string) of "
                            "the control with the highest 'val_accuracy_mean' in that cell.", recorder)
    controls = experiment.CONTROLS
    expected = experiment.best_on_validation(summary, task, budget, controls)
    on_test = _best_on_test(summary, task, budget, controls)
    return check("control_on_validation", [
        (isinstance(answer, str), f"Store the contender's name, a string such as {controls[0]!r}, "
         "not its summary entry."),
        (answer in controls, f"{answer!r} is not a control: the controls use no pretrained weights, "
         f"they are {controls}."),
        (answer == expected or answer != on_test or on_test == expected,
         f"{answer!r} has the best *test* accuracy. Choosing by test makes the chosen control look "
         "better than it is; rank by 'val_accuracy_mean' instead."),
        (answer == expected, f"{answer!r} is not the control with the highest 'val_accuracy_mean' "
         f"for task {task!r} with {budget} labels per class; filter the summary on task, "
         "per_class and strategy in experiment.CONTROLS, then take the max."),
    ], f"{expected}: the control validation ranks best there.", recorder)


def check_paired_gain(answer, rows, task: str, budget, strategy: str, control: str,
                      recorder=CURRENT):
    """06: the per-seed differences (strategy minus control) and their mean, paired by seed."""
    if not_done(answer):
        return not_done_yet("paired_gain", f"write differences = the list, seed by seed, of "
                            f"{strategy}'s test accuracy minus {control}'s.", recorder)
    a = experiment.scores(rows, task, budget, strategy)
    b = experiment.scores(rows, task, budget, control)
    seeds = sorted(set(a) & set(b))
    expected = np.array([a[s] - b[s] for s in seeds])
    unpaired = np.mean(list(a.values())) - np.mean(list(b.values()))
    try:
        value = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        value = None
    return check("paired_gain", [
        (value is not None, "Store a list of numbers, one difference per seed."),
        (lambda: len(value) == len(expected),
         lambda: f"Expected one difference per seed ({len(expected)} seeds), got {len(value)}. Take the "
         "rows of this task and budget, one per seed for each contender."),
        (lambda: not np.allclose(value, -expected, atol=1e-9) or np.allclose(expected, 0),
         f"The signs are flipped: compute {strategy} minus {control}."),
        (lambda: np.allclose(sorted(value), sorted(expected), atol=1e-9)
         or not np.isclose(value.mean(), expected.mean(), atol=1e-9),
         "The differences must be paired: for each seed, subtract the control's accuracy on *that* "
         f"seed's sample from {strategy}'s. Sort both by seed first."),
        (lambda: np.allclose(value, expected, atol=1e-9),
         lambda: "Right differences, other order: list them in order of seed (sorted(seeds))."
         if np.allclose(sorted(value), sorted(expected), atol=1e-9) else
         "These are not the per-seed differences of this cell: take the rows of this task, budget "
         f"and the two contenders, and subtract {control}'s accuracy from {strategy}'s seed by seed."),
    ], f"mean difference {expected.mean():+.3f} (the means of the two lists differ by "
       f"{unpaired:+.3f} too, but only the paired list gives an interval that cancels each "
       "sample's luck).", recorder)


def _cell_parts(answer):
    """``(task, budget)`` from the learner's ``(target, labels per class)``, budget as int."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return None
    task, budget = answer
    try:
        return str(task), int(str(budget))
    except ValueError:
        return None


def _welch(a, b, level: float = 0.95) -> tuple[float, float]:
    """The unpaired (Welch) t-interval of mean(a) - mean(b): what pairing avoids."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = scipy_stats.t.ppf(1 - (1 - level) / 2, df) * np.sqrt(va + vb)
    d = a.mean() - b.mean()
    return float(d - half), float(d + half)


def check_decision(answer_cell, strategy, interval, rows, task: str, budget, recorder=CURRENT, *,
                   scenario: str | None = None):
    """06: a decision for a scenario whose matching cell of the grid ``rows`` is ``(task, budget)``:
    the cell, the strategy (validation's transfer strategy if the cell's verdict is "ahead", its
    best control if "behind", either if the seeds can't tell), and the evidence, the 95% paired
    interval (t or bootstrap) of that transfer strategy minus that control. Everything is
    recomputed from ``rows`` (the committed grid)."""
    if not_done(answer_cell) and not_done(strategy) and not_done(interval):
        return not_done_yet("decision", "write my_cell = (target, labels per class) for the "
                            "scenario, my_strategy = the contender you recommend there, and "
                            "my_interval = (low, high), the paired interval that backs it.",
                            recorder)
    scenario = scenario or experiment.TASK_LABELS.get(task, task)
    cell_rows = [r for r in rows if r["task"] == task and str(r["per_class"]) == str(budget)]
    v = experiment.verdicts(cell_rows)[0]
    best_t, best_c, verdict = v["transfer"], v["control"], v["verdict"]
    allowed = {"ahead": (best_t,), "behind": (best_c,)}.get(verdict, (best_t, best_c))
    on_test = _best_on_test(experiment.aggregate(experiment.on_shared_seeds(cell_rows)), task,
                            budget, experiment.STRATEGIES)
    p = v["transfer_vs_control"]
    others = {f"{a} − {c}": q for a, c, q in
              [(best_t, c, q) for c, q in v["transfer_vs_each"].items() if c != best_c]
              + [(s, c, v[f"{s}_vs_{c}"]) for s, c in experiment.CONTROL_OF.items()
                 if (s, c) != (best_t, best_c)]}
    given = _cell_parts(answer_cell)
    try:
        lo_hi = np.asarray(interval, dtype=float).ravel()
    except (TypeError, ValueError):
        lo_hi = np.array([])

    def near(x, y):
        return np.allclose(x, y, atol=6e-4)   # an interval typed with three decimals passes

    def is_paired():
        return near(lo_hi, p["t"]) or near(lo_hi, p["bootstrap"])

    def unpaired():
        a = experiment.scores(rows, task, budget, best_t)
        b = experiment.scores(rows, task, budget, best_c)
        shared = sorted(set(a) & set(b))
        return any(near(lo_hi, _welch(x, y)) for x, y in
                   ((list(a.values()), list(b.values())), ([a[s] for s in shared], [b[s] for s in shared])))

    def other_comparison():
        return next((name for name, q in others.items()
                     if near(lo_hi, q["t"]) or near(lo_hi, q["bootstrap"])), None)

    why = {"ahead": f"the cell's verdict is 'ahead': {best_t}, the transfer strategy validation "
                    "ranks best, beats every control",
           "behind": f"the cell's verdict is 'behind': a control beats the transfer strategy; "
                     f"{best_c} is the control validation ranks best",
           "can't tell": f"the seeds can't tell {best_t} (validation's transfer strategy) from "
                         f"{best_c} (validation's best control): either is defensible"}[verdict]
    return check("decision", [
        (not not_done(answer_cell) and not not_done(strategy) and not not_done(interval),
         "Store all three: my_cell, my_strategy and my_interval."),
        (given is not None and given[0] in experiment.TASKS,
         f"Store my_cell as (target, labels per class), e.g. ('near', 20); the targets are "
         f"{experiment.TASKS}."),
        (lambda: given[0] == task, lambda: f"{given[0]!r} is the target with "
         f"{experiment.TASK_LABELS.get(given[0], given[0])}; the scenario has {scenario}. Which "
         "target's description matches it?"),
        (lambda: str(given[1]) == str(budget), lambda: f"The scenario can label {budget} images "
         f"per class; your cell has {given[1]}."),
        (isinstance(strategy, str) and strategy in experiment.STRATEGIES, f"{strategy!r} is not a contender: use one of "
         f"{experiment.STRATEGIES}."),
        (strategy in allowed or strategy != on_test,
         f"{strategy!r} has the best *test* accuracy in this cell, but choices are made on "
         f"validation: {why}."),
        (strategy in allowed or not (verdict == "ahead" and strategy in experiment.CONTROLS),
         f"Transfer is ahead of every control in this cell: recommend {best_t}, the transfer "
         "strategy validation ranks best, not a control."),
        (strategy in allowed or not (verdict == "behind" and strategy in experiment.TRANSFER),
         f"Transfer is behind a control in this cell (negative transfer): recommend the control "
         f"validation ranks best, {best_c}."),
        (strategy in allowed, f"{strategy!r} is not what the grid backs here: {why}."),
        (len(lo_hi) == 2, "Store my_interval as two numbers, (low, high): the 95% interval of the "
         "paired differences, not only their mean."),
        (lambda: lo_hi[0] <= lo_hi[1], "Write the interval as (low, high), low first."),
        (lambda: is_paired() or not near(lo_hi, [-p["t"][1], -p["t"][0]]),
         f"The interval is flipped: the evidence is {best_t} minus {best_c}."),
        (lambda: is_paired() or not unpaired(),
         "That is an unpaired interval (the two contenders' accuracies compared as independent "
         "groups): pair them seed by seed, experiment.compare(full_rows, target, budget, "
         "transfer, control), and read its 't' interval."),
        (lambda: is_paired() or other_comparison() is None,
         lambda: f"That is the interval of {other_comparison()}; the evidence compares "
         f"validation's transfer strategy with validation's best control, {best_t} − {best_c}."),
        (lambda: is_paired(), f"That is not the paired 95% interval of {best_t} − {best_c} in this "
         "cell: experiment.compare(full_rows, target, budget, transfer, control)['t']."),
    ], f"{task} with {budget} labels per class: {why}; you recommend {strategy}, backed by the "
       f"paired interval [{p['t'][0]:+.3f}, {p['t'][1]:+.3f}].", recorder)
