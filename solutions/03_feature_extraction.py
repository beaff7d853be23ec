# Worked solutions to the exercises of notebooks/03_feature_extraction.ipynb.
# A learner sees one with exercises.solution("03-1"); the teacher's tools fill them
# into the notebooks (python -m helpers teacher, nbgrader, make test).

# %% 03-1
from sklearn.linear_model import LogisticRegression

clf = LogisticRegression(max_iter=2000)
clf.fit(f_few, y_few)
clf_accuracy = clf.score(f_test, y_test)

# %% 03-2
pooled = keras.layers.GlobalAveragePooling2D()(source_model.get_layer("block2_pool").output)
block2_feats = keras.Model(source_model.input, pooled).predict(x_few, verbose=0)

# %% 03-3
my_head = keras.Sequential([keras.Input(shape=(f_few.shape[1],)),
                            keras.layers.Dense(near.num_classes)])
my_head.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
my_head.fit(f_few, y_few, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
my_head_accuracy = my_head.evaluate(f_test, y_test, verbose=0)[1]
