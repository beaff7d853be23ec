# Worked solutions to the exercises of notebooks/06_choosing_a_strategy.ipynb.
# A learner sees one with exercises.solution("06-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 06-1
best_control = max((s for s in shared_summary if s["task"] == "far" and s["per_class"] == 5
                    and s["strategy"] in experiment.CONTROLS),
                   key=lambda s: s["val_accuracy_mean"])["strategy"]

# %% 06-2
ft = {r["seed"]: r["accuracy"] for r in full_rows
      if r["task"] == "near" and r["per_class"] == 2 and r["strategy"] == "fine_tuning"}
sc = {r["seed"]: r["accuracy"] for r in full_rows
      if r["task"] == "near" and r["per_class"] == 2 and r["strategy"] == "scratch"}
differences = [ft[s] - sc[s] for s in sorted(ft)]

# %% 06-3
# Digits: classes the source never learned, in a look unlike its clothing: the far target.
my_cell = ("far", 2)
transfer = experiment.best_on_validation(shared_summary, "far", 2, experiment.TRANSFER)
control = experiment.best_on_validation(shared_summary, "far", 2, experiment.CONTROLS)
evidence = experiment.compare(full_rows, "far", 2, transfer, control)
my_verdict = evidence["verdict"]
# behind: negative transfer, so the control; ahead: the transfer strategy; can't tell: either
my_strategy = control if my_verdict == "behind" else transfer
my_interval = evidence["t"]
