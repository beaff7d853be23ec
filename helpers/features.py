"""Notebook 03: feature extraction — run the frozen base once, cache its output, train a small head.

Running a frozen base inside every training epoch recomputes the same numbers again and again;
computing them once and caching them (in memory or on disk) makes each epoch cost only the head.
Here: features from any layer (pooled to one vector per image) and their disk cache, raw pixels
as the baseline, a plain linear probe, BatchNormalization statistics set from unlabelled images,
the small Keras head and its timing against the frozen base in the loop, a regression pretext
task, and 2-D projections of features with a score of how well they separate the classes.
Probes with their choices on validation, the random-weight control and the transferability
assessment are in ``helpers/probes.py``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import config, models, traced

__all__ = ["FEATURE_CACHE_DIR", "extract_features", "cached_features", "weights_fingerprint",
           "flatten_pixels", "linear_probe", "dense_head", "compile_classifier",
           "frozen_base_model", "time_per_epoch", "in_loop_vs_cached", "pooled_extractor",
           "calibrate_batchnorm", "regression_pretext_targets", "build_regression_model",
           "pca_2d", "separation_score"]

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
    """Test accuracy of a logistic regression trained on fixed features (scikit-learn), with
    scikit-learn's default C: the plain probe (``probes.tuned_probe`` chooses C on validation)."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(train_x, train_y)
    return float(clf.score(test_x, test_y))


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
    traced.build_before_fit(model, x, y)     # one trace of the step, not two
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
