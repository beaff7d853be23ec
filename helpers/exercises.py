"""Self-checking exercises: each check inspects what the learner built and answers with a hint.

A check returns a ``Feedback`` (shown as a green or orange box) and never just says "wrong":
the first failed condition's hint tells the learner what to look at. Pass a results
``Recorder`` to keep the outcome for the run's report. In strict mode (``strict()``: nbgrader
or ``TLW_STRICT=1``) a wrong answer raises ``AssertionError`` with the same hint instead.
"""

from __future__ import annotations

import html

from helpers import config


def strict() -> bool:
    """Strict checks raise ``AssertionError`` on a wrong answer, so a grader (nbgrader) gives no
    points for it: on with ``TLW_STRICT=1`` and whenever nbgrader executes the notebook."""
    return config.env_flag("TLW_STRICT") or config.autograding()


class Feedback:
    """Outcome of one exercise check."""

    def __init__(self, name: str, passed: bool, message: str):
        self.name, self.passed, self.message = name, passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'PASSED' if self.passed else 'NOT YET'} [{self.name}] {self.message}"

    def _repr_html_(self) -> str:
        colour, head = ("#1a7f37", "Well done") if self.passed else ("#b35900", "Not yet")
        return (f"<div class='tlw-exercise' style='border-left:4px solid {colour};"
                f"padding:4px 8px'><b style='color:{colour}'>{head}</b> "
                f"<code>{html.escape(self.name)}</code>: {html.escape(self.message)}</div>")


def check(name: str, conditions, success, recorder=None) -> Feedback:
    """``conditions`` is a list of ``(ok, hint)``; the first failing hint is the feedback.

    ``ok`` may be a function, called only if every earlier condition held (so later checks can
    assume earlier ones, e.g. compare values only once the shape is right). A hint, and
    ``success``, may be functions too, called only when their message is shown.
    """
    for ok, hint in conditions:
        if callable(ok):
            ok = ok()
        if not ok:
            result = Feedback(name, False, hint() if callable(hint) else hint)
            break
    else:
        result = Feedback(name, True, success() if callable(success) else success)
    if recorder is not None:
        recorder.exercise(name, result.passed)
    if strict() and not result.passed:
        raise AssertionError(f"[{name}] {result.message}")
    return result


_UNSET = object()   # "argument not given", where None is a learner's placeholder


def not_done(value) -> bool:
    """True while an exercise variable still holds its placeholder (None or ...)."""
    return value is None or value is Ellipsis


# ---------------------------------------------------------------- notebook 00

def _all_rows_in(sample, pool) -> bool:
    """True if every image of ``sample`` is, pixel for pixel, one of the images of ``pool``."""
    import numpy as np

    pool = np.ascontiguousarray(pool)
    sample = np.ascontiguousarray(np.asarray(sample, dtype=pool.dtype))
    known = {hash(row.tobytes()) for row in pool.reshape(len(pool), -1)}
    return all(hash(row.tobytes()) in known for row in sample.reshape(len(sample), -1))


def check_few_shot_sample(x_small, y_small, num_classes: int, per_class: int, recorder=None, *,
                          train=None, task: str = "the task"):
    """00: a balanced sample of ``per_class`` images per class, drawn from ``train`` (the task's
    training images, when given; ``task`` names the task's variable in the hint)."""
    import numpy as np

    if not_done(x_small) or not_done(y_small):
        return check("few_shot_sample", [(False, "Assign x_small and y_small first (use data.few_shot).")], "")
    counts = np.bincount(np.asarray(y_small), minlength=num_classes)
    return check("few_shot_sample", [
        (len(x_small) == len(y_small), f"x_small has {len(x_small)} images but y_small has "
         f"{len(y_small)} labels; they must match."),
        (len(y_small) == num_classes * per_class, f"Expected {num_classes * per_class} images "
         f"({per_class} for each of {num_classes} classes), got {len(y_small)}."),
        ((counts == per_class).all(), f"Classes are unbalanced: counts per class {counts.tolist()}. "
         "few_shot(x, y, per_class, seed) samples every class equally."),
        (np.asarray(x_small).shape[1:] == (28, 28, 1), "Images should keep the shape (28, 28, 1)."),
        (lambda: train is None or _all_rows_in(x_small, train),
         f"These images are not all from {task}.x_train: draw the sample from the training split, "
         f"data.few_shot({task}.x_train, {task}.y_train, ...); {task}.x_test is kept for scoring "
         "models, and an image you train on would no longer test anything."),
    ], f"{len(y_small)} images, {per_class} per class"
       f"{'' if train is None else ', all from the training split'}.", recorder)


def check_features(feats, base, images, recorder=None):
    """00/03: ``feats`` are the base's outputs for ``images``."""
    import numpy as np

    if not_done(feats):
        return check("features", [(False, "Assign feats = base.predict(...) first.")], "")
    expected = base.predict(np.asarray(images), verbose=0)
    feats = np.asarray(feats)
    return check("features", [
        (feats.shape == expected.shape, f"feats has shape {feats.shape}; the base gives "
         f"{expected.shape} for these images. Did you pass all of them, to the base (not the full model)?"),
        (lambda: np.allclose(feats, expected, atol=1e-4), "The numbers differ from the base's output; "
         "pass the images unchanged (already scaled to [0, 1])."),
    ], f"feature matrix of shape {feats.shape}: one {feats.shape[1]}-number vector per image.", recorder)


# ---------------------------------------------------------------- notebook 01

def check_submodel(extractor, model, layer_name: str, recorder=None):
    """01: a model from ``model``'s input to ``layer_name``'s output, sharing its weights."""
    import keras
    import numpy as np

    if not_done(extractor):
        return check("submodel", [(False, "Assign the new model to the variable first.")], "")
    target = model.get_layer(layer_name)
    x = np.zeros((1,) + tuple(model.input.shape[1:]), dtype="float32")
    outputs = getattr(extractor, "outputs", None) or [None]
    out_shape = outputs[0]
    return check("submodel", [
        (hasattr(extractor, "predict") and hasattr(extractor, "layers"),
         "Build a keras.Model(inputs, outputs), not a single layer or a tensor."),
        (out_shape is not None and tuple(out_shape.shape) == tuple(target.output.shape),
         f"The output should have the shape of {layer_name}'s output {tuple(target.output.shape)}; "
         f"yours is {None if out_shape is None else tuple(out_shape.shape)}. "
         f"Use model.get_layer('{layer_name}').output as outputs."),
        (lambda: any(layer is target for layer in extractor.layers),
         "Your model does not contain the pretrained layer itself; build it from model.input and the "
         "layer's .output so the weights are shared, not copied or rebuilt."),
        (lambda: np.allclose(extractor.predict(x, verbose=0),
                             keras.Model(model.input, target.output).predict(x, verbose=0)),
         "The outputs differ from the pretrained layer's; start from model.input."),
    ], f"a {len(extractor.layers)}-layer model ending at {layer_name}, sharing the pretrained weights.",
        recorder)


def check_layer_slice(names, model, n: int, recorder=None):
    """01: the names of the last ``n`` layers, taken by slicing ``model.layers``."""
    if not_done(names):
        return check("layer_slice", [(False, "Assign a list of names first.")], "")
    expected = [layer.name for layer in model.layers[-n:]]
    names = list(names)
    return check("layer_slice", [
        (lambda: len(names) == n, f"Expected {n} names, got {len(names)}. model.layers[-{n}:] takes the last {n}."),
        (all(isinstance(v, str) for v in names), "Store the layers' .name strings, not the layers."),
        (lambda: names == expected, f"Those are not the last {n} layers in order; model.layers[-{n}:] "
         "keeps the model's order."),
    ], f"the last {n} layers are {expected}.", recorder)


# ---------------------------------------------------------------- notebook 02

def _call_nodes(model, layer) -> list:
    """The places (graph nodes) where ``layer`` is called inside the functional ``model``."""
    nodes = {id(node) for group in getattr(model, "_nodes_by_depth", {}).values() for node in group}
    return [node for node in getattr(layer, "_inbound_nodes", []) if id(node) in nodes]


def check_model_as_layer(model, base, num_classes: int, recorder=None):
    """02: a new functional model that calls the pretrained ``base`` as one layer, with
    ``training=False``, followed by a new head with ``num_classes`` outputs."""
    import keras

    if not_done(model):
        return check("model_as_layer", [(False, "Assign the new model to the variable first.")], "")
    is_model = isinstance(model, keras.Model)
    layers = list(getattr(model, "layers", []))
    inside = any(layer is base for layer in layers)
    copied = is_model and not inside and any(layer is inner for layer in layers for inner in base.layers)
    calls = _call_nodes(model, base) if inside else []
    out_shape = tuple(model.outputs[0].shape) if is_model and getattr(model, "outputs", None) else None
    return check("model_as_layer", [
        (is_model, "Build a keras.Model(inputs, outputs), not a single layer or a tensor."),
        (not copied, "Your model holds the base's layers one by one (it was built from base.input or "
         "base.output). Use the base itself as one layer: inputs = keras.Input(shape=(28, 28, 1)); "
         "x = base(inputs, training=False)."),
        (inside, "The pretrained base is not one of your model's layers: call the very `base` object "
         "on a new keras.Input, x = base(inputs, training=False), not another model."),
        (not isinstance(model, keras.Sequential), "A Sequential model calls the base without a "
         "training argument. Use the functional API so you can write x = base(inputs, training=False)."),
        (lambda: calls and all(node.arguments.kwargs.get("training") is False for node in calls),
         "Call the base with training=False: x = base(inputs, training=False). It states that the "
         "pretrained base runs in inference mode (BatchNormalization with its stored statistics) "
         "whenever the outer call does not say otherwise."),
        (lambda: out_shape == (None, num_classes), f"The new head should give {num_classes} outputs "
         f"(one per class); your model gives {out_shape}."),
    ], f"the base is one layer of a {len(layers)}-layer model, called with training=False, under a "
       f"new {num_classes}-class head.", recorder)


def check_freeze_all_but_top(model, n: int, recorder=None):
    """02: every layer frozen except the last ``n``."""
    flags = [layer.trainable for layer in model.layers]
    expected = [False] * (len(flags) - n) + [True] * n
    wrong = [layer.name for layer, f, e in zip(model.layers, flags, expected, strict=True) if f != e]
    inverted = flags == [not e for e in expected]
    trainable = sum(flags)
    return check("freeze_all_but_top", [
        (model.trainable, "model.trainable is False, which freezes everything; set the flag on the "
         "individual layers instead."),
        (not inverted, f"It is the other way round: the last {n} layers are frozen and the rest train. "
         f"model.layers[:-{n}] is every layer *except* the last {n}; model.layers[-{n}:] is the last {n}."),
        (not wrong or trainable != n, f"{trainable} layers are trainable, but not the last {n}: "
         f"{wrong[:5]}{'...' if len(wrong) > 5 else ''} have the wrong flag. Start from a fresh model "
         f"and loop over model.layers[:-{n}]."),
        (not wrong, f"These layers have the wrong flag: {wrong[:5]}{'...' if len(wrong) > 5 else ''}. "
         f"Loop over model.layers[:-{n}] setting trainable = False, and make sure the last {n} "
         f"stay True ({trainable} trainable now)."),
    ], f"only the last {n} layers are trainable: {[layer.name for layer in model.layers[-n:]]}.", recorder)


def compiled_with_current_flags(model) -> bool:
    """True if the model was compiled after the last change to any layer's ``trainable`` flag."""
    state = getattr(model, "_compiled_trainable_state", None)  # Keras records it at compile()
    if state is None:
        return getattr(model, "train_function", None) is None
    return all(state.get(layer, layer.trainable) == layer.trainable
               for layer in model._flatten_layers())


def check_frozen_and_recompiled(model, base, recorder=None):
    """02: ``base`` frozen and the model compiled again so the change takes effect."""
    return check("frozen_and_recompiled", [
        (not base.trainable, "The base is still trainable: set base.trainable = False."),
        (len(model.trainable_weights) > 0, "Nothing is trainable any more; freeze the base only, "
         "not the whole model."),
        (compiled_with_current_flags(model),
         "The flag is set, but the model still uses the training step built before the change. "
         "Call model.compile(...) again after changing trainable."),
    ], "base frozen and the model recompiled: the next fit trains the head only.", recorder)


# ---------------------------------------------------------------- notebook 03

def check_layer_features(feats, model, layer_name: str, images, recorder=None):
    """03: one pooled feature vector per image, taken at ``layer_name``."""
    import numpy as np

    from helpers.features import extract_features, pooled_extractor

    if not_done(feats):
        return check("layer_features", [(False, "Assign the features array first.")], "")
    expected = extract_features(pooled_extractor(model, layer_name), images)
    feats = np.asarray(feats)
    channels = model.get_layer(layer_name).output.shape[-1]
    return check("layer_features", [
        (feats.ndim == 2, f"Expected one vector per image (2-D array); got shape {feats.shape}. "
         "Average the feature maps over height and width (GlobalAveragePooling2D)."),
        (feats.shape == expected.shape, f"Expected shape {expected.shape} ({channels} channels at "
         f"{layer_name}); got {feats.shape}."),
        (lambda: np.allclose(feats, expected, atol=1e-4), f"Right shape, different values: take "
         f"model.get_layer('{layer_name}').output, then average over the two spatial axes."),
    ], f"{feats.shape[0]} vectors of {feats.shape[1]} numbers from {layer_name}.", recorder)


def _sklearn_outputs(clf, x):
    """What a scikit-learn classifier says about ``x``: probabilities where it has them."""
    return clf.predict_proba(x) if hasattr(clf, "predict_proba") else clf.predict(x)


def _fitted_on(clf, x, y, x_probe) -> bool:
    """True if ``clf`` behaves like a copy of itself fitted on ``(x, y)``, judged on ``x_probe``.

    A deterministic classifier (logistic regression, kNN...) refitted gives the same numbers; a
    random one without a seed (two refits disagree) is judged on its predicted classes instead."""
    import numpy as np
    from sklearn.base import clone

    first = clone(clf).fit(x, y)
    mine = np.asarray(_sklearn_outputs(clf, x_probe))
    if np.allclose(mine, np.asarray(_sklearn_outputs(first, x_probe)), atol=1e-5):
        return True
    second = clone(clf).fit(x, y)
    if np.allclose(_sklearn_outputs(first, x_probe), _sklearn_outputs(second, x_probe), atol=1e-5):
        return False   # deterministic, and ``clf`` says something else: fitted on other data
    return float(np.mean(clf.predict(x_probe) == first.predict(x_probe))) >= 0.95


def check_classifier_on_features(clf, accuracy, train, test, num_classes: int, recorder=None):
    """03: a scikit-learn classifier fitted on the cached training features ``train = (f, y)``,
    and its accuracy on ``test = (f, y)``, above chance."""
    import numpy as np

    if not_done(clf) or not_done(accuracy):
        return check("classifier_on_features", [(False, "Assign the fitted classifier and its test "
                                                        "accuracy first.")], "")
    (f_train, y_train), (f_test, y_test) = train, test
    def fitted():
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
        try:
            check_is_fitted(clf)
            return True
        except (NotFittedError, TypeError):
            return False
    n_in = getattr(clf, "n_features_in_", None)
    score = lambda: float(clf.score(f_test, y_test))  # noqa: E731
    chance = 1 / num_classes
    return check("classifier_on_features", [
        (hasattr(clf, "fit") and hasattr(clf, "predict"), "clf should be a scikit-learn classifier, "
         "e.g. LogisticRegression(max_iter=2000)."),
        (fitted, "clf is not fitted yet: call clf.fit(features, labels)."),
        (lambda: n_in == f_train.shape[1], f"clf was fitted on {n_in} numbers per image, but the cached "
         f"features have {f_train.shape[1]}: fit it on the features (f_few), not on the images."),
        (lambda: _fitted_on(clf, f_train, y_train, f_test), "clf does not behave like a classifier fitted "
         "on the training features: fit it on f_few, y_few (the test features are kept for scoring)."),
        (lambda: np.ndim(accuracy) == 0, "Store one number, the accuracy on the test features."),
        (lambda: not (abs(float(accuracy) - float(clf.score(f_train, y_train))) < 1e-9
                      and abs(float(accuracy) - score()) > 1e-9),
         "That is the accuracy on the training features, which the classifier has seen; score it on "
         "f_test, y_test."),
        (lambda: abs(float(accuracy) - score()) < 1e-6, "The stored accuracy is not clf's accuracy on "
         "the test features: clf.score(f_test, y_test)."),
        (lambda: score() > chance + 0.05, lambda: f"Test accuracy {score():.3f} is at chance level "
         f"({chance:.2f}) for {num_classes} classes: are the labels the ones that go with f_few?"),
    ], lambda: f"fitted on {len(y_train)} cached feature vectors, test accuracy {score():.3f} "
               f"(chance: {chance:.2f}).", recorder)


def _loss_from_logits(loss) -> bool | None:
    if isinstance(loss, str):
        return False if "crossentropy" in loss else None
    cfg = getattr(loss, "get_config", lambda: {})()
    return cfg.get("from_logits")


def _gives_probabilities(model, x) -> bool:
    """True if the model's outputs for ``x`` are probabilities: non-negative, summing to one per
    row (a softmax at the end, whichever way it is written)."""
    import numpy as np

    out = np.asarray(model(np.asarray(x, dtype="float32"), training=False))
    return bool((out >= -1e-6).all() and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3))


def check_matching_head(model, num_features: int, num_classes: int, recorder=None, *,
                        test=None, accuracy=None, train=None):
    """03: a compiled head whose outputs and loss agree (softmax probabilities with
    ``from_logits=False``, raw scores with ``from_logits=True``; judged on what the model outputs,
    so ``Dense(..., activation="softmax")``, ``layers.Softmax()`` and ``Activation("softmax")`` all
    count). With ``test = (f, y)`` the head must also be trained and ``accuracy`` be its accuracy
    there (``train = (f, y)`` lets the hint spot a training-set score)."""
    import keras
    import numpy as np

    if not_done(model):
        return check("matching_head", [(False, "Assign the compiled head to my_head first.")], "")
    from_logits = _loss_from_logits(getattr(model, "loss", None))
    probe = (np.asarray(test[0][:64]) if test is not None else
             np.random.default_rng(0).normal(size=(16, num_features)))
    probs = lambda: _gives_probabilities(model, probe)  # noqa: E731
    kind = lambda: "probabilities (softmax)" if probs() else "raw scores (logits)"  # noqa: E731
    def accuracy_on(data):
        x, y = data
        return float(np.mean(np.argmax(np.asarray(model.predict(x, verbose=0)), -1) == np.asarray(y)))
    conditions = [
        (isinstance(model, keras.Model), "my_head should be a Keras model."),
        (lambda: tuple(model.inputs[0].shape[1:]) == (num_features,),
         lambda: f"The head's input should be {num_features} features; it is "
                 f"{tuple(model.inputs[0].shape[1:])}."),
        (lambda: model.outputs[0].shape[-1] == num_classes, f"The head needs {num_classes} outputs, one per class."),
        (getattr(model, "compiled", False), "Compile the head (optimizer, loss, metrics)."),
        (from_logits is not None, "Use a (sparse) categorical cross-entropy loss for classes."),
        (lambda: probs() == (from_logits is False),
         lambda: f"The head outputs {kind()} but the loss has from_logits={from_logits}: they disagree. "
         "Softmax outputs need from_logits=False; no activation (logits) needs from_logits=True."),
    ]
    if test is not None:
        chance = 1 / num_classes
        conditions += [
            (lambda: int(model.optimizer.iterations.numpy()) > 0,
             "The head is compiled but never trained: call my_head.fit(f_few, y_few, epochs=..., verbose=0)."),
            (lambda: not_done(accuracy) is False and np.ndim(accuracy) == 0,
             "Store the head's test accuracy (one number) in my_head_accuracy."),
            (lambda: train is None or abs(float(accuracy) - accuracy_on(test)) < 2e-3
             or abs(float(accuracy) - accuracy_on(train)) >= 2e-3,
             "That is the accuracy on the training features; score the head on f_test, y_test."),
            (lambda: abs(float(accuracy) - accuracy_on(test)) < 2e-3,
             lambda: f"The stored accuracy is not the head's accuracy on the test features "
             f"({accuracy_on(test):.3f}): use my_head.evaluate(f_test, y_test, verbose=0)[1]."),
            (lambda: accuracy_on(test) > chance + 0.05,
             lambda: f"Test accuracy {accuracy_on(test):.3f} is about chance ({chance:.2f}): train for more "
             "epochs or with a larger learning rate (Adam(1e-2))."),
        ]
    def success():
        trained = "" if test is None else f"; trained, test accuracy {accuracy_on(test):.3f}"
        return f"outputs {kind()} with from_logits={from_logits}: they agree{trained}."
    return check("matching_head", conditions, success, recorder)


# ---------------------------------------------------------------- notebook 04

def check_unfrozen_top_block(base, block, recorder=None):
    """04: only the non-BatchNormalization layers of ``block`` (a block name such as ``"block3"``,
    or several) trainable."""
    import keras

    blocks = (block,) if isinstance(block, str) else tuple(block)
    named = " and ".join(blocks)
    def in_blocks(layer):
        return layer.name.split("_")[0] in blocks
    wrong = []
    for layer in base.layers:
        want = in_blocks(layer) and not isinstance(layer, keras.layers.BatchNormalization)
        if bool(layer.trainable) != want and layer.weights:
            wrong.append(layer.name)
    bn_open = [layer.name for layer in base.layers if in_blocks(layer)
               and isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    return check("unfrozen_top_block", [
        (base.trainable, "base.trainable is False, which overrides every layer: set it to True "
         "first, then choose layers."),
        (not bn_open, f"Keep BatchNormalization frozen while fine-tuning: {bn_open} are trainable."),
        (not wrong, f"These layers have the wrong trainable flag: {wrong}. Only the convolutions of "
         f"{named} should train."),
    ], f"only the convolutions of {named} will train; BatchNormalization stays frozen.", recorder)


def check_lowered_learning_rate(model, head_lr: float, factor_min: float = 10, recorder=None):
    """04: recompiled with a learning rate at least ``factor_min`` times lower than the head's."""
    from helpers.finetuning import current_learning_rate

    lr = current_learning_rate(model) if getattr(model, "optimizer", None) is not None else None
    return check("lowered_learning_rate", [
        (lr is not None, "Compile the model with an optimizer first."),
        (lambda: lr <= head_lr / factor_min, lambda: f"The learning rate is {lr:g}; for fine-tuning use "
         f"at least {factor_min:g}x less than the head's {head_lr:g}, e.g. {head_lr / factor_min:g}."),
        (lambda: lr >= head_lr / 1000, lambda: f"{lr:g} is so low the unfrozen layers will barely move; "
         f"try {head_lr / 10:g} to {head_lr / 100:g}."),
    ], lambda: f"learning rate {lr:g}: gentle enough for pretrained weights.", recorder)


def check_two_phase(model, base, before: dict, head_lr: float, histories, recorder=None):
    """04: the two-phase loop written by the learner: head trained on a frozen base, then the top
    block's convolutions unfrozen, the model recompiled with a lower rate, and trained again."""
    import keras

    from helpers.finetuning import current_learning_rate
    from helpers.freezing import snapshot_weights, weight_changes

    histories = list(histories or [])
    after = snapshot_weights(model) if not not_done(model) else {}
    moved = weight_changes(before, after) if after else {}
    def changed(prefix):
        return [k for k, v in moved.items() if k.startswith(prefix) and v > 0]
    bn = [layer for layer in getattr(base, "layers", [])
          if isinstance(layer, keras.layers.BatchNormalization)]
    lr = current_learning_rate(model) if getattr(model, "optimizer", None) is not None else None
    return check("two_phase_loop", [
        (not not_done(model) and len(histories) == 2,
         "Keep both History objects: `h1 = ex3_model.fit(...)` then `h2 = ex3_model.fit(...)`, "
         "and set `ex3_histories = [h1, h2]`."),
        (lambda: changed("new_predictions"), "The head did not change: train it (phase 1)."),
        (lambda: not changed("block1") and not changed("block2"),
         "Blocks 1 and 2 moved: unfreeze only block 3 (set ex3_base.trainable = True, then "
         "layer.trainable = True only for block 3's convolutions)."),
        (lambda: changed("block3_conv"),
         "Block 3's convolutions did not change: unfreeze them, recompile, and fit again."),
        (lambda: not any(layer.trainable for layer in bn),
         "A BatchNormalization layer is trainable; keep them frozen (inference mode)."),
        (lambda: lr is not None and lr <= head_lr / 10,
         f"Recompile for phase 2 with a learning rate at least ten times below {head_lr:g}."),
    ], "two phases: head first, then block 3 at a gentle learning rate.", recorder)


def check_early_stopping_dropout(model, stopper, recorder=None):
    """05: a model with dropout in its new head, trained with an ``EarlyStopping`` callback that
    watches a validation metric and restores the best epoch's weights."""
    import keras
    import numpy as np

    if not_done(model) or not_done(stopper):
        return check("early_stopping_dropout", [(False, "Assign the trained model and the "
                                                        "EarlyStopping callback first.")], "")
    dropout = [layer for layer in getattr(model, "layers", [])
               if isinstance(layer, keras.layers.Dropout)]
    monitor = str(getattr(stopper, "monitor", ""))
    return check("early_stopping_dropout", [
        (isinstance(model, keras.Model), "The model should be a keras.Model."),
        (dropout, "The new head has no Dropout layer: add one between the base and the last Dense "
         "layer, e.g. x = keras.layers.Dropout(0.3)(x)."),
        (lambda: any(layer.rate > 0 for layer in dropout), "Dropout(0) drops nothing: give it a rate "
         "such as 0.2 to 0.5."),
        (isinstance(stopper, keras.callbacks.EarlyStopping), "The callback should be "
         "keras.callbacks.EarlyStopping(monitor=..., patience=..., restore_best_weights=True)."),
        (monitor.startswith("val_"), f"It watches '{monitor}', a training metric, which keeps "
         "improving while the model memorises: watch a validation metric, monitor='val_loss'."),
        (lambda: stopper.restore_best_weights, "Without restore_best_weights=True the model keeps the "
         "last epoch's weights, which may be worse than the best epoch's."),
        (lambda: stopper.model is model, "The callback was never used to train this model: pass it to "
         "fit, callbacks=[stopper]."),
        (lambda: stopper.best is not None and bool(np.isfinite(stopper.best)),
         f"fit had no '{monitor}' to watch: pass validation_data=val to fit."),
    ], lambda: f"dropout rate {max(layer.rate for layer in dropout):g}; early stopping watched "
               f"{monitor} (best {float(stopper.best):.3f}) and kept the best epoch's weights.",
        recorder)


def check_augmentation(augment, images, recorder=None, *, model=_UNSET):
    """05: an augmentation model that changes images in training only and keeps their shape.

    With ``model``: the augmentation must also be used in training, as the model's first step
    (a layer before every layer with weights), and the model must have been trained."""
    import keras
    import numpy as np

    ok = not not_done(augment) and callable(augment)
    def outputs():
        return (np.asarray(augment(images, training=True)), np.asarray(augment(images, training=False)))
    conditions = [
        (ok, "Build `my_augment = keras.Sequential([...])` from keras.layers.Random* layers."),
        (lambda: outputs()[0].shape == images.shape, "The output must have the input's shape."),
        (lambda: not np.allclose(outputs()[0], images),
         "With training=True the images should change; add a random layer such as "
         "RandomTranslation or RandomRotation."),
        (lambda: np.allclose(outputs()[1], images),
         "With training=False the images must pass unchanged (augmentation is for training only)."),
    ]
    if model is not _UNSET:
        parts = [augment, *getattr(augment, "layers", [])]
        def position():
            layers = list(model.layers)
            found = [i for i, layer in enumerate(layers) if any(layer is p for p in parts)]
            weighted = [i for i, layer in enumerate(layers)
                        if layer.weights and not any(layer is p for p in parts)]
            return (min(found) if found else None), (min(weighted) if weighted else len(layers))
        conditions += [
            (not not_done(model) and isinstance(model, keras.Model),
             "Assign the model you trained with the augmentation (a keras.Model) first."),
            (lambda: position()[0] is not None, "my_augment is built but not used in training: it is "
             "not part of the model. Make it the model's first step, x = my_augment(inputs), then "
             "the base and the head."),
            (lambda: position()[0] < position()[1], "my_augment comes after layers with weights: it "
             "must change the images before the base sees them, x = my_augment(inputs)."),
            (lambda: getattr(model, "optimizer", None) is not None
             and int(model.optimizer.iterations.numpy()) > 0,
             "The model has never been trained: compile it and fit it, so the augmentation is used."),
        ]
    success = ("random in training, a no-op at inference" +
               ("; the model's first step, used in every training batch." if model is not _UNSET else "."))
    return check("augmentation_pipeline", conditions, success, recorder)


# ---------------------------------------------------------------- notebook 06

def check_control_on_validation(answer, summary, task: str, budget, recorder=None):
    """06: the control (no pretrained weights) that *validation* ranks best in one cell.
    ``summary`` is ``aggregate`` over the seeds every contender ran (``on_shared_seeds``)."""
    from helpers.experiment import CONTROLS, best_on_validation

    expected = best_on_validation(summary, task, str(budget), CONTROLS)
    on_test = max((s for s in summary if s["task"] == task and s["per_class"] == str(budget)
                   and s["strategy"] in CONTROLS), key=lambda s: s["accuracy_mean"])["strategy"]
    return check("control_on_validation", [
        (not not_done(answer), "Assign a contender's name (a string) to best_control first."),
        (answer in CONTROLS, f"{answer!r} is not a control: the controls use no pretrained weights, "
         f"they are {CONTROLS}."),
        (answer == expected or answer != on_test or on_test == expected,
         f"{answer!r} has the best *test* accuracy. Choosing by test makes the chosen control look "
         "better than it is; rank by 'val_accuracy_mean' instead."),
        (answer == expected, f"{answer!r} is not the control with the highest 'val_accuracy_mean' "
         f"for task {task!r} with {budget} labels per class; filter summary on task, "
         "per_class (a string) and strategy in experiment.CONTROLS, then take the max."),
    ], f"{expected}: the control validation ranks best there.", recorder)


def check_paired_gain(answer, rows, task: str, budget, strategy: str, control: str, recorder=None):
    """06: the per-seed differences (strategy minus control) and their mean, paired by seed."""
    import numpy as np

    from helpers.experiment import scores

    a, b = scores(rows, task, budget, strategy), scores(rows, task, budget, control)
    seeds = sorted(set(a) & set(b))
    expected = np.array([a[s] - b[s] for s in seeds])
    unpaired = np.mean(list(a.values())) - np.mean(list(b.values()))
    value = None if not_done(answer) else np.asarray(answer, dtype=float).ravel()
    return check("paired_gain", [
        (value is not None, "Assign the list of per-seed differences to differences first."),
        (lambda: len(value) == len(expected),
         f"Expected one difference per seed ({len(expected)} seeds), got {len(value)}. Take the "
         "rows of this task and budget, one per seed for each contender."),
        (lambda: not np.allclose(value, -expected, atol=1e-9) or np.allclose(expected, 0),
         f"The signs are flipped: compute {strategy} minus {control}."),
        (lambda: np.allclose(value, expected, atol=1e-9),
         "The differences must be paired: for each seed, subtract the control's accuracy on *that* "
         f"seed's sample from {strategy}'s. Sort both by seed first."),
    ], f"mean difference {expected.mean():+.3f} (the means of the two lists differ by "
       f"{unpaired:+.3f} too, but only the paired list gives an interval that cancels each "
       "sample's luck).", recorder)


# ---------------------------------------------------------------- notebook 07

def check_preprocessed(batch, name: str, images, recorder=None):
    """07: ``images`` (grey, 0..1) as 96×96 RGB 0..255 pixels, through the family's own
    ``preprocess_input``.

    The expectation is rebuilt from ``images``, never from the learner's ``raw``: some
    ``preprocess_input`` functions change a float array in place, so ``raw`` may already hold
    the answer after a correct ``ready = preprocess_input(raw)``.
    """
    import numpy as np

    from helpers.applications import preprocess_input, to_rgb_batch

    if not_done(batch):
        return check("preprocessed", [(False, "Assign the preprocessed batch first.")], "")
    pixels = np.asarray(to_rgb_batch(images), dtype="float32")
    expected = np.asarray(preprocess_input(name)(pixels.copy()))
    batch = np.asarray(batch)
    return check("preprocessed", [
        (batch.shape == expected.shape, f"Shape {batch.shape} should stay {expected.shape}: "
         "preprocess_input changes values, not shape."),
        (lambda: not np.allclose(batch, pixels / 255.0, atol=1e-4),
         "These are the pixels divided by 255 (0..1). Each family scales in its own way: pass the "
         f"0..255 pixels to keras.applications' preprocess_input for {name}."),
        (lambda: not np.allclose(batch, pixels, atol=1e-4),
         "These are still the raw 0..255 pixels: pass them through preprocess_input."),
        (lambda: np.allclose(batch, expected, atol=1e-4),
         f"Values in [{batch.min():.2f}, {batch.max():.2f}], expected [{expected.min():.2f}, "
         f"{expected.max():.2f}]. Use {name}'s own preprocess_input (keras.applications."
         f"{'mobilenet_v2' if name == 'MobileNetV2' else 'efficientnet'}), once, on 0..255 pixels."),
    ], f"values now in [{expected.min():.1f}, {expected.max():.1f}], as {name} expects.", recorder)


def check_kfold_scores(scores, k: int, recorder=None):
    """07: one score per fold, all between 0 and 1."""
    import numpy as np

    if not_done(scores):
        return check("kfold_scores", [(False, "Assign the list of fold scores first.")], "")
    scores = np.asarray(scores, dtype=float)
    return check("kfold_scores", [
        (scores.ndim == 1 and len(scores) == k, f"Expected {k} scores (one per fold), got "
         f"{scores.shape}."),
        (lambda: ((0 <= scores) & (scores <= 1)).all(), "Scores should be accuracies between 0 and 1."),
        (lambda: scores.std() > 1e-9, "All folds have exactly the same score: did you evaluate on the "
         "same split every time? Use the test indices each fold gives you."),
    ], f"{k} folds: mean {scores.mean():.3f}, spread {scores.std():.3f}.", recorder)


# ---------------------------------------------------------------- worked solutions, on request

from helpers.solutions import solution  # noqa: E402,F401  exercises.solution("02-1")
