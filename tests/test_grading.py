"""nbgrader assignments: metadata, strict checks, and a real generate + autograde round trip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers import config, exercises
from helpers.tools import grading

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_is_an_answer_cell_then_a_locked_check(path):
    nb = grading.nbgrader_version(path)
    pairs = grading.exercise_pairs(nb)
    assert pairs, "every notebook has exercises"
    for answer, check in pairs:
        a, c = nb.cells[answer].metadata["nbgrader"], nb.cells[check].metadata["nbgrader"]
        assert a["solution"] and not a["grade"] and not a["locked"]
        assert c["grade"] and c["locked"] and not c["solution"] and c["points"] == 1
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells]
    assert len(ids) == len(set(ids))
    others = set(range(len(nb.cells))) - {i for pair in pairs for i in pair}
    assert all(nb.cells[i].metadata["nbgrader"]["locked"] for i in others)
    assert grading.total_points(nb) == len(pairs)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_markers_only_in_answer_cells(path):
    """nbgrader treats every cell holding a solution marker as a solution (prose included): the
    learner's notebook has none, the teacher's version has them in answer cells only."""
    from helpers.tools.classroom import teacher_version

    learner = nbformat.read(path, as_version=4)
    assert not any("SOLUTION" in cell.source for cell in learner.cells)
    teacher = teacher_version(learner)
    assert sum(grading.is_answer_cell(cell) for cell in teacher.cells) >= 2
    for cell in teacher.cells:
        if "BEGIN SOLUTION" in cell.source or "END SOLUTION" in cell.source:
            assert grading.is_answer_cell(cell), cell.source[:200]


def test_answer_and_check_in_one_cell_is_refused(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = None\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"
                                           "exercises.check_x(x)")])
    path = tmp_path / "00_bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="00_bad.ipynb, cell 0: .*share a cell"):
        grading.nbgrader_version(path)


def test_answer_without_check_is_refused(tmp_path):
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    path = tmp_path / "00_bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="followed by its check"):
        grading.nbgrader_version(path)


def test_checks_are_strict_under_nbgrader(monkeypatch):
    import numpy as np

    x, y = np.zeros((6, 28, 28, 1)), np.array([0, 0, 0, 0, 1, 1])   # unbalanced: wrong
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("TLW_STRICT", raising=False)
    assert not exercises.check_few_shot_sample(x, y, 2, 3)   # a learner gets a hint, no error
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError, match="unbalanced"):
        exercises.check_few_shot_sample(x, y, 2, 3)
    assert config.quick_mode(None) and config.autograding()
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv("TLW_STRICT", "1")
    with pytest.raises(AssertionError):
        exercises.check_few_shot_sample(x, y, 2, 3)
    right = exercises.check_few_shot_sample(np.zeros((6, 28, 28, 1)), np.array([0, 0, 0, 1, 1, 1]), 2, 3)
    assert right.passed


def test_nothing_is_written_while_autograding(monkeypatch, tmp_path):
    from helpers import progress, results

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("TLW_RESULTS_DIR", str(tmp_path / "results"))
    rec = results.Recorder("00_welcome")
    assert rec.record("x", 1) == 1 and rec.data["metrics"] == {"x": 1}
    progress.record_answer("00_welcome", "q", "a", True, path=tmp_path / "progress.json")
    assert not (tmp_path / "results").exists() and not (tmp_path / "progress.json").exists()


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TLW_QUICK", "NBGRADER_EXECUTION")}
    # nbgrader calls its `alembic` tool by name: the environment's bin folder must be on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_generate_and_autograde_a_submission_with_a_right_and_a_wrong_answer(tmp_path):
    """The real nbgrader: in one submission, the right answer gets its check's points and the
    wrong one none. (One submission, not two: each autograde runs the whole notebook.)"""
    pytest.importorskip("nbgrader", reason="nbgrader is one of the course's pinned dependencies")
    source = config.NOTEBOOKS_DIR / "00_welcome.ipynb"
    course = tmp_path / "course"
    grading.write_course(course, [source])
    _nbgrader(course, "generate_assignment", "00_welcome", "--force")
    released = course / "release" / "00_welcome" / "00_welcome.ipynb"
    student_nb = nbformat.read(released, as_version=4)
    answers = [i for i, c in enumerate(student_nb.cells)
               if c.metadata.get("nbgrader", {}).get("solution")]
    assert answers and all("raise NotImplementedError" in student_nb.cells[i].source for i in answers)
    assert all("BEGIN SOLUTION" not in c.source for c in student_nb.cells)
    assert all("HIDDEN TESTS" not in c.source for c in student_nb.cells)   # removed for students
    checks = [student_nb.cells[i + 1].metadata["nbgrader"] for i in answers]
    assert all(c.get("grade") and c.get("locked") for c in checks)

    solved = grading.nbgrader_version(source)
    right = solved.cells[answers[1]].source.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION", "")
    # wrong: a balanced sample, but of test images (its check, strict under nbgrader, catches it)
    wrong = "x_small, y_small = data.few_shot(far.x_test, far.y_test, 3, seed=SEED)"
    grading.copy_submission(released, course, "student", {answers[0]: wrong, answers[1]: right})
    _nbgrader(course, "autograde", "00_welcome", "--create", "--force")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        graded = gb.find_submission_notebook("00_welcome", "00_welcome", "student")
        scores = {g.name: (g.score, g.max_score) for g in graded.grades}
        assert gb.find_assignment("00_welcome").max_score == len(answers) == 2
    assert scores == {checks[0]["grade_id"]: (0, 1), checks[1]["grade_id"]: (1, 1)}
    graded = nbformat.read(course / "autograded" / "student" / "00_welcome" / "00_welcome.ipynb", 4)
    errors = [o for c in graded.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert {e["ename"] for e in errors} == {"AssertionError"} and len(errors) == 1
    assert "far.x_test is kept for scoring" in errors[0]["evalue"]   # the check's own hint


def test_generated_config_uses_only_options_nbgrader_reads(tmp_path, caplog):
    """Every `c.Section.option` in nbgrader_config.py is a config trait of nbgrader's class of
    that name (an unknown one makes nbgrader print "Config option ... not recognized")."""
    pytest.importorskip("nbgrader", reason="nbgrader is one of the course's pinned dependencies")
    import logging

    from nbgrader.apps import NbGraderApp
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    grading.write_course(tmp_path, [NOTEBOOKS[0]])
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    classes = {cls.__name__: cls for cls in NbGraderApp().all_configurable_classes()}
    assert set(cfg) >= {"CourseDirectory", "Execute", "ClearSolutions"}
    for section, options in cfg.items():
        assert section in classes, f"{section} is not one of nbgrader's configurable classes"
        known = classes[section].class_trait_names(config=True)
        unknown = sorted(set(options) - set(known))
        assert not unknown, f"{section}: {unknown} not recognised by nbgrader"
    # what nbgrader itself would say when it loads the file
    log = logging.getLogger("test-nbgrader-config")
    with caplog.at_level(logging.WARNING, logger=log.name):
        execute = Execute(config=cfg, log=log)
    assert "not recognized" not in caplog.text
    assert execute.timeout == grading.CELL_TIMEOUT_S
    # a learner's error in one answer cell does not stop grading: nbgrader always allows errors
    assert execute.allow_errors and not execute.force_raise_errors


def test_cli_writes_the_course_folder(tmp_path, capsys):
    from helpers.tools.cli import main

    assert main(["nbgrader", "02", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "source" / "02_freezing_layers" / "02_freezing_layers.ipynb").is_file()
    config_text = (tmp_path / "nbgrader_config.py").read_text()
    assert f"c.Execute.timeout = {grading.CELL_TIMEOUT_S}" in config_text
    assert main(["nbgrader", "99", "--out", str(tmp_path / "x")]) == 1
    assert "choose from" in capsys.readouterr().err
