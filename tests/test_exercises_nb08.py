"""Notebook 08's checks: blank, plausible wrong answers (with their hints), other right answers.

The rows are made up in ``experiment.run_cell``'s format, so the checks run in milliseconds; the
notebook itself runs them on a real learning curve (tests/test_notebooks.py)."""

import numpy as np
import pytest

from helpers import capstone, exercises, experiment, results

BUDGETS = (1, 5, 20)
SEEDS = (0, 1, 2)
# mean test accuracy per (budget, contender); validation follows test except where said
TEST = {1: {"pixel_logreg": 0.50, "random_features": 0.45, "scratch": 0.40,
            "feature_extraction": 0.70, "fine_tuning": 0.66},
        5: {"pixel_logreg": 0.70, "random_features": 0.68, "scratch": 0.72,
            "feature_extraction": 0.84, "fine_tuning": 0.90},
        20: {"pixel_logreg": 0.80, "random_features": 0.79, "scratch": 0.86,
             "feature_extraction": 0.88, "fine_tuning": 0.92}}
# validation follows test, except where a shift is given: {(budget, contender): added}
# at 5 labels validation is lower than test for the transfer contenders: on validation the
# curve reaches 0.95 x its best only at 20, on test already at 5
LEAK = {(5, "fine_tuning"): -0.10, (5, "feature_extraction"): -0.10}


def _rows(test=TEST, seeds=SEEDS, val_shift=None):
    rows = []
    for b, by_strategy in test.items():
        for s, acc in by_strategy.items():
            for seed in seeds:
                noise = float(np.random.default_rng([b, seed, *map(ord, s)]).normal(0, 0.01))
                rows.append({"task": "own", "strategy": s, "per_class": b, "seed": seed,
                             "accuracy": acc + noise, "val_accuracy": acc + noise + (val_shift or {}).get((b, s), 0),
                             "macro_f1": acc, "train_accuracy": 1.0, "seconds": 1.0, "steps": 40,
                             "test_images": 48, "val_images": 48, "choice": "", "trainable_params": 10})
    return rows


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def _budget(answer, rows=None):
    return exercises.check_labels_needed(answer, rows or _rows(), recorder=None)


def test_labels_needed_blank_and_right_answers():
    rows = _rows()
    expected = capstone.labels_needed(rows)
    assert expected == 5          # fine-tuning: 0.90 at 5 is within 0.95 of 0.92 at 20
    assert _budget(None).status == "not_done"
    assert "my_budget" in _budget(None).message and "labels_needed" not in _budget(None).message
    for right in (5, "5", np.int64(5), 5.0):
        assert _budget(right), right
    # the worked solution's way, step by step
    summary = experiment.aggregate(rows)
    curve = {b: experiment.cell(summary, "own", b, experiment.best_on_validation(
        summary, "own", b, experiment.STRATEGIES, rows))["val_accuracy_mean"] for b in BUDGETS}
    assert _budget(next(b for b in BUDGETS if curve[b] >= 0.95 * max(curve.values())))


def test_labels_needed_wrong_answers_get_hints():
    cases = [(20, "largest budget"), (2, "not a budget"), ("five", "one number"),
             (1, "below"), (True, "one number")]
    for answer, hint in cases:
        fb = _budget(answer)
        assert fb.status == "wrong" and hint in fb.message, (answer, fb.message)


def test_labels_needed_warns_about_choosing_by_test():
    # on test, fine-tuning's 0.90 at 5 is within 0.95 of 0.92 at 20; on validation (0.80 at 5)
    # it is not: the budget read from test (5) is the leak, the one read from validation (20) right
    rows = _rows(val_shift=LEAK)
    assert capstone.labels_needed(rows) == 20
    fb = _budget(5, rows)
    assert fb.status == "wrong" and "choosing by test" in fb.message and "validation" in fb.message, fb.message
    assert _budget(20, rows)


def test_labels_needed_follows_capstone_labels_needed(monkeypatch):
    """The check calls capstone.labels_needed: whatever it answers is the right answer."""
    rows = _rows()
    monkeypatch.setattr(capstone, "labels_needed", lambda rows, fraction=0.95: 20)
    assert _budget(20, rows) and _budget(5, rows).status == "wrong"


def _interval(answer, rows=None):
    return exercises.check_recommendation_interval(answer, rows or _rows(), recorder=None)


def test_interval_blank_and_right_answers():
    rows = _rows()
    p = capstone.comparison(rows)[-1]["transfer_vs_control"]
    assert _interval(None).status == "not_done"
    assert "my_interval" in _interval(None).message
    assert _interval(tuple(p["t"]))
    assert _interval(list(p["t"]))
    assert _interval(np.array(p["bootstrap"]))            # the bootstrap interval is right too


def test_interval_wrong_answers_get_hints():
    rows = _rows()
    found = capstone.comparison(rows)
    p = found[-1]["transfer_vs_control"]
    lo, hi = p["t"]
    cases = [(p["difference"], "two numbers"),
             ((hi, lo), "lower end first"),
             (tuple(found[0]["transfer_vs_control"]["t"]), "largest budget"),
             ((-hi, -lo), "signs are flipped"),
             ((lo + 0.05, hi + 0.05), "Not the interval")]
    for answer, hint in cases:
        fb = _interval(answer, rows)
        assert fb.status == "wrong" and hint in fb.message, (answer, fb.message)


def test_interval_unpaired_answer_names_pairing():
    from helpers.exercises.nb08_your_own_images import _welch

    rows = _rows()
    last = capstone.comparison(rows)[-1]
    a = experiment.scores(rows, "own", last["per_class"], last["transfer"])
    b = experiment.scores(rows, "own", last["per_class"], last["control"])
    fb = _interval(_welch(list(a.values()), list(b.values())), rows)
    assert fb.status == "wrong" and "unpaired" in fb.message, fb.message
