"""The quiz cue audit: reading the options alone must not find the right ones.

A learner who knows nothing can still score well on a multiple-choice quiz when the form or the
wording of the options gives the answer away: the right option is the longest, the only hedged
one, or the only one *without* a "since ..." justification. Rule-by-rule guards catch only the
cues someone thought of, so this audit looks at every word and short phrase.

**Items.** Every single-choice question of the course: the banks in ``notebooks/quizzes/`` and
the live questions the notebooks build with ``quiz.choice_question``, whose option texts are read
from the notebooks' own code (nothing is executed). A live question's answer is picked by the
measurement in each run, so it counts as right with probability 1/n for each of its n options.

**N-gram audit.** Option texts are lower-cased and split into words (apostrophes kept inside a
word) and the punctuation marks ``, ; :``; every run of 1 to 3 consecutive tokens is an n-gram.
No stop words are removed: the cues that matter are mostly function words ("since", "only",
"and", "not"). An n-gram counts once per option. For each n-gram the audit prints its rate among
the right options (keys) and among the wrong ones (distractors), and tests whether the keys hold
it more or less often than chance allows:

- *The test* is exact and conditional on the option texts. Under the null hypothesis the right
  option of each question is any of its n options with probability 1/n, whatever their wording.
  The number of keys containing the n-gram is then a sum of independent Bernoulli(m/n) terms
  (m = the question's options containing it), a Poisson-binomial distribution, computed exactly
  by convolution. Where the n-gram is in at most one option per question this is a binomial
  test. The p-value is two-sided: the total probability of every count no more likely than the
  observed one (as in Fisher's exact test). Live questions add nothing to this test: the
  measurement, not the author, picks their key.
- *The correction* is Benjamini-Hochberg at a false discovery rate of 5%, over the n-grams that
  can reach significance at all (Tarone's screen for discrete tests, as in Gilbert's modified
  FDR procedure, 2005: an n-gram found in three options can never give a small p-value, so it
  does not dilute the others). N-grams that occur in exactly the same options are one test.

An n-gram whose adjusted p-value is below 5% fails the audit.

**The test-wise learner.** Significance alone can miss a cue that is spread over several
phrasings, and a cue matters by what it earns. So a simulated learner takes the quiz reading
only the options, and must score within ``MARGIN`` of chance (the mean of 1/n):

- *form strategies*: pick the longest, the shortest, the most hedged ("can", "usually"), the
  fewest absolutes ("always", "only"), or skip the options that justify themselves ("since",
  "because"; the cue the issue measured);
- *phrasing learners*, cross-validated by notebook: for each notebook's quiz, the learner
  studies the bank questions of every *other* notebook with their answers (as a learner who has
  checked the rest of the course would), scores every n-gram seen in at least
  ``LEARNER_MIN_QUESTIONS`` of them by how much more or less often it was in the key than 1/n
  predicts (a z-score), and applies what it found to each question at hand: skip the options
  with the most tell-tale "wrong" phrasing, pick those with the most tell-tale "right" one, or
  both at once for every phrasing beyond ``LEARNER_Z``. A phrasing that is only a coincidence
  of the other notebooks earns nothing on a new one, so these learners score above chance only
  when the habit runs through the course. (Leaving out one question at a time instead would
  pull each question's own phrasings against its answer, and on banks balanced by hand the
  learners would sit below chance for that reason alone.)

Ties count fairly: a learner left with k options gets 1/k of the credit if the answer is among
them. ``MARGIN`` is 10 percentage points: a blind guesser's score over the course's ~40
four-option questions has a standard deviation of about 7 points. Scores far *below* chance
fail too: they tell the learner which option to rule out.

Why both parts: on the banks as they were when issue 25 was filed, the n-gram test found
"since" in none of the 40 keys and in 18% of the distractors (p = 0.001), but adjusted for the
~90 n-grams that could reach significance its p-value was 0.09; "skip the justified" scored 39%
and the combined phrasing learner 42%, far outside the margin.
Every true/false key followed "permissive is true, absolute is false".

**True/false and multiple-select.** A true/false statement is *permissive* when it hedges
("can", "may") and *absolute* when it has an "always", "only", "never"; within each kind, true
and false keys must be balanced, so "permissive is true, absolute is false" earns nothing.
Multiple-select items must vary their number of right options and have at least two wrong ones.

The audit is printed in the pytest terminal summary (``tests/conftest.py``), and with ``-s``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
from dataclasses import dataclass

import numpy as np
import pytest

from helpers import config, quiz

MARGIN = 0.10
FDR = 0.05
MAX_N = 3
MAX_EXCEPTIONS = 2  # questions allowed a long_answer_reason, over all banks
LEARNER_Z = 2.0     # a phrasing is "tell-tale" to the learner beyond this z-score
LEARNER_MIN_QUESTIONS = 3  # ... and only once it was seen in this many other questions
SHOW = 12           # n-grams printed

TOKEN = re.compile(r"[a-z0-9_]+(?:['’][a-z]+)?|[,;:]")
HEDGES = re.compile(
    r"\b(usually|often|can\b(?!['’]t)|could|may|might|typically|generally|likely|tends?|"
    r"sometimes|mostly|probably|possibly|perhaps|partly|largely|roughly|about|some|"
    r"depends?|unless|rarely|not always|not necessarily)\b", re.I)
ABSOLUTES = re.compile(
    r"\b(always|never|every|all|none|only|any|must|guarantee[sd]?|cannot|can['’]t|"
    r"impossible|nothing|exactly|entirely|completely)\b", re.I)
JUSTIFIED = re.compile(r"\b(since|because|as a result|so that)\b", re.I)

# name -> how much the strategy likes an option (it picks the highest)
STRATEGIES = {
    "pick the longest": len,
    "pick the shortest": lambda text: -len(text),
    "pick the most hedged": lambda text: len(HEDGES.findall(text)),
    "pick the fewest absolutes": lambda text: -len(ABSOLUTES.findall(text)),
    "skip the justified": lambda text: -len(JUSTIFIED.findall(text)),
}


@dataclass
class Item:
    """One single-choice question as the audit sees it: option texts and each one's key chance.

    A bank question has one key (probability 1, the others 0); a live question's key is
    measured in the run, so each of its options is the key with probability 1/n.
    """

    source: str
    texts: list[str]
    key: list[float]

    @property
    def live(self) -> bool:
        return max(self.key) < 1


def ngrams(text: str, max_n: int = MAX_N) -> set[str]:
    tokens = TOKEN.findall(text.lower())
    return {" ".join(tokens[i:i + n]) for n in range(1, max_n + 1)
            for i in range(len(tokens) - n + 1)}


# ---------------------------------------------------------------- the items

def bank_items() -> list[Item]:
    return [Item(f"{name}/{q.id}", [o.text for o in q.options],
                 [1.0 if o.correct else 0.0 for o in q.options])
            for name, bank in quiz.all_banks().items() for q in bank if q.type == "single"]


def _helpers_module(name: str):
    if importlib.util.find_spec(f"helpers.{name}") is None:
        return None
    return importlib.import_module(f"helpers.{name}")


def _option_texts(node: ast.expr, where: str) -> list[str]:
    """The option texts of a choice_question call's ``options`` argument, evaluated statically.

    A dict literal gives its keys; a dict comprehension gives its keys over its iterable (for
    example ``experiment.VERDICT_TEXT``). Only helpers modules are available by name.
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
                f"{where}: the audit cannot read this live question's option texts without "
                f"running the notebook ({err!r}); build them from helpers constants or literals"
            ) from err
        texts.extend(value if isinstance(key, ast.ListComp) else [value])
    return texts


@dataclass
class LiveQuestion:
    notebook: str
    id: str
    kind: str               # "choice" or "numeric"
    texts: list[str]        # option texts (choice questions)
    taught_in: str | None   # the taught_in keyword, if the call gives one


def live_questions() -> list[LiveQuestion]:
    """Every quiz.choice_question / quiz.numeric_question call in the notebooks' code."""
    found = []
    for path in sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or not re.search(r"(choice|numeric)_question", source):
                continue
            code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                             for line in source.splitlines())
            for call in ast.walk(ast.parse(code)):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in ("choice_question", "numeric_question")):
                    continue
                kind = call.func.attr.split("_")[0]
                names = ("id", "text", "options", "correct") if kind == "choice" else ("id", "text")
                args = dict(zip(names, call.args, strict=False))
                args.update({k.arg: k.value for k in call.keywords})
                qid = args["id"].value if isinstance(args["id"], ast.Constant) else "?"
                taught = args.get("taught_in")
                taught_in = (taught.value if isinstance(taught, ast.Constant)
                             else None if taught is None else "?")
                texts = (_option_texts(args["options"], f"{path.name}, question {qid}")
                         if kind == "choice" else [])
                found.append(LiveQuestion(path.stem, qid, kind, texts, taught_in))
    return found


def live_items() -> list[Item]:
    return [Item(f"{lq.notebook}/{lq.id} (live)", lq.texts, [1 / len(lq.texts)] * len(lq.texts))
            for lq in live_questions() if lq.kind == "choice"]


def all_items() -> list[Item]:
    return bank_items() + live_items()


# ---------------------------------------------------------------- form strategies

def credit_of(item: Item, scores: list) -> float:
    """Expected credit of picking among the best-scored options (ties shared)."""
    top = [i for i, s in enumerate(scores) if s == max(scores)]
    return sum(item.key[i] for i in top) / len(top)


def credit(item: Item, prefer) -> float:
    """Expected credit of picking among the options ``prefer`` likes most."""
    return credit_of(item, [prefer(t) for t in item.texts])


def chance(items: list[Item]) -> float:
    return sum(1 / len(it.texts) for it in items) / len(items)


def score(items: list[Item], prefer) -> float:
    return sum(credit(it, prefer) for it in items) / len(items)


# ---------------------------------------------------------------- the exact n-gram test

def poisson_binomial(probs: list[float]) -> np.ndarray:
    """pmf of a sum of independent Bernoulli(p) variables, by exact convolution."""
    pmf = np.ones(1)
    for p in probs:
        pmf = np.convolve(pmf, [1 - p, p])
    return pmf


def two_sided_p(pmf: np.ndarray, observed: int) -> float:
    """Total probability of the counts no more likely than ``observed`` (Fisher's convention)."""
    return float(min(1.0, pmf[pmf <= pmf[observed] * (1 + 1e-7)].sum()))


def min_attainable_p(pmf: np.ndarray) -> float:
    return min(two_sided_p(pmf, x) for x in range(len(pmf)))


@dataclass
class Gram:
    text: str
    key_rate: float         # share of keys holding it (live questions: expected share)
    distractor_rate: float  # share of distractors holding it
    keys: int               # bank keys holding it (observed)
    expected: float         # bank keys expected to hold it under the null
    questions: int          # bank questions where it occurs
    p: float = 1.0
    p_adjusted: float = 1.0
    testable: bool = False


def ngram_table(items: list[Item]) -> tuple[list[Gram], int, int]:
    """Every n-gram's rates and exact p-value, BH-adjusted where testable, most significant first.

    Also returns the number of distinct tests and how many of them Tarone's screen kept.
    """
    option_grams = [[ngrams(t) for t in it.texts] for it in items]
    n_keys = len(items)
    n_distractors = sum(len(it.texts) - 1 for it in items)
    key_mass: dict[str, float] = {}
    distractor_mass: dict[str, float] = {}
    # per bank item: n-gram -> (options holding it, held by the key)
    bank_hits: dict[str, list[tuple[int, int, int]]] = {}
    for q, (it, grams) in enumerate(zip(items, option_grams, strict=True)):
        per_item: dict[str, list[int]] = {}
        for i, gs in enumerate(grams):
            for g in gs:
                key_mass[g] = key_mass.get(g, 0.0) + it.key[i]
                distractor_mass[g] = distractor_mass.get(g, 0.0) + 1 - it.key[i]
                hit = per_item.setdefault(g, [0, 0])
                hit[0] += 1
                hit[1] += int(it.key[i] == 1)
        if not it.live:
            for g, (m, k) in per_item.items():
                bank_hits.setdefault(g, []).append((q, m, k))
    table = {}
    patterns: dict[tuple, list[str]] = {}
    for g in key_mass:
        hits = bank_hits.get(g, [])
        keys = sum(k for _, _, k in hits)
        expected = sum(m / len(items[q].texts) for q, m, _ in hits)
        table[g] = Gram(g, key_mass[g] / n_keys, distractor_mass[g] / n_distractors, keys,
                        expected, len(hits))
        occurrences = tuple(sorted((q, i) for q, _, _ in hits
                                   for i, gs in enumerate(option_grams[q]) if g in gs))
        if occurrences:
            patterns.setdefault(occurrences, []).append(g)
    # one test per distinct pattern of occurrences
    tests = []
    for grams_alike in patterns.values():
        first = table[grams_alike[0]]
        hits = bank_hits[first.text]
        pmf = poisson_binomial([m / len(items[q].texts) for q, m, _ in hits])
        tests.append((grams_alike, two_sided_p(pmf, first.keys), min_attainable_p(pmf)))
    # Tarone's screen: the smallest K such that at most K tests can reach FDR / K
    floors = sorted(t[2] for t in tests)
    k = 1
    while sum(f <= FDR / k for f in floors) > k:
        k += 1
    testable = [t for t in tests if t[2] <= FDR / k]
    # Benjamini-Hochberg over the testable ones (step-up adjusted p-values)
    order = sorted(range(len(testable)), key=lambda j: testable[j][1])
    m = len(testable)
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        j = order[rank - 1]
        running = min(running, testable[j][1] * m / rank)
        adjusted[j] = min(1.0, running)
    for j, (grams_alike, p, _) in enumerate(testable):
        for g in grams_alike:
            table[g].p, table[g].p_adjusted, table[g].testable = p, adjusted[j], True
    for grams_alike, p, _ in tests:
        for g in grams_alike:
            table[g].p = p
    rows = sorted(table.values(),
                  key=lambda r: (r.p, -abs(r.key_rate - r.distractor_rate), r.text))
    return rows, len(tests), len(testable)


# ---------------------------------------------------------------- phrasing learners

def _phrasing_z(items: list[Item]):
    """For every n-gram, per bank item: (keys holding it, expected, variance) contributions."""
    vocab = sorted({g for it in items for t in it.texts for g in ngrams(t)})
    index = {g: j for j, g in enumerate(vocab)}
    shape = (len(items), len(vocab))
    observed, expected, variance, present = (np.zeros(shape) for _ in range(4))
    for q, it in enumerate(items):
        counts: dict[int, list[int]] = {}
        for i, t in enumerate(it.texts):
            for g in ngrams(t):
                c = counts.setdefault(index[g], [0, 0])
                c[0] += 1
                c[1] += int(it.key[i] == 1)
        for j, (m, k) in counts.items():
            present[q, j] = 1
            if not it.live:
                p = m / len(it.texts)
                observed[q, j], expected[q, j], variance[q, j] = k, p, p * (1 - p)
    return index, observed, expected, variance, present


LEARNERS = ("skip the most tell-tale wrong phrasing", "pick the most tell-tale right phrasing",
            "skip every tell-tale wrong, pick every tell-tale right")


def notebook_of(item: Item) -> str:
    return item.source.split("/", 1)[0]


def learner_scores(items: list[Item]) -> dict[str, float]:
    """Cross-validated phrasing learners: each notebook's questions are answered from the habits
    of the other notebooks' questions."""
    index, observed, expected, variance, present = _phrasing_z(items)
    notebooks = np.array([notebook_of(it) for it in items])
    credits = {name: 0.0 for name in LEARNERS}
    for q, it in enumerate(items):
        others = notebooks != notebooks[q]
        o, e, v, n = (a[others].sum(axis=0) for a in (observed, expected, variance, present))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where((v > 0) & (n >= LEARNER_MIN_QUESTIONS), (o - e) / np.sqrt(v), 0.0)
        option_z = [z[[index[g] for g in ngrams(t)]] for t in it.texts]
        here = np.unique(np.concatenate([[index[g] for g in ngrams(t)] for t in it.texts]))
        z_here = z[here]
        worst, best = z_here.min(), z_here.max()
        rules = {
            LEARNERS[0]: [-int((oz <= worst).any()) if worst <= -LEARNER_Z else 0 for oz in option_z],
            LEARNERS[1]: [int((oz >= best).any()) if best >= LEARNER_Z else 0 for oz in option_z],
            LEARNERS[2]: [int((oz >= LEARNER_Z).sum()) - int((oz <= -LEARNER_Z).sum())
                          for oz in option_z],
        }
        for name, liking in rules.items():
            credits[name] += credit_of(it, liking)
    return {name: c / len(items) for name, c in credits.items()}


# ---------------------------------------------------------------- the report

def report(items: list[Item]) -> tuple[str, float, dict[str, float], list[Gram]]:
    base = chance(items)
    scores = {name: score(items, prefer) for name, prefer in STRATEGIES.items()}
    scores.update(learner_scores(items))
    table, n_tests, n_testable = ngram_table(items)
    n_live = sum(it.live for it in items)
    lines = [f"cue audit over {len(items) - n_live} bank and {n_live} live single-choice "
             f"questions ({sum(len(it.texts) for it in items)} options, "
             f"{len(table)} n-grams of 1-{MAX_N} words)",
             f"  {'n-gram':<22} {'keys':>6} {'distr.':>6} {'p':>8} {'p (BH)':>8}"]
    for g in table[:SHOW]:
        adj = f"{g.p_adjusted:8.3f}" if g.testable else f"{'-':>8}"
        lines.append(f"  {g.text!r:<22} {g.key_rate:6.1%} {g.distractor_rate:6.1%} "
                     f"{g.p:8.4f} {adj}")
    lines.append(f"  ({n_tests} distinct tests; {n_testable} of them, {sum(g.testable for g in table)}"
                 f" n-grams, can reach significance; Benjamini-Hochberg at FDR {FDR:.0%})")
    lines.append(f"  {'test-wise learner':<52} {'score':>6}")
    lines.append(f"  {'chance':<52} {base:6.1%}")
    lines += [f"  {name:<52} {s:6.1%}" for name, s in scores.items()]
    lines.append(f"  criterion: no n-gram flagged, every learner within chance ± {MARGIN:.0%}")
    tf = truefalse_table()
    lines.append("true/false keys by kind of claim (true/false): " + ", ".join(
        f"{kind} {sum(t for k, t in tf if k == kind)}/{sum(not t for k, t in tf if k == kind)}"
        for kind in ("permissive", "absolute", "plain")))
    lines.append(f"  'permissive is true, absolute is false' scores {classic_cue_score(tf):.0%} "
                 "(chance 50%)")
    lines.append("multiple-select: right options per item " + ", ".join(
        f"{name} {sum(o.correct for o in q.options)} of {len(q.options)}"
        for name, q in multiple_items()))
    return "\n".join(lines), base, scores, table


# ---------------------------------------------------------------- true/false, multiple-select

def claim_kind(text: str) -> str:
    """"absolute" if the statement has an always/only/never word, "permissive" if it hedges."""
    if ABSOLUTES.search(text):
        return "absolute"
    return "permissive" if HEDGES.search(text) else "plain"


def truefalse_table() -> list[tuple[str, bool]]:
    """(kind of claim, is it true) for every true/false item of the banks."""
    return [(claim_kind(q.text), q.options[0].correct)
            for bank in quiz.all_banks().values() for q in bank if q.type == "truefalse"]


def classic_cue_score(table: list[tuple[str, bool]]) -> float:
    """What "permissive claims are true, absolute ones false, else guess" scores."""
    credit = {("permissive", True): 1, ("absolute", False): 1, ("plain", True): 0.5,
              ("plain", False): 0.5}
    return sum(credit.get(row, 0) for row in table) / len(table)


def multiple_items() -> list[tuple[str, quiz.Question]]:
    return [(f"{name[:2]}/{q.id}", q) for name, bank in quiz.all_banks().items() for q in bank
            if q.type == "multiple"]


# ---------------------------------------------------------------- tests

def test_cue_audit(record_property):
    text, base, scores, table = report(all_items())
    print("\n" + text)
    record_property("quiz_audit", text)
    flagged = [g for g in table if g.testable and g.p_adjusted < FDR]
    assert not flagged, "n-grams whose rate differs between keys and distractors beyond chance: " \
        + ", ".join(f"{g.text!r} (keys {g.key_rate:.0%}, distractors {g.distractor_rate:.0%}, "
                    f"adjusted p {g.p_adjusted:.3g})" for g in flagged)
    for name, s in scores.items():
        assert s <= base + MARGIN, f"{name} scores {s:.1%}, above chance {base:.1%} + {MARGIN:.0%}"
        assert s >= base - MARGIN, (f"{name} scores {s:.1%}, far below chance {base:.1%}: "
                                    "the learner can rule that option out")


def test_the_audit_catches_a_phrasing_cue_and_a_length_cue():
    """Forty questions whose distractors justify themselves ("since ...") and whose key is long."""
    items = [Item(f"{i % 8:02d}/{i}", [f"the right and rather longer answer number {i}",
                             f"wrong {i}, since it says so", f"also wrong {i}, since no",
                             f"plain wrong {i}"], [1.0, 0.0, 0.0, 0.0]) for i in range(40)]
    _, base, scores, table = report(items)
    flagged = {g.text for g in table if g.testable and g.p_adjusted < FDR}
    assert {"since", ", since", "wrong"} <= flagged
    assert base == 0.25 and scores["pick the longest"] == 1 and scores["skip the justified"] == 0.5
    assert scores["skip every tell-tale wrong, pick every tell-tale right"] == 1
    assert scores["skip the most tell-tale wrong phrasing"] >= 0.5
    hedged = Item("h", ["it can usually help", "it always helps", "it never helps"], [1, 0, 0])
    assert credit(hedged, STRATEGIES["pick the most hedged"]) == 1
    assert credit(hedged, STRATEGIES["pick the fewest absolutes"]) == 1
    assert credit(Item("t", ["same", "size", "four"], [0, 1, 0]), len) == pytest.approx(1 / 3)


def test_a_cue_free_bank_passes():
    """The same words in every question's options, the key anywhere: nothing to find."""
    words = ["alpha", "beta", "gamma", "delta"]
    items = [Item(f"{i % 8:02d}/{i}", [f"{w} option of question {i}" for w in words],
                  [float(j == i % 4) for j in range(4)]) for i in range(40)]
    _, base, scores, table = report(items)
    assert not [g for g in table if g.testable and g.p_adjusted < FDR]
    assert all(abs(s - base) <= MARGIN for s in scores.values()), scores


def test_exact_test_is_a_binomial_test_when_each_question_holds_the_phrase_once():
    pmf = poisson_binomial([0.25] * 12)
    assert pmf.sum() == pytest.approx(1)
    assert pmf[0] == pytest.approx(0.75 ** 12)
    assert two_sided_p(pmf, 3) == pytest.approx(1)           # the expected count
    assert two_sided_p(pmf, 0) < 0.05 < two_sided_p(pmf, 1)


def test_live_questions_are_read_from_the_notebooks():
    found = live_questions()
    assert any(lq.notebook == "06_choosing_a_strategy" and lq.kind == "choice" for lq in found)
    assert any(lq.kind == "numeric" for lq in found), found
    for lq in found:
        if lq.kind == "choice":
            assert len(lq.texts) >= 2 and len(set(lq.texts)) == len(lq.texts), lq


def test_live_choice_questions_are_balanced_for_every_outcome():
    """The measurement may pick any option; the length rule must hold whichever it picks."""
    for lq in live_questions():
        for right in lq.texts:
            q = quiz.choice_question(lq.id, "live", {t: "measured" for t in lq.texts}, right)
            assert q.type == "single"


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


def test_true_false_keys_are_balanced_between_permissive_and_absolute_claims():
    table = truefalse_table()
    assert len(table) >= 4
    for kind in ("permissive", "absolute"):
        answers = [true for k, true in table if k == kind]
        assert len(answers) >= 2, f"too few {kind} true/false statements to balance: {table}"
        assert abs(sum(answers) - (len(answers) - sum(answers))) <= 1, \
            f"{kind} statements are mostly {'true' if sum(answers) * 2 > len(answers) else 'false'}"
    assert abs(sum(t for _, t in table) * 2 - len(table)) <= 1, "true/false keys lean one way"
    assert abs(classic_cue_score(table) - 0.5) <= MARGIN


def test_claim_kinds():
    assert claim_kind("Transfer learning only works for images.") == "absolute"
    assert claim_kind("A regression model can serve as a feature extractor.") == "permissive"
    assert claim_kind("The recipe trains the head first.") == "plain"
    assert classic_cue_score([("permissive", True), ("absolute", False)]) == 1


def test_multiple_select_items_vary_and_have_no_lone_caricature():
    items = multiple_items()
    assert len(items) >= 3
    counts = [sum(o.correct for o in q.options) for _, q in items]
    assert len(set(counts)) >= 3, f"every multiple-select item has the same number right: {counts}"
    for name, q in items:
        wrong = [o for o in q.options if not o.correct]
        assert len(wrong) >= 2, f"{name}: a single wrong option stands out; write at least two"
        lengths = [len(o.text) for o in q.options]
        assert min(lengths) * 2 >= max(lengths), f"{name}: an option is less than half as long"
        absolute = [o for o in q.options if ABSOLUTES.search(o.text)]
        assert not absolute or any(o.correct for o in absolute), \
            f"{name}: only wrong options hold absolutes ({[o.text for o in absolute]})"


# ---------------------------------------------------------------- order

def _notebook_numbers() -> set[str]:
    return {p.name[:2] for p in config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")}


def test_no_bank_question_is_asked_before_the_notebook_that_teaches_it():
    numbers = _notebook_numbers()
    for name, bank in quiz.all_banks().items():
        assert name[:2] in numbers, f"{name}.yml belongs to no notebook"
        for q in bank:
            assert q.taught_in in numbers, f"{name}/{q.id}: taught_in {q.taught_in!r} is no notebook"
            assert q.taught_in <= name[:2], \
                f"{name}/{q.id}: asked in {name[:2]}, before notebook {q.taught_in} teaches it"


def test_no_live_question_is_asked_before_the_notebook_that_teaches_it():
    """Live questions are taught by their own notebook unless the call names an earlier one."""
    found = live_questions()
    assert found
    for lq in found:
        taught = lq.taught_in if lq.taught_in is not None else lq.notebook[:2]
        assert taught != "?", f"{lq.notebook}/{lq.id}: write taught_in as a literal"
        assert quiz.notebook_number(taught) <= lq.notebook[:2], \
            f"{lq.notebook}/{lq.id}: asked before notebook {taught} teaches it"
