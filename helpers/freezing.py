"""Notebook 02: freezing layers — ``trainable``, parameter counts, proof that frozen weights stay put."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np

from helpers import models, traced

__all__ = ["weight_count", "trainable_count", "count_params", "freeze", "unfreeze",
           "freeze_all_but_top", "trainable_table", "snapshot_weights", "weight_changes",
           "changed_and_unchanged", "batchnorm_layers", "bn_moving_stats",
           "freeze_convolutions_only", "batchnorm_demo", "watch_weights",
           "training_call_contrast", "contrast_in_words", "plot_batchnorm_demo"]


def weight_count(variables) -> int:
    """How many numbers a list of weights holds (e.g. ``layer.trainable_weights``)."""
    return int(sum(np.prod(v.shape) for v in variables))


def trainable_count(model) -> int:
    """The parameters the optimizer changes: those of ``model.trainable_weights`` (frozen
    layers, and BatchNormalization's moving statistics, left out)."""
    return weight_count(model.trainable_weights)


def count_params(model) -> dict:
    """Trainable, non-trainable and total parameter counts (what ``summary()`` prints at the end)."""
    trainable = trainable_count(model)
    frozen = weight_count(model.non_trainable_weights)
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}


def freeze(model_or_layer) -> None:
    """Freeze a layer or a whole model: its weights stop changing in ``fit`` (recompile after!).

    The notebooks write the line itself, ``base.trainable = False``; this is for scripts."""
    model_or_layer.trainable = False


def unfreeze(model_or_layer) -> None:
    """Make a layer or model trainable again (recompile after!)."""
    model_or_layer.trainable = True


def freeze_all_but_top(model, n: int) -> list[str]:
    """Freeze ``model.layers[:-n]``, leave the last ``n`` trainable; return the trainable names.

    ``n=0`` freezes every layer. Layers without weights (pooling, activations) count too,
    exactly as in ``model.layers``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, not {n!r}")
    if n > len(model.layers):
        raise ValueError(f"the model has only {len(model.layers)} layers; cannot leave {n} trainable")
    model.trainable = True
    cut = len(model.layers) - n
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= cut
    return [layer.name for layer in model.layers if layer.trainable]


def trainable_table(model) -> list[dict]:
    """Per layer: trainable flag and how many of its weights are trainable / frozen."""
    rows = []
    for layer in model.layers:
        rows.append({
            "name": layer.name,
            "trainable": bool(layer.trainable),
            "trainable_weights": weight_count(layer.trainable_weights),
            "frozen_weights": weight_count(layer.non_trainable_weights),
        })
    return rows


def snapshot_weights(model) -> dict:
    """A copy of every weight, by ``layer/variable`` path, to compare before and after training."""
    return {v.path: np.array(v.numpy(), copy=True) for v in model.weights}


def weight_changes(before: dict, after: dict) -> dict:
    """Largest absolute change of each weight between two snapshots."""
    return {k: float(np.max(np.abs(after[k] - before[k]))) if before[k].size else 0.0
            for k in before}


def changed_and_unchanged(before: dict, after: dict, atol: float = 0.0):
    """Two sorted lists of weight paths: those that moved by more than ``atol`` and those that did not."""
    changes = weight_changes(before, after)
    moved = sorted(k for k, d in changes.items() if d > atol)
    still = sorted(k for k, d in changes.items() if d <= atol)
    return moved, still


def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer, searching nested models too."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


def bn_moving_stats(model) -> dict:
    """Moving mean and variance of every BatchNormalization layer (copied)."""
    return {f"{bn.name}/{name}": np.array(getattr(bn, name).numpy(), copy=True)
            for bn in batchnorm_layers(model) for name in ("moving_mean", "moving_variance")}


def freeze_convolutions_only(model) -> None:
    """Freeze every layer except BatchNormalization: the trap that lets BN statistics drift."""
    for layer in model.layers:
        layer.trainable = isinstance(layer, keras.layers.BatchNormalization)


def batchnorm_demo(make_base, x_train, y_train, x_val, y_val, num_classes: int, epochs: int,
                   batch_size: int = 16, seed: int = 0) -> dict:
    """Train the same head on a tiny set twice: BN frozen (right) and BN left updating (the trap).

    ``make_base()`` must return a fresh pretrained base. "right" freezes the whole base,
    BatchNormalization included, and calls it with ``training=False``; "trap" freezes only the
    convolutions, calls it with ``base(inputs)``, and leaves BatchNormalization trainable, so
    during ``fit`` it normalises with batch statistics and updates its moving averages. (What
    separates the two is BatchNormalization's ``trainable`` flag: in Keras 3.15, ``fit``'s
    ``training=True`` overrides a ``training=False`` written at the base's call.) For each,
    returns the training accuracy Keras reports, the accuracy on the same training images in
    inference mode, the validation accuracy, and how far the BN moving means drifted.
    """
    out = {}
    for mode in ("right", "trap"):
        models.set_seed(seed)
        base = make_base()
        before = bn_moving_stats(base)
        if mode == "right":
            freeze(base)
        else:
            freeze_convolutions_only(base)
        inputs = keras.Input(shape=x_train.shape[1:])
        x = base(inputs, training=False) if mode == "right" else base(inputs)
        outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        traced.build_before_fit(model, x_train, y_train)     # one trace of the step, not two
        hist = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                         shuffle=True)
        after = bn_moving_stats(base)
        drift = max(float(abs(after[k] - before[k]).max()) for k in before if "moving_mean" in k)
        out[mode] = {
            "train_accuracy_reported": float(hist.history["accuracy"][-1]),
            "train_accuracy_inference": float(model.evaluate(x_train, y_train, verbose=0)[1]),
            "val_accuracy": float(model.evaluate(x_val, y_val, verbose=0)[1]),
            "bn_mean_drift": drift,
        }
    return out


class watch_weights:  # lower case: it reads as a function, ``with freezing.watch_weights(m) as w:``
    """Watch which of ``model``'s weights a block of code changes::

        with freezing.watch_weights(transfer) as watch:
            transfer.fit(x, y, epochs=3, verbose=0)
        watch.moved      # paths of the weights that changed
        watch.still      # paths of those that stayed exactly as they were
        watch.changes    # {path: largest absolute change}

    A snapshot of every weight is taken on entry and compared on exit: the measurement stays
    out of the lines that train."""

    def __init__(self, model, atol: float = 0.0):
        self.model, self.atol = model, atol
        self.moved, self.still, self.changes = [], [], {}

    def __enter__(self):
        self.before = snapshot_weights(self.model)
        return self

    def __exit__(self, *exc):
        after = snapshot_weights(self.model)
        self.changes = weight_changes(self.before, after)
        self.moved, self.still = changed_and_unchanged(self.before, after, self.atol)
        return False


def training_call_contrast(make_base, build_model, batch, seed: int = 0) -> dict:
    """Notebook 02's ``trainable`` vs ``training`` measurement, four ways.

    For BatchNormalization trainable and frozen, and for a base called with
    ``training=False`` and without it (``build_model(base, inference_call)`` builds the model),
    the base is unfrozen as for fine-tuning and the model is called once as ``fit`` calls it
    (``training=True``) and once as ``predict`` does. Returns, per case, whether the moving
    averages moved and whether the fit-mode output differs from the predict-mode one."""
    out = {}
    for bn_trainable in (True, False):
        for inference_call in (True, False):
            models.set_seed(seed)
            base = make_base()
            base.trainable = True                      # unfrozen, as for fine-tuning
            for layer in batchnorm_layers(base):
                layer.trainable = bn_trainable
            model = build_model(base, inference_call)
            stats = bn_moving_stats(base)
            in_fit = np.asarray(model(batch, training=True))        # the call fit makes
            in_predict = np.asarray(model(batch, training=False))   # the call predict makes
            moved = any(not np.array_equal(v, stats[k]) for k, v in bn_moving_stats(base).items())
            label = (f"BatchNormalization {'trainable' if bn_trainable else 'frozen'}, "
                     f"{'base(inputs, training=False)' if inference_call else 'base(inputs)'}")
            out[label] = {"moving_averages_moved": moved,
                          "fit_differs_from_predict": not np.allclose(in_fit, in_predict, atol=1e-5)}
    return out


def contrast_in_words(contrast: dict, keras_version: str) -> str:
    """One sentence on what :func:`training_call_contrast` found in this Keras version."""
    pairs = [(f"BatchNormalization {bn}, base(inputs, training=False)",
              f"BatchNormalization {bn}, base(inputs)") for bn in ("trainable", "frozen")]
    call_mattered = any(contrast[a] != contrast[b] for a, b in pairs)
    frozen_kept = all(not v["moving_averages_moved"] for k, v in contrast.items() if "frozen" in k)
    return (f"Keras {keras_version}: writing training=False at the base's call "
            f"{'changed the outcome' if call_mattered else 'changed nothing'} under fit's "
            f"training=True; with BatchNormalization frozen, the moving averages "
            f"{'stayed put' if frozen_kept else 'moved'}.")


def plot_batchnorm_demo(demo: dict, title: str = "BatchNormalization frozen vs updating"):
    """Bars of :func:`batchnorm_demo`'s accuracies, "right" beside "trap"."""
    keys = ["train_accuracy_reported", "train_accuracy_inference", "val_accuracy"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, mode in enumerate(demo):
        ax.bar(np.arange(3) + 0.38 * i, [demo[mode][k] for k in keys], 0.38, label=mode)
    ax.set_xticks(np.arange(3) + 0.19, ["train (as fit reports)", "train (inference mode)", "validation"])
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.set_title(title)
    return ax
