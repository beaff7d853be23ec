"""Notebook 08: a folder of your own images turned into a task, and a backbone that suits it.

``scan_folder`` (in ``helpers.image_folder``, importable from here) checks the folder;
``load_task`` turns its readable images into a ``data.Task`` with a test split fixed by the
seed; ``make_example_folder`` writes the offline stand-in the notebook uses by default;
``choose_backbone`` picks a pretrained model that suits the images.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from helpers import applications, config, data, experiment
from helpers.image_folder import (  # noqa: F401 - re-exported: own_images.<name> as before
    GREY_MODES,
    IMAGE_SUFFIXES,
    SHOWN_SKIPS,
    SMALL_SIDE,
    SPLIT_NAMES,
    SPLITS_NEEDED,
    FolderError,
    FolderReport,
    _decode,
    _flatten_alpha,
    _skip_reason,
    describe,
    scan_folder,
)
from helpers.image_folder import __all__ as _folder_names

__all__ = [
    *_folder_names, "BackboneChoice", "load_task", "make_example_folder", "choose_backbone",
    "BACKBONE_CHOICES", "PHOTO_SIZE", "split_class", "image_to_array", "imagenet_weights_status",
    "usable_budgets",
]

BACKBONE_CHOICES = config.BACKBONE_CHOICES
PHOTO_SIZE = 96                 # MobileNetV2 has ImageNet weights at 96 px; quick on a CPU
EXAMPLE_MARKER = ".stand-in.json"


@dataclass
class BackboneChoice:
    """The pretrained model for a folder, the input it takes, and where its weights come from."""

    name: str          # "source_cnn", "MobileNetV2" or "EfficientNetB0"
    image_size: int
    channels: int
    weights: str       # "course", "imagenet" or "random"
    note: str


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float grey images scaled to 8 bits (a plain convert would clip them)."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        sixteen = image.mode.startswith("I;16") or values.max() > 255  # plain I: 8 or 16 bit
        top = (1.0 if values.max() <= 1.0 else 255.0) if image.mode == "F" else (
            65535.0 if sixteen else 255.0)
        return Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8), "L")
    return image


def image_to_array(path: Path, image_size: int, channels: int) -> np.ndarray:
    """One file as a float32 (image_size, image_size, channels) array in [0, 1]."""
    try:
        image, _ = _decode(path, (image_size, image_size))
    except Exception as err:
        raise FolderError(f"{path} could not be read any more ({_skip_reason(path, err)}); it "
                          "changed since the folder was scanned. Fix: run scan_folder again.") from err
    with image:
        image = ImageOps.exif_transpose(image)          # phone photos store their rotation
        image = _to_8bit(_flatten_alpha(image))
        image = image.convert("L" if channels == 1 else "RGB")
        image = image.resize((image_size, image_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels.reshape(image_size, image_size, channels)


def split_class(n: int, rng: np.random.Generator, test_fraction: float, val_fraction: float):
    """Shuffled positions 0..n-1 as (train, val, test); at least one image in each."""
    order = rng.permutation(n)
    n_test = min(max(1, int(round(n * test_fraction))), n - 2)
    n_val = min(max(1, int(round(n * val_fraction))), n - n_test - 1)
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def load_task(report: FolderReport, image_size: int, channels: int, seed: int = 0,
              test_fraction: float = 0.2, val_fraction: float = 0.2, name: str = "own",
              flip_preserves_label: bool | None = None) -> data.Task:
    """Decode every readable image into a Task with stratified train/validation/test splits.

    The test split depends only on ``seed`` and ``test_fraction``: it is fixed before anything
    is chosen. ``flip_preserves_label`` defaults to True for photos, False for small grey
    images (letters and digits change meaning when mirrored); pass it to decide yourself.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), not {channels!r}")
    if not (0 < test_fraction < 1 and 0 < val_fraction < 1 and test_fraction + val_fraction < 1):
        raise ValueError("test_fraction and val_fraction must each be between 0 and 1, and "
                         f"their sum below 1 (got {test_fraction} and {val_fraction})")
    parts = {"train": ([], [], []), "val": ([], [], []), "test": ([], [], [])}
    for label, class_name in enumerate(report.class_names):
        paths = report.files[class_name]
        if len(paths) < SPLITS_NEEDED:
            raise FolderError(f"Class {class_name!r} has {len(paths)} images; a task needs at "
                              f"least {SPLITS_NEEDED} (train, validation, test). Fix: add images.")
        # one generator per class, keyed by its name: adding a class leaves the others' splits
        rng = np.random.default_rng([seed, zlib.crc32(class_name.encode("utf-8"))])
        splits = split_class(len(paths), rng, test_fraction, val_fraction)
        for split, positions in zip(("train", "val", "test"), splits, strict=True):
            xs, ys, files = parts[split]
            for i in sorted(positions):
                xs.append(image_to_array(paths[i], image_size, channels))
                ys.append(label)
                files.append(str(paths[i]))
    arrays, files = _shuffled(parts, seed)
    if flip_preserves_label is None:
        flip_preserves_label = report.kind == "photos"
    return data.Task(
        name=name, description=f"your images from {report.root} ({len(report.class_names)} "
                               f"classes, {image_size}x{image_size}, {'grey' if channels == 1 else 'RGB'})",
        class_names=list(report.class_names), **arrays,
        meta={"dataset": "your images", "root": str(report.root),
              "flip_preserves_label": bool(flip_preserves_label), "kind": report.kind,
              "image_size": image_size, "channels": channels, "seed": seed, "files": files},
    )


def _shuffled(parts: dict, seed: int) -> tuple[dict, dict]:
    """Each split's arrays in a seeded random order (classes mixed), with its file names."""
    rng = np.random.default_rng(seed)
    arrays, files = {}, {}
    for split, (xs, ys, names) in parts.items():
        order = rng.permutation(len(ys))
        arrays[f"x_{split}"] = np.stack(xs)[order].astype(np.float32)
        arrays[f"y_{split}"] = np.asarray(ys, dtype=np.int64)[order]
        files[split] = [names[i] for i in order]
    return arrays, files


EXAMPLE_README = """\
This folder is a stand-in for your own photos.

It holds {per_class} images of each of {n} Fashion-MNIST classes ({classes}):
28x28 grey PNG files, one subfolder per class. They were drawn at random (seed {seed})
from the training split of the course's near target, never from its test images, and
written here so that the capstone notebook runs offline.

To use your own images: make a folder with one subfolder per class (the subfolder's name
is the class name), at least {need} images in each, and point IMAGE_DIR at it.
"""


def _example_complete(dest: Path, per_class: int, seed: int, classes: list[str]) -> bool:
    try:
        marker = json.loads((dest / EXAMPLE_MARKER).read_text())
    except (OSError, ValueError):
        return False
    if marker != {"per_class": per_class, "seed": seed, "classes": classes}:
        return False
    return (dest / "README.txt").is_file() and all(
        len(list((dest / c).glob("*.png"))) == per_class for c in classes)


def _write_example(tmp: Path, task: data.Task, per_class: int, seed: int, folders: list[str]):
    rng = np.random.default_rng(seed)
    for label, folder in enumerate(folders):
        (tmp / folder).mkdir()
        chosen = np.sort(rng.choice(np.flatnonzero(task.y_train == label), per_class, replace=False))
        for i in chosen:
            pixels = np.round(task.x_train[i, ..., 0] * 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(tmp / folder / f"train-{i:05d}.png")
    (tmp / "README.txt").write_text(EXAMPLE_README.format(
        per_class=per_class, n=len(folders), classes=", ".join(task.class_names), seed=seed,
        need=SPLITS_NEEDED))
    (tmp / EXAMPLE_MARKER).write_text(json.dumps(
        {"per_class": per_class, "seed": seed, "classes": folders}))


def make_example_folder(dest, per_class: int = 60, seed: int = 0) -> Path:
    """Write the offline example folder (near target's four classes, 28x28 grey PNGs) to
    ``dest``; nothing to do when it is already complete. Never half-written: a temporary folder
    is renamed at the end. A folder that is not an earlier example is never replaced."""
    dest = Path(dest).expanduser()
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < SPLITS_NEEDED:
        raise ValueError(f"per_class must be an integer >= {SPLITS_NEEDED}, not {per_class!r}")
    folders = [data.FASHION_CLASSES[c].replace("/", "-") for c in data.NEAR_CLASSES]
    if _example_complete(dest, per_class, seed, folders):
        return dest
    if dest.exists() and not (dest.is_dir() and (dest / EXAMPLE_MARKER).exists()
                              or dest.is_dir() and not any(dest.iterdir())):
        raise FolderError(f"{dest} already exists and is not an example folder made by the "
                          "course; it was left alone. Fix: choose another path for the example.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.partial."))
    try:
        _write_example(tmp, data.near_task(), per_class, seed, folders)
        os.chmod(tmp, 0o755)
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            dest.rename(old)        # an earlier, different example: replaced in one rename
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def imagenet_weights_status(name: str, image_size: int = PHOTO_SIZE) -> tuple[bool, str]:
    """(available, why): ImageNet weights usable now, from Keras's cache or a quick download.
    Never waits long: TLW_OFFLINE=1 answers at once, a network check gives up after 3 s."""
    path = applications.cached_weights_path(name, image_size)
    if path.is_file():
        wanted = applications.expected_hash(name)   # EfficientNet's; MobileNetV2 checks none
        with open(path, "rb") as handle:
            if not wanted or hashlib.file_digest(handle, "md5").hexdigest() == wanted:
                return True, f"cached in {path}"
        problem = f"the file in Keras's cache, {path}, is damaged or not the right one"
    else:
        problem = f"they are not in Keras's cache, {path},"
    if config.offline():
        return False, f"{problem} and downloads are switched off (TLW_OFFLINE=1)"
    if data.network_available(timeout=3.0):
        return True, "Keras will download them (once, into its cache)"
    return False, f"{problem} and the network is unreachable"


def _pick_name(requested: str, report: FolderReport) -> str:
    by_lower = {c.lower(): c for c in BACKBONE_CHOICES}
    if not isinstance(requested, str) or requested.lower() not in by_lower:
        raise ValueError(f"Unknown backbone {requested!r}; choose one of {', '.join(BACKBONE_CHOICES)}.")
    name = by_lower[requested.lower()]
    if name == "auto":
        return "source_cnn" if report.kind == "small grayscale" else "MobileNetV2"
    return name


def choose_backbone(report: FolderReport, requested: str = "auto") -> BackboneChoice:
    """The pretrained model for these images: the course's source CNN for small grey images,
    an ImageNet model for photos (random weights, said plainly, when the weights cannot be had)."""
    name = _pick_name(requested, report)
    if name == "source_cnn":
        note = ("The course's source CNN, pretrained on small grey images; it takes 28x28 grey input."
                + (" Your images are photos: at 28x28 grey they lose their colour and detail, so an "
                   "ImageNet model (MobileNetV2) probably suits them better." * (report.kind == "photos")))
        return BackboneChoice("source_cnn", 28, 1, "course", note)
    available, why = imagenet_weights_status(name, PHOTO_SIZE)
    grey = (" Your images are grey; they are repeated into three channels, since ImageNet "
            "models take colour input." if report.kind == "small grayscale" else "")
    if available:
        return BackboneChoice(name, PHOTO_SIZE, 3, "imagenet",
                              f"{name} with ImageNet weights ({why}), at {PHOTO_SIZE}x{PHOTO_SIZE} RGB.{grey}")
    return BackboneChoice(name, PHOTO_SIZE, 3, "random", (
        f"{name} has RANDOM weights here: ImageNet weights cannot be had now: {why}. Its "
        "features carry no pretraining, so no verdict on transfer is possible: comparing it with "
        "the controls measures the architecture and the luck of one random draw. Fix: copy the "
        f"file {applications.weights_filename(name, PHOTO_SIZE)} into {config.keras_home() / 'models'}/ ($KERAS_HOME/models/), or run once with a "
        f"network, then run again.{grey}"))


def usable_budgets(task, budgets) -> tuple[list, str]:
    """``(kept, note)``: the budgets (labels per class) the task's training split can sample.

    A budget of as many images as the smallest class has, or more, cannot be a sample of that
    many per class: ``experiment.run_cell`` would train on the whole training split under the
    budget's number. Such budgets are dropped; one entry for the whole split is kept in their
    place: the number itself when every class has that many, else ``"all"``. ``note`` says
    what was dropped, names the smallest class and its count, and the fix ("" when nothing
    was). The notebook and ``python -m helpers assess`` call it the same way::

        budgets, note = own_images.usable_budgets(task, budgets)
    """
    asked = [experiment.budget_value(b) for b in budgets]
    if not asked or not all(b == "all" or (isinstance(b, int) and b >= 1) for b in asked):
        raise ValueError(f"budgets must be labels per class, integers >= 1 (or 'all'), not {budgets!r}")
    counts = np.bincount(np.asarray(task.y_train), minlength=task.num_classes)
    smallest, largest = int(counts.min()), int(counts.max())
    name = task.class_names[int(counts.argmin())]
    balanced = smallest == largest

    def fits(b):
        return b != "all" and (b < smallest or (balanced and b == smallest))

    numbers = sorted({b for b in asked if b != "all"})
    kept = [b for b in numbers if fits(b)]
    dropped = [b for b in numbers if not fits(b)]
    whole = smallest if balanced else "all"
    if (dropped or "all" in asked) and whole not in kept:
        kept.append(whole)
    if not dropped:
        return kept, ""
    what = (f"{smallest} per class, every training image" if balanced else
            f"'all': every training image, {smallest} of {name!r} up to {largest} of the largest class")
    return kept, (
        f"Class {name!r} has only {smallest} training images (after the validation and test images "
        f"are set aside), so budgets of {', '.join(map(str, dropped))} labels per class cannot be "
        f"sampled; they are dropped, and the whole training split is measured once instead ({what}). "
        f"Budgets measured: {', '.join(map(str, kept))}. Fix: lower LABEL_BUDGETS (notebook) or "
        f"--budgets (command) to at most {smallest - (not balanced)}, or add images to {name!r}.")
