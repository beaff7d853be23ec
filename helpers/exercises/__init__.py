"""Self-checking exercises: each check inspects what the learner built and answers with a hint.

A check returns a ``Feedback`` whose ``status`` is "not_done" (the answer cell is still blank:
the message says what to write), "wrong" (the first failed condition's hint says what to look
at) or "passed". The outcome goes to the notebook's results recorder (``results.current()``)
unless another ``recorder`` is given. In strict mode (``strict()``: nbgrader or
``TLW_STRICT=1``) a check that does not pass raises ``AssertionError`` with the same message.

One module per notebook holds its checks (``nb02_freezing_layers``...); everything is
re-exported here, so a notebook writes ``exercises.check_model_as_layer(...)``, and
``exercises.solution("02-1")`` shows one worked answer.
"""

from helpers.exercises.core import *  # noqa: F403
from helpers.exercises.core import __all__ as _core
from helpers.exercises.nb00_welcome import *  # noqa: F403
from helpers.exercises.nb00_welcome import __all__ as _nb00
from helpers.exercises.nb01_pretrained_model import *  # noqa: F403
from helpers.exercises.nb01_pretrained_model import __all__ as _nb01
from helpers.exercises.nb02_freezing_layers import *  # noqa: F403
from helpers.exercises.nb02_freezing_layers import __all__ as _nb02
from helpers.exercises.nb03_feature_extraction import *  # noqa: F403
from helpers.exercises.nb03_feature_extraction import __all__ as _nb03
from helpers.exercises.nb04_fine_tuning import *  # noqa: F403
from helpers.exercises.nb04_fine_tuning import __all__ as _nb04
from helpers.exercises.nb05_fine_tuning_in_practice import *  # noqa: F403
from helpers.exercises.nb05_fine_tuning_in_practice import __all__ as _nb05
from helpers.exercises.nb06_choosing_a_strategy import *  # noqa: F403
from helpers.exercises.nb06_choosing_a_strategy import __all__ as _nb06
from helpers.exercises.nb07_going_further import *  # noqa: F403
from helpers.exercises.nb07_going_further import __all__ as _nb07
from helpers.exercises.nb08_your_own_images import *  # noqa: F403
from helpers.exercises.nb08_your_own_images import __all__ as _nb08
from helpers.solutions import solution

__all__ = [*_core, *_nb00, *_nb01, *_nb02, *_nb03, *_nb04, *_nb05, *_nb06, *_nb07, *_nb08, "solution"]
