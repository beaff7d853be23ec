# Worked solutions to the exercises of notebooks/08_your_own_images.ipynb.
# A learner sees one with exercises.solution("08-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 08-1
curve = {}
for b in budgets:
    best = experiment.best_on_validation(curve_summary, task.name, b, experiment.STRATEGIES, rows)
    curve[b] = experiment.cell(curve_summary, task.name, b, best)["val_accuracy_mean"]
my_budget = next(b for b in budgets if curve[b] >= 0.95 * max(curve.values()))

# %% 08-2
my_interval = tuple(capstone.comparison(rows)[-1]["transfer_vs_control"]["t"])
