"""Notebook 03 (first used in 00): reading a network's features with a linear probe, beside the
same network with random weights (the course's random control), and the transferability
assessment.

A linear probe (logistic regression on fixed features) says how well features already separate
new classes. "Pretrained beats pixels" does not show that pretraining helped; "pretrained beats
random weights of the same network" does, when both arms choose from menus of the same size on
validation (layer × C × BatchNormalization statistics) and the test images are read once.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from helpers import data, features, models, stats

__all__ = ["PROBE_C", "tuned_probe", "random_twin", "calibrated_copy", "layer_features", "three_probes",
           "three_probes_in_words", "depth_probe", "plot_depth_probe", "transferability",
           "assess_targets", "plot_assessment", "probe_on_validation"]

PROBE_C = (0.01, 0.1, 1.0, 10.0)  # the linear probe's regularisation, chosen on validation


def tuned_probe(train_f, train_y, val_f, val_y, seed: int = 0, c_values=PROBE_C, max_iter: int = 2000):
    """A linear probe tuned on validation: standardised features, logistic regression, its C
    chosen on ``val_f, val_y`` (``features.linear_probe`` is the untuned one, scored directly).

    Returns ``(classifier, validation accuracy)``; score it on test only after every choice."""
    best = None
    for c in c_values:
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter,
                                                                 random_state=seed))
        clf.fit(train_f, train_y)
        score = float(clf.score(val_f, val_y))
        if best is None or score > best[1]:
            best = (clf, score)
    return best


def random_twin(model, seed: int, calibrate_on=None):
    """The course's random-weight control for the few-shot sample drawn with ``seed``: the same
    architecture as ``model`` with fresh random weights, drawn with seed
    ``models.TWIN_SEED + seed`` (never the sample's own seed; ``helpers/models.py`` defines the
    control).

    ``calibrate_on`` (images): set its BatchNormalization statistics from them
    (:func:`helpers.features.calibrate_batchnorm`); without it they stay as initialised. Both
    treatments are legitimate, so the course's comparisons give the control both and keep the
    one better on validation (:func:`transferability`, :func:`three_probes`, :func:`depth_probe`).
    """
    models.set_seed(models.TWIN_SEED + seed)
    twin = keras.models.clone_model(model)  # same layers, newly initialised weights
    if calibrate_on is not None:
        features.calibrate_batchnorm(twin, calibrate_on)
    return twin


def calibrated_copy(model, images):
    """A copy of ``model`` (same weights) whose BatchNormalization statistics are set from
    ``images`` (:func:`helpers.features.calibrate_batchnorm`); ``model`` itself is unchanged."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return features.calibrate_batchnorm(copy, images)


_BY_DEPTH: dict = {}


def _by_depth(model, layer_names: tuple):
    """One model with an output per layer, built once per (model, layers) and kept, so repeated
    calls on the same model do not rebuild it."""
    key = (id(model), layer_names)
    if key not in _BY_DEPTH or _BY_DEPTH[key][0] is not model:
        outputs = [features.pooled_extractor(model, name).output for name in layer_names]
        _BY_DEPTH[key] = (model, keras.Model(model.input, outputs, name="features_by_depth"))
        while len(_BY_DEPTH) > 8:        # random twins come and go: keep only the recent ones
            _BY_DEPTH.pop(next(iter(_BY_DEPTH)))
    return _BY_DEPTH[key][1]


def layer_features(model, layer_names, images) -> dict:
    """{layer: pooled features of ``images``}, every layer from one forward pass."""
    every_layer = _by_depth(model, tuple(layer_names))
    images = np.asarray(images, dtype="float32")
    chunks = []   # called directly, 128 images at a time: no predict step to trace per shape
    for start in range(0, len(images), 128):
        out = every_layer(images[start:start + 128], training=False)
        chunks.append([np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])])
    return {name: np.concatenate([c[i] for c in chunks]) for i, name in enumerate(layer_names)}


# ---------------------------------------------------------------- equal menus, choices on validation

def _menus(model, twin, images) -> dict:
    """The two arms' BatchNormalization menus on one few-shot sample (``images``, unlabelled):
    {"pretrained": [(option, network)], "random": [(option, network)]}. The pretrained ``model``
    keeps its source statistics or has them recalibrated on the sample
    (``models.PRETRAINED_BATCHNORM``); its random ``twin`` keeps its initial statistics or has
    them calibrated on the sample (``models.TWIN_BATCHNORM``): menus of the same size."""
    return {"pretrained": ((models.PRETRAINED_BATCHNORM[0], model),
                           (models.PRETRAINED_BATCHNORM[1], calibrated_copy(model, images))),
            "random": ((models.TWIN_BATCHNORM[0], twin),
                       (models.TWIN_BATCHNORM[1], calibrated_copy(twin, images)))}


def _fits_on_validation(menu, layer_names, x, y, val, seed: int, val_features=None) -> dict:
    """{(option, layer): (validation accuracy, network, classifier)}: a linear probe, its C chosen
    on ``val`` = (images, labels), on the features after every layer, for every option of
    ``menu`` ([(option, network)]), in that order. ``val_features(network)`` gives the
    validation images' {layer: features} (default: computed here)."""
    fits = {}
    for option, net in menu:
        val_feats = (val_features(net) if val_features is not None
                     else layer_features(net, layer_names, val[0]))
        train = layer_features(net, layer_names, x)
        for layer in layer_names:
            clf, acc = tuned_probe(train[layer], y, val_feats[layer], val[1], seed)
            fits[option, layer] = (acc, net, clf)
    return fits


def _best_of(fits: dict):
    """The (validation accuracy, option, network, layer, classifier) of the best of ``fits``
    (:func:`_fits_on_validation`). Ties go to the first: the first option, the shallower layer
    (and, inside :func:`tuned_probe`, the smaller C)."""
    option, layer = max(fits, key=lambda key: fits[key][0])   # max keeps the first of equals
    acc, net, clf = fits[option, layer]
    return acc, option, net, layer, clf


def _best_on_validation(menu, layer_names, x, y, val, seed: int, val_features=None):
    """The (validation accuracy, option, network, layer, classifier) that a linear probe scores
    best on validation, over every option of ``menu`` ([(option, network)]), layer and C. Ties
    go to the first: the first option, the shallower layer, the smaller C."""
    return _best_of(_fits_on_validation(menu, layer_names, x, y, val, seed, val_features))


# ---------------------------------------------------------------- notebook 00: the first measurement

def three_probes(task, pretrained, random_weights, per_class: int, seed: int = 0,
                 test_images: int = 2000, val_images: int = 500,
                 layers=("block3_relu1", "features")) -> dict:
    """Notebook 00's first measurement on one target: linear probes on raw pixels, on the features
    of ``random_weights`` (the same network, untrained: its random twin for this sample,
    :func:`random_twin` with ``seed``) and on those of ``pretrained``.

    One few-shot sample of ``per_class`` images per class (``seed``). Each network chooses as in
    :func:`transferability`: the layer, the probe's C and its BatchNormalization statistics
    (the pretrained network's from its source or recalibrated on the sample, the twin's as
    initialised or calibrated on it) on validation; the test images are scored once, for that
    choice. Returns the three test accuracies, each network's chosen layer and statistics
    (``"<name> layer"``, ``"<name> batchnorm"``), and 2-D PCA projections of the test images as
    each one describes them (for the plot).
    """
    x_few, y_few = data.few_shot(task.x_train, task.y_train, per_class, seed=seed)
    val = (task.x_val[:val_images], task.y_val[:val_images])
    x_test, y_test = task.x_test[:test_images], task.y_test[:test_images]
    px = features.flatten_pixels
    clf, _ = tuned_probe(px(x_few), y_few, px(val[0]), val[1], seed)
    out = {"pixels": float(clf.score(px(x_test), y_test)), "y_test": y_test,
           "pixel points": features.pca_2d(x_test, seed)}
    menus = _menus(pretrained, random_weights, x_few)
    for name, arm in (("random weights", "random"), ("pretrained", "pretrained")):
        _, option, net, cut, clf = _best_on_validation(menus[arm], layers, x_few, y_few, val, seed)
        test = layer_features(net, (cut,), x_test)[cut]             # test, read once
        out[name] = float(clf.score(test, y_test))
        out[f"{name} layer"], out[f"{name} batchnorm"] = cut, option
        out[f"{name} points"] = features.pca_2d(test, seed)
    return out


def three_probes_in_words(result: dict, target: str) -> str:
    """One sentence on a :func:`three_probes` result: did pretrained features beat random
    weights of the same network, and raw pixels? Written from the run's numbers."""
    gain = result["pretrained"] - result["random weights"]
    over_pixels = result["pretrained"] - result["pixels"]
    return (f"{target}: pretrained features {'beat' if gain > 0 else 'did not beat'} random weights "
            f"of the same network ({gain:+.3f}) and {'beat' if over_pixels > 0 else 'did not beat'} "
            f"raw pixels ({over_pixels:+.3f}).")


# ---------------------------------------------------------------- notebook 03: depth, assessment, choice

def depth_probe(pretrained, random_weights, layer_names, train, val, seed: int = 0) -> dict:
    """Notebook 03's depth plot on one few-shot sample ``train`` = (images, labels): a linear
    probe on the features after each layer of ``layer_names``, scored on ``val`` = (images,
    labels), for the ``pretrained`` network and for ``random_weights``, its random twin for this
    sample (:func:`random_twin` with the sample's seed).

    Each arm chooses as in :func:`transferability`: for each layer, the probe's C and the
    network's BatchNormalization statistics are chosen on validation (the pretrained network's
    from its source or recalibrated on the sample, the twin's as initialised or calibrated on
    it), and the arm's choice is the best of every (statistics, layer). Returns {"pretrained":
    ..., "random weights": ...}, each a dict: ``"validation"`` {layer: validation accuracy},
    ``"batchnorm"`` {layer: the statistics chosen there}, and the arm's overall choice:
    ``"layer"``, ``"network"`` (with the chosen statistics) and ``"probe"`` (the fitted
    classifier), to read the test images once:
    ``probe.score(layer_features(network, [layer], x_test)[layer], y_test)``.
    """
    x, y = train
    menus = _menus(pretrained, random_weights, x)
    out = {}
    for name, arm in (("pretrained", "pretrained"), ("random weights", "random")):
        fits = _fits_on_validation(menus[arm], layer_names, x, y, val, seed)
        options = [option for option, _ in menus[arm]]
        best = {layer: max(options, key=lambda o, layer=layer: fits[o, layer][0])
                for layer in layer_names}
        _, _, net, layer, clf = _best_of(fits)
        out[name] = {"validation": {k: fits[best[k], k][0] for k in layer_names},
                     "batchnorm": best, "layer": layer, "network": net, "probe": clf}
    return out


def plot_depth_probe(depth: dict, layer_names, title: str | None = None):
    """Validation accuracy of a probe after each layer: one colour per target, solid for the
    pretrained network, dashed for its random-weight twin. ``depth`` maps (target, model) to
    {layer: accuracy}, as built in notebook 03."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    targets = list(dict.fromkeys(t for t, _ in depth))
    for i, target in enumerate(targets):
        for model_name, style in (("pretrained", "o-"), ("random weights", "o--")):
            if (target, model_name) in depth:
                scores = depth[target, model_name]
                ax.plot(list(layer_names), [scores[n] for n in layer_names], style, color=f"C{i}",
                        label=f"{target}, {model_name}")
    ax.set_ylabel("linear-probe validation accuracy")
    ax.set_xlabel("features taken after layer")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def transferability(model, task, budgets, seeds, layer_names, val_images: int | None = 500,
                    test_images: int | None = 2000, progress: bool = True) -> list[dict]:
    """The transferability assessment: linear probes on the pretrained ``model`` and on its
    random-weight twin, on the same few-shot samples.

    For each (budget, seed) the twin is the same architecture with random weights drawn with
    seed ``models.TWIN_SEED + seed``. Each arm chooses on validation from a menu of the same
    size: layer × C × BatchNormalization statistics, where the twin's statistics are left as
    initialised or calibrated on the sample's (unlabelled) images (``models.TWIN_BATCHNORM``), and
    the pretrained network's come from its source or are recalibrated on the sample
    (``models.PRETRAINED_BATCHNORM``). Test accuracy is read once, for each arm's choice.

    Returns one row per (budget, seed) with each arm's validation and test accuracy, its chosen
    layer (``*_layer``) and BatchNormalization option (``*_batchnorm``). ``val_images`` and
    ``test_images`` cut the splits (None: all of them)."""
    val = (task.x_val[:val_images], task.y_val[:val_images])
    test = (task.x_test[:test_images], task.y_test[:test_images])
    source_val = layer_features(model, layer_names, val[0])
    source_test: dict = {}     # the pretrained network's test features, per layer once chosen

    def val_features(net):
        return source_val if net is model else layer_features(net, layer_names, val[0])

    rows = []
    jobs = [(b, s) for s in seeds for b in budgets]
    for budget, seed in tqdm(jobs, desc="assessment", disable=not progress):
        x, y = data.few_shot(task.x_train, task.y_train, budget, seed=seed)
        menus = _menus(model, random_twin(model, seed), x)
        row = {"per_class": budget, "seed": seed}
        for name, menu in menus.items():
            val_acc, option, net, layer, clf = _best_on_validation(menu, layer_names, x, y, val,
                                                                   seed, val_features)
            # test features only for the choice: the test split is read once, after it
            if net is model:
                if layer not in source_test:
                    source_test[layer] = layer_features(model, (layer,), test[0])[layer]
                test_feats = source_test[layer]
            else:
                test_feats = layer_features(net, (layer,), test[0])[layer]
            row[f"{name}_layer"] = layer
            row[f"{name}_batchnorm"] = option
            row[f"{name}_val"] = val_acc
            row[f"{name}_test"] = float(clf.score(test_feats, test[1]))
        rows.append(row)
    return rows


def assess_targets(model, tasks, budgets, seeds, layer_names, val_images: int = 500,
                   test_images: int = 500) -> dict:
    """The transferability assessment on several targets: {(target name, labels per class):
    paired comparison} of pretrained features against random weights of the same network
    (:func:`transferability` per target, then :func:`helpers.stats.paired` over the samples)."""
    out = {}
    for task in tasks:
        rows = transferability(model, task, budgets, seeds, layer_names,
                               val_images=val_images, test_images=test_images)
        for b in budgets:
            mine = [r for r in rows if r["per_class"] == b]
            out[task.name, b] = stats.paired([r["pretrained_test"] for r in mine],
                                             [r["random_test"] for r in mine])
    return out


def plot_assessment(assessment: dict, title: str | None = None):
    """Each target's mean difference (pretrained − random) per budget, with its bootstrap interval."""
    targets = list(dict.fromkeys(t for t, _ in assessment))
    budgets = list(dict.fromkeys(b for _, b in assessment))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, name in enumerate(targets):
        ps = [assessment[name, b] for b in budgets]
        xs = np.arange(len(ps)) + (i - (len(targets) - 1) / 2) * 0.2
        mean = np.array([p["difference"] for p in ps])
        lo, hi = np.array([p["bootstrap"] for p in ps]).T
        ax.errorbar(xs, mean, yerr=[mean - lo, hi - mean], fmt="o", capsize=3, label=name)
    ax.axhline(0, color="grey", linewidth=1)
    ax.set_xticks(range(len(budgets)), budgets)
    ax.set_xlabel("labels per class")
    ax.set_ylabel("pretrained − random (test accuracy)")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def probe_on_validation(extractor, train, val, seed: int = 0):
    """A linear probe on ``extractor``'s features, fitted on ``train`` = (images, labels) with its
    C chosen on ``val``; returns ``(classifier, validation accuracy)``. Scoring candidate source
    models this way, on validation only, is how notebook 03 chooses one."""
    (x_train, y_train), (x_val, y_val) = train, val
    return tuned_probe(features.extract_features(extractor, x_train), y_train,
                       features.extract_features(extractor, x_val), y_val, seed)
