"""Quizzes in a notebook: ipywidgets to answer and check, and a static form for everything else.

``show_quiz("02_freezing_layers", extra=[...])`` displays the notebook's question bank (plus live
questions measured in the run) as widgets in JupyterLab and as readable text (no answers) in
papermill outputs and HTML exports; ``Prediction`` asks for a guess before a measurement.
Live questions built in a notebook are taught by that notebook's number.

The banks themselves (their schema, loading, validation and ``grade``) are in
``helpers.quiz_bank``; every one of its names is importable from here too, so
``quiz.load_bank``, ``quiz.grade``, ``quiz.Question`` and the rest work as before.
"""

from __future__ import annotations

import getpass
import html

import ipywidgets as widgets

from helpers import config, progress
from helpers.quiz_bank import (  # noqa: F401 - re-exported: quiz.<name> is the notebooks' way
    FEEDBACK,
    MAX_LENGTH_RATIO,
    QUIZ_DIR,
    QUIZ_MIME,
    TYPES,
    Option,
    Question,
    QuizBankError,
    Verdict,
    _parse_question,
    all_banks,
    answer_text,
    check_order,
    choice_question,
    grade,
    load_bank,
    notebook_number,
    numeric_question,
    questions_from_data,
    quiz_data,
    shuffled,
    validate_question,
)
from helpers.quiz_bank import __all__ as _bank_names

__all__ = [*_bank_names, "learner_key", "render_text", "render_html", "QUIZ_CSS", "QuizWidget",
           "Prediction", "show_quiz"]


def learner_key() -> str:
    """Who is answering: ``TLW_LEARNER`` if set, else the login name. Only used to order options."""
    try:
        return config.learner_name() or getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        return "learner"


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
        self.questions = questions
        self.notebook = notebook
        self.title = title
        self.record = record
        self.results: dict[str, bool] = {}
        self.score = widgets.HTML(self._score_text())
        boxes = [self._question_box(n, q) for n, q in enumerate(questions, 1)]
        self.widget = widgets.VBox([widgets.HTML(QUIZ_CSS + f"<h3>{html.escape(title)}</h3>"),
                                    *boxes, self.score],
                                   layout=widgets.Layout(border="1px solid #ccc", padding="8px"))
        self.widget.add_class("tlw-quiz")

    def _score_text(self) -> str:
        right = sum(self.results.values())
        return (f"<b class='tlw-score'>Score: {right} / {len(self.questions)}</b>"
                f" <small>({len(self.results)} checked)</small>")

    def _question_box(self, n: int, q: Question):
        label = widgets.HTML(f"<b>{n}. {html.escape(q.text)}</b>"
                             + (" <i>(select all that apply)</i>" if q.type == "multiple" else ""))
        if q.type == "numeric":
            field_ = widgets.FloatText(value=None, description="Answer:")
            get = lambda: field_.value  # noqa: E731
            inputs = [field_]
        elif q.type == "multiple":
            boxes = [widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="28px"))
                     for _ in q.options]
            get = lambda: {i for i, b in enumerate(boxes) if b.value}  # noqa: E731
            inputs = [widgets.HBox([b, widgets.HTML(html.escape(o.text))],
                                   layout=widgets.Layout(align_items="center"))
                      for b, o in zip(boxes, q.options, strict=True)]
        else:
            radio = widgets.RadioButtons(options=[(o.text, i) for i, o in enumerate(q.options)],
                                         value=None, layout=widgets.Layout(width="auto"))
            get = lambda: radio.value  # noqa: E731
            inputs = [radio]
        check = widgets.Button(description="Check", button_style="primary")
        retry = widgets.Button(description="Try again", layout=widgets.Layout(display="none"))
        feedback = widgets.HTML()

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
                progress.record_answer(self.notebook, q.id, get(), verdict.correct)

        def on_retry(_):
            feedback.value = ""
            retry.layout.display = "none"

        check.on_click(on_check)
        retry.on_click(on_retry)
        box = widgets.VBox([label, *inputs, widgets.HBox([check, retry]), feedback])
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
        self.text, self.options = text, dict(options)  # option key -> label
        self.radio = widgets.RadioButtons(
            options=[(label, key) for key, label in self.options.items()], value=None,
            layout=widgets.Layout(width="auto"))
        self.widget = widgets.VBox(
            [widgets.HTML(QUIZ_CSS + f"<b>Predict first:</b> {html.escape(text)}"), self.radio])
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
