"""Quizzes: question banks (YAML, one per notebook), grading, ipywidgets and a static fallback.

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
needs; a bank may not ask a question before that notebook (``load_bank`` refuses it), and
``show_quiz`` gives live questions built in a notebook that notebook's number.

In a single-choice question the right option may not be more than twice as long as the
longest distractor (``MAX_LENGTH_RATIO``): a learner who always picks the longest option would
find it without knowing anything. Where the right answer really cannot be put shorter, the
question says why in ``long_answer_reason``. tests/test_quiz_audit.py keeps such exceptions few
and audits every word and phrase of the options: reading only the options must score chance.

``show_quiz("02_freezing_layers", extra=[...])`` displays the bank as widgets in JupyterLab
and as readable text (no answers) in papermill outputs and HTML exports.
"""

from __future__ import annotations

import getpass
import hashlib
import html
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from helpers import config

QUIZ_DIR = config.NOTEBOOKS_DIR / "quizzes"
TYPES = ("single", "multiple", "truefalse", "numeric")
# The whole quiz (answers and explanations included) travels in a quiz's output under this
# type, so that `python -m helpers book` can give readers without a kernel a working checker.
QUIZ_MIME = "application/vnd.tlw.quiz+json"
# The right option of a single-choice question may be at most this many times as long (in
# characters) as the longest wrong one, unless the question gives a ``long_answer_reason``.
MAX_LENGTH_RATIO = 2.0


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
    import yaml

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

def grade(q: Question, answer) -> Verdict:
    """Check ``answer`` (an option index, a set of indices, or a number) against ``q``."""
    if q.type == "numeric":
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return Verdict(False, [f"Please enter a number, not {answer!r}."])
        ok = abs(value - q.answer) <= q.tolerance + 1e-12
        msg = ("Right." if ok else f"Not quite: the measured value is {q.answer:g}.")
        return Verdict(ok, [msg + (" " + q.why if q.why else "")])
    if q.type == "multiple":
        chosen = set(answer or ())
        ok = chosen == q.correct_indices
        feedback = []
        for i, o in enumerate(q.options):
            if i in chosen or o.correct:
                mark = "✔" if (i in chosen) == o.correct else "✘"
                state = "you ticked it" if i in chosen else "you left it out"
                feedback.append(f"{mark} {o.text} ({state}): {o.why}")
        return Verdict(ok, feedback)
    if answer is None:
        return Verdict(False, ["Pick an answer first."])
    index = int(answer)
    if not 0 <= index < len(q.options):
        return Verdict(False, [f"Option {index} does not exist."])
    option = q.options[index]
    feedback = [("✔ " if option.correct else "✘ ") + option.why]
    return Verdict(option.correct, feedback)


def learner_key() -> str:
    """Who is answering: ``TLW_LEARNER`` if set, else the login name. Only used to order options."""
    try:
        return os.environ.get("TLW_LEARNER") or getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        return "learner"


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


# ---------------------------------------------------------------- static rendering

def render_text(questions: list[Question], title: str = "Quiz") -> str:
    """Plain-text form of a quiz: questions and options, no answers revealed."""
    lines = [title, "=" * len(title)]
    for n, q in enumerate(questions, 1):
        kind = {"multiple": " (select all that apply)", "numeric": " (enter a number)"}.get(q.type, "")
        lines.append(f"{n}. {q.text}{kind}")
        for i, o in enumerate(q.options):
            lines.append(f"   {chr(97 + i)}) {o.text}")
    lines.append("Open this notebook in JupyterLab to answer and check.")
    return "\n".join(lines)


def render_html(questions: list[Question], title: str = "Quiz") -> str:
    """HTML form of a quiz for exports: questions and options, no answers revealed."""
    parts = [f"<div class='tlw-quiz-static'><h4>{html.escape(title)}</h4><ol>"]
    for q in questions:
        kind = {"multiple": " <em>(select all that apply)</em>",
                "numeric": " <em>(enter a number)</em>"}.get(q.type, "")
        parts.append(f"<li><p>{html.escape(q.text)}{kind}</p>")
        if q.options:
            parts.append("<ul style='list-style: lower-alpha'>")
            parts.extend(f"<li>{html.escape(o.text)}</li>" for o in q.options)
            parts.append("</ul>")
        parts.append("</li>")
    parts.append("</ol><p><small>Open this notebook in JupyterLab to answer and check."
                 "</small></p></div>")
    return "".join(parts)


def quiz_data(questions: list[Question], notebook: str = "", title: str = "Quiz") -> dict:
    """The quiz as plain JSON data (questions, options, answers, explanations)."""
    from dataclasses import asdict

    return {"notebook": notebook, "title": title, "questions": [asdict(q) for q in questions]}


def questions_from_data(data: dict) -> list[Question]:
    """Inverse of ``quiz_data``."""
    return [Question(**{**q, "options": [Option(**o) for o in q["options"]]})
            for q in data["questions"]]


# ---------------------------------------------------------------- widgets

# Long option texts wrap instead of overlapping the next option, and each radio circle sits
# right before its own text (not pushed to the far right of a long label).
QUIZ_CSS = ("<style>.tlw-quiz .widget-radio-box label{height:auto!important;white-space:normal;"
            "line-height:1.35;margin:2px 0;display:flex!important;flex-direction:row;"
            "justify-content:flex-start;align-items:flex-start;gap:6px;text-align:left;width:auto}"
            ".tlw-quiz .widget-radio-box input{flex:none;order:-1;margin:3px 0 0 0;width:auto}"
            ".tlw-quiz .widget-html-content{white-space:normal;line-height:1.35}</style>")


class QuizWidget:
    """The interactive quiz: one box per question with a Check button, feedback and a score.

    Displayed, it offers the widget to JupyterLab and a static HTML/text form to everything
    else (papermill outputs, nbconvert exports, terminals).
    """

    def __init__(self, questions: list[Question], notebook: str = "", title: str = "Quiz",
                 record: bool = True):
        import ipywidgets as w

        self.questions = questions
        self.notebook = notebook
        self.title = title
        self.record = record
        self.results: dict[str, bool] = {}
        self.score = w.HTML(self._score_text())
        boxes = [self._question_box(n, q) for n, q in enumerate(questions, 1)]
        self.widget = w.VBox([w.HTML(QUIZ_CSS + f"<h3>{html.escape(title)}</h3>"), *boxes, self.score],
                             layout=w.Layout(border="1px solid #ccc", padding="8px"))
        self.widget.add_class("tlw-quiz")

    def _score_text(self) -> str:
        right = sum(self.results.values())
        return (f"<b class='tlw-score'>Score: {right} / {len(self.questions)}</b>"
                f" <small>({len(self.results)} checked)</small>")

    def _question_box(self, n: int, q: Question):
        import ipywidgets as w

        label = w.HTML(f"<b>{n}. {html.escape(q.text)}</b>"
                       + (" <i>(select all that apply)</i>" if q.type == "multiple" else ""))
        if q.type == "numeric":
            field_ = w.FloatText(value=None, description="Answer:")
            get = lambda: field_.value  # noqa: E731
            inputs = [field_]
        elif q.type == "multiple":
            boxes = [w.Checkbox(value=False, indent=False, layout=w.Layout(width="28px"))
                     for _ in q.options]
            get = lambda: {i for i, b in enumerate(boxes) if b.value}  # noqa: E731
            inputs = [w.HBox([b, w.HTML(html.escape(o.text))], layout=w.Layout(align_items="center"))
                      for b, o in zip(boxes, q.options, strict=True)]
        else:
            radio = w.RadioButtons(options=[(o.text, i) for i, o in enumerate(q.options)],
                                   value=None, layout=w.Layout(width="auto"))
            get = lambda: radio.value  # noqa: E731
            inputs = [radio]
        check = w.Button(description="Check", button_style="primary")
        retry = w.Button(description="Try again", layout=w.Layout(display="none"))
        feedback = w.HTML()

        def on_check(_):
            verdict = grade(q, get())
            self.results[q.id] = verdict.correct
            colour = "#1a7f37" if verdict.correct else "#b35900"
            head = "Correct!" if verdict.correct else "Not yet."
            items = "".join(f"<li>{html.escape(f)}</li>" for f in verdict.feedback)
            feedback.value = (f"<div class='tlw-feedback' style='color:{colour}'><b>{head}</b>"
                              f"<ul>{items}</ul></div>")
            retry.layout.display = None if not verdict.correct else "none"
            self.score.value = self._score_text()
            if self.record:
                from helpers import progress

                progress.record_answer(self.notebook, q.id, get(), verdict.correct)

        def on_retry(_):
            feedback.value = ""
            retry.layout.display = "none"

        check.on_click(on_check)
        retry.on_click(on_retry)
        box = w.VBox([label, *inputs, w.HBox([check, retry]), feedback])
        box.add_class("tlw-question")
        return box

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle["text/plain"] = render_text(self.questions, self.title)
        bundle["text/html"] = render_html(self.questions, self.title)
        bundle[QUIZ_MIME] = quiz_data(self.questions, self.notebook, self.title)
        return bundle


class Prediction:
    """Predict before you run: a learner's guess, kept so that it can be compared with the result.

    Displayed, it is a set of radio buttons in JupyterLab and plain text elsewhere; after the
    measurement, ``reveal(measured)`` says whether the guess was right (or that none was made).
    """

    def __init__(self, text: str, options: dict[str, str]):
        import ipywidgets as w

        self.text, self.options = text, dict(options)  # option key -> label
        self.radio = w.RadioButtons(options=[(label, key) for key, label in self.options.items()],
                                    value=None, layout=w.Layout(width="auto"))
        self.widget = w.VBox([w.HTML(QUIZ_CSS + f"<b>Predict first:</b> {html.escape(text)}"),
                              self.radio])
        self.widget.add_class("tlw-quiz")

    @property
    def guess(self):
        return self.radio.value

    def reveal(self, measured: str) -> str:
        """One sentence comparing the guess with the measured answer (an option key)."""
        label = self.options.get(measured, measured)
        if self.guess is None:
            return f"You made no prediction. Measured: {label}."
        if self.guess == measured:
            return f"Your prediction was right: {label}."
        return f"You predicted {self.options[self.guess]}; measured: {label}. Worth a second look."

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        text = "Predict first: " + self.text + "\n" + "\n".join(
            f"   {chr(97 + i)}) {label}" for i, label in enumerate(self.options.values()))
        bundle["text/plain"] = text
        bundle["text/html"] = "<pre>" + html.escape(text) + "</pre>"
        return bundle


def show_quiz(notebook: str, extra: list[Question] | None = None, shuffle_seed=None,
              title: str | None = None) -> QuizWidget:
    """The quiz for ``notebook``: its bank plus ``extra`` live questions.

    Options are shuffled per learner (``shuffle_seed`` defaults to ``learner_key()``), stable
    from run to run for the same learner. A live question without ``taught_in`` is taught by
    this notebook; one that names a later notebook is refused.
    """
    asked_in = notebook_number(notebook)
    live = []
    for q in extra or []:
        if not q.taught_in:
            q = Question(**{**q.__dict__, "taught_in": asked_in})
        check_order(q, asked_in, "<live question>")
        live.append(q)
    questions = load_bank(notebook) + live
    questions = shuffled(questions, learner_key() if shuffle_seed is None else shuffle_seed)
    return QuizWidget(questions, notebook=notebook, title=title or f"Quiz: {notebook}")
