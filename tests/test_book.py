"""The static book: built from the executed course, quizzes answered in real headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers import quiz
from helpers.tools import book

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"


def test_quiz_html_carries_answers_and_a_static_form():
    qs = quiz.load_bank("03_feature_extraction")
    page = book.quiz_html(quiz.quiz_data(qs, "03_feature_extraction", "Quiz"), "b1")
    payload = re.search(r"<script type='application/json' class='tlw-quiz-data'>(.*?)</script>",
                        page, re.S).group(1)
    data = json.loads(payload.replace("<\\/", "</"))
    assert [q["id"] for q in data["questions"]] == [q.id for q in qs]
    assert quiz.questions_from_data(data) == qs
    assert "tlw-quiz-static" in page and "tlwRenderQuizzes" in page


def test_missing_executed_notebooks_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="helpers run"):
        book.build_book(tmp_path / "nothing", tmp_path / "book")


@pytest.fixture(scope="module")
def built(course_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    return book.build_book(course_run["out"], out)


@pytest.mark.slow
def test_book_has_every_notebook_figures_and_live_quizzes(built, course_run):
    assert built["index"].is_file() and len(built["pages"]) == 7
    index = built["index"].read_text()
    for page in built["pages"]:
        assert page.is_file() and page.name in index
        assert "tlw-book-quiz" in page.read_text()
    assert all(n == 1 for n in built["quizzes"].values())
    assert len(list((built["index"].parent / "_images").glob("*.png"))) >= 10
    # the live question of 04 (measured in this run) is in the book, with its measured answer
    ran = nbformat.read(Path(course_run["out"]) / "04_fine_tuning.ipynb", 4)
    live = [o["data"][quiz.QUIZ_MIME] for c in ran.cells for o in c.get("outputs", [])
            if quiz.QUIZ_MIME in o.get("data", {})]
    assert any(q["id"] == "live-ft-lr" for q in live[0]["questions"])
    assert "live-ft-lr" in (built["index"].parent / "04_fine_tuning.html").read_text()


@pytest.mark.slow
@pytest.mark.browser
def test_reader_answers_a_quiz_in_chromium(built):
    """Open a page from disk (no server, no kernel), answer wrong, then right."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian package chromium")
    from playwright.sync_api import sync_playwright

    page_path = built["index"].parent / "03_feature_extraction.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            root = page.locator(".tlw-book-quiz").first
            root.wait_for()
            data = json.loads(root.locator("script.tlw-quiz-data").text_content())
            q_index, q = next((i, q) for i, q in enumerate(data["questions"]) if q["type"] == "single")
            box = root.locator(".tlw-q").nth(q_index)
            wrong = next(i for i, o in enumerate(q["options"]) if not o["correct"])
            right = next(i for i, o in enumerate(q["options"]) if o["correct"])
            box.locator("input").nth(wrong).check()
            box.locator("button.tlw-check").click()
            feedback = box.locator(".tlw-feedback")
            assert "Not yet" in feedback.inner_text()
            assert q["options"][wrong]["why"][:40] in feedback.inner_text()
            box.locator("input").nth(right).check()
            box.locator("button.tlw-check").click()
            assert "Right!" in feedback.inner_text()
            assert q["options"][right]["why"][:40] in feedback.inner_text()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            box.screenshot(path=str(ARTIFACTS / "book_quiz.png"))
            assert not errors, errors
        finally:
            browser.close()
