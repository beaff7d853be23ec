"""Notebook 06: the plan of the live run, from the notebook's parameters and the committed grid.

The notebook's setup cell calls ``live_run.plan(...)`` once and prints it; the live run then
reads everything it needs from the plan (targets, budgets, seeds, step limits, learning-rate
candidates, image counts), and the plan's ``parameters()`` go into the saved results file.

What the plan settles:

* **One budget:** the learning rates of the scratch CNN and of fine-tuning are the ones the
  committed grid chose on validation for that cell (its first seed), instead of trying every
  candidate again (a third of the time). **Several budgets:** every candidate is tried again,
  since a rate chosen for one budget may not suit another.
* **FULL_GRID:** every target, the committed budgets and seeds, every candidate: the whole
  committed grid again (hours on two cores), extra seeds of the cheap contenders included.
* **Quick mode:** two seeds, the first budget, 10 to 20 steps a run and one learning rate each:
  a smoke test of the machinery, not a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUICK_STEP_LIMITS = (10, 20)
QUICK_LEARNING_RATES = {"scratch": (1e-3,), "fine_tuning": (1e-3,)}


def parse_budgets(label_budgets) -> list[int]:
    """``"2,20"`` (or ``5``) → ``[2, 20]``."""
    return [int(b) for b in str(label_budgets).split(",")]


def committed_learning_rates(committed: dict, target: str, budget: int) -> dict:
    """{strategy: candidates} the committed grid chose on validation for one cell (None where it
    has no such rows, so the live run tries every candidate)."""
    return {s: tuple(sorted({r["learning_rate"] for r in committed["rows"]
                             if r["task"] == target and int(r["per_class"]) == budget
                             and r["strategy"] == s})) or None
            for s in ("scratch", "fine_tuning")}


@dataclass
class Plan:
    """What the live run will do (see the module's docstring)."""

    targets: list[str]
    budgets: list[int]
    seeds: list[int]
    batch_size: int
    step_limits: tuple[int, int]
    learning_rates: dict
    test_images: int
    val_images: int
    full_grid: bool = False
    quick: bool = False
    extra_seeds: dict = field(default_factory=dict)
    rates_note: str = ""

    @property
    def tasks(self) -> list:
        from helpers import data

        return [data.get_task(t) for t in self.targets]

    @property
    def n_runs(self) -> int:
        from helpers.experiment import STRATEGIES

        return len(self.targets) * len(self.budgets) * len(STRATEGIES) * len(self.seeds)

    @property
    def settings(self) -> dict:
        """The keyword arguments ``experiment.run_grid`` takes besides targets, budgets and seeds."""
        return dict(batch_size=self.batch_size, step_limits=self.step_limits,
                    test_images=self.test_images, val_images=self.val_images,
                    learning_rates=self.learning_rates)

    @property
    def extra_settings(self) -> dict:
        """The same for ``experiment.run_extra_seeds`` (which keeps every learning-rate candidate)."""
        return {k: v for k, v in self.settings.items() if k != "learning_rates"}

    def parameters(self) -> dict:
        """Everything that decides the live run's numbers, as plain values for a results file."""
        return {"QUICK": self.quick, "FULL_GRID": self.full_grid, "TARGETS": list(self.targets),
                "LABEL_BUDGETS": list(self.budgets), "SEEDS": len(self.seeds),
                "SEED_LIST": list(self.seeds), "BATCH_SIZE": self.batch_size,
                "TEST_IMAGES": self.test_images, "VAL_IMAGES": self.val_images,
                "STEP_LIMITS": list(self.step_limits),
                "LEARNING_RATES": {k: list(v) for k, v in self.learning_rates.items() if v}}

    def __str__(self) -> str:
        from helpers.experiment import STRATEGIES

        rates = ("every candidate, chosen on validation" if not any(self.learning_rates.values()) else
                 ", ".join(f"{s} {'/'.join(f'{r:g}' for r in v) if v else 'every candidate'}"
                           for s, v in self.learning_rates.items()))
        rates += f" ({self.rates_note})" if self.rates_note else ""
        lines = [f"live run: targets {self.targets} x budgets {self.budgets} x "
                 f"{len(STRATEGIES)} contenders x seeds {self.seeds} = {self.n_runs} runs",
                 f"  steps per run between {self.step_limits[0]} and {self.step_limits[1]}; "
                 f"learning rates: {rates}",
                 f"  scored on up to {self.test_images} test images; choices made on up to "
                 f"{self.val_images} validation images"]
        if self.extra_seeds:
            n = sum(len(s) for cells in self.extra_seeds.values() for s in cells.values())
            lines.append(f"  plus the committed grid's {n} extra seed runs of the cheap contenders")
        if self.quick:
            lines.append("  quick mode: a smoke test of the machinery, too short to measure anything")
        return "\n".join(lines)


def plan(target: str, label_budgets, seed: int, seeds: int, committed: dict, *,
         batch_size: int = 32, test_images: int = 2000, val_images: int = 500,
         full_grid: bool = False, quick: bool = False) -> Plan:
    """The live run's plan from the notebook's parameters and the committed grid (a dict from
    ``experiment.load_results``)."""
    from helpers.experiment import MAX_STEPS, MIN_STEPS, TASKS

    budgets = parse_budgets(label_budgets)
    targets, seed_list = [target], list(range(seed, seed + seeds))
    learning_rates = committed_learning_rates(committed, target, budgets[0]) if len(budgets) == 1 else {}
    note = "as the committed grid chose them on validation for this cell" if any(learning_rates.values()) else ""
    extra = {}
    if full_grid:
        targets, budgets = list(TASKS), [int(b) for b in committed["parameters"]["LABEL_BUDGETS"]]
        seed_list, learning_rates, note = list(range(committed["parameters"]["SEEDS"])), {}, ""
        extra = committed["parameters"].get("EXTRA_SEEDS", {})
    step_limits = (MIN_STEPS, MAX_STEPS)
    if quick:
        seed_list, budgets, step_limits = seed_list[:2], budgets[:1], QUICK_STEP_LIMITS
        learning_rates, extra, note = dict(QUICK_LEARNING_RATES), {}, "quick mode: one fixed rate"
    return Plan(targets, budgets, seed_list, batch_size, step_limits, learning_rates,
                test_images, val_images, full_grid, quick, extra, note)
