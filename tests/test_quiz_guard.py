"""A simulated test-wise learner: reading only the options must not find the answers.

A learner who knows nothing can still score well on a multiple-choice quiz when the form of
the options gives the answer away: the right option is the longest, or the shortest, or the
only carefully hedged one ("usually", "can"), or the only one without an "always" or "never".
Each strategy below reads the option texts and nothing else. Over every single-choice question
of the course (the banks and the live questions the notebooks build with
``quiz.choice_question``), each strategy must score within ``MARGIN`` of chance.

- Chance is the mean over the questions of 1 / (number of options).
- ``MARGIN`` is 10 percentage points. A blind guesser's score over the course's ~30
  four-option questions has a standard deviation of about 8 points, so a strategy inside the
  margin is indistinguishable from guessing, while the old banks' "pick the longest" (about
  97%) is far outside. Scores far *below* chance fail too: they tell the learner which option
  to rule out.
- Ties count fairly: a strategy that cannot choose between k options gets 1/k of the credit
  if the answer is among them.
- Live questions: their right answer is measured in the run, so the option texts are fixed
  while the answer moves. Each is counted once per possible answer, weighted 1/n, and
  ``quiz.choice_question`` itself refuses option sets where any one option is more than twice
  as long as all the others. Their texts are read from the notebooks' own code.

Run ``pytest tests/test_quiz_guard.py -s`` to see the scores (they are also in each test
report's ``user_properties``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
from dataclasses import dataclass

import pytest

from helpers import config, quiz

MARGIN = 0.10
MAX_EXCEPTIONS = 2  # questions allowed a long_answer_reason, over all banks

HEDGES = re.compile(
    r"\b(usually|often|can\b(?!['’]t)|could|may|might|typically|generally|likely|tends?|"
    r"sometimes|mostly|probably|possibly|perhaps|partly|largely|roughly|about|some|"
    r"depends?|unless|rarely|not always|not necessarily)\b", re.I)
ABSOLUTES = re.compile(
    r"\b(always|never|every|all|none|only|any|must|guarantee[sd]?|cannot|can['’]t|"
    r"impossible|nothing|exactly|entirely|completely)\b", re.I)

# name -> how much the strategy likes an option (it picks the highest)
STRATEGIES = {
    "pick the longest": len,
    "pick the shortest": lambda text: -len(text),
    "pick the most qualified": lambda text: len(HEDGES.findall(text)),
    "pick the fewest absolutes": lambda text: -len(ABSOLUTES.findall(text)),
}


@dataclass
class Item:
    """One single-choice question as the guard sees it: texts, the right index, a weight."""

    source: str
    texts: list[str]
    correct: int
    weight: float = 1.0


def credit(texts: list[str], correct: int, prefer) -> float:
    """The strategy's expected credit: 1/k if the answer is among its k tied favourites."""
    scores = [prefer(t) for t in texts]
    top = [i for i, s in enumerate(scores) if s == max(scores)]
    return 1 / len(top) if correct in top else 0.0


def score(items: list[Item], prefer) -> float:
    total = sum(it.weight for it in items)
    return sum(it.weight * credit(it.texts, it.correct, prefer) for it in items) / total


def chance(items: list[Item]) -> float:
    return sum(it.weight / len(it.texts) for it in items) / sum(it.weight for it in items)


def bank_items() -> list[Item]:
    return [Item(f"{name}/{q.id}", [o.text for o in q.options], next(iter(q.correct_indices)))
            for name, bank in quiz.all_banks().items() for q in bank if q.type == "single"]


# ---------------------------------------------------------------- live questions

def _helpers_module(name: str):
    if importlib.util.find_spec(f"helpers.{name}") is None:
        return None
    return importlib.import_module(f"helpers.{name}")


def _option_texts(node: ast.expr, where: str) -> list[str]:
    """The option texts of a choice_question call's ``options`` argument, evaluated statically.

    A dict literal gives its keys; a dict comprehension gives its keys over its iterable (for
    example ``experiment.LABELS.values()``). Only helpers modules are available by name.
    """
    if isinstance(node, ast.Dict):
        keys = node.keys
    elif isinstance(node, ast.DictComp):
        keys = [ast.ListComp(elt=node.key, generators=node.generators)]
    else:
        raise AssertionError(f"{where}: options must be a dict literal or comprehension")
    names = {n.id for k in keys for n in ast.walk(k) if isinstance(n, ast.Name)}
    namespace = {n: m for n in names if (m := _helpers_module(n)) is not None}
    texts = []
    for key in keys:
        expr = ast.fix_missing_locations(ast.Expression(body=key))
        try:
            value = eval(compile(expr, where, "eval"), namespace)  # noqa: S307 (our own notebooks)
        except Exception as err:
            raise AssertionError(
                f"{where}: the guard cannot read this live question's option texts without "
                f"running the notebook ({err!r}); build them from helpers constants or literals"
            ) from err
        texts.extend(value if isinstance(key, ast.ListComp) else [value])
    return texts


def live_questions() -> list[tuple[str, str, list[str]]]:
    """(notebook, question id, option texts) of every quiz.choice_question call in the notebooks."""
    found = []
    for path in sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "choice_question" not in source:
                continue
            code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                             for line in source.splitlines())
            for call in ast.walk(ast.parse(code)):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "choice_question"):
                    continue
                args = dict(zip(("id", "text", "options", "correct"), call.args, strict=False))
                args.update({k.arg: k.value for k in call.keywords})
                qid = args["id"].value if isinstance(args["id"], ast.Constant) else "?"
                found.append((path.stem, qid,
                              _option_texts(args["options"], f"{path.name}, question {qid}")))
    return found


def live_items() -> list[Item]:
    """Every live question once per possible answer, each variant weighted 1/n."""
    items = []
    for notebook, qid, texts in live_questions():
        for right in texts:
            q = quiz.choice_question(qid, "live", {t: "measured" for t in texts}, right)
            items.append(Item(f"{notebook}/{qid} (live)", [o.text for o in q.options],
                              next(iter(q.correct_indices)), weight=1 / len(texts)))
    return items


# ---------------------------------------------------------------- the guard

def report(items: list[Item]) -> tuple[str, float, dict[str, float]]:
    """The printed table (all questions, and the banks alone), chance, and each strategy's score."""
    base = chance(items)
    scores = {name: score(items, prefer) for name, prefer in STRATEGIES.items()}
    banks = [it for it in items if not it.source.endswith("(live)")]
    n_live = len({it.source for it in items} - {it.source for it in banks})
    lines = [f"test-wise learner over {len(banks)} bank and {n_live} live single-choice questions "
             f"(live ones weighted over every possible answer)",
             f"  {'strategy':<26} {'all':>6} {'banks':>6}",
             f"  {'chance':<26} {base:6.1%} {chance(banks) if banks else 0:6.1%}"]
    lines += [f"  {name:<26} {s:6.1%} {score(banks, STRATEGIES[name]) if banks else 0:6.1%}"
              for name, s in scores.items()]
    lines.append(f"  pass: every strategy within chance ± {MARGIN:.0%} over all questions")
    return "\n".join(lines), base, scores


def test_test_wise_learner_scores_about_chance(record_property):
    items = bank_items() + live_items()
    text, base, scores = report(items)
    print("\n" + text)
    record_property("quiz_guard", text)
    for name, s in scores.items():
        assert s <= base + MARGIN, f"{name} scores {s:.1%}, above chance {base:.1%} + {MARGIN:.0%}"
        assert s >= base - MARGIN, (f"{name} scores {s:.1%}, far below chance {base:.1%}: "
                                    "the learner can rule that option out")


def test_the_guard_catches_a_bank_whose_answer_is_the_longest():
    items = [Item("x", ["a long and careful right answer", "short", "wrong", "no"], 0)] * 10
    _, base, scores = report(items)
    assert scores["pick the longest"] == 1 and scores["pick the shortest"] == 0 and base == 0.25
    hedged = Item("h", ["it can usually help", "it always helps", "it never helps"], 0)
    assert credit(hedged.texts, 0, STRATEGIES["pick the most qualified"]) == 1
    assert credit(hedged.texts, 0, STRATEGIES["pick the fewest absolutes"]) == 1
    assert credit(["same", "size", "four"], 1, len) == pytest.approx(1 / 3)


def test_live_questions_are_read_from_the_notebooks():
    found = live_questions()
    assert any(nb == "06_choosing_a_strategy" for nb, _, _ in found), found
    for notebook, qid, texts in found:
        assert len(texts) >= 2 and len(set(texts)) == len(texts), (notebook, qid, texts)


def test_long_answer_exceptions_are_few_and_needed():
    exceptions = [(name, q) for name, bank in quiz.all_banks().items() for q in bank
                  if q.long_answer_reason]
    assert len(exceptions) <= MAX_EXCEPTIONS, [f"{n}/{q.id}" for n, q in exceptions]
    for name, q in exceptions:
        assert q.type == "single", f"{name}/{q.id}: long_answer_reason only applies to single choice"
        right = len(q.options[next(iter(q.correct_indices))].text)
        longest_wrong = max(len(o.text) for o in q.options if not o.correct)
        assert right > quiz.MAX_LENGTH_RATIO * longest_wrong, \
            f"{name}/{q.id}: long_answer_reason is set but the answer is not much longer; drop it"
        assert len(q.long_answer_reason.split()) >= 5, f"{name}/{q.id}: say why in a sentence"
