"""The course's data: Fashion-MNIST found, verified and loaded offline; the source and three targets.

Fashion-MNIST is looked for in this order (``locate_fashion_mnist(report=True)`` prints it):

1. an explicit folder (argument ``data_dir`` or ``TLW_DATA_DIR``),
2. the project cache ``datasets/cache/fashion-mnist``,
3. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``),
4. Keras's cache ``$KERAS_HOME/datasets/fashion-mnist``,
5. a download into Keras's cache (only if every local place failed and ``TLW_OFFLINE`` is unset).

Every file is checked against the SHA-256 in ``datasets/manifest.json`` once; the result is
remembered (by path, size and modification time) so later loads skip the hashing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import tempfile
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpers import config

MANIFEST_PATH = config.DATASETS_DIR / "manifest.json"
VERIFIED_PATH = config.CACHE_DIR / "verified.json"
FIX_COMMAND = "sudo apt-get install dataset-fashion-mnist   (or: make data)"

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
SOURCE_CLASSES = [0, 1, 2, 3, 4, 6]  # six clothing classes: the pretraining task
NEAR_CLASSES = [5, 7, 8, 9]          # footwear and bags: new classes, same domain
SPLIT_SEED = 1234                    # fixes every train/validation/test split
VALIDATION_FRACTION = 0.1


class DataError(RuntimeError):
    """Base class for data problems; the message always says how to fix them."""


class DataNotFoundError(DataError):
    """Fashion-MNIST is in none of the places searched."""


class ChecksumError(DataError):
    """A data file does not have the SHA-256 recorded in the manifest."""


# ---------------------------------------------------------------- manifest and checks

@lru_cache(maxsize=1)
def manifest() -> dict:
    """The dataset manifest: source, licence, and the SHA-256 of every file."""
    return json.loads(MANIFEST_PATH.read_text())


def sha256_of(path: Path) -> str:
    """SHA-256 of a file (hashlib reads it in chunks)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _load_verified() -> dict:
    try:
        return json.loads(VERIFIED_PATH.read_text())
    except (OSError, ValueError):
        return {}


def _save_verified(record: dict) -> None:
    try:
        VERIFIED_PATH.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(VERIFIED_PATH, json.dumps(record, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only checkout still works; it just hashes again next time


def verify_file(path: Path, expected: str) -> None:
    """Raise ChecksumError unless ``path`` hashes to ``expected``; remember a success."""
    path = Path(path)
    stat = path.stat()
    key = str(path.resolve())
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{expected}"
    record = _load_verified()
    if record.get(key) == stamp:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} is damaged or not the original file "
            f"(size {stat.st_size} bytes).\n"
            f"  expected SHA-256: {expected}\n"
            f"  actual SHA-256:   {actual}\n"
            f"Fix: delete {path} and run `make data`, or reinstall the Debian package with "
            f"`sudo apt-get install --reinstall dataset-fashion-mnist`."
        )
    record[key] = stamp
    _save_verified(record)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; use normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- finding the files

def candidate_dirs(data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """Every place Fashion-MNIST is looked for, in order, with a label for each."""
    places = []
    if data_dir is not None:
        places.append(("argument data_dir", Path(data_dir).expanduser()))
    elif config.data_dir_from_env() is not None:
        places.append(("TLW_DATA_DIR", config.data_dir_from_env()))
    places.append(("project cache", config.CACHE_DIR / "fashion-mnist"))
    places.append(("Debian package", config.DEBIAN_DATA_DIR))
    places.append(("Keras cache", config.keras_home() / "datasets" / "fashion-mnist"))
    return places


def _has_all_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in manifest()["files"])


def locate_fashion_mnist(data_dir=None, report: bool = False, allow_download: bool = True) -> Path:
    """Return the first folder holding all four verified files; print each step if ``report``."""
    searched = []
    for label, folder in candidate_dirs(data_dir):
        found = _has_all_files(folder)
        if report:
            print(f"  {label:<17} {folder}  {'found' if found else 'not there'}")
        searched.append(f"{label}: {folder}")
        if found:
            for name, info in manifest()["files"].items():
                verify_file(folder / name, info["sha256"])
            if report:
                print("  checksums verified")
            return folder
    if allow_download and not config.offline():
        target = config.keras_home() / "datasets" / "fashion-mnist"
        if report:
            print(f"  download          {target}")
        return download_fashion_mnist(target)
    reason = "TLW_OFFLINE=1 forbids downloads" if config.offline() else "downloads not allowed"
    raise DataNotFoundError(
        "Fashion-MNIST was not found. Places searched:\n  "
        + "\n  ".join(searched)
        + f"\n({reason}.)\nFix: {FIX_COMMAND}\n"
        "Or put the four .gz files in a folder and set TLW_DATA_DIR to it."
    )


def network_available(host: str = "storage.googleapis.com", port: int = 443,
                      timeout: float = 3.0) -> bool:
    """True if a TCP connection to ``host`` opens within ``timeout`` seconds."""
    if config.offline():
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def download_fashion_mnist(target: Path, timeout: float = 10.0) -> Path:
    """Download the four files into ``target`` (Keras's cache layout), verify, return it."""
    info = manifest()
    if not network_available(timeout=3.0):
        raise DataNotFoundError(
            "Fashion-MNIST is not on this machine and the network is unreachable.\n"
            f"Fix: {FIX_COMMAND}\nOr copy the four .gz files into a folder and set TLW_DATA_DIR."
        )
    target.mkdir(parents=True, exist_ok=True)
    for name, meta in info["files"].items():
        final = target / name
        if final.is_file():
            continue
        tmp = final.with_suffix(final.suffix + ".part")
        with urllib.request.urlopen(info["download_base"] + name, timeout=timeout) as resp:
            tmp.write_bytes(resp.read())
        verify_file(tmp, meta["sha256"])
        os.replace(tmp, final)
    return target


# ---------------------------------------------------------------- reading IDX files

def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the original MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ChecksumError(f"{path}: expected {shape} values, found {data.size}.")
    return data.reshape(shape)


@lru_cache(maxsize=2)
def _load_raw(folder: str):
    folder = Path(folder)
    x_train = read_idx(folder / "train-images-idx3-ubyte.gz")
    y_train = read_idx(folder / "train-labels-idx1-ubyte.gz")
    x_test = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    y_test = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return (x_train, y_train), (x_test, y_test)


def load_fashion_mnist(data_dir=None):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, exactly as Keras returns them."""
    return _load_raw(str(locate_fashion_mnist(data_dir)))


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
    """The pretraining task: six clothing classes of Fashion-MNIST."""
    return _fashion_task("source", "Fashion-MNIST clothing (6 classes): what the source "
                         "model was pretrained on", SOURCE_CLASSES, data_dir)


@lru_cache(maxsize=2)
def near_task(data_dir=None) -> Task:
    """Near target: four classes the source model never saw (footwear and bags), same look."""
    return _fashion_task("near", "Fashion-MNIST footwear and bags (4 new classes, same look)",
                         NEAR_CLASSES, data_dir)


def new_camera(x: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """The same pictures as if taken by another camera: smaller in the frame and off-centre,
    blurred, washed out (lower contrast on a grey background) and noisy. Fixed by ``seed``."""
    from scipy.ndimage import gaussian_filter

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
    from sklearn.datasets import load_digits

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
