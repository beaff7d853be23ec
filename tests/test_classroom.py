import nbformat
import pytest

from helpers import solutions
from helpers.tools import classroom, runner


def test_strip_solutions_keeps_indent_and_other_code():
    src = "a = 1\n    ### BEGIN SOLUTION\n    secret = 42\n    ### END SOLUTION\ncheck(a)"
    out = classroom.strip_solutions(src)
    assert "secret" not in out and "BEGIN SOLUTION" not in out
    assert "    # YOUR CODE HERE\n    raise NotImplementedError" in out
    assert out.startswith("a = 1\n") and out.endswith("check(a)")


BLANK = ('x = None\n# Exercise 09-1: your answer here, then run the check below.\n'
         '# Stuck? exercises.solution("09-1") shows one answer.')


def test_fill_solution_replaces_the_marker_lines_only():
    out = classroom.fill_solution(BLANK, {"09-1": "x = 1\nif x:\n    x += 1"})
    assert out == "x = None\n### BEGIN SOLUTION\nx = 1\nif x:\n    x += 1\n### END SOLUTION"
    with pytest.raises(KeyError, match="exercise 09-1 has no solution"):
        classroom.fill_solution(BLANK, {})
    assert classroom.fill_solution("y = 2", {}) == "y = 2"


def test_test_copy_runs_each_exercise_blank_then_solved():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("**Exercise 1.**"),
        nbformat.v4.new_code_cell(BLANK),
        nbformat.v4.new_code_cell("exercises.check_x(x)"),
        nbformat.v4.new_markdown_cell("## Summary")])
    copy = classroom.blank_then_solved(nb, {"09-1": "x = 1"})
    nbformat.validate(copy)
    sources = [c.source for c in copy.cells]
    assert sources[1] == BLANK and sources[2] == "exercises.check_x(x)"
    assert "### BEGIN SOLUTION\nx = 1\n### END SOLUTION" in sources[3]
    assert sources[4] == "exercises.check_x(x)" and sources[5] == "## Summary"
    assert len({c.id for c in copy.cells}) == len(copy.cells)
    assert [c.source for c in nb.cells][1] == BLANK        # the original is left as it was


@pytest.mark.parametrize("path", runner.all_notebooks(), ids=lambda p: p.stem)
def test_every_blank_has_its_solution_and_every_solution_its_blank(path):
    nb = nbformat.read(path, as_version=4)
    ids = [classroom.exercise_id(c) for c in nb.cells if classroom.exercise_id(c)]
    prefix = path.stem[:2]
    assert len(ids) >= 2 and ids == [f"{prefix}-{k}" for k in range(1, len(ids) + 1)]
    known = {k for k in solutions.all_solutions() if k.startswith(prefix + "-")}
    assert set(ids) == known
    teacher = classroom.teacher_version(nb)
    assert all(classroom.exercise_id(c) is None for c in teacher.cells)


def test_student_notebooks_are_blank(tmp_path):
    written = classroom.make_student_notebooks(tmp_path)
    assert len(written) == len(runner.all_notebooks())
    assert (tmp_path / "quizzes" / "00_welcome.yml").is_file()
    every_solution = solutions.all_solutions()
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code
        assert len(classroom.exercise_cells(nb)) >= 2
        assert "show_quiz" in code
        assert all(not c.outputs for c in nb.cells if c.cell_type == "code")
        for i in classroom.exercise_cells(nb):
            ident = classroom.exercise_id(nb.cells[i])
            answer = [line for line in every_solution[ident].splitlines()
                      if line.strip() and line not in nb.cells[i].source]
            assert answer, f"{ident}: the blank cell already holds the whole solution"


def test_teacher_notebooks_hold_every_solution(tmp_path):
    written = classroom.make_teacher_notebooks(tmp_path)
    nb = nbformat.read(tmp_path / "01_pretrained_model.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells)
    assert solutions.code("01-1") in code and code.count("### BEGIN SOLUTION") >= 2
    assert len(written) == len(runner.all_notebooks())


@pytest.mark.slow
def test_student_notebook_runs_every_cell_with_the_exercises_blank(tmp_path):
    (path,) = classroom.make_student_notebooks(tmp_path / "student", [runner.notebook_path("01")])
    assert runner.check_student_notebook(path) == []
