"""``python -m helpers bench``: the course's costs on this machine, in one reproducible run.

Measures (each a median of ``repeats`` runs, with min and max; ratios from the same run):
1. the whole course at its default settings (what a learner gets by opening a notebook and
   running all), one notebook at a time: wall time and the kernel's peak memory per notebook;
   then in quick mode, one at a time and two at a time (as `make test` runs it);
2. feature extraction with the frozen base in every epoch vs features cached once;
3. fine-tuning vs feature extraction: time per epoch and trainable parameters;
4. the source model's throughput (inference and training step), NumPy arrays vs tf.data;
5. kernel start and ``import helpers`` time.
Writes ``build/bench/bench.json`` and ``build/bench/bench.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from helpers import config
from helpers.atomic import atomic_write_text

TARGETS = {
    "notebook_default_max_s": 180, "course_default_total_s": 900,
    "course_quick_total_s": 240, "course_quick_wall_2_kernels_s": 240, "peak_kernel_mb": 1536,
    "peak_kernel_default_mb": 2048, "cached_speedup": 10.0, "import_helpers_beyond_tf_s": 3.0,
}
COMMITTED = config.COMMITTED_RESULTS_DIR / "bench.json"
BINDER_MEMORY_MB = 2048   # what mybinder.org gives a session


def _stats(values) -> dict:
    return {"median": float(statistics.median(values)), "min": float(min(values)),
            "max": float(max(values)), "n": len(values)}


def bench_course(out: Path, jobs: int = 2) -> dict:
    """The quick course twice: one notebook at a time (what each notebook costs, its kernel's
    peak memory), then ``jobs`` notebooks at a time (the wall time of `run --quick --jobs 2`,
    the way `make test` executes the course)."""
    from helpers.tools import runner

    results = runner.run_course(quick=True, out_dir=out / "executed", progress=False)
    rows = {r.notebook: {"status": r.status, "seconds": r.seconds, "peak_mb": r.peak_mb}
            for r in results}
    start = time.perf_counter()
    together = runner.run_course(quick=True, out_dir=out / f"executed-{jobs}-kernels",
                                 progress=False, jobs=jobs)
    wall = time.perf_counter() - start
    return {"notebooks": rows, "total_s": sum(r.seconds for r in results),
            "peak_kernel_mb": max(r.peak_mb for r in results),
            "parallel": {"jobs": jobs, "wall_s": wall,
                         "status": "ok" if all(r.status == "ok" for r in together) else "FAILED"}}


def bench_defaults(out: Path) -> dict:
    """Every notebook at its default settings (QUICK off, parameters as committed), one at a
    time: the time a learner waits for Run All, and the kernel's peak memory (does it fit Binder?)."""
    from helpers.tools import runner

    results = runner.run_course(quick=False, out_dir=out / "executed-defaults", progress=False)
    return {"notebooks": {r.notebook: {"status": r.status, "seconds": r.seconds, "peak_mb": r.peak_mb}
                          for r in results},
            "total_s": sum(r.seconds for r in results),
            "max_s": max(r.seconds for r in results),
            "peak_kernel_mb": max(r.peak_mb for r in results),
            "binder_memory_mb": BINDER_MEMORY_MB}


def remeasure(out: Path, names) -> int:
    """Run ``names`` again, at their default settings and in quick mode (one at a time), and put
    their times and memory into the existing ``out/bench.json`` (after a notebook changed; the
    file records which notebooks were measured again, and when). The quick course's wall time
    with two kernels cannot be updated for some notebooks only: it is dropped, not kept stale."""
    from helpers.tools import runner

    path = Path(out) / "bench.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m helpers bench` first")
    res = json.loads(path.read_text())
    when = time.strftime("%Y-%m-%d %H:%M")
    ok = True
    for key, quick, folder in (("defaults", False, "executed-defaults"), ("course", True, "executed")):
        fresh = runner.run_course(names, quick=quick, out_dir=Path(out) / folder, progress=False)
        ok = ok and all(r.status == "ok" for r in fresh)
        part = res.setdefault(key, {"notebooks": {}})
        for r in fresh:
            part["notebooks"][r.notebook] = {"status": r.status, "seconds": r.seconds, "peak_mb": r.peak_mb}
            part.setdefault("remeasured", {})[r.notebook] = when
        rows = part["notebooks"].values()
        part.update(total_s=sum(r["seconds"] for r in rows), max_s=max(r["seconds"] for r in rows),
                    peak_kernel_mb=max(r["peak_mb"] for r in rows))
    res["defaults"].setdefault("binder_memory_mb", BINDER_MEMORY_MB)
    res["course"].pop("parallel", None)
    write_bench(res, Path(out))
    return 0 if ok else 1


def write_bench(res: dict, out: Path) -> None:
    """Check the targets, write bench.json and bench.md (atomically), print the table and how
    to publish it."""
    res["targets"] = check_targets(res)
    atomic_write_text(out / "bench.json", json.dumps(res, indent=1))
    md = to_markdown(res)
    atomic_write_text(out / "bench.md", md)
    print(md)
    print(f"To publish it: cp {out / 'bench.json'} {COMMITTED.relative_to(COMMITTED.parents[2])} "
          "&& python -m helpers tables")


def bench_cached(repeats: int) -> dict:
    from helpers import data, features, models

    near = data.near_task()
    base = models.source_base(models.load_source_model())
    x, y = near.x_train[:2000], near.y_train[:2000]
    runs = [features.in_loop_vs_cached(base, x, y, near.x_test[:1000], near.y_test[:1000], 4,
                                       epochs=4, seed=0, batch_size=128) for _ in range(repeats)]
    return {"images": 2000, "batch_size": 128, "epochs": 4,
            "in_loop_s_per_epoch": _stats([r["in_loop_s_per_epoch"] for r in runs]),
            "cached_s_per_epoch": _stats([r["cached_s_per_epoch"] for r in runs]),
            "speedup": _stats([r["speedup"] for r in runs]),
            "accuracy_difference": max(abs(r["in_loop_accuracy"] - r["cached_accuracy"]) for r in runs),
            "accuracy_tolerance": 0.02}


def bench_fine_tuning_cost(repeats: int) -> dict:
    import keras

    from helpers import data, features, finetuning, freezing, models, pretrained

    near = data.near_task()
    x, y = near.x_train[:1024], near.y_train[:1024]
    out = {}
    for label, blocks in (("feature_extraction", 0), ("fine_tuning_2_blocks", 2), ("all_blocks", 3)):
        times = []
        for _ in range(repeats):
            base = models.source_base(models.load_source_model())
            model = pretrained.with_new_head(base, 4)
            if blocks:
                finetuning.unfreeze_top_blocks(base, blocks)
            else:
                base.trainable = False
            model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
            t, _ = features.time_per_epoch(model, x, y, epochs=3, batch_size=32)
            times.append(t)
        out[label] = {"s_per_epoch": _stats(times), "images": len(y),
                      "trainable_params": freezing.trainable_count(model)}
    out["fine_tuning_vs_extraction"] = (out["fine_tuning_2_blocks"]["s_per_epoch"]["median"]
                                        / out["feature_extraction"]["s_per_epoch"]["median"])
    return out


def bench_throughput(repeats: int) -> dict:
    import keras
    import tensorflow as tf

    from helpers import data, models

    x = data.source_task().x_train[:4096]
    y = data.source_task().y_train[:4096]
    model = models.load_source_model()
    model.predict(x[:512], batch_size=256, verbose=0)
    infer_np = [len(x) / _timed(lambda: model.predict(x, batch_size=256, verbose=0))
                for _ in range(repeats)]
    ds = tf.data.Dataset.from_tensor_slices(x).batch(256).cache().prefetch(tf.data.AUTOTUNE)
    model.predict(ds, verbose=0)
    infer_ds = [len(x) / _timed(lambda: model.predict(ds, verbose=0)) for _ in range(repeats)]
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
    train_np = [len(x) / _timed(lambda: model.fit(x, y, batch_size=64, epochs=1, verbose=0))
                for _ in range(repeats)]
    tds = (tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(4096, seed=0).batch(64)
           .prefetch(tf.data.AUTOTUNE))
    train_ds = [len(x) / _timed(lambda: model.fit(tds, epochs=1, verbose=0)) for _ in range(repeats)]
    return {"inference_numpy_img_s": _stats(infer_np), "inference_tfdata_img_s": _stats(infer_ds),
            "train_numpy_img_s": _stats(train_np), "train_tfdata_img_s": _stats(train_ds),
            "images": int(len(x)), "threads": {"intra": tf.config.threading.get_intra_op_parallelism_threads(),
                                               "inter": tf.config.threading.get_inter_op_parallelism_threads()},
            "note": "batch 256 for inference, 64 for training; tf.data: cache + prefetch"}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_startup(repeats: int) -> dict:
    py = sys.executable
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run(code):
        return _timed(lambda: subprocess.run([py, "-c", code], check=True, env=env,
                                             capture_output=True))

    tf_only = [run("import tensorflow") for _ in range(repeats)]
    with_helpers = [run("import tensorflow, helpers, helpers.data, helpers.models, helpers.features, "
                        "helpers.freezing, helpers.quiz, helpers.plots") for _ in range(repeats)]
    kernel = []
    from jupyter_client.manager import start_new_kernel

    for _ in range(repeats):
        start = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        kernel.append(time.perf_counter() - start)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {"import_tensorflow_s": _stats(tf_only), "import_tf_and_helpers_s": _stats(with_helpers),
            "import_helpers_beyond_tf_s": statistics.median(with_helpers) - statistics.median(tf_only),
            "kernel_start_s": _stats(kernel)}


def check_targets(res: dict) -> list[str]:
    """One line per target: met, or missed by how much."""
    defaults = res.get("defaults", {})
    measured = {
        "notebook_default_max_s": defaults.get("max_s"),
        "course_default_total_s": defaults.get("total_s"),
        "peak_kernel_default_mb": defaults.get("peak_kernel_mb"),
        "course_quick_total_s": res.get("course", {}).get("total_s"),
        "course_quick_wall_2_kernels_s": res.get("course", {}).get("parallel", {}).get("wall_s"),
        "peak_kernel_mb": res.get("course", {}).get("peak_kernel_mb"),
        "cached_speedup": res["cached"]["speedup"]["median"],
        "import_helpers_beyond_tf_s": res["startup"]["import_helpers_beyond_tf_s"],
    }
    lines = []
    for key, target in TARGETS.items():
        value = measured[key]
        if value is None:
            lines.append(f"{key}: not measured in this file")
            continue
        ok = value >= target if key == "cached_speedup" else value <= target
        lines.append(f"{key}: {value:.2f} (target {'>=' if key == 'cached_speedup' else '<='} "
                     f"{target}) {'met' if ok else f'MISSED by {abs(value - target):.2f}'}")
    return lines


def to_markdown(res: dict) -> str:
    """The benchmark as README's markdown: the machine, the table, then one line per measurement
    saying what it measured. It is long because it is that text, in reading order."""
    m = res["machine"]
    lines = [f"Benchmark taken {res['date']} on {m['cpus']} CPU cores ({m['machine']}, "
             f"{m['processor'] or 'unknown CPU'}), Python {m['python']}, TensorFlow {m['tensorflow']}.",
             "", "| measurement | median | min | max |", "|---|---|---|---|"]

    def row(label, s, fmt="{:.3f}"):
        lines.append(f"| {label} | {fmt.format(s['median'])} | {fmt.format(s['min'])} | {fmt.format(s['max'])} |")

    c = res["cached"]
    row("frozen base in the loop, s/epoch", c["in_loop_s_per_epoch"])
    row("cached features, s/epoch", c["cached_s_per_epoch"])
    row("speed-up of cached features (x)", c["speedup"], "{:.1f}")
    ft = res["fine_tuning"]
    for k in ("feature_extraction", "fine_tuning_2_blocks", "all_blocks"):
        row(f"{k.replace('_', ' ')}, s/epoch ({ft[k]['trainable_params']:,} trainable)", ft[k]["s_per_epoch"])
    t = res["throughput"]
    for k in ("inference_numpy_img_s", "inference_tfdata_img_s", "train_numpy_img_s", "train_tfdata_img_s"):
        row(k.replace("_img_s", ", images/s").replace("_", " "), t[k], "{:.0f}")
    s = res["startup"]
    row("import tensorflow, s", s["import_tensorflow_s"], "{:.2f}")
    row("import tensorflow + helpers, s", s["import_tf_and_helpers_s"], "{:.2f}")
    row("kernel start, s", s["kernel_start_s"], "{:.2f}")
    if "course" in res or "defaults" in res:
        quick = res.get("course", {}).get("notebooks", {})
        full = res.get("defaults", {}).get("notebooks", {})
        limit = res.get("defaults", {}).get("binder_memory_mb", BINDER_MEMORY_MB)

        def cell(r, key, fmt):
            return "n/a" if not r else (fmt.format(r[key]) if r["status"] == "ok" else r["status"])

        again = res.get("defaults", {}).get("remeasured")
        if again:
            lines += ["", "Measured again (default settings and quick mode) after they changed: " +
                      ", ".join(f"{nb} ({when})" for nb, when in sorted(again.items())) + "."]
        lines += ["", "| notebook | default settings: seconds | default: kernel peak MB | "
                  f"fits Binder ({limit} MB) | quick mode: seconds | quick: kernel peak MB |",
                  "|---|---|---|---|---|---|"]
        for nb in sorted(set(quick) | set(full)):
            f, q = full.get(nb), quick.get(nb)
            fits = "n/a" if not f else ("yes" if f["status"] == "ok" and f["peak_mb"] < limit else "no")
            lines.append(f"| {nb} | {cell(f, 'seconds', '{:.1f}')} | {cell(f, 'peak_mb', '{:.0f}')} | "
                         f"{fits} | {cell(q, 'seconds', '{:.1f}')} | {cell(q, 'peak_mb', '{:.0f}')} |")
        d, c = res.get("defaults"), res.get("course")
        lines.append(f"| **total, one at a time** | {d['total_s']:.1f} | {d['peak_kernel_mb']:.0f} | | "
                     if d else "| **total, one at a time** | n/a | n/a | | ")
        lines[-1] += (f"{c['total_s']:.1f} | {c['peak_kernel_mb']:.0f} |" if c else "n/a | n/a |")
        par = (c or {}).get("parallel")
        if par:
            lines.append(f"| **quick mode, {par['jobs']} at a time** (`run --quick --jobs {par['jobs']}`, "
                         f"wall time) | | | | {par['wall_s']:.1f} ({par['status']}) | |")
    lines += ["", "Targets:", *[f"- {line}" for line in res["targets"]]]
    return "\n".join(lines) + "\n"


def main(out: Path, quick_only: bool = False, repeats: int = 3, defaults: bool = True) -> int:
    """Run every measurement, write bench.json and bench.md, print the table."""
    import tensorflow as tf

    from helpers.models import set_seed

    set_seed(0)  # the notebooks' setting: seeded, deterministic ops (which also keeps XLA off)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = {"date": time.strftime("%Y-%m-%d %H:%M"), "repeats": repeats,
           "machine": {"cpus": os.cpu_count(), "machine": platform.machine(),
                       "processor": platform.processor(), "python": platform.python_version(),
                       "tensorflow": tf.__version__}}
    steps = [("startup", bench_startup), ("cached", bench_cached),
             ("fine_tuning", bench_fine_tuning_cost), ("throughput", bench_throughput)]
    for name, fn in steps:
        print(f"measuring {name}...", flush=True)
        res[name] = fn(repeats)
    if not quick_only:
        if defaults:
            print("running every notebook at its default settings (about 15 minutes)...", flush=True)
            res["defaults"] = bench_defaults(out)
        print("running the whole course in quick mode...", flush=True)
        res["course"] = bench_course(out)
    write_bench(res, out)
    return 0
