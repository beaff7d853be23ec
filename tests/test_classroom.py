import nbformat
import pytest

from helpers.tools import classroom, runner


def test_strip_solutions_keeps_indent_and_other_code():
    src = "a = 1\n    ### BEGIN SOLUTION\n    secret = 42\n    ### END SOLUTION\ncheck(a)"
    out = classroom.strip_solutions(src)
    assert "secret" not in out and "BEGIN SOLUTION" not in out
    assert "    # YOUR CODE HERE\n    raise NotImplementedError" in out
    assert out.startswith("a = 1\n") and out.endswith("check(a)")


def test_student_notebooks_have_no_solutions(tmp_path):
    written = classroom.make_student_notebooks(tmp_path)
    assert len(written) == len(runner.all_notebooks())
    assert (tmp_path / "quizzes" / "00_welcome.yml").is_file()
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code
        assert "HIDDEN TESTS" not in code   # graders keep them, students do not see them
        assert len(classroom.exercise_cells(nb)) >= 2
        assert "show_quiz" in code
        assert all(not c.outputs for c in nb.cells if c.cell_type == "code")
        for i in classroom.exercise_cells(nb):
            assert "raises-exception" in nb.cells[i].metadata["tags"]
    original = nbformat.read(runner.notebook_path("01"), as_version=4)
    solution_line = "block2_extractor = keras.Model(model.input"
    assert solution_line in "\n".join(c.source for c in original.cells)
    student = nbformat.read(tmp_path / "01_pretrained_model.ipynb", as_version=4)
    assert solution_line not in "\n".join(c.source for c in student.cells)


@pytest.mark.slow
def test_student_notebook_runs_its_non_exercise_cells(tmp_path):
    (path,) = classroom.make_student_notebooks(tmp_path / "student", [runner.notebook_path("01")])
    errors = classroom.check_student_notebook(path)
    assert errors == ["NotImplementedError", "NotImplementedError"]
