"""Plots the notebooks share: image grids, learning curves, 2-D projections, bar charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["image_grid", "learning_curves", "projection", "bar_chart"]


def image_grid(images, labels=None, class_names=None, n: int = 16, cols: int = 8, title=None):
    """The first ``n`` images in a grid, captioned with their class names."""
    n = min(n, len(images))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.4))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(np.squeeze(images[i]), cmap="gray_r")
            if labels is not None:
                name = class_names[int(labels[i])] if class_names else str(int(labels[i]))
                ax.set_title(name, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curves(histories: dict, metric: str = "accuracy", marks: dict | None = None,
                    title: str | None = None, ax=None):
    """Training (dashed) and validation (solid) curves for each named history.

    ``histories`` maps a label to a Keras ``History`` or its ``.history`` dict; ``marks`` maps
    a label to an epoch where a vertical line is drawn (e.g. the unfreeze point).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for i, (label, hist) in enumerate(histories.items()):
        h = getattr(hist, "history", hist)
        colour = f"C{i}"
        epochs = np.arange(1, len(h[metric]) + 1)
        ax.plot(epochs, h[metric], "--", color=colour, alpha=0.7, label=f"{label} (train)")
        if f"val_{metric}" in h:
            ax.plot(epochs, h[f"val_{metric}"], "-", color=colour, label=f"{label} (validation)")
    for label, epoch in (marks or {}).items():
        ax.axvline(epoch + 0.5, color="gray", linestyle=":")
        ax.text(epoch + 0.6, ax.get_ylim()[0], label, rotation=90, va="bottom", fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return ax


def projection(points, labels, class_names, ax=None, title=None):
    """Scatter of 2-D points coloured by class."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for c, name in enumerate(class_names):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=6, alpha=0.6, label=name)
    ax.legend(fontsize=7, markerscale=2)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def bar_chart(values: dict, ylabel: str, title: str | None = None, ax=None, fmt: str = "{:.3f}"):
    """Bars with their values written on top (values measured in the run)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    names = list(values)
    bars = ax.bar(names, [values[k] for k in names], color=[f"C{i}" for i in range(len(names))])
    for bar, name in zip(bars, names, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), fmt.format(values[name]),
                ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=20)
    return ax
