import numpy as np
import pytest

from helpers import config, models
from helpers.data import source_task


def test_shipped_model_meets_accuracy_on_real_test_split(source_model):
    task = source_task()
    probs = source_model.predict(task.x_test, batch_size=512, verbose=0)
    acc = float(np.mean(probs.argmax(axis=1) == task.y_test))
    assert abs(acc - models.model_card()["source_test_accuracy"]) < 0.005  # the card tells the truth


def test_model_file_is_small_and_card_complete():
    assert config.SOURCE_MODEL_PATH.stat().st_size < 5 * 1024 * 1024
    card = models.model_card()
    for key in ("task", "epochs", "seed", "source_test_accuracy", "date", "reproduce"):
        assert key in card


def test_architecture_has_named_blocks(source_model):
    names = [layer.name for layer in source_model.layers]
    for block in models.BLOCKS:
        assert f"{block}_conv1" in names and f"{block}_bn1" in names and f"{block}_pool" in names
    assert names[-1] == "predictions" and models.FEATURE_LAYER in names
    card = models.model_card()
    assert source_model.output.shape[-1] == len(card["classes"]) == 6 + models.GLYPH_CLASSES


def test_build_matches_shipped_weights_layout(source_model):
    fresh = models.build_source_cnn(len(models.model_card()["classes"]))
    assert [w.shape for w in fresh.weights] == [w.shape for w in source_model.weights]


def test_save_load_round_trip_is_atomic_and_exact(source_model, tmp_path):
    path = tmp_path / "copy.keras"
    models.save_model_atomically(source_model, path)
    assert not list(tmp_path.glob(".*partial*"))
    again = models.load_source_model(path, retrain_if_missing=False)
    x = source_task().x_test[:64]
    np.testing.assert_allclose(again.predict(x, verbose=0), source_model.predict(x, verbose=0),
                               atol=1e-6)


def test_missing_model_without_retrain_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m helpers pretrain"):
        models.load_source_model(tmp_path / "nope.keras", retrain_if_missing=False)


def test_corrupt_model_file_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="git checkout"):
        models.load_source_model(bad, retrain_if_missing=False)


def test_source_base_outputs_features(source_model):
    base = models.source_base(source_model)
    assert base.output.shape[-1] == models.FILTERS[-1]


def test_source_assessment_uses_validation_only(source_model, monkeypatch):
    """The recipe is chosen on the targets' validation splits: test labels never change it."""
    from helpers import data

    kw = dict(tasks=("far",), budgets=(1,), seeds=2, layers=("block2_pool", "features"),
              progress=False)
    before = models.assess_on_validation(source_model, **kw)
    far = data.far_task()
    monkeypatch.setattr(far, "y_test", np.random.default_rng(0).permutation(far.y_test))
    monkeypatch.setattr(far, "x_test", np.zeros_like(far.x_test))
    assert models.assess_on_validation(source_model, **kw) == before
    p = before["far"]["1"]
    assert p["n"] == 2 and p["bootstrap"][0] <= p["difference"] <= p["bootstrap"][1]
