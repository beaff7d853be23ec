"""Notebook 06: the experiment. Does transfer beat the best contender without pretrained weights?

Five contenders, in two groups:

- **controls**, no pretrained weights: logistic regression on raw pixels; feature extraction
  from the *same architecture with random weights* (the random control); the same CNN trained
  from scratch;
- **transfer**, the pretrained source model: feature extraction; fine-tuning the top two blocks.

One protocol for every cell of the grid (target × labels per class × seed), and one code path
for notebook 06's live run, its committed grid and the capstone:

- every contender sees the same balanced few-shot sample and is scored on the same test images;
- every contender chooses from a menu of the same size, on validation, for every seed: the
  augmentation policy and four settings of its own (``menus``);
- every network trains until it fits its sample and validation stops improving (``training``);
  a cell where one under-fits gets no verdict;
- the verdict compares the transfer strategy and every control, seed by seed on test (paired
  differences, 95% intervals), and is then corrected for the number of cells judged (``analysis``).

The modules: ``menus`` (what is tuned), ``training`` (how long), ``contenders`` (the five),
``cells`` (one row per contender and sample, the grid, its files), ``analysis`` (summaries and
verdicts), ``reports`` (tables and plots).
"""

from helpers.experiment import analysis, cells, contenders, menus, reports, training
from helpers.experiment.analysis import *  # noqa: F403
from helpers.experiment.cells import *  # noqa: F403
from helpers.experiment.contenders import *  # noqa: F403
from helpers.experiment.menus import *  # noqa: F403
from helpers.experiment.reports import *  # noqa: F403
from helpers.experiment.training import *  # noqa: F403

# the package's public face: what its six modules offer, under one name each
__all__ = [*analysis.__all__, *cells.__all__, *contenders.__all__, *menus.__all__,
           *reports.__all__, *training.__all__]
