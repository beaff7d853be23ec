"""Notebook 04's checks: blank, plausible wrong answers (with their hints), other right answers."""

import keras
import numpy as np
import pytest

from helpers import exercises, finetuning, models, pretrained, results

HEAD_LR = 1e-2


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def _only(base, names):
    """Freeze every layer of ``base`` except those whose name starts with one of ``names``."""
    base.trainable = True
    for layer in base.layers:
        layer.trainable = (layer.name.startswith(names)
                           and not isinstance(layer, keras.layers.BatchNormalization))


# ---------------------------------------------------------------- 04-1 and 04-2: the real base

def test_unfrozen_top_two_blocks_blank_and_right_answers():
    base = models.source_base()
    assert exercises.check_unfrozen_top_block(base, ("block2", "block3"), None).status == "not_done"
    _only(base, ("block2_", "block3_"))                                   # the solution's
    assert exercises.check_unfrozen_top_block(base, ("block2", "block3"), None)
    base = models.source_base()
    finetuning.unfreeze_top_blocks(base, 2)                               # the course's helper
    assert exercises.check_unfrozen_top_block(base, ("block2", "block3"), None)
    base = models.source_base()
    for layer in base.layers:                                              # by name, one by one
        layer.trainable = False
    for name in ("block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2"):
        base.get_layer(name).trainable = True
    assert exercises.check_unfrozen_top_block(base, ("block2", "block3"), None)


@pytest.mark.parametrize("wrong, hint", [
    (lambda b: _only(b, ("block3_",)), "block2_conv1"),                              # one block only
    (lambda b: [setattr(layer, "trainable", layer.name.startswith(("block2_", "block3_")))
                for layer in b.layers], "BatchNormalization"),                       # BN open
    (lambda b: (_only(b, ("block2_", "block3_")), setattr(b, "trainable", False)), "overrides"),
    (lambda b: _only(b, ("block1_", "block2_")), "wrong trainable flag"),            # the bottom blocks
])
def test_unfrozen_top_two_blocks_wrong_answers(wrong, hint):
    base = models.source_base()
    wrong(base)
    fb = exercises.check_unfrozen_top_block(base, ("block2", "block3"), None)
    assert fb.status == "wrong" and hint in fb.message, fb.message


def _unfrozen_model():
    base = models.source_base()
    model = pretrained.with_new_head(base, 4)
    _only(base, ("block2_", "block3_"))
    return model, base


@pytest.mark.parametrize("optimizer", [keras.optimizers.Adam(HEAD_LR / 100),
                                       keras.optimizers.SGD(HEAD_LR / 10, momentum=0.9),
                                       keras.optimizers.AdamW(HEAD_LR / 50, weight_decay=1e-4)])
def test_lowered_learning_rate_right_answers(optimizer):
    model, _ = _unfrozen_model()
    assert exercises.check_lowered_learning_rate(model, HEAD_LR, recorder=None).status == "not_done"
    model.compile(optimizer, "sparse_categorical_crossentropy")
    assert exercises.check_lowered_learning_rate(model, HEAD_LR, recorder=None)


@pytest.mark.parametrize("answer, hint", [
    ("same_rate", "at least 10x less"),
    ("twice_lower", "at least 10x less"),
    ("far_too_low", "barely move"),
    ("compiled_before_unfreeze", "compile after the unfreeze"),
])
def test_lowered_learning_rate_wrong_answers(answer, hint):
    if answer == "compiled_before_unfreeze":
        base = models.source_base()
        model = pretrained.with_new_head(base, 4)
        base.trainable = False
        model.compile(keras.optimizers.Adam(HEAD_LR / 100), "sparse_categorical_crossentropy")
        _only(base, ("block2_", "block3_"))
    else:
        model, _ = _unfrozen_model()
        rate = {"same_rate": HEAD_LR, "twice_lower": HEAD_LR / 2, "far_too_low": HEAD_LR / 1e5}[answer]
        model.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy")
    fb = exercises.check_lowered_learning_rate(model, HEAD_LR, recorder=None)
    assert fb.status == "wrong" and hint in fb.message, fb.message


# ---------------------------------------------------------------- 04-3: a tiny base, real fits

def _tiny_make_model():
    """A tiny base with the source's layer names (three blocks, BatchNormalization) + new head."""
    inputs = keras.Input(shape=(8, 8, 1))
    x = inputs
    for block in (1, 2, 3):
        x = keras.layers.Conv2D(2, 3, padding="same", name=f"block{block}_conv1")(x)
        x = keras.layers.BatchNormalization(name=f"block{block}_bn1")(x)
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="features")(x), name="base")
    model = exercises.watch_fits(pretrained.with_new_head(base, 3, dropout=0.3))
    return model, base


_RNG = np.random.default_rng(0)
X, Y = _RNG.random((16, 8, 8, 1)).astype("float32"), _RNG.integers(0, 3, 16)


def _compile(model, rate, optimizer=keras.optimizers.Adam, eager=True):
    """Eager (no tracing) keeps these tests fast; a traced fit is what a notebook runs."""
    model.compile(optimizer(rate), "sparse_categorical_crossentropy", run_eagerly=eager)


def _fit(model):
    return model.fit(X, Y, epochs=1, batch_size=16, verbose=0)


def _phase1(model, base, rate=HEAD_LR, eager=True):
    base.trainable = False
    _compile(model, rate, eager=eager)
    return _fit(model)


def _solution(model, base):
    h1 = _phase1(model, base)
    _only(base, ("block3_",))
    _compile(model, HEAD_LR / 100)
    return [h1, _fit(model)]


def _other_right(model, base):
    for layer in base.layers:                      # phase 1: every base layer frozen, SGD
        layer.trainable = False
    _compile(model, HEAD_LR, keras.optimizers.SGD)
    h1 = _fit(model)
    base.get_layer("block3_conv1").trainable = True
    _compile(model, HEAD_LR / 10, keras.optimizers.AdamW)
    return [h1, _fit(model)]


def _issue_example(model, base, same_history=True):
    """Block 3 unfrozen from the start, one compile at a low rate, two fits."""
    _only(base, ("block3_",))
    _compile(model, HEAD_LR / 100)
    h1 = _fit(model)
    h2 = _fit(model)
    return [h1, h1] if same_history else [h1, h2]


def _low_rate_first(model, base):
    h1 = _phase1(model, base, HEAD_LR / 100)
    _only(base, ("block3_",))
    _compile(model, HEAD_LR / 100)
    return [h1, _fit(model)]


def _no_recompile(model, base):
    h1 = _phase1(model, base, eager=False)   # eagerly, Keras itself refuses the stale compile
    _only(base, ("block3_",))
    return [h1, _fit(model)]


def _two_blocks(model, base):
    h1 = _phase1(model, base)
    _only(base, ("block2_", "block3_"))
    _compile(model, HEAD_LR / 100)
    return [h1, _fit(model)]


def _bn_open(model, base):
    h1 = _phase1(model, base)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block3_")
    _compile(model, HEAD_LR / 100)
    return [h1, _fit(model)]


def _same_rate_twice(model, base):
    h1 = _phase1(model, base)
    _only(base, ("block3_",))
    _compile(model, HEAD_LR)
    return [h1, _fit(model)]


def _one_fit(model, base):
    return [_phase1(model, base)]


@pytest.mark.parametrize("answer, status, hint", [
    (lambda m, b: None, "not_done", "Not done yet"),
    (_solution, "passed", ""),
    (_other_right, "passed", ""),
    (_issue_example, "wrong", "same History twice"),
    (lambda m, b: _issue_example(m, b, same_history=False), "wrong", "In phase 1 the base was trainable"),
    (_low_rate_first, "wrong", "Phase 1 ran at a learning rate"),
    (_no_recompile, "wrong", "without a compile after the unfreeze"),
    (_two_blocks, "wrong", "Other layers trained in phase 2"),
    (_bn_open, "wrong", "BatchNormalization"),
    (_same_rate_twice, "wrong", "at least ten times below"),
    (_one_fit, "wrong", "1 fit"),
    (lambda m, b: _solution(m, b)[::-1], "wrong", "phase 1's first"),
    (lambda m, b: (_solution(m, b), None)[1], "wrong", "Keep the History object each fit returns"),
])
def test_two_phase(answer, status, hint):
    model, base = _tiny_make_model()
    histories = answer(model, base)
    fb = exercises.check_two_phase(model, base, HEAD_LR, histories, None)
    assert fb.status == status and hint in fb.message, fb.message


def test_two_phase_needs_the_watched_model():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    fb = exercises.check_two_phase(model, model, HEAD_LR, ["h1", "h2"], None)
    assert fb.status == "wrong" and "watch_fits" in fb.message
