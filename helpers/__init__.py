"""The Transfer Learning Workbook's helper package: the reusable code behind each notebook.

Import the piece a notebook teaches, e.g. ``from helpers import freezing``. Submodules are
imported on demand so ``import helpers`` stays fast and does not start TensorFlow.
"""

import logging as _logging
import os as _os

# TensorFlow's C++ start-up chatter (CPU feature notices, absl warnings) hides what matters
# in a notebook (and a harmless version-skew error printed on every tf.data map);
# Python exceptions still show in full. oneDNN stays on: it makes training much faster here.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Retracing notices from models built in a loop (the experiments do that on purpose). The level
# alone did not keep them out of executed notebooks (something in a kernel's start resets it);
# a filter on the logger stays in place whatever the level.
_logging.getLogger("tensorflow").setLevel(_logging.ERROR)
_logging.getLogger("tensorflow").addFilter(
    lambda record: "triggered tf.function retracing" not in record.getMessage())

__version__ = "0.1.0"
__all__ = ["__version__"]  # the submodules are the public face: from helpers import freezing

# Keras 3.15 warns that fit's default shuffle=True is ignored for a tf.data pipeline on every
# fit call; the course's pipelines shuffle themselves (notebook 04 shows where).
import warnings as _warnings  # noqa: E402

_warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed", category=UserWarning)
