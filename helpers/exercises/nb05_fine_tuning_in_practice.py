"""Checks for notebook 05 (fine-tuning in practice): dropout with early stopping, and an
augmentation used inside the model."""

from __future__ import annotations

import keras
import numpy as np

from helpers.exercises.core import CURRENT, check, not_done, not_done_yet

__all__ = ["check_augmentation", "check_early_stopping_dropout"]

_UNSET = object()   # "argument not given", where None is a learner's placeholder
# Layers that drop or add noise to activations: a regulariser, not a new version of an image.
_NOT_AUGMENTATION = (keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
                     keras.layers.SpatialDropout3D, keras.layers.GaussianDropout,
                     keras.layers.AlphaDropout)
_TRIES = 20   # training calls of an augmentation before "it never changes the images"


def _metric_on(model, data, monitor: str):
    """The model's value of the metric ``monitor`` (``"val_loss"``...) on ``data = (x, y)``, or
    None if the model does not compute that metric."""
    found = model.evaluate(np.asarray(data[0]), np.asarray(data[1]), verbose=0, return_dict=True)
    value = found.get(monitor[len("val_"):])
    return None if value is None else float(value)


def _dropout_conditions(model, layers: list, dropout: list, dense: list) -> list:
    """A keras.Model with a Dropout layer of rate > 0 before its last Dense layer."""
    return [
        (isinstance(model, keras.Model), "The model should be a keras.Model."),
        (dropout, "The new head has no Dropout layer: add one between the base and the last Dense "
         "layer."),
        (lambda: any(layer.rate > 0 for layer in dropout), "Dropout(0) drops nothing: give it a rate "
         "such as 0.2 to 0.5."),
        (lambda: not dense or any(layers.index(layer) < dense[-1] for layer in dropout
                                  if layer.rate > 0),
         "The Dropout layer comes after the last Dense layer, where it only blanks some of the "
         "class probabilities the softmax has already made: put it before the last Dense layer, "
         "so that it drops features the head learns from."),
    ]


def _stopper_conditions(model, stopper, monitor: str, val, value_on_val) -> list:
    """Keras's EarlyStopping, watching a validation metric (the one on ``val``, when given),
    restoring the best weights, and used to train ``model``."""
    return [
        (isinstance(stopper, keras.callbacks.EarlyStopping), "The callback should be Keras's "
         "EarlyStopping callback (notebook 04, section 2)."),
        (monitor.startswith("val_"), f"It watches '{monitor}', a training metric, which keeps "
         "improving while the model memorises: watch a validation metric, the validation loss."),
        (lambda: stopper.restore_best_weights, "Without restore_best_weights=True the model keeps the "
         "last epoch's weights, which may be worse than the best epoch's."),
        (lambda: stopper.model is model, "The callback was never used to train this model: pass it to "
         "fit among its callbacks."),
        (lambda: stopper.best is not None and bool(np.isfinite(stopper.best)),
         f"fit had no '{monitor}' to watch: give fit the validation data val."),
        (lambda: val is None or value_on_val() is None
         or bool(np.isclose(value_on_val(), float(stopper.best), rtol=2e-3, atol=2e-3)),
         lambda: f"The stopper's best '{monitor}' ({float(stopper.best):.4f}) is not the model's "
         f"value on val ({value_on_val():.4f}): it watched other data. Early stopping chooses an "
         "epoch, so it must watch the validation data val, never the test set (which would then "
         "no longer test anything)."),
    ]


def check_early_stopping_dropout(model, stopper, recorder=CURRENT, *, val=None):
    """05: a model with dropout in its new head (before its last Dense layer), trained with an
    ``EarlyStopping`` callback that watches a validation metric and restores the best epoch's
    weights. With ``val = (x, y)``: the metric it watched must be the one on ``val`` (after
    restoring the best epoch, the model's value there is the stopper's best), so early stopping
    on the test set, or on any other data, fails."""
    if not_done(model) and not_done(stopper):
        return not_done_yet("early_stopping_dropout", "build ex1_model with dropout in its new head, "
                            "before its last layer, and train it with an early-stopping callback, "
                            "kept in ex1_stopper, that watches the loss on the validation data val "
                            "and restores the best epoch's weights (section 3 uses early stopping; "
                            "notebook 04, section 2, sets it up).", recorder)
    layers = list(getattr(model, "layers", []))
    dropout = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    monitor = str(getattr(stopper, "monitor", ""))
    on_val: dict = {}

    def value_on_val():
        if "v" not in on_val:
            on_val["v"] = _metric_on(model, val, monitor)
        return on_val["v"]
    both = (not not_done(model) and not not_done(stopper), "Assign both: the trained model to "
            "ex1_model and the EarlyStopping callback to ex1_stopper.")
    return check("early_stopping_dropout",
                 [both] + _dropout_conditions(model, layers, dropout, dense)
                 + _stopper_conditions(model, stopper, monitor, val, value_on_val),
                 lambda: f"dropout rate {max(layer.rate for layer in dropout):g}; early stopping "
                         f"watched {monitor} (best {float(stopper.best):.3f}) and kept the best "
                         "epoch's weights.",
                 recorder)


def _parts(augment) -> list:
    """``augment`` and every layer inside it."""
    inner = augment._flatten_layers(include_self=False) if hasattr(augment, "_flatten_layers") else []
    return [augment, *inner]


def _only_dropout(augment) -> bool:
    """True if the only layers of ``augment`` that change anything are dropout layers."""
    changing = [p for p in _parts(augment) if not isinstance(p, (keras.Sequential, keras.Model,
                                                                 keras.layers.InputLayer))]
    return bool(changing) and all(isinstance(p, _NOT_AUGMENTATION) for p in changing)


def _augmentation_conditions(augment, images) -> list:
    """Image layers (not only dropout) that keep the shape, change the images in training
    (in one of ``_TRIES`` calls) and pass them unchanged at inference."""
    ok = not not_done(augment) and callable(augment)
    seen: dict = {}

    def outputs():
        if not seen:
            seen["train"] = np.asarray(augment(images, training=True))
            seen["infer"] = np.asarray(augment(images, training=False))
        return seen["train"], seen["infer"]

    def changes():
        """True if a training call changes the images, in one of ``_TRIES`` calls: a random
        layer may leave a small batch as it is by chance (a flip-only answer, 1 in 2**8 on
        eight images), never ``_TRIES`` times in a row."""
        if not np.allclose(outputs()[0], images):
            return True
        return any(not np.allclose(np.asarray(augment(images, training=True)), images)
                   for _ in range(_TRIES - 1))
    return [
        (ok, "Build my_augment, a keras.Sequential of Keras's random image layers."),
        (lambda: not _only_dropout(augment), "Dropout is not augmentation: it zeroes random pixels "
         "(or features) to regularise, it does not make a new plausible image. Use image layers "
         "such as RandomFlip, RandomTranslation or RandomRotation."),
        (lambda: outputs()[0].shape == images.shape, "The output must have the input's shape."),
        (changes,
         f"With training=True the images never changed in {_TRIES} calls; add a random layer such as "
         "RandomTranslation or RandomRotation."),
        (lambda: np.allclose(outputs()[1], images),
         "With training=False the images must pass unchanged (augmentation is for training only)."),
    ]


def _augmentation_in_model_conditions(augment, model) -> list:
    """``augment`` inside ``model``, before every layer with weights, and ``model`` trained."""
    def position():
        parts = _parts(augment)
        layers = list(model.layers)
        found = [i for i, layer in enumerate(layers) if any(layer is p for p in parts)]
        weighted = [i for i, layer in enumerate(layers)
                    if layer.weights and not any(layer is p for p in parts)]
        return (min(found) if found else None), (min(weighted) if weighted else len(layers))
    return [
        (not not_done(model) and isinstance(model, keras.Model),
         "Assign the model you trained with the augmentation (a keras.Model) to ex2_model."),
        (lambda: position()[0] is not None, "my_augment is built but not used in training: it is "
         "not part of the model. Make it the model's first step, applied to the inputs, then "
         "the base and the head."),
        (lambda: position()[0] < position()[1], "my_augment comes after layers with weights: it "
         "must change the images before the base sees them, as the model's first step."),
        (lambda: getattr(model, "optimizer", None) is not None
         and int(model.optimizer.iterations.numpy()) > 0,
         "The model has never been trained: compile it and fit it, so the augmentation is used."),
    ]


def check_augmentation(augment, images, recorder=CURRENT, *, model=_UNSET):
    """05: an augmentation model that changes images in training only and keeps their shape,
    built from image layers (keras.layers.Random*...; a Dropout layer is not augmentation).

    With ``model``: the augmentation must also be used in training, as the model's first step
    (a layer before every layer with weights), and the model must have been trained."""
    if not_done(augment) and (model is _UNSET or not_done(model)):
        return not_done_yet("augmentation_pipeline", "build my_augment from Keras's random image "
                            "layers, ones that keep these labels (notebook 04, section 1, augments "
                            "batches)" + ("" if model is _UNSET else ", then ex2_model with "
                            "my_augment as its first step, before the base, compiled and trained")
                            + ".", recorder)
    conditions = _augmentation_conditions(augment, images)
    if model is not _UNSET:
        conditions += _augmentation_in_model_conditions(augment, model)
    success = ("random in training, a no-op at inference" +
               ("; the model's first step, used in every training batch." if model is not _UNSET else "."))
    return check("augmentation_pipeline", conditions, success, recorder)
