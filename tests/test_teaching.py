"""docs/teaching.md's plan is generated from the notebooks and kept in step with them."""

from helpers import config
from helpers.tools import teaching
from helpers.tools.blocks import generated_block


def test_plan_block_is_current():
    text = (config.ROOT / "docs" / "teaching.md").read_text()
    assert generated_block(text, "plan") == teaching.plan_markdown(), (
        "docs/teaching.md is out of date: run `python -m helpers tables`")


def test_plan_names_goals_times_and_graded_exercises_of_every_notebook():
    plan = teaching.plan_markdown()
    for path in sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        entry = teaching.notebook_plan(path, {})
        assert entry["goals"] and entry["reading_min"] > 0 and len(entry["exercises"]) >= 2
        assert all(check.startswith("check_") for _, check in entry["exercises"])
        assert f"**`{path.stem}`**" in plan
    assert "NO SOLUTION" not in plan


def test_quiz_topics_block_is_current_and_lists_every_bank():
    text = (config.ROOT / "docs" / "teaching.md").read_text()
    block = generated_block(text, "quiz-topics")
    assert block == teaching.quiz_topics_markdown(), "run `python -m helpers tables`"
    for path in sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        assert f"| `{path.stem}` |" in block
