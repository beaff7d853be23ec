"""The experiment's protocol: same samples, same budgets, choices on validation, controls present.

These tests never check who wins; notebook 06 prints whatever the run finds.
"""

import copy
import json

import numpy as np
import pytest

from helpers import data, experiment, models, traced


def test_training_steps_same_budget_rules():
    assert experiment.training_steps(20, 32) == experiment.MIN_STEPS
    assert experiment.training_steps(4000, 32) == experiment.MAX_STEPS
    assert experiment.training_steps(1000, 32, 10, 10_000, epochs=2) == 64


def test_every_transfer_strategy_has_a_random_init_control():
    assert set(experiment.CONTROL_OF) == set(experiment.TRANSFER)
    assert set(experiment.CONTROL_OF.values()) <= set(experiment.CONTROLS)
    assert not set(experiment.CONTROLS) & set(experiment.TRANSFER)
    assert set(experiment.NETWORKS) == {"random_features", "scratch", "feature_extraction", "fine_tuning"}


def test_augmented_copies_keep_labels_and_vary_images():
    far = data.far_task()
    x, y = data.few_shot(far.x_train, far.y_train, 2, seed=0)
    xa, ya = experiment.augmented_copies(x, y, copies=3, seed=0, flip=False)
    assert xa.shape == (4 * len(y), 28, 28, 1) and np.array_equal(ya, np.tile(y, 4))
    assert np.array_equal(xa[:len(y)], x) and not np.array_equal(xa[len(y):2 * len(y)], x)
    again, _ = experiment.augmented_copies(x, y, copies=3, seed=0, flip=False)
    assert np.array_equal(xa, again)


@pytest.mark.parametrize("strategy", ["pixel_logreg", "random_features", "feature_extraction"])
def test_cheap_contenders_report_all_measures(strategy):
    far = data.far_task()
    r = experiment.run_cell(far, strategy, 5, seed=0, steps=20, test_images=100, val_images=100)
    assert r["train_images"] == 50 and r["strategy"] == strategy
    for key in ("accuracy", "macro_f1", "train_accuracy", "val_accuracy"):
        assert 0.0 <= r[key] <= 1.0, key
    assert r["test_images"] == 100 and r["val_images"] == 100
    assert r["seconds"] > 0 and r["choice"]
    assert r["steps"] == (0 if strategy == "pixel_logreg" else 20)


def test_random_features_control_uses_the_same_architecture_with_other_weights():
    pre = experiment.extractor("features", pretrained=True)
    rnd = experiment.extractor("features", pretrained=False, seed=0,
                               calibrate_on=data.far_task().x_train[:20])
    assert [w.shape for w in pre.weights] == [w.shape for w in rnd.weights]
    assert not all(np.allclose(a.numpy(), b.numpy()) for a, b in zip(pre.weights, rnd.weights, strict=True))


def test_choices_never_look_at_the_test_labels():
    """Shuffling the test labels changes the test score, never what was chosen on validation."""
    far = data.far_task()
    scrambled = copy.copy(far)
    scrambled.y_test = np.random.default_rng(0).permutation(far.y_test)
    scrambled.x_test = far.x_test[::-1].copy()
    lrs = {"scratch": (1e-3, 3e-3), "fine_tuning": (1e-3, 1e-4)}
    for strategy in experiment.STRATEGIES:
        kw = dict(seed=0, steps=3, test_images=200, val_images=100, learning_rates=lrs.get(strategy))
        a = experiment.run_cell(far, strategy, 3, **kw)
        b = experiment.run_cell(scrambled, strategy, 3, **kw)
        assert (a["choice"], a["val_accuracy"]) == (b["choice"], b["val_accuracy"]), strategy
        assert a["accuracy"] != b["accuracy"] or strategy == "scratch", strategy


def test_networks_train_for_the_given_steps_and_pick_a_learning_rate():
    far = data.far_task()
    rs = [experiment.run_cell(far, s, 5, seed=0, steps=4, test_images=50, val_images=50,
                              learning_rates=lrs)
          for s, lrs in (("scratch", (1e-3, 3e-3)), ("fine_tuning", (1e-3,)))]
    assert [r["steps"] for r in rs] == [4, 4]
    assert rs[0]["learning_rate"] in (1e-3, 3e-3) and rs[1]["learning_rate"] == 1e-3
    assert rs[0]["trainable_params"] > rs[1]["trainable_params"] > 0


def test_grid_gives_every_contender_the_same_sample_and_budget():
    far = data.far_task()
    rows = experiment.run_grid([far], [2], [0, 1], progress=False, steps=3, test_images=30,
                               val_images=30, learning_rates={"scratch": (1e-3,),
                                                              "fine_tuning": (1e-3,)})
    assert len(rows) == 2 * len(experiment.STRATEGIES)
    for seed in (0, 1):
        mine = [r for r in rows if r["seed"] == seed]
        assert len({r["sample"] for r in mine}) == 1
        assert {r["steps"] for r in mine if r["strategy"] in experiment.NETWORKS} == {3}
    assert rows[0]["sample"] != next(r for r in rows if r["seed"] == 1)["sample"]


def test_grid_keeps_the_first_seeds_learning_rate():
    far = data.far_task()
    rows = experiment.run_grid([far], [5], [0, 1], strategies=("scratch",), progress=False,
                               steps=2, test_images=30, val_images=30,
                               learning_rates={"scratch": (1e-3, 3e-3)})
    assert len(rows) == 2 and rows[0]["learning_rate"] == rows[1]["learning_rate"]
    assert rows[1]["choice"] == f"lr={rows[0]['learning_rate']:g}"


def test_all_budget_and_bad_strategy():
    """A budget at or above the smallest class's size trains on the whole split (digits: two
    classes have fewer than 100 training images)."""
    far = data.far_task()
    smallest = int(np.bincount(far.y_train).min())
    assert [experiment.sample_budget(far, b) for b in (5, smallest - 1, smallest, 100, "all")] == \
        [5, smallest - 1, "all", "all", "all"]
    x, y = data.few_shot(far.x_train, far.y_train, "all", seed=0)
    assert len(y) == len(far.y_train) and len(x) == len(y)
    with pytest.raises(ValueError, match="strategy"):
        experiment.run_cell(far, "magic", 5)
    with pytest.raises(ValueError, match="learning_rates must list positive rates"):
        experiment.run_cell(far, "scratch", 5, learning_rates=())


def test_no_flip_for_digits():
    """Augmentation must keep the label: a mirrored digit is not that digit."""
    assert data.far_task().meta["flip_preserves_label"] is False
    assert data.near_task().meta["flip_preserves_label"] is True
    kinds = [type(layer).__name__ for layer in models.augmentation(flip=False).layers]
    assert "RandomFlip" not in kinds and "RandomTranslation" in kinds


def _rows():
    """Five seeds; validation ranks fine-tuning first among transfer, scratch first among controls."""
    test = {"pixel_logreg": [0.70, 0.71, 0.69, 0.72, 0.70],
            "random_features": [0.60, 0.62, 0.61, 0.60, 0.63],
            "scratch": [0.75, 0.74, 0.76, 0.73, 0.75],
            "feature_extraction": [0.80, 0.82, 0.81, 0.80, 0.83],
            "fine_tuning": [0.78, 0.80, 0.79, 0.77, 0.79]}
    val = {"pixel_logreg": 0.70, "random_features": 0.6, "scratch": 0.77,
           "feature_extraction": 0.79, "fine_tuning": 0.81}
    return [{"task": "near", "per_class": 5, "strategy": s, "seed": seed, "accuracy": acc,
             "macro_f1": acc, "train_accuracy": 1.0, "val_accuracy": val[s], "seconds": 1.0,
             "trainable_params": 10, "steps": 300 if s in experiment.NETWORKS else 0,
             "choice": "x", "test_images": 4000, "val_images": 500, "sample": f"s{seed}"}
            for s, accs in test.items() for seed, acc in enumerate(accs)]


def test_verdict_compares_the_best_on_validation_not_on_test():
    v = experiment.verdicts(_rows())[0]
    # feature extraction has the best *test* scores, but validation ranks fine-tuning first
    assert (v["transfer"], v["control"]) == ("fine_tuning", "scratch")
    p = v["transfer_vs_control"]
    assert p["difference"] == pytest.approx(0.04) and p["n"] == 5
    assert p["verdict"] == "ahead" and set(v["transfer_vs_each"]) == set(experiment.CONTROLS)
    assert v["verdict"] == "ahead"   # ahead of every control, not only the one validation picked
    fe = v["feature_extraction_vs_random_features"]
    assert fe["difference"] == pytest.approx(0.2) and fe["verdict"] == "ahead"
    assert v["fine_tuning_vs_scratch"] == p


def test_verdict_is_ahead_only_against_every_control():
    """Intersection-union: one control that transfer cannot beat makes it "can't tell";
    one control ahead of transfer makes it "behind"."""
    rows = _rows()
    for r in rows:   # pixels now as good as fine-tuning on some seeds, worse on others
        if r["strategy"] == "pixel_logreg":
            r["accuracy"] = [0.80, 0.78, 0.80, 0.76, 0.80][r["seed"]]
    v = experiment.verdicts(rows)[0]
    assert v["transfer_vs_control"]["verdict"] == "ahead"          # against scratch (validation's pick)
    assert v["transfer_vs_each"]["pixel_logreg"]["verdict"] == "can't tell"
    assert v["verdict"] == "can't tell"
    for r in rows:
        if r["strategy"] == "pixel_logreg":
            r["accuracy"] += 0.1
    assert experiment.verdicts(rows)[0]["verdict"] == "behind"


def test_standardizer_does_not_blow_up_dead_features():
    train = np.zeros((20, 3), "float32")
    train[:, 0] = np.linspace(0, 1, 20)
    train[:, 1] = np.linspace(0, 2, 20)       # column 2 never fires in the sample
    scale = experiment.standardizer(train)
    new = np.array([[0.5, 1.0, 0.01]], "float32")
    assert np.abs(scale(new)).max() < 10       # not 0.01 / 1e-6 = 10,000
    assert scale(train)[:, 0].std() == pytest.approx(1, rel=1e-3)


def test_random_controls_differ_by_seed_and_are_calibrated_on_the_sample():
    far = data.far_task()
    x = far.x_train[:30]
    a = experiment.extractor("features", pretrained=False, seed=0, calibrate_on=x)
    b = experiment.extractor("features", pretrained=False, seed=1, calibrate_on=x)
    fa, fb = a.predict(far.x_test[:20], verbose=0), b.predict(far.x_test[:20], verbose=0)
    assert not np.allclose(fa, fb)
    bn = next(layer for layer in a.layers if "bn" in layer.name)
    assert not np.allclose(bn.moving_variance.numpy(), 1.0)   # calibrated, not the initial 1
    with pytest.raises(ValueError, match="calibrate"):
        experiment.extractor("features", pretrained=False, seed=0)


def test_aggregate_uses_the_sample_sd_and_save(tmp_path):
    summary = experiment.aggregate(_rows())
    fe = experiment.cell(summary, "near", 5, "feature_extraction")
    assert fe["accuracy_mean"] == pytest.approx(0.812)
    assert fe["accuracy_sd"] == pytest.approx(np.std([0.80, 0.82, 0.81, 0.80, 0.83], ddof=1))
    assert experiment.best_on_validation(summary, "near", 5, experiment.CONTROLS) == "scratch"
    assert "0.812 ± 0.013" in experiment.format_summary(summary)
    experiment.save_results(tmp_path / "g.json", _rows(), {"SEEDS": 5})
    saved = json.loads((tmp_path / "g.json").read_text())
    assert saved["parameters"] == {"SEEDS": 5} and len(saved["verdicts"]) == 1
    with pytest.raises(KeyError):
        experiment.cell(summary, "far", 5, "scratch")


def test_markdown_table_is_built_from_the_numbers():
    table = experiment.markdown_table({"rows": _rows(), "parameters": {"SEEDS": 5}})
    row = next(line for line in table.splitlines() if line.startswith("| near | 5 |"))
    assert "**0.812 ± 0.013**" in row and "+0.200 [" in row
    assert row.endswith("fine-tuning, pretrained − scratch CNN (random init): "
                        f"{experiment._interval(experiment.verdicts(_rows())[0]['transfer_vs_control'])}; **ahead** |")
    assert "near (new classes, same look): 4,000 test and 500 validation images" in table
    assert "over 5 seeds" in table


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["scratch", "feature_extraction", "fine_tuning"])
def test_reused_traced_model_gives_the_same_run_as_a_new_one(strategy, near):
    """The grid reuses one compiled model per architecture: a run on it must equal a fresh one."""
    traced.forget()
    kw = dict(steps=6, test_images=200, val_images=100, learning_rates=(1e-3,))
    first = experiment.run_cell(near, strategy, 3, 1, **kw)      # builds and traces
    assert traced.KEPT
    experiment.run_cell(near, strategy, 3, 0, **kw)              # another seed on the same model
    again = experiment.run_cell(near, strategy, 3, 1, **kw)      # seed 1 again, reused model
    for key in ("accuracy", "val_accuracy", "train_accuracy", "macro_f1"):
        assert again[key] == first[key], key


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
    table = experiment.markdown_table({"rows": rows, "parameters": {"SEEDS": 5}})
    assert "over 5 seeds (10 for the cheap contenders" in table and "at 5 labels per class on near;" in table


def test_run_extra_seeds_reproduces_the_cheap_contenders_extra_runs():
    rows = experiment.run_extra_seeds({"pixel_logreg": {"far 1": [5, 6]}}, progress=False,
                                      test_images=50, val_images=50)
    assert [(r["task"], r["per_class"], r["strategy"], r["seed"]) for r in rows] == \
        [("far", 1, "pixel_logreg", 5), ("far", 1, "pixel_logreg", 6)]
    assert rows[0]["sample"] != rows[1]["sample"]


def test_shared_seeds_need_not_start_at_zero():
    rows = _rows()
    for r in rows:
        r["seed"] += 3                               # seeds 3..7 for every contender
    assert experiment.seed_counts(rows) == (5, {})
    extra = dict(rows[0], seed=9, sample="s9")       # one contender, one more seed
    assert experiment.seed_counts(rows + [extra]) == (5, {rows[0]["strategy"]: {"near 5": [9]}})
    assert experiment.on_shared_seeds(rows + [extra]) == rows


def test_grid_merge_joins_parts_refuses_overlap_and_keeps_a_flat_part_list(tmp_path, capsys):
    from helpers.tools.cli import main

    rows = _rows()
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    experiment.save_results(a, [r for r in rows if r["seed"] < 3], {"SEEDS": 3, "command": "a"})
    experiment.save_results(b, [r for r in rows if r["seed"] >= 3], {"SEEDS": 2, "command": "b"})
    assert main(["grid", "--merge", str(a), str(b), "--out", str(tmp_path / "ab.json")]) == 0
    ab = experiment.load_results(tmp_path / "ab.json")
    assert len(ab["rows"]) == len(rows) and ab["parameters"]["SEEDS"] == 5
    assert [p["command"] for p in ab["parameters"]["parts"]] == ["a", "b"]
    extra = [dict(r, seed=7, sample="s7") for r in rows if r["strategy"] in experiment.CHEAP and r["seed"] == 0]
    experiment.save_results(tmp_path / "c.json", extra, {"SEEDS": 1, "command": "c"})
    assert main(["grid", "--merge", str(tmp_path / "ab.json"), str(tmp_path / "c.json"),
                 "--out", str(tmp_path / "abc.json")]) == 0
    abc = experiment.load_results(tmp_path / "abc.json")["parameters"]
    assert [p["command"] for p in abc["parts"]] == ["a", "b", "c"]      # flat, not nested
    assert abc["SEEDS"] == 5 and abc["EXTRA_SEEDS"]["pixel_logreg"] == {"near 5": [7]}
    assert main(["grid", "--merge", str(a), str(a), "--out", str(tmp_path / "aa.json")]) == 2
    assert "overlap" in capsys.readouterr().err
