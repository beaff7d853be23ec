"""Notebook 01's checks: blank, plausible wrong answers (with their hints), other right answers."""

import keras
import pytest

from helpers import exercises, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def test_submodel(source_model):
    m = source_model
    assert exercises.check_submodel(None, m, "block2_pool", None).status == "not_done"
    assert exercises.check_submodel(keras.Model(m.input, m.get_layer("block2_pool").output), m,
                                    "block2_pool", None)
    index = [layer.name for layer in m.layers].index("block2_pool")
    assert exercises.check_submodel(keras.Model(inputs=m.inputs, outputs=m.layers[index].output), m,
                                    "block2_pool", None)
    for wrong, hint in (
            (keras.Model(m.input, m.get_layer("block1_pool").output), "end the model at that layer's output"),
            (keras.models.clone_model(keras.Model(m.input, m.get_layer("block2_pool").output)),
             "not copied or rebuilt"),
            (m.get_layer("block2_pool"), "not a single layer")):
        fb = exercises.check_submodel(wrong, m, "block2_pool", None)
        assert fb.status == "wrong" and hint in fb.message, fb.message


def test_layer_slice(source_model):
    m = source_model
    assert exercises.check_layer_slice(None, m, 3, None).status == "not_done"
    assert exercises.check_layer_slice([layer.name for layer in m.layers[-3:]], m, 3, None)
    assert exercises.check_layer_slice(tuple(m.layers[i].name for i in range(len(m.layers) - 3,
                                                                             len(m.layers))), m, 3, None)
    last = [layer.name for layer in m.layers[-3:]]
    for wrong, hint in ((m.layers[-3:], ".name"),
                        ([layer.name for layer in m.layers[:3]], "first 3"),
                        (last[::-1], "reversed"),
                        (last[1:], "Expected 3"),
                        ([layer.name for layer in m.layers[-4:-1]], "not the last 3")):
        fb = exercises.check_layer_slice(wrong, m, 3, None)
        assert fb.status == "wrong" and hint in fb.message, fb.message
