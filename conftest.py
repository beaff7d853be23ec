"""Pytest wiring for `make test`: each notebook is executed once, by nbval, and kept.

`make test` first lets papermill inject quick-mode parameters into copies of the notebooks
(`papermill --prepare-only`), then runs one pytest session over `tests/` and those copies with
nbval. The notebooks run first; after every cell this file stores the cell's outputs and writes
the executed notebook to ``build/test-run/executed/``, and the notebooks' recorded results land
in ``build/test-run/executed/results/``. The tests in ``tests/test_notebooks.py`` then read
those files instead of executing the course a second time.
"""

import os
import shutil
from pathlib import Path

import pytest

from helpers.config import TEST_EXECUTED_DIR as EXECUTED

# What the notebooks' kernels see: quick mode, no downloads, an empty Keras cache, results here.
KERNEL_ENV = {"TLW_QUICK": "1", "TLW_OFFLINE": "1", "TLW_RESULTS_DIR": str(EXECUTED / "results"),
              "KERAS_HOME": str(EXECUTED / "keras"),
              # figures must reach the outputs even where MPLBACKEND=Agg is set for the machine
              "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def _is_notebook_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_collection_modifyitems(session, config, items):
    """Notebook cells first (the tests read what they produced); start from an empty folder."""
    if any(_is_notebook_cell(i) for i in items):
        shutil.rmtree(EXECUTED, ignore_errors=True)
        EXECUTED.mkdir(parents=True)
        config.tlw_executed_notebooks = set()  # filled as nbval finishes cells
    items.sort(key=lambda item: not _is_notebook_cell(item))



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
    item.config.tlw_executed_notebooks.add(name)
