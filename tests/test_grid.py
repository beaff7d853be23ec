"""helpers.tools.grid, notebook 06's grid as the teacher and CI run it: parts and their merge,
README's table, the Dask fan-out."""

import json

import pytest
from grid_rows import cell_rows

from helpers import data, experiment
from helpers.experiment import menus
from helpers.tools import grid
from helpers.tools.cli import main

_rows = cell_rows


def _save(path, rows, **params):
    experiment.save_results(path, rows, {"PROTOCOL": experiment.PROTOCOL, **params})
    return str(path)


def test_protocol_parameters_are_plain_values_naming_the_menus_and_the_rule():
    p = grid.protocol_parameters()
    assert json.loads(json.dumps(p)) == p
    assert p["PROTOCOL"] == experiment.PROTOCOL
    assert p["OWN_SETTINGS"] == {s: {k: list(v) for k, v in own.items()}
                                 for s, own in menus.OWN_SETTINGS.items()}
    assert p["AUGMENTATIONS"] == list(menus.AUGMENTATIONS)
    assert (p["FIT_LEVEL"], p["PATIENCE"], p["MAX_STEPS"], p["ALPHA"]) == \
        (experiment.FIT_LEVEL, experiment.PATIENCE, experiment.MAX_STEPS, experiment.ALPHA)


def test_merge_joins_parts_and_keeps_a_flat_part_list(tmp_path):
    rows = _rows()
    a = _save(tmp_path / "a.json", [r for r in rows if r["seed"] < 3], SEEDS=3, command="a")
    b = _save(tmp_path / "b.json", [r for r in rows if r["seed"] >= 3], SEEDS=2, command="b")
    assert main(["grid", "--merge", a, b, "--out", str(tmp_path / "ab.json")]) == 0
    ab = experiment.load_results(tmp_path / "ab.json")
    assert len(ab["rows"]) == len(rows) and ab["parameters"]["SEEDS"] == 5
    assert ab["parameters"]["PROTOCOL"] == experiment.PROTOCOL
    assert (ab["parameters"]["TASKS"], ab["parameters"]["LABEL_BUDGETS"]) == (["near"], [5])
    assert [p["command"] for p in ab["parameters"]["parts"]] == ["a", "b"]
    assert ab["verdicts"][0]["verdict"] == "ahead"          # computed once merged
    extra = [dict(r, seed=7, sample="s7") for r in rows
             if r["strategy"] in experiment.CHEAP and r["seed"] == 0]
    c = _save(tmp_path / "c.json", extra, SEEDS=1, command="c")
    assert grid.merge([tmp_path / "ab.json", c], tmp_path / "abc.json") == 0
    abc = experiment.load_results(tmp_path / "abc.json")["parameters"]
    assert [p["command"] for p in abc["parts"]] == ["a", "b", "c"]      # flat, not nested
    assert abc["SEEDS"] == 5 and abc["EXTRA_SEEDS"]["pixel_logreg"] == {"near 5": [7]}


def test_merge_of_parts_by_contender_gives_the_verdicts(tmp_path):
    rows = _rows()
    cheap = _save(tmp_path / "cheap.json", [r for r in rows if r["strategy"] in experiment.CHEAP])
    rest = _save(tmp_path / "rest.json", [r for r in rows if r["strategy"] not in experiment.CHEAP])
    assert experiment.load_results(cheap)["verdicts"] == []
    assert grid.merge([cheap, rest], tmp_path / "all.json") == 0
    assert experiment.load_results(tmp_path / "all.json")["verdicts"] == experiment.verdicts(rows)


def test_merge_refuses_overlapping_parts(tmp_path, capsys):
    a = _save(tmp_path / "a.json", _rows())
    assert main(["grid", "--merge", a, a, "--out", str(tmp_path / "aa.json")]) == 2
    assert "overlap" in capsys.readouterr().err
    assert not (tmp_path / "aa.json").exists()


def test_merge_refuses_parts_made_under_different_protocols(tmp_path, capsys):
    rows = _rows()
    new = _save(tmp_path / "new.json", [r for r in rows if r["seed"] < 3])
    old = tmp_path / "old.json"          # a part from before the protocol was recorded
    experiment.save_results(old, [r for r in rows if r["seed"] >= 3], {"SEEDS": 2})
    assert grid.merge([new, old], tmp_path / "mixed.json") == 2
    assert "different PROTOCOL" in capsys.readouterr().err
    assert not (tmp_path / "mixed.json").exists()



def test_merge_refuses_parts_made_with_different_source_models(tmp_path, capsys):
    rows = _rows()
    a = _save(tmp_path / "a.json", [r for r in rows if r["seed"] < 3], SOURCE_MODEL="aaaa")
    b = _save(tmp_path / "b.json", [r for r in rows if r["seed"] >= 3], SOURCE_MODEL="bbbb")
    assert grid.merge([a, b], tmp_path / "ab.json") == 2
    assert "different SOURCE_MODEL" in capsys.readouterr().err
    assert not (tmp_path / "ab.json").exists()
    assert len(grid.protocol_parameters()["SOURCE_MODEL"]) == 16    # the shipped model's hash

def test_markdown_table_is_built_from_the_numbers():
    table = grid.markdown_table({"rows": _rows(), "parameters": {"PROTOCOL": experiment.PROTOCOL}})
    row = next(line for line in table.splitlines() if line.startswith("| near | 5 |"))
    assert "**0.812 ± 0.013**" in row and "+0.200 [" in row
    v = experiment.verdicts(_rows())[0]
    assert row.endswith("fine-tuning, pretrained − scratch CNN (random init): "
                        f"{grid._interval(v['transfer_vs_control'])}; in the cell: ahead, "
                        f"p = {v['p_value']:.3f}; Benjamini–Hochberg: holds; **ahead** |")
    assert "near (new classes, same look): 4,000 test and 500 validation images" in table
    assert "over 5 seeds" in table and f"Protocol: {experiment.PROTOCOL}." in table
    # one number changed: the table changes with it
    changed = [dict(r, accuracy=0.90) if (r["strategy"], r["seed"]) == ("feature_extraction", 0)
               else r for r in _rows()]
    row2 = next(line for line in grid.markdown_table({"rows": changed, "parameters": {}}).splitlines()
                if line.startswith("| near | 5 |"))
    assert "**0.832 ±" in row2 and "0.812" not in row2


def test_markdown_table_gives_an_under_fit_cell_no_verdict():
    rows = _rows() + [dict(r, under_fit=True, fitted=False) if r["strategy"] == "scratch" and r["seed"] == 1
                      else r for r in _rows("far", 5)]
    table = grid.markdown_table({"rows": rows, "parameters": {"PROTOCOL": experiment.PROTOCOL}})
    far = next(line for line in table.splitlines() if line.startswith("| far | 5 |"))
    assert far.endswith("| no verdict: scratch CNN (random init) under-fitted |")
    assert "**ahead**" not in far and "**ahead**" in table       # the near cell keeps its own
    assert "across the 1 cells judged" in table


def test_grid_command_refuses_bad_arguments(capsys):
    assert main(["grid", "--tasks", "middle"]) == 2
    assert "unknown task(s) ['middle']" in capsys.readouterr().err
    assert main(["grid", "--seeds", "3-1"]) == 2
    assert "--seeds must be" in capsys.readouterr().err
    assert main(["grid", "--strategies", "magic"]) == 2
    assert "unknown contender(s) ['magic']" in capsys.readouterr().err


def test_grid_on_dask_gives_the_rows_run_grid_gives():
    """The fan-out path: one job per (target, budget, contender) on two worker processes."""
    kw = dict(test_images=40, val_images=40, max_steps=10, augmentations=("none",),
              menus_own=menus.ONE_SETTING)
    strategies = ("pixel_logreg", "random_features")
    here = experiment.run_grid([data.far_task()], [1], [0], strategies, progress=False, **kw)
    there = grid.run_grid_on_dask(["far"], [1], [0], strategies, jobs=2, progress=False, **kw)

    def drop(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert drop(there) == drop(here)
    assert [r["strategy"] for r in there] == list(strategies)


@pytest.mark.parametrize("text, seeds", [("5", [0, 1, 2, 3, 4]), ("5-7", [5, 6, 7]),
                                         ("0", None), ("7-5", None), ("x", None)])
def test_seed_lists(text, seeds):
    assert grid._seed_list(text) == seeds
