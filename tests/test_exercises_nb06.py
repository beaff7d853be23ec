"""Notebook 06's checks: blank, plausible wrong answers (with their hints), other right answers,
on small made-up grids and on the committed grid."""

import numpy as np
import pytest

from helpers import exercises, experiment, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


@pytest.fixture(scope="module")
def committed():
    return experiment.load_results(experiment.COMMITTED_GRID)["rows"]


def _rows(test, val, task="far", budget=5):
    """One cell, five seeds: ``test`` {strategy: five accuracies}, ``val`` {strategy: one value}."""
    return [{"task": task, "per_class": budget, "strategy": s, "seed": seed, "accuracy": acc,
             "macro_f1": acc, "train_accuracy": 1.0, "val_accuracy": val[s], "seconds": 1.0,
             "trainable_params": 10, "steps": 300, "choice": "x", "test_images": 400,
             "val_images": 100, "sample": f"s{seed}"}
            for s, accs in test.items() for seed, acc in enumerate(accs)]


# ---------------------------------------------------------------- 06-1

def _summary():
    return [{"task": "far", "per_class": 5, "strategy": s, "accuracy_mean": t, "val_accuracy_mean": v}
            for s, t, v in (("pixel_logreg", 0.70, 0.72), ("random_features", 0.60, 0.61),
                            ("scratch", 0.74, 0.70), ("fine_tuning", 0.90, 0.90))]


def test_control_on_validation():
    summary = _summary()
    check = lambda answer: exercises.check_control_on_validation(answer, summary, "far", 5, None)  # noqa: E731
    assert check(None).status == "not_done"
    assert check("pixel_logreg")
    assert check(experiment.best_on_validation(summary, "far", 5, experiment.CONTROLS))
    for wrong, hint in (("scratch", "*test*"), ("fine_tuning", "not a control"),
                        ("random_features", "highest 'val_accuracy_mean'"),
                        (summary[0], "a string")):
        fb = check(wrong)
        assert fb.status == "wrong" and hint in fb.message, fb.message


def test_control_on_validation_on_the_committed_grid_with_natural_code(committed):
    """The summary keeps labels per class as an int, like the rows: `== 5` finds the cell."""
    shared = experiment.aggregate(experiment.on_shared_seeds(committed))
    assert {type(s["per_class"]) for s in shared} == {int}
    best = max((s for s in shared if s["task"] == "far" and s["per_class"] == 5
                and s["strategy"] in experiment.CONTROLS), key=lambda s: s["val_accuracy_mean"])
    assert exercises.check_control_on_validation(best["strategy"], shared, "far", 5, None)
    assert experiment.cell(shared, "far", "5", "scratch") is experiment.cell(shared, "far", 5, "scratch")


# ---------------------------------------------------------------- 06-2

def test_paired_gain():
    rows = [{"task": "near", "per_class": 2, "strategy": s, "seed": seed, "accuracy": acc}
            for s, accs in (("fine_tuning", (0.80, 0.70, 0.90)), ("scratch", (0.75, 0.72, 0.80)))
            for seed, acc in zip((2, 0, 1), accs, strict=True)]
    check = lambda answer: exercises.check_paired_gain(answer, rows, "near", 2, "fine_tuning",  # noqa: E731
                                                       "scratch", None)
    right = [0.70 - 0.72, 0.90 - 0.80, 0.80 - 0.75]          # seeds 0, 1, 2
    assert check(None).status == "not_done"
    assert check(right) and check(np.array(right)) and check(tuple(right))
    for wrong, hint in (([-d for d in right], "minus"),
                        ([0.70 - 0.80, 0.90 - 0.75, 0.80 - 0.72], "paired"),   # each list sorted by value
                        (right[:2], "one difference per seed"),
                        (right[::-1], "order of seed"),
                        ([0.01, 0.02, 0.03], "not the per-seed differences"),
                        ("fine_tuning", "list of numbers")):
        fb = check(wrong)
        assert fb.status == "wrong" and hint in fb.message, fb.message


# ---------------------------------------------------------------- verdicts' labels per class

def test_verdicts_keep_labels_per_class_as_the_rows_do(committed):
    """Natural code, `v["per_class"] == 2`, finds the cell (06's decision table and quiz do)."""
    full = experiment.verdicts(committed)
    assert {type(v["per_class"]) for v in full} == {int}
    v = next(v for v in full if v["task"] == "far" and v["per_class"] == 2)
    alone = _cell_verdict(committed, "far", 2)   # the same cell judged alone: no correction
    per_cell = ("transfer", "control", "verdict_per_cell", "transfer_vs_each", "under_fit")
    assert {k: v[k] for k in per_cell} == {k: alone[k] for k in per_cell}
    assert alone["cells_judged"] == 1 and v["cells_judged"] == sum(not w["under_fit"] for w in full)
    saved = experiment.load_results(experiment.COMMITTED_GRID)["verdicts"]
    assert [v["per_class"] for v in saved] == [v["per_class"] for v in full]
    every = _rows({s: [0.5, 0.6, 0.55, 0.52, 0.58] for s in experiment.STRATEGIES},
                  {s: 0.5 for s in experiment.STRATEGIES}, budget="all")
    assert experiment.verdicts(every)[0]["per_class"] == "all"


# ---------------------------------------------------------------- 06-3

def _decide(rows, cell, strategy, interval, verdict=exercises.nb06_choosing_a_strategy._UNSET,
            **where):
    return exercises.check_decision(cell, strategy, interval, rows, None, verdict=verdict, **where)


def _cell_verdict(rows, task, budget):
    return experiment.verdicts([r for r in rows if r["task"] == task and r["per_class"] == budget])[0]


def test_decision_check_cell_reveals_nothing():
    """The scenario's cell lives in the check module; the notebook's check cell names no cell and
    the statement gives the scenario, not the rule's outcome."""
    import nbformat

    from helpers import config

    nb = nbformat.read(config.ROOT / "notebooks" / "06_choosing_a_strategy.ipynb", 4)
    check_cell = next(c.source for c in nb.cells if "exercises.check_decision(" in c.source)
    assert "far" not in check_cell and "2" not in check_cell and "scenario" not in check_cell
    assert "verdict=my_verdict" in check_cell
    statement = next(c.source for c in nb.cells if "**Exercise 3 (a decision).**" in c.source)
    assert exercises.DECISION_SCENARIO in statement
    for revealing in ('"far"', "best_on_validation(", "compare(", "Recommend the transfer strategy if"):
        assert revealing not in statement, revealing


def test_decision_on_the_committed_grid(committed):
    v = _cell_verdict(committed, "far", 2)
    p = v["transfer_vs_control"]
    assert _decide(committed, None, None, None).status == "not_done"
    assert _decide(committed, None, None, None, None).status == "not_done"
    chosen = {"ahead": v["transfer"], "behind": v["control"]}.get(p["verdict"], v["transfer"])
    assert _decide(committed, ("far", 2), chosen, p["t"], p["verdict"])
    assert _decide(committed, ("far", 2), chosen, p["t"])                      # verdict not asked
    assert _decide(committed, ["far", "2"], chosen, [round(x, 3) for x in p["bootstrap"]],
                   p["verdict"].upper())                                       # typed by hand
    other = experiment.compare(committed, "far", 2, v["transfer"], v["control"])   # computed anew
    assert _decide(committed, ("far", 2), chosen, tuple(other["t"]), other["verdict"])


def test_decision_wrong_answers_on_the_committed_grid(committed):
    v = _cell_verdict(committed, "far", 2)
    p, best_t, best_c = v["transfer_vs_control"], v["transfer"], v["control"]
    assert p["verdict"] == "ahead"   # what the hints below are written for
    a, b = experiment.scores(committed, "far", 2, best_t), experiment.scores(committed, "far", 2, best_c)
    welch = exercises.nb06_choosing_a_strategy._welch(list(a.values()), list(b.values()))
    other_control = next(c for c in experiment.CONTROLS if c != best_c)
    other_transfer = next(t for t in experiment.TRANSFER if t != best_t)
    cases = [
        (("near", 2), best_t, p["t"], "ahead", "section 5's description"),
        (("far", 5), best_t, p["t"], "ahead", "how many images per class"),
        ("far 2", best_t, p["t"], "ahead", "(target, labels per class)"),
        (("far", 2), best_t, p["t"], "can't tell", "not what the paired comparison"),
        (("far", 2), best_t, p["t"], "maybe", "one of"),
        (("far", 2), best_t, p["t"], None, "Store all of them"),
        (("far", 2), best_c, p["t"], "ahead", "the pretrained weights pay"),
        (("far", 2), other_transfer, p["t"], "ahead", "not the transfer strategy validation ranks best"),
        (("far", 2), "pretrained", p["t"], "ahead", "not a contender"),
        (("far", 2), best_t, p["difference"], "ahead", "two numbers"),
        (("far", 2), best_t, (-p["t"][1], -p["t"][0]), "ahead", "flipped"),
        (("far", 2), best_t, welch, "ahead", "unpaired"),
        (("far", 2), best_t, v["transfer_vs_each"][other_control]["t"], "ahead", "That is the interval of"),
        (("far", 2), best_t, (0.0, 0.5), "ahead", "not the paired 95% interval"),
        (("far", 2), best_t, (p["t"][1], p["t"][0]), "ahead", "low first"),
        (("far", 2), None, p["t"], "ahead", "Store all of them"),
    ]
    for cell, strategy, interval, verdict, hint in cases:
        fb = _decide(committed, cell, strategy, interval, verdict)
        assert fb.status == "wrong" and hint in fb.message, (hint, fb.message)
        assert "('far', 2)" not in fb.message   # a hint never names the answer's cell


JITTER = (0.00, 0.02, 0.01, 0.00, 0.03)   # five seeds, a small spread around each test mean


def _made_up(test: dict, val: dict):
    """A made-up cell: each contender's test accuracy per seed (its mean plus JITTER), and its
    validation accuracy."""
    return _rows({k: [round(m + j, 2) for j in JITTER] for k, m in test.items()}, val)


def test_decision_picked_by_test_and_negative_transfer():
    """Made-up cells: validation and test disagree; transfer behind the best control."""
    by_test = _made_up(test={"pixel_logreg": 0.50, "random_features": 0.40, "scratch": 0.60,
                             "feature_extraction": 0.80, "fine_tuning": 0.84},
                       val={"pixel_logreg": 0.5, "random_features": 0.4, "scratch": 0.6,
                            "feature_extraction": 0.86, "fine_tuning": 0.80})
    v = _cell_verdict(by_test, "far", 5)
    assert (v["verdict"], v["transfer"]) == ("ahead", "feature_extraction")
    interval = v["transfer_vs_control"]["t"]
    fb = _decide(by_test, ("far", 5), "fine_tuning", interval, "ahead", budget=5)
    assert fb.status == "wrong" and "*test*" in fb.message, fb.message
    assert _decide(by_test, ("far", 5), "feature_extraction", interval, "ahead", budget=5)

    behind = _made_up(test={"pixel_logreg": 0.80, "random_features": 0.40, "scratch": 0.60,
                            "feature_extraction": 0.50, "fine_tuning": 0.55},
                      val={"pixel_logreg": 0.8, "random_features": 0.4, "scratch": 0.6,
                           "feature_extraction": 0.5, "fine_tuning": 0.56})
    v = _cell_verdict(behind, "far", 5)
    assert (v["transfer_vs_control"]["verdict"], v["control"]) == ("behind", "pixel_logreg")
    interval = v["transfer_vs_control"]["t"]
    assert _decide(behind, ("far", 5), "pixel_logreg", interval, "behind", budget=5)
    fb = _decide(behind, ("far", 5), "fine_tuning", interval, "behind", budget=5)
    assert fb.status == "wrong" and "negative transfer" in fb.message, fb.message
    fb = _decide(behind, ("far", 5), "scratch", interval, "behind", budget=5)
    assert fb.status == "wrong" and "not the control validation ranks best" in fb.message, fb.message


def test_decision_rests_on_the_best_control_as_negative_transfer_is_defined():
    """The cell is "behind" (a control that validation does not pick beats transfer on test),
    but transfer is ahead of the best control: no negative transfer, recommend transfer."""
    mixed = _rows({"pixel_logreg": [0.90, 0.91, 0.92, 0.90, 0.93],
                   "random_features": [0.40, 0.42, 0.41, 0.40, 0.43],
                   "scratch": [0.60, 0.61, 0.59, 0.62, 0.60],
                   "feature_extraction": [0.80, 0.82, 0.81, 0.80, 0.83],
                   "fine_tuning": [0.70, 0.71, 0.72, 0.70, 0.71]},
                  {"pixel_logreg": 0.5, "random_features": 0.4, "scratch": 0.95,
                   "feature_extraction": 0.85, "fine_tuning": 0.70})
    v = _cell_verdict(mixed, "far", 5)
    p = v["transfer_vs_control"]
    assert (v["verdict"], p["verdict"], v["transfer"], v["control"]) == \
        ("behind", "ahead", "feature_extraction", "scratch")
    assert _decide(mixed, ("far", 5), "feature_extraction", p["t"], "ahead", budget=5)
    fb = _decide(mixed, ("far", 5), "feature_extraction", p["t"], "behind", budget=5)
    assert fb.status == "wrong" and "*every* control" in fb.message, fb.message
    fb = _decide(mixed, ("far", 5), "pixel_logreg", p["t"], "ahead", budget=5)
    assert fb.status == "wrong" and "*test*" in fb.message, fb.message
    fb = _decide(mixed, ("far", 5), "scratch", p["t"], "ahead", budget=5)
    assert fb.status == "wrong" and "negative transfer" not in fb.message, fb.message


def test_decision_when_the_seeds_cannot_tell(committed):
    v = _cell_verdict(committed, "far", 20)
    p = v["transfer_vs_control"]
    assert p["verdict"] == "can't tell"
    for strategy in (v["transfer"], v["control"]):   # either is defensible
        assert _decide(committed, ("far", 20), strategy, p["t"], "can't tell", budget=20)
    other = next(c for c in experiment.CONTROLS if c != v["control"])
    fb = _decide(committed, ("far", 20), other, p["t"], "can't tell", budget=20)
    assert fb.status == "wrong" and ("neither" in fb.message or "*test*" in fb.message), fb.message
