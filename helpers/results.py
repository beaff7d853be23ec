"""Record a notebook's key results (accuracies, times, counts) so reports and tests can read them.

Each notebook opens one recorder in its setup cell (``params.start`` does it), and its
"measure it" cells call ``results.record("fe_accuracy", acc)``; exercise checks record their
outcome in the same recorder (``results.current()``). Values are written (atomically, after every record)
to ``$TLW_RESULTS_DIR/<notebook>.json``, or ``build/results/<notebook>.json`` when the variable
is unset; the headless runner points ``TLW_RESULTS_DIR`` next to the executed notebook.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from helpers import config
from helpers.atomic import atomic_write_text

__all__ = ["results_dir", "current", "record", "Recorder", "load_results"]


def results_dir() -> Path:
    """Where recorders write: ``TLW_RESULTS_DIR``, else ``build/results`` (``config.results_dir``)."""
    return config.results_dir()


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
