"""The same clear error from every client: plain papermill (not our runner) with a bad parameter.

Each notebook checks its parameters itself, at the top of the first code cell after the
``parameters`` cell (``helpers.params.start``), so a run started by papermill, nbconvert or
JupyterLab stops there, before TensorFlow starts, with the message ``python -m helpers run``
gives: the notebook, the parameter, its value and the allowed values.
"""

import re
import subprocess
import sys

import nbformat
import pytest

from helpers import config
from helpers.tools import runner

CHECK_CALL = "params.check_all("


def _first_code_cell_after_parameters(nb):
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    return next(c for c in nb.cells[index + 1:] if c.cell_type == "code")


@pytest.mark.parametrize("path", runner.all_notebooks(), ids=lambda p: p.stem)
def test_each_notebook_checks_its_parameters_first(path):
    """The check opens the cell after the parameters (before any import that starts TensorFlow)
    and names its own notebook."""
    cell = _first_code_cell_after_parameters(nbformat.read(path, as_version=4))
    lines = [line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "from helpers import params", lines
    assert re.match(rf'^(\w+ = )?params\.start\("{path.stem}", globals\(\)', lines[1]), (
        f"{path.name}: the cell after the parameters must start with the parameter check")


def _failed_cell(out_path):
    """(index of the cell papermill injected, index of the cell that raised) in the output."""
    nb = nbformat.read(out_path, as_version=4)
    injected = next(i for i, c in enumerate(nb.cells)
                    if "injected-parameters" in c.metadata.get("tags", []))
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    return injected, failed, nb


@pytest.mark.slow
def test_papermill_api_bad_epochs_stops_in_the_check_cell(tmp_path):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    path = config.NOTEBOOKS_DIR / "04_fine_tuning.ipynb"
    out = tmp_path / "04_out.ipynb"
    with pytest.raises(PapermillExecutionError) as err:
        pm.execute_notebook(str(path), str(out), parameters={"EPOCHS": -3},
                            cwd=str(path.parent), progress_bar=False, execution_timeout=300)
    assert err.value.ename == "ParameterError"
    assert "04_fine_tuning: EPOCHS=-3 is out of range; allowed: an integer >= 1" in err.value.evalue
    assert "KeyError" not in str(err.value)
    injected, failed, nb = _failed_cell(out)
    parameters = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert injected == parameters + 1
    first_code_after = next(i for i in range(injected + 1, len(nb.cells))
                            if nb.cells[i].cell_type == "code")
    assert failed == [first_code_after], "the run must stop in the check cell, not later"
    later = [c for c in nb.cells[first_code_after + 1:] if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in later)


@pytest.mark.slow
def test_papermill_cli_bad_target_names_allowed_values(tmp_path):
    path = config.NOTEBOOKS_DIR / "06_choosing_a_strategy.ipynb"
    out = tmp_path / "06_out.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", str(path), str(out),
                           "-p", "TARGET", "moon", "--cwd", str(path.parent),
                           "--no-progress-bar", "--execution-timeout", "300"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    said = proc.stdout + proc.stderr
    assert "06_choosing_a_strategy: TARGET='moon' is out of range; allowed: 'look', 'near' or 'far'" \
        in said, said[-3000:]
    injected, failed, nb = _failed_cell(out)
    first_code_after = next(i for i in range(injected + 1, len(nb.cells))
                            if nb.cells[i].cell_type == "code")
    assert failed == [first_code_after]
