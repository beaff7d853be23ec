"""Notebook 06's reading of the grid: summaries over seeds, paired comparisons, verdicts.

A cell (target × labels per class) gets a verdict only if no network in it under-fitted its
sample (``training``: cut off while still learning it). Its verdict compares the transfer strategy validation ranks best with
**every** control, seed by seed on test: "ahead" needs both 95% intervals above zero against each
control. Many cells are judged at once, so each verdict is also tested across the whole grid:
Holm's correction keeps the chance of even one false "ahead" or "behind" in the grid under 5%
(that is the verdict in bold); Benjamini–Hochberg's keeps the expected share of false ones
under 5% (printed beside it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import stats as st

from helpers import stats
from helpers.atomic import atomic_write_text
from helpers.experiment.cells import (
    CONTROL_OF,
    CONTROLS,
    NETWORKS,
    TASKS,
    TRANSFER,
    has_every_contender,
)
from helpers.experiment.menus import on_edge
from helpers.experiment.training import FIT_LEVEL

__all__ = ["ALPHA", "fitted", "budget_key", "edge_choices", "cells_of", "scores", "seed_counts", "whole_split_cells", "on_shared_seeds",
           "budget_value", "aggregate", "cell", "best_on_validation", "compare", "p_value",
           "verdict_against_every_control", "claim_p_value", "under_fit", "verdicts", "save_results"]

ALPHA = 0.05   # across the grid: Holm's family-wise level, and Benjamini-Hochberg's false-discovery rate


def fitted(row) -> bool:
    """Did this run learn its sample (``training``'s rule: not cut off while still learning)?
    Rows made before the rule recorded it: the networks trained end to end (scratch,
    fine-tuning) are judged by their final training accuracy against the same ``FIT_LEVEL``."""
    if "under_fit" in row:
        return not row["under_fit"]
    if row["strategy"] in ("scratch", "fine_tuning"):
        return row.get("train_accuracy", 1.0) >= FIT_LEVEL
    return True


def budget_key(b):
    """Sort key for labels per class: numbers in order, "all" last."""
    return float("inf") if str(b) == "all" else float(b)


def budget_value(budget):
    """Labels per class as the rows store it: an int (``5``), or ``"all"``."""
    text = str(budget)
    return int(text) if text.isdigit() else text


def cells_of(rows) -> list[tuple[str, str]]:
    """The (task, labels per class) cells present in ``rows``, targets in course order."""
    keys = {(r["task"], str(r["per_class"])) for r in rows}
    order = {t: i for i, t in enumerate(TASKS)}
    return sorted(keys, key=lambda k: (order.get(k[0], 99), budget_key(k[1])))


def scores(rows, task: str, budget, strategy: str, key: str = "accuracy") -> dict:
    """{seed: score} of one contender in one cell."""
    return {r["seed"]: r[key] for r in rows if r["task"] == task
            and str(r["per_class"]) == str(budget) and r["strategy"] == strategy}


def _seeds_by_cell(rows) -> tuple[dict, dict]:
    """({cell: {contender: its seeds}}, {cell: the seeds every contender of the cell ran})."""
    seeds: dict = {}
    for r in rows:
        seeds.setdefault((r["task"], str(r["per_class"])), {}).setdefault(r["strategy"], set()).add(r["seed"])
    return seeds, {cell: set.intersection(*by.values()) for cell, by in seeds.items()}


def seed_counts(rows) -> tuple[int, dict]:
    """(how many seeds every contender ran in every cell, {cheap contender: {cell: its extra
    seeds}}): "extra" means beyond the seeds every contender of that cell ran."""
    seeds, shared = _seeds_by_cell(rows)
    extra: dict = {}
    for (task, budget), by in sorted(seeds.items()):
        for strategy, s in sorted(by.items()):
            more = sorted(s - shared[task, budget])
            if more:
                extra.setdefault(strategy, {})[f"{task} {budget}"] = more
    return min(len(s) for s in shared.values()), extra


def whole_split_cells(rows) -> dict:
    """{(task, budget): training images} for cells whose budget exceeds a class's training images:
    there ``run_cell`` trains on the whole split, the same sample for every seed."""
    out = {}
    for task, budget in cells_of(rows):
        cell_rows = [r for r in rows if r["task"] == task and str(r["per_class"]) == budget]
        if len({r["seed"] for r in cell_rows}) > 1 and len({r["sample"] for r in cell_rows}) == 1:
            out[task, budget] = int(cell_rows[0]["train_images"])
    return out


def on_shared_seeds(rows) -> list:
    """Only the runs whose seed every contender of that cell ran: the same samples for all."""
    shared = _seeds_by_cell(rows)[1]
    return [r for r in rows if r["seed"] in shared[r["task"], str(r["per_class"])]]


def aggregate(rows) -> list[dict]:
    """Mean and sample standard deviation over seeds for each (task, budget, strategy).

    ``per_class`` keeps the rows' type (an int such as ``5``, or ``"all"``), so that
    ``s["per_class"] == 5`` finds the cell."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["task"], str(r["per_class"]), r["strategy"]), []).append(r)
    out = []
    for (task, budget, strategy), rs in groups.items():
        acc = [r["accuracy"] for r in rs]
        out.append({"task": task, "per_class": budget_value(budget), "strategy": strategy,
                    "seeds": len(rs),
                    "accuracy_mean": float(np.mean(acc)), "accuracy_sd": stats.sample_sd(acc),
                    "val_accuracy_mean": float(np.mean([r["val_accuracy"] for r in rs])),
                    "macro_f1_mean": float(np.mean([r["macro_f1"] for r in rs])),
                    "train_accuracy_mean": float(np.mean([r["train_accuracy"] for r in rs])),
                    "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
                    "steps_mean": float(np.mean([r.get("steps", 0) for r in rs])),
                    "fitted": sum(fitted(r) for r in rs),
                    "test_images": int(rs[0].get("test_images", 0)),
                    "val_images": int(rs[0].get("val_images", 0)),
                    "choices": sorted({str(r.get("choice", "")) for r in rs}),
                    "trainable_params": rs[0]["trainable_params"]})
    return out


def cell(summary, task: str, budget, strategy: str) -> dict:
    """One summary entry by (task, labels per class, strategy)."""
    for s in summary:
        if s["task"] == task and str(s["per_class"]) == str(budget) and s["strategy"] == strategy:
            return s
    raise KeyError(f"no results for {task}, {budget} labels/class, {strategy}")


def best_on_validation(summary, task: str, budget, among, rows=None) -> str:
    """The contender of ``among`` with the highest mean *validation* accuracy in one cell.

    With ``rows``, the means are taken over the seeds every candidate ran, so a cheap contender
    with extra seeds (``CHEAP``) is ranked on the same samples as the others.
    """
    among = tuple(among)
    cells = [s for s in summary if s["task"] == task and str(s["per_class"]) == str(budget)
             and s["strategy"] in among]
    if not cells:
        raise KeyError(f"no results for {task}, {budget} labels/class among {among}")
    if rows is None:
        return max(cells, key=lambda s: s["val_accuracy_mean"])["strategy"]
    val = {s["strategy"]: scores(rows, task, budget, s["strategy"], "val_accuracy") for s in cells}
    shared = set.intersection(*(set(v) for v in val.values()))
    if not shared:
        raise KeyError(f"{sorted(val)} share no seed in {task}, {budget} labels/class")
    return max(val, key=lambda k: (np.mean([val[k][seed] for seed in shared]), -among.index(k)))


def p_value(p: dict) -> float:
    """Two-sided p-value of a paired t-test, from ``stats.paired``'s result."""
    n, d, sd = p["n"], p["difference"], p["sd"]
    if n < 2:
        return 1.0
    if sd == 0:
        return 0.0 if d != 0 else 1.0
    return float(2 * st.t.sf(abs(d) / (sd / np.sqrt(n)), n - 1))


def compare(rows, task: str, budget, a: str, b: str) -> dict:
    """Paired comparison of ``a`` against ``b`` on the seeds both ran (test accuracy), with
    the paired t-test's two-sided ``p``."""
    sa, sb = scores(rows, task, budget, a), scores(rows, task, budget, b)
    seeds = sorted(set(sa) & set(sb))
    if not seeds:
        raise KeyError(f"{a} and {b} share no seed in {task}, {budget} labels/class")
    p = stats.paired([sa[s] for s in seeds], [sb[s] for s in seeds])
    return dict(p, p=p_value(p))


def verdict_against_every_control(comparisons: dict) -> str:
    """"ahead" when transfer is ahead of every control, "behind" when any control is ahead of
    it, else "can't tell" (``comparisons``: control → ``compare``'s result)."""
    found = [p["verdict"] for p in comparisons.values()]
    return "ahead" if all(v == "ahead" for v in found) else \
        "behind" if "behind" in found else "can't tell"


def claim_p_value(each: dict, verdict: str) -> float:
    """The p-value of a cell's claim: "ahead" of every control needs every test (the largest p);
    "behind" some control needs one of them (the smallest p, times the number of controls)."""
    if verdict == "ahead":
        return max(p["p"] for p in each.values())
    if verdict == "behind":
        return min(1.0, len(each) * min(p["p"] for p in each.values() if p["verdict"] == "behind"))
    return 1.0


def edge_choices(rows) -> dict:
    """{contender: (runs whose numeric setting was chosen at an end of its list, runs)}: many
    choices at an edge say the list should have been wider there."""
    out: dict = {}
    for r in rows:
        if "setting" in r:
            edge, n = out.get(r["strategy"], (0, 0))
            out[r["strategy"]] = (edge + bool(on_edge(r["setting"], r["strategy"])), n + 1)
    return out


def under_fit(rows, task: str, budget) -> list[str]:
    """The networks of a cell with a run that under-fitted its sample (see :func:`fitted`)."""
    return sorted({r["strategy"] for r in rows if r["task"] == task and str(r["per_class"]) == str(budget)
                   and r["strategy"] in NETWORKS and not fitted(r)})


def verdicts(rows, alpha: float = ALPHA) -> list[dict]:
    """Per cell: does the transfer strategy validation ranks best beat every control?

    ``verdict_per_cell``: at 95% in that cell alone. ``verdict``: the same claim kept only if it
    survives Holm's correction over every cell judged (``survives_holm``; ``survives_bh`` says
    the same for Benjamini-Hochberg). A cell where a network under-fits gets ``verdict``
    "under-fit" and no test. Also each transfer strategy against its own twin."""
    summary = aggregate(rows)
    out = []
    for task, budget in cells_of(rows):
        best_t = best_on_validation(summary, task, budget, TRANSFER, rows)
        each = {c: compare(rows, task, budget, best_t, c) for c in CONTROLS}
        per_cell = verdict_against_every_control(each)
        best_c = best_on_validation(summary, task, budget, CONTROLS, rows)
        entry = {"task": task, "per_class": budget_value(budget), "transfer": best_t, "control": best_c,
                 "verdict_per_cell": per_cell, "under_fit": under_fit(rows, task, budget),
                 "p_value": claim_p_value(each, per_cell), "transfer_vs_control": each[best_c],
                 "transfer_vs_each": each}
        for strategy, control in CONTROL_OF.items():
            entry[f"{strategy}_vs_{control}"] = compare(rows, task, budget, strategy, control)
        out.append(entry)
    judged = [v for v in out if not v["under_fit"]]
    kept_holm = stats.holm([v["p_value"] for v in judged], alpha)
    kept_bh = stats.benjamini_hochberg([v["p_value"] for v in judged], alpha)
    for v, h, b in zip(judged, kept_holm, kept_bh, strict=True):
        claim = v["verdict_per_cell"] != "can't tell"
        v["survives_holm"], v["survives_bh"] = bool(claim and h), bool(claim and b)
        v["verdict"] = v["verdict_per_cell"] if v["survives_holm"] else "can't tell"
    for v in out:
        if v["under_fit"]:
            v.update(verdict="under-fit", survives_holm=False, survives_bh=False)
        v["cells_judged"] = len(judged)
    return out


def save_results(path: Path, rows, parameters: dict) -> None:
    """Write the raw rows, the summary and the verdicts as JSON (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A part that runs some contenders only has no verdicts of its own: they are computed once
    # the parts are merged.
    judged = verdicts(rows) if has_every_contender(rows) else []
    atomic_write_text(path, json.dumps({"parameters": parameters, "rows": rows,
                                        "summary": aggregate(rows), "verdicts": judged},
                                       indent=1))
