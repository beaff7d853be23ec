"""Notebook 03: feature extraction — run the frozen base once, cache its output, train a small head.

Running a frozen base inside every training epoch recomputes the same numbers again and again;
computing them once and caching them (in memory or on disk) makes each epoch cost only the head.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from helpers import config, data, models, stats

FEATURE_CACHE_DIR = config.CACHE_DIR / "features"


def extract_features(base, images, batch_size: int = 128) -> np.ndarray:
    """The base model's output for every image, as a NumPy array (one forward pass, no training).

    The model is called directly, ``batch_size`` images at a time, in inference mode: unlike
    ``predict`` this traces nothing, which matters when many short-lived models are used.
    Each call holds one batch's activations of every layer: 128 small images keep that modest."""
    images = np.asarray(images, dtype="float32")
    if len(images) == 0:
        return np.zeros((0, *base.output.shape[1:]), "float32")
    return np.concatenate([np.asarray(base(images[i:i + batch_size], training=False))
                           for i in range(0, len(images), batch_size)])


def pooled_extractor(model, layer_name: str):
    """A feature extractor ending at ``layer_name``; conv maps are averaged to one vector per image."""
    out = model.get_layer(layer_name).output
    if len(out.shape) == 4:
        out = keras.layers.GlobalAveragePooling2D(name=f"{layer_name}_gap")(out)
    elif len(out.shape) > 2:
        out = keras.layers.Flatten()(out)
    return keras.Model(model.input, out, name=f"features_{layer_name}")


def weights_fingerprint(model) -> str:
    """A short hash of a model's weights: cached features are only reused for the same weights."""
    digest = hashlib.sha256()
    for w in model.weights:
        digest.update(np.ascontiguousarray(w.numpy()).tobytes())
    return digest.hexdigest()[:12]


def cached_features(base, images, key: str, cache_dir: Path = FEATURE_CACHE_DIR,
                    batch_size: int = 128) -> tuple[np.ndarray, bool]:
    """Features of ``images`` from disk if computed before (same key, same weights), else computed and saved.

    Returns ``(features, from_cache)``. The file name carries the weights' fingerprint and the
    images' shape, so changing the model or the data never returns stale features.
    """
    images = np.asarray(images)
    data_hash = hashlib.sha256(images[:: max(1, len(images) // 64)].tobytes()).hexdigest()[:8]
    name = f"{key}-{weights_fingerprint(base)}-{len(images)}-{data_hash}.npy"
    path = Path(cache_dir) / name
    if path.is_file():
        try:
            return np.load(path), True
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a damaged cache file is simply recomputed
    feats = extract_features(base, images, batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own: two kernels (a parallel course run) may write the same features at once
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
    np.save(tmp, feats)
    tmp.replace(path)
    return feats, False


def flatten_pixels(images) -> np.ndarray:
    """Raw pixels as feature vectors: the baseline with no pretrained knowledge at all."""
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def linear_probe(train_x, train_y, test_x, test_y, seed: int = 0) -> float:
    """Test accuracy of a logistic regression trained on fixed features (scikit-learn)."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(train_x, train_y)
    return float(clf.score(test_x, test_y))


PROBE_C = (0.01, 0.1, 1.0, 10.0)  # the linear probe's regularisation, chosen on validation


def probe(train_f, train_y, val_f, val_y, seed: int = 0, c_values=PROBE_C, max_iter: int = 2000):
    """A linear probe: standardised features, logistic regression, its C chosen on validation.

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

    ``calibrate_on`` (images): set its BatchNormalization statistics from them (see
    :func:`calibrate_batchnorm`); without it they stay as initialised. Both treatments are
    legitimate, so the course's comparisons give the control both and keep the one better on
    validation (:func:`transferability`, :func:`three_probes`, :func:`depth_probe`).
    """
    models.set_seed(models.TWIN_SEED + seed)
    twin = keras.models.clone_model(model)  # same layers, newly initialised weights
    if calibrate_on is not None:
        calibrate_batchnorm(twin, calibrate_on)
    return twin


def calibrate_batchnorm(model, images, max_images: int = 2048):
    """Set every BatchNormalization layer's moving mean and variance to the statistics of
    ``images`` (unlabelled), layer after layer, in one forward pass. Newly initialised layers
    hold mean 0 and variance 1, which leaves a random network's activations tiny and lopsided."""
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in bns]
    try:
        for layer in bns:
            layer.momentum = 0.0          # the moving statistics become this batch's statistics
        model(np.asarray(images, dtype="float32")[:max_images], training=True)
    finally:
        for layer, momentum in zip(bns, saved, strict=True):
            layer.momentum = momentum
    return model


_BY_DEPTH: dict = {}


def _by_depth(model, layer_names: tuple):
    """One model with an output per layer, built once per (model, layers) and kept, so repeated
    calls on the same model do not rebuild it."""
    key = (id(model), layer_names)
    if key not in _BY_DEPTH or _BY_DEPTH[key][0] is not model:
        outputs = [pooled_extractor(model, name).output for name in layer_names]
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


def _calibrated_copy(model, images):
    """A copy of ``model`` (same weights) whose BatchNormalization statistics are set from
    ``images`` (:func:`calibrate_batchnorm`); ``model`` itself is left as it is."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return calibrate_batchnorm(copy, images)


def _menus(model, twin, images) -> dict:
    """The two arms' BatchNormalization menus on one few-shot sample (``images``, unlabelled):
    {"pretrained": [(option, network)], "random": [(option, network)]}. The pretrained ``model``
    keeps its source statistics or has them recalibrated on the sample
    (``models.PRETRAINED_BATCHNORM``); its random ``twin`` keeps its initial statistics or has
    them calibrated on the sample (``models.TWIN_BATCHNORM``): menus of the same size."""
    return {"pretrained": ((models.PRETRAINED_BATCHNORM[0], model),
                           (models.PRETRAINED_BATCHNORM[1], _calibrated_copy(model, images))),
            "random": ((models.TWIN_BATCHNORM[0], twin),
                       (models.TWIN_BATCHNORM[1], _calibrated_copy(twin, images)))}


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
            clf, acc = probe(train[layer], y, val_feats[layer], val[1], seed)
            fits[option, layer] = (acc, net, clf)
    return fits


def _best_of(fits: dict):
    """The (validation accuracy, option, network, layer, classifier) of the best of ``fits``
    (:func:`_fits_on_validation`). Ties go to the first: the first option, the shallower layer
    (and, inside :func:`probe`, the smaller C)."""
    option, layer = max(fits, key=lambda key: fits[key][0])   # max keeps the first of equals
    acc, net, clf = fits[option, layer]
    return acc, option, net, layer, clf


def _best_on_validation(menu, layer_names, x, y, val, seed: int, val_features=None):
    """The (validation accuracy, option, network, layer, classifier) that a linear probe scores
    best on validation, over every option of ``menu`` ([(option, network)]), layer and C. Ties
    go to the first: the first option, the shallower layer, the smaller C."""
    return _best_of(_fits_on_validation(menu, layer_names, x, y, val, seed, val_features))


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


def dense_head(num_features: int, num_classes: int, dropout: float = 0.2, name: str = "head"):
    """A small Keras classifier for feature vectors: dropout + one softmax layer."""
    return keras.Sequential([keras.Input(shape=(num_features,)), keras.layers.Dropout(dropout),
                             keras.layers.Dense(num_classes, activation="softmax")], name=name)


def compile_classifier(model, learning_rate: float = 1e-2):
    """Adam + sparse categorical cross-entropy on softmax outputs + accuracy.

    A single new layer on fixed features has few weights and few examples; 1e-2 lets it
    converge in a few dozen steps (fine-tuning a pretrained block needs far less: notebook 04).
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def frozen_base_model(base, num_classes: int, dropout: float = 0.2):
    """The end-to-end variant: the frozen base and the same head in one model (base runs every epoch)."""
    base.trainable = False
    inputs = keras.Input(shape=base.input.shape[1:])
    x = base(inputs, training=False)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="frozen_base_plus_head")


def time_per_epoch(model, x, y, epochs: int, batch_size: int = 32) -> tuple[float, object]:
    """Fit ``model`` and return (median seconds per epoch after the first, the History).

    The first epoch includes tracing the training function, so it is left out when there are more.
    """
    class _Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    times: list[float] = []
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                        callbacks=[_Timer()])
    steady = times[1:] if len(times) > 1 else times
    return float(np.median(steady)), history


def in_loop_vs_cached(base, x_train, y_train, x_test, y_test, num_classes: int, epochs: int,
                      seed: int = 0, batch_size: int = 128) -> dict:
    """Train the same head two ways on the same data; return times per epoch and test accuracies."""
    models.set_seed(seed)
    end_to_end = compile_classifier(frozen_base_model(base, num_classes))
    loop_epoch, _ = time_per_epoch(end_to_end, x_train, y_train, epochs, batch_size)
    loop_acc = float(end_to_end.evaluate(x_test, y_test, verbose=0)[1])

    models.set_seed(seed)
    t0 = time.perf_counter()
    f_train = extract_features(base, x_train)
    extract_seconds = time.perf_counter() - t0
    f_test = extract_features(base, x_test)
    head = compile_classifier(dense_head(f_train.shape[1], num_classes))
    cached_epoch, _ = time_per_epoch(head, f_train, y_train, epochs, batch_size)
    cached_acc = float(head.evaluate(f_test, y_test, verbose=0)[1])
    return {"in_loop_s_per_epoch": loop_epoch, "cached_s_per_epoch": cached_epoch,
            "extract_once_s": extract_seconds, "speedup": loop_epoch / cached_epoch,
            "in_loop_accuracy": loop_acc, "cached_accuracy": cached_acc}


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


def regression_pretext_targets(images, size: int = 7) -> np.ndarray:
    """A regression target made from the images themselves: their ``size``×``size`` thumbnail."""
    images = np.asarray(images)[..., 0]
    n, h, w = images.shape
    f = h // size
    return images[:, : size * f, : size * f].reshape(n, size, f, size, f).mean(axis=(2, 4)).reshape(n, -1)


def build_regression_model(outputs: int = 49):
    """The source architecture with a regression head (linear outputs, mean squared error)."""
    trunk = models.build_source_cnn()
    features = trunk.get_layer("features").output
    out = keras.layers.Dense(outputs, name="regression")(features)
    model = keras.Model(trunk.input, out, name="regression_pretext")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    return model


def pca_2d(x, seed: int = 0) -> np.ndarray:
    """Project feature vectors (or flattened images) onto their two main directions of variation."""
    x = np.asarray(x).reshape(len(x), -1)
    return PCA(n_components=2, random_state=seed).fit_transform(x)


def separation_score(points, labels) -> float:
    """Silhouette score of labelled points: near 1 = tight separate clusters, near 0 = mixed."""
    return float(silhouette_score(np.asarray(points).reshape(len(points), -1), labels))


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
    px = flatten_pixels
    clf, _ = probe(px(x_few), y_few, px(val[0]), val[1], seed)
    out = {"pixels": float(clf.score(px(x_test), y_test)), "y_test": y_test,
           "pixel points": pca_2d(x_test, seed)}
    menus = _menus(pretrained, random_weights, x_few)
    for name, arm in (("random weights", "random"), ("pretrained", "pretrained")):
        _, option, net, cut, clf = _best_on_validation(menus[arm], layers, x_few, y_few, val, seed)
        test = layer_features(net, (cut,), x_test)[cut]             # test, read once
        out[name] = float(clf.score(test, y_test))
        out[f"{name} layer"], out[f"{name} batchnorm"] = cut, option
        out[f"{name} points"] = pca_2d(test, seed)
    return out


def three_probes_in_words(result: dict, target: str) -> str:
    """One sentence on a :func:`three_probes` result: did pretrained features beat random
    weights of the same network, and raw pixels? Written from the run's numbers."""
    gain = result["pretrained"] - result["random weights"]
    over_pixels = result["pretrained"] - result["pixels"]
    return (f"{target}: pretrained features {'beat' if gain > 0 else 'did not beat'} random weights "
            f"of the same network ({gain:+.3f}) and {'beat' if over_pixels > 0 else 'did not beat'} "
            f"raw pixels ({over_pixels:+.3f}).")


# ---------------------------------------------------------------- notebook 03: plots and choices

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
    return probe(extract_features(extractor, x_train), y_train,
                 extract_features(extractor, x_val), y_val, seed)
