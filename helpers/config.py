"""Paths, environment variables, quick mode, and the names every module agrees on, in one place.

Every environment variable the course reads starts with ``TLW_`` and is read here, nowhere else:

- ``TLW_QUICK``: ``1`` makes every notebook run its quick settings (tests, CI).
- ``TLW_DATA_DIR``: a folder holding the four Fashion-MNIST ``.gz`` files.
- ``TLW_PROGRESS_FILE``: where quiz answers are recorded.
- ``TLW_RESULTS_DIR``: where each notebook's recorded results go (default ``build/results``).
- ``TLW_OFFLINE``: ``1`` forbids every network access (downloads fail fast).
- ``TLW_STRICT``: ``1`` makes exercise checks raise ``AssertionError`` on a wrong answer.
- ``TLW_LEARNER``: who is answering the quizzes (orders their options; default the login name).

nbgrader sets ``NBGRADER_EXECUTION`` while it validates or autogrades: then the course runs
quick, checks are strict, and nothing is written to the learner's progress or results files.
(`make test` sets one more, ``TLW_TEST_RUN``, for its own wiring; the course never reads it.)

The names shared across modules live here too, as plain strings, so that checking a parameter
never imports TensorFlow: the targets (``TARGETS``) and the backbones a learner may choose
(``BACKBONE_CHOICES``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR", "INSTALLED", "ROOT", "DATASETS_DIR", "COMMITTED_RESULTS_DIR", "MODELS_DIR",
    "NOTEBOOKS_DIR", "SOLUTIONS_DIR", "BUILD_DIR", "CACHE_DIR", "DEBIAN_DATA_DIR",
    "SOURCE_MODEL_PATH", "SOURCE_MODEL_CARD", "TARGETS", "IMAGENET_BACKBONES", "BACKBONE_CHOICES", "AUGMENTATIONS",
    "user_cache_dir", "env_flag", "quick_mode", "autograding", "offline", "strict_checks",
    "data_dir_from_env", "progress_file", "results_dir", "learner_name", "keras_home",
    "user_data_dir",
]

# The targets, in the decision table's order: the same classes in a new look, new classes in the
# same look, new classes in a new look (helpers.data builds each; notebook 06 and the grid run them).
TARGETS = ("look", "near", "far")
# The ImageNet families the course builds from ``keras.applications`` (helpers.applications), and
# what the capstone's BACKBONE parameter takes: those, the course's own source CNN, or "auto".
IMAGENET_BACKBONES = ("MobileNetV2", "EfficientNetB0")
BACKBONE_CHOICES = ("auto", "source_cnn", *IMAGENET_BACKBONES)
# Notebook 06's augmentation policies (``experiment.menus``), here so that checking a parameter
# loads no TensorFlow.
AUGMENTATIONS = ("none", "shifts", "shifts and flips")

# Where the course's files are. In a checkout (a clone, `pip install -e .`) they sit in the
# repository's own folders, next to helpers/. An installed wheel (`pip install .`, Colab) carries
# the same files under helpers/_course/, in the same layout (pyproject.toml maps each folder
# there); then everything the course writes goes to the current folder (build/) and the user's
# cache folder, never into the installed package.
PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent
INSTALLED = not ((_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "models").is_dir())
ROOT = PACKAGE_DIR / "_course" if INSTALLED else _CHECKOUT

# read: shipped with the course
DATASETS_DIR = ROOT / "datasets"              # manifest.json; results/ (committed results)
COMMITTED_RESULTS_DIR = DATASETS_DIR / "results"
MODELS_DIR = ROOT / "models"
NOTEBOOKS_DIR = ROOT / "notebooks"            # quizzes/ (the question banks)
SOLUTIONS_DIR = ROOT / "solutions"


def user_cache_dir() -> Path:
    """Per-user cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``) of an installed course."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "transfer-learning-workbook"


# written: outputs (executed notebooks, results) and caches (verified checksums, features)
BUILD_DIR = Path.cwd() / "build" if INSTALLED else ROOT / "build"
CACHE_DIR = user_cache_dir() if INSTALLED else DATASETS_DIR / "cache"

DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")

SOURCE_MODEL_PATH = MODELS_DIR / "source_cnn.keras"
SOURCE_MODEL_CARD = MODELS_DIR / "source_cnn.json"

_TRUE = {"1", "true", "yes", "on"}


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to 1/true/yes/on."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def quick_mode(value: bool | None = None) -> bool:
    """Quick mode, from one channel: an explicit True/False (the notebook's ``QUICK`` parameter)
    always wins; ``None`` follows ``TLW_QUICK`` (off when unset)."""
    if value is not None:
        return bool(value)
    return env_flag("TLW_QUICK") or autograding()


def autograding() -> bool:
    """True while nbgrader executes the notebook (it sets ``NBGRADER_EXECUTION``)."""
    return bool(os.environ.get("NBGRADER_EXECUTION", "").strip())


def offline() -> bool:
    """True when the course must not touch the network (``TLW_OFFLINE=1``)."""
    return env_flag("TLW_OFFLINE")


def strict_checks() -> bool:
    """True when exercise checks must raise on a wrong answer (``TLW_STRICT=1``, or nbgrader)."""
    return env_flag("TLW_STRICT") or autograding()


def data_dir_from_env() -> Path | None:
    """The folder named by ``TLW_DATA_DIR``, if any."""
    value = os.environ.get("TLW_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def progress_file() -> Path:
    """Where quiz answers are recorded: ``TLW_PROGRESS_FILE``, else the user's data folder."""
    value = os.environ.get("TLW_PROGRESS_FILE", "").strip()
    return Path(value).expanduser() if value else user_data_dir() / "progress.json"


def results_dir() -> Path:
    """Where notebooks record their results: ``TLW_RESULTS_DIR``, else ``build/results``."""
    value = os.environ.get("TLW_RESULTS_DIR", "").strip()
    return Path(value) if value else BUILD_DIR / "results"


def learner_name() -> str | None:
    """Who is answering the quizzes, as ``TLW_LEARNER`` says (None when unset)."""
    return os.environ.get("TLW_LEARNER", "").strip() or None


def keras_home() -> Path:
    """Keras's own cache folder (``$KERAS_HOME`` or ``~/.keras``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


def user_data_dir() -> Path:
    """Per-user folder for the learner's own files (progress), outside the repository."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "transfer-learning-workbook"
