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
    assert source_model.output.shape[-1] == len(card["classes"]) == models.SOURCE_CLASSES == 1006


def test_build_matches_shipped_weights_layout(source_model):
    fresh = models.build_source_cnn(len(models.model_card()["classes"]))
    assert [w.shape for w in fresh.weights] == [w.shape for w in source_model.weights]
    default = models.build_source_cnn()      # the default is the shipped model's 1,006 classes
    assert [w.shape for w in default.weights] == [w.shape for w in source_model.weights]


def test_save_load_round_trip_is_atomic_and_exact(source_model, tmp_path):
    path = tmp_path / "copy.keras"
    models.save_model_atomically(source_model, path)
    assert not list(tmp_path.glob(".*partial*"))
    again = models.load_source_model(path, retrain_if_missing=False)
    x = source_task().x_test[:64]
    np.testing.assert_allclose(again.predict(x, verbose=0), source_model.predict(x, verbose=0),
                               atol=1e-6)


def test_missing_model_is_never_retrained_and_the_error_names_the_fixes(tmp_path, monkeypatch):
    import keras

    missing = tmp_path / "nope.keras"
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: pytest.fail("load_source_model trained"))
    for kw in ({}, {"retrain_if_missing": True}, {"retrain_if_missing": False}):
        with pytest.raises(FileNotFoundError) as err:
            models.load_source_model(missing, **kw)
        message = str(err.value)
        assert "git checkout models/source_cnn.keras" in message and "make pretrain" in message
        assert "minutes" in message and "font" in message
    assert not missing.exists()


def test_corrupt_model_file_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="git checkout"):
        models.load_source_model(bad, retrain_if_missing=False)


def test_source_base_outputs_features(source_model):
    base = models.source_base(source_model)
    assert base.output.shape[-1] == models.FILTERS[-1]


def test_the_random_control_is_defined_once():
    """The twin's BatchNormalization menu and the pretrained network's have the same size, and
    each holds the statistics as they come and calibrated on the sample."""
    assert len(models.TWIN_BATCHNORM) == len(models.PRETRAINED_BATCHNORM) == 2
    assert models.TWIN_BATCHNORM[0] == "as initialised"
    assert models.TWIN_BATCHNORM[1] == models.PRETRAINED_BATCHNORM[1] == "calibrated on the sample"
    assert models.TWIN_SEED == 10_000


def test_the_learner_module_holds_no_pretraining_recipe():
    """The recipe, the card's assessment and their constants live in the teacher's tools."""
    for name in ("pretrain_source_model", "source_training_data", "assess_on_validation",
                 "assessment_markdown", "_smoothed_loss", "GLYPH_CLASSES", "ASSESS_SEEDS",
                 "PRETRAIN_EPOCHS"):
        assert not hasattr(models, name), name
