"""Notebook tests: committed clean, parameterised, honest prose; executed with papermill in quick mode.

(`make test` also runs `pytest --nbval-lax notebooks/`, which executes each notebook cell by cell.)
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers import config
from helpers.tools.runner import PARAMETERS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DOCUMENTED_PARAMETERS = set(PARAMETERS)  # the names the runner documents and validates
# Hand-written results in prose: percentages, 0.xx accuracies, timings, "~95".
RESULT_FIGURE = re.compile(
    r"\d+(\.\d+)?\s*%(?!\s*(bootstrap|t-interval|intervals?|confidence|level|training\s+accuracy|verdicts?))|\b0\.\d{2,}\b|\b\d+(\.\d+)?\s*(s|sec|seconds?|minutes?|min|ms)\b|~\s*\d|≈\s*\d",
    re.I)


def _nb(path):
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS][:4] == ["00", "01", "02", "03"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean_with_kernel_and_parameters(path):
    nb = _nb(path)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec["name"] == "python3"
    assert nb.metadata.kernelspec["language"] == "python"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "outputs committed"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    names = set(re.findall(r"^([A-Z_]+)\s*=", params[0].source, re.M))
    assert {"QUICK", "SEED"} <= names
    assert names <= DOCUMENTED_PARAMETERS, f"undocumented parameters: {names - DOCUMENTED_PARAMETERS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_structure_learn_quiz_exercises_summary(path):
    nb = _nb(path)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "What you will learn" in md and "## Summary" in md
    assert f'quiz.show_quiz("{path.stem}"' in code
    assert "SOLUTION" not in code, "the learner's notebook holds no solution (they live in solutions/)"
    assert len(re.findall(r"^# Exercise \d\d-\d+: your answer here", code, re.M)) >= 2
    assert code.count("exercises.check_") >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_hand_written_results_in_prose(path):
    for cell in _nb(path).cells:
        if cell.cell_type == "markdown":
            hits = [m.group(0) for m in RESULT_FIGURE.finditer(cell.source)]
            assert not hits, f"hand-written result figures {hits} in: {cell.source[:80]!r}"


def test_no_hand_written_results_in_question_banks():
    """Outcome claims in quizzes come from a results file (live questions), never typed."""
    from helpers import quiz

    for name, bank in quiz.all_banks().items():
        for q in bank:
            for text in [q.text, q.why] + [t for o in q.options for t in (o.text, o.why)]:
                hits = [m.group(0) for m in RESULT_FIGURE.finditer(text)]
                assert not hits, f"{name}/{q.id}: hand-written result figures {hits} in {text[:80]!r}"


def test_a_training_accuracy_named_in_prose_is_the_fit_level():
    """The scanner lets "N% training accuracy" through as a setting: it must then be the training
    rule's level (``experiment.FIT_LEVEL``), never a result written by hand."""
    from helpers import experiment, quiz

    level = round(experiment.FIT_LEVEL * 100)
    texts = [c.source for p in NOTEBOOKS for c in _nb(p).cells if c.cell_type == "markdown"]
    texts += [t for bank in quiz.all_banks().values() for q in bank
              for t in [q.text, q.why] + [x for o in q.options for x in (o.text, o.why)]]
    texts.append((ROOT / "README.md").read_text())
    named = [int(float(m.group(1))) for t in texts
             for m in re.finditer(r"(\d+(?:\.\d+)?)\s*%\s*training\s+accuracy", t, re.I)]
    assert named and set(named) == {level}, named


def test_no_hand_written_results_in_readme_outside_generated_blocks():
    text = re.sub(r"<!-- BEGIN GENERATED.*?<!-- END GENERATED \w+ -->", "",
                  (ROOT / "README.md").read_text(), flags=re.S)
    hits = [m.group(0) for m in RESULT_FIGURE.finditer(text)]
    assert not hits, f"hand-written result figures in README.md: {hits}"


def test_scanner_catches_hand_written_figures():
    for text in ["you should see ~95", "about 93% accuracy", "takes 12 seconds", "reaches 0.91"]:
        assert RESULT_FIGURE.search(text), text
    assert not RESULT_FIGURE.search("a learning rate 10 to 100 times lower; block 2; 28×28 images")
    assert not RESULT_FIGURE.search("a 95% bootstrap interval and the 95% t-interval")  # settings
    assert not RESULT_FIGURE.search("95% training accuracy; fifteen 95% verdicts at the 5% level")
    assert RESULT_FIGURE.search("the pixel model reaches 95% on near")


# ---------------------------------------------------------------- execution (quick mode)

@pytest.fixture(scope="session")
def executed(course_run):
    """{stem: (executed notebook, recorded results)} from the offline quick run of the course."""
    assert course_run["returncode"] == 0, course_run["stdout"][-3000:] + course_run["stderr"][-3000:]
    out = course_run["out"]
    return {p.stem: (_nb(out / p.name), json.loads((out / "results" / f"{p.stem}.json").read_text()))
            for p in NOTEBOOKS}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_exercises_pass(executed, path):
    nb, res = executed[path.stem]
    assert res["parameters"]["QUICK"] is True
    assert len(res["exercises"]) >= 2 and all(res["exercises"].values()), res["exercises"]
    # each exercise ran blank (its check must say "not done", not "wrong") and then solved
    log = res["exercise_log"]
    assert [status for _, status in log] == ["not_done", "passed"] * len(res["exercises"]), log
    assert [name for name, _ in log[::2]] == [name for name, _ in log[1::2]], log
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs if o.output_type == "stream")
    assert "Traceback" not in text
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, [f"{e['ename']}: {e['evalue']}" for e in errors]
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    if "plots." in "".join(c.source for c in nb.cells) or "plt." in "".join(c.source for c in nb.cells):
        assert images, "the notebook plots, but no figure reached the executed notebook"
    quiz_outputs = [o for c in nb.cells if "show_quiz" in c.source for o in c.outputs]
    assert any("text/html" in o.get("data", {}) and "tlw-quiz-static" in o["data"]["text/html"]
               for o in quiz_outputs), "quiz has no static form in the executed notebook"


# Cells whose stderr is the lesson: 03 shows the warning Keras gives for a softmax output read
# as logits. Any other stderr output (TensorFlow's C++ log lines, library chatter) is noise a
# learner would see in JupyterLab.
STDERR_TAUGHT = {("03_feature_extraction", "from_logits")}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_stderr_noise_in_the_outputs(executed, path):
    nb, _ = executed[path.stem]
    noisy = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code"
             if any(o.output_type == "stream" and o.get("name") == "stderr" for o in c.outputs)
             and not any(stem == path.stem and marker in c.source for stem, marker in STDERR_TAUGHT)]
    assert not noisy, f"stderr output in the cells starting {noisy}"


@pytest.mark.slow
def test_welcome_measures_transfer_against_its_controls(executed):
    """00: every target gets pixels, random weights and pretrained features; nothing asserts a winner."""
    m = executed["00_welcome"][1]["metrics"]
    for target in config.TARGETS:
        for kind in ("pixels", "random_weights", "pretrained"):
            assert 0 <= m[f"{target}_{kind}_accuracy"] <= 1, (target, kind)
    assert 0 <= m["source_test_accuracy"] <= 1
    source = "".join(c.source for c in executed["00_welcome"][0].cells)
    assert "assert gain" not in source


@pytest.mark.slow
def test_pretrained_scaling_pitfall_measured(executed):
    m = executed["01_pretrained_model"][1]["metrics"]
    assert m["source_accuracy_unscaled"] < m["source_accuracy"] - 0.2


@pytest.mark.slow
def test_freezing_claims(executed):
    m = executed["02_freezing_layers"][1]["metrics"]
    assert m["base_weights_moved_without_recompile"] > 0
    assert m["bn_demo"]["right"]["bn_mean_drift"] == 0 and m["bn_demo"]["trap"]["bn_mean_drift"] > 0


@pytest.mark.slow
def test_feature_extraction_claims(executed):
    m = executed["03_feature_extraction"][1]["metrics"]
    assert m["speed"]["speedup"] > 1.5
    assert abs(m["speed"]["in_loop_accuracy"] - m["speed"]["cached_accuracy"]) < 0.1
    assert 0.25 < m["pixels_logreg_accuracy"] <= 1  # the baseline sits next to every strategy
    assert set(m["extractor_comparison"]) == {"raw pixels", "untrained CNN", "regression-pretrained",
                                              "classification-pretrained"}
    # the layer is chosen on validation scores, and every layer has a random-weight twin
    probes = m["depth_probe_validation"]
    assert set(probes) == {f"{t} / {k}" for t in ("near", "far") for k in ("pretrained", "random weights")}
    for target, layer in m["chosen_layer"].items():
        scores = probes[f"{target} / pretrained"]
        assert scores[layer] == max(scores.values())
    # the transferability assessment: paired intervals for every target and budget
    assert {k.split()[0] for k in m["assessment"]} == set(config.TARGETS)
    for p in m["assessment"].values():
        assert p["n"] >= 2   # quick mode: two samples per cell
        assert p["bootstrap"][0] <= p["difference"] <= p["bootstrap"][1]
        assert p["verdict"] in ("ahead", "behind", "can't tell")
    mismatch = m["loss_mismatch"]
    assert mismatch["logits + from_logits=False"] < mismatch["softmax + from_logits=False (right)"] - 0.2


@pytest.mark.slow
def test_fine_tuning_claims(executed):
    m = executed["04_fine_tuning"][1]["metrics"]
    assert m["distinct_images_cache_first"] > m["distinct_images_augment_first"]
    assert m["fine_tuned_test_accuracy"] > 0.3   # above chance (0.25): the run learned something
    m = executed["05_fine_tuning_in_practice"][1]["metrics"]
    vals = m["val_accuracy_by_blocks"]
    assert set(vals) == {"0 blocks", "1 block", "2 blocks", "3 blocks"}
    assert vals[m["chosen_blocks"]] == max(vals.values())   # chosen on validation, not test
    moved = m["pitfalls_weight_change"]
    assert moved["original learning rate"] > moved["recipe (1 block, TUNE_LR)"]
    assert set(m["pitfalls_test_accuracy"]) == {"recipe (1 block, TUNE_LR)", "original learning rate",
                                               "head not trained first", "no augmentation"}
    assert m["tiny_set_final_loss_gap"] > 0  # without early stopping the tiny set is memorised
    assert m["reloaded_predictions_identical"] is True
    assert all(n > 0 for _, _, n in m["most_confused_pairs"])


@pytest.mark.slow
def test_experiment_grid_recorded(executed):
    """06 (quick mode): one target, one budget, two seeds, every contender and control."""
    m = executed["06_choosing_a_strategy"][1]["metrics"]
    from helpers.experiment import CONTROL_OF, STRATEGIES

    cells = {(s["task"], s["per_class"], s["strategy"]) for s in m["grid_summary"]}
    assert len(cells) == len(STRATEGIES) and all(s["seeds"] == 2 for s in m["grid_summary"])
    assert all(0 <= s["accuracy_mean"] <= 1 for s in m["grid_summary"])
    (v,) = m["verdicts"]
    for strategy, control in CONTROL_OF.items():
        assert v[f"{strategy}_vs_{control}"]["n"] == 2
    assert v["verdict"] in ("ahead", "behind", "can't tell", "under-fit")  # quick: 20 steps
    assert set(v["transfer_vs_each"]) == {"pixel_logreg", "random_features", "scratch"}
    assert len(m["decision_table"]) == 9


@pytest.mark.slow
def test_going_further_runs_offline(executed, course_run):
    m = executed["07_going_further"][1]["metrics"]
    assert m["imagenet_weights_used"] == "random"  # no cache, no network: the fallback ran
    assert len(m["kfold_accuracy"]) == len(m["kfold_indices"]) == 2  # quick mode: K_FOLDS = 2
    for fold in m["kfold_indices"]:  # no test fold feeds early stopping or any other choice
        assert not set(fold["test"]) & (set(fold["train"]) | set(fold["val"]))
    tests = [set(f["test"]) for f in m["kfold_indices"]]  # every row tested once, in one fold
    assert not tests[0] & tests[1] and len(tests[0] | tests[1]) == 200
    assert len(m["tabular_transfer"]) == 4 and "same network, random weights" in m["tabular_transfer"]
    # both random-weight controls, BatchNormalization as initialised and calibrated, are shown
    for key in ("source_model_random_probe_accuracy", "mobilenet_random_probe_accuracy"):
        assert set(m[key]) == {"initial", "calibrated"} and all(0 <= v <= 1 for v in m[key].values())
    # the photo model: both phases scored, and its export answers like the model
    assert m["export_matches"] is True and 0 <= m["photo_model"]["fine_tuned"] <= 1
    nb = executed["07_going_further"][0]
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                     if o.get("output_type") == "stream")
    assert "TLW_OFFLINE" in text or "unreachable" in text
