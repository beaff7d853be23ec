# Worked solutions to the exercises of notebooks/05_fine_tuning_in_practice.ipynb.
# A learner sees one with exercises.solution("05-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 05-1
inputs = keras.Input(shape=(28, 28, 1))
x = ex1_base(inputs, training=False)
x = keras.layers.Dropout(0.3)(x)
outputs = keras.layers.Dense(near.num_classes, activation="softmax")(x)
ex1_model = keras.Model(inputs, outputs)
ex1_model.compile(keras.optimizers.Adam(HEAD_LR), "sparse_categorical_crossentropy", metrics=["accuracy"])
ex1_stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
ex1_model.fit(train_ds, validation_data=val, epochs=EPOCHS, callbacks=[ex1_stopper], verbose=0)

# %% 05-2
my_augment = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=SEED),
                               keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=SEED),
                               keras.layers.RandomRotation(0.05, fill_mode="constant", seed=SEED)])
inputs = keras.Input(shape=(28, 28, 1))
x = my_augment(inputs)
x = ex2_base(x, training=False)
outputs = keras.layers.Dense(near.num_classes, activation="softmax")(x)
ex2_model = keras.Model(inputs, outputs)
ex2_model.compile(keras.optimizers.Adam(HEAD_LR), "sparse_categorical_crossentropy", metrics=["accuracy"])
ex2_model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
