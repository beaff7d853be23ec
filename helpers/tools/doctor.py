"""``python -m helpers doctor``: is this machine ready for the course? One table, each problem with its fix."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys
from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def check_packages() -> list[Check]:
    """Versions of the packages the course depends on."""
    checks = [Check("Python", sys.version_info >= (3, 11), platform.python_version(),
                    "use Python 3.11 or newer (make lab creates .venv with python3)")]
    for label, dists in [("TensorFlow", ("tensorflow-cpu", "tensorflow")), ("Keras", ("keras",)),
                         ("JupyterLab", ("jupyterlab",)), ("ipywidgets", ("ipywidgets",))]:
        found = next((v for v in map(_version, dists) if v), None)
        checks.append(Check(label, found is not None, found or "not installed",
                            "run `make setup` (installs the pinned versions into .venv)"))
    return checks


def check_devices() -> Check:
    """CPU count and any GPU TensorFlow sees (the course needs none)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    detail = f"{os.cpu_count()} CPU cores" + (f", {len(gpus)} GPU(s)" if gpus else ", no GPU (fine)")
    return Check("CPU/GPU", True, detail, required=False)


def check_data() -> Check:
    """Where Fashion-MNIST was found and whether it verified."""
    from helpers import data

    try:
        folder = data.locate_fashion_mnist(allow_download=False)
    except data.ChecksumError as err:
        return Check("Fashion-MNIST", False, str(err).splitlines()[0], "see the message above")
    except data.DataNotFoundError:
        return Check("Fashion-MNIST", False, "not found on this machine", data.FIX_COMMAND)
    return Check("Fashion-MNIST", True, f"{folder} (checksums verified)")


def check_model() -> Check:
    """Whether the shipped source model loads, and its recorded accuracy."""
    from helpers import config, models

    try:
        model = models.load_source_model(retrain_if_missing=False)
        card = models.model_card()
    except Exception as err:
        fix = ("reinstall the course (`pip install --force-reinstall transfer-learning-workbook`) "
               if config.INSTALLED else "`git checkout models/source_cnn.keras` ")
        return Check("source model", False, str(err).splitlines()[0],
                     fix + "or `python -m helpers pretrain`")
    return Check("source model", True,
                 f"{model.count_params():,} parameters, source test accuracy "
                 f"{card['source_test_accuracy']:.3f} (from its card)")


def check_network() -> Check:
    """Whether downloads could work (needed only for ImageNet weights)."""
    from helpers import config, data

    if config.offline():
        return Check("network", True, "TLW_OFFLINE=1: downloads are off", required=False)
    ok = data.network_available(timeout=2.0)
    return Check("network", True, "reachable" if ok else "unreachable: the course runs offline; "
                 "ImageNet weights need the network or a pre-seeded Keras cache", required=False)


def run_checks() -> list[Check]:
    checks = check_packages()
    for probe in (check_devices, check_data, check_model, check_network):
        try:
            checks.append(probe())
        except Exception as err:  # a broken install must still produce the table
            checks.append(Check(probe.__name__.removeprefix("check_"), False, repr(err),
                                "run `make setup`"))
    return checks


def format_table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  status  detail", "-" * (width + 60)]
    for c in checks:
        status = "ok" if c.ok else ("PROBLEM" if c.required else "note")
        lines.append(f"{c.name:<{width}}  {status:<6}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':<{width}}  {'':<6}  fix: {c.fix}")
    return "\n".join(lines)


def doctor() -> int:
    """Print the table; return 1 if the course cannot run here."""
    checks = run_checks()
    print(format_table(checks))
    bad = [c for c in checks if c.required and not c.ok]
    print("\nThe course can run here." if not bad else
          f"\n{len(bad)} problem(s) stop the course: fix them and run `make doctor` again.")
    return 1 if bad else 0
