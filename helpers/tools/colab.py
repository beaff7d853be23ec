"""The Colab cell: the first code cell of every notebook, the same text in each.

Inside Google Colab it installs the course from its repository and fetches Fashion-MNIST into
Keras's cache (``helpers.data`` downloads the files Keras uses and checks their SHA-256); anywhere
else it does nothing. It imports ``helpers`` only after the install, since Colab starts without it.

``python -m helpers.tools.colab`` writes the cell into every ``notebooks/[0-9][0-9]_*.ipynb``,
just before the ``parameters`` cell, replacing the one already there; ``--check`` only reports
the notebooks whose cell is missing or differs (tests/test_package.py runs that check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import config

TAG = "colab"  # the cell's tag: how the generator finds it again
# OWNER follows the README's rule for the Binder badge: the GitHub account that hosts your copy.
REPOSITORY = "https://github.com/OWNER/transfer-learning-workbook"

CELL = f'''\
# In Google Colab: install the course and fetch Fashion-MNIST. Anywhere else this does nothing.
import os
import sys

if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    import importlib
    import subprocess

    # Replace OWNER with the GitHub account that hosts the course (as for the README's badges).
    # --no-deps keeps Colab's own TensorFlow, Keras and NumPy: nothing to reinstall, no restart.
    COURSE = "git+{REPOSITORY}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", COURSE],
                         capture_output=True, text=True)
    if pip.returncode:
        raise RuntimeError(f"Installing the course failed:\\n{{pip.stderr[-2000:]}}")
    importlib.invalidate_caches()
    from helpers import data

    print(f"Colab: course installed, Fashion-MNIST ready in {{data.locate_fashion_mnist()}}")'''


def notebooks(folder: Path | None = None) -> list[Path]:
    """The course's numbered notebooks."""
    return sorted((folder or config.NOTEBOOKS_DIR).glob("[0-9][0-9]_*.ipynb"))


def _is_colab_cell(cell) -> bool:
    return cell.cell_type == "code" and TAG in cell.metadata.get("tags", [])


def with_colab_cell(nb):
    """The notebook with exactly one Colab cell, right before the ``parameters`` cell."""
    import nbformat

    cells = [c for c in nb.cells if not _is_colab_cell(c)]
    at = next((i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), None)
    if at is None:
        at = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    cell = nbformat.v4.new_code_cell(CELL, metadata={"tags": [TAG]})
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        cell["id"] = "colab-setup"  # a fixed id: writing the cell again changes nothing
    else:
        cell.pop("id", None)
    nb.cells = cells[:at] + [cell] + cells[at:]
    return nb


def colab_cells(nb):
    """The notebook's Colab cells (a correct notebook has one)."""
    return [c for c in nb.cells if _is_colab_cell(c)]


def problems(path: Path) -> list[str]:
    """What is wrong with one notebook's Colab cell (empty when it is right)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    found = colab_cells(nb)
    if len(found) != 1:
        return [f"{path.name}: {len(found)} Colab cells (expected 1)"]
    out = []
    if found[0].source != CELL:
        out.append(f"{path.name}: the Colab cell differs from helpers/tools/colab.py's CELL")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code[0] is not found[0]:
        out.append(f"{path.name}: the Colab cell is not the first code cell")
    index = nb.cells.index(found[0])
    if index + 1 >= len(nb.cells) or "parameters" not in nb.cells[index + 1].metadata.get("tags", []):
        out.append(f"{path.name}: the Colab cell is not right before the parameters cell")
    return out


def write(paths: list[Path]) -> list[Path]:
    """Put the Colab cell into each notebook; return the notebooks that changed."""
    import nbformat

    changed = []
    for path in paths:
        before = path.read_text()
        nb = with_colab_cell(nbformat.reads(before, as_version=4))
        after = nbformat.writes(nb) + "\n"
        if after != before:
            path.write_text(after)
            changed.append(path)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.tools.colab", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every numbered notebook")
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebooks()
    if args.check:
        found = [p for path in paths for p in problems(path)]
        print("\n".join(found) or f"the Colab cell is right in {len(paths)} notebooks")
        return 1 if found else 0
    for path in write(paths):
        print(f"wrote the Colab cell into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
