"""Fashion-MNIST's files: found, verified and read offline (or downloaded once, if allowed).

They are looked for in this order (``locate_fashion_mnist(report=True)`` prints it):

1. an explicit folder (argument ``data_dir`` or ``TLW_DATA_DIR``),
2. the project cache ``datasets/cache/fashion-mnist``,
3. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``),
4. Keras's cache ``$KERAS_HOME/datasets/fashion-mnist``,
5. a download into Keras's cache (only if every local place failed and ``TLW_OFFLINE`` is unset).

Every file is checked against the SHA-256 in ``datasets/manifest.json`` once; the result is
remembered (by path, size and modification time) so later loads skip the hashing. The tasks
built from these files are in ``helpers.data``, which re-exports every name here.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import urllib.request
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpers import config
from helpers.atomic import atomic_write_text

__all__ = [
    "MANIFEST_PATH", "VERIFIED_PATH", "FIX_COMMAND", "DataError", "DataNotFoundError",
    "ChecksumError", "manifest", "sha256_of", "verify_file", "candidate_dirs",
    "locate_fashion_mnist", "network_available", "download_fashion_mnist", "read_idx",
    "load_fashion_mnist",
]

MANIFEST_PATH = config.DATASETS_DIR / "manifest.json"
VERIFIED_PATH = config.CACHE_DIR / "verified.json"
FIX_COMMAND = "sudo apt-get install dataset-fashion-mnist   (or: make data)"


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
