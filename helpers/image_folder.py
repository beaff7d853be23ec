"""A folder of your own images, checked: its classes, its readable images, and what was skipped.

The folder has one subfolder per class, the layout ``keras.utils.image_dataset_from_directory``
reads: ``IMAGE_DIR/cat/*.jpg``, ``IMAGE_DIR/dog/*.jpg`` (subfolders inside a class folder count
for that class). ``scan_folder`` opens every file once and says what it found and what it
skipped and why, and refuses (``FolderError``, with the fix) a folder it cannot use: missing,
empty, flat, split into train/val/test elsewhere, the classes a level down, one class, or too
few images in a class. ``describe`` prints the report. Turning the images into a task is
``helpers.own_images``, which re-exports every name here.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "IMAGE_SUFFIXES", "GREY_MODES", "SMALL_SIDE", "SPLITS_NEEDED", "SHOWN_SKIPS", "SPLIT_NAMES",
    "FolderError", "FolderReport", "scan_folder", "describe",
]

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
SMALL_SIDE = 64                 # at most this many pixels on the longest side counts as "small"
SPLITS_NEEDED = 3               # one image each for training, validation and test
SHOWN_SKIPS = 20
# Folder names that mean a split made elsewhere, not a class (the course makes its own splits).
SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing", "dev"}


class FolderError(ValueError):
    """The image folder cannot be used as it is; the message names the path and the fix."""


@dataclass
class FolderReport:
    """What ``scan_folder`` found: the classes, their readable images, and what it skipped."""

    root: Path
    class_names: list[str]
    files: dict[str, list[Path]]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)
    sizes: tuple = ()           # ((min height, min width), (max height, max width))
    colour_files: int = 0       # readable images whose channels differ (real colour)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.files[name]) for name in self.class_names}

    @property
    def kind(self) -> str:
        """"small grayscale" (every image grey, at most 64 px a side) or "photos"."""
        small = bool(self.sizes) and max(self.sizes[1]) <= SMALL_SIDE
        return "small grayscale" if small and self.colour_files == 0 else "photos"


def _decode(path: Path, draft_size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """Verify and decode ``path`` (a JPEG at 1/2, 1/4 or 1/8 scale when ``draft_size`` allows:
    cheap for huge photos); return it with its stored size. Refuses images past PIL's limit."""
    limit = Image.MAX_IMAGE_PIXELS  # read each time, so a raised (or lowered) limit applies
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below instead
        with Image.open(path) as probe:
            probe.verify()                  # structure and checksums, without decoding pixels
        image = Image.open(path)
        stored = image.size
        try:
            image.draft(None, draft_size)   # does nothing for formats other than JPEG
            if limit is not None and image.size[0] * image.size[1] > limit:
                raise ValueError("too large")
            image.load()
        except BaseException:
            image.close()
            raise
    return image, stored


def _skip_reason(path: Path, err: Exception) -> str:
    if isinstance(err, PermissionError):
        return "unreadable (permission)"
    if isinstance(err, FileNotFoundError):
        return "gone (deleted while the folder was read)"
    if isinstance(err, Image.DecompressionBombError) or str(err) == "too large":
        return (f"too large to decode safely (over {Image.MAX_IMAGE_PIXELS:,} pixels; shrink it, "
                "or raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file)")
    if path.is_file() and path.stat().st_size == 0:
        return "empty file"
    if isinstance(err, UnidentifiedImageError):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return "corrupt or truncated (its name says image, its contents do not)"
        return "not an image"
    return f"corrupt or truncated ({err})"


def _is_grey(image: Image.Image) -> bool:
    """True when the image has no colour: a grey mode, or RGB channels that (nearly) agree."""
    if image.mode in GREY_MODES:
        return True
    small = image.copy()
    small.thumbnail((64, 64))
    rgb = np.asarray(_flatten_alpha(small).convert("RGB"), dtype=np.int16)
    return int(np.abs(rgb - rgb[..., :1]).max()) <= 8  # JPEG noise tolerated


def _class_files(folder: Path, skipped: list) -> list[Path]:
    """Every visible file under a class folder, subfolders included, in Keras's order."""
    def unreadable(err: OSError):
        skipped.append((Path(err.filename), "unreadable folder (permission)"))

    walked = []
    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]   # pruned before descending
        walked.append((root, sorted(n for n in names if not n.startswith("."))))
    return [Path(root) / n for root, names in sorted(walked) for n in names]


def _check_top_folder(root: Path) -> tuple[list[Path], list[Path]]:
    """The class subfolders and the loose files of ``root``; FolderError when it has neither."""
    wanted = "the folder that holds one subfolder per class"
    if not root.exists():
        raise FolderError(f"{root} does not exist. Fix: check the spelling, or give the full path "
                          f"of {wanted}.")
    if not root.is_dir():
        raise FolderError(f"{root} is a file, not a folder. Fix: give {wanted}.")
    try:
        entries = sorted((e for e in root.iterdir() if not e.name.startswith(".")),
                         key=lambda e: e.name)
    except PermissionError as err:
        raise FolderError(f"{root} cannot be read (permission denied). Fix: "
                          f"`chmod -R u+rX {root}` or copy the images somewhere you can read.") from err
    classes = [e for e in entries if e.is_dir()]
    loose = [e for e in entries if not e.is_dir()]
    if not classes and loose:
        raise FolderError(f"{root} holds files ({len(loose)}) but no class subfolders, so no "
                          "image has a class. Fix: put each class's images in its own subfolder, "
                          f"e.g. {root / 'cat'}/ and {root / 'dog'}/ (its name is the class name).")
    if not classes:
        raise FolderError(f"{root} is empty. Fix: make one subfolder per class in it and put "
                          "each class's images in its subfolder.")
    _check_layout(root, classes)
    return classes, loose


def _has_image(folder: Path) -> bool:
    """Whether any visible file under ``folder`` has an image's suffix (stops at the first)."""
    for _, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(n.lower().endswith(IMAGE_SUFFIXES) and not n.startswith(".") for n in names):
            return True
    return False


def _image_subfolders(folder: Path) -> list[Path]:
    """The visible subfolders of ``folder`` that hold images (at any depth), by name."""
    try:
        subs = sorted((e for e in folder.iterdir() if e.is_dir() and not e.name.startswith(".")),
                      key=lambda e: e.name)
    except OSError:
        return []
    return [e for e in subs if _has_image(e)]


def _is_split(folder: Path) -> bool:
    return folder.name.lower() in SPLIT_NAMES


def _classes_below(folder: Path, depth: int = 0) -> Path | None:
    """The first folder at or below ``folder`` whose image subfolders look like classes: two or
    more, not named like splits. A split layout is followed into its training split, a single
    subfolder into itself; None when there is none."""
    subs = _image_subfolders(folder)
    splits = [e for e in subs if _is_split(e)]
    if depth > 4 or not subs:
        return None
    if splits:
        train = next((e for e in splits if e.name.lower().startswith("train")), splits[0])
        return _classes_below(train, depth + 1)
    if len(subs) >= 2:
        return folder
    return _classes_below(subs[0], depth + 1)


def _point_at(target: Path | None) -> str:
    if target is None:
        return ("Fix: make a folder with one subfolder per class, the images of each class in "
                "its subfolder, and point IMAGE_DIR at it.")
    names = ", ".join(e.name for e in _image_subfolders(target)[:6])
    return f"Fix: point IMAGE_DIR at {target} (its subfolders {names} become the classes)."


def _check_layout(root: Path, classes: list[Path]) -> None:
    """FolderError, pointing at the folder to use, when the class folders are not classes:
    splits (train/val/test) made elsewhere, the classes one level down (the same subfolder
    names in every folder), or a single folder with the classes inside it."""
    own_splits = ("The course makes its own training, validation and test splits from one folder "
                  "of classes (the test split fixed by the seed), so give it the classes, not "
                  "splits made elsewhere.")
    splits = [c for c in classes if _is_split(c)]
    if splits and (len(splits) >= 2 or any(_image_subfolders(c) for c in splits)):
        target = _classes_below(root)
        raise FolderError(
            f"The subfolders of {root} are named like splits ({', '.join(c.name for c in splits)}), "
            f"not classes: each would be read as one class. {own_splits} {_point_at(target)}"
            + (" The images in the other split folders are then not used; to use them too, move "
               "them into the class folders there." if target is not None else ""))
    inner = [{e.name for e in _image_subfolders(c)} for c in classes]
    shared = set.intersection(*inner) if len(classes) >= 2 else set()
    if len(shared) >= 2 and not all(name.lower() in SPLIT_NAMES for name in shared):
        target = _classes_below(classes[0])
        raise FolderError(
            f"Every subfolder of {root} ({', '.join(c.name for c in classes[:6])}) holds subfolders "
            f"with the same names ({', '.join(sorted(shared)[:6])}): those look like the classes, "
            f"one level down. {_point_at(target)} If instead they are groups within each class, "
            "move their images up into the class folder.")
    if len(classes) == 1:
        target = _classes_below(classes[0])
        if target is not None:
            raise FolderError(
                f"{root} has one subfolder, {classes[0].name!r}, so it would be read as one class; "
                f"the classes look further down. {_point_at(target)}")


def _check_classes(report: FolderReport, min_per_class: int) -> None:
    root, counts = report.root, report.counts
    if len(report.class_names) == 1:
        raise FolderError(f"{root} has one class only ({report.class_names[0]!r}); telling "
                          "classes apart needs at "
                          "least two. Fix: add a subfolder with images of another class.")
    for name, n in counts.items():
        if n == 0:
            inside = [f"{p.name}: {why}" for p, why in report.skipped
                      if root / name in p.parents][:5]
            raise FolderError(f"Class {name!r} ({root / name}) has no readable image"
                              + (f" (skipped: {'; '.join(inside)})" if inside else "")
                              + ". Fix: add images to it, or remove the folder.")
    small = {name: n for name, n in counts.items() if n < min_per_class}
    if small:
        listed = ", ".join(f"{name!r} has {n}" for name, n in small.items())
        raise FolderError(
            f"Too few images in {root}: {listed}; every class needs at least {min_per_class}. "
            f"Even the smallest run needs {SPLITS_NEEDED} images per class: one to train on, one "
            "for validation (to make choices) and one for the test (to score the final model). "
            "Fix: add images to those classes, or remove their folders.")


def scan_folder(image_dir, min_per_class: int = SPLITS_NEEDED) -> FolderReport:
    """Open every file under ``image_dir`` (one subfolder per class) and report what is usable.

    Raises FolderError, with the fix, for a missing path, a file, an empty or flat folder, a
    single class, or a class with fewer than ``min_per_class`` readable images.
    """
    root = Path(image_dir).expanduser()
    classes, loose = _check_top_folder(root)
    report = FolderReport(root=root, class_names=[c.name for c in classes], files={})
    heights, widths = [], []
    report.skipped += [(path, "not in a class folder (move it into its class's subfolder)")
                       for path in loose if path.suffix.lower() in IMAGE_SUFFIXES]
    for folder in classes:
        readable = []
        for path in _class_files(folder, report.skipped):
            try:
                image, (width, height) = _decode(path, (1, 1))
            except Exception as err:  # noqa: BLE001 - any failure is a skipped file, named
                report.skipped.append((path, _skip_reason(path, err)))
                continue
            with image:
                report.modes[image.mode] = report.modes.get(image.mode, 0) + 1
                report.colour_files += not _is_grey(image)
            heights.append(height)
            widths.append(width)
            readable.append(path)
        report.files[folder.name] = readable
    if heights:
        report.sizes = ((min(heights), min(widths)), (max(heights), max(widths)))
    _check_classes(report, min_per_class)
    return report


def describe(report: FolderReport) -> str:
    """A short printable summary: classes and counts, skipped files and why, modes, sizes, kind."""
    lines = [f"Folder: {report.root}", f"{len(report.class_names)} classes:"]
    width = max((len(name) for name in report.class_names), default=0)
    lines += [f"  {name:<{width}}  {n} images" for name, n in report.counts.items()]
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} file{'s' * (len(report.skipped) > 1)}:")
        for path, why in report.skipped[:SHOWN_SKIPS]:
            lines.append(f"  {os.path.relpath(path, report.root)}: {why}")
        if len(report.skipped) > SHOWN_SKIPS:
            lines.append(f"  ... and {len(report.skipped) - SHOWN_SKIPS} more")
    else:
        lines.append("Skipped: none")
    lines.append("Image modes: " + ", ".join(f"{m} x{n}" for m, n in sorted(report.modes.items())))
    if report.sizes:
        (h0, w0), (h1, w1) = report.sizes
        lines.append(f"Sizes: height {h0} to {h1} px, width {w0} to {w1} px")
    lines.append(f"Kind: {report.kind}")
    return "\n".join(lines)


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Transparent pixels become white: RGBA, LA and palettes with transparency on white."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image
