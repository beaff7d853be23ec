"""The book's quiz checker (JavaScript, no kernel) and ``quiz.grade`` (Python) agree on every
answer: each kind of question (single, multiple, true/false, numeric within its tolerance) is
answered in headless Chromium, the empty answers included, and every verdict the page shows
(right or not, and each line of feedback) must be the one ``quiz.grade`` gives the same answer.

One page, one browser launch: a few seconds.
"""

from __future__ import annotations

import pytest
from pages import page_from_disk

from helpers import quiz
from helpers.tools import book

pytestmark = pytest.mark.browser

QUESTIONS = [
    quiz.Question("one", "single", "Which layer is frozen?", [
        quiz.Option("The first", False, "It still trains."),
        quiz.Option("The second", True, "Its weights stay."),
        quiz.Option("The third", False, "It is the head.")], taught_in="02"),
    quiz.Question("many", "multiple", "Which of these transfer?", [
        quiz.Option("Edges", True, "Early layers find edges."),
        quiz.Option("Class names", False, "A new head names new classes."),
        quiz.Option("Textures", True, "Middle layers find textures.")], taught_in="03"),
    quiz.Question("tf", "truefalse", "A frozen layer's weights change.", [
        quiz.Option("True", False, "Freezing stops them."),
        quiz.Option("False", True, "Right: they stay as they are.")], taught_in="02"),
    quiz.numeric_question("count", "How many weights train?", 100, tolerance=1.5,
                          why="Only the head trains.", taught_in="02"),
    quiz.numeric_question("share", "What share of the weights train?", 0.123456789,
                          tolerance=0.001, taught_in="02"),
]

# (question id, the answer as quiz.grade takes it); for a numeric question, the text typed
ANSWERS = [
    ("one", None), ("one", 0), ("one", 1), ("one", 2),
    ("many", set()), ("many", {0, 2}), ("many", {0}), ("many", {1}), ("many", {0, 1, 2}),
    ("tf", None), ("tf", 0), ("tf", 1),
    ("count", ""), ("count", "100"), ("count", "101.5"), ("count", "98.5"), ("count", "101.6"),
    ("count", "-3"), ("count", "1e2"),
    ("share", ""), ("share", "0.1235"), ("share", "0.2"),
]


def test_every_kind_of_question_is_answered_in_the_test():
    asked = {qid for qid, _ in ANSWERS}
    assert {q.type for q in QUESTIONS if q.id in asked} == set(quiz.TYPES)
    assert ("many", set()) in ANSWERS and ("one", None) in ANSWERS and ("count", "") in ANSWERS


def _answer(box, q: quiz.Question, answer) -> None:
    """Put ``answer`` into the question's inputs, as a reader would (clearing the last one)."""
    if q.type == "numeric":
        box.locator("input").fill(answer)
        return
    inputs = box.locator("input")
    chosen = set() if answer is None else ({answer} if isinstance(answer, int) else set(answer))
    if q.type == "multiple":
        for i in range(inputs.count()):
            inputs.nth(i).set_checked(i in chosen)
    elif chosen:
        inputs.nth(next(iter(chosen))).check()
    else:   # a radio cannot be unticked by a click: as a reader would find the page, fresh
        inputs.evaluate_all("els => els.forEach(e => { e.checked = false; })")


def test_the_books_checker_grades_as_quiz_grade(tmp_path):
    page_file = tmp_path / "quiz.html"
    page_file.write_text("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                         + book.quiz_html(quiz.quiz_data(QUESTIONS, "02_x", "Quiz"), "q")
                         + "</body></html>", encoding="utf-8")
    by_id = {q.id: (n, q) for n, q in enumerate(QUESTIONS)}
    seen, expected = [], []
    with page_from_disk(page_file) as (page, errors):
        page.locator(".tlw-book-quiz[data-ready]").wait_for()
        for qid, answer in ANSWERS:
            n, q = by_id[qid]
            box = page.locator(".tlw-q").nth(n)
            _answer(box, q, answer)
            box.locator("button.tlw-check").click()
            feedback = box.locator(".tlw-feedback")
            seen.append((qid, answer, "tlw-right" in feedback.get_attribute("class"),
                         feedback.locator("div").all_text_contents()))
            verdict = quiz.grade(q, answer)
            expected.append((qid, answer, verdict.correct, verdict.feedback))
        assert not errors, errors
    assert seen == expected
    # the cases mean something: some right, some wrong, and the empty answers only ask for one
    assert {right for _, _, right, _ in seen} == {True, False}
    empty = [lines for _, answer, _, lines in seen if answer in (None, set(), "")]
    assert len(empty) == 5 and all(
        lines in ([quiz.FEEDBACK["pick"]], [quiz.FEEDBACK["not_a_number"]]) for lines in empty)
