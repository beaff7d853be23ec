"""``python -m helpers assess``: a generated folder of PNGs through the whole command, bad input
(exit code 2, one clear line), an earlier report that survives a failed run, and an ``--out``
that is never a folder the command did not write."""

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.tools import assess, cli

CLASSES = ("circle", "cross", "square")


def _draw(kind: str, rng) -> np.ndarray:
    """A 28x28 grey image of a shape at a random place and size, with noise."""
    image = np.zeros((28, 28), np.float32)
    size, (cy, cx) = rng.integers(5, 9), rng.integers(10, 18, size=2)
    yy, xx = np.mgrid[:28, :28]
    if kind == "circle":
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= size ** 2] = 1
    elif kind == "square":
        image[cy - size:cy + size, cx - size:cx + size] = 1
    else:
        image[cy - 1:cy + 2, cx - size:cx + size] = 1
        image[cy - size:cy + size, cx - 1:cx + 2] = 1
    image += rng.normal(0, 0.1, image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def make_folder(root, per_class: int = 12, seed: int = 0):
    """3 classes of grey PNGs, plus one corrupt PNG and one file that is not an image."""
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(_draw(kind, rng), "L").save(root / kind / f"{kind}-{i:02d}.png")
    (root / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    (root / "square" / "notes.txt").write_text("the labelling notes, not an image")
    return root


def _run(argv, capsys):
    rc = cli.main(["assess", *map(str, argv)])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("TLW_OFFLINE", "1")


def test_a_folder_through_the_command(tmp_path, capsys):
    folder = make_folder(tmp_path / "shapes")
    out = tmp_path / "report"
    # an earlier report of the command is there already (its marker file says so): it is replaced
    out.mkdir()
    (out / assess.MARKER).write_text("")
    (out / "report.md").write_text("the earlier report\n")
    (out / "old_plot.png").write_bytes(b"an earlier plot")
    (out / "model").mkdir()
    (out / "model" / "saved_model.pb").write_bytes(b"an earlier model")
    rc, stdout, err = _run([folder, "--budgets", "1,2", "--seeds", "2", "--max-steps", "10",
                            "--out", out, "--quiet"], capsys)
    assert rc == 0, err[-3000:]
    text = (out / "report.md").read_text()
    assert "the earlier report" not in text and not (out / "old_plot.png").exists()
    assert "budgets 1, 2 labels per class" in text                # this run's, not the earlier one
    assert "{" not in text, "a format string was left unformatted"
    assert "Trained on 2 labels per class" in text
    for section in ("## The folder", "## The backbone", "## Transferability assessment",
                    "## Learning curve", "## Fair comparison", "## Recommendation",
                    "## The chosen model"):
        assert section in text, section
    for kind in CLASSES:
        assert kind in text
    assert "broken.png" in text and "notes.txt" in text          # skipped files, by name
    assert "corrupt" in text and "not an image" in text          # ... and why
    assert "source_cnn" in text and "Recommendation:" in text
    assert "[" in text.split("## Fair comparison")[1]            # intervals in the comparison
    assert (out / "learning_curve.png").stat().st_size > 0
    assert (out / "most_confused.png").stat().st_size > 0
    assert (out / "model" / "saved_model.pb").read_bytes() != b"an earlier model"
    assert (out / "model" / "class_names.txt").read_text().split() == list(CLASSES)
    assert "Recommendation:" in stdout
    assert "assessment" not in err and "it/s" not in err and "%|" not in err, err   # --quiet: no bars
    assert not list(tmp_path.glob(".report.*"))                   # no temporary folder left
    assert (out / assess.MARKER).is_file()                        # a report, so it may be replaced
    mode = stat.S_IMODE(out.stat().st_mode)                        # not mkdtemp's 0700
    assert mode == 0o777 & ~_umask() and mode & 0o055, oct(mode)
    # what the numbers are: test is said, and the choices read validation
    assert "*test*" in text and "validation accuracy only" in text
    assert "pretrained (test)" in text and "test difference" in text
    chosen = text.split("## The chosen model")[1]
    assert "the recommendation names" in chosen and "*test* accuracy" in chosen


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("layout, message", [
    ("missing", "does not exist"),
    ("empty", "is empty"),
    ("one class", "one class only"),
    ("flat", "no class subfolders"),
    ("tiny class", "Too few images"),
])
def test_bad_folders_exit_2_with_one_clear_line(tmp_path, capsys, layout, message):
    folder = tmp_path / "photos"
    if layout != "missing":
        folder.mkdir()
    if layout == "one class":
        make_folder(tmp_path / "full", per_class=4)
        (tmp_path / "full" / "circle").rename(folder / "circle")
    elif layout == "flat":
        Image.fromarray(np.zeros((28, 28), np.uint8), "L").save(folder / "a.png")
    elif layout == "tiny class":
        make_folder(folder, per_class=4)
        for extra in list((folder / "cross").glob("*.png"))[2:]:
            extra.unlink()
    rc, _, err = _run([folder, "--out", tmp_path / "out"], capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Fix" in lines[0] or "fix" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--budgets", "1,,5", "--budgets"), ("--seeds", "0", "--seeds"), ("--max-steps", "3", "--max-steps"),
])
def test_bad_options_exit_2(tmp_path, capsys, option, value, message):
    folder = make_folder(tmp_path / "shapes", per_class=4)
    rc, _, err = _run([folder, option, value, "--out", tmp_path / "out"], capsys)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_failed_run_leaves_the_earlier_report(tmp_path, capsys):
    folder = make_folder(tmp_path / "shapes", per_class=6)
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("the earlier report\n")
    (out / assess.MARKER).write_text("")
    # the folder is fine, but its classes hold fewer training images than the smallest budget:
    # that is found after the images are loaded, inside the run
    rc, _, err = _run([folder, "--budgets", "40", "--out", out], capsys)
    assert rc == 2 and "smallest budget" in err and "--budgets" in err, err
    assert (out / "report.md").read_text() == "the earlier report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "shapes"]   # nothing left over
    # a folder that does not exist fails before anything starts, and leaves it too
    rc, _, err = _run([tmp_path / "nowhere", "--out", out], capsys)
    assert rc == 2 and (out / "report.md").read_text() == "the earlier report\n"


@pytest.mark.parametrize("where", ["IMAGE_DIR", "inside", "holds", "photos", "file"])
def test_an_out_that_is_not_a_report_is_never_replaced(tmp_path, capsys, where):
    folder = make_folder(tmp_path / "shapes", per_class=4)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    out, message = {
        "IMAGE_DIR": (folder, "is IMAGE_DIR"),
        "inside": (folder / "circle", "is inside IMAGE_DIR"),
        "holds": (tmp_path, "holds IMAGE_DIR"),
        "photos": (tmp_path / "my_photos", "not empty and not an earlier report"),
        "file": (tmp_path / "notes.md", "is a file"),
    }[where]
    if where == "photos":
        out.mkdir()
        (out / "holiday.jpg").write_bytes(b"a photo")
        before = sorted(str(p) for p in tmp_path.rglob("*"))
    elif where == "file":
        out.write_text("my notes\n")
        before = sorted(str(p) for p in tmp_path.rglob("*"))
    rc, _, err = _run([folder, "--budgets", "1", "--seeds", "1", "--max-steps", "10", "--out", out,
                       "--quiet"], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: --out"), err
    assert message in lines[0] and "fix" in lines[0], lines[0]
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before    # nothing deleted, nothing left


def test_an_empty_out_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assess.check_out(out, tmp_path / "shapes")                        # no error
    assess.check_out(tmp_path / "new" / "report", tmp_path / "shapes")


def test_help_names_the_defaults_without_the_courses_root(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["assess", "--help"])
    assert done.value.code == 0
    assert "build/assess" in capsys.readouterr().out


def test_the_learning_curve_goes_to_dask_workers_with_an_absolute_path(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from helpers.tools import runner

    seen = {}

    def fake_map(func, roots, *rest, **kwargs):
        seen["roots"] = roots
        return [[] for _ in roots]

    monkeypatch.setattr(runner, "map_on_dask", fake_map)
    (tmp_path / "shapes").mkdir()
    monkeypatch.chdir(tmp_path)
    report = SimpleNamespace(root=Path("shapes"))
    choice = SimpleNamespace(name="source_cnn", image_size=28, channels=1)
    assess.curve_rows(report, None, choice, SimpleNamespace(weights_label="course"), [1], 1, 0, {},
                      jobs=2, progress=False)
    assert seen["roots"] and all(r == str((tmp_path / "shapes").resolve()) for r in seen["roots"])


def test_a_failed_download_shows_the_fallbacks_message_only(monkeypatch, capsys):
    from types import SimpleNamespace

    from helpers import backbones

    def fallback(net):
        print("Note: MobileNetV2's ImageNet weights could not be downloaded (no network); "
              "it has RANDOM weights.")
        return SimpleNamespace(name=net.name, weights=None, weights_label="random")

    monkeypatch.setattr(backbones, "with_available_weights", fallback)
    net = SimpleNamespace(name="MobileNetV2", weights="imagenet", weights_label="imagenet")
    got, note = assess.with_weights_note(net, "MobileNetV2 with ImageNet weights (cached), at 96x96 RGB.")
    assert got.weights_label == "random"
    assert "RANDOM weights" in note and "with ImageNet weights" not in note
    captured = capsys.readouterr()
    assert captured.out == "" and "RANDOM weights" in captured.err
    # when the weights come, choose_backbone's note stands
    monkeypatch.setattr(backbones, "with_available_weights", lambda n: n)
    assert assess.with_weights_note(net, "with ImageNet weights")[1] == "with ImageNet weights"


def test_budgets_are_parsed_and_checked():
    assert assess.parse_budgets("20, 1,5,5") == [1, 5, 20]
    with pytest.raises(assess.UsageError, match="--budgets"):
        assess.parse_budgets("1,all")
