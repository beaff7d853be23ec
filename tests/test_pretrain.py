"""The teacher's pretraining tool: the source's data, the card's assessment and its protocol.

These check what is measured and how (which split each choice sees, equal menus, the
multiplicity corrections, the cache keys), never which network wins."""

import copy
import json
import shutil

import numpy as np
import pytest
from scipy import stats as st

from helpers import config, data, glyphs, models, probes
from helpers.tools import pretrain
from helpers.tools.blocks import generated_block
from helpers.tools.cli import build_parser

SMALL = dict(tasks=("far",), budgets=(1,), seeds=2, layers=("block2_pool", "features"),
             progress=False)


def _smaller_far(monkeypatch, images: int = 100):
    """The far target with its validation and test splits cut to ``images`` each (its training
    split, where the few-shot samples come from, whole), wherever the assessment asks for it."""
    far = copy.copy(data.far_task())
    far.x_val, far.y_val = far.x_val[:images], far.y_val[:images]
    far.x_test, far.y_test = far.x_test[:images], far.y_test[:images]
    monkeypatch.setattr(data, "far_task", lambda: far)
    return far


def test_validation_assessment_never_reads_the_test_split(source_model, monkeypatch):
    far = _smaller_far(monkeypatch)
    before = pretrain.assess_on_validation(source_model, **SMALL)
    monkeypatch.setattr(far, "y_test", np.random.default_rng(0).permutation(far.y_test))
    monkeypatch.setattr(far, "x_test", np.zeros_like(far.x_test))
    assert pretrain.assess_on_validation(source_model, **SMALL) == before
    p = before["far"]["1"]
    assert p["n"] == 2 and p["bootstrap"][0] <= p["difference"] <= p["bootstrap"][1]


def test_the_two_assessments_split_the_data_as_documented():
    far = data.far_task()
    val = pretrain._target("far", "validation")
    half = len(far.y_val) // 2
    assert np.array_equal(val.x_val, far.x_val[:half]) and np.array_equal(val.x_test, far.x_val[half:])
    assert np.array_equal(val.y_test, far.y_val[half:])
    assert pretrain._target("far", "test") is far          # choices on all of validation, test read
    with pytest.raises(ValueError):
        pretrain._target("far", "train")


def test_held_out_choices_are_made_on_validation(source_model, monkeypatch):
    """Scrambling the test labels changes no choice (layer, BatchNormalization option, validation
    accuracy) of either arm; only the test scores can move."""
    far = _smaller_far(monkeypatch)
    kw = dict(val_images=None, test_images=None, progress=False)
    rows = probes.transferability(source_model, far, [1], [0, 1], SMALL["layers"], **kw)
    scrambled = copy.copy(far)
    scrambled.y_test = np.random.default_rng(0).permutation(far.y_test)
    again = probes.transferability(source_model, scrambled, [1], [0, 1], SMALL["layers"], **kw)
    for a, b in zip(rows, again, strict=True):
        for arm in ("pretrained", "random"):
            assert [a[f"{arm}_{k}"] for k in ("layer", "batchnorm", "val")] == \
                   [b[f"{arm}_{k}"] for k in ("layer", "batchnorm", "val")]
    # the scrambled labels did reach the scoring: some test score moved
    assert any(a[f"{arm}_test"] != b[f"{arm}_test"] for a, b in zip(rows, again, strict=True)
               for arm in ("pretrained", "random"))


def test_both_arms_choose_from_menus_of_the_same_size(source_model):
    """Each arm's choice is the best on validation over layer × C × its two BatchNormalization
    options, recomputed here by hand for the twin."""
    far = data.far_task()
    layers = SMALL["layers"]
    (row,) = probes.transferability(source_model, far, [1], [3], layers, val_images=None,
                                    test_images=None, progress=False)
    assert row["pretrained_batchnorm"] in models.PRETRAINED_BATCHNORM
    assert row["random_batchnorm"] in models.TWIN_BATCHNORM
    x, y = data.few_shot(far.x_train, far.y_train, 1, seed=3)
    twin = probes.random_twin(source_model, 3)
    calibrated = probes.random_twin(source_model, 3, calibrate_on=x)
    best = {}
    for option, net in zip(models.TWIN_BATCHNORM, (twin, calibrated), strict=True):
        train = probes.layer_features(net, layers, x)
        val = probes.layer_features(net, layers, far.x_val)
        best[option] = max(probes.tuned_probe(train[k], y, val[k], far.y_val, 3)[1] for k in layers)
    assert row["random_val"] == pytest.approx(max(best.values()))
    assert best[row["random_batchnorm"]] == pytest.approx(max(best.values()))


def test_paired_t_p_is_scipys_and_handles_equal_differences():
    a, b = [0.5, 0.6, 0.7, 0.65], [0.4, 0.45, 0.6, 0.7]
    assert pretrain.paired_t_p(a, b) == pytest.approx(st.ttest_rel(a, b).pvalue)
    assert pretrain.paired_t_p([0.5, 0.6], [0.4, 0.5]) == 0.0       # every difference +0.1
    assert pretrain.paired_t_p([0.5, 0.6], [0.5, 0.6]) == 1.0
    assert pretrain.paired_t_p([0.5], [0.4]) == 1.0


def test_multiplicity_correction_over_the_cells():
    table = {"t": {"1": {"p": 0.001, "verdict": "ahead"}, "2": {"p": 0.02, "verdict": "ahead"},
                   "5": {"p": 0.03, "verdict": "ahead"}},
             "u": {"1": {"p": 0.04, "verdict": "can't tell"}, "2": {"p": 0.9, "verdict": "can't tell"}}}
    pretrain.correct_for_multiplicity(table, 0.05)
    # Holm over 5: 0.001 <= 0.01 yes; 0.02 <= 0.0125 no (stop). BH: 0.03 <= 3 × 0.01 yes,
    # 0.04 <= 0.04 yes but its verdict is "can't tell": no claim, so it cannot survive
    assert [table["t"][b]["survives_holm"] for b in ("1", "2", "5")] == [True, False, False]
    assert [table["t"][b]["survives_bh"] for b in ("1", "2", "5")] == [True, True, True]
    assert not table["u"]["1"]["survives_bh"] and not table["u"]["1"]["survives_holm"]


def _cell(diff, p=0.01, verdict="ahead"):
    return {"mean_a": 0.5 + diff, "mean_b": 0.5, "difference": diff, "bootstrap": [diff - 0.02, diff + 0.02],
            "t": [diff - 0.03, diff + 0.03], "p": p, "verdict": verdict, "n": 5,
            "survives_holm": verdict != "can't tell", "survives_bh": verdict != "can't tell",
            "pretrained_batchnorm": dict.fromkeys(models.PRETRAINED_BATCHNORM, 0) | {"from the source": 5},
            "random_batchnorm": dict.fromkeys(models.TWIN_BATCHNORM, 0) | {"as initialised": 5}}


def _card(leak=True):
    table = {t: {b: _cell(0.1 * (i + 1)) for i, b in enumerate(("1", "2", "5"))}
             for t in ("look", "near", "far")}
    card = {"transferability_on_validation": table, "transferability_on_test": copy.deepcopy(table),
            "assessment": {"seeds": 5}}
    if leak:
        side = {"validation": {"1": _cell(0.2), "2": _cell(0.15)},
                "test": {"1": _cell(0.25), "2": _cell(0.18)}}
        card["leak_check"] = {"target": "far", "before_filter": side, "after_filter": side,
                              "removed_characters": {"count": 2, "characters": "ѕØ"}}
    return card


def test_the_card_table_shows_both_assessments_and_the_corrections():
    text = pretrain.assessment_markdown(_card())
    lines = text.splitlines()
    assert "held out" in lines[0] and "validation" in lines[0]
    assert lines[0].count("Holm 5%") == 2 and lines[0].count("BH 5%") == 2
    assert len([line for line in lines if line.startswith("| ") and line[2:6] in ("look", "near", "far ")]) == 9
    assert "**Held out: the test columns.**" in text and "5 few-shot samples" in text
    assert "Leak check" in text and "removed 2" in text and "`ѕØ`" in text
    assert "Leak check" not in pretrain.assessment_markdown(_card(leak=False))


def test_readme_card_block_is_generated_from_the_card():
    readme = (config.ROOT / "README.md").read_text()
    assert generated_block(readme, "card") == pretrain.assessment_markdown(models.model_card()), \
        "README's card table is stale: run `python -m helpers tables`"


def test_the_shipped_card_holds_both_assessments_and_the_leak_check():
    card = models.model_card()
    a = card["assessment"]
    assert a["held_out"] == "transferability_on_test" and a["seeds"] >= 5
    for split in ("validation", "test"):
        table = card[f"transferability_on_{split}"]
        assert set(table) == set(pretrain.ASSESS_TASKS)
        for by_budget in table.values():
            assert set(by_budget) == {str(b) for b in pretrain.ASSESS_BUDGETS}
            for p in by_budget.values():
                assert p["n"] == a["seeds"] and 0 <= p["p"] <= 1
                assert sum(p["random_batchnorm"].values()) == p["n"]
                assert set(p["random_batchnorm"]) == set(models.TWIN_BATCHNORM)
                assert set(p["pretrained_batchnorm"]) == set(models.PRETRAINED_BATCHNORM)
                assert not (p["survives_holm"] or p["survives_bh"]) or p["verdict"] != "can't tell"
    leak = card["leak_check"]
    for side in ("before_filter", "after_filter"):
        for split in ("validation", "test"):
            assert set(leak[side][split]) == {"1", "2"}
    assert leak["after_filter"]["test"]["1"]["difference"] == \
        card["transferability_on_test"]["far"]["1"]["difference"]
    gone = leak["removed_characters"]
    assert gone["count"] == len(gone["characters"]) > 0
    assert not set(gone["characters"]) & set(pretrain.glyphs_of(card))


def test_the_shipped_glyphs_pass_todays_filter():
    card = models.model_card()
    chars = pretrain.glyphs_of(card)
    assert len(chars) == pretrain.GLYPH_CLASSES and card["glyph_filter"]["fingerprint"] == \
        glyphs.filter_fingerprint()
    cover = glyphs._coverage(tuple(glyphs.font_files()))
    refused = {c: glyphs.digit_lookalike(c, cover[c]) for c in chars}
    assert not {c: why for c, why in refused.items() if why}


def test_glyph_cache_key_follows_the_filter_and_the_characters(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path)
    chosen = ["x", "N"]
    monkeypatch.setattr(pretrain, "GLYPH_CLASSES", 2)
    monkeypatch.setattr(glyphs, "choose_characters", lambda n, seed=0, files=None: list(chosen))
    _, _, names = pretrain.source_training_data(0)
    first = sorted(p.name for p in tmp_path.glob("glyphs-*.npz"))
    assert len(first) == 1 and glyphs.filter_fingerprint() in first[0]
    assert glyphs.characters_fingerprint(chosen) in first[0]
    assert names[6:] == ["glyph x (U+0078)", "glyph N (U+004E)"]
    assert pretrain.glyphs_of({"classes": names}) == chosen
    chosen[1] = "Ж"                                     # other characters: another file
    pretrain.source_training_data(0)
    monkeypatch.setattr(glyphs, "FILTER_VERSION", glyphs.FILTER_VERSION + 1)   # another filter
    pretrain.source_training_data(0)
    assert len(list(tmp_path.glob("glyphs-*.npz"))) == 3


def test_assess_only_rewrites_the_card_and_measures_the_leak_check(tmp_path, monkeypatch):
    """``pretrain --assess-only`` on a copy of the shipped model: both assessments and, with a
    model from before, the leak check; the model file itself is untouched."""
    monkeypatch.setattr(pretrain, "ASSESS_TASKS", ("far",))
    # one budget for the card and the leak check alike: the leak check reads its "after" cells
    # from the card's assessment, so its budgets must be among the card's
    monkeypatch.setattr(pretrain, "ASSESS_BUDGETS", (1,))
    monkeypatch.setattr(pretrain, "LEAK_BUDGETS", (1,))
    monkeypatch.setattr(pretrain, "ASSESS_LAYERS", ("features",))
    _smaller_far(monkeypatch)
    path = tmp_path / "source_cnn.keras"
    shutil.copy(config.SOURCE_MODEL_PATH, path)
    card = json.loads(config.SOURCE_MODEL_CARD.read_text())
    card["classes"] = card["classes"][:6] + [pretrain.glyph_name(c) for c in "xNЖ"]
    path.with_suffix(".json").write_text(json.dumps(card))
    before = tmp_path / "before.keras"
    shutil.copy(config.SOURCE_MODEL_PATH, before)
    old = dict(card, classes=card["classes"] + [pretrain.glyph_name("ѕ")])
    before.with_suffix(".json").write_text(json.dumps(old))
    written = pretrain.assess_and_save(path, before=before, seeds=2, progress=False)
    assert json.loads(path.with_suffix(".json").read_text()) == written
    assert written["transferability_on_test"]["far"]["1"]["n"] == 2
    leak = written["leak_check"]
    assert leak["removed_characters"]["count"] == 1 and leak["removed_characters"]["characters"] == "ѕ"
    assert leak["removed_characters"]["why"]["ѕ"].startswith("listed")
    # the same weights before and after: one protocol gives the same numbers
    assert leak["before_filter"]["test"] == leak["after_filter"]["test"]
    # assessed again without a model from before: the leak check is kept for the same weights
    again = pretrain.assess_and_save(path, seeds=2, progress=False)
    assert again["leak_check"] == leak


def test_pretrain_command_line():
    args = build_parser().parse_args(["pretrain", "--assess-only", "--before", "b.keras"])
    assert args.assess_only and args.before == "b.keras" and args.assess_seeds == pretrain.ASSESS_SEEDS
    args = build_parser().parse_args(["pretrain", "--no-assess"])
    assert args.no_assess and not args.assess_only and args.epochs is None
