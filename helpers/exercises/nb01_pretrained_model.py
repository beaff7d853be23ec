"""Checks for notebook 01 (the pretrained model): a sub-model, and a slice of the layers."""

from __future__ import annotations

import keras
import numpy as np

from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["check_layer_slice", "check_submodel"]


def check_submodel(extractor, model, layer_name: str, recorder=CURRENT):
    """01: a model from ``model``'s input to ``layer_name``'s output, sharing its weights."""
    if not_done(extractor):
        return not_done_yet("submodel", f"write a keras.Model from model.input to the output of "
                            f"model.get_layer('{layer_name}').", recorder)
    target = model.get_layer(layer_name)
    x = np.random.default_rng(0).random((2,) + tuple(model.input.shape[1:])).astype("float32")
    outputs = getattr(extractor, "outputs", None) or [None]
    out_shape = outputs[0]
    return check("submodel", [
        (isinstance(extractor, keras.Model),
         "Build a keras.Model(inputs, outputs), not a single layer or a tensor."),
        (out_shape is not None and tuple(out_shape.shape) == tuple(target.output.shape),
         f"The output should have the shape of {layer_name}'s output {tuple(target.output.shape)}; "
         f"yours is {None if out_shape is None else tuple(out_shape.shape)}. "
         f"Use model.get_layer('{layer_name}').output as outputs."),
        (lambda: any(layer is target for layer in extractor.layers),
         "Your model does not contain the pretrained layer itself; build it from model.input and the "
         "layer's .output so the weights are shared, not copied or rebuilt."),
        (lambda: np.allclose(extractor.predict(x, verbose=0),
                             keras.Model(model.input, target.output).predict(x, verbose=0), atol=1e-5),
         "The outputs differ from the pretrained layer's; start from model.input."),
    ], lambda: f"a {len(extractor.layers)}-layer model ending at {layer_name}, sharing the "
               "pretrained weights.", recorder)


def check_layer_slice(names, model, n: int, recorder=CURRENT):
    """01: the names of the last ``n`` layers, taken by slicing ``model.layers``."""
    if not_done(names):
        return not_done_yet("layer_slice", f"write a list of the names (strings) of the last {n} "
                            "layers, from a slice of model.layers.", recorder)
    expected = [layer.name for layer in model.layers[-n:]]
    names = list(names) if isinstance(names, (list, tuple)) else [names]
    all_names = [layer.name for layer in model.layers]
    return check("layer_slice", [
        (len(names) == n, f"Expected {n} names, got {len(names)}. model.layers[-{n}:] takes the "
         f"last {n}."),
        (all(isinstance(v, str) for v in names), "Store the layers' .name strings, not the layers."),
        (names != list(reversed(expected)) or expected == list(reversed(expected)),
         f"Right layers, reversed order: keep the model's order, [layer.name for layer in "
         f"model.layers[-{n}:]]."),
        (names != all_names[:n], f"Those are the first {n} layers; the last {n} are "
         f"model.layers[-{n}:] (a negative start counts from the end)."),
        (names == expected, f"Those are not the last {n} layers in order; model.layers[-{n}:] "
         "keeps the model's order."),
    ], f"the last {n} layers are {expected}.", recorder)
