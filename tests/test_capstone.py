"""Notebook 08's reading of a learning curve (helpers/capstone.py): protocol and words.

Synthetic rows fix what each contender scored, so each kind of sentence can be produced on
purpose; the runs on real data check that choices read validation only. No test checks who wins.
"""

import copy

import numpy as np
import pytest

from helpers import backbones, capstone, data, experiment, stats


def _rows(test: dict, val: dict | None = None, budgets=(1, 5, 20), seeds: int = 5):
    """Rows as ``experiment.run_grid`` makes them. ``test[strategy]`` is a function of (budget,
    seed) giving the test accuracy; ``val`` the validation accuracy per strategy (default: the
    test accuracy of seed 0, so validation and test agree)."""
    rows = []
    for b in budgets:
        for s, acc in test.items():
            for seed in range(seeds):
                v = val[s] if val else acc(b, 0)
                rows.append({"task": "mine", "per_class": b, "strategy": s, "seed": seed,
                             "accuracy": acc(b, seed), "macro_f1": acc(b, seed), "train_accuracy": 1.0,
                             "val_accuracy": v, "seconds": 1.0, "trainable_params": 10,
                             "steps": 300 if s in experiment.NETWORKS else 0, "choice": "x",
                             "test_images": 100, "val_images": 50, "sample": f"{b}-{seed}"})
    return rows


NOISE = [0.00, 0.01, -0.01, 0.02, -0.02]


def _flat(level):
    return lambda b, seed: level + NOISE[seed]


def _rising(start, step):
    return lambda b, seed: start + step * [1, 5, 20].index(b) + NOISE[seed]


def _ahead_rows():
    """Feature extraction ahead of every control at every budget, its curve flat after 5."""
    fe = {1: 0.60, 5: 0.80, 20: 0.82}
    return _rows({"pixel_logreg": _flat(0.40), "random_features": _flat(0.35), "scratch": _flat(0.45),
                  "feature_extraction": lambda b, seed: fe[b] + NOISE[seed],
                  "fine_tuning": _flat(0.50)})


def test_transfer_pays_names_the_strategy_and_the_labels_needed():
    text = capstone.recommendation(_ahead_rows(), weights="imagenet")
    assert "At 1 label per class, transfer pays: feature extraction, pretrained is ahead" in text
    assert "Recommendation: transfer pays: use feature extraction, pretrained with 5 labels per class" in text
    assert "The curve is flat: more labels buy little" in text
    assert "No pretraining was measured" not in text
    assert capstone.labels_needed(_ahead_rows(), strategy="feature_extraction") == 5
    assert capstone.labels_needed(_ahead_rows()) == 5        # validation ranks feature extraction first


def test_transfer_behind_the_best_control_is_called_negative_transfer():
    rows = _rows({"pixel_logreg": _flat(0.40), "random_features": _flat(0.35),
                  "scratch": _rising(0.50, 0.15), "feature_extraction": _flat(0.45),
                  "fine_tuning": _flat(0.42)})
    text = capstone.recommendation(rows, weights="imagenet")
    assert "transfer does not pay here: a control (scratch CNN (random init)) is ahead" in text
    assert "negative transfer" in text
    assert "Recommendation: transfer does not pay here" in text
    assert "The curve still rises: more labels would help (scratch CNN" in text
    assert capstone.labels_needed(rows, strategy="scratch") == 20


def test_cant_tell_when_the_intervals_include_zero():
    swing = [0.10, -0.10, 0.08, -0.09, 0.02]
    rows = _rows({"pixel_logreg": _flat(0.40), "random_features": _flat(0.35), "scratch": _flat(0.60),
                  "feature_extraction": lambda b, seed: 0.60 + swing[seed],
                  "fine_tuning": _flat(0.55)},
                 val={"pixel_logreg": 0.4, "random_features": 0.35, "scratch": 0.6,
                      "feature_extraction": 0.61, "fine_tuning": 0.55})
    text = capstone.recommendation(rows, weights="course")
    assert "can't tell: the seeds' intervals include zero" in text
    assert "label more or run more seeds" in text
    assert all(c["verdict"] == "can't tell" for c in capstone.comparison(rows))


def test_random_weights_say_that_no_pretraining_was_measured():
    for weights in ("random", None):
        text = capstone.recommendation(_ahead_rows(), weights=weights)
        assert text.startswith("No pretraining was measured")
    assert "random" in capstone.format_assessment([], weights="random")


def test_one_budget_cannot_tell_whether_the_curve_rises():
    text = capstone.recommendation(_ahead_rows()[:25], weights="imagenet")
    assert "One budget only" in text


def test_labels_needed_is_the_smallest_budget_near_the_best():
    rows = _rows({"pixel_logreg": lambda b, s: {1: 0.50, 5: 0.90, 20: 0.93}[b],
                  "feature_extraction": lambda b, s: {1: 0.71, 5: 0.72, 20: 0.74}[b]})
    assert capstone.labels_needed(rows, 0.95, "pixel_logreg") == 5      # 0.90 >= 0.95 × 0.93
    assert capstone.labels_needed(rows, 0.99, "pixel_logreg") == 20
    assert capstone.labels_needed(rows, 0.95, "feature_extraction") == 1
    assert capstone.labels_needed(rows, 0.5, "pixel_logreg") == 1
    with pytest.raises(ValueError, match="one task"):
        capstone.labels_needed(rows + [dict(rows[0], task="other")])


def test_comparison_agrees_with_notebook_06s_verdicts():
    rows = _ahead_rows()
    for mine, theirs in zip(capstone.comparison(rows), experiment.verdicts(rows), strict=True):
        for key in ("per_class", "transfer", "control", "verdict"):
            assert mine[key] == theirs[key], key
        unjudged = {c: {k: v for k, v in p.items() if k != "why"} for c, p in mine["transfer_vs_each"].items()}
        assert unjudged == theirs["transfer_vs_each"]
        assert all(p["why"] == "" for p in mine["transfer_vs_each"].values())


def test_comparison_chooses_on_validation_never_on_test():
    """Validation ranks fine-tuning and pixels first; test ranks feature extraction and scratch
    first. Scrambling the test scores changes the differences, never a choice."""
    rows = _rows({"pixel_logreg": _flat(0.40), "random_features": _flat(0.35), "scratch": _flat(0.50),
                  "feature_extraction": _flat(0.80), "fine_tuning": _flat(0.70)},
                 val={"pixel_logreg": 0.6, "random_features": 0.3, "scratch": 0.5,
                      "feature_extraction": 0.6, "fine_tuning": 0.7})
    found = capstone.comparison(rows)
    assert {(c["transfer"], c["control"]) for c in found} == {("fine_tuning", "pixel_logreg")}
    scrambled = copy.deepcopy(rows)
    rng = np.random.default_rng(0)
    for r in scrambled:
        r["accuracy"] = float(rng.random())
    again = capstone.comparison(scrambled)
    assert [(c["transfer"], c["control"]) for c in again] == [(c["transfer"], c["control"]) for c in found]
    assert again[0]["transfer_vs_control"] != found[0]["transfer_vs_control"]


def test_comparison_needs_transfer_and_a_control():
    rows = _rows({"pixel_logreg": _flat(0.4), "scratch": _flat(0.5)})
    with pytest.raises(ValueError, match="transfer strategy"):
        capstone.comparison(rows)


def test_most_confused_are_the_most_confident_mistakes():
    task = data.Task("mine", "", ["a", "b", "c"], *([np.zeros((1, 2, 2, 1))] * 2),
                     np.zeros((1, 2, 2, 1)), np.zeros(1, int),
                     np.arange(4, dtype="float32").reshape(4, 1, 1, 1) * np.ones((4, 2, 2, 1)),
                     np.array([0, 1, 2, 0]))
    probs = np.array([[0.9, 0.05, 0.05],     # right
                      [0.6, 0.3, 0.1],       # wrong: b as a, 0.6
                      [0.1, 0.8, 0.1],       # wrong: c as b, 0.8
                      [0.3, 0.1, 0.6]])      # wrong: a as c, 0.6

    def predict(images):
        return probs[images[:, 0, 0, 0].astype(int)]

    worst = capstone.most_confused(predict, task, k=2)
    assert [(m["index"], m["true"], m["predicted"]) for m in worst] == [(2, "c", "b"), (1, "b", "a")]
    assert worst[0]["confidence"] == pytest.approx(0.8) and worst[0]["image"].shape == (2, 2, 1)
    assert len(capstone.most_confused(predict, task, k=10)) == 3
    with pytest.raises(ValueError, match="probabilities"):
        capstone.most_confused(lambda x: probs.argmax(1)[: len(x)], task)
    assert capstone.plot_most_confused(worst) is not None


@pytest.mark.slow
def test_learning_curve_is_notebook_06s_grid_and_reads_validation_only():
    """The same rows as ``experiment.run_grid``; scrambled test labels change no choice."""
    far = data.get_task("far")
    scrambled = copy.copy(far)
    scrambled.y_test = np.random.default_rng(0).permutation(far.y_test)
    kw = dict(strategies=("pixel_logreg", "feature_extraction"), progress=False, max_steps=3,
              test_images=100, val_images=60)
    rows = capstone.learning_curve(far, [2], [0, 1], **kw)
    twin = experiment.run_grid([far], [2], [0], kw["strategies"], progress=False, max_steps=3,
                               test_images=100, val_images=60, menus_own=capstone.CURVE_MENUS,
                               augmentations=capstone.CURVE_AUGMENTATIONS)
    mine = [r for r in rows if r["seed"] == 0]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in mine] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in twin]
    moved = capstone.learning_curve(scrambled, [2], [0, 1], **kw)
    assert [(r["choice"], r["val_accuracy"]) for r in rows] == [(r["choice"], r["val_accuracy"]) for r in moved]
    assert [(c["transfer"], c["control"]) for c in capstone.comparison(rows)] == \
        [(c["transfer"], c["control"]) for c in capstone.comparison(moved)]
    assert "Recommendation:" in capstone.recommendation(rows, "course")
    assert capstone.plot_learning_curve(rows).axes


def test_assessment_pairs_pretrained_and_random_weights_per_budget():
    far = data.get_task("far")
    found = capstone.assessment(far, backbones.SOURCE_CNN, budgets=(1, 2), seeds=range(2),
                                val_images=60, test_images=100)
    assert [p["per_class"] for p in found] == [1, 2] and all(p["n"] == 2 for p in found)
    assert all(p["verdict"] in ("ahead", "behind", "can't tell") for p in found)
    text = capstone.format_assessment(found, "course")
    assert "2 labels per class, test accuracy: pretrained features" in text
    assert all(p["verdict"] == "can't tell" for p in found) and "too few seeds (2" in text


# ---------------------------------------------------------------- random weights: no claim about pretraining

def _behind_rows():
    return _rows({"pixel_logreg": _flat(0.40), "random_features": _flat(0.35),
                  "scratch": _rising(0.50, 0.15), "feature_extraction": _flat(0.45),
                  "fine_tuning": _flat(0.42)})


def _cant_tell_rows():
    swing = [0.10, -0.10, 0.08, -0.09, 0.02]
    return _rows({"pixel_logreg": _flat(0.40), "random_features": _flat(0.35), "scratch": _flat(0.60),
                  "feature_extraction": lambda b, seed: 0.60 + swing[seed], "fine_tuning": _flat(0.55)})


@pytest.mark.parametrize("make", [_ahead_rows, _behind_rows, _cant_tell_rows])
def test_random_weights_give_no_verdict_on_pretraining(make):
    rows = make()
    for weights in ("random", None):
        text = capstone.recommendation(rows, weights=weights)
        for sentence in text.splitlines():
            for claim in ("transfer pays", "does not pay", "pretrained", "negative transfer"):
                assert claim not in sentence, (claim, sentence)
        assert "no pretraining was measured" in text.lower()
        assert "random backbone (one fixed draw)" in text
        assert "To measure it, make the ImageNet weights available" in text
    assert "transfer pays" in capstone.recommendation(_ahead_rows(), weights="imagenet")


def test_random_weights_name_the_contenders_for_what_they_are():
    names = capstone.display_labels("random")
    assert names["feature_extraction"] == "feature extraction, random backbone (one fixed draw)"
    assert names["random_features"] == "feature extraction, random twins (a new draw per seed)"
    assert not any("pretrained" in label for label in names.values())
    assert capstone.display_labels("imagenet") == experiment.LABELS
    p = dict(stats.paired([0.6, 0.7, 0.65], [0.5, 0.52, 0.6]), per_class=5, why="")
    text = capstone.format_assessment([p], weights="random")
    assert "pretrained" not in text and "random backbone (one fixed draw)" in text
    fig = capstone.plot_learning_curve(_ahead_rows(), weights="random")
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert legend and not any("pretrained" in t for t in legend)


# ---------------------------------------------------------------- budgets a folder allows

def _task(train_counts, test_per_class=3):
    y_train = np.repeat(np.arange(len(train_counts)), train_counts)
    y_test = np.repeat(np.arange(len(train_counts)), test_per_class)
    x = np.zeros((len(y_train), 2, 2, 1), "float32")
    xt = np.zeros((len(y_test), 2, 2, 1), "float32")
    return data.Task("own", "", [f"class{i}" for i in range(len(train_counts))],
                     x, y_train, xt, y_test, xt, y_test)


def test_usable_budgets_drop_what_a_class_cannot_sample_and_name_it():
    task = _task([12, 4, 9])
    task.class_names = ["cat", "owl", "dog"]
    kept, note = capstone.usable_budgets(task, [1, 5, 20])
    assert kept == [1, "all"]
    assert "'owl' has only 4 training images" in note and "5, 20" in note
    assert "LABEL_BUDGETS" in note and "--budgets" in note and "add images to 'owl'" in note
    assert capstone.usable_budgets(task, [1, 2]) == ([1, 2], "")
    assert capstone.usable_budgets(task, [4])[0] == ["all"]         # 4 of owl = the whole split


def test_usable_budgets_keep_the_whole_split_as_a_number_when_classes_are_even():
    task = _task([4, 4])
    assert capstone.usable_budgets(task, [1, 4]) == ([1, 4], "")
    kept, note = capstone.usable_budgets(task, [1, 5, 20])
    assert kept == [1, 4] and "5, 20" in note
    with pytest.raises(ValueError, match="budgets"):
        capstone.usable_budgets(task, [0])


# ---------------------------------------------------------------- choices on validation only

def test_labels_needed_reads_validation_not_test():
    """Validation says 5 is enough; test says only 20 is. The choice follows validation."""
    rows = _rows({"pixel_logreg": _flat(0.3), "feature_extraction": lambda b, s: {1: .3, 5: .5, 20: .9}[b]})
    for r in rows:
        r["val_accuracy"] = {1: 0.5, 5: 0.88, 20: 0.9}[r["per_class"]] if r["strategy"] != "pixel_logreg" else 0.2
    assert capstone.labels_needed(rows, strategy="feature_extraction") == 5
    assert capstone.labels_needed(rows) == 5
    text = capstone._curve_sentence(rows, "feature_extraction", "imagenet")
    assert "mean validation accuracy" in text and "mean test accuracy" in text


def test_leading_control_and_the_undecided_choice_read_validation():
    """Two controls beat transfer on test; validation ranks pixels first, test ranks scratch first."""
    rows = _rows({"pixel_logreg": lambda b, s: 0.60 + NOISE[s] / 4, "random_features": _flat(0.30),
                  "scratch": _flat(0.80), "feature_extraction": _flat(0.40), "fine_tuning": _flat(0.35)},
                 val={"pixel_logreg": 0.7, "random_features": 0.3, "scratch": 0.5,
                      "feature_extraction": 0.4, "fine_tuning": 0.35})
    found = capstone.comparison(rows)
    assert all(c["verdict"] == "behind" for c in found)
    assert {c["leading_control"] for c in found} == {"pixel_logreg"}
    swing = [0.10, -0.10, 0.08, -0.09, 0.02]
    rows = _rows({"pixel_logreg": _flat(0.70), "random_features": _flat(0.3), "scratch": _flat(0.3),
                  "feature_extraction": lambda b, s: 0.60 + swing[s], "fine_tuning": _flat(0.3)},
                 val={"pixel_logreg": 0.5, "random_features": 0.3, "scratch": 0.3,
                      "feature_extraction": 0.6, "fine_tuning": 0.3})
    text, chosen = capstone._overall(capstone.comparison(rows)[-1], rows, "imagenet")
    assert "can't tell" in text and chosen == "feature_extraction"    # test would pick pixels


# ---------------------------------------------------------------- verdicts need enough seeds

def test_identical_differences_on_few_seeds_are_no_verdict():
    rows = _rows({"pixel_logreg": _flat(0.5), "feature_extraction": _flat(0.75)}, seeds=3)
    c = capstone.comparison(rows)[0]
    assert stats.paired([.75, .75, .75], [.5, .5, .5])["verdict"] == "ahead"      # notebook 06's rule
    assert c["verdict"] == "can't tell" and "same difference" in c["why"]
    assert "can't tell: every seed gave the same difference" in capstone.recommendation(rows, "imagenet")
    assert capstone.comparison(_rows({"pixel_logreg": _flat(0.5), "feature_extraction": _flat(0.75)},
                                     seeds=5))[0]["verdict"] == "ahead"


@pytest.mark.parametrize("seeds", [1, 2])
def test_fewer_than_three_seeds_give_no_verdict(seeds):
    rows = _rows({"pixel_logreg": lambda b, s: 0.2 + 0.01 * s, "feature_extraction": _flat(0.9)},
                 seeds=seeds)
    assert all(c["verdict"] == "can't tell" and "too few seeds" in c["why"]
               for c in capstone.comparison(rows))
    text = capstone.recommendation(rows, "imagenet")
    assert "can't tell: too few seeds" in text and "inf" not in text


def test_a_small_test_split_is_named_in_the_words():
    rows = _ahead_rows()
    task = _task([20, 20], test_per_class=4)
    text = capstone.recommendation(rows, "imagenet", task=task)
    assert "Warning: the test split is small (4 test images of 'class0'" in text
    assert "not the test set's own sampling error" in text
    assert "Warning" not in capstone.recommendation(rows, "imagenet", task=_task([20, 20], 10))
    p = dict(stats.paired([0.6, 0.7, 0.65], [0.5, 0.52, 0.6]), per_class=5, why="")
    assert "test split is small" in capstone.format_assessment([p], "imagenet", task=task)
