import numpy as np

from helpers import pretrained


def test_layer_table_and_format(source_model):
    rows = pretrained.layer_table(source_model)
    assert rows[0]["name"] == "image" and rows[-1]["name"] == "predictions"
    assert sum(r["params"] for r in rows) == source_model.count_params()
    text = pretrained.format_rows(rows)
    assert "block2_conv1" in text and text.splitlines()[0].startswith("index")


def test_submodel_shares_weights(source_model):
    sub = pretrained.submodel(source_model, "block2_pool")
    assert tuple(sub.output.shape) == (None, 7, 7, 64)
    assert sub.get_layer("block1_conv1") is source_model.get_layer("block1_conv1")


def test_feature_maps_and_filters(source_model, near):
    maps = pretrained.feature_maps(source_model, "block1_relu1", near.x_test[:2])
    assert maps.shape == (2, 28, 28, 32) and (maps >= 0).all()
    assert pretrained.first_conv_filters(source_model).shape == (3, 3, 1, 32)


def test_with_new_head_nests_base(source_model, near):
    from helpers.models import source_base

    base = source_base(source_model)
    model = pretrained.with_new_head(base, 4)
    assert base in model.layers and model.output.shape[-1] == 4
    acc = pretrained.accuracy(model, near.x_test[:20], near.y_test[:20])
    assert 0.0 <= acc <= 1.0


def test_unscaled_input_hurts(source_model):
    from helpers.data import source_task

    t = source_task()
    good = pretrained.accuracy(source_model, t.x_test[:500], t.y_test[:500])
    bad = pretrained.accuracy(source_model, t.x_test[:500] * 255, t.y_test[:500])
    assert bad < good - 0.2
    assert np.isfinite(bad)


def test_top_guesses_and_show_predictions(source_model, near):
    import matplotlib

    matplotlib.use("Agg")
    from helpers.models import model_card

    names = model_card()["classes"]
    guesses = pretrained.top_guesses(source_model, near.x_test[:3], names, k=2)
    assert len(guesses) == 3 and all(len(g) == 2 for g in guesses)
    for (n1, p1), (_, p2) in guesses:
        assert n1 in names and 1 >= p1 >= p2 >= 0
    fig = pretrained.show_predictions(source_model, near.x_test[:3], names,
                                      labels=[near.class_names[c] for c in near.y_test[:3]], cols=3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 3 and all(t.startswith("is: ") for t in titles)
    assert not any("glyph" in t for t in titles)   # characters shown by their code point
