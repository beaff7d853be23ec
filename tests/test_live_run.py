"""helpers.live_run: notebook 06's live-run plan, from its parameters and the committed grid."""

from helpers import experiment, live_run

COMMITTED = experiment.load_results(experiment.COMMITTED_GRID)


def test_one_budget_reuses_the_committed_learning_rates():
    plan = live_run.plan("near", "5", 0, 2, COMMITTED)
    assert (plan.targets, plan.budgets, plan.seeds) == (["near"], [5], [0, 1])
    assert plan.step_limits == (experiment.MIN_STEPS, experiment.MAX_STEPS)
    chosen = {r["learning_rate"] for r in COMMITTED["rows"]
              if (r["task"], r["per_class"], r["strategy"]) == ("near", 5, "scratch")}
    assert set(plan.learning_rates["scratch"]) == chosen
    assert set(plan.learning_rates["scratch"]) <= set(experiment.SCRATCH_LEARNING_RATES)
    assert set(plan.learning_rates["fine_tuning"]) <= set(experiment.TUNE_LEARNING_RATES)
    assert plan.n_runs == 2 * len(experiment.STRATEGIES)
    assert "committed grid chose" in str(plan) and "= 10 runs" in str(plan)


def test_several_budgets_try_every_candidate_again():
    plan = live_run.plan("far", "2,20", 3, 5, COMMITTED)
    assert plan.budgets == [2, 20] and plan.seeds == [3, 4, 5, 6, 7]
    assert plan.learning_rates == {} and plan.settings["learning_rates"] == {}
    assert "every candidate" in str(plan)


def test_a_budget_the_grid_never_ran_tries_every_candidate():
    plan = live_run.plan("near", "7", 0, 2, COMMITTED)
    assert plan.learning_rates == {"scratch": None, "fine_tuning": None}


def test_full_grid_repeats_the_committed_grid():
    plan = live_run.plan("near", "5", 0, 2, COMMITTED, full_grid=True)
    assert plan.targets == list(experiment.TASKS)
    assert plan.budgets == [int(b) for b in COMMITTED["parameters"]["LABEL_BUDGETS"]]
    assert plan.seeds == list(range(COMMITTED["parameters"]["SEEDS"]))
    assert plan.learning_rates == {} and plan.extra_seeds == COMMITTED["parameters"]["EXTRA_SEEDS"]
    assert "extra seed runs" in str(plan)


def test_quick_mode_is_small_whatever_was_asked():
    plan = live_run.plan("look", "2,20", 0, 5, COMMITTED, full_grid=True, quick=True,
                         test_images=200, val_images=100)
    assert plan.seeds == [0, 1] and plan.budgets == [1]
    assert plan.step_limits == live_run.QUICK_STEP_LIMITS and plan.extra_seeds == {}
    assert plan.learning_rates == live_run.QUICK_LEARNING_RATES
    assert (plan.settings["test_images"], plan.settings["val_images"]) == (200, 100)
    assert "learning_rates" not in plan.extra_settings


def test_parameters_are_plain_values():
    import json

    params = live_run.plan("near", "5", 0, 2, COMMITTED, batch_size=16).parameters()
    assert json.loads(json.dumps(params)) == params
    assert params["BATCH_SIZE"] == 16 and params["SEED_LIST"] == [0, 1] and params["LABEL_BUDGETS"] == [5]
