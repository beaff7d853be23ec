import keras
import numpy as np
import pytest

from helpers import data, finetuning, models, pretrained, traced


def _make_model():
    base = models.source_base(models.load_source_model(retrain_if_missing=False))
    return pretrained.with_new_head(base, 4, dropout=0.3), base


def _numbers(r):
    return (r["test_accuracy"], r["val_accuracy"], r["head_only_val_accuracy"],
            r["relative_weight_change"], r["trainable_params"], r["learning_rate"],
            r["curves"]["loss"], r["curves"]["val_loss"])


def test_copy_state_refuses_another_architecture():
    a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    b = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="cannot reuse a traced model"):
        traced.copy_state(a, b)


def test_reset_optimizer_is_a_new_optimizer():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=2, verbose=0)
    assert int(model.optimizer.iterations) > 0
    traced.reset_optimizer(model.optimizer, 1e-4)
    assert int(model.optimizer.iterations) == 0
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)
    assert all(not np.any(v.numpy()) for v in model.optimizer.variables
               if v is not model.optimizer._learning_rate)


@pytest.mark.slow
def test_two_phase_reuse_gives_the_numbers_of_a_new_model(near):
    """Keeping one traced model per configuration must not change a single number."""
    traced.forget()
    x, y = data.few_shot(near.x_train, near.y_train, 5, seed=0)
    val, test = (near.x_val[:64], near.y_val[:64]), (near.x_test[:64], near.y_test[:64])
    kw = dict(head_epochs=1, tune_epochs=2, blocks=1, tune_lr=1e-3, test=test, patience=1)
    fresh = finetuning.two_phase(_make_model, (x, y), val, seed=1, **kw)
    first = finetuning.two_phase(_make_model, (x, y), val, seed=1, reuse=True, **kw)
    assert traced.KEPT and first["model"] is traced.KEPT[(_make_model, "tune", 1)]
    other = finetuning.two_phase(_make_model, (x, y), val, seed=2, reuse=True, **kw)
    again = finetuning.two_phase(_make_model, (x, y), val, seed=1, reuse=True, **kw)
    assert again["model"] is other["model"]                   # the same traced model, reused
    assert _numbers(first) == _numbers(fresh) == _numbers(again)
    assert _numbers(other) != _numbers(first)
    assert again["seconds"] > 0
    traced.forget()


def test_building_before_the_first_fit_traces_the_step_once_and_changes_no_number():
    x = np.random.default_rng(0).random((48, 28, 28, 1)).astype("float32")
    y = np.arange(48) % 6
    runs = {}
    for build_first in (False, True):
        models.set_seed(0)
        model = models.build_source_cnn(6)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        traces, step = [], model.train_step
        model.train_step = lambda batch, step=step, traces=traces: traces.append(1) or step(batch)
        if build_first:
            traced.build_before_fit(model, x, y)
            assert model.optimizer.built and not traces              # shapes only: nothing ran
            traced.build_before_fit(model, x, y)                     # a second call does nothing
            assert model.input.shape[0] is None                     # no batch size fixed
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        runs[build_first] = (len(traces), model.get_weights(), history.history)
    assert runs[True][0] == 1
    assert runs[False][0] == 2, "Keras now traces a first fit once by itself: build_before_fit can go"
    assert all(np.array_equal(a, b) for a, b in zip(runs[False][1], runs[True][1], strict=True))
    assert runs[False][2] == runs[True][2]


def test_building_a_model_without_an_input_layer_fixes_no_batch_size():
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    traced.build_before_fit(model, np.zeros((4, 5), "float32"), np.zeros(4, "int64"))
    assert model.built and model.optimizer.built
    model.fit(np.ones((7, 5), "float32"), np.arange(7) % 3, batch_size=7, verbose=0)
    assert model.predict(np.ones((2, 5), "float32"), verbose=0).shape == (2, 3)
