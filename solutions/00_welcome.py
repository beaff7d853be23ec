# Worked solutions to the exercises of notebooks/00_welcome.ipynb.
# A learner sees one with exercises.solution("00-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 00-1
x_small, y_small = data.few_shot(far.x_train, far.y_train, 3, seed=SEED)

# %% 00-2
feats = base.predict(near.x_test[:100], verbose=0)
