"""The course's tasks: the source and three targets, with fixed splits, and few-shot samples.

The source task is the clothing part of the source model's pretraining (six clothing classes of
Fashion-MNIST; ``helpers.glyphs`` renders the 1,000 characters beside them); the targets span
the decision table: the same classes in a new look (``look``), new classes in the same look
(``near``), new classes in a new look (``far``: scikit-learn's handwritten digits).
``get_task(name)`` gives any of them; ``few_shot`` draws a fixed number of labelled examples
per class.

Fashion-MNIST's files are found, verified and read by ``helpers.fashion_files``, and files are
written whole by ``helpers.atomic``; every name of both is importable from here too
(``data.locate_fashion_mnist``, ``data.atomic_write_text``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.datasets import load_digits

from helpers.atomic import atomic_write_bytes, atomic_write_text  # noqa: F401 - re-exported
from helpers.fashion_files import (  # noqa: F401 - re-exported: data.<name> as before
    FIX_COMMAND,
    MANIFEST_PATH,
    VERIFIED_PATH,
    ChecksumError,
    DataError,
    DataNotFoundError,
    candidate_dirs,
    download_fashion_mnist,
    load_fashion_mnist,
    locate_fashion_mnist,
    manifest,
    network_available,
    read_idx,
    sha256_of,
    verify_file,
)
from helpers.fashion_files import __all__ as _files_names

__all__ = [
    *_files_names, "atomic_write_text", "atomic_write_bytes", "FASHION_CLASSES",
    "SOURCE_CLASSES", "NEAR_CLASSES", "SPLIT_SEED", "VALIDATION_FRACTION", "Task",
    "to_float_images", "select_classes", "stratified_split", "source_task", "near_task",
    "new_camera", "look_task", "resize_images", "far_task", "get_task", "few_shot",
]

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
SOURCE_CLASSES = [0, 1, 2, 3, 4, 6]  # six clothing classes: the pretraining task
NEAR_CLASSES = [5, 7, 8, 9]          # footwear and bags: new classes, same domain
SPLIT_SEED = 1234                    # fixes every train/validation/test split
VALIDATION_FRACTION = 0.1


# ---------------------------------------------------------------- the three tasks

@dataclass
class Task:
    """One classification task with fixed train/validation/test splits (images in [0, 1])."""

    name: str
    description: str
    class_names: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def sizes(self) -> dict:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def __repr__(self) -> str:
        return (f"Task({self.name!r}, classes={self.class_names}, "
                f"train/val/test={len(self.y_train)}/{len(self.y_val)}/{len(self.y_test)})")


def to_float_images(x: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1) in [0, 1]: the input the source model expects."""
    return (x.astype("float32") / max_value)[..., None]


def select_classes(x, y, classes):
    """Keep the examples of ``classes`` and relabel them 0..len(classes)-1 in that order."""
    mask = np.isin(y, classes)
    lookup = np.full(int(y.max()) + 1, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    return x[mask], lookup[y[mask]]


def stratified_split(y, fraction: float, seed: int = SPLIT_SEED):
    """Indices (keep, held_out) with ``fraction`` of every class held out, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_held = int(round(len(idx) * fraction))
        held.append(idx[:n_held])
        keep.append(idx[n_held:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


def _fashion_task(name, description, classes, data_dir=None) -> Task:
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir)
    x_train, y_train = select_classes(x_train, y_train, classes)
    x_test, y_test = select_classes(x_test, y_test, classes)
    train_idx, val_idx = stratified_split(y_train, VALIDATION_FRACTION)
    return Task(   # split first, then convert: one float copy of each split, no more
        name=name, description=description,
        class_names=[FASHION_CLASSES[c] for c in classes],
        x_train=to_float_images(x_train[train_idx]), y_train=y_train[train_idx],
        x_val=to_float_images(x_train[val_idx]), y_val=y_train[val_idx],
        x_test=to_float_images(x_test), y_test=y_test,
        meta={"dataset": "Fashion-MNIST", "original_classes": list(classes),
              "flip_preserves_label": True},
    )


@lru_cache(maxsize=2)
def source_task(data_dir=None) -> Task:
    """The clothing part of the pretraining: six clothing classes of Fashion-MNIST (the source
    model also learnt 1,000 rendered characters, ``helpers.glyphs``)."""
    return _fashion_task("source", "Fashion-MNIST clothing (6 classes): the clothing part of the "
                         "source model's pretraining", SOURCE_CLASSES, data_dir)


@lru_cache(maxsize=2)
def near_task(data_dir=None) -> Task:
    """Near target: four classes the source model never saw (footwear and bags), same look."""
    return _fashion_task("near", "Fashion-MNIST footwear and bags (4 new classes, same look)",
                         NEAR_CLASSES, data_dir)


def new_camera(x: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """The same pictures as if taken by another camera: smaller in the frame and off-centre,
    blurred, washed out (lower contrast on a grey background) and noisy. Fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    n, h, w = x.shape[:3]
    out = np.zeros((n, h, w), "float32")
    sizes = rng.integers(18, 25, size=n)
    for size in np.unique(sizes):
        idx = np.flatnonzero(sizes == size)
        small = resize_images(x[idx, ..., 0], int(size))
        for i, img in zip(idx, small, strict=True):
            top, left = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
            out[i, top:top + size, left:left + size] = img
    contrast = rng.uniform(0.5, 0.8, size=(n, 1, 1))
    background = rng.uniform(0.15, 0.35, size=(n, 1, 1))
    # Blur, noise and clipping 2,000 images at a time (the same numbers as in one go, the noise
    # drawn in the same order): one float64 noise draw for a whole training split would hold
    # over 400 MB at once.
    for start in range(0, n, 2000):
        part = slice(start, start + 2000)
        blurred = gaussian_filter(out[part], sigma=(0, 0.7, 0.7))
        noisy = background[part] + contrast[part] * blurred + rng.normal(0, 0.05, size=blurred.shape)
        out[part] = np.clip(noisy, 0, 1)
    return out[..., None]


@lru_cache(maxsize=2)
def look_task(data_dir=None) -> Task:
    """Same-classes target: the source's six clothing classes through another camera.

    The classes are the ones the source model learnt; only the look is new. Its few-shot
    training images are new-look copies of source training images; its test images are from
    Fashion-MNIST's test split, which the source model never saw in any look.
    """
    task = _fashion_task("look", "Fashion-MNIST clothing (the 6 source classes) through another "
                         "camera: framed smaller, blurred, washed out, noisy", SOURCE_CLASSES,
                         data_dir)
    for i, split in enumerate(("x_train", "x_val", "x_test")):
        setattr(task, split, new_camera(getattr(task, split), seed=SPLIT_SEED + 20 + i))
    task.meta["same_classes_as_source"] = True
    return task


def resize_images(x: np.ndarray, size: int = 28) -> np.ndarray:
    """Bilinear resize of a batch of square grey images (N, h, w) to (N, size, size)."""
    n, h, w = x.shape
    rows = np.linspace(0, h - 1, size)
    cols = np.linspace(0, w - 1, size)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
    fr, fc = (rows - r0)[None, :, None], (cols - c0)[None, None, :]
    top = x[:, r0][:, :, c0] * (1 - fc) + x[:, r0][:, :, c1] * fc
    bottom = x[:, r1][:, :, c0] * (1 - fc) + x[:, r1][:, :, c1] * fc
    return top * (1 - fr) + bottom * fr


@lru_cache(maxsize=1)
def far_task() -> Task:
    """Far target: scikit-learn's 8×8 handwritten digits, resized to 28×28 (another domain)."""
    digits = load_digits()
    x = resize_images(digits.images.astype("float32") / 16.0, 28)[..., None].astype("float32")
    y = digits.target.astype(np.int64)
    rest, test_idx = stratified_split(y, 0.3)
    train_rel, val_rel = stratified_split(y[rest], 0.2, seed=SPLIT_SEED + 1)
    train_idx, val_idx = rest[train_rel], rest[val_rel]
    return Task(
        name="far", description="scikit-learn handwritten digits (10 classes, another domain)",
        class_names=[str(d) for d in range(10)],
        x_train=x[train_idx], y_train=y[train_idx], x_val=x[val_idx], y_val=y[val_idx],
        x_test=x[test_idx], y_test=y[test_idx],
        meta={"dataset": "sklearn digits (UCI optical digits), 8x8 resized to 28x28",
              "flip_preserves_label": False},  # a mirrored 2, 3 or 7 is not that digit
    )


def get_task(name: str) -> Task:
    """``source``, ``look``, ``near`` or ``far`` by name."""
    tasks = {"source": source_task, "look": look_task, "near": near_task, "far": far_task}
    if name not in tasks:
        raise ValueError(f"Unknown task {name!r}; choose one of {sorted(tasks)}.")
    return tasks[name]()


def few_shot(x, y, per_class, seed: int = 0):
    """A stratified sample of ``per_class`` examples of every class, the same for the same seed.

    ``per_class=None`` or ``"all"`` returns everything. Asking for more examples than a class
    has raises ValueError naming the class.
    """
    if per_class is None or per_class == "all":
        return x, y
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer or 'all', not {per_class!r}.")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        if len(idx) < per_class:
            raise ValueError(
                f"Class {label} has only {len(idx)} examples; cannot take {per_class} per class. "
                f"Use per_class <= {len(idx)}."
            )
        chosen.append(rng.choice(idx, size=per_class, replace=False))
    order = rng.permutation(np.concatenate(chosen))
    return x[order], y[order]
