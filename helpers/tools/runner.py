"""Run the course headless: papermill execution, parameter validation, tables, reports and sweeps.

``python -m helpers run [NOTEBOOK ...] [--quick] [-p NAME VALUE ...] [--out DIR] [--timeout S]``
executes notebooks into ``build/executed/``. Each run is written to a temporary file and moved
into place only when it succeeded; a failed run is kept beside the last good one as
``<name>.FAILED.ipynb`` and never overwrites it.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from helpers import config
from helpers.atomic import atomic_write_text
from helpers.params import PARAMETERS, ParameterError, check_value

DEFAULT_OUT = config.BUILD_DIR / "executed"


# ---------------------------------------------------------------- parameters
# The rules (PARAMETERS) and ParameterError live in helpers.params, which the notebooks call
# themselves, so a run started by plain papermill, nbconvert or JupyterLab gets the same message;
# the runner checks before it starts a kernel.

def notebook_path(name: str) -> Path:
    """``03``, ``03_feature_extraction`` or a path → the notebook file."""
    p = Path(name)
    if p.suffix == ".ipynb" and p.exists():
        return p
    matches = sorted(config.NOTEBOOKS_DIR.glob(f"{p.stem}*.ipynb"))
    if len(matches) != 1:
        known = ", ".join(x.stem for x in all_notebooks())
        raise ParameterError(f"No single notebook matches {name!r}; choose from: {known}")
    return matches[0]


def all_notebooks() -> list[Path]:
    return sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def notebook_parameters(path: Path) -> dict:
    """The names and default values assigned in the notebook's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise ParameterError(f"{path.name} has no cell tagged 'parameters'")
    values = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def coerce(value):
    """A command-line string → None, bool, int, float or str (``-p EPOCHS 3`` gives the int 3,
    ``-p QUICK None`` gives None, as papermill's own ``-p`` does)."""
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value == "None":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def validate_parameters(path: Path, params: dict) -> dict:
    """Check every parameter against the notebook's cell and the documented rules; return them coerced."""
    defaults = notebook_parameters(path)
    checked = {}
    for name, raw in params.items():
        if name not in defaults:
            raise ParameterError(f"{path.stem}: unknown parameter {name!r}; this notebook takes "
                                 f"{', '.join(sorted(defaults))}")
        value = coerce(raw)
        if PARAMETERS.get(name, (None,))[0] is str and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            value = str(raw)  # -p LABEL_BUDGETS 5: the notebook reads a string
        check_value(path.stem, name, value, shown=raw)
        checked[name] = value
    return checked


# ---------------------------------------------------------------- running

@dataclass
class RunResult:
    notebook: str
    status: str = "not run"
    seconds: float = 0.0
    peak_mb: float = 0.0
    output: Path | None = None
    error: str = ""
    metrics: dict = field(default_factory=dict)


class _PeakMemory:
    """Polls the resident memory of one kernel (and its children) and keeps the peak.

    ``watch`` is handed the kernel's process when it starts, so runs in parallel threads each
    measure their own kernel.
    """

    def __init__(self, interval: float = 0.2):
        self.kernel, self.interval, self.peak = None, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, process) -> None:
        import psutil

        try:
            self.kernel = psutil.Process(process.pid) if process is not None else None
        except psutil.Error:
            self.kernel = None

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                if self.kernel is not None:
                    rss = self.kernel.memory_info().rss + sum(
                        c.memory_info().rss for c in self.kernel.children(recursive=True))
                    self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def kernel_manager_with_env(env: dict, started=None):
    """A kernel manager class whose kernels start with ``env`` on top of this process's
    environment. ``os.environ`` itself is never changed, so runs can share a process (threads,
    a Dask worker) without seeing each other's settings. ``started(process)``, if given, is
    called with the kernel's process once it runs."""
    from jupyter_client.manager import AsyncKernelManager

    extra = {name: str(value) for name, value in env.items()}

    class KernelManagerWithEnv(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **(kw.get("env") or {}), **extra}
            out = await super().start_kernel(**kw)
            if started is not None:
                started(getattr(self.provisioner, "process", None))
            return out

    return KernelManagerWithEnv


def execute(path: Path, out_dir: Path, params: dict, timeout: int | None = None,
            progress: bool = True, exercises: str = "blank", kernel_env: dict | None = None) -> RunResult:
    """Execute one notebook with papermill; move it into place only if it succeeded.

    ``exercises``: "blank" as a learner gets it, "solved" with the worked solutions, "both" each
    exercise blank, then solved (the tests' copy). ``kernel_env``: more kernel variables."""
    import nbformat
    import papermill as pm

    from helpers.tools.classroom import prepared_copy

    out_dir = Path(out_dir).resolve()  # the kernel runs in the notebook's folder, not ours
    out_dir.mkdir(parents=True, exist_ok=True)
    source = path
    if exercises != "blank":
        source = out_dir / f".{path.stem}.source.ipynb"
        nbformat.write(prepared_copy(nbformat.read(path, as_version=4), exercises), source)
    results_dir = out_dir / "results"
    final = out_dir / path.name
    partial = out_dir / f".{path.stem}.partial.ipynb"
    failed = out_dir / f"{path.stem}.FAILED.ipynb"
    result = RunResult(path.stem)
    env = {"TLW_RESULTS_DIR": results_dir,
           # Figures must land in the notebook: a non-inline backend inherited from the
           # environment (MPLBACKEND=Agg is common on headless machines) would drop every plot.
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(kernel_env or {})}
    if params.get("QUICK"):
        env["TLW_QUICK"] = "1"
    start = time.perf_counter()
    mem = None
    try:
        with _PeakMemory() as mem:
            pm.execute_notebook(str(source), str(partial), parameters=params, cwd=str(path.parent),
                                progress_bar=progress, execution_timeout=timeout, report_mode=False,
                                kernel_manager_class=kernel_manager_with_env(env, mem.watch))
        os.replace(partial, final)
        failed.unlink(missing_ok=True)
        result.status, result.output = "ok", final
    except Exception as err:  # papermill raises PapermillExecutionError for a failing cell
        if partial.exists():
            os.replace(partial, failed)
        result.status, result.output = "FAILED", failed
        cell = getattr(err, "exec_count", None)
        name = getattr(err, "ename", type(err).__name__)
        value = getattr(err, "evalue", str(err))
        result.error = f"cell {cell}: {name}: {value}".strip()[:300]
    finally:
        if source != path:
            source.unlink(missing_ok=True)
        result.seconds = time.perf_counter() - start
        result.peak_mb = mem.peak / 2**20 if mem is not None else 0.0
    metrics_file = results_dir / f"{path.stem}.json"
    if result.status == "ok" and metrics_file.exists():
        result.metrics = json.loads(metrics_file.read_text()).get("metrics", {})
    return result


def check_student_notebook(path: Path, timeout: int = 1200) -> list[str]:
    """Run a student notebook in quick mode, exercises left blank: every cell must run (a blank
    exercise's check answers "not done yet" instead of failing). Returns the errors' names."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   kernel_manager_class=kernel_manager_with_env({"TLW_QUICK": "1"}),
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    return [o["ename"] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def key_metrics(metrics: dict, limit: int = 3) -> str:
    """The first few scalar metrics, formatted for a table."""
    parts = []
    for k, v in metrics.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
        if len(parts) == limit:
            break
    return ", ".join(parts)


def format_table(results: list[RunResult]) -> str:
    rows = [("notebook", "status", "seconds", "peak MB", "key metrics / error")]
    for r in results:
        rows.append((r.notebook, r.status, f"{r.seconds:.1f}", f"{r.peak_mb:.0f}",
                     r.error if r.status != "ok" else key_metrics(r.metrics)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
             for row in rows]
    lines.insert(1, "-" * (sum(widths) + 30))
    return "\n".join(lines)


def run_course(names=None, quick: bool = False, params: dict | None = None,
               out_dir: Path = DEFAULT_OUT, timeout: int | None = None,
               progress: bool = True, jobs: int = 1, exercises: str = "blank") -> list[RunResult]:
    """Validate parameters for every chosen notebook first, then run them all.

    ``jobs`` > 1 runs that many notebooks at once, each in its own kernel. A notebook's kernel
    keeps one CPU core only partly busy (tracing, Python, small batches), so on 2 cores two
    kernels finish the course sooner; each notebook's seconds then include waiting for the core
    the other kernel uses, and each kernel's math libraries get its share of the cores
    (:func:`shared_cores_env`). Results come back in course order either way.
    """
    from tqdm.auto import tqdm

    paths = [notebook_path(n) for n in names] if names else all_notebooks()
    params = dict(params or {})
    accepted = {path: notebook_parameters(path) for path in paths}
    unknown = [k for k in params if not any(k in names for names in accepted.values())]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}: no chosen notebook takes them; "
                             f"allowed: {', '.join(sorted(set().union(*accepted.values())))}")
    plans = []
    for path in paths:
        mine = {k: v for k, v in params.items() if k in accepted[path]}
        if quick:
            mine["QUICK"] = True
        plans.append((path, validate_parameters(path, mine)))
    if not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be an integer >= 1, not {jobs!r}")
    if jobs == 1:
        return [execute(path, Path(out_dir), mine, timeout, progress, exercises)
                for path, mine in tqdm(plans, desc="course", unit="notebook", disable=not progress)]
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=jobs) as pool:  # threads wait; the kernels do the work
        futures = [pool.submit(execute, path, Path(out_dir), mine, timeout, False, exercises,
                               shared_cores_env(jobs)) for path, mine in plans]
        for _ in tqdm(as_completed(futures), total=len(futures), desc=f"course ({jobs} kernels)",
                      unit="notebook", disable=not progress):
            pass
    return [f.result() for f in futures]


# ---------------------------------------------------------------- report

def _images_from_notebook(path: Path, limit: int = 6) -> list[str]:
    """Base64 PNGs from a notebook's outputs."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    pngs = [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    return pngs[:limit]


def build_report(out_dir: Path = DEFAULT_OUT) -> tuple[Path, Path]:
    """Gather every recorded result under ``out_dir`` into report.md and report.html."""
    import base64
    import html

    out_dir = Path(out_dir)
    files = sorted((out_dir / "results").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"No results in {out_dir / 'results'}: run `python -m helpers run` first.")
    md = ["# Transfer Learning Workbook: results", "",
          f"Gathered {time.strftime('%Y-%m-%d %H:%M')} from {out_dir}.", ""]
    body = [f"<h1>Transfer Learning Workbook: results</h1><p>Gathered {time.strftime('%Y-%m-%d %H:%M')}.</p>"]
    for f in files:
        data = json.loads(f.read_text())
        if "notebook" not in data:  # not a notebook's record
            continue
        nb = data["notebook"]
        md += [f"## {nb}", "", f"Parameters: `{json.dumps(data.get('parameters', {}))}`", "",
               "| metric | value |", "|---|---|"]
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(json.dumps(v)[:300])}</code></td></tr>"
                       for k, v in data.get("metrics", {}).items())
        for k, v in data.get("metrics", {}).items():
            shown = f"{v:.4g}" if isinstance(v, float) else json.dumps(v)[:200]
            md.append(f"| {k} | {shown} |")
        ex = data.get("exercises", {})
        md += ["", f"Exercises passed: {sum(ex.values())} of {len(ex)}", ""]
        body.append(f"<h2>{html.escape(nb)}</h2><table border=1>{rows}</table>"
                    f"<p>Exercises passed: {sum(ex.values())} of {len(ex)}</p>")
        executed = out_dir / f"{nb}.ipynb"
        if nb.startswith("06") and executed.exists():
            for i, png in enumerate(_images_from_notebook(executed)):
                name = f"report_{nb}_{i}.png"
                (out_dir / name).write_bytes(base64.b64decode(png))
                md += [f"![{nb} plot {i + 1}]({name})", ""]
                body.append(f"<img src='data:image/png;base64,{png}' style='max-width:100%'>")
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(md_path, "\n".join(md) + "\n")
    atomic_write_text(html_path, "<html><body>" + "".join(body) + "</body></html>")
    return md_path, html_path


# ---------------------------------------------------------------- sweep

def run_shipped(name: str, source: str, params: dict) -> dict:
    """Execute a notebook given as text, wherever this function runs (a Dask worker or here),
    and return everything as data: the executed notebook, its results file and its status.

    Nothing stays on the worker's disk: the run happens in a temporary folder.
    """
    import socket
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tlw-run-") as tmp:
        path = Path(tmp) / "in" / name
        path.parent.mkdir()
        path.write_text(source)
        r = execute(path, Path(tmp) / "out", params, progress=False)
        results_file = Path(tmp) / "out" / "results" / f"{path.stem}.json"
        return {"params": params, "status": r.status, "metrics": r.metrics, "error": r.error,
                "seconds": r.seconds, "peak_mb": r.peak_mb, "host": socket.gethostname(),
                "notebook": r.output.read_text() if r.output and r.output.exists() else None,
                "results": results_file.read_text() if results_file.exists() else None}


def _keep(outcome: dict, name: str, folder: Path) -> None:
    """Write a shipped run's notebook and results into ``folder`` on the caller's machine."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    if outcome["notebook"] is not None:
        target = folder / (name if outcome["status"] == "ok" else f"{stem}.FAILED.ipynb")
        atomic_write_text(target, outcome["notebook"])
    if outcome["results"] is not None:
        (folder / "results").mkdir(exist_ok=True)
        atomic_write_text(folder / "results" / f"{stem}.json", outcome["results"])


def dask_client(scheduler: str | None = None, jobs: int = 2):
    """``Client(scheduler)`` for a running cluster, else a ``LocalCluster`` of ``jobs`` worker
    processes (one thread each: a notebook's kernel already uses every core it is given)."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="10s")  # a clear error soon when nobody answers
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster)


# NumPy, SciPy and scikit-learn's math libraries (OpenBLAS, OpenMP; MKL where installed) start
# a thread per core in every process. Processes that share the cores then spin against each
# other, and the course's small probes and projections run several times slower (measured on 2
# cores: 40 probe fits 4.3 s with the default threads, 0.7 s with one thread per process).
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cores_each(jobs: int) -> int:
    """The cores each of ``jobs`` processes sharing this machine gets (at least one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, jobs))


def shared_cores_env(jobs: int) -> dict:
    """The math libraries' thread counts for one of ``jobs`` processes sharing the cores; a
    count already set in the environment is kept."""
    return {name: os.environ.get(name) or str(cores_each(jobs)) for name in BLAS_THREADS}


@contextmanager
def inherited_env(values: dict):
    """Within this block, ``os.environ`` has each of ``values`` that it did not set already, so
    processes started here (local Dask workers) inherit them; restored after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: saved[k] or str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def one_thread_per_worker():
    """:func:`inherited_env` for local Dask workers of the grid: one TensorFlow thread each and
    one thread for the math libraries (each worker has a core; Dask's own default for the
    latter, written down here so that a value you set is the one every worker gets)."""
    names = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", *BLAS_THREADS)
    return inherited_env(dict.fromkeys(names, 1))


def _own_random_for_dask_sizeof() -> None:
    """Keras draws its initializers' seeds from Python's global ``random``, after ``set_seed``.
    In a Dask worker, the event-loop thread draws from that same stream when it sizes a big
    result (``dask.sizeof`` samples collections of over ten items, e.g. a finished job's rows)
    while the next job builds its networks: their weights would then depend on timing. Dask's
    sampling gets a stream of its own, so a worker's runs equal ``run_grid``'s."""
    import random

    import dask.sizeof

    if getattr(dask.sizeof, "random", random) is random:
        dask.sizeof.random = random.Random(0)


def _with_own_sizeof_random(fn, *args):
    """``fn(*args)`` in a Dask worker, after :func:`_own_random_for_dask_sizeof`."""
    _own_random_for_dask_sizeof()
    return fn(*args)


def map_on_dask(fn, *iterables, jobs: int = 2, scheduler: str | None = None, unit: str = "run",
                desc: str | None = None, progress: bool = True) -> list:
    """``[fn(*args) for args in zip(*iterables)]`` fanned out on Dask (``dask_client``), with a
    progress bar as jobs finish; a local cluster started here is closed again."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    client = dask_client(scheduler, jobs)
    try:
        # every job's random numbers its own, whatever Dask does meanwhile (see below)
        futures = client.map(functools.partial(_with_own_sizeof_random, fn), *iterables, pure=False)
        for _ in tqdm(as_completed(futures), total=len(futures), unit=unit, desc=desc,
                      disable=not progress):
            pass
        return client.gather(futures)
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and not scheduler:
            cluster.close()


def _map_runs(name: str, source: str, all_params: list[dict], jobs: int, scheduler: str | None,
              progress: bool = True) -> list[dict]:
    """Run every parameter set: here, one after the other (``jobs`` 1, no scheduler), or fanned
    out on Dask; the results come back in the order of ``all_params``."""
    from tqdm.auto import tqdm

    if jobs <= 1 and not scheduler:
        return [run_shipped(name, source, p) for p in tqdm(all_params, unit="run", disable=not progress)]
    n = len(all_params)
    with inherited_env({} if scheduler else shared_cores_env(jobs)):   # local workers share cores
        return map_on_dask(run_shipped, [name] * n, [source] * n, all_params, jobs=jobs,
                           scheduler=scheduler, progress=progress)


def check_sweep_grid(grid: dict) -> None:
    """Refuse what a sweep sets itself: ``SEED`` comes from ``seeds`` (``--seeds``), one run per
    seed for every combination of the grid; a grid over ``SEED`` too would file its runs under
    the wrong seed. ``ParameterError`` with the command to use instead."""
    if "SEED" in grid:
        values = grid["SEED"]
        shown = ",".join(str(v) for v in values) if isinstance(values, (list, tuple)) else str(values)
        raise ParameterError(f"sweep: SEED is not a -p parameter; give the seeds with --seeds "
                             f"(e.g. --seeds {shown}): every combination of the -p values runs "
                             "once per seed and the metrics are averaged over the seeds")
    if not grid:
        raise ParameterError("give at least one -p NAME v1,v2,...")


def sweep(notebook: str, grid: dict, seeds=(0,), jobs: int = 1, quick: bool = False,
          out_dir: Path | None = None, scheduler: str | None = None,
          progress: bool = True) -> tuple[list, str]:
    """Run ``notebook`` for every combination of ``grid`` values × ``seeds``; aggregate metrics.

    Returns (rows, table): one row per combination with the mean and the sample standard
    deviation (``stats.sample_sd``, printed after ±) of every scalar metric over seeds. Runs here one by one, on a local Dask cluster of ``jobs`` workers, or on
    the Dask cluster at ``scheduler``; every executed notebook and results file is written under
    ``out_dir`` on this machine.
    """
    import itertools

    import numpy as np

    from helpers.stats import sample_sd

    check_sweep_grid(grid)
    path = notebook_path(notebook)
    out_dir = Path(out_dir or config.BUILD_DIR / "sweeps" / path.stem)
    names = list(grid)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    all_params, folders = [], []
    for combo in combos:
        for seed in seeds:
            params = {**combo, "SEED": seed, **({"QUICK": True} if quick else {})}
            params = validate_parameters(path, params)
            all_params.append(params)
            folders.append(out_dir / "_".join(f"{k}-{v}" for k, v in params.items() if k != "QUICK"))
    shipped = _map_runs(path.name, path.read_text(), all_params, jobs, scheduler, progress)
    for outcome, folder in zip(shipped, folders, strict=True):
        _keep(outcome, path.name, folder)
    outcomes = [(o["params"], o["status"], o["metrics"], o["error"]) for o in shipped]
    rows = []
    for combo in combos:
        want = validate_parameters(path, combo)  # as the runs got them ("5" stays a string)
        mine = [o for o in outcomes if all(o[0][k] == want[k] for k in combo)]
        failed = [o for o in mine if o[1] != "ok"]
        stats = {}
        for key in mine[0][2] if mine and not failed else []:
            vals = [o[2][key] for o in mine if isinstance(o[2].get(key), (int, float))
                    and not isinstance(o[2].get(key), bool)]
            if len(vals) == len(mine):
                stats[key] = (float(np.mean(vals)), sample_sd(vals))
        rows.append({"params": combo, "runs": len(mine), "failed": len(failed),
                     "errors": [o[3] for o in failed], "metrics": stats})
    lines = []
    for r in rows:
        shown = ", ".join(f"{k}={m:.3g}±{s:.2g}" for k, (m, s) in list(r["metrics"].items())[:4])
        lines.append(f"{json.dumps(r['params'])}: {r['runs']} runs, {r['failed']} failed  {shown}")
    table = "\n".join(lines)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "sweep.json", json.dumps(rows, indent=1))
    _plot_sweep(rows, names[0], out_dir / "sweep.png")
    return rows, table


def _plot_sweep(rows, x_name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in (rows[0]["metrics"] if rows else {})][:3]
    if not keys:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [str(r["params"][x_name]) for r in rows]
    for k in keys:
        ax.errorbar(xs, [r["metrics"][k][0] for r in rows], yerr=[r["metrics"][k][1] for r in rows],
                    marker="o", capsize=3, label=k)
    ax.set_xlabel(x_name)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
