"""Notebook 07's checks: blank, plausible wrong answers (with their hints), other right answers."""

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import applications, exercises, features, models, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def test_preprocessed(near):
    images = near.x_test[:2]
    check = lambda batch: exercises.check_preprocessed(batch, "MobileNetV2", images, None)  # noqa: E731
    assert check(None).status == "not_done"
    raw = applications.to_rgb_batch(images)
    assert check(keras.applications.mobilenet_v2.preprocess_input(raw))   # the natural answer: no .copy()
    raw = applications.to_rgb_batch(images)
    assert check(raw / 127.5 - 1.0)                                       # the formula by hand
    assert check(applications.preprocess_input("MobileNetV2")(applications.to_rgb_batch(images)))
    raw = applications.to_rgb_batch(images)
    once = keras.applications.mobilenet_v2.preprocess_input(raw.copy())
    for wrong, hint in ((raw / 255.0, "divided by 255"), (raw, "still the raw"),
                        (keras.applications.mobilenet_v2.preprocess_input(once.copy()), "once"),
                        (once[:1], "should stay")):
        fb = check(wrong)
        assert fb.status == "wrong" and hint in fb.message, fb.message


SEED = 3


@pytest.fixture(scope="module")
def pool():
    """A small pool of 'features': three classes, 20 rows each, ordered by class."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    return rng.normal(size=(60, 6)) + y[:, None] * 0.8, y


def _scores(pool, splitter, on="test"):
    f, y = pool
    return [features.linear_probe(f[tr], y[tr], f[te if on == "test" else tr],
                                  y[te if on == "test" else tr], SEED) for tr, te in splitter.split(f, y)]


def _check(pool, scores):
    return exercises.check_kfold_scores(scores, 3, None, features=pool[0], labels=pool[1], seed=SEED)


def test_kfold_blank_and_right_answers(pool):
    assert _check(pool, None).status == "not_done"
    assert _check(pool, _scores(pool, StratifiedKFold(3, shuffle=True, random_state=SEED)))
    assert _check(pool, _scores(pool, KFold(3, shuffle=True, random_state=SEED)))
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=SEED))
    by_sklearn = cross_val_score(clf, *pool, cv=StratifiedKFold(3, shuffle=True, random_state=SEED))
    assert _check(pool, by_sklearn)
    assert _check(pool, sorted(by_sklearn, reverse=True))                 # any order of folds


def test_kfold_wrong_answers(pool):
    right = _scores(pool, StratifiedKFold(3, shuffle=True, random_state=SEED))
    cases = [([0.1, 0.5, 0.9], "not the test-fold accuracies"),            # made up
             ([round(s, 1) for s in right], "not the test-fold accuracies"),
             (_scores(pool, StratifiedKFold(3, shuffle=True, random_state=SEED + 1)),
              "not the test-fold accuracies"),                              # another seed
             (_scores(pool, KFold(3)), "not shuffled"),
             (_scores(pool, StratifiedKFold(3, shuffle=True, random_state=SEED), "train"), "training folds"),
             ([right[0]] * 3, "same split"),
             (right[:2], "Expected 3"),
             ([1.2, 0.5, 0.7], "between 0 and 1")]
    for scores, hint in cases:
        fb = _check(pool, scores)
        assert fb.status == "wrong" and hint in fb.message, (hint, fb.message)


def test_kfold_recomputes_the_pool_features_from_the_base(source_model, near):
    base = models.source_base(source_model)
    x, y = near.x_train[:45], near.y_train[:45]
    f = features.extract_features(base, x)
    right = [features.linear_probe(f[tr], y[tr], f[te], y[te], 0)
             for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(f, y)]
    kw = dict(base=base, images=x, labels=y, seed=0)
    assert exercises.check_kfold_scores(right, 3, None, **kw)
    assert not exercises.check_kfold_scores([0.3, 0.5, 0.7], 3, None, **kw)
