"""Notebook 06: the plan of the live run, from the notebook's parameters.

The notebook's setup cell calls ``live_run.plan(...)`` once and prints it; the live run then
reads everything it needs from the plan (targets, budgets, seeds, menus, image counts), and the
plan's ``parameters()`` go into the saved results file.

What the plan settles:

* **Menus.** The grid's menus cross three augmentation policies with four settings of each
  contender's own (``experiment.menus``). A live run keeps the four own settings and the
  augmentation policies named by ``AUGMENTATIONS`` (default: shifts only, a third of the time):
  every contender still chooses among the same number of settings, on validation, per seed.
* **FULL_GRID:** every target, budget and seed of the committed grid, with its full menus.
* **Quick mode:** two seeds, the first budget, one setting each (``experiment.ONE_SETTING``)
  and at most ``QUICK_MAX_STEPS``
  steps a run: a smoke test of the machinery, not a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpers import data
from helpers.experiment import AUGMENTATIONS, MAX_STEPS, ONE_SETTING, STRATEGIES, TASKS, menu

__all__ = ["QUICK_MAX_STEPS", "Plan", "plan", "parse_budgets", "parse_augmentations"]

QUICK_MAX_STEPS = 20


def parse_budgets(label_budgets) -> list[int]:
    """``"2,20"`` (or ``5``) → ``[2, 20]``."""
    try:
        budgets = [int(b) for b in str(label_budgets).split(",")]
    except ValueError:
        raise ValueError(f"LABEL_BUDGETS must be whole numbers separated by commas, e.g. \"2,20\", "
                         f"not {label_budgets!r}") from None
    if min(budgets) < 1:
        raise ValueError(f"LABEL_BUDGETS must be 1 or more labels per class, not {label_budgets!r}")
    return budgets


def parse_augmentations(augmentations) -> tuple[str, ...]:
    """``"none,shifts"`` → ``("none", "shifts")``, each one of ``experiment.AUGMENTATIONS``."""
    found = tuple(a.strip() for a in str(augmentations).split(",") if a.strip())
    wrong = [a for a in found if a not in AUGMENTATIONS]
    if not found or wrong:
        raise ValueError(f"AUGMENTATIONS must list policies from {AUGMENTATIONS}, separated by "
                         f"commas, not {augmentations!r}")
    return found


@dataclass
class Plan:
    """What the live run will do (see the module's docstring)."""

    targets: list[str]
    budgets: list[int]
    seeds: list[int]
    batch_size: int
    augmentations: tuple
    max_steps: int
    test_images: int
    val_images: int
    own: dict = field(default_factory=dict)
    full_grid: bool = False
    quick: bool = False
    extra_seeds: dict = field(default_factory=dict)

    @property
    def tasks(self) -> list:
        return [data.get_task(t) for t in self.targets]

    @property
    def n_runs(self) -> int:
        return len(self.targets) * len(self.budgets) * len(STRATEGIES) * len(self.seeds)

    @property
    def settings(self) -> dict:
        """The keyword arguments ``experiment.run_grid`` takes besides targets, budgets and seeds."""
        return dict(batch_size=self.batch_size, augmentations=self.augmentations,
                    max_steps=self.max_steps, test_images=self.test_images,
                    val_images=self.val_images, menus_own=self.own)

    @property
    def extra_settings(self) -> dict:
        """The same for ``experiment.run_extra_seeds``."""
        return self.settings

    def menu_sizes(self) -> dict:
        """{contender: settings it chooses from} on the first target."""
        flips = data.get_task(self.targets[0]).meta.get("flip_preserves_label", True)
        return {s: len(menu(s, flips, self.own.get(s), self.augmentations)) for s in STRATEGIES}

    def parameters(self) -> dict:
        """Everything that decides the live run's numbers, as plain values for a results file."""
        return {"QUICK": self.quick, "FULL_GRID": self.full_grid, "TARGETS": list(self.targets),
                "LABEL_BUDGETS": list(self.budgets), "SEEDS": len(self.seeds),
                "SEED_LIST": list(self.seeds), "BATCH_SIZE": self.batch_size,
                "TEST_IMAGES": self.test_images, "VAL_IMAGES": self.val_images,
                "AUGMENTATIONS": list(self.augmentations), "MAX_STEPS": self.max_steps,
                "OWN_SETTINGS": {s: {k: list(v) for k, v in o.items()} for s, o in self.own.items()}}

    def __str__(self) -> str:
        sizes = set(self.menu_sizes().values())
        size = f"{sizes.pop()} settings each" if len(sizes) == 1 else f"{sorted(sizes)} settings"
        lines = [f"live run: targets {self.targets} x budgets {self.budgets} x "
                 f"{len(STRATEGIES)} contenders x seeds {self.seeds} = {self.n_runs} runs",
                 f"  menus: augmentation {' / '.join(self.augmentations)} x each contender's own "
                 f"settings = {size}, chosen on validation for every seed",
                 f"  every network trains until it fits its sample (at most {self.max_steps} steps)",
                 f"  scored on up to {self.test_images} test images; choices made on up to "
                 f"{self.val_images} validation images"]
        if self.extra_seeds:
            n = sum(len(s) for cells in self.extra_seeds.values() for s in cells.values())
            lines.append(f"  plus the committed grid's {n} extra seed runs of the cheap contenders")
        if self.quick:
            lines.append("  quick mode: a smoke test of the machinery, too short to measure anything")
        return "\n".join(lines)


def plan(target: str, label_budgets, seed: int, seeds: int, committed: dict, *,
         augmentations="shifts", batch_size: int = 32, test_images: int = 2000,
         val_images: int = 500, full_grid: bool = False, quick: bool = False) -> Plan:
    """The live run's plan from the notebook's parameters and the committed grid (a dict from
    ``experiment.load_results``, read for ``FULL_GRID``)."""
    if target not in TASKS:
        raise ValueError(f"TARGET must be one of {TASKS}, not {target!r}")
    try:
        seeds, seed = int(seeds), int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"SEED and SEEDS must be whole numbers, not {seed!r} and {seeds!r}") from None
    if seeds < 1:
        raise ValueError(f"SEEDS must be 1 or more, not {seeds!r}")
    if seed < 0:
        raise ValueError(f"SEED must be 0 or more (the first sample's seed), not {seed!r}")
    budgets, augs = parse_budgets(label_budgets), parse_augmentations(augmentations)
    targets, seed_list, own, extra = [target], list(range(seed, seed + seeds)), {}, {}
    max_steps = MAX_STEPS
    if full_grid:
        p = committed["parameters"]
        targets, budgets = list(TASKS), [int(b) for b in p["LABEL_BUDGETS"]]
        seed_list, augs, extra = list(range(p["SEEDS"])), AUGMENTATIONS, p.get("EXTRA_SEEDS", {})
    if quick:
        seed_list, budgets, max_steps = seed_list[:2], budgets[:1], QUICK_MAX_STEPS
        augs, own, extra = augs[:1], dict(ONE_SETTING), {}
    return Plan(targets, budgets, seed_list, batch_size, augs, max_steps, test_images,
                val_images, own, full_grid, quick, extra)
