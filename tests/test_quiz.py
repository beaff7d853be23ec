import pytest
import yaml

from helpers import quiz


def _write(tmp_path, questions, name="bank.yml", notebook="x"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"notebook": notebook, "questions": questions}))
    return path


GOOD = {"id": "q1", "type": "single", "text": "Pick a", "taught_in": "00", "options": [
    {"text": "a", "correct": True, "why": "a is right"},
    {"text": "b", "correct": False, "why": "b is wrong"}]}


def test_every_shipped_bank_is_valid_and_big_enough():
    banks = quiz.all_banks()
    assert len(banks) >= 7
    total = 0
    for name, questions in banks.items():
        assert len(questions) >= 4, name
        total += len(questions)
        for q in questions:
            if q.type in ("single", "truefalse"):
                assert len(q.correct_indices) == 1
            if q.type == "multiple":
                assert q.correct_indices
    assert total >= 28


def test_source_exercise_questions_are_covered():
    ids = {q.id for qs in quiz.all_banks().values() for q in qs}
    assert {"benefit-of-transfer", "freezing-means", "choosing-pretrained-model"} <= ids


@pytest.mark.parametrize("mutate, message", [
    (lambda q: q["options"][0].update(correct=False), "exactly one correct"),
    (lambda q: q.update(type="essay"), "unknown type"),
    (lambda q: q.update(text=""), "text is empty"),
    (lambda q: q["options"][1].update(why=""), "no explanation"),
    (lambda q: q.update(options=q["options"][:1]), "at least two options"),
    (lambda q: q["options"][0].update(text="a much longer right answer"), "more than 2 times as long"),
    (lambda q: q.pop("taught_in"), "no taught_in"),
    (lambda q: q.update(taught_in="notebook five"), "two-digit number"),
])
def test_malformed_bank_names_file_and_question(tmp_path, mutate, message):
    import copy

    bad = copy.deepcopy(GOOD)
    mutate(bad)
    path = _write(tmp_path, [bad])
    with pytest.raises(quiz.QuizBankError) as err:
        quiz.load_bank(path)
    assert str(path) in str(err.value) and "q1" in str(err.value) and message in str(err.value)


def test_duplicate_ids_rejected(tmp_path):
    path = _write(tmp_path, [GOOD, GOOD])
    with pytest.raises(quiz.QuizBankError, match="q1: duplicate id"):
        quiz.load_bank(path)


def test_numeric_needs_answer(tmp_path):
    path = _write(tmp_path, [{"id": "n", "type": "numeric", "text": "How many?", "taught_in": "01"}])
    with pytest.raises(quiz.QuizBankError, match="n: a numeric question needs an 'answer'"):
        quiz.load_bank(path)


def test_grading_single_multiple_truefalse_numeric(tmp_path):
    q = quiz.load_bank(_write(tmp_path, [GOOD]))[0]
    assert quiz.grade(q, 0).correct and "a is right" in quiz.grade(q, 0).feedback[0]
    wrong = quiz.grade(q, 1)
    assert not wrong.correct and "b is wrong" in wrong.feedback[0]
    assert not quiz.grade(q, None).correct

    multi = quiz.Question("m", "multiple", "pick", [quiz.Option("a", True, "wa"),
                                                     quiz.Option("b", True, "wb"),
                                                     quiz.Option("c", False, "wc")])
    assert quiz.grade(multi, {0, 1}).correct
    partial = quiz.grade(multi, {0, 2})
    assert not partial.correct
    assert any("wb" in f and "left it out" in f for f in partial.feedback)
    assert any("wc" in f and "ticked" in f for f in partial.feedback)

    num = quiz.numeric_question("n", "How many?", 100, tolerance=2, why="counted")
    assert quiz.grade(num, 101.5).correct and not quiz.grade(num, 103).correct
    assert "100" in quiz.grade(num, 50).feedback[0]
    assert not quiz.grade(num, "abc").correct

    tf = quiz._parse_question({"id": "t", "type": "truefalse", "text": "Sky blue?",
                               "answer": True, "why": "physics"}, "x")
    quiz.validate_question(tf, "x")
    assert quiz.grade(tf, 0).correct and not quiz.grade(tf, 1).correct


def test_shuffle_is_seeded_and_keeps_answers(tmp_path):
    qs = quiz.load_bank("03_feature_extraction")
    a, b = quiz.shuffled(qs, 1), quiz.shuffled(qs, 1)
    assert [[o.text for o in q.options] for q in a] == [[o.text for o in q.options] for q in b]
    for orig, sh in zip(qs, a, strict=True):
        assert {o.text for o in orig.options if o.correct} == {o.text for o in sh.options if o.correct}


def test_static_rendering_reveals_no_answers():
    qs = quiz.load_bank("02_freezing_layers")
    text, html = quiz.render_text(qs), quiz.render_html(qs)
    for q in qs:
        assert q.text.split()[0] in text
        for o in q.options:
            assert o.why not in text and o.why not in html
    assert "JupyterLab" in text and "<ol>" in html


def test_widget_bundle_has_widget_and_static_forms():
    w = quiz.show_quiz("01_pretrained_model")
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Quiz")
    assert "<ol>" in bundle["text/html"]


def test_widget_check_updates_score_and_records_progress(tmp_path):
    from helpers import progress

    q = quiz.load_bank(_write(tmp_path, [GOOD]))
    w = quiz.QuizWidget(q, notebook="nbx")
    box = w.widget.children[1]
    radio, buttons, feedback = box.children[1], box.children[2], box.children[3]
    check, retry = buttons.children
    radio.value = 1
    check.click()
    assert "Not yet" in feedback.value and "b is wrong" in feedback.value
    assert retry.layout.display is None and "Score: 0 / 1" in w.score.value
    retry.click()
    assert feedback.value == ""
    radio.value = 0
    check.click()
    assert "Correct" in feedback.value and "Score: 1 / 1" in w.score.value
    answers = progress.load_progress()["answers"]
    assert [(a["question"], a["answer"], a["correct"]) for a in answers] == [
        ("q1", 1, False), ("q1", 0, True)]


def test_options_are_shuffled_per_learner_and_stable():
    banks = quiz.all_banks()
    qs = [q for bank in banks.values() for q in bank]
    a, b = quiz.shuffled(qs, "ada"), quiz.shuffled(qs, "ada")
    assert [[o.text for o in q.options] for q in a] == [[o.text for o in q.options] for q in b]
    other = quiz.shuffled(qs, "grace")
    assert sum([o.text for o in x.options] != [o.text for o in y.options]
               for x, y in zip(a, other, strict=True)) > len(qs) // 3


@pytest.mark.parametrize("learner", ["ada", "grace", "student-07"])
def test_always_picking_one_position_does_not_pass(learner):
    """For any learner, no option position holds more than half of the single-choice answers."""
    from collections import Counter

    singles = [q for bank in quiz.all_banks().values() for q in quiz.shuffled(bank, learner)
               if q.type == "single"]
    positions = Counter(next(iter(q.correct_indices)) for q in singles)
    assert len(singles) >= 20
    assert max(positions.values()) <= len(singles) / 2, positions


def test_show_quiz_shuffles_for_the_learner(monkeypatch):
    monkeypatch.setenv("TLW_LEARNER", "ada")
    shown = quiz.show_quiz("03_feature_extraction")
    expected = quiz.shuffled(quiz.load_bank("03_feature_extraction"), "ada")
    assert [[o.text for o in q.options] for q in shown.questions] == \
        [[o.text for o in q.options] for q in expected]


def test_long_right_answer_needs_a_stated_reason(tmp_path):
    long = {**GOOD, "options": [{"text": "a" * 21, "correct": True, "why": "right"},
                                {"text": "b" * 10, "correct": False, "why": "wrong"}]}
    with pytest.raises(quiz.QuizBankError, match=r"q1: the correct option \(21 characters\)"):
        quiz.load_bank(_write(tmp_path, [long]))
    exactly_twice = {**long, "options": [{**long["options"][0], "text": "a" * 20},
                                         long["options"][1]]}
    assert quiz.load_bank(_write(tmp_path, [exactly_twice]))[0].id == "q1"
    reason = "the only correct wording names three conditions at once"
    q = quiz.load_bank(_write(tmp_path, [{**long, "long_answer_reason": reason}]))[0]
    assert q.long_answer_reason == reason
    assert quiz.questions_from_data(quiz.quiz_data([q])) == [q]


def test_live_choice_question_is_balanced_for_every_outcome():
    options = {"fine-tuning": "x", "scratch CNN": "y", "logistic regression on raw pixels": "z"}
    for right in ("fine-tuning", "scratch CNN"):
        with pytest.raises(quiz.QuizBankError, match="Balance the option texts"):
            quiz.choice_question("best", "Which won?", options, right)
    balanced = {**options, "kNN on pretrained features": "w"}
    assert quiz.choice_question("best", "Which won?", balanced, "scratch CNN").type == "single"


def test_live_choice_question():
    q = quiz.choice_question("best", "Which won?", {"a": "because a", "b": "because b"}, "b")
    assert quiz.grade(q, 1).correct and not quiz.grade(q, 0).correct
    with pytest.raises(quiz.QuizBankError, match="not an option"):
        quiz.choice_question("best", "Which won?", {"a": "x", "b": "y"}, "c")


def test_prediction_reveal():
    p = quiz.Prediction("Which wins?", {"a": "option A", "b": "option B"})
    assert "no prediction" in p.reveal("a")
    p.radio.value = "b"
    assert "right" in p.reveal("b") and "option A" in p.reveal("a")
    assert "Predict first" in p._repr_mimebundle_()["text/plain"]


def test_every_question_says_which_notebook_teaches_it():
    for name, bank in quiz.all_banks().items():
        for q in bank:
            assert q.taught_in and q.taught_in <= name[:2], f"{name}/{q.id}: taught_in {q.taught_in!r}"


@pytest.mark.parametrize("taught_in", ["05", 5, "05_fine_tuning_in_practice"])
def test_a_bank_may_not_ask_before_the_notebook_that_teaches(tmp_path, taught_in):
    early = {**GOOD, "taught_in": taught_in}
    for name, notebook in (("02_freezing_layers.yml", "x"), ("bank.yml", "02_freezing_layers")):
        path = _write(tmp_path, [early], name=name, notebook=notebook)
        with pytest.raises(quiz.QuizBankError, match="asked in notebook 02, before notebook 05"):
            quiz.load_bank(path)
    on_time = _write(tmp_path, [early], name="05_fine_tuning_in_practice.yml")
    assert quiz.load_bank(on_time)[0].taught_in == "05"
    assert quiz.load_bank(_write(tmp_path, [early], name="06_x.yml"))[0].taught_in == "05"


def test_live_questions_are_taught_by_their_own_notebook():
    live = quiz.numeric_question("n", "How many?", 3)
    shown = quiz.show_quiz("02_freezing_layers", extra=[live], shuffle_seed=0)
    assert shown.questions[-1].taught_in == "02" and live.taught_in == ""
    earlier = quiz.choice_question("c", "Which?", {"a": "x", "b": "y"}, "a", taught_in="01")
    assert quiz.show_quiz("02_freezing_layers", extra=[earlier]).questions[-1].taught_in == "01"
    later = quiz.numeric_question("n", "How many?", 3, taught_in="05")
    with pytest.raises(quiz.QuizBankError, match="asked in notebook 02, before notebook 05"):
        quiz.show_quiz("02_freezing_layers", extra=[later])


def test_the_bank_keeps_its_old_names():
    """The bank (schema, loading, grading) has its own module; ``quiz.<name>`` still works."""
    from helpers import quiz_bank

    for name in quiz_bank.__all__:
        assert getattr(quiz, name) is getattr(quiz_bank, name), name
        assert name in quiz.__all__, name
    assert quiz.grade.__module__ == "helpers.quiz_bank"


def test_no_answer_is_never_graded():
    """An empty answer of any kind asks for one and gives nothing away (the book's checker
    says the same: tests/test_book_checker.py)."""
    multi = quiz.Question("m", "multiple", "pick", [quiz.Option("a", True, "wa"),
                                                     quiz.Option("b", False, "wb")])
    single = quiz.choice_question("s", "Which?", {"a": "x", "b": "y"}, "a")
    num = quiz.numeric_question("n", "How many?", 3)
    for q, answer in ((multi, set()), (multi, None), (multi, []), (single, None),
                      (num, None), (num, ""), (num, "abc"), (num, "nan")):
        verdict = quiz.grade(q, answer)
        assert not verdict.correct and len(verdict.feedback) == 1, (q.id, answer)
        assert verdict.feedback[0] in (quiz.FEEDBACK["pick"], quiz.FEEDBACK["not_a_number"])
        assert "wa" not in verdict.feedback[0]


def test_quiz_data_carries_the_checkers_words():
    num = quiz.numeric_question("n", "How many?", 0.123456789)
    data = quiz.quiz_data([num])
    assert data["feedback"] == quiz.FEEDBACK
    assert data["questions"][0]["answer_text"] == "0.123457"
    assert "0.123457" in quiz.grade(num, 1).feedback[0]
    assert quiz.questions_from_data(data) == [num]
