"""The course's command line, ``python -m helpers COMMAND``; see ``--help`` for the commands."""

from __future__ import annotations

import argparse
import sys


def _cmd_doctor(args) -> int:
    from helpers.doctor import doctor

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
    for task in (data.source_task(), data.near_task(), data.far_task()):
        print(f"  {task}")
    return 0


def _cmd_pretrain(args) -> int:
    from helpers import models

    _, card = models.pretrain_source_model(epochs=args.epochs, seed=args.seed, verbose=2)
    print(f"saved; source test accuracy {card['source_test_accuracy']:.4f}")
    return 0


def _cmd_progress(args) -> int:
    from helpers import progress

    return progress.main(csv_path=args.csv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers",
                                     description="Transfer Learning Workbook tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="check Python packages, data, source model and network")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("data", help="find, verify (and if needed download) Fashion-MNIST")
    p.add_argument("--data-dir", help="a folder holding the four .gz files")
    p.add_argument("--no-download", action="store_true", help="never use the network")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("pretrain", help="retrain the source model and write its card")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("progress", help="summarise the quiz answers recorded on this machine")
    p.add_argument("--csv", help="also export every answer to this CSV file")
    p.set_defaults(func=_cmd_progress)

    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return parser


# Later modules (runner, classroom, bench) register their sub-commands here.
_EXTRA_COMMANDS: list = []


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
