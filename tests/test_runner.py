"""The headless runner: the course run, failures kept apart, parameter validation, reports, sweeps."""

import json
import os

import nbformat
import pytest

from helpers.tools import runner
from helpers.tools.cli import main

TINY_OK = '''from helpers import results
rec = results.Recorder(NAME, dict(SEED=SEED, EPOCHS=EPOCHS))
rec.record("score", EPOCHS * 10 + SEED)
print("done", EPOCHS, SEED)'''


def _tiny(tmp_path, name, body, params="QUICK = False\nSEED = 0\nEPOCHS = 1"):
    cells = [nbformat.v4.new_code_cell(params + f"\nNAME = {name!r}"),
             nbformat.v4.new_code_cell(body)]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------- the real course

@pytest.mark.slow
def test_course_run_table_and_outputs(tmp_path):
    """`python -m helpers run` on a real notebook: papermill executes it, the table reports it."""
    import subprocess
    import sys

    out = tmp_path / "out"
    env = {**os.environ, "TLW_OFFLINE": "1"}
    env.pop("TLW_RESULTS_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", "01", "--quick", "--out",
                           str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "01_pretrained_model.ipynb").is_file()
    assert (out / "results" / "01_pretrained_model.json").is_file()
    assert "01_pretrained_model" in proc.stdout and "FAILED" not in proc.stdout
    assert not list(out.glob(".*partial*")) and not list(out.glob("*.FAILED.ipynb"))
    header = next(line for line in proc.stdout.splitlines() if line.startswith("notebook"))
    for col in ("status", "seconds", "peak MB", "key metrics"):
        assert col in header


@pytest.mark.slow
def test_report_from_executed_course(course_run):
    md, html = runner.build_report(course_run["out"])
    text = md.read_text()
    for path in runner.all_notebooks():
        assert f"## {path.stem}" in text
    assert "source_test_accuracy" in text and "![06_choosing_a_strategy plot" in text
    assert html.read_text().count("data:image/png;base64,") >= 1


@pytest.mark.slow
def test_html_export_of_executed_notebooks(course_run, tmp_path):
    from helpers.tools import classroom

    executed = [course_run["out"] / "02_freezing_layers.ipynb"]
    (page,) = classroom.export_html(executed, tmp_path)
    body = page.read_text()
    assert "tlw-quiz-static" in body and "data:image/png;base64" in body
    assert "Freezing layers" in body


# ---------------------------------------------------------------- failures and parameters

def test_failing_notebook_keeps_good_output_and_others_run(tmp_path):
    ok1 = _tiny(tmp_path, "t1_ok", TINY_OK)
    bad = _tiny(tmp_path, "t2_bad", "raise ValueError('broken on purpose')")
    ok2 = _tiny(tmp_path, "t3_ok", TINY_OK)
    out = tmp_path / "out"
    out.mkdir()
    (out / "t2_bad.ipynb").write_text("last good output")
    import os

    before = {k: os.environ.get(k) for k in ("TLW_RESULTS_DIR", "MPLBACKEND", "TLW_QUICK")}
    results = runner.run_course([str(ok1), str(bad), str(ok2)], quick=True, out_dir=out,
                                progress=False)
    assert {k: os.environ.get(k) for k in before} == before  # the caller's environment is untouched
    assert [r.status for r in results] == ["ok", "FAILED", "ok"]
    assert "ValueError: broken on purpose" in results[1].error and "cell" in results[1].error
    assert (out / "t2_bad.ipynb").read_text() == "last good output"
    assert (out / "t2_bad.FAILED.ipynb").is_file()
    assert results[0].metrics == {"score": 10} and results[0].peak_mb > 10
    table = runner.format_table(results)
    assert "FAILED" in table and "broken on purpose" in table


def _meet(me, other, folder):
    """Cell text: say 'I started', then wait (up to 120 s) until the other notebook has too."""
    return (f"import pathlib, time\nfolder = pathlib.Path({str(folder)!r})\n"
            f"(folder / {me!r}).touch()\ndeadline = time.time() + 120\n"
            f"while not (folder / {other!r}).exists() and time.time() < deadline:\n"
            "    time.sleep(0.1)\n"
            f"met = (folder / {other!r}).exists()\n")


def test_two_kernels_at_once_keep_order_failures_and_their_own_memory(tmp_path, monkeypatch):
    """--jobs 2: notebooks overlap in time, results come back in course order, each kernel's peak
    is its own (one notebook holds 300 MB more than the other), a failure stays apart.
    Overlap is proved by a meeting, not a stopwatch: each of the first two notebooks waits until
    the other has started, which only happens when both kernels run at once (wall times on a
    loaded 2-core machine are too noisy to compare)."""
    for name in runner.BLAS_THREADS:           # as on a machine where nobody set them
        monkeypatch.delenv(name, raising=False)
    meet = tmp_path / "meet"
    meet.mkdir()
    hold = "import numpy as np\nblock = np.ones(300 * 2**20 // 8)\n"
    score = "assert met, 'the other notebook never started'\n"
    big = _tiny(tmp_path, "p1_big", hold + _meet("big", "small", meet) + score + TINY_OK)
    blas = 'import os\nprint("BLAS=" + os.environ.get("OPENBLAS_NUM_THREADS", "unset"))\n'
    small = _tiny(tmp_path, "p2_small", _meet("small", "big", meet) + score + blas + TINY_OK)
    bad = _tiny(tmp_path, "p3_bad", "raise ValueError('broken on purpose')")
    out = tmp_path / "out"
    results = runner.run_course([str(big), str(small), str(bad)], quick=True, out_dir=out,
                                progress=False, jobs=2)
    assert [r.notebook for r in results] == ["p1_big", "p2_small", "p3_bad"]
    assert [r.status for r in results] == ["ok", "ok", "FAILED"], [r.error for r in results]
    assert results[0].peak_mb > results[1].peak_mb + 200
    assert results[0].metrics == {"score": 10} and (out / "p2_small.ipynb").is_file()
    # each kernel's math libraries get its share of the cores
    assert f"BLAS={runner.cores_each(2)}" in (out / "p2_small.ipynb").read_text()
    with pytest.raises(runner.ParameterError, match="jobs"):
        runner.run_course([str(small)], jobs=0)


def test_processes_sharing_the_cores_split_them_and_keep_what_is_set(monkeypatch):
    for name in (*runner.BLAS_THREADS, "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    cores = runner.cores_each(1)
    assert cores >= 1 and runner.cores_each(cores) == 1 and runner.cores_each(10 * cores) == 1
    assert set(runner.shared_cores_env(cores).values()) == {"1"}
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")               # the user's own choice wins
    assert runner.shared_cores_env(cores)["OPENBLAS_NUM_THREADS"] == "3"
    before = dict(os.environ)
    with runner.one_thread_per_worker():                            # what local grid workers inherit
        assert os.environ["TF_NUM_INTRAOP_THREADS"] == os.environ["OMP_NUM_THREADS"] == "1"
        assert os.environ["OPENBLAS_NUM_THREADS"] == "3"
    assert dict(os.environ) == before


def test_cli_run_exit_code_non_zero_on_failure(tmp_path, capsys):
    bad = _tiny(tmp_path, "t4_bad", "1/0")
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().out


@pytest.mark.parametrize("params, message", [
    ({"EPOCHZ": 3}, "unknown parameter 'EPOCHZ'"),
    ({"EPOCHS": -1}, "EPOCHS=-1 is out of range; allowed: an integer >= 1"),
    ({"EPOCHS": "abc"}, "EPOCHS must be an integer >= 1"),
    ({"LABELS_PER_CLASS": 0}, "LABELS_PER_CLASS=0 is out of range"),
    ({"QUICK": "maybe"}, "QUICK must be True, False or None"),
    ({"ASSESS_BUDGETS": "1,x"}, "ASSESS_BUDGETS='1,x' is out of range; allowed: comma-separated"),
])
def test_bad_parameters_name_notebook_and_allowed_values(params, message):
    path = runner.notebook_path("03")
    with pytest.raises(runner.ParameterError) as err:
        runner.validate_parameters(path, params)
    assert "03_feature_extraction" in str(err.value) and message in str(err.value)


def test_run_course_rejects_a_name_no_chosen_notebook_takes():
    with pytest.raises(runner.ParameterError, match="unknown parameter.*'PRETEXT_EPOCHS'.*allowed:"):
        runner.run_course(["00", "01"], params={"PRETEXT_EPOCHS": 2}, progress=False)


def test_label_budgets_target_and_quick_validated():
    path = runner.notebook_path("06")
    assert runner.validate_parameters(path, {"LABEL_BUDGETS": "2,20"}) == {"LABEL_BUDGETS": "2,20"}
    assert runner.validate_parameters(path, {"LABEL_BUDGETS": "5"}) == {"LABEL_BUDGETS": "5"}
    for bad in ("5,x", "5,all", "0"):
        with pytest.raises(runner.ParameterError, match="comma-separated"):
            runner.validate_parameters(path, {"LABEL_BUDGETS": bad})
    assert runner.validate_parameters(path, {"TARGET": "far", "FULL_GRID": "False"}) == {
        "TARGET": "far", "FULL_GRID": False}
    with pytest.raises(runner.ParameterError,
                       match="TARGET='moon' is out of range; allowed: 'look', 'near' or 'far'"):
        runner.validate_parameters(path, {"TARGET": "moon"})
    assert runner.validate_parameters(path, {"QUICK": "None"}) == {"QUICK": None}


def test_runner_and_notebooks_share_one_list_of_rules():
    from helpers import params

    assert runner.PARAMETERS is params.PARAMETERS and runner.ParameterError is params.ParameterError


def test_cli_rejects_bad_parameter_before_running(capsys):
    assert main(["run", "03", "-p", "EPOCHS", "0"]) == 2
    assert "EPOCHS=0 is out of range" in capsys.readouterr().err


def test_every_parameter_cell_uses_documented_names():
    for path in runner.all_notebooks():
        assert set(runner.notebook_parameters(path)) <= set(runner.PARAMETERS), path.stem


def test_unknown_notebook_lists_choices():
    with pytest.raises(runner.ParameterError, match="00_welcome"):
        runner.notebook_path("99_nothing")


# ---------------------------------------------------------------- sweep

def test_sweep_refuses_seed_as_a_grid_parameter(tmp_path, capsys):
    """SEED comes from --seeds: `-p SEED 0,1` used to file both runs under SEED=0, then crash."""
    with pytest.raises(runner.ParameterError, match=r"--seeds \(e\.g\. --seeds 0,1\)"):
        runner.check_sweep_grid({"SEED": ["0", "1"]})
    with pytest.raises(runner.ParameterError, match="--seeds"):
        runner.check_sweep_grid({"EPOCHS": ["1", "2"], "SEED": ["3"]})
    with pytest.raises(runner.ParameterError, match="at least one -p"):
        runner.check_sweep_grid({})
    runner.check_sweep_grid({"EPOCHS": ["1", "2"], "LABELS_PER_CLASS": ["5"]})   # fine
    # refused before anything runs, from the command line and from Python
    out = tmp_path / "sw"
    assert main(["sweep", "03", "-p", "SEED", "0,1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "SEED" in err and "--seeds 0,1" in err
    with pytest.raises(runner.ParameterError, match="--seeds"):
        runner.sweep("03", {"SEED": [0, 1]}, out_dir=out)
    assert not out.exists()
    assert main(["sweep", "03", "--out", str(out)]) == 2
    assert "at least one -p" in capsys.readouterr().err


def test_two_value_sweep_aggregates_over_seeds(tmp_path):
    nb = _tiny(tmp_path, "t5_sweep", TINY_OK)
    rows, table = runner.sweep(str(nb), {"EPOCHS": ["1", "2"]}, seeds=[0, 1], jobs=2,
                               out_dir=tmp_path / "sw")
    assert [r["params"] for r in rows] == [{"EPOCHS": "1"}, {"EPOCHS": "2"}]
    assert rows[0]["runs"] == 2 and rows[0]["failed"] == 0
    # mean and sample SD (n - 1) of the two seeds' scores, 10 and 11 (20 and 21)
    assert rows[0]["metrics"]["score"] == (10.5, pytest.approx(2 ** -0.5))
    assert rows[1]["metrics"]["score"] == (20.5, pytest.approx(2 ** -0.5))
    assert (tmp_path / "sw" / "sweep.png").is_file()
    assert json.loads((tmp_path / "sw" / "sweep.json").read_text())[1]["metrics"]["score"][0] == 20.5
    assert "EPOCHS" in table
    # every executed notebook and results file came back to this machine's out_dir
    for epochs in (1, 2):
        for seed in (0, 1):
            folder = tmp_path / "sw" / f"EPOCHS-{epochs}_SEED-{seed}"
            assert (folder / "t5_sweep.ipynb").is_file()
            saved = json.loads((folder / "results" / "t5_sweep.json").read_text())
            assert saved["metrics"]["score"] == epochs * 10 + seed


def test_sweep_on_a_running_dask_scheduler(tmp_path):
    """--scheduler ADDRESS: the runs go to a cluster we did not start; results come back here."""
    from distributed import LocalCluster

    nb = _tiny(tmp_path, "t6_cluster", TINY_OK)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        code = main(["sweep", str(nb), "-p", "EPOCHS", "3", "--seeds", "0,1",
                     "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "out")])
        assert code == 0
        assert len(cluster.scheduler.workers) == 2  # the caller's cluster is left running
    rows = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert rows[0]["runs"] == 2 and rows[0]["metrics"]["score"][0] == 30.5
    assert (tmp_path / "out" / "EPOCHS-3_SEED-1" / "t6_cluster.ipynb").is_file()


def test_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    nb = _tiny(tmp_path, "t7_nowhere", TINY_OK)
    code = main(["sweep", str(nb), "-p", "EPOCHS", "1", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err


def test_runs_leave_this_process_environment_alone(tmp_path):
    """Settings reach the kernel through its own environment, never through os.environ."""
    nb = _tiny(tmp_path, "t8_env", 'import os\nprint("QUICK_ENV=" + os.environ.get("TLW_QUICK", ""))',
               params="QUICK = True\nSEED = 0")
    before = dict(os.environ)
    r = runner.execute(nb, tmp_path / "out", {"QUICK": True}, progress=False)
    assert r.status == "ok" and dict(os.environ) == before
    text = (tmp_path / "out" / "t8_env.ipynb").read_text()
    assert "QUICK_ENV=1" in text


def test_quick_mode_has_one_channel_and_explicit_wins(monkeypatch):
    from helpers.config import quick_mode

    monkeypatch.setenv("TLW_QUICK", "1")
    assert quick_mode(None) is True and quick_mode(False) is False
    monkeypatch.delenv("TLW_QUICK")
    assert quick_mode(None) is False and quick_mode(True) is True


def test_readme_longer_runs_use_parameters_the_notebooks_take():
    """Every `-p NAME VALUE` in README's "longer runs" table is accepted by its notebook."""
    import re

    from helpers.config import ROOT

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| notebook | default (Run All) | a longer run |"):]
    table = table[:table.index("\n\n")]
    rows = [line for line in table.splitlines()[2:] if line.startswith("| 0")]
    assert len(rows) >= 4
    for row in rows:
        number = row.split("|")[1].strip()
        given = dict(re.findall(r"-p (\w+) (\S+?)`?(?=\s|`|$)", row.split("|")[3]))
        assert given, row
        runner.validate_parameters(runner.notebook_path(number), given)
