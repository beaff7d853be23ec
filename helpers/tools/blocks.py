"""Generated blocks in documents: the parts of README.md and docs/ that ``python -m helpers
tables`` rewrites from the committed results, between a pair of marker comments::

    <!-- BEGIN GENERATED grid: `python -m helpers tables` rewrites this block -->
    ...
    <!-- END GENERATED grid -->

The tests read a block with :func:`generated_block` and compare it with what the results give.
"""

from __future__ import annotations

from pathlib import Path

from helpers.atomic import atomic_write_text

__all__ = ["markers", "generated_block", "replace_generated_block"]


def markers(name: str) -> tuple[str, str]:
    """The two comment lines that open and close the ``name`` block."""
    return (f"<!-- BEGIN GENERATED {name}: `python -m helpers tables` rewrites this block -->",
            f"<!-- END GENERATED {name} -->")


def generated_block(text: str, name: str) -> str:
    """The content between the ``name`` markers of ``text`` (ValueError if they are missing)."""
    begin, end = markers(name)
    if begin not in text or end not in text:
        raise ValueError(f"no generated block {name!r}: add the lines\n{begin}\n{end}")
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def replace_generated_block(path: Path, name: str, content: str) -> bool:
    """Rewrite the ``name`` block of the file at ``path`` with ``content``; True if it changed."""
    path = Path(path)
    text = path.read_text()
    old = generated_block(text, name)
    if old == content.strip("\n"):
        return False
    begin, end = markers(name)
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    atomic_write_text(path, f"{head}{begin}\n{content.strip(chr(10))}\n{end}{tail}")
    return True
