"""Worked solutions: one step away for a learner, absent where a teacher keeps them back."""

import pytest

from helpers import exercises, solutions


def test_solution_shows_the_code_of_one_exercise():
    shown = exercises.solution("02-1")
    assert shown.source == solutions.code("02-1")
    assert "keras.Model" in shown.source
    assert shown._repr_markdown_().startswith("**One answer to exercise 02-1**")
    assert "```python\n" in shown._repr_markdown_()
    assert solutions.code("02-2") not in shown.source          # only the one asked for


@pytest.mark.parametrize("bad, message", [("2-1", "not an exercise id"),
                                          ("exercise 1", "not an exercise id"),
                                          ("02-9", "No exercise 02-9")])
def test_a_wrong_id_names_the_fix(bad, message):
    with pytest.raises((ValueError, KeyError), match=message):
        exercises.solution(bad)


def test_a_copy_without_solutions_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="teacher may have kept the solutions back"):
        solutions.code("02-1", folder=tmp_path)


def test_no_solution_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(RuntimeError, match="graded"):
        solutions.code("02-1")


def test_parse_reads_blocks_in_order(tmp_path):
    (tmp_path / "09_x.py").write_text("# header\n\n# %% 09-1\na = 1\n\n# %% 09-2\nb = 2\nc = 3\n")
    assert solutions.all_solutions(tmp_path) == {"09-1": "a = 1", "09-2": "b = 2\nc = 3"}


def test_no_quiz_option_spells_out_an_exercise_answer():
    """A quiz sits right above the exercises: none of its options may be a line of a solution."""
    import re

    from helpers import quiz

    def squash(text):   # spaces and the exercises' own variable prefixes (ex_model → model) ignored
        return re.sub(r"\s+", "", re.sub(r"\bex\d*_", "", text))

    lines = {squash(line) for code in solutions.all_solutions().values()
             for line in re.sub(r":\n\s+", ": ", code).splitlines() if len(line.strip()) > 15}
    for name, bank in quiz.all_banks().items():
        for q in bank:
            for option in q.options:
                assert squash(option.text) not in lines, f"{name}/{q.id}: {option.text!r}"
