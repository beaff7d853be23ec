"""The network that transfer starts from, behind one small interface: the course's source CNN or
an ImageNet model from ``keras.applications``.

Notebook 06's fair comparison (``helpers.experiment``) needs seven things from a backbone, and
nothing else:

- its pretrained network, which takes the task's images as they are stored (values in [0, 1]);
- its random-init twin: the same architecture with fresh random weights, drawn from a seed;
- the layers features may be read from (``feature_layers``), and a pooled extractor at one of them;
- the base that fine-tuning puts a new head on, and how to unfreeze its top ``n`` blocks;
- the same architecture from random weights with a classifier on top (the scratch model);
- how images are prepared for it (resized, grey made RGB, scaled as its weights expect).

``SOURCE_CNN`` is exactly what notebook 06 has always used. ``keras_application("MobileNetV2",
96, "imagenet")`` gives an ImageNet model for photos; with ``weights=None`` it has random weights
and never touches the network. For a ``keras.applications`` model, the preparation happens
*inside* the network (resizing, grey to RGB, the family's ``preprocess_input``), so the exported
model takes images in [0, 1] at the size they were stored.
"""

from __future__ import annotations

import random
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import keras
import numpy as np

from helpers import applications, features, finetuning, models

__all__ = ["Backbone", "SourceCNN", "KerasApplication", "SOURCE_CNN", "keras_application",
           "named", "with_available_weights", "PREPROCESS_SCALE", "FIXED_RANDOM_SEED"]

# The family's ``preprocess_input`` folded with the ×255 that turns [0, 1] images into [0, 255]:
# (scale, offset) for a ``Rescaling`` layer. MobileNetV2 wants [-1, 1]; EfficientNet rescales
# inside its own network and wants [0, 255]. tests/test_backbones.py checks both against Keras.
PREPROCESS_SCALE = {"MobileNetV2": (2.0, -1.0), "EfficientNetB0": (255.0, 0.0)}
# What stands in for pretrained weights when a backbone has none (weights=None): one random draw,
# always the same, apart from the random-init twins (which use seed + RANDOM_INIT_SEED).
FIXED_RANDOM_SEED = 12_345
# The name of each family's blocks, for fine-tuning's "top n blocks".
BLOCK_PATTERN = {"MobileNetV2": r"^(block_\d+)_", "EfficientNetB0": r"^(block\d+[a-z])_"}
LAST_BLOCK_OUTPUT = {"MobileNetV2": "block_16_project_BN", "EfficientNetB0": "block7a_project_bn"}


@dataclass(frozen=True)
class Backbone:
    """What the fair comparison needs from the network that transfer starts from.

    ``weights`` says where the pretrained weights come from: ``"course"`` (the source CNN),
    ``"imagenet"``, or ``None`` (random weights: no pretraining at all).
    """

    name: str
    input_size: int
    channels: int
    weights: str | None
    feature_layers: tuple

    @property
    def input_shape(self) -> tuple:
        """The shape the network itself works at (after any preparation layers)."""
        return (self.input_size, self.input_size, self.channels)

    @property
    def weights_label(self) -> str:
        """``"course"``, ``"imagenet"`` or ``"random"``: what the recommendation is told."""
        return self.weights or "random"

    def trace_key(self, image_shape) -> tuple:
        """Extra key for kept traced models (helpers/traced.py): one per backbone and image shape."""
        return (self.name, self.input_size, self.weights_label, tuple(image_shape))

    def cache_tag(self) -> str:
        """Added to the feature cache's file names, so that two backbones never share a name."""
        return f"-{self.name}{self.input_size}"

    def pretrained(self, image_shape):
        """A fresh copy of the pretrained network, taking images of ``image_shape`` in [0, 1]."""
        raise NotImplementedError

    def random_init(self, seed: int, image_shape):
        """The same architecture as :meth:`pretrained` with random weights drawn from ``seed``."""
        raise NotImplementedError

    def extractor(self, model, layer: str):
        """``model`` cut at ``layer``, its feature maps averaged to one vector per image."""
        return features.pooled_extractor(model, layer)

    def base(self, model):
        """The network without any classifier: images in, the pooled ``features`` vector out."""
        return keras.Model(model.input, model.get_layer(models.FEATURE_LAYER).output,
                           name=f"{self.name}_base")

    def unfreeze_top_blocks(self, base, n_blocks: int) -> list[str]:
        """Make the top ``n_blocks`` blocks trainable (BatchNormalization stays frozen)."""
        raise NotImplementedError

    def scratch(self, num_classes: int, image_shape, dropout: float = 0.3):
        """The architecture from random weights with a softmax head (BatchNormalization momentum
        0.9, so its statistics settle within a short run). Seed before calling."""
        raise NotImplementedError

    def prepare(self, images) -> np.ndarray:
        """The images as the network's first weighted layer sees them (for looking at them)."""
        raise NotImplementedError

    def check_images(self, image_shape) -> None:
        """Raise ``ValueError`` with the fix if this backbone cannot read images of this shape."""

    def calibrated(self, model, images):
        """``model`` (from :meth:`pretrained`) as the comparison should use it on a sample of
        ``images``. With pretrained weights: unchanged (its BatchNormalization statistics come
        with its weights). With random weights (``weights=None``) the "pretrained" network is one
        fixed random draw, whose BatchNormalization holds no statistics at all: it is calibrated
        on the sample exactly as each random-init twin is (``features.calibrate_batchnorm``), so
        the two arms differ only by the draw. Calibrates ``model`` in place and returns it."""
        if self.weights is not None:
            return model
        return features.calibrate_batchnorm(model, images)


class SourceCNN(Backbone):
    """The course's source CNN (``helpers.models``): 28×28 grey images, as notebook 06 uses it."""

    def trace_key(self, image_shape) -> tuple:
        return ()        # the keys notebook 06 has always used

    def cache_tag(self) -> str:
        return ""        # the feature cache's file names notebook 06 has always used

    def check_images(self, image_shape) -> None:
        if tuple(image_shape) != self.input_shape:
            raise ValueError(
                f"The source CNN reads {self.input_size}x{self.input_size} grey images; these are "
                f"{'x'.join(map(str, image_shape))}. Fix: store the images at "
                f"{self.input_size} px in grey, or use keras_application(...) for photos.")

    def pretrained(self, image_shape=None):
        return models.load_source_model()

    def random_init(self, seed: int, image_shape=None):
        models.set_seed(seed)
        return models.build_source_cnn()

    def base(self, model):
        return models.source_base(model)

    def unfreeze_top_blocks(self, base, n_blocks: int) -> list[str]:
        return finetuning.unfreeze_top_blocks(base, n_blocks)

    def scratch(self, num_classes: int, image_shape=None, dropout: float = 0.3):
        return models.build_source_cnn(num_classes, dropout=dropout, bn_momentum=0.9)

    def prepare(self, images) -> np.ndarray:
        return np.asarray(images, dtype="float32")


class KerasApplication(Backbone):
    """A ``keras.applications`` model (MobileNetV2 or EfficientNetB0), headless, with the
    preparation its weights expect built into the network's first layers."""

    def _build(self, image_shape, weights: str | None = None):
        """Preparation layers, the family's network, and global average pooling named
        ``features``. ``weights="imagenet"`` loads them from Keras's cache (make sure they are
        there first: ``_imagenet_available``). Draws random numbers (seed before)."""
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        net = applications._constructor(self.name)(
            input_tensor=_prepared(inputs, self.name, self.input_size),
            input_shape=(self.input_size, self.input_size, 3),   # picks the weights' file by size
            include_top=False, weights=weights)
        pooled = keras.layers.GlobalAveragePooling2D(name=models.FEATURE_LAYER)(net.output)
        return keras.Model(inputs, pooled, name=f"{self.name}_{self.input_size}")

    def pretrained(self, image_shape):
        """ImageNet weights from Keras's cache, or (``weights=None``) one fixed random draw,
        its BatchNormalization uncalibrated: :meth:`calibrated` calibrates it on a sample as the
        random twins are.
        EfficientNet's ImageNet network has one layer more than its random one (a rescaling by
        the ImageNet spread), so it is built with ``weights="imagenet"``, never copied into."""
        self.check_images(image_shape)
        if self.weights == "imagenet":
            _imagenet_available(self.name, self.input_size)
            return self._build(image_shape, "imagenet")
        model = self._build(image_shape)
        for layer, values in zip(_weighted(model), _fixed_random_weights(self, tuple(image_shape)),
                                 strict=True):
            layer.set_weights(values)
        return model

    def random_init(self, seed: int, image_shape):
        self.check_images(image_shape)
        models.set_seed(seed)
        return self._build(image_shape)

    def unfreeze_top_blocks(self, base, n_blocks: int) -> list[str]:
        """The last ``n_blocks`` of the family's numbered blocks (MobileNetV2: ``block_16``,
        ``block_15``…), together with the layers after the last block (the final 1×1
        convolution), become trainable; every BatchNormalization layer stays frozen."""
        blocks = block_names(base, self.name)
        if not isinstance(n_blocks, int) or isinstance(n_blocks, bool) or not 0 <= n_blocks <= len(blocks):
            raise ValueError(f"n_blocks must be an integer from 0 to {len(blocks)}, not {n_blocks!r}")
        chosen = set(blocks[len(blocks) - n_blocks:])
        pattern = re.compile(BLOCK_PATTERN[self.name])
        base.trainable = True
        seen_last = False
        for layer in base.layers:
            match = pattern.match(layer.name)
            seen_last = seen_last or bool(match and match.group(1) == blocks[-1])
            after_blocks = seen_last and not match
            unfrozen = (match and match.group(1) in chosen) or (after_blocks and n_blocks > 0)
            layer.trainable = bool(unfrozen) and not isinstance(layer, keras.layers.BatchNormalization)
        return [layer.name for layer in base.layers if layer.trainable and layer.weights]

    def scratch(self, num_classes: int, image_shape, dropout: float = 0.3):
        self.check_images(image_shape)
        net = self._build(image_shape)
        for layer in net.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
        x = keras.layers.Dropout(dropout, name="head_dropout")(net.output)
        outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
        return keras.Model(net.input, outputs, name=f"{self.name}_scratch")

    def prepare(self, images) -> np.ndarray:
        images = np.asarray(images, dtype="float32")
        inputs = keras.Input(shape=images.shape[1:])
        return np.asarray(keras.Model(inputs, _prepared(inputs, self.name, self.input_size))(images))

    def check_images(self, image_shape) -> None:
        if len(image_shape) != 3 or image_shape[-1] not in (1, 3):
            raise ValueError(f"{self.name} reads images of shape (height, width, 1 or 3); these are "
                             f"{tuple(image_shape)}. Fix: store them as grey or RGB images.")


def _prepared(inputs, family: str, size: int):
    """Preparation layers on ``inputs`` (images in [0, 1]): resize to ``size``, grey made RGB by
    repeating its channel, then the family's ``preprocess_input`` scaling."""
    x = inputs
    if tuple(inputs.shape[1:3]) != (size, size):
        x = keras.layers.Resizing(size, size, name="prepare_resize")(x)
    if inputs.shape[-1] == 1:
        x = keras.layers.Concatenate(name="prepare_rgb")([x, x, x])
    scale, offset = PREPROCESS_SCALE[family]
    return keras.layers.Rescaling(scale, offset=offset, name="prepare_scale")(x)


def block_names(model, family: str) -> list[str]:
    """The family's numbered blocks in ``model``, in order (MobileNetV2: ``block_1``…``block_16``)."""
    pattern = re.compile(BLOCK_PATTERN[family])
    found = [m.group(1) for m in (pattern.match(layer.name) for layer in model.layers) if m]
    return list(dict.fromkeys(found))


@contextmanager
def _random_numbers_put_back(seed: int | None = None):
    """Run a one-time build without moving the course's random numbers: Python's and NumPy's
    generators (Keras draws its initializers' seeds from Python's) are put back afterwards.
    Whether a cache was warm or cold then never changes a later result."""
    saved_python, saved_numpy = random.getstate(), np.random.get_state()
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved_python)
        np.random.set_state(saved_numpy)


def _weighted(model) -> list:
    """The layers of ``model`` that hold weights, in order (preparation layers hold none)."""
    return [layer for layer in model.layers if layer.weights]


@lru_cache(maxsize=8)
def _imagenet_available(name: str, input_size: int) -> bool:
    """Make sure the ImageNet weights are in Keras's cache, once per process: through
    ``applications.build_backbone``, which fails fast offline (``WeightsUnavailable``, with the
    fix) instead of waiting on a download. A failure is not remembered: the next call tries again."""
    with _random_numbers_put_back():
        applications.build_backbone(name, input_size, "imagenet", pooling=None)
    return True


@lru_cache(maxsize=4)
def _fixed_random_weights(backbone: KerasApplication, image_shape: tuple) -> list:
    """The weights of the stand-in for pretrained weights when there are none: one random draw
    from ``FIXED_RANDOM_SEED``, made once per process, layer by layer in order."""
    with _random_numbers_put_back(FIXED_RANDOM_SEED):
        source = backbone._build(image_shape)
    return [[np.array(w) for w in layer.get_weights()] for layer in _weighted(source)]


SOURCE_CNN = SourceCNN("source_cnn", 28, 1, "course", ("block3_relu1", models.FEATURE_LAYER))


def keras_application(name: str = "MobileNetV2", input_size: int = 96,
                      weights: str | None = "imagenet") -> KerasApplication:
    """A ``keras.applications`` backbone: ``weights="imagenet"`` or ``None`` (random weights).

    Nothing is built or downloaded here; the weights are loaded the first time they are needed.
    Features are read after its last block or from its final pooled output."""
    if name not in PREPROCESS_SCALE:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {tuple(PREPROCESS_SCALE)}")
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    if weights == "imagenet":
        applications.weights_filename(name, input_size)  # raises for a size with no ImageNet weights
    return KerasApplication(name, int(input_size), 3, weights,
                            (LAST_BLOCK_OUTPUT[name], models.FEATURE_LAYER))


def named(name: str, input_size: int = 96, weights: str | None = "imagenet") -> Backbone:
    """A backbone by name: ``"source_cnn"``, or a ``keras.applications`` family (``weights``
    ``"imagenet"``, or ``None``/``"random"`` for random weights)."""
    if name == SOURCE_CNN.name:
        return SOURCE_CNN
    return keras_application(name, input_size, None if weights in (None, "random") else weights)


def with_available_weights(backbone: Backbone) -> Backbone:
    """``backbone`` if its ImageNet weights can be had now (cached, or downloaded at once),
    else the same backbone with random weights, after printing why and how to fix it."""
    if backbone.weights != "imagenet":
        return backbone
    try:
        _imagenet_available(backbone.name, backbone.input_size)
        return backbone
    except applications.WeightsUnavailable as err:
        print(f"Note: {err}")
        return keras_application(backbone.name, backbone.input_size, None)
