"""Worked solutions, one step away: ``exercises.solution("02-1")`` shows the answer to exercise 1
of notebook 02, and nothing else.

The notebooks a learner opens hold no solution: each answer cell ends in the line
``# Exercise 02-1: your answer here ...``. The solutions live outside the notebooks, in
``solutions/<notebook>.py`` at the top of the course (one ``# %% 02-1`` block per exercise), so
a learner sees one only on request, and a teacher who hands out the notebooks without that
folder hands out no answers. The teacher's tools (``python -m helpers teacher``) fill them back in.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers import config

__all__ = ["SOLUTIONS_DIR", "MARKER", "all_solutions", "code", "solution"]

SOLUTIONS_DIR = config.ROOT / "solutions"
# The last line of every blank answer cell; the id says which solution belongs there.
MARKER = re.compile(r"^(?P<indent>[ \t]*)# Exercise (?P<id>\d\d-\d+): your answer here\b.*$", re.M)
_BLOCK = re.compile(r"^# %% (?P<id>\d\d-\d+)[ \t]*$", re.M)
_ID = re.compile(r"^\d\d-\d+$")


def _files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("[0-9][0-9]_*.py"))


def parse(text: str) -> dict[str, str]:
    """``{"02-1": code, ...}`` from one solutions file (blocks start with ``# %% 02-1``)."""
    parts = _BLOCK.split(text)
    return {ident: body.strip("\n") for ident, body in zip(parts[1::2], parts[2::2], strict=True)}


def all_solutions(folder: Path | None = None) -> dict[str, str]:
    """Every exercise's solution code, by exercise id."""
    found = {}
    for path in _files(folder or SOLUTIONS_DIR):
        found.update(parse(path.read_text(encoding="utf-8")))
    return found


def code(exercise_id: str, folder: Path | None = None) -> str:
    """The solution code of one exercise, e.g. ``code("02-1")``."""
    exercise_id = str(exercise_id).strip()
    if not _ID.match(exercise_id):
        raise ValueError(f"{exercise_id!r} is not an exercise id: write the notebook's number and "
                         "the exercise's, as in solution(\"02-1\") for notebook 02, exercise 1")
    folder = Path(folder or SOLUTIONS_DIR)
    if config.autograding():
        raise RuntimeError("Solutions are not available while a notebook is being graded.")
    if not _files(folder):
        raise FileNotFoundError(f"No solutions folder in this copy of the course ({folder}): "
                                "your teacher may have kept the solutions back.")
    known = all_solutions(folder)
    if exercise_id not in known:
        raise KeyError(f"No exercise {exercise_id}; the exercises are "
                       f"{', '.join(sorted(known))}")
    return known[exercise_id]


class _Shown:
    """A solution as a notebook shows it: highlighted code, and plain text elsewhere."""

    def __init__(self, exercise_id: str, source: str):
        self.exercise_id, self.source = exercise_id, source

    def __repr__(self) -> str:
        return f"# one answer to exercise {self.exercise_id}\n{self.source}"

    def _repr_markdown_(self) -> str:
        return (f"**One answer to exercise {self.exercise_id}** (other answers can pass the check "
                f"too):\n\n```python\n{self.source}\n```")


def solution(exercise_id: str):
    """Show one worked answer to an exercise, e.g. ``solution("02-1")``: try first, then compare."""
    return _Shown(str(exercise_id).strip(), code(exercise_id))
