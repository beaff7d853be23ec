"""The question banks: their schema, reading and checking them, and grading an answer.

A bank lives in ``notebooks/quizzes/<notebook>.yml``::

    notebook: 02_freezing_layers
    questions:
      - id: freeze-meaning
        type: single            # single | multiple | truefalse | numeric
        taught_in: "02"         # the notebook whose lesson this question needs
        text: What does freezing a layer mean?
        options:
          - {text: Its weights stop changing during training, correct: true, why: ...}
          - {text: ..., correct: false, why: ...}
      - id: trainable-count
        type: numeric
        taught_in: "02"
        text: ...
        answer: 1234
        tolerance: 0.5
        why: ...

Every question names in ``taught_in`` the notebook (its two-digit number) whose lesson it
needs; a bank may not ask a question before that notebook (``load_bank`` refuses it).

In a single-choice question the right option may not be more than twice as long as the
longest distractor (``MAX_LENGTH_RATIO``): a learner who always picks the longest option would
find it without knowing anything. Where the right answer really cannot be put shorter, the
question says why in ``long_answer_reason``. tests/test_quiz_audit.py keeps such exceptions few
and audits every word and phrase of the options: reading only the options must score chance.

``grade`` is the one definition of a right answer. The static book (``python -m helpers book``)
checks answers in the browser, without Python: its small checker follows the same rules and
takes every word it says from the quiz's data (``quiz_data`` carries ``FEEDBACK`` and each
question's ``answer_text``); tests/test_book_checker.py answers every kind of question there,
the empty answers included, and compares each verdict with ``grade``'s. The widgets that show
a quiz are in ``helpers.quiz``.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from helpers import config

__all__ = [
    "QUIZ_DIR", "TYPES", "QUIZ_MIME", "MAX_LENGTH_RATIO", "FEEDBACK", "QuizBankError", "Option",
    "Question", "Verdict", "numeric_question", "choice_question", "notebook_number",
    "validate_question", "load_bank", "check_order", "all_banks", "grade", "answer_text",
    "shuffled", "quiz_data", "questions_from_data",
]

QUIZ_DIR = config.NOTEBOOKS_DIR / "quizzes"
TYPES = ("single", "multiple", "truefalse", "numeric")
# The whole quiz (answers and explanations included) travels in a quiz's output under this
# type, so that `python -m helpers book` can give readers without a kernel a working checker.
QUIZ_MIME = "application/vnd.tlw.quiz+json"
# The right option of a single-choice question may be at most this many times as long (in
# characters) as the longest wrong one, unless the question gives a ``long_answer_reason``.
MAX_LENGTH_RATIO = 2.0
# Every word a verdict says besides the bank's own explanations; the book's checker says the
# same words ({answer}: the question's ``answer_text``).
FEEDBACK = {
    "pick": "Pick an answer first.",
    "not_a_number": "Please enter a number.",
    "right_number": "Right.",
    "wrong_number": "Not quite: the measured value is {answer}.",
    "right_mark": "\u2714 ",
    "wrong_mark": "\u2718 ",
    "ticked": "you ticked it",
    "left_out": "you left it out",
}


class QuizBankError(ValueError):
    """A question bank breaks the schema; the message names the file and the question."""


@dataclass
class Option:
    text: str
    correct: bool
    why: str


@dataclass
class Question:
    id: str
    type: str
    text: str
    options: list[Option] = field(default_factory=list)
    answer: float | None = None
    tolerance: float = 0.0
    why: str = ""
    topic: str = ""
    long_answer_reason: str = ""  # why the right option must be much longer than the others
    taught_in: str = ""  # two-digit number of the notebook that teaches the concept ("05")

    @property
    def correct_indices(self) -> set[int]:
        return {i for i, o in enumerate(self.options) if o.correct}


@dataclass
class Verdict:
    """The result of checking one answer: right or not, and the explanations to show."""

    correct: bool
    feedback: list[str]


# ---------------------------------------------------------------- building and validating

def numeric_question(id: str, text: str, answer: float, tolerance: float = 0.0,
                     why: str = "", topic: str = "", taught_in: str = "") -> Question:
    """A question whose answer is a number the learner just measured (built from the live run).

    ``taught_in`` defaults to the notebook that shows it (``show_quiz`` fills it in).
    """
    q = Question(id=id, type="numeric", text=text, answer=float(answer),
                 tolerance=float(tolerance), why=why, topic=topic,
                 taught_in=notebook_number(taught_in))
    validate_question(q, "<live question>")
    return q


def choice_question(id: str, text: str, options: dict[str, str], correct: str,
                    topic: str = "", taught_in: str = "") -> Question:
    """A single-choice question whose right answer comes from a measurement made in this run.

    ``options`` maps each option's text to its explanation; ``correct`` names the right one.
    The measurement may pick any option, so the length rule of the banks holds for every one of
    them: no option may be more than ``MAX_LENGTH_RATIO`` times as long as the longest other.
    ``taught_in`` defaults to the notebook that shows it (``show_quiz`` fills it in).
    """
    if correct not in options:
        raise QuizBankError(f"<live question {id}>: the correct answer {correct!r} is not an option")
    lengths = sorted((len(t) for t in options), reverse=True)
    if len(lengths) > 1 and lengths[0] > MAX_LENGTH_RATIO * lengths[1]:
        longest = max(options, key=len)
        raise QuizBankError(
            f"<live question>, question {id}: the option {longest!r} is more than "
            f"{MAX_LENGTH_RATIO:g} times as long as every other option; whenever the measurement "
            "picks it, picking the longest option finds the answer. Balance the option texts")
    q = Question(id=id, type="single", text=text, topic=topic, taught_in=notebook_number(taught_in),
                 options=[Option(t, t == correct, why) for t, why in options.items()])
    validate_question(q, "<live question>")
    return q


def notebook_number(name) -> str:
    """The two-digit number of a notebook given as ``"05"``, ``5`` or ``"05_fine_tuning..."``.

    Anything else comes back unchanged (as a string), for ``validate_question`` to refuse.
    """
    if isinstance(name, bool):
        return str(name)
    if isinstance(name, int):
        return f"{name:02d}"
    text = str(name or "").strip()
    head = text.split("_", 1)[0]
    return head if len(head) == 2 and head.isdigit() else text


def _parse_question(raw, source: str) -> Question:
    if not isinstance(raw, dict):
        raise QuizBankError(f"{source}: every question must be a mapping, got {raw!r}")
    qid = str(raw.get("id", "")).strip() or "<missing id>"
    options = []
    for o in raw.get("options") or []:
        if not isinstance(o, dict):
            raise QuizBankError(f"{source}, question {qid}: each option needs text/correct/why")
        options.append(Option(text=str(o.get("text", "")).strip(),
                              correct=bool(o.get("correct", False)),
                              why=str(o.get("why", "")).strip()))
    answer = raw.get("answer")
    if raw.get("type") == "truefalse" and not options and isinstance(answer, bool):
        options = [Option("True", answer is True, str(raw.get("why_true", raw.get("why", "")))),
                   Option("False", answer is False, str(raw.get("why_false", raw.get("why", ""))))]
        answer = None
    return Question(id=qid, type=str(raw.get("type", "")), text=str(raw.get("text", "")).strip(),
                    options=options, answer=None if answer is None else float(answer),
                    tolerance=float(raw.get("tolerance", 0.0)), why=str(raw.get("why", "")).strip(),
                    topic=str(raw.get("topic", "")),
                    long_answer_reason=str(raw.get("long_answer_reason") or "").strip(),
                    taught_in=notebook_number(raw.get("taught_in", "")))


def validate_question(q: Question, source: str) -> None:
    """Raise QuizBankError (naming ``source`` and the question id) if ``q`` is malformed."""
    where = f"{source}, question {q.id}"
    if q.id == "<missing id>":
        raise QuizBankError(f"{source}: a question has no id")
    if q.type not in TYPES:
        raise QuizBankError(f"{where}: unknown type {q.type!r}; use one of {', '.join(TYPES)}")
    if not q.text:
        raise QuizBankError(f"{where}: the question text is empty")
    if q.taught_in and not (len(q.taught_in) == 2 and q.taught_in.isdigit()):
        raise QuizBankError(f"{where}: taught_in must be a notebook's two-digit number such as "
                            f"\"05\", got {q.taught_in!r}")
    if q.type == "numeric":
        if q.answer is None:
            raise QuizBankError(f"{where}: a numeric question needs an 'answer'")
        if q.tolerance < 0:
            raise QuizBankError(f"{where}: tolerance must be >= 0")
        return
    _validate_options(q, where)


def _validate_options(q: Question, where: str) -> None:
    """The options of a choice question: text and explanation each, the right number correct,
    and (single choice) no right option that the longest-option strategy finds."""
    if len(q.options) < 2:
        raise QuizBankError(f"{where}: needs at least two options")
    for i, o in enumerate(q.options):
        if not o.text:
            raise QuizBankError(f"{where}: option {i + 1} has empty text")
        if not o.why:
            raise QuizBankError(f"{where}: option {i + 1} has no explanation ('why')")
    n_correct = len(q.correct_indices)
    if q.type in ("single", "truefalse") and n_correct != 1:
        raise QuizBankError(f"{where}: a {q.type} question needs exactly one correct option, "
                            f"found {n_correct}")
    if q.type == "multiple" and n_correct < 1:
        raise QuizBankError(f"{where}: a multiple-choice question needs a correct option")
    if q.type == "single" and not q.long_answer_reason:
        right = len(q.options[next(iter(q.correct_indices))].text)
        longest_wrong = max(len(o.text) for o in q.options if not o.correct)
        if right > MAX_LENGTH_RATIO * longest_wrong:
            raise QuizBankError(
                f"{where}: the correct option ({right} characters) is more than "
                f"{MAX_LENGTH_RATIO:g} times as long as the longest distractor ({longest_wrong}), "
                "so picking the longest option finds it; lengthen the distractors, shorten the "
                "answer, or say in 'long_answer_reason' why it must be this long")


def load_bank(name_or_path, quiz_dir: Path = QUIZ_DIR) -> list[Question]:
    """Read and validate a bank: by notebook name (``02_freezing_layers``) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = Path(quiz_dir) / f"{name_or_path}.yml"
    if not path.is_file():
        raise QuizBankError(f"{path}: no such question bank")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise QuizBankError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list):
        raise QuizBankError(f"{path}: expected a mapping with a 'questions' list")
    asked_in = next((n for n in (notebook_number(path.stem), notebook_number(raw.get("notebook")))
                     if len(n) == 2 and n.isdigit()), "")
    questions, seen = [], set()
    for item in raw["questions"]:
        q = _parse_question(item, str(path))
        validate_question(q, str(path))
        if q.id in seen:
            raise QuizBankError(f"{path}, question {q.id}: duplicate id")
        if not q.taught_in:
            raise QuizBankError(f"{path}, question {q.id}: no taught_in; name the notebook whose "
                                "lesson the question needs, e.g. taught_in: \"03\"")
        check_order(q, asked_in, str(path))
        seen.add(q.id)
        questions.append(q)
    return questions


def check_order(q: Question, asked_in: str, source: str) -> None:
    """Refuse a question asked in notebook ``asked_in`` before the notebook that teaches it."""
    if asked_in and q.taught_in and q.taught_in > asked_in:
        raise QuizBankError(f"{source}, question {q.id}: asked in notebook {asked_in}, before "
                            f"notebook {q.taught_in} teaches it; move it to that notebook's bank")


def all_banks(quiz_dir: Path = QUIZ_DIR) -> dict[str, list[Question]]:
    """Every bank in ``quiz_dir``, validated, by notebook name."""
    return {p.stem: load_bank(p) for p in sorted(Path(quiz_dir).glob("*.yml"))}


# ---------------------------------------------------------------- grading

def answer_text(q: Question) -> str:
    """A numeric question's answer as its feedback shows it (``{answer}`` in ``FEEDBACK``)."""
    return "" if q.answer is None else f"{q.answer:g}"


def grade(q: Question, answer) -> Verdict:
    """Check ``answer`` (an option index, a set of indices, or a number) against ``q``.

    No answer (None, an empty set of ticks, an empty or non-numeric entry) is never graded:
    the verdict asks for one and reveals nothing.
    """
    if q.type == "numeric":
        try:
            value = float(answer)
        except (TypeError, ValueError):
            value = math.nan
        if math.isnan(value):
            return Verdict(False, [FEEDBACK["not_a_number"]])
        ok = abs(value - q.answer) <= q.tolerance + 1e-12
        msg = FEEDBACK["right_number" if ok else "wrong_number"].format(answer=answer_text(q))
        return Verdict(ok, [msg + (" " + q.why if q.why else "")])
    if q.type == "multiple":
        chosen = set(answer or ())
        if not chosen:
            return Verdict(False, [FEEDBACK["pick"]])
        feedback = []
        for i, o in enumerate(q.options):
            if i in chosen or o.correct:
                mark = FEEDBACK["right_mark" if (i in chosen) == o.correct else "wrong_mark"]
                state = FEEDBACK["ticked" if i in chosen else "left_out"]
                feedback.append(f"{mark}{o.text} ({state}): {o.why}")
        return Verdict(chosen == q.correct_indices, feedback)
    if answer is None:
        return Verdict(False, [FEEDBACK["pick"]])
    index = int(answer)
    if not 0 <= index < len(q.options):
        return Verdict(False, [f"Option {index} does not exist."])
    option = q.options[index]
    return Verdict(option.correct,
                   [FEEDBACK["right_mark" if option.correct else "wrong_mark"] + option.why])


def shuffled(questions: list[Question], seed) -> list[Question]:
    """A copy with each question's options in an order fixed by (``seed``, question id).

    The order is stable for one learner (the same on every run) and differs between learners
    and between questions, so "always pick the first option" earns nothing. True/false keeps
    its natural order.
    """
    out = []
    for q in questions:
        opts = list(q.options)
        if q.type in ("single", "multiple"):
            digest = hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest()
            random.Random(int(digest[:16], 16)).shuffle(opts)
        out.append(Question(**{**q.__dict__, "options": opts}))
    return out


# ---------------------------------------------------------------- the quiz as data

def quiz_data(questions: list[Question], notebook: str = "", title: str = "Quiz") -> dict:
    """The quiz as plain JSON data: questions, options, answers, explanations, and what a
    checker without Python needs to word its verdicts as ``grade`` does (``FEEDBACK`` and
    each question's ``answer_text``)."""
    return {"notebook": notebook, "title": title, "feedback": dict(FEEDBACK),
            "questions": [{**asdict(q), "answer_text": answer_text(q)} for q in questions]}


def questions_from_data(data: dict) -> list[Question]:
    """Inverse of ``quiz_data`` (keys that are not a question's fields are left out)."""
    names = {f.name for f in fields(Question)}
    return [Question(**{**{k: v for k, v in q.items() if k in names},
                        "options": [Option(**o) for o in q["options"]]})
            for q in data["questions"]]
