"""helpers.experiment.analysis: summaries and verdicts, on rows made by hand (no training).

The verdict compares the transfer strategy validation ranks best with every control, paired by
seed on test; a cell where a network under-fitted gets none; the verdicts are corrected across
the cells judged. These tests check that machinery, never who wins.
"""

import json

import numpy as np
import pytest
from grid_rows import TEST, cell_rows
from scipy import stats as st

from helpers import experiment, stats
from helpers.experiment import analysis, reports

# A cell where the best transfer leads every control by these paired gains: p = 0.031 against
# each, "ahead" at 95% in the cell alone, but not after Holm's correction over three cells.
MARGINAL_GAIN = [0.02, 0.04, 0.01, 0.03, 0.005]


_rows = cell_rows


def _marginal(task="near", budget=20):
    base = [0.60, 0.62, 0.61, 0.60, 0.63]
    test = {c: base for c in experiment.CONTROLS}
    test["feature_extraction"] = [b + g for b, g in zip(base, MARGINAL_GAIN, strict=True)]
    test["fine_tuning"] = [b - 0.1 for b in base]
    val = {"pixel_logreg": 0.6, "random_features": 0.55, "scratch": 0.5,
           "feature_extraction": 0.8, "fine_tuning": 0.7}
    return _rows(task, budget, test, val)


def _under_fit(rows, strategy="scratch", seed=2):
    for r in rows:
        if r["strategy"] == strategy and r["seed"] == seed:
            r.update(fitted=False, under_fit=True)
    return rows


def _by_cell(verdict_rows):
    return {(v["task"], v["per_class"]): v for v in verdict_rows}


def test_verdict_compares_the_best_on_validation_not_on_test():
    v = experiment.verdicts(_rows())[0]
    # feature extraction has the best *test* scores, but validation ranks fine-tuning first
    assert (v["transfer"], v["control"]) == ("fine_tuning", "scratch")
    p = v["transfer_vs_control"]
    assert p["difference"] == pytest.approx(0.04) and p["n"] == 5
    assert p["verdict"] == "ahead" and set(v["transfer_vs_each"]) == set(experiment.CONTROLS)
    assert v["verdict"] == v["verdict_per_cell"] == "ahead"
    fe = v["feature_extraction_vs_random_features"]
    assert fe["difference"] == pytest.approx(0.2) and fe["verdict"] == "ahead"
    assert v["fine_tuning_vs_scratch"] == p
    # raise feature extraction's validation score, not its test scores: now it is compared
    rows = [dict(r, val_accuracy=0.9) if r["strategy"] == "feature_extraction" else r for r in _rows()]
    assert experiment.verdicts(rows)[0]["transfer"] == "feature_extraction"


def test_ahead_only_against_every_control():
    """Intersection-union: one control that transfer cannot beat makes it "can't tell"; one
    control ahead of transfer makes it "behind"."""
    rows = _rows()
    for r in rows:   # pixels now as good as fine-tuning on some seeds, worse on others
        if r["strategy"] == "pixel_logreg":
            r["accuracy"] = [0.80, 0.78, 0.80, 0.76, 0.80][r["seed"]]
    v = experiment.verdicts(rows)[0]
    assert v["transfer_vs_control"]["verdict"] == "ahead"          # against scratch (validation's pick)
    assert v["transfer_vs_each"]["pixel_logreg"]["verdict"] == "can't tell"
    assert v["verdict_per_cell"] == v["verdict"] == "can't tell" and v["p_value"] == 1.0
    for r in rows:
        if r["strategy"] == "pixel_logreg":
            r["accuracy"] += 0.1
    v = experiment.verdicts(rows)[0]
    assert v["verdict"] == "behind"
    behind = [p["p"] for p in v["transfer_vs_each"].values() if p["verdict"] == "behind"]
    assert v["p_value"] == pytest.approx(min(1.0, 3 * min(behind)))   # one of three controls


def test_p_values_are_the_paired_t_tests():
    v = experiment.verdicts(_rows())[0]
    for control, p in v["transfer_vs_each"].items():
        assert p["p"] == pytest.approx(st.ttest_rel(TEST["fine_tuning"], TEST[control]).pvalue,
                                       rel=1e-9), control
    # "ahead" of every control: the claim's p is the largest of the three
    assert v["p_value"] == max(p["p"] for p in v["transfer_vs_each"].values())
    m = experiment.verdicts(_marginal())[0]
    assert m["p_value"] == pytest.approx(st.ttest_1samp(MARGINAL_GAIN, 0).pvalue, rel=1e-9)
    assert analysis.p_value({"n": 1, "difference": 0.1, "sd": 0.0}) == 1.0


def test_an_under_fit_network_leaves_its_cell_without_a_verdict_and_out_of_the_family():
    rows = _rows() + _under_fit(_rows("far", 5))
    by = _by_cell(experiment.verdicts(rows))
    far = by["far", 5]
    assert far["verdict"] == "under-fit" and far["under_fit"] == ["scratch"]
    assert not far["survives_holm"] and not far["survives_bh"]
    assert by["near", 5]["cells_judged"] == far["cells_judged"] == 1
    assert by["near", 5]["verdict"] == "ahead"
    # its rows still count in the summary, which says how many seeds fitted
    s = experiment.cell(experiment.aggregate(rows), "far", 5, "scratch")
    assert (s["fitted"], s["seeds"]) == (4, 5)
    assert "NO VERDICT: scratch CNN (random init) did not fit" in reports.format_verdicts(list(by.values()))


def test_rows_from_before_the_rule_are_judged_by_their_training_accuracy():
    """Rows with no ``under_fit`` (older grid files): a network trained end to end that ended
    below FIT_LEVEL on its own sample counts as under-fitted; the frozen-feature heads do not."""
    old = {k: v for k, v in _rows()[0].items() if k not in ("fitted", "under_fit")}
    assert analysis.fitted(dict(old, strategy="scratch", train_accuracy=1.0))
    assert not analysis.fitted(dict(old, strategy="fine_tuning", train_accuracy=0.5))
    assert analysis.fitted(dict(old, strategy="random_features", train_accuracy=0.5))


def test_holm_keeps_a_cell_verdict_only_if_it_survives_across_the_cells_judged():
    strong, two_marginal = _rows(), _marginal("near", 20) + _marginal("far", 20)
    under = _under_fit(_rows("look", 5), "fine_tuning", 0)
    found = experiment.verdicts(strong + two_marginal + under)
    by = _by_cell(found)
    judged = [v for v in found if v["verdict"] != "under-fit"]
    assert [v["cells_judged"] for v in found] == [3] * 4 and len(judged) == 3
    ps = [v["p_value"] for v in judged]
    assert [v["survives_holm"] for v in judged] == stats.holm(ps)
    assert [v["survives_bh"] for v in judged] == stats.benjamini_hochberg(ps)
    assert by["near", 5]["verdict"] == "ahead" and by["near", 5]["survives_holm"]
    for cell in (("near", 20), ("far", 20)):
        v = by[cell]
        assert v["verdict_per_cell"] == "ahead" and v["p_value"] < 0.05   # ahead in the cell alone
        assert not v["survives_holm"] and v["verdict"] == "can't tell"    # not across the grid
        assert v["survives_bh"]                                             # a weaker guarantee
        text = reports.format_verdicts([v])
        assert "CAN'T TELL (ahead in this cell alone, p = 0.031, but not across the 3 cells" in text
    # the under-fit cell is no part of the family: the others' verdicts are the same without it
    without = _by_cell(experiment.verdicts(strong + two_marginal))
    for cell, v in without.items():
        assert (v["verdict"], v["survives_holm"], v["survives_bh"]) == \
            (by[cell]["verdict"], by[cell]["survives_holm"], by[cell]["survives_bh"])


@pytest.mark.parametrize("case", ["marginal ahead", "can't tell", "behind"])
def test_with_one_cell_the_verdict_is_the_cells_own(case):
    rows = _marginal()
    if case == "can't tell":
        rows = [dict(r, accuracy=r["accuracy"] + (0.05 if r["seed"] == 0 else -0.01))
                if r["strategy"] == "feature_extraction" else r for r in rows]
    if case == "behind":
        rows = [dict(r, accuracy=r["accuracy"] - 0.2) if r["strategy"] == "feature_extraction"
                else r for r in rows]
    (v,) = experiment.verdicts(rows)
    expected = {"marginal ahead": "ahead", "can't tell": "can't tell", "behind": "behind"}[case]
    assert v["verdict_per_cell"] == expected and v["verdict"] == expected
    assert v["cells_judged"] == 1
    assert v["survives_holm"] == (case != "can't tell")


def test_aggregate_uses_the_sample_sd_and_save(tmp_path):
    summary = experiment.aggregate(_rows())
    fe = experiment.cell(summary, "near", 5, "feature_extraction")
    assert fe["accuracy_mean"] == pytest.approx(0.812)
    assert fe["accuracy_sd"] == pytest.approx(np.std(TEST["feature_extraction"], ddof=1))
    assert fe["fitted"] == fe["seeds"] == 5
    assert experiment.best_on_validation(summary, "near", 5, experiment.CONTROLS) == "scratch"
    assert "0.812 ± 0.013" in experiment.format_summary(summary)
    experiment.save_results(tmp_path / "g.json", _rows(), {"SEEDS": 5})
    saved = json.loads((tmp_path / "g.json").read_text())
    assert saved["parameters"] == {"SEEDS": 5} and len(saved["verdicts"]) == 1
    assert saved["verdicts"][0]["verdict"] == "ahead"
    with pytest.raises(KeyError):
        experiment.cell(summary, "far", 5, "scratch")


def test_a_part_with_some_contenders_has_no_verdicts_until_merged(tmp_path):
    part = [r for r in _rows() if r["strategy"] in experiment.CHEAP]
    assert not experiment.has_every_contender(part) and experiment.has_every_contender(_rows())
    experiment.save_results(tmp_path / "p.json", part, {})
    assert experiment.load_results(tmp_path / "p.json")["verdicts"] == []


def test_extra_seeds_of_the_cheap_contenders_pair_only_with_what_shares_them():
    """Seeds 5-9 for the cheap contenders: comparisons among them use ten pairs, comparisons
    with scratch or fine-tuning the five seeds both ran; validation ranks on shared seeds."""
    rows = _rows()
    for seed in range(5, 10):
        for s in experiment.CHEAP:
            r = dict(next(x for x in rows if x["strategy"] == s and x["seed"] == 0))
            # extra seeds where feature extraction scores high on validation: must not count
            # when it is ranked against fine-tuning, which did not run them
            r.update(seed=seed, sample=f"s{seed}", accuracy=r["accuracy"] + 0.01,
                     val_accuracy=0.99 if s == "feature_extraction" else r["val_accuracy"])
            rows.append(r)
    assert experiment.seed_counts(rows) == (5, {s: {"near 5": [5, 6, 7, 8, 9]} for s in experiment.CHEAP})
    v = experiment.verdicts(rows)[0]
    assert v["transfer"] == "fine_tuning"             # ranked on seeds 0-4, where it leads
    assert v["feature_extraction_vs_random_features"]["n"] == 10
    assert v["fine_tuning_vs_scratch"]["n"] == 5 and v["transfer_vs_each"]["pixel_logreg"]["n"] == 5


def test_shared_seeds_need_not_start_at_zero():
    rows = _rows()
    for r in rows:
        r["seed"] += 3                               # seeds 3..7 for every contender
    assert experiment.seed_counts(rows) == (5, {})
    extra = dict(rows[0], seed=9, sample="s9")       # one contender, one more seed
    assert experiment.seed_counts(rows + [extra]) == (5, {rows[0]["strategy"]: {"near 5": [9]}})
    assert experiment.on_shared_seeds(rows + [extra]) == rows


def test_whole_split_cells_are_found_by_their_single_sample():
    rows = [dict(r, sample="whole", train_images=1008) for r in _rows("far", 100)]
    assert experiment.whole_split_cells(rows + _rows()) == {("far", "100"): 1008}


def test_edge_choices_count_settings_chosen_at_an_end_of_their_list():
    rows = _rows()
    lrs = experiment.SCRATCH_LEARNING_RATES
    for r in rows:
        if r["strategy"] == "scratch":      # seeds 0 and 1 at an end, the others inside
            r["setting"] = {"augmentation": "shifts", "learning_rate": lrs[0] if r["seed"] < 2 else lrs[1]}
        if r["strategy"] == "random_features":
            r["setting"] = {"augmentation": "none", "batchnorm": "kept", "layer": "features"}
    assert analysis.edge_choices(rows) == {"scratch": (2, 5), "random_features": (0, 5)}
