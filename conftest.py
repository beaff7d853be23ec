"""Pytest wiring for `make test`: each notebook is executed once, by nbval, and kept.

`make test` first lets papermill inject quick-mode parameters into copies of the notebooks
(`papermill --prepare-only`), then runs two pytest sessions, each on two workers
(pytest-xdist): nbval over those copies (two notebooks at a time, each in its own kernel), then
`tests/`. After every cell this file stores the cell's outputs and writes the executed notebook
to ``build/test-run/executed/``; the notebooks' recorded results land in
``build/test-run/executed/results/``. When a notebook's last cell has run, a marker
``.<notebook>.done`` records the test run's id (``TLW_TEST_RUN``, set by `make test`). The tests
in ``tests/test_notebooks.py`` read those files instead of executing the course a second time,
but only when every notebook carries the current run's marker.
"""

import os
import shutil
from pathlib import Path

import pytest

from helpers.tools import testrun
from helpers.tools.testrun import EXECUTED_DIR as EXECUTED

# What the notebooks' kernels see: quick mode, no downloads, an empty Keras cache, results here.
KERNEL_ENV = {"TLW_QUICK": "1", "TLW_OFFLINE": "1", "TLW_RESULTS_DIR": str(EXECUTED / "results"),
              "KERAS_HOME": str(EXECUTED / "keras"),
              # figures must reach the outputs even where MPLBACKEND=Agg is set for the machine
              "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


# The test files that take longest (seconds summed over their tests, `--durations=0`, 2026-12-08),
# longest first. `make test` hands files to its workers in collection order
# (--no-loadscope-reorder), so these start first and the many short files fill the gaps at the
# end; pytest-xdist's own order (most tests first) started them last, and one worker then ran a
# three-minute file alone while the other waited. Only the order depends on this list.
LONGEST_FIRST = ("test_capstone_runs.py", "test_backbones.py", "test_runner.py", "test_grading.py",
                 "test_package.py", "test_browser.py", "test_pretrain.py", "test_assess.py",
                 "test_book.py", "test_experiment_cells.py", "test_applications.py",
                 "test_probes.py")


def _is_notebook_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def _start_rank(item) -> int:
    """Notebook cells first (the tests read what they produced), then the longest test files."""
    if _is_notebook_cell(item):
        return -1
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(session, config, items):
    """Order the items (:func:`_start_rank`; the rest keep their order); start from an empty
    folder for the notebooks.

    Under pytest-xdist every worker collects: the folder is emptied by `make test` instead, or
    one worker would delete what another has just written."""
    if any(_is_notebook_cell(i) for i in items) and "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(EXECUTED, ignore_errors=True)
    EXECUTED.mkdir(parents=True, exist_ok=True)
    items.sort(key=_start_rank)



@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Kernels start in the first cell's setup and inherit the environment then."""
    if _is_notebook_cell(item):
        os.environ.update(KERNEL_ENV)
    else:
        for name in KERNEL_ENV:
            if name not in ("TLW_QUICK", "MPLBACKEND"):
                os.environ.pop(name, None)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if not _is_notebook_cell(item) or item.test_outputs is None:
        return
    import nbformat

    item.cell.outputs = list(item.test_outputs)
    nb = item.parent.nb
    name = Path(str(item.parent.fspath)).name
    tmp = EXECUTED / f".{name}.partial"
    nbformat.write(nb, tmp)
    os.replace(tmp, EXECUTED / name)
    if nextitem is None or nextitem.parent is not item.parent:  # the notebook's last cell
        testrun.mark_done(name)
