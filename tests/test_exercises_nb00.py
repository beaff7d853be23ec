"""Notebook 00's checks: blank, plausible wrong answers (with their hints), other right answers."""

import numpy as np
import pytest

from helpers import data, exercises, features, models, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


@pytest.fixture(scope="module")
def far():
    return data.far_task()


def sample_check(far, x, y, seed=0):
    return exercises.check_few_shot_sample(x, y, far.num_classes, 3, None,
                                           train=(far.x_train, far.y_train), seed=seed, task="far")


def test_few_shot_blank_right_and_reordered(far):
    fb = sample_check(far, None, None)
    assert fb.status == "not_done" and fb.message.startswith("Not done yet:") and "few_shot" in fb.message
    x, y = data.few_shot(far.x_train, far.y_train, 3, seed=0)
    assert sample_check(far, x, y).status == "passed"
    order = np.argsort(y, kind="stable")                  # the same pairs, sorted by class
    assert sample_check(far, x[order], y[order]).status == "passed"
    x7, y7 = data.few_shot(far.x_train, far.y_train, 3, seed=7)   # SEED = 7 in the notebook
    assert sample_check(far, x7, y7, seed=7).status == "passed"


@pytest.mark.parametrize("mistake, hint", [
    ("shuffled_labels", "do not go with their images"),
    ("made_up_labels", "do not go with their images"),
    ("other_seed", "with SEED as its seed"),
    ("test_split", "far.x_test is kept for scoring"),
    ("first_rows", "unbalanced"),
    ("images_only", "Assign both"),
])
def test_few_shot_wrong_answers(far, mistake, hint):
    x, y = data.few_shot(far.x_train, far.y_train, 3, seed=0)
    rng = np.random.default_rng(1)
    answer = {"shuffled_labels": (x, rng.permutation(y)),
              "made_up_labels": (x, np.repeat(np.arange(far.num_classes), 3)),
              "other_seed": data.few_shot(far.x_train, far.y_train, 3, seed=1),
              "test_split": data.few_shot(far.x_test, far.y_test, 3, seed=0),
              "first_rows": (far.x_train[:30], far.y_train[:30]),
              "images_only": (x, None)}[mistake]
    fb = sample_check(far, *answer)
    assert fb.status == "wrong" and hint in fb.message, fb.message


def test_few_shot_without_labels_or_seed_keeps_the_simpler_check(near):
    x, y = data.few_shot(near.x_train, near.y_train, 3, seed=5)
    assert exercises.check_few_shot_sample(x, y, 4, 3, None, train=near.x_train, task="near")


def test_features_blank_wrong_and_right(source_model, near):
    base = models.source_base(source_model)
    x = near.x_test[:16]
    kw = dict(asked="the first 16 test images")
    assert exercises.check_features(None, base, x, None, **kw).status == "not_done"
    assert exercises.check_features(base.predict(x, verbose=0), base, x, None, **kw)
    assert exercises.check_features(features.extract_features(base, x), base, x, None, **kw)
    assert exercises.check_features(np.asarray(base(x, training=False)), base, x, None, **kw)
    for wrong, hint in ((source_model.predict(x, verbose=0), "not the full model"),   # the whole model
                        (base.predict(near.x_test[16:32], verbose=0), "other numbers"),  # other images
                        (base.predict(x[:8], verbose=0), "shape"),                    # too few
                        (base.predict(x * 255, verbose=0), "unchanged")):              # rescaled again
        fb = exercises.check_features(wrong, base, x, None, **kw)
        assert fb.status == "wrong" and hint in fb.message, fb.message
