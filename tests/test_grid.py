"""The grid's Dask fan-out (helpers/tools/grid.py) gives the rows the plain loop gives."""

from helpers import data, experiment
from helpers.tools import grid


def test_grid_on_dask_gives_the_rows_run_grid_gives():
    """The fan-out path: one job per (target, budget, contender) on two worker processes."""
    kw = dict(test_images=40, val_images=40)
    here = experiment.run_grid([data.far_task()], [1], [0, 1], ("pixel_logreg",), progress=False, **kw)
    there = grid.run_grid_on_dask(["far"], [1], [0, 1], ("pixel_logreg",), jobs=2,
                                  progress=False, **kw)
    drop = {"seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in there] == \
        [{k: v for k, v in r.items() if k not in drop} for r in here]
