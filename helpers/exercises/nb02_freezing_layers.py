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
        return not_done_yet("model_as_layer", "store in my_transfer a new functional model: a new "
                            "input, the pretrained base called on it as one layer in inference mode, "
                            "then a new softmax layer with one output per class (section 5, and "
                            "notebook 01's section 5, a whole model as one layer).", recorder)
    is_model = isinstance(model, keras.Model)
    layers = list(getattr(model, "layers", []))
    inside = any(layer is base for layer in layers)
    copied = is_model and not inside and any(layer is inner for layer in layers for inner in base.layers)
    calls = _call_nodes(model, base) if inside else []
    out_shape = tuple(model.outputs[0].shape) if is_model and getattr(model, "outputs", None) else None
    probe = np.random.default_rng(0).random((4,) + tuple(base.input.shape[1:])).astype("float32")
    return check("model_as_layer", [
        (is_model, "Store a keras.Model, not a single layer or a tensor: the functional API builds "
         "one from a new input and what the layers make of it (section 5)."),
        (not copied, "Your model holds the base's layers one by one (it was built from base.input or "
         "base.output). Use the base itself as one layer: call the base object on a new input "
         "(notebook 01, section 5)."),
        (inside, "The pretrained base is not one of your model's layers: call the very base object "
         "you were given on a new input, not another model."),
        (not isinstance(model, keras.Sequential), "A Sequential model calls the base without a "
         "training argument. Use the functional API, so that the call can put the base in "
         "inference mode (section 5)."),
        (lambda: calls and all(node.arguments.kwargs.get("training") is False for node in calls),
         "Call the base in inference mode, with the call's training argument (section 5): it states "
         "that the pretrained base runs in inference mode (BatchNormalization with its stored "
         "statistics) whenever the outer call does not say otherwise."),
        (lambda: out_shape == (None, num_classes), f"The new head should give {num_classes} outputs "
         f"(one per class); your model gives {out_shape}."),
        (lambda: gives_probabilities(model, probe), "The outputs are not probabilities: end the new "
         "head with a softmax activation."),
    ], f"the base is one layer of a {len(layers)}-layer model, called with training=False, under a "
       f"new {num_classes}-class softmax head.", recorder)


def check_freeze_all_but_top(model, n: int, recorder=CURRENT):
    """02: every layer frozen except the last ``n``."""
    flags = [layer.trainable for layer in model.layers]
    if model.trainable and all(flags):
        return not_done_yet("freeze_all_but_top", f"every layer is still trainable. Freeze every "
                            f"layer of the model except the last {n} (section 2 shows how).",
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
         "Check which slice of model.layers you froze: a negative index counts from the end "
         "(section 2)."),
        (not wrong or trainable != n, f"{trainable} layers are trainable, but not the last {n}: "
         f"{listed} have the wrong flag. Start from a fresh model (run the cell again) and freeze "
         f"every layer except the last {n}."),
        (not wrong, f"These layers have the wrong flag: {listed}. Freeze every layer except the "
         f"last {n}, and make sure the last {n} stay trainable ({trainable} trainable now)."),
    ], f"only the last {n} layers are trainable: {[layer.name for layer in model.layers[-n:]]}.", recorder)


def check_frozen_and_recompiled(model, base, recorder=CURRENT):
    """02: ``base`` frozen (its flag, or every layer's) and the model compiled again so that the
    change takes effect; the new head still trainable."""
    untouched = (all(layer.trainable for layer in model._flatten_layers())
                 and getattr(model, "train_function", None) is not None)
    if untouched:
        return not_done_yet("frozen_and_recompiled", "the base is still trainable and the model "
                            "unchanged since its fit. Freeze the base so that the next fit trains "
                            "only the head, and make sure the change takes effect (sections 1 and "
                            "4).", recorder)
    return check("frozen_and_recompiled", [
        (model.trainable, "The whole model is frozen (ex_transfer.trainable = False): nothing would "
         "train. Freeze the base only; the new head must keep learning."),
        (not base.trainable_weights, "The base is still trainable: freeze it, with its own flag or "
         "each of its layers' (section 1)."),
        (bool(model.trainable_weights), "Nothing in the model trains now: freeze the base only; the "
         "new head must stay trainable."),
        (compiled_with_current_flags(model), "The flag changed after the model was compiled: "
         "compile again so the change takes effect in the next fit (section 4)."),
    ], "base frozen and model recompiled: the next fit trains only the head.", recorder)
