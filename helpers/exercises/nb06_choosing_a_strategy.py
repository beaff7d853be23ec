"""Checks for notebook 06 (choosing a strategy): a control chosen on validation, paired
differences, and a decision read from the committed grid."""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from helpers import experiment
from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["DECISION_SCENARIO", "check_control_on_validation", "check_decision", "check_paired_gain"]


def _in_cell(s: dict, task: str, budget) -> bool:
    return s["task"] == task and str(s["per_class"]) == str(budget)


def _best_on_test(summary, task: str, budget, among) -> str:
    return max((s for s in summary if _in_cell(s, task, budget) and s["strategy"] in among),
               key=lambda s: s["accuracy_mean"])["strategy"]


def check_control_on_validation(answer, summary, task: str, budget, recorder=CURRENT):
    """06: the control (no pretrained weights) that *validation* ranks best in one cell.
    ``summary`` is ``aggregate`` over the seeds every contender ran (``on_shared_seeds``)."""
    if not_done(answer):
        return not_done_yet("control_on_validation", "store in best_control the name (a string) "
                            "of the control that validation ranks best in that cell (section 1: "
                            "every choice is made on validation).", recorder)
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
         f"for task {task!r} with {budget} labels per class: rank the controls of that cell "
         "(experiment.CONTROLS) by validation accuracy."),
    ], f"{expected}: the control validation ranks best there.", recorder)


def check_paired_gain(answer, rows, task: str, budget, strategy: str, control: str,
                      recorder=CURRENT):
    """06: the per-seed differences (strategy minus control) and their mean, paired by seed."""
    if not_done(answer):
        return not_done_yet("paired_gain", f"store in differences the list, seed by seed in order "
                            f"of seed, of {strategy}'s test accuracy minus {control}'s (section 4 "
                            "pairs contenders by seed).", recorder)
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


# Exercise 06-3's scenario. The learner reads it in the notebook and works out which cell of the
# committed grid matches it; the check cell names no cell, so it gives nothing away.
DECISION_SCENARIO = ("A library wants to sort scanned handwritten digits from old forms into their "
                     "ten classes. The source model learned clothing photos and printed characters; "
                     "the library can afford to label 2 images per class.")
DECISION_CELL = ("far", 2)       # (target, labels per class) that the scenario describes
VERDICT_WORDS = ("ahead", "behind", "can't tell")
_UNSET = object()                # "not asked", where None is a learner's placeholder


def _near(x, y) -> bool:
    return np.allclose(x, y, atol=6e-4)   # an interval typed with three decimals passes


def _as_interval(interval) -> np.ndarray:
    """The learner's interval as a flat float array (empty when it is not numbers)."""
    try:
        return np.asarray(interval, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([])


def _decision_not_done(asked_verdict: bool, recorder):
    return not_done_yet("decision", "read the scenario, find the cell of the committed grid "
                        "that matches it (section 5 describes the targets), and store my_cell "
                        "= (target, labels per class)"
                        + (", my_verdict = what the paired comparison there says" if asked_verdict
                           else "")
                        + ", my_strategy = the contender you recommend and my_interval = "
                        "(low, high), the paired 95% interval that backs it (sections 4 and 5 "
                        "show how to read them).", recorder)


def _cell_evidence(rows, task: str, budget) -> dict:
    """What the grid says in the cell: its verdicts (``v``), validation's transfer strategy and
    best control, their paired comparison (``p``, verdict ``pair``), the strategies that comparison
    backs (``allowed``), the best on test, and every other comparison's interval (``others``)."""
    cell_rows = [r for r in rows if r["task"] == task and str(r["per_class"]) == str(budget)]
    v = experiment.verdicts(cell_rows)[0]
    best_t, best_c = v["transfer"], v["control"]
    p = v["transfer_vs_control"]
    pair = p["verdict"]               # validation's transfer strategy vs validation's best control
    on_test = _best_on_test(experiment.aggregate(experiment.on_shared_seeds(cell_rows)), task,
                            budget, experiment.STRATEGIES)
    others = {f"{a} − {c}": q for a, c, q in
              [(best_t, c, q) for c, q in v["transfer_vs_each"].items() if c != best_c]
              + [(s, c, v[f"{s}_vs_{c}"]) for s, c in experiment.CONTROL_OF.items()
                 if (s, c) != (best_t, best_c)]}
    return {"v": v, "best_t": best_t, "best_c": best_c, "p": p, "pair": pair,
            "allowed": {"ahead": (best_t,), "behind": (best_c,)}.get(pair, (best_t, best_c)),
            "on_test": on_test, "others": others}


def _why(pair: str, best_t: str, best_c: str) -> str:
    return {"ahead": f"{best_t}, the transfer strategy validation ranks best, is ahead of {best_c}, "
                     "the control validation ranks best: the pretrained weights pay",
            "behind": f"{best_t}, the transfer strategy validation ranks best, is behind {best_c}, "
                      "the control validation ranks best: negative transfer, so the control",
            "can't tell": f"the seeds can't tell {best_t} (validation's transfer strategy) from "
                          f"{best_c} (validation's best control): either is defensible"}[pair]


def _not_backed(pair: str, strategy) -> str:
    return {
        "ahead": f"{strategy!r} is not the transfer strategy validation ranks best in this cell: "
                 "rank the transfer strategies by validation accuracy (section 4).",
        "behind": f"{strategy!r} is not the control validation ranks best in this cell: rank the "
                  "controls by validation accuracy (section 4).",
        "can't tell": f"{strategy!r} is neither the transfer strategy nor the control that "
                      "validation ranks best in this cell; when the seeds can't tell those two "
                      "apart, either of them is defensible, nothing else is."}[pair]


def _cell_conditions(given, task: str, budget) -> list:
    """my_cell is a (target, labels per class) pair, and the one the scenario describes."""
    return [
        (given is not None and given[0] in experiment.TASKS,
         f"Store my_cell as (target, labels per class), a pair like ('near', 20); the targets are "
         f"{experiment.TASKS}."),
        (lambda: given[0] == task, lambda: f"{given[0]!r} is the target with "
         f"{experiment.TASK_LABELS.get(given[0], given[0])}. Reread the scenario: are the classes "
         "the source's? Do the images look like its training images? Then match it to section 5's "
         "description of the targets."),
        (lambda: str(given[1]) == str(budget), lambda: f"Your cell has {given[1]} labels per class; "
         "reread the scenario: how many images per class can they label?"),
    ]


def _verdict_conditions(asked_verdict: bool, word: str, cell: dict) -> list:
    """my_verdict (when asked) is the verdict of validation's transfer strategy against
    validation's best control, not the cell's verdict against every control."""
    pair = cell["pair"]
    return [
        (not asked_verdict or word in VERDICT_WORDS, f"Store my_verdict as one of {VERDICT_WORDS}."),
        (not asked_verdict or word == pair or word != cell["v"]["verdict"],
         "That is the cell's verdict against *every* control. The decision rests on one "
         "comparison: the transfer strategy validation ranks best against the control validation "
         "ranks best (section 1's definition of negative transfer); read that pair's verdict."),
        (not asked_verdict or word == pair,
         "That is not what the paired comparison of validation's transfer strategy with "
         "validation's best control says in this cell: read its verdict (section 4 prints each "
         "comparison in words)."),
    ]


def _strategy_conditions(strategy, cell: dict) -> list:
    """my_strategy is a contender, chosen on validation, that the paired verdict backs."""
    pair, allowed = cell["pair"], cell["allowed"]
    return [
        (isinstance(strategy, str) and strategy in experiment.STRATEGIES, f"{strategy!r} is not a "
         f"contender: use one of {experiment.STRATEGIES}."),
        (strategy in allowed or strategy != cell["on_test"],
         f"{strategy!r} has the best *test* accuracy in this cell, but choices are made on "
         "validation (section 1): rank the contenders by validation accuracy."),
        (strategy in allowed or not (pair == "ahead" and strategy in experiment.CONTROLS),
         "In this cell the transfer strategy validation ranks best is ahead of the control "
         "validation ranks best: the pretrained weights pay, so recommend that transfer strategy, "
         "not a control."),
        (strategy in allowed or not (pair == "behind" and strategy in experiment.TRANSFER),
         "In this cell the transfer strategy validation ranks best scores below the control "
         "validation ranks best: negative transfer, the pretrained weights make the result worse "
         "than not using them (section 1). Recommend that control."),
        (strategy in allowed, _not_backed(pair, strategy)),
    ]


def _interval_conditions(lo_hi, cell: dict, rows, task: str, budget) -> list:
    """my_interval is the paired 95% interval (t or bootstrap) of validation's transfer strategy
    minus validation's best control; a flipped, unpaired or other comparison's one is named."""
    p, best_t, best_c = cell["p"], cell["best_t"], cell["best_c"]

    def is_paired():
        return _near(lo_hi, p["t"]) or _near(lo_hi, p["bootstrap"])

    def unpaired():
        a = experiment.scores(rows, task, budget, best_t)
        b = experiment.scores(rows, task, budget, best_c)
        shared = sorted(set(a) & set(b))
        return any(_near(lo_hi, _welch(x, y)) for x, y in
                   ((list(a.values()), list(b.values())), ([a[s] for s in shared], [b[s] for s in shared])))

    def other_comparison():
        return next((name for name, q in cell["others"].items()
                     if _near(lo_hi, q["t"]) or _near(lo_hi, q["bootstrap"])), None)

    return [
        (len(lo_hi) == 2, "Store my_interval as two numbers, (low, high): the 95% interval of the "
         "paired differences, not only their mean."),
        (lambda: lo_hi[0] <= lo_hi[1], "Write the interval as (low, high), low first."),
        (lambda: is_paired() or not _near(lo_hi, [-p["t"][1], -p["t"][0]]),
         "The interval is flipped: the evidence is the transfer strategy minus the control."),
        (lambda: is_paired() or not unpaired(),
         "That is an unpaired interval (the two contenders' accuracies compared as independent "
         "groups): pair them seed by seed, as section 4 does, and read the paired 95% interval."),
        (lambda: is_paired() or other_comparison() is None,
         lambda: f"That is the interval of {other_comparison()}; the evidence compares "
         "validation's transfer strategy with validation's best control."),
        (lambda: is_paired(), "That is not the paired 95% interval of validation's transfer "
         "strategy minus validation's best control in this cell (section 4 shows how to get it)."),
    ]


def check_decision(answer_cell, strategy, interval, rows, recorder=CURRENT, *, verdict=_UNSET,
                   task: str | None = None, budget=None):
    """06: a decision for ``DECISION_SCENARIO`` (or the cell ``(task, budget)``) read from the grid
    ``rows``: the matching cell; with ``verdict``, what the paired comparison of validation's
    transfer strategy with validation's best control says ("ahead", "behind", "can't tell");
    the strategy; and the evidence, that comparison's 95% paired interval (t or bootstrap).

    The rule follows the course's one definition of negative transfer (the transfer strategy
    scores below the best control that uses no pretrained weights): "ahead", recommend the
    transfer strategy validation ranks best; "behind" (negative transfer), the control
    validation ranks best; "can't tell", either of the two. Everything is recomputed from
    ``rows`` (the committed grid)."""
    task, budget = task or DECISION_CELL[0], DECISION_CELL[1] if budget is None else budget
    asked_verdict = verdict is not _UNSET
    answers = [answer_cell, strategy, interval] + ([verdict] if asked_verdict else [])
    if all(not_done(a) for a in answers):
        return _decision_not_done(asked_verdict, recorder)
    cell = _cell_evidence(rows, task, budget)
    word = str(verdict).strip().lower().replace("’", "'") if asked_verdict else cell["pair"]
    all_given = (all(not not_done(a) for a in answers),
                 "Store all of them: my_cell, " + ("my_verdict, " if asked_verdict else "")
                 + "my_strategy and my_interval.")
    p = cell["p"]
    return check("decision", [all_given] + _cell_conditions(_cell_parts(answer_cell), task, budget)
                 + _verdict_conditions(asked_verdict, word, cell)
                 + _strategy_conditions(strategy, cell)
                 + _interval_conditions(_as_interval(interval), cell, rows, task, budget),
                 f"{task} with {budget} labels per class: {_why(cell['pair'], cell['best_t'], cell['best_c'])}; "
                 f"you recommend {strategy}, backed by the paired interval "
                 f"[{p['t'][0]:+.3f}, {p['t'][1]:+.3f}] ({cell['pair']}).", recorder)
