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


def check_early_stopping_dropout(model, stopper, recorder=CURRENT):
    """05: a model with dropout in its new head, trained with an ``EarlyStopping`` callback that
    watches a validation metric and restores the best epoch's weights."""
    if not_done(model) and not_done(stopper):
        return not_done_yet("early_stopping_dropout", "build ex1_model with a Dropout layer in its "
                            "new head, create ex1_stopper = keras.callbacks.EarlyStopping(monitor="
                            "'val_loss', ..., restore_best_weights=True), and fit the model with "
                            "callbacks=[ex1_stopper] and validation_data=val.", recorder)
    dropout = [layer for layer in getattr(model, "layers", [])
               if isinstance(layer, keras.layers.Dropout)]
    monitor = str(getattr(stopper, "monitor", ""))
    return check("early_stopping_dropout", [
        (not not_done(model) and not not_done(stopper), "Assign both: the trained model to "
         "ex1_model and the EarlyStopping callback to ex1_stopper."),
        (isinstance(model, keras.Model), "The model should be a keras.Model."),
        (dropout, "The new head has no Dropout layer: add one between the base and the last Dense "
         "layer, e.g. x = keras.layers.Dropout(0.3)(x)."),
        (lambda: any(layer.rate > 0 for layer in dropout), "Dropout(0) drops nothing: give it a rate "
         "such as 0.2 to 0.5."),
        (isinstance(stopper, keras.callbacks.EarlyStopping), "The callback should be "
         "keras.callbacks.EarlyStopping(monitor=..., patience=..., restore_best_weights=True)."),
        (monitor.startswith("val_"), f"It watches '{monitor}', a training metric, which keeps "
         "improving while the model memorises: watch a validation metric, monitor='val_loss'."),
        (lambda: stopper.restore_best_weights, "Without restore_best_weights=True the model keeps the "
         "last epoch's weights, which may be worse than the best epoch's."),
        (lambda: stopper.model is model, "The callback was never used to train this model: pass it to "
         "fit, callbacks=[stopper]."),
        (lambda: stopper.best is not None and bool(np.isfinite(stopper.best)),
         f"fit had no '{monitor}' to watch: pass validation_data=val to fit."),
    ], lambda: f"dropout rate {max(layer.rate for layer in dropout):g}; early stopping watched "
               f"{monitor} (best {float(stopper.best):.3f}) and kept the best epoch's weights.",
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


def check_augmentation(augment, images, recorder=CURRENT, *, model=_UNSET):
    """05: an augmentation model that changes images in training only and keeps their shape,
    built from image layers (keras.layers.Random*...; a Dropout layer is not augmentation).

    With ``model``: the augmentation must also be used in training, as the model's first step
    (a layer before every layer with weights), and the model must have been trained."""
    if not_done(augment) and (model is _UNSET or not_done(model)):
        return not_done_yet("augmentation_pipeline", "build my_augment = keras.Sequential([...]) "
                            "from Keras's random image layers (RandomFlip, RandomTranslation, "
                            "RandomRotation...)" + ("" if model is _UNSET else ", then ex2_model "
                            "with x = my_augment(inputs) as its first step, compiled and trained")
                            + ".", recorder)
    ok = not not_done(augment) and callable(augment)
    seen: dict = {}

    def outputs():
        if not seen:
            seen["train"] = np.asarray(augment(images, training=True))
            seen["infer"] = np.asarray(augment(images, training=False))
        return seen["train"], seen["infer"]
    conditions = [
        (ok, "Build `my_augment = keras.Sequential([...])` from keras.layers.Random* layers."),
        (lambda: not _only_dropout(augment), "Dropout is not augmentation: it zeroes random pixels "
         "(or features) to regularise, it does not make a new plausible image. Use image layers "
         "such as RandomFlip, RandomTranslation or RandomRotation."),
        (lambda: outputs()[0].shape == images.shape, "The output must have the input's shape."),
        (lambda: not np.allclose(outputs()[0], images),
         "With training=True the images should change; add a random layer such as "
         "RandomTranslation or RandomRotation."),
        (lambda: np.allclose(outputs()[1], images),
         "With training=False the images must pass unchanged (augmentation is for training only)."),
    ]
    if model is not _UNSET:
        def position():
            parts = _parts(augment)
            layers = list(model.layers)
            found = [i for i, layer in enumerate(layers) if any(layer is p for p in parts)]
            weighted = [i for i, layer in enumerate(layers)
                        if layer.weights and not any(layer is p for p in parts)]
            return (min(found) if found else None), (min(weighted) if weighted else len(layers))
        conditions += [
            (not not_done(model) and isinstance(model, keras.Model),
             "Assign the model you trained with the augmentation (a keras.Model) to ex2_model."),
            (lambda: position()[0] is not None, "my_augment is built but not used in training: it is "
             "not part of the model. Make it the model's first step, x = my_augment(inputs), then "
             "the base and the head."),
            (lambda: position()[0] < position()[1], "my_augment comes after layers with weights: it "
             "must change the images before the base sees them, x = my_augment(inputs)."),
            (lambda: getattr(model, "optimizer", None) is not None
             and int(model.optimizer.iterations.numpy()) > 0,
             "The model has never been trained: compile it and fit it, so the augmentation is used."),
        ]
    success = ("random in training, a no-op at inference" +
               ("; the model's first step, used in every training batch." if model is not _UNSET else "."))
    return check("augmentation_pipeline", conditions, success, recorder)
