"""What an install costs: seconds and disk space of a fresh virtual environment, per install.

``python -m helpers.tools.installs measure LABEL --spec SPEC [--project DIR] [--repeats N]``
installs the course the way `make setup` does (a new venv, pip installs uv from PyPI, then
``uv pip install -e SPEC``) into fresh environments under a temporary folder: each repeat once
with empty pip and uv caches (everything downloaded) and once more with the caches that run
filled. It records the seconds (median, min and max over the repeats), the environment's size
on disk and its number of packages in ``datasets/results/install.json`` under LABEL.
``--project`` measures another tree, e.g. an older commit unpacked with ``git archive``.

``python -m helpers.tools.installs readme`` rewrites README's ``install`` block from that file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import config
from helpers.atomic import atomic_write_text

COMMITTED = config.COMMITTED_RESULTS_DIR / "install.json"
README = config.ROOT / "README.md"
UV_PIN = "uv==0.13.9"  # the Makefile's UV_PIN (tests/test_setup.py checks they agree)


def _size_mb(folder: Path) -> float:
    """Bytes on disk under ``folder`` in MB (hard links counted once, symlinks not followed)."""
    seen, total = set(), 0
    for base, _, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(base, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total / 2**20


def _install(project: Path, spec: str, venv: Path, cache: Path, python: str) -> float:
    """Seconds for `make setup`'s install steps into a new ``venv`` with caches under ``cache``."""
    env = {**os.environ, "UV_CACHE_DIR": str(cache / "uv"), "PIP_CACHE_DIR": str(cache / "pip")}
    bin_dir = venv / "bin"
    start = time.perf_counter()
    subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", UV_PIN], check=True,
                   env=env, capture_output=True)
    subprocess.run([str(bin_dir / "uv"), "pip", "install", "-q", "--python", str(bin_dir / "python"),
                    "-e", spec], check=True, cwd=project, env=env)
    return time.perf_counter() - start


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": [round(v, 2) for v in values]}


def measure(label: str, spec: str, project: Path = config.ROOT, repeats: int = 3,
            python: str = "python3", note: str = "") -> dict:
    """Measure one install ``repeats`` times, cold and warm (see the module's docstring)."""
    cold, warm, size, packages = [], [], None, None
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="tlw-install-") as tmp:
            cache = Path(tmp) / "cache"
            cold.append(_install(project, spec, Path(tmp) / "cold", cache, python))
            size = _size_mb(Path(tmp) / "cold")
            site = next((Path(tmp) / "cold" / "lib").glob("python3*/site-packages"))
            packages = len(list(site.glob("*.dist-info")))
            shutil.rmtree(Path(tmp) / "cold")
            warm.append(_install(project, spec, Path(tmp) / "warm", cache, python))
    return {"label": label, "spec": spec, "packages": packages, "size_mb": round(size),
            "cold_s": _spread(cold), "warm_s": _spread(warm), "note": note}


def record(entry: dict, path: Path = COMMITTED) -> dict:
    """Add (or replace) ``entry`` in the results file, with the machine it was measured on."""
    entry = {**entry, "date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
             "python": platform.python_version(), "uv": UV_PIN}
    data = json.loads(path.read_text()) if path.is_file() else {"installs": []}
    data["installs"] = [e for e in data["installs"] if e["label"] != entry["label"]] + [entry]
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    return data


def markdown(data: dict) -> str:
    """The README's table: one row per measured install."""
    lines = ["| install | packages | size on disk, MB | seconds, empty caches: median (min-max) | "
             "seconds, warm caches: median (min-max) |", "|---|---|---|---|---|"]
    for e in data["installs"]:
        cold, warm = e["cold_s"], e["warm_s"]
        lines.append(f"| {e['label']} | {e['packages']} | {e['size_mb']:,} | "
                     f"{cold['median']:.1f} ({cold['min']:.1f}-{cold['max']:.1f}) | "
                     f"{warm['median']:.1f} ({warm['min']:.1f}-{warm['max']:.1f}) |")
    machines = sorted({(e["date"][:10], e["cpus"], e.get("note", ""), e["python"], e["uv"],
                        len(e["cold_s"]["runs"])) for e in data["installs"]})
    for date, cpus, note, python, uv, runs in machines:
        lines.append(f"\nMeasured {date} on {cpus} CPU cores{f' ({note})' if note else ''}, Python "
                     f"{python}, {uv}, {runs} runs each: a new venv, pip installs uv, uv installs "
                     "the course (`-e`), as `make` does. Empty caches: every package downloaded "
                     "from PyPI; warm caches: the same install again.")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.tools.installs",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("measure", help="measure one install and record it")
    p.add_argument("label")
    p.add_argument("--spec", default=".", help="what `uv pip install -e` gets, e.g. . or .[all]")
    p.add_argument("--project", type=Path, default=config.ROOT)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--python", default="python3", help="the Python that creates the venvs")
    p.add_argument("--note", default="", help="about the machine, e.g. 'shared with other jobs'")
    sub.add_parser("readme", help="rewrite README's install block from the results file")
    args = parser.parse_args(argv)
    if args.command == "measure":
        entry = measure(args.label, args.spec, args.project.resolve(), args.repeats, args.python,
                        args.note)
        print(json.dumps(record(entry), indent=1))
        return 0
    from helpers.tools.blocks import replace_generated_block

    changed = replace_generated_block(README, "install", markdown(json.loads(COMMITTED.read_text())))
    print(f"{'rewrote' if changed else 'unchanged'}: README.md (install)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
