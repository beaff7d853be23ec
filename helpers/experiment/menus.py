"""Notebook 06's tuning rule: every contender chooses its settings from a menu of the same size,
on validation, for every seed.

A menu is the augmentation policy crossed with four settings of the contender's own:

=====================  ====================================================================
contender              its own four settings
=====================  ====================================================================
pixel_logreg           C (inverse regularisation) 0.001, 0.01, 0.1, 1
random_features        BatchNormalization as initialised or calibrated × layer (2)
feature_extraction     BatchNormalization as pretrained or calibrated × layer (2)
scratch                learning rate 3e-3, 1e-3, 3e-4, 1e-4
fine_tuning            learning rate 1e-3, 3e-4, 1e-4, 3e-5
=====================  ====================================================================

The augmentation policies are ``AUGMENTATIONS``: none, shifts, shifts and flips. Flips are
offered only where a mirrored image keeps its class (not for digits), so every contender has 12
settings to choose from on the clothing targets and 8 on the digits: the same number for all.
"""

from __future__ import annotations

import itertools

from helpers import config

__all__ = ["AUGMENTATIONS", "BATCHNORM", "FEATURE_LAYERS", "PIXEL_C", "SCRATCH_LEARNING_RATES",
           "TUNE_LEARNING_RATES", "OWN_SETTINGS", "ONE_SETTING", "menu", "describe_setting",
           "on_edge"]

AUGMENTATIONS = config.AUGMENTATIONS
# BatchNormalization of a frozen network's features: the statistics its weights came with (the
# source's, or a random network's initial mean 0 and variance 1), or recalibrated on the sample.
# Short names, in the same order, for ``models.TWIN_BATCHNORM`` and ``models.PRETRAINED_BATCHNORM``:
# the random control is defined once, in helpers/models.py.
BATCHNORM = ("kept", "calibrated")
FEATURE_LAYERS = ("block3_relu1", "features")    # where a frozen network's features are read
PIXEL_C = (1e-3, 1e-2, 1e-1, 1.0)
SCRATCH_LEARNING_RATES = (3e-3, 1e-3, 3e-4, 1e-4)
TUNE_LEARNING_RATES = (1e-3, 3e-4, 1e-4, 3e-5)

OWN_SETTINGS = {
    "pixel_logreg": {"C": PIXEL_C},
    "random_features": {"batchnorm": BATCHNORM, "layer": FEATURE_LAYERS},
    "feature_extraction": {"batchnorm": BATCHNORM, "layer": FEATURE_LAYERS},
    "scratch": {"learning_rate": SCRATCH_LEARNING_RATES},
    "fine_tuning": {"learning_rate": TUNE_LEARNING_RATES},
}

# One setting each, for runs that cannot afford to tune (quick mode, the capstone's default
# learning curve): still the same menu size, one, for every contender, and the same
# BatchNormalization treatment for both frozen networks ("kept": the model card found the random
# twin stronger that way in most samples).
ONE_SETTING = {"pixel_logreg": {"C": (1e-2,)},
               "random_features": {"batchnorm": ("kept",), "layer": ("features",)},
               "feature_extraction": {"batchnorm": ("kept",), "layer": ("features",)},
               "scratch": {"learning_rate": (1e-3,)}, "fine_tuning": {"learning_rate": (1e-4,)}}


def menu(strategy: str, flips_keep_labels: bool = True, own: dict | None = None,
         augmentations=AUGMENTATIONS) -> list[dict]:
    """Every setting ``strategy`` may choose from: augmentation policy × its own settings.

    ``own`` replaces some of its own lists (e.g. a live run that tries fewer learning rates);
    ``augmentations`` narrows the policies. Flips are dropped where they change a label."""
    if strategy not in OWN_SETTINGS:
        raise ValueError(f"no menu for {strategy!r}: one of {tuple(OWN_SETTINGS)}")
    lists = dict(OWN_SETTINGS[strategy], **(own or {}))
    unknown = set(lists) - set(OWN_SETTINGS[strategy])
    if unknown:
        raise ValueError(f"{strategy} has no setting {sorted(unknown)}; it has {sorted(OWN_SETTINGS[strategy])}")
    augmentations = (augmentations,) if isinstance(augmentations, str) else tuple(augmentations)
    wrong = [a for a in augmentations if a not in AUGMENTATIONS]
    if wrong:
        raise ValueError(f"unknown augmentation policy {wrong}: each one of {AUGMENTATIONS}")
    augs = [a for a in augmentations if flips_keep_labels or "flips" not in a]
    if augmentations and not augs:
        raise ValueError(f"an empty menu for {strategy}: flips change this target's labels, so "
                         f"{tuple(augmentations)} leaves no augmentation policy; add one without flips")
    if not augs or any(not len(v) for v in lists.values()):
        raise ValueError(f"an empty menu for {strategy}: every setting needs at least one value")
    names = ["augmentation", *lists]
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(augs, *lists.values())]


def describe_setting(setting: dict) -> str:
    """``{"augmentation": "shifts", "learning_rate": 0.001}`` → ``"shifts, learning_rate=0.001"``."""
    parts = [setting["augmentation"]]
    parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
              for k, v in setting.items() if k != "augmentation"]
    return ", ".join(parts)


def on_edge(setting: dict, strategy: str) -> list[str]:
    """The numeric settings chosen at an end of their list (a sign the list may be too narrow)."""
    edges = []
    for name, values in OWN_SETTINGS[strategy].items():
        if all(isinstance(v, float) for v in values) and setting.get(name) in (values[0], values[-1]):
            edges.append(name)
    return edges
