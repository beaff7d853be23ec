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
the plots, the learning curve's rows in ``results.json`` (as notebook 06 keeps rows), and
``model/``.

``--out`` is only ever replaced when it is missing, empty, or an earlier report of this command
(every report folder carries the marker file ``.tlw-assess-report``): any other folder, and one
that is IMAGE_DIR, inside it or holds it, is refused with exit code 2, so it cannot delete photos.

Bad input (a path that does not exist, an empty folder, one class, a flat folder, a class too
small for the smallest budget, a bad option) stops the command with exit code 2 and one line on
stderr that names the problem and the fix. The report is written in a temporary folder beside
``--out`` and renamed into place only when the run has succeeded, so a failed run leaves an
earlier report as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
MARKER = ".tlw-assess-report"     # in every report folder: only such a folder is ever replaced


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
    p.add_argument("--max-steps", default=None, dest="max_steps",
                   help="most optimisation steps per network run (default: the course's rule, "
                        "until the sample is fitted and validation stops improving)")
    p.add_argument("--seed", default="0", help="fixes the splits and the first sample (default: 0)")
    p.add_argument("--jobs", type=int, default=1,
                   help="N > 1: fan the learning curve out on a local Dask cluster of N workers")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="fan the learning curve out on the Dask cluster at ADDRESS")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="where the report goes: a new or empty folder, or an earlier report of this "
                        "command, which is replaced (default: build/assess in the current folder)")
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
            "max_steps": None if args.max_steps is None else _int_option("--max-steps", args.max_steps, 10)}


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


def check_out(out: Path, image_dir) -> None:
    """UsageError unless ``out`` may receive the report: missing, an empty folder, or an earlier
    report (it carries ``MARKER``); never IMAGE_DIR, a folder inside it, or one that holds it."""
    images = Path(image_dir).expanduser().resolve()
    fix = "fix: give --out a new folder, outside the images"
    if out == images or out.is_relative_to(images) or images.is_relative_to(out):
        where = ("is IMAGE_DIR" if out == images else "is inside IMAGE_DIR"
                 if out.is_relative_to(images) else "holds IMAGE_DIR")
        raise UsageError(f"--out {out} {where}; the report replaces its folder, so that would "
                         f"delete images; {fix}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; {fix}")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(f"--out {out} is a folder that is not empty and not an earlier report (it "
                         f"has no {MARKER} file), and the report would replace it; {fix}")


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished report ``tmp`` to ``out``; an earlier ``out`` (an empty folder or a
    report, as ``check_out`` made sure) is removed only after."""
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
    out = Path(args.out).expanduser().resolve()
    try:
        opts = check_options(args)
        check_out(out, args.image_dir)
        from helpers import own_images

        try:
            report = own_images.scan_folder(args.image_dir)
        except own_images.FolderError as err:
            raise UsageError(str(err)) from None
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        tmp.chmod(0o777 & ~_umask())        # mkdtemp makes it 0700: a report is not a secret
        (tmp / MARKER).write_text("written by `python -m helpers assess`: this folder is replaced "
                                  "by the next report sent to it\n")
        text = run(report, tmp, backbone=args.backbone, jobs=args.jobs, scheduler=args.scheduler,
                   progress=not args.quiet, **opts)
    except UsageError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        check_out(out, args.image_dir)       # again: it may have changed during the run
    except UsageError as err:
        print(f"error: {err} (the report is left in {tmp})", file=sys.stderr)
        return 2
    _replace_folder(tmp, out)
    print(text)
    print(f"wrote {out / 'report.md'}, its plots, results.json and the exported model {out / 'model'}")
    return 0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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


def with_weights_note(net, note: str):
    """``(backbone, what to say about its weights)``: ImageNet weights fetched now if needed; when
    that fails, the random-weights fallback and its own message (printed on stderr), never
    ``choose_backbone``'s note that the weights were available."""
    from helpers import backbones

    if net.weights != "imagenet":
        return net, note
    said = io.StringIO()
    with contextlib.redirect_stdout(said):       # what the fallback says, if the download fails
        net = backbones.with_available_weights(net)
    if net.weights_label != "random":
        return net, note
    note = said.getvalue().strip().removeprefix("Note: ") or (
        f"{net.name} has RANDOM weights here: its ImageNet weights could not be had.")
    print(f"Note: {note}", file=sys.stderr)
    return net, note


def _assessment(capstone, task, net, budgets, seeds, progress: bool, **sizes) -> list:
    """``capstone.assessment``, its progress bar off when ``progress`` is False (passed through
    where it takes ``progress``; else its bar on stderr is swallowed)."""
    import inspect

    if progress:
        return capstone.assessment(task, net, budgets, seeds, **sizes)
    if "progress" in inspect.signature(capstone.assessment).parameters:
        return capstone.assessment(task, net, budgets, seeds, progress=False, **sizes)
    with contextlib.redirect_stderr(io.StringIO()):
        return capstone.assessment(task, net, budgets, seeds, **sizes)


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
    with runner.one_thread_per_worker():
        parts = runner.map_on_dask(_curve_unit, [str(Path(report.root).resolve())] * n,
                                   [fields] * n, [seed] * n, *zip(*units, strict=True),
                                   [seed_list] * n, [kwargs] * n, jobs=jobs, scheduler=scheduler,
                                   unit="job", desc="learning curve on Dask", progress=progress)
    return [row for part in parts for row in sorted(part, key=lambda r: r["seed"])]


def run(report, out: Path, backbone: str = "auto", budgets=(1, 5, 20), seeds: int = DEFAULT_SEEDS,
        seed: int = 0, max_steps: int | None = None, jobs: int = 1, scheduler: str | None = None,
        progress: bool = True) -> str:
    """The analysis of one scanned folder, written into ``out``; returns the recommendation."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from helpers import backbones, capstone, experiment, final_model, own_images

    started = time.perf_counter()
    budgets = sorted(budgets)
    choice = own_images.choose_backbone(report, backbone)
    net = backbones.named(choice.name, choice.image_size, choice.weights)
    net, note = with_weights_note(net, choice.note)
    task = own_images.load_task(report, choice.image_size, choice.channels, seed=seed)
    smallest_budget_fits(task, budgets)
    budgets, budget_note = capstone.usable_budgets(task, budgets)   # as notebook 08 does
    if budget_note:
        print(f"Note: {budget_note}", file=sys.stderr)
    sizes = {"val_images": len(task.y_val), "test_images": len(task.y_test)}
    kwargs = dict(sizes, **({"max_steps": max_steps} if max_steps else {}))
    if progress:
        print(f"{len(report.class_names)} classes, train/validation/test "
              f"{len(task.y_train)}/{len(task.y_val)}/{len(task.y_test)}; backbone {net.name} "
              f"({net.weights_label} weights)", file=sys.stderr)

    # the transferability assessment: pretrained features against random weights, paired
    assess_budgets = [b for b in budgets if b <= int(np.bincount(task.y_train).min())] or budgets[:1]
    assessed = _assessment(capstone, task, net, assess_budgets, range(seed, seed + max(seeds, 2)),
                           progress, **sizes)
    # the learning curve: every contender of notebook 06 at every budget, paired by seed
    rows = curve_rows(report, task, choice, net, budgets, seeds, seed, kwargs, jobs, scheduler, progress)
    compared = capstone.comparison(rows)
    strategy = final_model.chosen_strategy(compared[-1], rows, net.weights_label)   # the recommended one
    _save_figure(capstone.plot_learning_curve(rows, weights=net.weights_label), out / "learning_curve.png")
    info, mistakes = _train_and_export(task, strategy, budgets[-1], seed, net, max_steps, sizes, out)
    summary = experiment.aggregate(rows)
    _save_results(out / "results.json", report, net, budgets, seeds, seed, max_steps, rows,
                  summary, compared)
    facts = dict(summary=summary, budgets=budgets, budget_note=budget_note, seeds=seeds, seed=seed,
                 max_steps=max_steps, note=note, assessed=assessed, rows=rows, compared=compared,
                 strategy=strategy, info=info, mistakes=mistakes,
                 advice=capstone.recommendation(rows, net.weights_label, task=task),
                 needed=capstone.labels_needed(rows))
    facts["seconds"] = time.perf_counter() - started
    (out / "report.md").write_text("\n".join(_report_lines(report, task, net, facts)) + "\n")
    return facts["advice"]


def _save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _train_and_export(task, strategy: str, budget: int, seed: int, net, max_steps, sizes: dict,
                      out: Path):
    """The chosen contender trained once more at the largest budget, its worst mistakes
    plotted, the model exported to ``out/model``. Returns (its info, the mistakes)."""
    import logging

    from helpers import capstone, final_model

    model, info = final_model.train_chosen(task, strategy, budget, seed, net, max_steps=max_steps,
                                           val_images=sizes["val_images"],
                                           test_images=sizes["test_images"])
    mistakes = capstone.most_confused(lambda x: model.predict(x, verbose=0), task, k=8)
    _save_figure(capstone.plot_most_confused(mistakes), out / "most_confused.png")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)   # TensorFlow logs every file it writes
    model.export(out / "model", verbose=False)
    (out / "model" / "class_names.txt").write_text("\n".join(task.class_names) + "\n")
    return info, mistakes


def _save_results(path: Path, report, net, budgets, seeds: int, seed: int, max_steps, rows,
                  summary, compared) -> None:
    """The rows as notebook 06 keeps them, beside this report's own comparison (its verdicts
    are the capstone's: none from too few seeds, none on pretraining with random weights)."""
    import json

    from helpers import capstone, experiment
    from helpers.atomic import atomic_write_text

    atomic_write_text(path, json.dumps({
        "parameters": {"image_dir": str(Path(report.root).resolve()), "backbone": net.name,
                       "weights": net.weights_label, "budgets": budgets, "seeds": seeds,
                       "seed": seed, "max_steps": max_steps or experiment.MAX_STEPS,
                       "menus": capstone.CURVE_MENUS, "augmentations": capstone.CURVE_AUGMENTATIONS},
        "rows": rows, "summary": summary, "comparison": compared}, indent=1))


def _report_lines(report, task, net, facts: dict) -> list[str]:
    """report.md, line by line. It is long because it is the report's text, section by section
    in reading order, with each number where a reader meets it."""
    from helpers import capstone, own_images

    f = facts
    budgets, seeds, seed, max_steps = f["budgets"], f["seeds"], f["seed"], f["max_steps"]
    assessed, compared, strategy, info = f["assessed"], f["compared"], f["strategy"], f["info"]
    note, budget_note, advice, needed = f["note"], f["budget_note"], f["advice"], f["needed"]
    summary = f["summary"]
    names = capstone.display_labels(net.weights_label)
    lines = [
        "# Does transfer pay on these images?", "",
        f"Made by `python -m helpers assess` in {f['seconds']:.0f} s: "
        f"budgets {', '.join(map(str, budgets))} labels per class, {seeds} seed(s) from {seed}"
        + (f", at most {max_steps} optimisation steps per network run" if max_steps else "") + ".", "",
        "## The folder", "", "```", own_images.describe(report), "```", "",
        f"Splits (fixed by seed {seed}; the test images are read only for the final scores): "
        f"{len(task.y_train)} training, {len(task.y_val)} validation, {len(task.y_test)} test images.", "",
        "Every choice in this report (a layer, a learning rate, the best transfer strategy and "
        "control at each budget, the contender recommended and exported, the labels needed) reads "
        "validation accuracy only. Numbers marked *test* are read from the test images, once, to "
        "report; they choose nothing.", "",
        *([f"Budgets: {budget_note}", ""] if budget_note else []),
        "## The backbone", "", f"**{net.name}**, {net.weights_label} weights. {note}", "",
    ]
    if net.weights_label == "random":
        lines += ["**Its weights are random here**: the 'pretrained' contenders start from random "
                  "weights too, so this report cannot show what pretraining would add.", ""]
    lines += ["## Transferability assessment", "",
              "Linear probes on the backbone's features against the same network with random "
              "weights, on the same samples (layer and C chosen on validation); *test* "
              "accuracies, differences paired by seed.", "",
              _table([{"labels/class": p["per_class"], "pretrained (test)": f"{p['mean_a']:.3f}",
                       "random weights (test)": f"{p['mean_b']:.3f}",
                       "test difference [95% t-interval]": _fmt_interval(p), "verdict": p["verdict"]}
                      for p in assessed]), "",
              capstone.format_assessment(assessed, net.weights_label, task=task), "",
              "## Learning curve", "",
              "Test accuracy, mean ± standard deviation over the seeds, every contender of "
              "notebook 06 on the same samples (the choices within each made on validation). "
              "Each learning-curve run's row (the settings tried and chosen, steps, validation "
              "and test accuracy) is in `results.json`, as notebook 06's rows are kept.", "",
              _table([{"labels/class": s["per_class"], "contender": names[s["strategy"]],
                       "test accuracy": f"{s['accuracy_mean']:.3f} ± {s.get('accuracy_sd', 0.0):.3f}",
                       "validation accuracy": f"{s['val_accuracy_mean']:.3f}", "seeds": s["seeds"]}
                      for s in summary]), "",
              "![learning curve](learning_curve.png)", "",
              f"Labels per class that reach {capstone.TARGET_FRACTION:.0%} of the best accuracy "
              f"seen (`capstone.labels_needed`, the contender validation ranks best at each "
              f"budget): **{needed}**.", "",
              "## Fair comparison", "",
              "At each budget, the transfer strategy and the control that validation ranks best; "
              "their paired test difference with its 95% intervals; the verdict against every control.", "",
              _table([{"labels/class": c["per_class"], "best transfer": names[c["transfer"]],
                       "best control": names[c["control"]],
                       "test difference [95% t-interval]": _fmt_interval(c["transfer_vs_control"]),
                       "bootstrap interval": "[{:+.3f}, {:+.3f}]".format(*c["transfer_vs_control"]["bootstrap"]),
                       "verdict": c["verdict"]} for c in compared]), "",
              "## Recommendation", "", advice, "",
              "## The chosen model", "",
              f"{names[strategy]}, the contender the recommendation names (every choice between "
              f"contenders made on mean validation accuracy). Trained on {budgets[-1]} labels per "
              f"class (seed {seed}; chosen on validation: "
              f"{info.get('choice')}; validation accuracy {info['val_accuracy']:.3f}, *test* "
              f"accuracy {info['row']['accuracy']:.3f} on {info['row']['test_images']} images: "
              "this very model's, measured by `experiment.run_cell`), exported with `model.export` to "
              "`model/` (a TensorFlow SavedModel; its class names, in output order, are in "
              "`model/class_names.txt`). It takes images with values in [0, 1] of shape "
              f"{tuple(task.x_train.shape[1:])}.", "",
              "The test images it gets most wrong (true → predicted, with its confidence):", "",
              "![most confused](most_confused.png)", ""]
    lines += [f"- {m['true']} → {m['predicted']} ({m['confidence']:.2f}): "
              f"`{os.path.relpath(task.meta['files']['test'][m['index']], report.root)}`"
              for m in f["mistakes"]] or ["- none: every test image is classified right"]
    return lines
