"""Record a notebook's key results (accuracies, times, counts) so reports and tests can read them.

Each notebook opens one recorder in its setup cell (``params.start`` does it), and its
"measure it" cells call ``results.record("fe_accuracy", acc)``; exercise checks record their
outcome in the same recorder (``results.current()``). Values are written (atomically, after every record)
to ``$TLW_RESULTS_DIR/<notebook>.json``, or ``build/results/<notebook>.json`` when the variable
is unset; the headless runner points ``TLW_RESULTS_DIR`` next to the executed notebook.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from helpers import config
from helpers.data import atomic_write_text


def results_dir() -> Path:
    value = os.environ.get("TLW_RESULTS_DIR", "").strip()
    return Path(value) if value else config.BUILD_DIR / "results"


def _plain(value):
    """NumPy scalars and arrays → plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_CURRENT: list = []   # the recorder opened last in this process (a notebook opens one)


def current() -> Recorder | None:
    """The recorder the running notebook opened last, or None outside a notebook run."""
    return _CURRENT[-1] if _CURRENT else None


def record(name: str, value):
    """Store ``value`` under ``name`` in the current notebook's recorder (if any); return it."""
    rec = current()
    return value if rec is None else rec.record(name, value)


class Recorder:
    """Collects one notebook's results and keeps them saved as JSON."""

    def __init__(self, notebook: str, parameters: dict | None = None):
        self.notebook = notebook
        self.path = results_dir() / f"{notebook}.json"
        self.data = {"notebook": notebook, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "parameters": _plain(parameters or {}), "metrics": {}, "exercises": {},
                     "exercise_log": []}
        _CURRENT[:] = [self]
        self._save()

    def record(self, name: str, value):
        """Store ``value`` under ``name`` and return it (so it can be printed in the same line)."""
        self.data["metrics"][name] = _plain(value)
        self._save()
        return value

    def exercise(self, name: str, passed: bool, status: str | None = None) -> None:
        """Keep a check's latest outcome, and every outcome in order in ``exercise_log``
        (``status``: "passed", "not_done" or "wrong")."""
        status = status or ("passed" if passed else "wrong")
        self.data["exercises"][name] = bool(passed)
        self.data["exercise_log"].append([name, status])
        self._save()

    def _save(self) -> None:
        if config.autograding():  # nbgrader runs many students' copies: keep results in memory
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.data, indent=1))


def load_results(notebook: str, folder: Path | None = None) -> dict:
    """Read back what a notebook recorded."""
    return json.loads(((folder or results_dir()) / f"{notebook}.json").read_text())


# ---------------------------------------------------------------- generated blocks in documents

def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- BEGIN GENERATED {name}: `python -m helpers tables` rewrites this block -->",
            f"<!-- END GENERATED {name} -->")


def generated_block(text: str, name: str) -> str:
    """The content between the ``name`` markers of ``text`` (ValueError if they are missing)."""
    begin, end = _markers(name)
    if begin not in text or end not in text:
        raise ValueError(f"no generated block {name!r}: add the lines\n{begin}\n{end}")
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def replace_generated_block(path: Path, name: str, content: str) -> bool:
    """Rewrite the ``name`` block of the file at ``path`` with ``content``; True if it changed."""
    path = Path(path)
    text = path.read_text()
    old = generated_block(text, name)
    if old == content.strip("\n"):
        return False
    begin, end = _markers(name)
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    atomic_write_text(path, f"{head}{begin}\n{content.strip(chr(10))}\n{end}{tail}")
    return True
