"""helpers.params: one rule for every notebook parameter, defaults pass, bad values are named."""

import subprocess
import sys

import pytest

from helpers import params
from helpers.tools import runner

NOTEBOOKS = runner.all_notebooks()

# A value each rule refuses, with the text the message must carry.
BAD = {
    "QUICK": ("yes", "QUICK must be True, False or None (None follows TLW_QUICK), not 'yes'"),
    "SEED": (-1, "SEED=-1 is out of range; allowed: an integer >= 0"),
    "SEEDS": (0, "SEEDS=0 is out of range; allowed: an integer >= 1"),
    "EPOCHS": (-3, "EPOCHS=-3 is out of range; allowed: an integer >= 1"),
    "LABELS_PER_CLASS": (2.5, "LABELS_PER_CLASS must be an integer >= 1, not 2.5"),
    "BATCH_SIZE": ("32", "BATCH_SIZE must be an integer >= 1, not '32'"),
    "TEST_IMAGES": (0, "TEST_IMAGES=0 is out of range; allowed: an integer >= 1"),
    "VAL_IMAGES": (0, "VAL_IMAGES=0 is out of range; allowed: an integer >= 1"),
    "TIMING_IMAGES": (10, "TIMING_IMAGES=10 is out of range; allowed: an integer >= 64"),
    "TIMING_EPOCHS": (1, "TIMING_EPOCHS=1 is out of range; allowed: an integer >= 2"),
    "PRETEXT_IMAGES": (99, "PRETEXT_IMAGES=99 is out of range; allowed: an integer >= 100"),
    "PRETEXT_EPOCHS": (True, "PRETEXT_EPOCHS must be an integer >= 1, not True"),
    "LABEL_BUDGETS": ("5,all", "LABEL_BUDGETS='5,all' is out of range; allowed: comma-separated"),
    "ASSESS_SEEDS": (0, "ASSESS_SEEDS=0 is out of range; allowed: an integer >= 1"),
    "ASSESS_BUDGETS": ("1,,5", "ASSESS_BUDGETS='1,,5' is out of range; allowed: comma-separated"),
    "TARGET": ("moon", "TARGET='moon' is out of range; allowed: 'look', 'near' or 'far'"),
    "FULL_GRID": (1, "FULL_GRID must be True or False, not 1"),
    "SOURCE_IMAGES": (0, "SOURCE_IMAGES=0 is out of range; allowed: an integer >= 1"),
    "TINY_EPOCHS": (0, "TINY_EPOCHS=0 is out of range; allowed: an integer >= 1"),
    "K_FOLDS": (1, "K_FOLDS=1 is out of range; allowed: an integer >= 2"),
    "KFOLD_IMAGES": (49, "KFOLD_IMAGES=49 is out of range; allowed: an integer >= 50"),
    "PHOTO_EPOCHS": (0, "PHOTO_EPOCHS=0 is out of range; allowed: an integer >= 1"),
    "TABULAR_EPOCHS": (-1, "TABULAR_EPOCHS=-1 is out of range; allowed: an integer >= 1"),
    "IMAGE_DIR": (3, "IMAGE_DIR must be None (the example folder) or a folder path as a string"),
    "BACKBONE": ("resnet", "BACKBONE='resnet' is out of range; allowed: 'auto', 'source_cnn'"),
    "MAX_STEPS": (5, "MAX_STEPS=5 is out of range; allowed: an integer >= 10"),
    "AUGMENTATIONS": ("shifts,rotations", "AUGMENTATIONS='shifts,rotations' is out of range"),
}


def test_every_rule_has_a_bad_value_here():
    assert set(BAD) == set(params.PARAMETERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_rule_and_its_default_passes(path):
    defaults = runner.notebook_parameters(path)
    assert {"QUICK", "SEED"} <= set(defaults)
    missing = set(defaults) - set(params.PARAMETERS)
    assert not missing, f"{path.stem}: no rule in helpers/params.py for {sorted(missing)}"
    assert params.check(path.stem, **defaults) == defaults
    assert params.check_all(path.stem, {**defaults, "np": object(), "HEAD_LR": -1}) == defaults


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_bad_values_name_notebook_parameter_value_and_allowed(path):
    defaults = runner.notebook_parameters(path)
    for name in defaults:
        value, message = BAD[name]
        with pytest.raises(ValueError) as err:  # a ValueError to anyone who catches that
            params.check_all(path.stem, {**defaults, name: value})
        assert isinstance(err.value, params.ParameterError)
        assert str(err.value).startswith(f"{path.stem}: ") and message in str(err.value), str(err.value)
        # the runner refuses it with the same wording before any kernel starts (from the
        # command line every value is a string, so "32" is not a type error there)
        if name != "BATCH_SIZE":
            with pytest.raises(runner.ParameterError) as from_runner:
                runner.validate_parameters(path, {name: str(value)})
            said = str(from_runner.value)
            assert said.startswith(f"{path.stem}: {name}") and params.PARAMETERS[name][2] in said


@pytest.mark.parametrize("name, good", [
    ("QUICK", [None, True, False]), ("SEED", [0, 7]), ("LABEL_BUDGETS", ["5", 5, "2,20", "1, 2"]),
    ("ASSESS_BUDGETS", ["1,2,5", 3]), ("TARGET", ["look", "near", "far"]),
    ("FULL_GRID", [True, False]), ("TIMING_EPOCHS", [2]), ("TIMING_IMAGES", [64]),
])
def test_allowed_values_pass(name, good):
    for value in good:
        assert params.check("nb", **{name: value}) == {name: value}


def test_a_name_without_a_rule_is_refused_by_check():
    with pytest.raises(params.ParameterError, match="EPOCHZ has no rule"):
        params.check("04_fine_tuning", EPOCHZ=3)


def test_targets_and_backbones_have_one_home():
    """TARGET and BACKBONE take config's lists; notebook 06's grid runs those same targets."""
    from helpers import config, experiment

    assert params.TARGETS is config.TARGETS and params.BACKBONES is config.BACKBONE_CHOICES
    assert tuple(experiment.TASKS) == config.TARGETS


def test_checking_is_cheap():
    """The notebooks call it before anything else: no TensorFlow, Keras or NumPy behind it."""
    code = ("import sys\nfrom helpers import params\nparams.check_all('x', {'EPOCHS': 3})\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'numpy', 'nbformat') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=runner.config.ROOT)
    assert out.stdout.strip() == "[]"


def test_start_applies_quick_sizes_seeds_and_opens_the_recorder(capsys):
    from helpers import results

    ns = {"QUICK": True, "SEED": 3, "EPOCHS": 8, "VAL_IMAGES": 100}
    rec = params.start("02_freezing_layers", ns, quick=dict(EPOCHS=3, VAL_IMAGES=400))
    assert ns["EPOCHS"] == 3 and ns["VAL_IMAGES"] == 100       # the smaller value wins
    assert results.current() is rec and rec.data["parameters"]["EPOCHS"] == 3
    said = capsys.readouterr().out
    assert "quick mode on (EPOCHS 8 -> 3)" in said and "seed 3" in said
    ns = {"QUICK": False, "SEED": 0, "EPOCHS": 8}
    params.start("02_freezing_layers", ns, quick=dict(EPOCHS=3))
    assert ns["EPOCHS"] == 8 and "quick mode off" in capsys.readouterr().out


def test_start_stops_a_bad_value_before_anything_runs():
    with pytest.raises(params.ParameterError, match="02_freezing_layers: EPOCHS=0 is out of range"):
        params.start("02_freezing_layers", {"QUICK": None, "SEED": 0, "EPOCHS": 0})
