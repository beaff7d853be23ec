"""Notebook 07: ImageNet backbones from ``keras.applications`` — offline first, online when possible.

``weights="imagenet"`` makes Keras look for the weight file in ``$KERAS_HOME/models/`` and
download it only if it is missing. So a teacher can pre-seed a classroom by copying the files
there. Two families differ: MobileNetV2 checks no hash (any file with the right name is
loaded), EfficientNet checks a hash, and if it does not match Keras tries to download again and,
when that fails, deletes the cached file. ``build_backbone`` checks all this up front: without a
network it fails fast with a clear message (and leaves a mismatching file alone) instead of
hanging on a download.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras.src.applications import efficientnet
from sklearn.model_selection import StratifiedKFold, train_test_split

from helpers import config, data, features
from helpers.probes import calibrated_copy  # applications.calibrated_copy, as notebook 07 calls it

__all__ = ["BACKBONES", "MOBILENET_SIZES", "WeightsUnavailable", "weights_filename",
           "cached_weights_path", "expected_hash", "preprocess_input", "build_backbone",
           "backbone_or_fallback", "to_rgb_batch", "write_image_folder",
           "input_range_after_preprocessing", "kfold_with_inner_validation", "probe_accuracy",
           "calibrated_copy"]

BACKBONES = config.IMAGENET_BACKBONES   # the families built here
MOBILENET_SIZES = (96, 128, 160, 192, 224)


class WeightsUnavailable(RuntimeError):
    """ImageNet weights are not cached here and cannot be downloaded now."""


def weights_filename(name: str, input_size: int = 96, include_top: bool = False) -> str:
    """The file name Keras looks for in ``$KERAS_HOME/models/`` for ``weights="imagenet"``."""
    if name == "MobileNetV2":
        if input_size not in MOBILENET_SIZES:
            raise ValueError(f"MobileNetV2 ImageNet weights exist for sizes {MOBILENET_SIZES}")
        top = "" if include_top else "_no_top"
        return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{input_size}{top}.h5"
    if name == "EfficientNetB0":
        return "efficientnetb0.h5" if include_top else "efficientnetb0_notop.h5"
    raise ValueError(f"Unknown backbone {name!r}; choose one of {BACKBONES}")


def cached_weights_path(name: str, input_size: int = 96, include_top: bool = False) -> Path:
    """Where the weight file must be for Keras to use it without a network."""
    return config.keras_home() / "models" / weights_filename(name, input_size, include_top)


def expected_hash(name: str, include_top: bool = False) -> str | None:
    """The MD5 Keras checks a cached weight file against (EfficientNet), or None (MobileNetV2
    checks none)."""
    if name != "EfficientNetB0":
        return None

    return efficientnet.WEIGHTS_HASHES["b0"][0 if include_top else 1]


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _constructor(name: str):
    return {"MobileNetV2": keras.applications.MobileNetV2,
            "EfficientNetB0": keras.applications.EfficientNetB0}[name]


def preprocess_input(name: str):
    """The family's own ``preprocess_input`` (the scaling its ImageNet weights expect)."""
    return {"MobileNetV2": keras.applications.mobilenet_v2.preprocess_input,
            "EfficientNetB0": keras.applications.efficientnet.preprocess_input}[name]


def build_backbone(name: str = "MobileNetV2", input_size: int = 96, weights: str | None = "imagenet",
                   pooling: str = "avg"):
    """A headless backbone (``include_top=False``) ending in one pooled vector per image.

    With ``weights="imagenet"``: uses the cached file if there is one; otherwise downloads only
    if the network answers within seconds, and raises ``WeightsUnavailable`` (with the fix)
    instead of waiting on a dead connection.
    """
    build = _constructor(name)
    kwargs = dict(input_shape=(input_size, input_size, 3), include_top=False, pooling=pooling)
    if weights != "imagenet":
        return build(weights=weights, **kwargs)
    path = cached_weights_path(name, input_size)
    wanted = expected_hash(name)
    if path.is_file() and wanted and _md5(path) != wanted:
        # Keras would try to download a fresh copy and, when that fails, delete this file.
        # Without a network, stop here instead, quickly, and leave the file where it is.
        if config.offline() or not data.network_available(timeout=3.0):
            raise WeightsUnavailable(
                f"The cached ImageNet weights for {name} ({path}) do not match the hash Keras "
                "expects (a partial download, or another file under that name), and no fresh copy "
                "can be downloaded now. The file was left in place.\nFix: replace it with the "
                "right file (copy it from a machine where "
                f"`keras.applications.{name}(include_top=False)` worked), or delete it and run again "
                "with a network. Meanwhile the notebook continues with random weights.")
    if not path.is_file():
        if config.offline() or not data.network_available(timeout=3.0):
            raise WeightsUnavailable(
                f"ImageNet weights for {name} are not in the Keras cache ({path}) and the network "
                f"is {'switched off (TLW_OFFLINE=1)' if config.offline() else 'unreachable'}.\n"
                "Fix: on a machine with internet run this once, then copy the file to the same path "
                f"here:\n  python -c \"import keras; keras.applications.{name}("
                f"input_shape=({input_size}, {input_size}, 3), include_top=False)\"\n"
                "Meanwhile the notebook continues with random weights (weights=None).")
    try:
        return build(weights="imagenet", **kwargs)
    except Exception as err:  # a failed download, a wrong hash, a proxy or certificate problem
        raise WeightsUnavailable(
            f"Keras could not load ImageNet weights for {name}: {err}\n"
            f"Check {path} (EfficientNet deletes a file whose hash does not match when it cannot "
            "download a fresh one), your proxy settings (HTTPS_PROXY) and certificates.") from err


def backbone_or_fallback(name: str = "MobileNetV2", input_size: int = 96):
    """``(model, "imagenet")`` when the weights can be had, else ``(model, "random")`` with a message."""
    try:
        return build_backbone(name, input_size, "imagenet"), "imagenet"
    except WeightsUnavailable as err:
        print(f"Note: {err}")
        return build_backbone(name, input_size, None), "random"


def to_rgb_batch(images, size: int = 96) -> np.ndarray:
    """28×28 grey images in [0, 1] → ``size``×``size`` RGB in [0, 255], what ImageNet models take."""
    x = tf.image.resize(np.asarray(images, dtype="float32"), (size, size))
    return np.repeat(np.asarray(x) * 255.0, 3, axis=-1)


def write_image_folder(root: Path, images, labels, class_names, size: int = 96) -> Path:
    """Write ``images`` as PNG files in ``root/<class name>/``, the layout of a folder of your own
    photos that ``keras.utils.image_dataset_from_directory`` reads. Written to a temporary folder
    and renamed at the end, so an interrupted run never leaves a half-written folder behind."""
    root = Path(root)
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    rgb = to_rgb_batch(images, size)
    for i, (image, label) in enumerate(zip(rgb, labels, strict=True)):
        folder = tmp / class_names[int(label)].replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        keras.utils.save_img(folder / f"{i:05d}.png", image, scale=False)
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def input_range_after_preprocessing(name: str) -> tuple[float, float]:
    """Minimum and maximum of ``preprocess_input`` applied to pixels 0 and 255."""
    x = np.array([[[[0.0, 0.0, 0.0]], [[255.0, 255.0, 255.0]]]], dtype="float32")
    y = np.asarray(preprocess_input(name)(x.copy()))
    return float(y.min()), float(y.max())


def kfold_with_inner_validation(y, k: int = 3, seed: int = 0, val_fraction: float = 0.2):
    """Stratified k-fold splits as ``(train, val, test)`` index arrays.

    Each fold's test part is used only to report the score; early stopping and any other choice
    use ``val``, carved (stratified) out of that fold's training part. Using the test fold as
    validation data would pick each model on the very fold it is scored on.
    """
    y = np.asarray(y)
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, not {k!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, not {val_fraction!r}")
    folds = []
    for fold, (rest, test) in enumerate(
            StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        train, val = train_test_split(rest, test_size=val_fraction, stratify=y[rest],
                                      random_state=seed + fold)
        folds.append((np.sort(train), np.sort(val), np.sort(test)))
    return folds


def probe_accuracy(extractor, x_train, y_train, x_test, y_test, seed: int = 0,
                   batch_size: int = 16) -> float:
    """Test accuracy of a logistic regression on ``extractor``'s features (the extractor frozen,
    run ``batch_size`` images at a time: a 96×96 MobileNetV2 needs memory per image)."""
    return features.linear_probe(features.extract_features(extractor, x_train, batch_size=batch_size),
                                 y_train,
                                 features.extract_features(extractor, x_test, batch_size=batch_size),
                                 y_test, seed)

