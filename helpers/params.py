"""The notebooks' parameters: one list of rules, checked the same way by every client.

Each notebook's ``parameters`` cell sets names such as ``EPOCHS = 12``; papermill,
``python -m helpers run -p NAME VALUE``, nbgrader or a learner editing the cell may change them.
The first code cell after it calls::

    from helpers import params
    params.check_all("04_fine_tuning", globals())

so a bad value stops the notebook at once with the same message the runner gives before it starts
a kernel, e.g. ``04_fine_tuning: EPOCHS=-3 is out of range; allowed: an integer >= 1``, instead of
an error many cells later. This module imports nothing heavy (no TensorFlow): it costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from helpers import config, results

__all__ = ["TARGETS", "BACKBONES", "PARAMETERS", "ParameterError", "check_value", "check",
           "check_all", "start"]

# What TARGET and BACKBONE take: config's lists (plain strings there, so that checking a
# parameter never imports TensorFlow, NumPy or the modules that build the targets and backbones).
TARGETS = config.TARGETS
BACKBONES = config.BACKBONE_CHOICES


def _positive(v) -> bool:
    return v >= 1


def _non_negative(v) -> bool:
    return v >= 0


def _int_list(v) -> bool:
    """``"1,2,5"`` (or a single integer, as papermill passes ``-p LABEL_BUDGETS 5``)."""
    parts = [p.strip() for p in str(v).split(",")]
    return all(p.isdigit() and int(p) >= 1 for p in parts)


def _augmentations(value: str) -> bool:
    """Augmentation policies of notebook 06's menus (``experiment.AUGMENTATIONS``)."""
    found = [a.strip() for a in value.split(",") if a.strip()]
    return bool(found) and all(a in config.AUGMENTATIONS for a in found)


def _target(v) -> bool:
    return v in TARGETS


def _image_dir(v) -> bool:
    """None (the offline example folder) or a non-empty path written as a string."""
    return v is None or (isinstance(v, str) and bool(v.strip()))


# name → (type, check, description of the allowed values). ``type`` is bool, int, str or None
# (``None`` for QUICK: None, True or False); a ``str`` rule also takes an int (``-p NAME 5``).
PARAMETERS = {
    "QUICK": (None, lambda v: v is None or isinstance(v, bool),
              "True, False or None (None follows TLW_QUICK)"),
    "SEED": (int, _non_negative, "an integer >= 0"),
    "SEEDS": (int, _positive, "an integer >= 1"),
    "EPOCHS": (int, _positive, "an integer >= 1"),
    "LABELS_PER_CLASS": (int, _positive, "an integer >= 1"),
    "BATCH_SIZE": (int, _positive, "an integer >= 1"),
    "TEST_IMAGES": (int, _positive, "an integer >= 1"),
    "VAL_IMAGES": (int, _positive, "an integer >= 1"),
    "TIMING_IMAGES": (int, lambda v: v >= 64, "an integer >= 64"),
    "TIMING_EPOCHS": (int, lambda v: v >= 2, "an integer >= 2 (the first epoch is not timed)"),
    "PRETEXT_IMAGES": (int, lambda v: v >= 100, "an integer >= 100"),
    "PRETEXT_EPOCHS": (int, _positive, "an integer >= 1"),
    "LABEL_BUDGETS": (str, _int_list, "comma-separated integers >= 1, e.g. '5' or '2,20'"),
    "ASSESS_SEEDS": (int, _positive, "an integer >= 1"),
    "ASSESS_BUDGETS": (str, _int_list, "comma-separated integers >= 1, e.g. '1,2,5'"),
    "TARGET": (str, _target, ", ".join(repr(t) for t in TARGETS[:-1]) + f" or {TARGETS[-1]!r}"),
    "FULL_GRID": (bool, lambda v: True, "True or False"),
    "SOURCE_IMAGES": (int, _positive, "an integer >= 1"),
    "TINY_EPOCHS": (int, _positive, "an integer >= 1"),
    "K_FOLDS": (int, lambda v: v >= 2, "an integer >= 2"),
    "KFOLD_IMAGES": (int, lambda v: v >= 50, "an integer >= 50"),
    "PHOTO_EPOCHS": (int, _positive, "an integer >= 1"),
    "TABULAR_EPOCHS": (int, _positive, "an integer >= 1"),
    "IMAGE_DIR": (None, _image_dir, "None (the example folder) or a folder path as a string, "
                  "e.g. '/home/me/photos', with one subfolder per class"),
    "BACKBONE": (str, lambda v: v in BACKBONES,
                 ", ".join(repr(b) for b in BACKBONES[:-1]) + f" or {BACKBONES[-1]!r}"),
    "MAX_STEPS": (int, lambda v: v >= 10, "an integer >= 10"),
    "AUGMENTATIONS": (str, _augmentations, "policies from 'none', 'shifts', 'shifts and flips', "
                      "separated by commas, e.g. 'none,shifts'"),
}


class ParameterError(ValueError):
    """A parameter that a notebook does not take, or a value it cannot use."""


def check_value(notebook: str, name: str, value, shown=None):
    """``value`` if it is allowed for ``name``, else ParameterError naming the notebook, the
    parameter, the value (``shown``, when the caller had it in another form) and what is allowed.
    A name without a rule is an error too: every parameter must have one."""
    shown = value if shown is None else shown
    if name not in PARAMETERS:
        raise ParameterError(f"{notebook}: {name} has no rule in helpers/params.py; "
                             f"known parameters: {', '.join(sorted(PARAMETERS))}")
    kind, ok, allowed = PARAMETERS[name]
    if kind is bool and not isinstance(value, bool):
        raise ParameterError(f"{notebook}: {name} must be {allowed}, not {shown!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ParameterError(f"{notebook}: {name} must be {allowed}, not {shown!r}")
    if kind is str and (isinstance(value, bool) or not isinstance(value, (str, int))):
        raise ParameterError(f"{notebook}: {name} must be {allowed}, not {shown!r}")
    if kind is None and not ok(value):
        raise ParameterError(f"{notebook}: {name} must be {allowed}, not {shown!r}")
    if not ok(value):
        raise ParameterError(f"{notebook}: {name}={value!r} is out of range; allowed: {allowed}")
    return value


def check(notebook: str, **values) -> dict:
    """Check the named values, e.g. ``check("04_fine_tuning", EPOCHS=EPOCHS)``; return them."""
    return {name: check_value(notebook, name, value) for name, value in values.items()}


def check_all(notebook: str, namespace: Mapping) -> dict:
    """Check every parameter found in ``namespace`` (a notebook passes ``globals()``); return
    the checked names and values. Names without a rule (``np``, ``VAL_IMAGES``...) are left alone."""
    return check(notebook, **{name: namespace[name] for name in PARAMETERS if name in namespace})


def start(notebook: str, namespace: dict, quick: Mapping | None = None):
    """A notebook's first line of setup: check every parameter, settle ``QUICK``, apply the
    quick-mode sizes, set the seed and open the notebook's results recorder (returned).

    ``quick`` maps a parameter to its quick-mode size, e.g. ``quick=dict(EPOCHS=3)``: in quick mode
    each named value becomes the smaller of the two (so an explicit smaller value is kept), and
    the line printed says what changed. The names are written back into ``namespace``.
    """
    check_all(notebook, namespace)
    is_quick = namespace["QUICK"] = config.quick_mode(namespace.get("QUICK"))
    changed = []
    for name, size in (quick or {}).items() if is_quick else ():
        old = namespace.get(name, size)
        namespace[name] = min(old, size)
        if namespace[name] != old:
            changed.append(f"{name} {old} -> {namespace[name]}")
    if "SEED" in namespace:
        # lazy: helpers.models brings Keras, and parameter checks must stay cheap
        from helpers.models import set_seed

        set_seed(namespace["SEED"])
    kept = {name: namespace[name] for name in PARAMETERS if name in namespace}
    print(f"{notebook}: quick mode {'on' if is_quick else 'off'}"
          + (f" ({', '.join(changed)})" if changed else "")
          + (f", seed {namespace['SEED']}" if "SEED" in namespace else ""))
    return results.Recorder(notebook, kept)
