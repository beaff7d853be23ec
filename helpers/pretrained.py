"""Notebook 01: reading a pretrained model — its layers, sub-models, filters and feature maps."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

__all__ = ["layer_table", "format_rows", "submodel", "feature_maps", "first_conv_filters",
           "plot_filters", "plot_feature_maps", "with_new_head", "accuracy", "top_guesses",
           "show_predictions"]


def layer_table(model) -> list[dict]:
    """One row per layer: index, name, type, output shape, parameter count, trainable."""
    rows = []
    for i, layer in enumerate(model.layers):
        shape = getattr(layer, "output", None)
        rows.append({
            "index": i, "name": layer.name, "type": type(layer).__name__,
            "output_shape": tuple(shape.shape) if shape is not None else None,
            "params": int(layer.count_params()) if layer.built else 0,
            "trainable": bool(layer.trainable),
        })
    return rows


def format_rows(rows: list[dict], columns=None) -> str:
    """A fixed-width text table of ``rows`` (lists of dicts), for printing in a notebook."""
    if not rows:
        return "(empty)"
    columns = columns or list(rows[0])
    cells = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, "-" * len(line), *body])


def submodel(model, layer_name: str, name: str | None = None):
    """A new model sharing ``model``'s weights: same input, ``layer_name``'s output."""
    return keras.Model(model.input, model.get_layer(layer_name).output,
                       name=name or f"upto_{layer_name}")


def feature_maps(model, layer_name: str, images) -> np.ndarray:
    """The activations of ``layer_name`` for ``images`` (N, H, W, channels)."""
    return submodel(model, layer_name).predict(np.asarray(images), verbose=0)


def first_conv_filters(model) -> np.ndarray:
    """Kernels of the first convolution, shape (k, k, in_channels, filters)."""
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    return conv.get_weights()[0]


def plot_filters(kernels, cols: int = 8, title: str = "First-layer filters"):
    """Each 2-D kernel as a small image (red positive, blue negative)."""
    n = kernels.shape[-1]
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols, rows))
    lim = np.abs(kernels).max()
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(kernels[:, :, 0, i], cmap="bwr", vmin=-lim, vmax=lim)
    fig.suptitle(title)
    return fig


def plot_feature_maps(maps, image=None, n: int = 16, cols: int = 8, title: str = "Feature maps"):
    """The first ``n`` channels of one image's feature maps (and the image itself, if given)."""
    n = min(n, maps.shape[-1])
    rows = int(np.ceil(n / cols)) + (1 if image is not None else 0)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.1))
    axes = np.atleast_2d(axes)
    for ax in axes.ravel():
        ax.axis("off")
    start = 0
    if image is not None:
        axes[0, 0].imshow(np.squeeze(image), cmap="gray_r")
        axes[0, 0].set_title("input", fontsize=8)
        start = cols
    for i in range(n):
        ax = axes.ravel()[start + i]
        ax.imshow(maps[..., i], cmap="viridis")
    fig.suptitle(title)
    return fig


def with_new_head(base, num_classes: int, dropout: float = 0.2, name: str = "transfer_model"):
    """Adapt step of transfer learning: the pretrained ``base`` nested as one layer + a new head.

    The base is called with ``training=False`` so its BatchNormalization layers use the
    statistics learned on the source data while it is frozen. With Keras 3.15 ``fit`` still
    reaches an unfrozen base in training mode (notebook 02 measures it), so when fine-tuning keep
    the BatchNormalization layers frozen too (``finetuning.unfreeze_top_blocks`` does).
    """
    inputs = keras.Input(shape=base.input.shape[1:], name="image")
    x = base(inputs, training=False)
    if len(x.shape) == 4:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="new_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="new_predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def accuracy(model, x, y, batch_size: int = 512) -> float:
    """Share of ``x`` whose highest-scoring class is ``y``."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=-1) == np.asarray(y)))


def top_guesses(model, images, class_names, k: int = 1) -> list[list[tuple[str, float]]]:
    """For each image, the model's ``k`` most likely classes as (name, probability), best first."""
    probs = np.asarray(model(np.asarray(images, dtype="float32"), training=False))
    best = np.argsort(-probs, axis=1)[:, :k]
    return [[(class_names[c], float(p[c])) for c in row] for p, row in zip(probs, best, strict=True)]


def show_predictions(model, images, class_names, labels=None, cols: int = 8, title=None):
    """The images with the model's top guess and its probability under each (and the true class,
    when ``labels`` names are given): a first look at what a pretrained model recognises."""
    guesses = top_guesses(model, images, class_names)
    n = len(images)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.45, rows * 1.75))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            name, p = guesses[i][0]
            ax.imshow(np.squeeze(images[i]), cmap="gray_r")
            if name.startswith("glyph "):   # a character: its code point (fonts may lack the glyph)
                name = "char " + name.rsplit("(", 1)[-1].rstrip(")")
            caption = f"{name[:14]}\n{p:.2f}"
            if labels is not None:
                caption = f"is: {labels[i][:12]}\nsays: {caption}"
            ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
