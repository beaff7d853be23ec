"""Notebook 08 and ``python -m helpers assess`` end to end on generated folders, offline.

A folder of grey PNGs (three classes, a corrupt PNG, a file that is not an image) through the
whole notebook in quick mode with papermill; a folder of colour photos through the command with
MobileNetV2 and no ImageNet weights (random weights, an empty Keras cache). Each runs in its own
process, as a learner would start it. No test checks who wins.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from helpers import backbones, experiment

ROOT = Path(__file__).resolve().parents[1]


def _grey_folder(root: Path, per_class: int = 10) -> Path:
    """Three classes of 28x28 grey shapes, a corrupt PNG and a text file."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    for c, kind in enumerate(("disc", "bar", "box")):
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            cy, cx, r = *rng.integers(10, 18, size=2), rng.integers(4, 8)
            shape = [(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, abs(yy - cy) <= 1,
                     (abs(yy - cy) <= r) & (abs(xx - cx) <= r)][c]
            image = np.clip(shape + rng.normal(0, 0.1, shape.shape), 0, 1)
            Image.fromarray((image * 255).astype(np.uint8), "L").save(root / kind / f"{kind}{i:02d}.png")
    (root / "disc" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"cut off here")
    (root / "box" / "readme.txt").write_text("labelling notes, not an image")
    return root


def _photo_folder(root: Path, per_class: int = 8) -> Path:
    """Two classes of 80x80 colour images (reddish, bluish), too large and colourful for the
    source CNN: the command picks MobileNetV2."""
    rng = np.random.default_rng(1)
    for c, kind in enumerate(("red", "blue")):
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 120, (80, 80, 3))
            image[..., 0 if c == 0 else 2] += 120
            Image.fromarray(image.astype(np.uint8), "RGB").save(root / kind / f"{kind}{i}.png")
    return root


def _env(tmp_path: Path) -> dict:
    keras_home = tmp_path / "keras-home"
    keras_home.mkdir()
    return dict(os.environ, TLW_OFFLINE="1", KERAS_HOME=str(keras_home), TF_CPP_MIN_LOG_LEVEL="3",
                MPLBACKEND="Agg")


@pytest.mark.slow
def test_notebook_08_runs_on_a_folder_of_pngs_and_names_the_skipped_files(tmp_path):
    folder = _grey_folder(tmp_path / "shapes")
    out = tmp_path / "executed"
    done = subprocess.run([sys.executable, "-m", "helpers", "run", "08", "--quick",
                           "-p", "IMAGE_DIR", str(folder), "--out", str(out)],
                          cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    executed = nbformat.read(next(out.glob("08_your_own_images*.ipynb")), 4)
    text = "\n".join(o.get("text", "") for c in executed.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "broken.png" in text and "readme.txt" in text           # skipped, by name
    assert "disc" in text and "Recommendation:" in text
    assert "too few seeds" in text                                  # quick mode: two seeds, no verdict


@pytest.mark.slow
def test_photos_offline_through_the_command_say_no_pretraining_was_measured(tmp_path):
    folder = _photo_folder(tmp_path / "photos")
    out = tmp_path / "report"
    # One seed: what is checked here (random weights offline, said in the recommendation, the
    # export, no download) does not depend on the seeds, and each seed costs a full learning
    # curve of MobileNetV2 runs. That random weights never yield a verdict on pretraining, at any
    # verdict the seeds allow, is test_capstone.py's test_random_weights_give_no_verdict_on_pretraining.
    done = subprocess.run([sys.executable, "-m", "helpers", "assess", str(folder), "--budgets", "1",
                           "--seeds", "1", "--max-steps", "10", "--out", str(out), "--quiet"],
                          cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    report = (out / "report.md").read_text()
    assert "MobileNetV2" in report and "random" in report
    advice = report.split("## Recommendation")[1].split("\n## ")[0]
    assert "no pretraining was measured" in advice.lower()
    for claim in ("transfer pays", "does not pay", "pretrained", "negative transfer"):
        assert claim not in advice, claim
    assert (out / "model" / "saved_model.pb").is_file()
    assert not list((tmp_path / "keras-home").rglob("*.h5"))          # nothing was downloaded
    # every contender of notebook 06 ran on the ImageNet family's code path, its rows kept
    kept = json.loads((out / "results.json").read_text())
    rows = {r["strategy"]: r for r in kept["rows"]}
    assert len(kept["rows"]) == len(rows) and set(rows) == set(experiment.STRATEGIES)
    assert len({r["sample"] for r in rows.values()}) == 1          # one sample, every contender
    layers = backbones.keras_application("MobileNetV2", 96, weights=None).feature_layers
    for s, r in rows.items():
        assert (r["backbone"], r["weights"], r["per_class"], r["train_images"]) == \
            ("MobileNetV2", "random", 1, 2), s
        assert 0 <= r["accuracy"] <= 1 and r["test_images"] == kept["rows"][0]["test_images"], s
    assert len({r["menu_size"] for r in rows.values()}) == 1      # the capstone's menus: one size
    fair = report.split("## Fair comparison")[1].split("\n## ")[0]   # the report's own verdicts
    assert kept["comparison"] and all(c["verdict"] in fair for c in kept["comparison"])
    for s in ("feature_extraction", "random_features"):
        assert rows[s]["setting"]["layer"] in layers, s
    assert 0 < rows["fine_tuning"]["trainable_params"] < rows["scratch"]["trainable_params"]
