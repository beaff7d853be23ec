"""helpers.experiment.menus: every contender chooses among the same number of settings.

These tests check the protocol, never who wins.
"""

import pytest

from helpers import experiment, models
from helpers.experiment import menus


@pytest.mark.parametrize("flips, size", [(True, 12), (False, 8)])
def test_every_contender_has_a_menu_of_the_same_size(flips, size):
    """Augmentation policy (3 with flips, 2 without) x four settings of its own, for all five."""
    sizes = {s: len(menus.menu(s, flips)) for s in experiment.STRATEGIES}
    assert sizes == dict.fromkeys(experiment.STRATEGIES, size)
    for s in experiment.STRATEGIES:
        m = menus.menu(s, flips)
        assert len({tuple(sorted(setting.items())) for setting in m}) == size, s   # no repeats
        assert {setting["augmentation"] for setting in m} == \
            set(menus.AUGMENTATIONS if flips else ("none", "shifts")), s
        assert all(set(setting) == {"augmentation", *menus.OWN_SETTINGS[s]} for setting in m), s


def test_menus_cover_each_contenders_own_lists():
    own = {s: {k: {setting[k] for setting in menus.menu(s)} for k in lists}
           for s, lists in menus.OWN_SETTINGS.items()}
    assert own["pixel_logreg"] == {"C": set(menus.PIXEL_C)}
    assert own["scratch"] == {"learning_rate": set(menus.SCRATCH_LEARNING_RATES)}
    assert own["fine_tuning"] == {"learning_rate": set(menus.TUNE_LEARNING_RATES)}
    for s in ("random_features", "feature_extraction"):
        assert own[s] == {"batchnorm": set(menus.BATCHNORM), "layer": set(menus.FEATURE_LAYERS)}
    # four settings of its own, for every contender
    assert all(len(menus.menu(s, own=None, augmentations=("none",))) == 4
               for s in experiment.STRATEGIES)


def test_no_flips_where_a_mirror_changes_the_label(far, near):
    """A mirrored digit is not that digit: the digits' menus offer no flips."""
    assert far.meta["flip_preserves_label"] is False and near.meta["flip_preserves_label"] is True
    assert all("flips" not in s["augmentation"] for s in menus.menu("scratch", False))
    kinds = [type(layer).__name__ for layer in models.augmentation(flip=False).layers]
    assert "RandomFlip" not in kinds and "RandomTranslation" in kinds


def test_one_setting_gives_every_contender_a_menu_of_one():
    assert set(menus.ONE_SETTING) == set(experiment.STRATEGIES)
    for flips in (True, False):
        for s in experiment.STRATEGIES:
            (only,) = menus.menu(s, flips, menus.ONE_SETTING[s], augmentations=("shifts",))
            assert only["augmentation"] == "shifts"
            for k, v in menus.ONE_SETTING[s].items():   # each value is one from the full list
                assert only[k] == v[0] and v[0] in menus.OWN_SETTINGS[s][k]


def test_narrowed_menus():
    m = menus.menu("scratch", True, {"learning_rate": (1e-3, 1e-4)}, ("none", "shifts"))
    assert m == [{"augmentation": a, "learning_rate": lr}
                 for a in ("none", "shifts") for lr in (1e-3, 1e-4)]
    # narrowing one list of two keeps the other whole
    m = menus.menu("random_features", True, {"layer": ("features",)}, ("none",))
    assert [s["batchnorm"] for s in m] == list(menus.BATCHNORM)
    # flips are dropped where they change labels, even when asked for
    assert [s["augmentation"] for s in menus.menu("pixel_logreg", False, {"C": (1.0,)})] == \
        ["none", "shifts"]


def test_bad_menus_raise_clear_errors():
    with pytest.raises(ValueError, match=r"scratch has no setting \['C'\]; it has \['learning_rate'\]"):
        menus.menu("scratch", own={"C": (1.0,)})
    with pytest.raises(ValueError, match="no menu for 'magic'"):
        menus.menu("magic")
    with pytest.raises(ValueError, match="an empty menu for pixel_logreg"):
        menus.menu("pixel_logreg", own={"C": ()})
    with pytest.raises(ValueError, match="an empty menu for scratch"):
        menus.menu("scratch", augmentations=())
    with pytest.raises(ValueError, match="flips"):          # the only policy asked for flips
        menus.menu("scratch", False, augmentations=("shifts and flips",))


def test_describe_setting():
    assert menus.describe_setting({"augmentation": "shifts", "learning_rate": 0.001}) == \
        "shifts, learning_rate=0.001"
    assert menus.describe_setting({"augmentation": "none", "C": 1.0}) == "none, C=1"
    assert menus.describe_setting({"augmentation": "shifts and flips", "batchnorm": "kept",
                                   "layer": "features"}) == \
        "shifts and flips, batchnorm=kept, layer=features"


def test_on_edge_names_numeric_settings_at_an_end_of_their_list():
    lrs = menus.SCRATCH_LEARNING_RATES
    assert menus.on_edge({"augmentation": "none", "learning_rate": lrs[0]}, "scratch") == ["learning_rate"]
    assert menus.on_edge({"augmentation": "none", "learning_rate": lrs[-1]}, "scratch") == ["learning_rate"]
    assert menus.on_edge({"augmentation": "none", "learning_rate": lrs[1]}, "scratch") == []
    assert menus.on_edge({"augmentation": "none", "C": menus.PIXEL_C[-1]}, "pixel_logreg") == ["C"]
    # the feature contenders' settings are names, with no ends
    for setting in menus.menu("feature_extraction"):
        assert menus.on_edge(setting, "feature_extraction") == []


def test_unknown_augmentation_policies_are_refused_not_read_as_shifts():
    with pytest.raises(ValueError, match=r"unknown augmentation policy \['rotations'\]"):
        menus.menu("pixel_logreg", augmentations=("none", "rotations"))
    assert menus.menu("scratch", augmentations="shifts") == \
        menus.menu("scratch", augmentations=("shifts",))      # one policy by name


def test_one_setting_treats_both_frozen_networks_alike():
    """The random control and pretrained feature extraction get the same BatchNormalization."""
    assert (menus.ONE_SETTING["random_features"]["batchnorm"]
            == menus.ONE_SETTING["feature_extraction"]["batchnorm"])
