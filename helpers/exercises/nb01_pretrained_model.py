"""Checks for notebook 01 (the pretrained model): a sub-model, and a slice of the layers."""

from __future__ import annotations

import keras
import numpy as np

from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["check_layer_slice", "check_submodel"]


def check_submodel(extractor, model, layer_name: str, recorder=CURRENT):
    """01: a model from ``model``'s input to ``layer_name``'s output, sharing its weights."""
    if not_done(extractor):
        return not_done_yet("submodel", f"store in block2_extractor a model that starts at the "
                            f"source model's input and ends at the output of its layer "
                            f"'{layer_name}', sharing its weights (section 4 builds such a model).",
                            recorder)
    target = model.get_layer(layer_name)
    x = np.random.default_rng(0).random((2,) + tuple(model.input.shape[1:])).astype("float32")
    outputs = getattr(extractor, "outputs", None) or [None]
    out_shape = outputs[0]
    return check("submodel", [
        (isinstance(extractor, keras.Model),
         "Store a keras.Model, not a single layer or a tensor (section 4 builds one)."),
        (out_shape is not None and tuple(out_shape.shape) == tuple(target.output.shape),
         f"The output should have the shape of {layer_name}'s output {tuple(target.output.shape)}; "
         f"yours is {None if out_shape is None else tuple(out_shape.shape)}: end the model at "
         f"that layer's output (section 3)."),
        (lambda: any(layer is target for layer in extractor.layers),
         "Your model does not contain the pretrained layer itself; build it from the source "
         "model's own input and the layer's own output, so the weights are shared, not copied or "
         "rebuilt (section 4)."),
        (lambda: np.allclose(extractor.predict(x, verbose=0),
                             keras.Model(model.input, target.output).predict(x, verbose=0), atol=1e-5),
         "The outputs differ from the pretrained layer's; start from the source model's own input."),
    ], lambda: f"a {len(extractor.layers)}-layer model ending at {layer_name}, sharing the "
               "pretrained weights.", recorder)


def check_layer_slice(names, model, n: int, recorder=CURRENT):
    """01: the names of the last ``n`` layers, taken by slicing ``model.layers``."""
    if not_done(names):
        return not_done_yet("layer_slice", f"store in last_three a list of the names (strings) "
                            f"of the model's last {n} layers, in the model's order, taken with a "
                            "slice (section 2).", recorder)
    expected = [layer.name for layer in model.layers[-n:]]
    names = list(names) if isinstance(names, (list, tuple)) else [names]
    all_names = [layer.name for layer in model.layers]
    return check("layer_slice", [
        (len(names) == n, f"Expected {n} names, got {len(names)}: the slice should take the "
         f"last {n} layers (section 2)."),
        (all(isinstance(v, str) for v in names), "Store the layers' .name strings, not the layers."),
        (names != list(reversed(expected)) or expected == list(reversed(expected)),
         "Right layers, reversed order: keep the model's order (a slice keeps it)."),
        (names != all_names[:n], f"Those are the first {n} layers; a slice with a negative "
         "start counts from the end (section 2)."),
        (names == expected, f"Those are not the last {n} layers in order: slice model.layers "
         "from the end (section 2)."),
    ], f"the last {n} layers are {expected}.", recorder)
