"""The core of the self-checking exercises: a check's outcome (``Feedback``) and how it is made.

A check answers in one of three ways, each shown as a coloured box in the notebook:

- **not done yet** (grey): the answer cell still holds its placeholder (``None``) or nothing in
  it has changed; the message says what to write;
- **not yet** (orange): an answer is there but wrong; the first failed condition's hint says
  what to look at;
- **well done** (green): every condition holds.

Each outcome is kept in the notebook's results recorder (``results.current()``, opened by the
setup cell), or in the ``recorder`` passed. In strict mode (``strict()``: nbgrader, or
``TLW_STRICT=1``) a check that does not pass raises ``AssertionError`` with its message.
"""

from __future__ import annotations

import html

import numpy as np

from helpers import config, results

__all__ = ["CURRENT", "Feedback", "check", "compiled_with_current_flags", "gives_probabilities",
           "not_done", "not_done_yet", "strict"]

PASSED, NOT_DONE, WRONG = "passed", "not_done", "wrong"
CURRENT = object()   # recorder argument not given: use the notebook's recorder (results.current())


def strict() -> bool:
    """Strict checks raise ``AssertionError`` unless the answer passes, so a grader (nbgrader)
    gives no points for it: on with ``TLW_STRICT=1`` and whenever nbgrader executes the notebook."""
    return config.strict_checks()


class Feedback:
    """Outcome of one exercise check: ``status`` is "passed", "not_done" or "wrong";
    ``passed`` (and ``bool(feedback)``) is True only for "passed"."""

    _LOOK = {PASSED: ("#1a7f37", "Well done"), NOT_DONE: ("#57606a", "Not done yet"),
             WRONG: ("#b35900", "Not yet")}

    def __init__(self, name: str, passed: bool, message: str, status: str | None = None):
        status = status or (PASSED if passed else WRONG)
        if status not in self._LOOK or (status == PASSED) != bool(passed):
            raise ValueError(f"status {status!r} does not agree with passed={passed!r}")
        self.name, self.passed, self.message, self.status = name, bool(passed), message, status

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        head = {PASSED: "PASSED", NOT_DONE: "NOT DONE", WRONG: "NOT YET"}[self.status]
        return f"{head} [{self.name}] {self.message}"

    def _repr_html_(self) -> str:
        colour, head = self._LOOK[self.status]
        message = self.message
        if self.status == NOT_DONE and message.startswith("Not done yet:"):
            message = message[len("Not done yet:"):].strip()
        return (f"<div class='tlw-exercise tlw-{self.status.replace('_', '-')}' "
                f"style='border-left:4px solid {colour};padding:4px 8px'>"
                f"<b style='color:{colour}'>{head}</b> "
                f"<code>{html.escape(self.name)}</code>: {html.escape(message)}</div>")


def _finish(result: Feedback, recorder) -> Feedback:
    if recorder is CURRENT:
        recorder = results.current()
    if recorder is not None:
        recorder.exercise(result.name, result.passed, result.status)
    if strict() and not result.passed:
        raise AssertionError(f"[{result.name}] {result.message}")
    return result


def not_done_yet(name: str, what_to_write: str, recorder=CURRENT) -> Feedback:
    """The answer for a blank exercise: "Not done yet: " and what to write."""
    return _finish(Feedback(name, False, f"Not done yet: {what_to_write}", NOT_DONE), recorder)


def check(name: str, conditions, success, recorder=CURRENT) -> Feedback:
    """``conditions`` is a list of ``(ok, hint)``; the first failing hint is the feedback.

    ``ok`` may be a function, called only if every earlier condition held (so later checks can
    assume earlier ones, e.g. compare values only once the shape is right). A hint, and
    ``success``, may be functions too, called only when their message is shown.
    ``recorder``: where the outcome is kept (by default the notebook's, ``results.current()``;
    None keeps it nowhere). A blank answer is answered before, with ``not_done_yet``.
    """
    for ok, hint in conditions:
        if callable(ok):
            ok = ok()
        if not ok:
            result = Feedback(name, False, hint() if callable(hint) else hint, WRONG)
            break
    else:
        result = Feedback(name, True, success() if callable(success) else success, PASSED)
    return _finish(result, recorder)


def not_done(value) -> bool:
    """True while an exercise variable still holds its placeholder (None or ...)."""
    return value is None or value is Ellipsis


def compiled_with_current_flags(model) -> bool:
    """True if the model was compiled after the last change to any layer's ``trainable`` flag
    (and, for a model never compiled, if it was never trained either)."""
    state = getattr(model, "_compiled_trainable_state", None)  # Keras records it at compile()
    if state is None:
        return getattr(model, "train_function", None) is None
    return all(state.get(layer, layer.trainable) == layer.trainable
               for layer in model._flatten_layers())


def gives_probabilities(model, x) -> bool:
    """True if the model's outputs for ``x`` are probabilities: non-negative, summing to one per
    row (a softmax at the end, whichever way it is written)."""
    out = np.asarray(model(np.asarray(x, dtype="float32"), training=False))
    return bool((out >= -1e-6).all() and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3))
