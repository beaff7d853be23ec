"""Notebook 06's grid as the teacher and CI run it (``python -m helpers grid``): parts, merges,
a Dask fan-out, and README's table of the committed grid. The learner's side,
``helpers.experiment``, stays free of all this."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from helpers import config, data, experiment, stats
from helpers.tools import runner

__all__ = ["GRID_COMMAND", "source_fingerprint", "protocol_parameters", "run_grid_on_dask", "merge", "cmd_grid",
           "markdown_table"]

GRID_COMMAND = "python -m helpers grid"
def source_fingerprint(path: Path = config.SOURCE_MODEL_PATH) -> str:
    """A short hash of the source model file the grid ran with."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def protocol_parameters() -> dict:
    """The settings that define the protocol and the source model, stored with every grid file."""
    return {"PROTOCOL": experiment.PROTOCOL, "SOURCE_MODEL": source_fingerprint(),
            "AUGMENTATIONS": list(experiment.AUGMENTATIONS),
            "OWN_SETTINGS": {s: {k: list(v) for k, v in own.items()}
                             for s, own in experiment.OWN_SETTINGS.items()},
            "AUG_COPIES": experiment.AUG_COPIES, "FIT_LEVEL": experiment.FIT_LEVEL,
            "PATIENCE": experiment.PATIENCE, "CHECK_EVERY": experiment.CHECK_EVERY,
            "MAX_STEPS": experiment.MAX_STEPS, "HEAD_LR": experiment.HEAD_LR,
            "ALPHA": experiment.ALPHA}


def _run_unit(task_name: str, budget, strategy: str, seeds, kwargs: dict) -> list:
    """One contender in one cell over its seeds, in a Dask worker: rows as ``run_grid`` makes them."""
    return experiment.run_grid([data.get_task(task_name)], [budget], list(seeds), (strategy,),
                               progress=False, **kwargs)


def run_grid_on_dask(task_names, budgets, seeds, strategies=experiment.STRATEGIES, jobs: int = 2,
                     scheduler: str | None = None, progress: bool = True, **kwargs) -> list:
    """``experiment.run_grid`` fanned out on Dask: one job per (target, budget, contender), on a
    local cluster of ``jobs`` worker processes (one thread each) or on the cluster at
    ``scheduler``. The rows are the same as ``run_grid``'s, in the same order."""
    units = [(t, b, s) for t in task_names for b in budgets for s in strategies]
    n = len(units)
    with runner.one_thread_per_worker():
        parts = runner.map_on_dask(_run_unit, *zip(*units, strict=True), [list(seeds)] * n,
                                   [kwargs] * n, jobs=jobs, scheduler=scheduler, unit="job",
                                   desc="grid on Dask", progress=progress)
    by_unit = dict(zip(units, parts, strict=True))
    return [row for t in task_names for b in budgets for s in strategies
            for row in sorted(by_unit[t, b, s], key=lambda r: r["seed"])]


def _seed_list(text: str) -> list[int] | None:
    """``"5"`` -> seeds 0..4; ``"5-9"`` -> seeds 5..9; None if neither."""
    try:
        if "-" in text:
            first, last = (int(v) for v in text.split("-"))
            return list(range(first, last + 1)) if 0 <= first <= last else None
        n = int(text)
        return list(range(n)) if n > 0 else None
    except ValueError:
        return None


def merge(paths, out: Path) -> int:
    """Merge grid files of disjoint parts (made under one protocol) into ``out``."""
    parts = [experiment.load_results(Path(p)) for p in paths]
    for key in protocol_parameters():   # the protocol, its settings and the source model
        if len({json.dumps(p["parameters"].get(key), sort_keys=True) for p in parts}) > 1:
            print(f"error: the parts were made with different {key}; re-run the older ones",
                  file=sys.stderr)
            return 2
    rows = [r for part in parts for r in part["rows"]]
    flat = [q for p in parts for q in (p["parameters"].get("parts") or [p["parameters"]])]
    params = dict(parts[0]["parameters"], parts=flat)
    for key in ("SEED_LIST", "STRATEGIES"):
        params.pop(key, None)
    params["TASKS"] = [t for t in experiment.TASKS if any(r["task"] == t for r in rows)]
    params["LABEL_BUDGETS"] = sorted({int(r["per_class"]) for r in rows})
    params["SEEDS"], params["EXTRA_SEEDS"] = experiment.seed_counts(rows)
    params["command"] = f"{GRID_COMMAND} (parts merged; see datasets/results/README.md)"
    keys = [(r["task"], str(r["per_class"]), r["strategy"], r["seed"]) for r in rows]
    if len(keys) != len(set(keys)):
        print("error: the parts overlap (a cell appears twice)", file=sys.stderr)
        return 2
    experiment.save_results(Path(out), rows, params)
    print(f"merged {len(parts)} parts, {len(rows)} runs -> {out}")
    return 0


def _parse(args):
    """(tasks, budgets, seeds, strategies) from the command line, or an error message."""
    tasks = [t.strip() for t in args.tasks.split(",")]
    bad = [t for t in tasks if t not in experiment.TASKS]
    if bad:
        return f"unknown task(s) {bad}; choose from {list(experiment.TASKS)}"
    try:
        budgets = [int(b) for b in args.budgets.split(",")]
    except ValueError:
        return f"--budgets must be integers, like 1,2,5,20,100; not {args.budgets!r}"
    seeds = _seed_list(args.seeds)
    if seeds is None:
        return f"--seeds must be a count N (seeds 0..N-1) or a range A-B; not {args.seeds!r}"
    strategies = [s.strip() for s in args.strategies.split(",")]
    bad = [s for s in strategies if s not in experiment.STRATEGIES]
    if bad:
        return f"unknown contender(s) {bad}; choose from {list(experiment.STRATEGIES)}"
    return tasks, budgets, seeds, strategies


def cmd_grid(args) -> int:
    """Notebook 06's full grid, or part of it (``--tasks``/``--budgets``/``--seeds``), into one
    JSON file; or ``--merge`` parts into one."""
    if args.merge:
        return merge(args.merge, Path(args.out))
    parsed = _parse(args)
    if isinstance(parsed, str):
        print(f"error: {parsed}", file=sys.stderr)
        return 2
    tasks, budgets, seeds, strategies = parsed
    params = {"TASKS": tasks, "LABEL_BUDGETS": budgets, "SEEDS": len(seeds), "SEED_LIST": seeds,
              "STRATEGIES": strategies, "BATCH_SIZE": 32, "TEST_IMAGES": 2000, "VAL_IMAGES": 500,
              **protocol_parameters(), "command": " ".join([GRID_COMMAND] + sys.argv[2:])}
    sizes = dict(batch_size=32, test_images=2000, val_images=500)
    if args.jobs > 1 or args.scheduler:
        rows = run_grid_on_dask(tasks, budgets, seeds, strategies, jobs=args.jobs,
                                scheduler=args.scheduler, **sizes)
    else:
        rows = experiment.run_grid([data.get_task(t) for t in tasks], budgets, seeds, strategies,
                                   **sizes)
    experiment.save_results(Path(args.out), rows, params)
    if experiment.has_every_contender(rows):
        print(experiment.format_verdicts(experiment.verdicts(rows)))
    else:
        print("some contenders only: verdicts come when this part is merged with the rest")
    print(f"wrote {args.out}")
    return 0


def _interval(p: dict) -> str:
    lo, hi = p["bootstrap"]
    return f"{p['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _verdict_cell(v: dict) -> str:
    """The last column: the comparison, the verdict in the cell, and across the grid."""
    if v["under_fit"]:
        return ("no verdict: " + ", ".join(experiment.LABELS[s] for s in v["under_fit"])
                + " under-fitted")
    p = v["transfer_vs_control"]
    text = (f"{experiment.LABELS[v['transfer']]} − {experiment.LABELS[v['control']]}: {_interval(p)}; "
            f"in the cell: {v['verdict_per_cell']}")
    if v["verdict_per_cell"] != "can't tell":
        text += (f", p = {v['p_value']:.3f}; Benjamini–Hochberg: "
                 f"{'holds' if v['survives_bh'] else 'does not hold'}")
    return text + f"; **{v['verdict']}**"


def markdown_table(grid: dict) -> str:
    """README's table of a grid file: accuracy per contender, the paired verdicts, the sizes."""
    rows = grid["rows"]
    summary = experiment.aggregate(rows)
    head = ["target", "labels/class", *(experiment.LABELS[s] for s in experiment.STRATEGIES),
            "pretrained FE − random FE", "fine-tuning − scratch",
            "best transfer − best control (both chosen on validation); verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    shared_summary = experiment.aggregate(experiment.on_shared_seeds(rows))
    verdict_rows = experiment.verdicts(rows)
    for v in verdict_rows:
        task, budget = v["task"], v["per_class"]
        best = max((experiment.cell(shared_summary, task, budget, s) for s in experiment.STRATEGIES),
                   key=lambda s: s["accuracy_mean"])["strategy"]
        cells = []
        for strategy in experiment.STRATEGIES:
            s = experiment.cell(summary, task, budget, strategy)
            text = f"{s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f}"
            cells.append(f"**{text}**" if strategy == best else text)
        lines.append(f"| {task} | {budget} | " + " | ".join(cells)
                     + f" | {_interval(v['feature_extraction_vs_random_features'])}"
                     + f" | {_interval(v['fine_tuning_vs_scratch'])} | {_verdict_cell(v)} |")
    return "\n".join(lines + ["", _notes(grid, summary, verdict_rows)])


def _notes(grid: dict, summary, verdict_rows) -> str:
    """The paragraph under the table: sizes, seeds, the protocol, how to read the verdicts."""
    rows = grid["rows"]
    sizes = [f"{task} ({experiment.TASK_LABELS[task]}): {s[0]['test_images']:,} test and "
             f"{s[0]['val_images']:,} validation images"
             for task in experiment.TASKS if (s := [x for x in summary if x["task"] == task])]
    common, extra = experiment.seed_counts(rows)
    seeds_text = f"{common} seeds"
    if extra:
        most = max(len(v) for by_cell in extra.values() for v in by_cell.values())
        seeds_text += (f" ({common + most} for the cheap contenders where they ran more; "
                       "comparisons pair the seeds both contenders ran)")
    whole = "".join(
        f" {task} {budget}: a class has fewer than {budget} training images, so every seed trains on "
        f"the whole training split ({n:,} images); its seeds vary only the training randomness."
        for (task, budget), n in experiment.whole_split_cells(rows).items())
    judged = sum(1 for v in verdict_rows if not v["under_fit"])
    edges = experiment.edge_choices(rows)
    edge_text = ("" if not any(e for e, _ in edges.values()) else " Settings chosen at an end of their list (a sign the list "
                 "could be wider): " + "; ".join(f"{experiment.LABELS[s]} {e} of {n}"
                                                 for s, (e, n) in edges.items() if e) + ".")
    protocol = grid["parameters"].get("PROTOCOL")
    how = (f"Protocol: {protocol}." if protocol else
           "Protocol of this file: one augmentation for every contender and a fixed step budget "
           "for the networks, learning rates chosen on the first seed (it predates the current "
           "tuning rule).")
    return (f"Test accuracy, mean ± sample standard deviation over {seeds_text} (each seed draws "
            f"its own few-shot sample, the same for every contender). {'; '.join(sizes)}.{whole} "
            f"{how}{edge_text} Differences are paired by seed, with the 95% bootstrap interval in brackets "
            f"(exact up to {stats.EXACT_UP_TO} seeds). In the cell: \"ahead\" when the best transfer "
            "strategy is ahead of every control (both the bootstrap and the t-interval above zero "
            "for each), \"behind\" when any control is ahead of it, \"can't tell\" otherwise; p is "
            "the paired t-test's for that claim. Bold: the verdict kept after Holm's correction "
            f"across the {judged} cells judged (family-wise 5%: fifteen 95% verdicts would each "
            "mislead one time in twenty); Benjamini–Hochberg's (false-discovery rate 5%) is shown "
            "beside it. Bold accuracy: highest mean of the row over the seeds every contender ran. "
            "Made with `python -m helpers grid` (datasets/results/README.md).")
