"""Record a notebook's key results (accuracies, times, counts) so reports and tests can read them.

Each notebook opens one recorder, ``rec = results.Recorder("03_feature_extraction")``, and
calls ``rec.record("fe_accuracy", acc)``. Values are written (atomically, after every record)
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


class Recorder:
    """Collects one notebook's results and keeps them saved as JSON."""

    def __init__(self, notebook: str, parameters: dict | None = None):
        self.notebook = notebook
        self.path = results_dir() / f"{notebook}.json"
        self.data = {"notebook": notebook, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "parameters": _plain(parameters or {}), "metrics": {}, "exercises": {}}
        self._save()

    def record(self, name: str, value):
        """Store ``value`` under ``name`` and return it (so it can be printed in the same line)."""
        self.data["metrics"][name] = _plain(value)
        self._save()
        return value

    def exercise(self, name: str, passed: bool) -> None:
        self.data["exercises"][name] = bool(passed)
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.data, indent=1))


def load_results(notebook: str, folder: Path | None = None) -> dict:
    """Read back what a notebook recorded."""
    return json.loads(((folder or results_dir()) / f"{notebook}.json").read_text())
