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
    names = [n for n in exercises.__all__ if n.startswith("check_")]
    assert len(names) == 20 and all(callable(getattr(exercises, n)) for n in names)
    assert callable(exercises.solution) and callable(exercises.compiled_with_current_flags)


def test_modules_stay_small():
    from pathlib import Path

    folder = Path(exercises.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("*.py")}
    assert len(sizes) == 10 and max(sizes.values()) <= 400, sizes
