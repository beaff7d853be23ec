"""Checks for notebook 02 (freezing layers): the base as one layer, freezing all but the top,
and freezing a base so that the change takes effect."""

from __future__ import annotations

import keras
import numpy as np

from helpers.exercises.core import (
    CURRENT,
    check,
    compiled_with_current_flags,
    gives_probabilities,
    not_done,
    not_done_yet,
)

__all__ = ["check_freeze_all_but_top", "check_frozen_and_recompiled", "check_model_as_layer"]


def _call_nodes(model, layer) -> list:
    """The places (graph nodes) where ``layer`` is called inside the functional ``model``."""
    nodes = {id(node) for group in getattr(model, "_nodes_by_depth", {}).values() for node in group}
    return [node for node in getattr(layer, "_inbound_nodes", []) if id(node) in nodes]


def check_model_as_layer(model, base, num_classes: int, recorder=CURRENT):
    """02: a new functional model that calls the pretrained ``base`` as one layer, with
    ``training=False``, followed by a new softmax head with ``num_classes`` outputs."""
    if not_done(model):
        return not_done_yet("model_as_layer", "write inputs = keras.Input(shape=(28, 28, 1)), "
                            "x = base(inputs, training=False), a new softmax Dense layer on x, "
                            "and keras.Model(inputs, outputs).", recorder)
    is_model = isinstance(model, keras.Model)
    layers = list(getattr(model, "layers", []))
    inside = any(layer is base for layer in layers)
    copied = is_model and not inside and any(layer is inner for layer in layers for inner in base.layers)
    calls = _call_nodes(model, base) if inside else []
    out_shape = tuple(model.outputs[0].shape) if is_model and getattr(model, "outputs", None) else None
    probe = np.random.default_rng(0).random((4,) + tuple(base.input.shape[1:])).astype("float32")
    return check("model_as_layer", [
        (is_model, "Build a keras.Model(inputs, outputs), not a single layer or a tensor."),
        (not copied, "Your model holds the base's layers one by one (it was built from base.input or "
         "base.output). Use the base itself as one layer: inputs = keras.Input(shape=(28, 28, 1)); "
         "x = base(inputs, training=False)."),
        (inside, "The pretrained base is not one of your model's layers: call the very `base` object "
         "on a new keras.Input, x = base(inputs, training=False), not another model."),
        (not isinstance(model, keras.Sequential), "A Sequential model calls the base without a "
         "training argument. Use the functional API so you can write x = base(inputs, training=False)."),
        (lambda: calls and all(node.arguments.kwargs.get("training") is False for node in calls),
         "Call the base with training=False: x = base(inputs, training=False). It states that the "
         "pretrained base runs in inference mode (BatchNormalization with its stored statistics) "
         "whenever the outer call does not say otherwise."),
        (lambda: out_shape == (None, num_classes), f"The new head should give {num_classes} outputs "
         f"(one per class); your model gives {out_shape}."),
        (lambda: gives_probabilities(model, probe), "The outputs are not probabilities: end the new "
         "head with a softmax, keras.layers.Dense(..., activation=\"softmax\")."),
    ], f"the base is one layer of a {len(layers)}-layer model, called with training=False, under a "
       f"new {num_classes}-class softmax head.", recorder)


def check_freeze_all_but_top(model, n: int, recorder=CURRENT):
    """02: every layer frozen except the last ``n``."""
    flags = [layer.trainable for layer in model.layers]
    if model.trainable and all(flags):
        return not_done_yet("freeze_all_but_top", f"every layer is still trainable. Loop over "
                            f"every layer except the last {n} and set layer.trainable = False.",
                            recorder)
    expected = [False] * (len(flags) - n) + [True] * n
    wrong = [layer.name for layer, f, e in zip(model.layers, flags, expected, strict=True) if f != e]
    inverted = flags == [not e for e in expected]
    trainable = sum(flags)
    listed = f"{wrong[:5]}{'...' if len(wrong) > 5 else ''}"
    return check("freeze_all_but_top", [
        (model.trainable, "model.trainable is False, which freezes everything; set the flag on the "
         "individual layers instead."),
        (not inverted, f"It is the other way round: the last {n} layers are frozen and the rest train. "
         f"model.layers[:-{n}] is every layer *except* the last {n}; model.layers[-{n}:] is the last {n}."),
        (not wrong or trainable != n, f"{trainable} layers are trainable, but not the last {n}: "
         f"{listed} have the wrong flag. Start from a fresh model and loop over model.layers[:-{n}]."),
        (not wrong, f"These layers have the wrong flag: {listed}. Loop over model.layers[:-{n}] "
         f"setting trainable = False, and make sure the last {n} stay True ({trainable} trainable "
         "now)."),
    ], f"only the last {n} layers are trainable: {[layer.name for layer in model.layers[-n:]]}.", recorder)


def check_frozen_and_recompiled(model, base, recorder=CURRENT):
    """02: ``base`` frozen (its flag, or every layer's) and the model compiled again so that the
    change takes effect; the new head still trainable."""
    untouched = (all(layer.trainable for layer in model._flatten_layers())
                 and getattr(model, "train_function", None) is not None)
    if untouched:
        return not_done_yet("frozen_and_recompiled", "the base is still trainable and the model "
                            "unchanged since its fit. Freeze the base (base.trainable = False), "
                            "then compile the model again.", recorder)
    return check("frozen_and_recompiled", [
        (model.trainable, "The whole model is frozen (ex_transfer.trainable = False): nothing would "
         "train. Freeze the base only; the new head must keep learning."),
        (not base.trainable_weights, "The base is still trainable: set base.trainable = False (or "
         "freeze each of its layers)."),
        (bool(model.trainable_weights), "Nothing in the model trains now: freeze the base only; the "
         "new head must stay trainable."),
        (compiled_with_current_flags(model), "The flag changed after the model was compiled: "
         "call compile again so the change takes effect in the next fit."),
    ], "base frozen and model recompiled: the next fit trains only the head.", recorder)
