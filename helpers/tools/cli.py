"""The course's command line, ``python -m helpers COMMAND``; see ``--help`` for the commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpers import config


def _cmd_doctor(args) -> int:
    from helpers.tools.doctor import doctor

    return doctor()


def _cmd_data(args) -> int:
    from helpers import data

    try:
        print("Looking for Fashion-MNIST:")
        folder = data.locate_fashion_mnist(args.data_dir, report=True,
                                           allow_download=not args.no_download)
    except data.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"Fashion-MNIST ready in {folder}")
    for task in (data.source_task(folder), data.near_task(folder), data.far_task()):
        print(f"  {task}")
    return 0


def _cmd_pretrain(args) -> int:
    from helpers.tools import pretrain

    before = Path(args.before) if args.before else None
    if before is not None and not before.with_suffix(".json").is_file():
        print(f"error: --before needs the model's card beside it: {before.with_suffix('.json')}",
              file=sys.stderr)
        return 1
    if args.assess_only:
        card = pretrain.assess_and_save(before=before, seeds=args.assess_seeds)
    else:
        epochs = args.epochs if args.epochs is not None else pretrain.PRETRAIN_EPOCHS
        _, card = pretrain.pretrain_source_model(epochs=epochs, seed=args.seed, verbose=2,
                                                 assess=not args.no_assess, before=before,
                                                 assess_seeds=args.assess_seeds)
        print(f"saved; clothing test accuracy {card['source_test_accuracy']:.4f}, glyphs held out "
              f"{card['glyph_held_out_accuracy']:.4f}")
    for split in ("validation", "test"):
        for task, by_budget in card.get(f"transferability_on_{split}", {}).items():
            for budget, p in by_budget.items():
                print(f"  {split:>10} {task:>5} {budget}/class: pretrained - random features "
                      f"{p['difference']:+.3f} [{p['bootstrap'][0]:+.3f}, {p['bootstrap'][1]:+.3f}] "
                      f"p={p['p']:.3g} {p['verdict']}, Holm {p['survives_holm']}, "
                      f"BH {p['survives_bh']}")
    if "transferability_on_test" in card:
        print("then: python -m helpers tables   (README's card table)")
    return 0


def _cmd_grid(args) -> int:
    from helpers.tools import grid

    return grid.cmd_grid(args)


def _cmd_progress(args) -> int:
    """The quiz answers recorded on this machine, per notebook (``--csv FILE``: every answer)."""
    from helpers import progress

    path = progress.progress_path()
    data = progress.load_progress(path)
    rows = progress.summary(data)
    print(f"Progress file: {path}")
    if not rows:
        print("No answers recorded yet: check a quiz answer in a notebook first.")
    else:
        print(f"{'notebook':<28}{'attempted':>10}{'right':>7}{'checks':>8}")
        for r in rows:
            print(f"{r['notebook']:<28}{r['attempted']:>10}{r['right']:>7}{r['checks']:>8}")
    if args.csv:
        progress.export_csv(data, Path(args.csv))
        print(f"Wrote {len(data['answers'])} answers to {args.csv}", file=sys.stderr)
    return 0


def _cmd_run(args) -> int:
    from helpers.tools import runner

    params = {name: value for name, value in (args.param or [])}
    try:
        results = runner.run_course(args.notebooks or None, quick=args.quick, params=params,
                                    out_dir=Path(args.out), timeout=args.timeout, jobs=args.jobs,
                                    exercises=args.exercises)
    except runner.ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print()
    print(runner.format_table(results))
    return 1 if any(r.status != "ok" for r in results) else 0


def _cmd_report(args) -> int:
    from helpers.tools import runner

    try:
        md, html = runner.build_report(Path(args.out))
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {md} and {html}")
    return 0


def _cmd_sweep(args) -> int:
    from helpers.tools import runner

    grid = {name: [v for v in values.split(",")] for name, values in (args.param or [])}
    try:
        runner.check_sweep_grid(grid)
    except runner.ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",")]
    try:
        rows, table = runner.sweep(args.notebook, grid, seeds, args.jobs, args.quick,
                                   out_dir=Path(args.out) if args.out else None,
                                   scheduler=args.scheduler)
    except (runner.ParameterError, OSError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table)
    return 1 if any(r["failed"] for r in rows) else 0


def _cmd_student(args) -> int:
    from helpers.tools import classroom, runner

    written = classroom.make_student_notebooks(Path(args.out))
    for path in written:
        print(f"wrote {path}")
    if args.check:
        for path in written:
            errors = runner.check_student_notebook(path)
            print(f"checked {path.name}: " + (f"errors {errors}" if errors else "every cell runs"))
            if errors:
                return 1
    return 0


def _cmd_teacher(args) -> int:
    from helpers.tools import classroom

    for path in classroom.make_teacher_notebooks(Path(args.out)):
        print(f"wrote {path}")
    return 0


def _cmd_nbgrader(args) -> int:
    from helpers.tools import grading, runner

    try:
        chosen = [runner.notebook_path(n) for n in args.notebooks]
        written = grading.write_course(Path(args.out), chosen or None)
    except (ValueError, runner.ParameterError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"wrote {Path(args.out) / 'nbgrader_config.py'}\nnext: cd {args.out} && "
          f"nbgrader generate_assignment {written[0].parent.name}")
    return 0


def _cmd_html(args) -> int:
    from helpers.tools import classroom

    executed = sorted(Path(args.executed).glob("[0-9][0-9]_*.ipynb"))
    executed = [p for p in executed if ".FAILED" not in p.name]
    if not executed:
        print(f"error: no executed notebooks in {args.executed}; run `python -m helpers run` first",
              file=sys.stderr)
        return 1
    for path in classroom.export_html(executed, Path(args.out)):
        print(f"wrote {path}")
    return 0


def _cmd_book(args) -> int:
    from helpers.tools import book

    try:
        built = book.build_book(Path(args.executed), Path(args.out))
    except (FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {built['index']} ({len(built['pages'])} pages, "
          f"{sum(built['quizzes'].values())} quizzes that check answers in the browser)")
    return 0


def _cmd_bench(args) -> int:
    from helpers.tools import bench

    if args.again:
        return bench.remeasure(Path(args.out), args.again)

    return bench.main(Path(args.out), quick_only=args.skip_course, repeats=args.repeats,
                      defaults=not args.skip_defaults)


def _shown(path: Path) -> str:
    """``path`` relative to the course's root where it lies inside, else absolute (an installed
    course's root is inside site-packages, and the current folder is not)."""
    path = Path(path)
    return str(path.relative_to(config.ROOT)) if path.is_relative_to(config.ROOT) else str(path)


def _cmd_tables(args) -> int:
    """Rewrite README's generated blocks from the committed results files."""
    from helpers import experiment
    from helpers.tools import bench, installs, teaching
    from helpers.tools.blocks import replace_generated_block
    from helpers.tools.grid import markdown_table

    readme, docs = config.ROOT / "README.md", config.ROOT / "docs" / "benchmark.md"
    grid_table = markdown_table(experiment.load_results(experiment.COMMITTED_GRID))
    committed_bench = json.loads(bench.COMMITTED.read_text())
    bench_table = bench.to_markdown(committed_bench)
    from helpers import models
    from helpers.tools import pretrain

    card_table = pretrain.assessment_markdown(models.model_card())
    blocks = [(readme, "grid", grid_table, experiment.COMMITTED_GRID),
              (readme, "card", card_table, config.SOURCE_MODEL_CARD),
              (readme, "bench", bench_table, bench.COMMITTED),
              (docs, "bench", bench_table, bench.COMMITTED),
              (config.ROOT / "docs" / "teaching.md", "plan", teaching.plan_markdown(),
               config.NOTEBOOKS_DIR),
              (config.ROOT / "docs" / "teaching.md", "quiz-topics", teaching.quiz_topics_markdown(),
               config.NOTEBOOKS_DIR / "quizzes"),
              (readme, "install", installs.markdown(json.loads(installs.COMMITTED.read_text())),
               installs.COMMITTED)]
    for path, name, content, source in blocks:
        changed = replace_generated_block(path, name, content)
        print(f"{'rewrote' if changed else 'unchanged'}: {_shown(path)} "
              f"({name}, from {_shown(source)})")
    return 0


def _add_setup_commands(sub) -> None:
    """This machine and what the course ships: the environment, the data, the source model,
    notebook 06's full grid."""
    p = sub.add_parser("doctor", help="check Python packages, data, source model and network")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("data", help="find, verify (and if needed download) Fashion-MNIST")
    p.add_argument("--data-dir", help="a folder holding the four .gz files")
    p.add_argument("--no-download", action="store_true", help="never use the network")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("pretrain", help="retrain the source model and write its card "
                                         "(11-27 minutes on 2 cores, then the assessment)")
    p.add_argument("--epochs", type=int, default=None,
                   help="default: the recipe's (helpers/tools/pretrain.py PRETRAIN_EPOCHS)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--assess-only", action="store_true",
                   help="do not train: assess the saved model and rewrite its card")
    p.add_argument("--no-assess", action="store_true",
                   help="train and save, leave the assessment to a later --assess-only")
    p.add_argument("--assess-seeds", type=int, default=5,
                   help="few-shot samples per cell of the assessment (default 5)")
    p.add_argument("--before", default=None,
                   help="a model from before the digit look-alike filter (its .json card beside "
                        "it): measure the card's leak_check against it")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("grid", help="notebook 06's full experiment grid (long: see datasets/results)")
    p.add_argument("--tasks", default=",".join(config.TARGETS))
    p.add_argument("--budgets", default="1,2,5,20,100", help="labels per class")
    p.add_argument("--seeds", default="5", help="N: seeds 0..N-1; A-B: seeds A..B (extra seeds)")
    p.add_argument("--strategies", default=",".join(("pixel_logreg", "random_features", "scratch",
                                                     "feature_extraction", "fine_tuning")),
                   help="contenders to run (extra seeds for the cheap ones)")
    p.add_argument("--out", default=str(config.BUILD_DIR / "grid.json"))
    p.add_argument("--jobs", type=int, default=1,
                   help="N > 1: fan out on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="fan out on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--merge", nargs="+", metavar="PART",
                   help="instead: merge grid files of disjoint parts into --out")
    p.set_defaults(func=_cmd_grid)


def _add_run_commands(sub) -> None:
    """What runs on this machine: the quiz progress, headless runs and their report, sweeps."""
    p = sub.add_parser("progress", help="summarise the quiz answers recorded on this machine")
    p.add_argument("--csv", help="also export every answer to this CSV file")
    p.set_defaults(func=_cmd_progress)

    p = sub.add_parser("run", help="execute notebooks headless with papermill (default: all)")
    p.add_argument("notebooks", nargs="*", help="e.g. 03 or 03_feature_extraction (default: all)")
    p.add_argument("--quick", action="store_true", help="quick mode (fewer epochs, same sections)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"))
    p.add_argument("--out", default=str(config.BUILD_DIR / "executed"))
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    p.add_argument("--jobs", type=int, default=1,
                   help="notebooks run at once, each in its own kernel (2 suits 2 cores)")
    p.add_argument("--exercises", choices=("blank", "solved", "both"), default="blank",
                   help="blank: as a learner gets it (default); solved: worked solutions filled "
                        "in; both: each exercise blank, then solved (what the tests run)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="gather recorded results into report.md and report.html")
    p.add_argument("--out", default=str(config.BUILD_DIR / "executed"))
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("sweep", help="run one notebook over a grid of parameter values and seeds")
    p.add_argument("notebook")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "V1,V2,..."))
    p.add_argument("--seeds", default="0")
    p.add_argument("--jobs", type=int, default=1,
                   help="N > 1: run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--out", help="where the executed notebooks and sweep.json go "
                   "(default build/sweeps/NOTEBOOK)")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=_cmd_sweep)


def _add_classroom_commands(sub) -> None:
    """The notebooks for a class: student and teacher copies, nbgrader, HTML, the book."""
    p = sub.add_parser("student", help="write student notebooks: exercises blank, no solutions")
    p.add_argument("--out", default=str(config.BUILD_DIR / "student"))
    p.add_argument("--check", action="store_true",
                   help="also run each student notebook in quick mode: every cell must run")
    p.set_defaults(func=_cmd_student)

    p = sub.add_parser("teacher", help="write the notebooks with the worked solutions filled in")
    p.add_argument("--out", default=str(config.BUILD_DIR / "teacher"))
    p.set_defaults(func=_cmd_teacher)

    p = sub.add_parser("nbgrader", help="write an nbgrader course folder (source/ + config)")
    p.add_argument("notebooks", nargs="*", help="e.g. 03 (default: all, one assignment each)")
    p.add_argument("--out", default=str(config.BUILD_DIR / "nbgrader"))
    p.set_defaults(func=_cmd_nbgrader)

    p = sub.add_parser("html", help="export executed notebooks to self-contained HTML")
    p.add_argument("--executed", default=str(config.BUILD_DIR / "executed"))
    p.add_argument("--out", default=str(config.BUILD_DIR / "html"))
    p.set_defaults(func=_cmd_html)

    p = sub.add_parser("book", help="a static HTML book of the executed notebooks (build/book/)")
    p.add_argument("--executed", default=str(config.BUILD_DIR / "executed"))
    p.add_argument("--out", default=str(config.BUILD_DIR / "book"))
    p.set_defaults(func=_cmd_book)


def _add_measurement_commands(sub) -> None:
    """The course's costs, README's tables, and whether transfer pays on a learner's own images."""
    p = sub.add_parser("bench", help="measure the course's costs (writes build/bench/)")
    p.add_argument("--out", default=str(config.BUILD_DIR / "bench"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-course", action="store_true", help="skip running the whole course")
    p.add_argument("--again", nargs="+", metavar="NOTEBOOK",
                   help="instead: measure these notebooks again, at their default settings and in "
                        "quick mode, into the existing bench.json")
    p.add_argument("--skip-defaults", action="store_true",
                   help="skip the course at its default settings (quick mode only)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("tables", help="rewrite README's result tables from the committed results")
    p.set_defaults(func=_cmd_tables)

    # the assess command's options live beside it, in helpers/tools/assess.py
    from helpers.tools import assess

    p = sub.add_parser("assess", help="does transfer pay on your own images? a report under build/assess")
    assess.add_arguments(p)
    p.set_defaults(func=assess.main)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers",
                                     description="Transfer Learning Workbook tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_commands in (_add_setup_commands, _add_run_commands,
                         _add_classroom_commands, _add_measurement_commands):
        add_commands(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
