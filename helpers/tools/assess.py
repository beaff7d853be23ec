"""``python -m helpers assess IMAGE_DIR``: notebook 08's analysis of a folder of your own images,
as a report.

The command runs what notebook 08 runs, with the same helpers (``helpers.own_images`` reads and
checks the folder, ``helpers.capstone`` measures): the folder's classes, counts and skipped
files; the backbone and what its weights mean; the transferability assessment (pretrained
features against the same network with random weights, paired over seeds); the learning curve
(accuracy against labels per class, every contender of notebook 06 beside transfer, through
``experiment.run_cell``); the fair comparison with paired intervals; the recommendation in words;
the images the chosen model gets most wrong; and the chosen model, exported with
``model.export``. Everything lands in ``--out`` (``build/assess`` by default): ``report.md``,
the plots, and ``model/``.

Bad input (a path that does not exist, an empty folder, one class, a flat folder, a class too
small for the smallest budget, a bad option) stops the command with exit code 2 and one line on
stderr that names the problem and the fix. The report is written in a temporary folder beside
``--out`` and renamed into place only when the run has succeeded, so a failed run leaves an
earlier report as it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from helpers import config, params

DEFAULT_BUDGETS = "1,5,20"
DEFAULT_SEEDS = 3
DEFAULT_OUT = config.BUILD_DIR / "assess"


class UsageError(ValueError):
    """A bad option or folder: the command prints it on one line and exits with code 2."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image_dir", metavar="IMAGE_DIR",
                   help="a folder with one subfolder of images per class")
    p.add_argument("--backbone", default="auto", choices=params.BACKBONES,
                   help="auto: the course's source CNN for small grayscale images, MobileNetV2 for "
                        "photos (default: auto)")
    p.add_argument("--budgets", default=DEFAULT_BUDGETS,
                   help=f"labels per class on the learning curve (default: {DEFAULT_BUDGETS})")
    p.add_argument("--seeds", default=str(DEFAULT_SEEDS),
                   help=f"few-shot samples per budget, paired across contenders (default: {DEFAULT_SEEDS})")
    p.add_argument("--steps", default=None,
                   help="optimisation steps per network (default: the course's rule, by sample size)")
    p.add_argument("--seed", default="0", help="fixes the splits and the first sample (default: 0)")
    p.add_argument("--jobs", type=int, default=1,
                   help="N > 1: fan the learning curve out on a local Dask cluster of N workers")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="fan the learning curve out on the Dask cluster at ADDRESS")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help=f"where the report goes (default: {DEFAULT_OUT.relative_to(config.ROOT)})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _int_option(name: str, text: str, low: int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        value = None
    if value is None or value < low:
        raise UsageError(f"{name} must be an integer >= {low}, not {text!r}")
    return value


def parse_budgets(text: str) -> list[int]:
    """``"1,5,20"`` -> ``[1, 5, 20]`` (sorted, each once); UsageError on anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    if not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise UsageError(f"--budgets must be labels per class as comma-separated integers >= 1, "
                         f"e.g. 1,5,20; not {text!r}")
    return sorted({int(p) for p in parts})


def check_options(args) -> dict:
    """The options, parsed and checked before anything slow starts."""
    if args.jobs < 1:
        raise UsageError(f"--jobs must be an integer >= 1, not {args.jobs}")
    if args.jobs > 1 and args.scheduler:
        raise UsageError("give --jobs (a local cluster) or --scheduler (a running one), not both")
    return {"budgets": parse_budgets(args.budgets),
            "seeds": _int_option("--seeds", args.seeds, 1),
            "seed": _int_option("--seed", args.seed, 0),
            "steps": None if args.steps is None else _int_option("--steps", args.steps, 10)}


# ---------------------------------------------------------------- the report's parts

def _table(rows: list[dict]) -> str:
    """A markdown table from dicts sharing their keys."""
    if not rows:
        return "(none)"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def _fmt_interval(p: dict) -> str:
    low, high = p["t"]
    return f"{p['difference']:+.3f} [{low:+.3f}, {high:+.3f}]"


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished report ``tmp`` to ``out``; an earlier ``out`` is removed only after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(args) -> int:
    """The command: 0 on success, 2 on bad input (one line on stderr), 1 if the run failed."""
    try:
        opts = check_options(args)
        from helpers import own_images

        try:
            report = own_images.scan_folder(args.image_dir)
        except own_images.FolderError as err:
            raise UsageError(str(err)) from None
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        text = run(report, tmp, backbone=args.backbone, jobs=args.jobs, scheduler=args.scheduler,
                   progress=not args.quiet, **opts)
    except UsageError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _replace_folder(tmp, out)
    print(text)
    print(f"wrote {out / 'report.md'}, its plots and the exported model {out / 'model'}")
    return 0


def smallest_budget_fits(task, budgets) -> None:
    """UsageError naming the class and the fix when a class has fewer training images than the
    smallest budget asks for (the larger budgets then use every training image: "all")."""
    import numpy as np

    counts = np.bincount(task.y_train, minlength=task.num_classes)
    small = [(task.class_names[i], int(n)) for i, n in enumerate(counts) if n < min(budgets)]
    if small:
        listed = ", ".join(f"{name!r} has {n}" for name, n in small)
        raise UsageError(f"the smallest budget, {min(budgets)} labels per class, is more than the "
                         f"training split holds ({listed} training images after the test and "
                         "validation images are set aside); fix: add images to that class, or "
                         f"choose smaller budgets (--budgets 1,{max(1, min(n for _, n in small))})")


def _curve_unit(image_dir: str, choice: dict, seed: int, budget: int, strategy: str, seeds,
                kwargs: dict) -> list:
    """One contender at one budget over its seeds, in a Dask worker: the folder is read again
    (the same splits, fixed by ``seed``) and the rows come back as ``capstone.learning_curve``'s."""
    from helpers import backbones, capstone, own_images

    report = own_images.scan_folder(image_dir)
    task = own_images.load_task(report, choice["image_size"], choice["channels"], seed=seed)
    backbone = backbones.named(choice["name"], choice["image_size"], choice["weights"])
    return capstone.learning_curve(task, [budget], list(seeds), (strategy,), backbone=backbone,
                                   progress=False, **kwargs)


def curve_rows(report, task, choice, backbone, budgets, seeds, seed: int, kwargs: dict,
               jobs: int = 1, scheduler: str | None = None, progress: bool = True) -> list:
    """The learning curve's rows: here, or fanned out on Dask (one job per budget and contender)."""
    from helpers import capstone, experiment

    seed_list = [seed + i for i in range(seeds)]
    if jobs <= 1 and not scheduler:
        return capstone.learning_curve(task, budgets, seed_list, backbone=backbone,
                                       progress=progress, **kwargs)
    from helpers.tools import runner

    units = [(b, s) for b in budgets for s in experiment.STRATEGIES]
    fields = {"name": choice.name, "image_size": choice.image_size, "channels": choice.channels,
              "weights": backbone.weights_label}
    n = len(units)
    saved = {k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    os.environ.update({k: v or "1" for k, v in saved.items()})   # one TensorFlow thread a worker
    try:
        parts = runner.map_on_dask(_curve_unit, [str(report.root)] * n, [fields] * n, [seed] * n,
                                   *zip(*units, strict=True), [seed_list] * n, [kwargs] * n,
                                   jobs=jobs, scheduler=scheduler, unit="job",
                                   desc="learning curve on Dask", progress=progress)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return [row for part in parts for row in sorted(part, key=lambda r: r["seed"])]


def run(report, out: Path, backbone: str = "auto", budgets=(1, 5, 20), seeds: int = DEFAULT_SEEDS,
        seed: int = 0, steps: int | None = None, jobs: int = 1, scheduler: str | None = None,
        progress: bool = True) -> str:
    """The analysis of one scanned folder, written into ``out``; returns the recommendation."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from helpers import backbones, capstone, experiment, final_model, own_images

    started = time.perf_counter()
    budgets = sorted(budgets)
    choice = own_images.choose_backbone(report, backbone)
    net = backbones.named(choice.name, choice.image_size, choice.weights)
    if net.weights == "imagenet":
        net = backbones.with_available_weights(net)
    task = own_images.load_task(report, choice.image_size, choice.channels, seed=seed)
    smallest_budget_fits(task, budgets)
    sizes = {"val_images": len(task.y_val), "test_images": len(task.y_test)}
    kwargs = dict(sizes, **({"steps": steps} if steps else {}))
    if progress:
        print(f"{len(report.class_names)} classes, train/validation/test "
              f"{len(task.y_train)}/{len(task.y_val)}/{len(task.y_test)}; backbone {net.name} "
              f"({net.weights_label} weights)", file=sys.stderr)

    # the transferability assessment: pretrained features against random weights, paired
    assess_budgets = [b for b in budgets if b <= int(np.bincount(task.y_train).min())] or budgets[:1]
    assessed = capstone.assessment(task, net, assess_budgets, range(seed, seed + max(seeds, 2)), **sizes)
    # the learning curve: every contender of notebook 06 at every budget, paired by seed
    rows = curve_rows(report, task, choice, net, budgets, seeds, seed, kwargs, jobs, scheduler, progress)
    compared = capstone.comparison(rows)
    advice = capstone.recommendation(rows, net.weights_label)
    needed = capstone.labels_needed(rows)
    strategy = final_model.chosen_strategy(compared[-1])
    fig = capstone.plot_learning_curve(rows)
    fig.savefig(out / "learning_curve.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    # the chosen contender trained once more, its worst mistakes, its export
    model, info = final_model.train_chosen(task, strategy, budgets[-1], seed, net,
                                           steps=steps, val_images=sizes["val_images"])
    mistakes = capstone.most_confused(lambda x: model.predict(x, verbose=0), task, k=8)
    fig = capstone.plot_most_confused(mistakes)
    fig.savefig(out / "most_confused.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)   # TensorFlow logs every file it writes
    model.export(out / "model", verbose=False)
    (out / "model" / "class_names.txt").write_text("\n".join(task.class_names) + "\n")

    summary = experiment.aggregate(rows)
    names = experiment.LABELS
    lines = [
        "# Does transfer pay on these images?", "",
        f"Made by `python -m helpers assess` in {time.perf_counter() - started:.0f} s: "
        f"budgets {', '.join(map(str, budgets))} labels per class, {seeds} seed(s) from {seed}"
        + (f", {steps} optimisation steps per network" if steps else "") + ".", "",
        "## The folder", "", "```", own_images.describe(report), "```", "",
        f"Splits (fixed by seed {seed}; the test images are read only for the final scores): "
        f"{len(task.y_train)} training, {len(task.y_val)} validation, {len(task.y_test)} test images.", "",
        "## The backbone", "", f"**{net.name}**, {net.weights_label} weights. {choice.note}", "",
    ]
    if net.weights_label == "random":
        lines += ["**Its weights are random here**: the 'pretrained' contenders start from random "
                  "weights too, so this report cannot show what pretraining would add.", ""]
    lines += ["## Transferability assessment", "",
              "Linear probes on the backbone's features against the same network with random "
              "weights, on the same samples; differences paired by seed.", "",
              _table([{"labels/class": p["per_class"], "pretrained": f"{p['mean_a']:.3f}",
                       "random weights": f"{p['mean_b']:.3f}",
                       "difference [95% t-interval]": _fmt_interval(p), "verdict": p["verdict"]}
                      for p in assessed]), "",
              capstone.format_assessment(assessed, net.weights_label), "",
              "## Learning curve", "",
              "Test accuracy, mean ± standard deviation over the seeds, every contender of "
              "notebook 06 on the same samples (the choices within each made on validation).", "",
              _table([{"labels/class": s["per_class"], "contender": names[s["strategy"]],
                       "test accuracy": f"{s['accuracy_mean']:.3f} ± {s.get('accuracy_sd', 0.0):.3f}",
                       "validation": f"{s['val_accuracy_mean']:.3f}", "seeds": s["seeds"]}
                      for s in summary]), "",
              "![learning curve](learning_curve.png)", "",
              f"Labels per class that reach {capstone.TARGET_FRACTION:.0%} of the best accuracy "
              f"seen (the contender validation ranks best at each budget): **{needed}**.", "",
              "## Fair comparison", "",
              "At each budget, the transfer strategy and the control that validation ranks best; "
              "their paired test difference with its 95% intervals; the verdict against every control.", "",
              _table([{"labels/class": c["per_class"], "best transfer": names[c["transfer"]],
                       "best control": names[c["control"]],
                       "difference [95% t-interval]": _fmt_interval(c["transfer_vs_control"]),
                       "bootstrap interval": "[{:+.3f}, {:+.3f}]".format(*c["transfer_vs_control"]["bootstrap"]),
                       "verdict": c["verdict"]} for c in compared]), "",
              "## Recommendation", "", advice, "",
              "## The chosen model", "",
              f"{names[strategy]}, trained on {budgets[-1]} labels per class (seed {seed}; "
              f"chosen on validation: {info.get('choice')}), exported with `model.export` to "
              "`model/` (a TensorFlow SavedModel; its class names, in output order, are in "
              "`model/class_names.txt`). It takes images with values in [0, 1] of shape "
              f"{tuple(task.x_train.shape[1:])}.", "",
              "The test images it gets most wrong (true → predicted, with its confidence):", "",
              "![most confused](most_confused.png)", ""]
    lines += [f"- {m['true']} → {m['predicted']} ({m['confidence']:.2f}): "
              f"`{os.path.relpath(task.meta['files']['test'][m['index']], report.root)}`"
              for m in mistakes] or ["- none: every test image is classified right"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return advice
