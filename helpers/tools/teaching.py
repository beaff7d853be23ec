"""docs/teaching.md's plan of the course, generated from the notebooks, their quiz banks and the
committed benchmark: per notebook the learning goals, an estimate of class time (reading plus
compute) and the exercises nbgrader grades. ``python -m helpers tables`` rewrites the block."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import config, quiz, solutions
from helpers.tools.classroom import exercise_id

# Planning assumptions (settings, not measurements), stated in the generated text.
WORDS_PER_MINUTE = 150        # prose read with attention, in a second language for many
CODE_LINES_PER_MINUTE = 15    # code read line by line
MINUTES_PER_EXERCISE = 8      # writing an answer, running its check, reading the hint once
MINUTES_PER_QUESTION = 1

_CHECK = re.compile(r"exercises\.(check_\w+)")


def notebook_plan(path: Path, bench: dict) -> dict:
    """One notebook's goals, reading and compute time, exercises and quiz size."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code_lines = sum(len([line for line in c.source.splitlines() if line.strip()])
                     for c in nb.cells if c.cell_type == "code"
                     and "colab" not in c.metadata.get("tags", []))   # Colab's setup: not read
    learn = next((c.source for c in nb.cells if c.cell_type == "markdown"
                  and "What you will learn" in c.source), "")
    goals = [line[2:].strip() for line in learn.splitlines() if line.startswith("- ")]
    exercises = []
    for i, cell in enumerate(nb.cells):
        ident = exercise_id(cell)
        if ident:
            nxt = nb.cells[i + 1].source if i + 1 < len(nb.cells) else ""
            match = _CHECK.search(nxt)
            exercises.append((ident, match.group(1) if match else "?"))
    questions = len(quiz.load_bank(path.stem))
    questions += len(re.findall(r"quiz\.(?:choice|numeric)_question\(", "\n".join(
        c.source for c in nb.cells if c.cell_type == "code")))
    reading = len(re.findall(r"\w+", prose)) / WORDS_PER_MINUTE + code_lines / CODE_LINES_PER_MINUTE
    seconds = bench.get("defaults", {}).get("notebooks", {}).get(path.stem, {}).get("seconds")
    return {"notebook": path.stem, "goals": goals, "reading_min": reading,
            "compute_s": seconds, "exercises": exercises, "questions": questions,
            "class_min": reading + (seconds or 0) / 60 + MINUTES_PER_EXERCISE * len(exercises)
            + MINUTES_PER_QUESTION * questions}


def plan_markdown(notebooks=None, bench_path: Path | None = None) -> str:
    """The generated block: a table of times, then each notebook's goals and graded exercises."""
    from helpers.tools import bench as bench_tool

    bench_path = bench_path or bench_tool.COMMITTED
    bench = json.loads(Path(bench_path).read_text()) if Path(bench_path).is_file() else {}
    paths = notebooks or sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    plans = [notebook_plan(Path(p), bench) for p in paths]
    known = solutions.all_solutions()
    lines = ["| notebook | reading | compute (Run All, defaults) | exercises (nbgrader points) | "
             "quiz questions | class time, about |", "|---|---|---|---|---|---|"]
    for p in plans:
        compute = "not measured" if p["compute_s"] is None else f"{p['compute_s'] / 60:.1f} min"
        lines.append(f"| `{p['notebook']}` | {p['reading_min']:.0f} min | {compute} | "
                     f"{len(p['exercises'])} ({len(p['exercises'])}) | {p['questions']} | "
                     f"{5 * round(p['class_min'] / 5):.0f} min |")
    lines += ["", f"Reading at {WORDS_PER_MINUTE} words and {CODE_LINES_PER_MINUTE} code lines a "
              f"minute; {MINUTES_PER_EXERCISE} minutes an exercise and {MINUTES_PER_QUESTION} a quiz "
              "question (planning assumptions); compute from the committed benchmark "
              f"({bench.get('date', 'not yet measured')}, {bench.get('machine', {}).get('cpus', '?')} "
              "cores), which may predate the notebooks' latest edits.", ""]
    for p in plans:
        lines.append(f"**`{p['notebook']}`**. Goals:")
        lines += [f"- {goal}" for goal in p["goals"]]
        graded = ", ".join(f"{ident} (`{check}`{'' if ident in known else ', NO SOLUTION'})"
                           for ident, check in p["exercises"])
        lines += [f"- Graded by nbgrader, one point each: {graded}.", ""]
    return "\n".join(lines).rstrip("\n")


def quiz_topics_markdown() -> str:
    """What each notebook's quiz asks about: the banks' topics, in order, one row per notebook."""
    lines = ["| notebook | quiz topics (from the banks; live questions are built in the notebook) |",
             "|---|---|"]
    for name, bank in sorted(quiz.all_banks().items()):
        topics = list(dict.fromkeys(q.topic for q in bank if q.topic))
        lines.append(f"| `{name}` | {'; '.join(topics)} |")
    return "\n".join(lines)
