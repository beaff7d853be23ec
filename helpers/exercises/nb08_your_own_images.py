"""Checks for notebook 08 (your own images): the budget read from the learning curve, and the
interval behind the recommendation."""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from helpers import capstone, experiment
from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["check_labels_needed", "check_recommendation_interval"]


def _budget_of(answer):
    """The learner's budget as an int ("5", 5, np.int64(5)), or None."""
    if isinstance(answer, bool):
        return None
    try:
        value = float(str(answer).strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def _curve_by_test(rows) -> dict:
    """At each budget, the highest mean *test* accuracy (the leak the exercise warns about)."""
    summary = experiment.aggregate(rows)
    curve = {}
    for s in sorted(summary, key=lambda s: float(s["per_class"])):
        curve[s["per_class"]] = max(curve.get(s["per_class"], 0.0), s["accuracy_mean"])
    return curve


def _test_of_validation_best(rows) -> dict:
    """At each budget, the *test* accuracy of the contender validation ranks best: the contender
    chosen right, the budget then chosen on test (the same leak)."""
    return capstone.curve(rows, key="accuracy_mean")


def check_labels_needed(answer, rows, target_fraction: float = capstone.TARGET_FRACTION,
                        recorder=CURRENT):
    """08: the smallest budget whose mean validation accuracy (the contender validation ranks
    best there) comes within ``target_fraction`` of the best on the curve: the budget is a choice,
    so, like the contender, it is made on validation. The rule is ``capstone.labels_needed``'s
    (called here, so the check and the notebook cannot disagree)."""
    if not_done(answer):
        return not_done_yet("labels_needed", "write my_budget = the smallest labels per class (a "
                            f"number from the learning curve) whose accuracy reaches "
                            f"{target_fraction:.0%} of the best validation accuracy on the "
                            "curve.", recorder)
    expected = capstone.labels_needed(rows, target_fraction)
    budgets = sorted({r["per_class"] for r in rows}, key=experiment.budget_key)
    value = _budget_of(answer)
    by_test = {capstone.smallest_within(_curve_by_test(rows), target_fraction),
               capstone.smallest_within(_test_of_validation_best(rows), target_fraction)}
    return check("labels_needed", [
        (value is not None, f"Store one number of labels per class, such as {budgets[0]}, not "
         f"{type(answer).__name__} {answer!r}."),
        (lambda: value in budgets, lambda: f"{value} is not a budget of this learning curve; "
         f"the budgets measured are {budgets}."),
        (lambda: value == expected or value != budgets[-1] or budgets[-1] in by_test,
         f"{value} is the largest budget, where the curve is at its best. The question is the "
         f"smallest budget that already comes within {target_fraction:.0%} of that best: compare "
         f"each budget's accuracy with {target_fraction} x the best."),
        (lambda: value == expected or value not in by_test,
         "That budget follows *test* accuracy: choosing by test is the leak the course warns "
         "about. The budget is a choice, like the contender: at each budget take the contender "
         "validation ranks best (experiment.best_on_validation) and read its mean *validation* "
         "accuracy; the test accuracy is only reported."),
        (lambda: value == expected,
         lambda: f"{value} labels per class is not the smallest budget within "
         f"{target_fraction:.0%} of the best: "
         + ("a smaller budget already gets there." if value > expected else
            f"its validation accuracy is below {target_fraction} x the best.")),
    ], f"{expected} labels per class: beyond that, in this run, more labels bought less than "
       f"{1 - target_fraction:.0%} of accuracy.", recorder)


def _pair(answer):
    """``(low, high)`` as two floats, or None."""
    try:
        values = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    return (float(values[0]), float(values[1])) if values.size == 2 else None


def _welch(a, b, level: float = 0.95) -> tuple[float, float]:
    """The unpaired (Welch) t-interval of mean(a) - mean(b): what pairing avoids."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        d = a.mean() - b.mean()
        return float(d), float(d)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = scipy_stats.t.ppf(1 - (1 - level) / 2, df) * np.sqrt(va + vb)
    d = a.mean() - b.mean()
    return float(d - half), float(d + half)


def check_recommendation_interval(answer, rows, recorder=CURRENT):
    """08: the paired 95% interval (t, or bootstrap) of the best transfer strategy minus the best
    control, both chosen on validation, at the largest budget: what the recommendation reads."""
    if not_done(answer):
        return not_done_yet("recommendation_interval", "write my_interval = (low, high), the "
                            "paired 95% interval of the best transfer strategy minus the best "
                            "control at the largest budget.", recorder)
    found = capstone.comparison(rows)
    last = found[-1]
    p = last["transfer_vs_control"]
    right = [tuple(p["t"]), tuple(p["bootstrap"])]
    value = _pair(answer)

    def close(a, b):
        return np.allclose(a, b, atol=1e-6)

    flipped = [(-hi, -lo) for lo, hi in right]
    other_budgets = [] if value is None else [
        c for c in found[:-1] if any(close(value, iv) for iv in
                                     (c["transfer_vs_control"]["t"], c["transfer_vs_control"]["bootstrap"]))]
    a = experiment.scores(rows, last["task"], last["per_class"], last["transfer"])
    b = experiment.scores(rows, last["task"], last["per_class"], last["control"])
    unpaired = _welch(list(a.values()), list(b.values())) if min(len(a), len(b)) > 1 else None
    names = experiment.LABELS
    return check("recommendation_interval", [
        (value is not None, "Store two numbers, (low, high): the interval's ends, not the "
         "difference alone or the whole comparison dict."),
        (lambda: value[0] <= value[1], "Write the lower end first: (low, high)."),
        (lambda: any(close(value, iv) for iv in right) or not other_budgets,
         lambda: f"That is the interval at {other_budgets[0]['per_class']} labels per class. The "
         f"recommendation reads the largest budget, {last['per_class']}: take the last entry of "
         "capstone.comparison(rows)."),
        (lambda: any(close(value, iv) for iv in right) or not any(close(value, f) for f in flipped),
         f"The signs are flipped: the interval is of {names[last['transfer']]} minus "
         f"{names[last['control']]} (transfer minus control), so a gain for transfer is positive."),
        (lambda: any(close(value, iv) for iv in right) or unpaired is None
         or not close(value, unpaired),
         "That is the unpaired (Welch) interval. The contenders trained on the same samples, seed "
         "by seed: pair the differences (the comparison's 'transfer_vs_control' does)."),
        (lambda: any(close(value, iv) for iv in right),
         f"Not the interval of {names[last['transfer']]} minus {names[last['control']]} at "
         f"{last['per_class']} labels per class: read capstone.comparison(rows)[-1]"
         "['transfer_vs_control'] and its 't' (or 'bootstrap') interval."),
    ], lambda: f"({value[0]:+.3f}, {value[1]:+.3f}): "
       + ("above zero, so transfer is ahead of that control." if value[0] > 0 else
          "below zero, so that control is ahead of transfer." if value[1] < 0 else
          "it contains zero, so the seeds can't tell transfer from that control."), recorder)
