# Worked solutions to the exercises of notebooks/04_fine_tuning.ipynb.
# A learner sees one with exercises.solution("04-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 04-1
ex_base.trainable = True
for layer in ex_base.layers:
    layer.trainable = (layer.name.startswith(("block2_", "block3_"))
                       and not isinstance(layer, keras.layers.BatchNormalization))

# %% 04-2
ex_model.compile(keras.optimizers.Adam(HEAD_LR / 100), "sparse_categorical_crossentropy", metrics=["accuracy"])

# %% 04-3
ex3_base.trainable = False
ex3_model.compile(keras.optimizers.Adam(HEAD_LR), "sparse_categorical_crossentropy", metrics=["accuracy"])
h1 = ex3_model.fit(train_ds, epochs=1, verbose=0)
ex3_base.trainable = True
for layer in ex3_base.layers:
    layer.trainable = (layer.name.startswith("block3_")
                       and not isinstance(layer, keras.layers.BatchNormalization))
ex3_model.compile(keras.optimizers.Adam(HEAD_LR / 100), "sparse_categorical_crossentropy", metrics=["accuracy"])
h2 = ex3_model.fit(train_ds, epochs=1, verbose=0)
ex3_histories = [h1, h2]
