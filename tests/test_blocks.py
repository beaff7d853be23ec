"""Generated blocks (helpers/tools/blocks.py): read, rewritten in place, and a missing one named."""

import pytest

from helpers.tools import blocks


def test_generated_block_roundtrip(tmp_path):
    begin, end = blocks.markers("x")
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{begin}\nold\n{end}\noutro\n")
    assert blocks.replace_generated_block(doc, "x", "new table") is True
    assert blocks.generated_block(doc.read_text(), "x") == "new table"
    assert doc.read_text().startswith("intro\n") and doc.read_text().endswith("outro\n")
    assert blocks.replace_generated_block(doc, "x", "new table") is False
    with pytest.raises(ValueError, match="no generated block 'y'"):
        blocks.generated_block(doc.read_text(), "y")
