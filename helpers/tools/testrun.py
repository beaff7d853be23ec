"""`make test`'s own paths: where nbval keeps the notebooks it executed, and the markers saying
that a notebook ran to its last cell in this test run.

`make test` sets ``TLW_TEST_RUN`` to a fresh id for the run; the root ``conftest.py`` writes the
executed notebooks to :data:`EXECUTED_DIR` and, after a notebook's last cell, its
:func:`done_marker` holding that id; ``tests/conftest.py`` reuses those notebooks only when every
one carries the current id (:func:`ran_in_this_run`). The course itself never reads any of this.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers import config

__all__ = ["EXECUTED_DIR", "run_id", "done_marker", "mark_done", "ran_in_this_run"]

EXECUTED_DIR = config.BUILD_DIR / "test-run" / "executed"   # the notebooks nbval ran


def run_id() -> str:
    """This test run's id (``TLW_TEST_RUN``, set by `make test`); "" outside `make test`."""
    return os.environ.get("TLW_TEST_RUN", "").strip()


def done_marker(notebook_name: str) -> Path:
    """The file saying that ``notebook_name`` ran to its last cell, and in which test run."""
    return EXECUTED_DIR / f".{Path(notebook_name).stem}.done"


def mark_done(notebook_name: str) -> None:
    """Record that ``notebook_name`` ran to its last cell in this test run."""
    done_marker(notebook_name).write_text(run_id() + "\n")


def ran_in_this_run(notebook_names) -> bool:
    """True when this is a `make test` run and every notebook named ran to its end in it."""
    names, current = list(notebook_names), run_id()
    return bool(current and names) and all(
        done_marker(n).is_file() and done_marker(n).read_text().strip() == current for n in names)
