"""Notebook 08: where a trained model goes most wrong, on the test images, after every choice.

Looking at the worst mistakes is the cheapest error analysis there is: a pattern in them (two
classes that look alike, images framed differently, labels that are wrong) says what to fix.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["most_confused", "plot_most_confused"]


def most_confused(model_predict, task, k: int = 8, batch_size: int = 256) -> list[dict]:
    """The ``k`` test images the model gets most wrong: wrongly classified, with the highest
    probability on the wrong class. ``model_predict(images)`` returns class probabilities.

    Each entry: the test ``index``, the ``image``, its ``true`` and ``predicted`` class names and
    the ``confidence`` given to the wrong class. The test split is only looked at here, after
    every choice was made."""
    x = np.asarray(task.x_test)
    probs = np.concatenate([np.asarray(model_predict(x[i:i + batch_size]))
                            for i in range(0, len(x), batch_size)]) if len(x) else np.zeros((0, 0))
    if probs.ndim != 2 or len(probs) != len(x):
        raise ValueError("model_predict must return one row of class probabilities per image, "
                         f"got shape {probs.shape} for {len(x)} images")
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != np.asarray(task.y_test))
    order = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:k]
    return [{"index": int(i), "image": x[i], "true": task.class_names[int(task.y_test[i])],
             "predicted": task.class_names[int(predicted[i])],
             "confidence": float(probs[i, predicted[i]])} for i in order]


def plot_most_confused(mistakes, columns: int = 4):
    """The mistakes of :func:`most_confused` in a grid, each titled true → predicted (confidence)."""
    rows = max(1, -(-len(mistakes) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, m in zip(axes.flat, mistakes, strict=False):
        image = np.asarray(m["image"])
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image,
                  cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1)
        ax.set_title(f"{m['true']} → {m['predicted']}\n({m['confidence']:.2f})", fontsize=8)
    if not mistakes:
        axes[0, 0].set_title("no test image is misclassified")
    fig.tight_layout()
    return fig
