import json

import pytest

from helpers import progress
from helpers.tools.cli import main


def test_record_and_summary(tmp_path):
    progress.record_answer("01", "a", 1, True)
    progress.record_answer("01", "b", {2, 0}, False)
    progress.record_answer("02", "c", 3.5, False)
    data = progress.load_progress()
    assert len(data["answers"]) == 3
    rows = {r["notebook"]: r for r in progress.summary(data)}
    assert rows["01"] == {"notebook": "01", "attempted": 2, "right": 1, "checks": 2}
    assert rows["02"]["right"] == 0


def test_corrupt_file_is_set_aside_not_overwritten(tmp_path):
    path = progress.progress_path()
    path.write_text("{ not json")
    with pytest.warns(UserWarning, match="could not be read"):
        progress.record_answer("01", "a", 0, True)
    aside = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{ not json"
    assert json.loads(path.read_text())["answers"][0]["question"] == "a"


def test_cli_prints_summary_and_exports_csv(tmp_path, capsys):
    progress.record_answer("02_freezing_layers", "freezing-means", 0, True)
    csv_path = tmp_path / "out.csv"
    assert main(["progress", "--csv", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert "02_freezing_layers" in out
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "notebook,question,answer,correct,time" and len(lines) == 2


def test_write_is_atomic(tmp_path, monkeypatch):
    progress.record_answer("01", "a", 0, True)
    before = progress.progress_path().read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        progress.record_answer("01", "b", 0, True)
    assert progress.progress_path().read_text() == before
    assert not list(progress.progress_path().parent.glob(".progress.json.*"))
