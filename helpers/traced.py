"""Reusing a traced Keras model across many short training runs.

The first ``fit`` after ``compile`` traces the training step into a TensorFlow graph. For the
course's CNN that takes about 3 seconds on 2 CPU cores: more than a few-shot run spends
training. Experiments that train the same architecture again and again (notebooks 05, 06 and 07)
therefore keep one compiled model per architecture and copy a freshly built model's state into it
(weights, BatchNormalization statistics, dropout's random-seed state), with the optimizer reset to
step 0. Every run starts exactly where a newly built model would, and gives the same numbers
(tests/test_traced.py).

The catch: the model you get back is shared. Read what you need from it (scores, predictions)
before the next run with the same key overwrites its weights.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = ["KEPT", "copy_state", "reset_optimizer", "compile_or_reset", "build_before_fit",
           "reusable", "view", "forget", "snapshot", "restore"]

KEPT: dict = {}


def copy_state(target, source) -> None:
    """Every variable of ``source`` into the same-architecture ``target`` (shapes must match)."""
    for t, s in zip(target.variables, source.variables, strict=True):
        if tuple(t.shape) != tuple(s.shape):
            raise ValueError(f"cannot reuse a traced model: {t.path} has shape {tuple(t.shape)}, "
                             f"the new model's {s.path} has {tuple(s.shape)}")
        t.assign(s)


def reset_optimizer(optimizer, learning_rate: float) -> None:
    """Back to a new optimizer's state: step 0, zero moments, the given learning rate."""
    lr_var = getattr(optimizer, "_learning_rate", None)
    for v in optimizer.variables:
        if v is not lr_var:
            v.assign(np.zeros(v.shape, dtype=v.dtype))
    optimizer.learning_rate = learning_rate


def compile_or_reset(model, compile_fresh, learning_rate: float) -> None:
    """A kept model that is compiled already: reset its optimizer (its traced step stays).
    Otherwise ``compile_fresh()``, which compiles it the usual way."""
    if model.compiled:
        reset_optimizer(model.optimizer, learning_rate)
    else:
        compile_fresh()


def build_before_fit(model, x, y) -> None:
    """Create a compiled model's optimizer and metric variables before its first ``fit``, from
    the shapes of its inputs ``x`` and labels ``y`` (arrays; nothing is computed or trained).

    Keras's TensorFlow trainer otherwise creates them while it traces the first training step,
    and ``tf.function`` then traces that step a second time: building them first halves the
    cost of a model's first fit (the course's CNN: about 10 s -> 6 s on 2 busy cores) and gives
    the same numbers (tests/test_traced.py). A model built already is left as it is."""
    build = getattr(model, "_symbolic_build", None)     # Keras 3's own step before a fit
    if build is None or not model.compiled:
        return

    def batch_of(a):     # any batch size: the shapes fix no traced step and no input layer
        a = np.asarray(a)
        return keras.KerasTensor((None, *a.shape[1:]), dtype=keras.backend.standardize_dtype(a.dtype))

    with model.distribute_strategy.scope():
        build(data_batch=(batch_of(x), batch_of(y)))


def reusable(key, fresh):
    """What is kept under ``key``, in the form ``fresh`` has: a model, or a tuple whose first
    item is the model (e.g. ``(model, base)``, and then the kept tuple comes back).

    The first call with a ``key`` keeps ``fresh`` and returns it. Later calls copy the state of
    ``fresh``'s model into the kept model (same architecture) and return what was kept, not
    ``fresh``: unpack it the way you built it, e.g.
    ``model, base = traced.reusable(key, (model, base))``.
    """
    kept = KEPT.setdefault(key, fresh)
    if kept is not fresh:
        copy_state(kept[0] if isinstance(kept, tuple) else kept,
                   fresh[0] if isinstance(fresh, tuple) else fresh)
    return kept


def view(key, model):
    """A second ``keras.Model`` over the same layers as ``model``, kept under ``key``.

    It has its own compile state (optimizer, traced step), so a model can be kept traced in two
    configurations at once, e.g. with the base frozen and with its top blocks unfrozen.
    """
    if key not in KEPT:
        KEPT[key] = keras.Model(model.inputs, model.outputs, name=f"{model.name}_view")
    return KEPT[key]


def forget() -> None:
    """Drop every kept model (e.g. after redefining an architecture under the same key)."""
    KEPT.clear()


def snapshot(model) -> list:
    """A copy of every variable's value, to come back to with :func:`restore`."""
    return [v.numpy().copy() for v in model.variables]


def restore(model, values) -> None:
    """Put back the values :func:`snapshot` took (the same model, or one of its architecture)."""
    for v, value in zip(model.variables, values, strict=True):
        v.assign(value)
