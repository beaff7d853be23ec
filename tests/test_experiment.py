import json

import pytest

from helpers import data, experiment


def test_run_cell_reports_all_measures():
    far = data.far_task()
    r = experiment.run_cell(far, "feature_extraction", 5, seed=0, epochs=1, test_images=100,
                            val_images=100)
    assert r["train_images"] == 50 and r["trainable_params"] == 128 * 10 + 10
    for key in ("accuracy", "macro_f1"):
        assert 0.0 <= r[key] <= 1.0
    assert r["seconds"] > 0 and r["epochs_run"] >= 1


def test_all_budget_and_bad_strategy():
    far = data.far_task()
    r = experiment.run_cell(far, "scratch", "all", seed=0, epochs=1, test_images=50, val_images=50)
    assert r["train_images"] == len(far.y_train)
    with pytest.raises(ValueError, match="strategy"):
        experiment.run_cell(far, "magic", 5)


def test_aggregate_best_and_save(tmp_path):
    rows = [{"task": "near", "per_class": 5, "strategy": s, "seed": seed, "accuracy": acc,
             "macro_f1": acc, "seconds": 1.0, "trainable_params": 10}
            for s, accs in (("scratch", (0.5, 0.7)), ("feature_extraction", (0.8, 0.9)))
            for seed, acc in enumerate(accs)]
    summary = experiment.aggregate(rows)
    fe = next(s for s in summary if s["strategy"] == "feature_extraction")
    assert fe["accuracy_mean"] == pytest.approx(0.85) and fe["accuracy_std"] == pytest.approx(0.05)
    assert experiment.best_strategy(summary, "near", "5") == "feature_extraction"
    assert "0.850 ± 0.050" in experiment.format_summary(summary)
    experiment.save_results(tmp_path / "g.json", rows, summary, {"SEEDS": 2})
    assert json.loads((tmp_path / "g.json").read_text())["parameters"] == {"SEEDS": 2}
