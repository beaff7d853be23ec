"""The learner's progress file: every checked quiz answer, kept on this machine.

The file is JSON (``{"version": 1, "answers": [...]}``) in the user's data folder, or wherever
``TLW_PROGRESS_FILE`` points. It is written through a temporary file and a rename, so an
interrupted write never leaves half a file. A file that cannot be read is renamed aside
(``progress.json.corrupt-<time>``) with a warning, never silently overwritten.

``python -m helpers progress`` prints :func:`summary` of this file (``--csv FILE`` also writes
every answer with :func:`export_csv`).
"""

from __future__ import annotations

import csv
import json
import os
import time
import warnings
from collections import defaultdict
from pathlib import Path

from helpers import config
from helpers.atomic import atomic_write_text

__all__ = ["VERSION", "progress_path", "load_progress", "record_answer", "summary", "export_csv"]

VERSION = 1


def progress_path() -> Path:
    """Where answers are recorded: ``TLW_PROGRESS_FILE`` or the user's data folder
    (``config.progress_file``)."""
    return config.progress_file()


def load_progress(path: Path | None = None) -> dict:
    """The recorded answers; a corrupt file is set aside (and reported) and an empty record returned."""
    path = Path(path or progress_path())
    if not path.exists():
        return {"version": VERSION, "answers": []}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
            raise ValueError("missing the 'answers' list")
        return data
    except (ValueError, OSError) as err:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        warnings.warn(f"The progress file {path} could not be read ({err}); it was moved to "
                      f"{aside} and a new one started. Nothing was deleted.", stacklevel=2)
        return {"version": VERSION, "answers": []}


def record_answer(notebook: str, question_id: str, answer, correct: bool,
                  path: Path | None = None) -> dict:
    """Append one checked answer (with the time) and save atomically; returns the entry.

    While nbgrader autogrades (``config.autograding()``) nothing is saved: the grader's
    machine is not the learner's.
    """
    path = Path(path or progress_path())
    data = load_progress(path)
    if isinstance(answer, (set, frozenset, tuple)):
        answer = sorted(answer)
    entry = {"notebook": notebook, "question": question_id, "answer": answer,
             "correct": bool(correct), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if config.autograding():
        return entry
    data["answers"].append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1))
    return entry


def summary(data: dict) -> list[dict]:
    """Per notebook: questions attempted, answered right at least once, and total checks."""
    per = defaultdict(lambda: {"attempted": set(), "right": set(), "checks": 0})
    for a in data["answers"]:
        s = per[a["notebook"]]
        s["attempted"].add(a["question"])
        s["checks"] += 1
        if a["correct"]:
            s["right"].add(a["question"])
    return [{"notebook": nb, "attempted": len(s["attempted"]), "right": len(s["right"]),
             "checks": s["checks"]} for nb, s in sorted(per.items())]


def export_csv(data: dict, csv_path: Path) -> None:
    """Every recorded answer as CSV (for a teacher to collect)."""
    fields = ["notebook", "question", "answer", "correct", "time"]
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for a in data["answers"]:
            writer.writerow({k: json.dumps(a[k]) if k == "answer" else a[k] for k in fields})
