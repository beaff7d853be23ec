# Worked solutions to the exercises of notebooks/02_freezing_layers.ipynb.
# A learner sees one with exercises.solution("02-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 02-1
inputs = keras.Input(shape=(28, 28, 1))
x = ex1_base(inputs, training=False)
outputs = keras.layers.Dense(near.num_classes, activation="softmax")(x)
my_transfer = keras.Model(inputs, outputs)

# %% 02-2
for layer in ex_model.layers[:-3]:
    layer.trainable = False

# %% 02-3
ex_base.trainable = False
ex_transfer.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
