"""Notebook 06's grid fanned out on Dask (``python -m helpers grid --jobs N | --scheduler ADDR``):
the teacher's and CI's side of ``helpers.experiment``, which itself stays free of Dask."""

from __future__ import annotations

from helpers import data, experiment
from helpers.tools import runner

__all__ = ["run_grid_on_dask"]


def _run_unit(task_name: str, budget, strategy: str, seeds, kwargs: dict) -> list:
    """One contender in one cell over its seeds, in a Dask worker: rows as ``run_grid`` makes them
    (the learning rate still chosen on the first seed)."""
    return experiment.run_grid([data.get_task(task_name)], [budget], list(seeds), (strategy,),
                               progress=False, **kwargs)


def run_grid_on_dask(task_names, budgets, seeds, strategies=experiment.STRATEGIES, jobs: int = 2,
                     scheduler: str | None = None, progress: bool = True, **kwargs) -> list:
    """``experiment.run_grid`` fanned out on Dask: one job per (target, budget, contender), on a
    local cluster of ``jobs`` worker processes (one TensorFlow thread each) or on the cluster at
    ``scheduler``. The rows are the same as ``run_grid``'s, in the same order."""
    units = [(t, b, s) for t in task_names for b in budgets for s in strategies]
    n = len(units)
    with runner.one_tensorflow_thread_per_worker():
        parts = runner.map_on_dask(_run_unit, *zip(*units, strict=True), [list(seeds)] * n,
                                   [kwargs] * n, jobs=jobs, scheduler=scheduler, unit="job",
                                   desc="grid on Dask", progress=progress)
    by_unit = dict(zip(units, parts, strict=True))
    return [row for t in task_names for b in budgets for s in strategies
            for row in sorted(by_unit[t, b, s], key=lambda r: r["seed"])]
