"""The exercise checks' core: three outcomes, where they are recorded, strict mode (each
notebook's checks are tested in tests/test_exercises_nbNN.py)."""

import pytest

from helpers import exercises, results


@pytest.fixture(autouse=True)
def _no_notebook_recorder(monkeypatch):
    monkeypatch.setattr(results, "_CURRENT", [])


def test_three_outcomes_look_different():
    done = exercises.check("demo", [(True, "a")], "fine", None)
    wrong = exercises.check("demo", [(True, "a"), (False, "look at b")], "ok", None)
    blank = exercises.not_done_yet("demo", "write x = 1.", None)
    assert (done.status, wrong.status, blank.status) == ("passed", "wrong", "not_done")
    assert done and not wrong and not blank
    assert wrong.message == "look at b" and blank.message == "Not done yet: write x = 1."
    assert "Well done" in done._repr_html_()
    assert "Not yet" in wrong._repr_html_() and "look at b" in wrong._repr_html_()
    html = blank._repr_html_()
    assert "Not done yet" in html and "Not yet<" not in html and "#57606a" in html
    assert html.count("Not done yet") == 1 and "write x = 1." in html
    assert repr(blank).startswith("NOT DONE") and repr(wrong).startswith("NOT YET")
    with pytest.raises(ValueError):
        exercises.Feedback("x", True, "m", "wrong")


def test_outcomes_go_to_the_notebook_recorder_by_default():
    rec = results.Recorder("nbx")          # what params.start opens in a notebook
    exercises.not_done_yet("demo", "write it.")
    exercises.check("demo", [(False, "hint")], "ok")
    exercises.check("demo", [(True, "hint")], "ok")
    assert rec.data["exercise_log"] == [["demo", "not_done"], ["demo", "wrong"], ["demo", "passed"]]
    assert rec.data["exercises"] == {"demo": True}
    other = results.Recorder.__new__(results.Recorder)   # an explicit recorder still works
    other.data = {"exercises": {}, "exercise_log": []}
    other._save = lambda: None
    exercises.check("demo2", [(True, "a")], "fine", recorder=other)
    assert other.data["exercise_log"] == [["demo2", "passed"]]
    exercises.check("demo3", [(True, "a")], "fine", recorder=None)   # None: kept nowhere
    assert "demo3" not in rec.data["exercises"]


def test_no_recorder_open_is_fine():
    assert exercises.check("demo", [(True, "a")], "fine").passed


@pytest.mark.parametrize("make", [
    lambda: exercises.not_done_yet("demo", "write it.", None),
    lambda: exercises.check("demo", [(False, "hint")], "ok", None),
])
def test_strict_mode_raises_unless_passed(monkeypatch, make):
    monkeypatch.setenv("TLW_STRICT", "1")
    with pytest.raises(AssertionError, match=r"\[demo\]"):
        make()
    assert exercises.check("demo", [(True, "a")], "fine", None)


def test_every_check_is_exported_and_solutions_still_reachable():
    import re

    import nbformat

    from helpers import config

    names = [n for n in exercises.__all__ if n.startswith("check_")]
    used = {m for path in config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")
            for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
            for m in re.findall(r"exercises\.(check_\w+)\(", cell.source)}
    assert used <= set(names), f"checks the notebooks call but the package does not export: {used - set(names)}"
    assert all(callable(getattr(exercises, n)) for n in names)
    assert callable(exercises.solution) and callable(exercises.compiled_with_current_flags)


def test_modules_stay_small():
    from pathlib import Path

    folder = Path(exercises.__file__).parent
    from helpers import config

    sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("*.py")}
    notebooks = len(list(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")))
    assert len(sizes) == notebooks + 2 and max(sizes.values()) <= 400, sizes   # + core, __init__


# ---------------------------------------------------------------- "not done yet" gives nothing away

def _tiny(fit=False, compile_=True):
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, name="block1_conv1"),
                              keras.layers.Dense(3, name="block2_conv1"),
                              keras.layers.Dense(2, activation="softmax", name="head")])
    if compile_:
        model.compile("adam", "sparse_categorical_crossentropy")
    if fit:
        model.fit(np.zeros((4, 4), "float32"), np.zeros(4, "int64"), epochs=1, verbose=0)
    return model


def _blank_feedback() -> dict:
    """Every exercise's check on its blank answer, by exercise id (the notebooks' placeholders)."""
    ex = exercises
    return {
        "00-1": lambda: ex.check_few_shot_sample(None, None, 10, 3, None, seed=0, task="far"),
        "00-2": lambda: ex.check_features(None, None, None, None,
                                          asked="the first 100 near-target test images"),
        "01-1": lambda: ex.check_submodel(None, None, "block2_pool", None),
        "01-2": lambda: ex.check_layer_slice(None, None, 3, None),
        "02-1": lambda: ex.check_model_as_layer(None, None, 4, None),
        "02-2": lambda: ex.check_freeze_all_but_top(_tiny(), 3, None),
        "02-3": lambda: (lambda m: ex.check_frozen_and_recompiled(m, m, None))(_tiny(fit=True)),
        "03-1": lambda: ex.check_classifier_on_features(None, None, None, None, 4, None),
        "03-2": lambda: ex.check_layer_features(None, None, "block2_pool", None, None),
        "03-3": lambda: ex.check_matching_head(None, 128, 4, None),
        "04-1": lambda: ex.check_unfrozen_top_block(_tiny(), ("block2", "block3"), None),
        "04-2": lambda: ex.check_lowered_learning_rate(_tiny(compile_=False), 1e-2, recorder=None),
        "04-3": lambda: (lambda m: ex.check_two_phase(m, m, 1e-2, None, None))(_tiny()),
        "05-1": lambda: ex.check_early_stopping_dropout(None, None, None, val=None),
        "05-2": lambda: ex.check_augmentation(None, None, None, model=None),
        "06-1": lambda: ex.check_control_on_validation(None, [], "far", 5, None),
        "06-2": lambda: ex.check_paired_gain(None, [], "near", 2, "fine_tuning", "scratch", None),
        "06-3": lambda: ex.check_decision(None, None, None, [], None, verdict=None),
        "07-1": lambda: ex.check_preprocessed(None, "MobileNetV2", None, None),
        "07-2": lambda: ex.check_kfold_scores(None, 3, None),
        "08-1": lambda: ex.check_labels_needed(None, [], recorder=None),
        "08-2": lambda: ex.check_recommendation_interval(None, [], recorder=None),
    }


def _giveaways(code: str) -> set:
    """What of a solution must not appear in a hint: each line (spaces ignored), each dotted call
    (``data.few_shot(``), each class called (``Dense(``), each call's arguments and each attribute set."""
    import re

    found = set()
    for line in code.splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith(("from ", "import ")):
            continue
        squeezed = re.sub(r"\s+", "", line)
        if len(squeezed) >= 10:
            found.add(squeezed)
        found |= {re.sub(r"\s+", "", m) for m in re.findall(r"(?:\w+\.)+\w+\(", line)}
        found |= {m for m in re.findall(r"\b[A-Z]\w*\(", line)}
        found |= {re.sub(r"\s+", "", m) for m in re.findall(r"\w+\([^()]+\)", line)}
        found |= {re.sub(r"\s+", "", m) for m in re.findall(r"\([^()]{6,}\)", line)}
        found |= {re.sub(r"\s+", "", m) for m in re.findall(r"\.\w+ ?= ?\w+", line)}   # .trainable = False
    return found


def test_not_done_messages_never_show_the_solution():
    from helpers.solutions import all_solutions

    solutions = all_solutions()
    blanks = _blank_feedback()
    assert set(blanks) == set(solutions)
    for ident, make in blanks.items():
        fb = make()
        assert fb.status == "not_done", (ident, fb.message)
        message = fb.message.replace(" ", "")
        shown = sorted(g for g in _giveaways(solutions[ident]) if g in message)
        assert not shown, f"{ident}'s 'not done yet' shows its solution: {shown} in {fb.message!r}"


def test_the_giveaway_detector_catches_the_old_messages():
    old = {"00-1": "write x_small, y_small = data.few_shot(far.x_train, far.y_train, 3, seed=SEED)",
           "04-2": "Compile it with an optimizer ..., e.g. keras.optimizers.Adam(0.0001).",
           "07-1": "write ready = keras.applications.mobilenet_v2.preprocess_input(raw).",
           "01-1": "write a keras.Model from model.input to the output of model.get_layer('block2_pool').",
           "02-1": "write inputs = keras.Input(shape=(28, 28, 1)), x = base(inputs, training=False), ...",
           "02-3": "Freeze the base (base.trainable = False), then compile the model again."}
    from helpers.solutions import all_solutions

    solutions = all_solutions()
    for ident, message in old.items():
        assert any(g in message.replace(" ", "") for g in _giveaways(solutions[ident])), ident
