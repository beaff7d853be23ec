"""Pretraining the course's source model: the recipe, its card, and the card's assessment.

A teacher's tool (``make pretrain``, ``python -m helpers pretrain``), not course material: a
learner loads the result with ``helpers.models.load_source_model()``.

- :func:`source_training_data`: the broad source, six clothing classes and 1,000 glyphs
  (``helpers.glyphs``: none like a digit, since the far target is digits);
- :func:`pretrain_source_model`: the recipe (4 epochs, Adam with a cosine-decayed learning rate
  from 2e-3, label smoothing 0.1, batch 128, shifts of up to 8%), saved with its card;
- :func:`assess_card`: the card's transferability assessment, pretrained features against the
  random-weight control (``probes.transferability``) on the three targets, twice:
  ``transferability_on_validation`` (choices on one half of each target's validation split,
  scores on the other: the numbers the recipe was chosen on) and ``transferability_on_test``
  (choices on the whole validation split, scores on the test split, read once: held out from
  every choice). Each cell carries the paired t-test's p and whether it survives Holm's and
  Benjamini–Hochberg's corrections over the cells; ``leak_check`` measures what the digit
  look-alike filter changed on the far target;
- :func:`assessment_markdown`: README's table of the card's assessment.
"""

from __future__ import annotations

import copy
import datetime as _dt
import io
import json
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

from helpers import config, data, features, glyphs, models, probes, stats

PRETRAIN_EPOCHS = 4
PRETRAIN_SEED = 0
GLYPH_CLASSES = 1000       # characters rendered from Debian's fonts (helpers/glyphs.py)
GLYPH_TRAIN, GLYPH_HELD_OUT = 60, 10  # renders per character for training and for checking

ASSESS_TASKS = ("look", "near", "far")
ASSESS_BUDGETS = (1, 2, 5)
ASSESS_SEEDS = 5
ASSESS_LAYERS = ("block2_pool", "block3_relu1", "features")
ALPHA = 0.05               # Holm: family-wise error rate; Benjamini–Hochberg: false discovery rate
GOAL = 0.10                # the source's goal: pretrained ahead of random weights by this much
NEW_CLASSES = ("near", "far")
LEAK_TARGET, LEAK_BUDGETS = "far", (1, 2)
BEFORE_FILTER = config.BUILD_DIR / "source_before_filter.keras"  # a copy made by hand, see models/README.md


# ---------------------------------------------------------------- the data and the recipe

def source_training_data(seed: int = PRETRAIN_SEED):
    """The broad source: the six clothing classes (labels 0–5) and 1,000 glyphs (labels 6–1005).

    Returns ``(x, y), (x_held_out, y_held_out), names``: float images in [0, 1], labels, and the
    1,006 class names. The characters are chosen every time (a few seconds); their renders are
    cached in ``datasets/cache`` under a name made of the fonts' fingerprint, the look-alike
    filter's fingerprint, the chosen characters' fingerprint and the seed, so a change to any
    of them never reuses old renders."""
    from helpers.data import atomic_write_bytes, source_task

    files = glyphs.font_files()
    chars = glyphs.choose_characters(GLYPH_CLASSES, seed=seed, files=files)
    cache = config.CACHE_DIR / (f"glyphs-{glyphs.fonts_fingerprint(files)}-"
                                f"{glyphs.filter_fingerprint()}-"
                                f"{glyphs.characters_fingerprint(chars)}-{seed}.npz")
    z = None
    if cache.is_file():
        z = np.load(cache)
        if list(z["chars"]) != chars:   # a stale file under this name: render again
            z = None
    if z is not None:
        gx, gy, hx, hy = z["gx"], z["gy"], z["hx"], z["hy"]
    else:
        gx, gy = glyphs.render_glyphs(chars, GLYPH_TRAIN, seed=seed, files=files)
        hx, hy = glyphs.render_glyphs(chars, GLYPH_HELD_OUT, seed=seed + 1, files=files)
        buf = io.BytesIO()
        np.savez_compressed(buf, chars=np.array(chars), gx=gx, gy=gy, hx=hx, hy=hy)
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, buf.getvalue())
    clothing = source_task()
    offset = clothing.num_classes
    x = np.concatenate([clothing.x_train, gx])
    y = np.concatenate([clothing.y_train, gy + offset])
    x_held = np.concatenate([clothing.x_val, hx])
    y_held = np.concatenate([clothing.y_val, hy + offset])
    names = list(clothing.class_names) + [glyph_name(c) for c in chars]
    return (x, y), (x_held, y_held), names


def glyph_name(ch: str) -> str:
    """A glyph's class name in the card: ``glyph Ж (U+0416)``."""
    return f"glyph {ch} (U+{ord(ch):04X})"


def glyphs_of(card: dict) -> list[str]:
    """The characters among a card's classes (read back from their code points)."""
    found = (re.fullmatch(r"glyph .* \(U\+([0-9A-F]{4,6})\)", name) for name in card["classes"])
    return [chr(int(m.group(1), 16)) for m in found if m]


def _smoothed_loss(num_classes: int, smoothing: float):
    """Sparse cross-entropy with label smoothing (Keras's own smoothing needs one-hot labels)."""
    import keras

    loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)

    def smoothed(y_true, y_pred):
        return loss(keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"),
                                      num_classes), y_pred)

    return smoothed


def _train_by_the_recipe(x, y, num_classes: int, epochs: int, seed: int, verbose: int):
    """The source CNN trained on (x, y) by the recipe :func:`pretrain_source_model` states.
    Returns (model, history)."""
    import keras
    import tensorflow as tf

    model = models.build_source_cnn(num_classes)
    shift = keras.Sequential([keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant",
                                                             seed=seed)])
    train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=seed).batch(128)
             .map(lambda a, b: (shift(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    steps = epochs * int(np.ceil(len(y) / 128))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                  loss=_smoothed_loss(num_classes, 0.1), metrics=["accuracy"])
    return model, model.fit(train, epochs=epochs, verbose=verbose)


def pretrain_source_model(epochs: int = PRETRAIN_EPOCHS, seed: int = PRETRAIN_SEED,
                          path: Path = config.SOURCE_MODEL_PATH, verbose: int = 1,
                          assess: bool = True, before: Path | None = None,
                          assess_seeds: int = ASSESS_SEEDS):
    """Train the source CNN on the broad source (clothing + 1,000 glyphs); save it with its card.

    The recipe: Adam with a cosine-decayed learning rate from 2e-3, label smoothing 0.1,
    batch 128, shifts of up to 8% as augmentation (no flips: a mirrored glyph is another glyph).
    ``assess``: add the transferability assessment to the card (:func:`assess_card`; else run
    ``python -m helpers pretrain --assess-only`` later). ``before``: a model from before the
    look-alike filter, for the card's ``leak_check``. It is long because the card is written out
    here field by field, beside the run that measures each field."""
    import keras
    import tensorflow as tf

    from helpers.data import atomic_write_text, source_task

    models.set_seed(seed)
    start = time.perf_counter()
    (x, y), (x_held, y_held), names = source_training_data(seed)
    render_seconds = time.perf_counter() - start
    model, history = _train_by_the_recipe(x, y, len(names), epochs, seed, verbose)
    train_seconds = time.perf_counter() - start - render_seconds
    clothing = source_task()
    pred = model.predict(clothing.x_test, batch_size=512, verbose=0).argmax(1)
    held_pred = model.predict(x_held, batch_size=512, verbose=0).argmax(1)
    glyph = y_held >= clothing.num_classes
    files = glyphs.font_files()
    # Saved uncompiled: the smoothed loss is a local function load_model could not rebuild, and
    # an optimizer's state is of no use to anyone who transfers the weights.
    model = keras.Model(model.inputs[0], model.outputs[0], name=model.name)
    card = {
        "model": "source_cnn",
        "task": (f"broad source: {clothing.num_classes} Fashion-MNIST clothing classes and "
                 f"{len(names) - clothing.num_classes} characters rendered from "
                 f"{len(files)} fonts ({len(names)} classes)"),
        "classes": names,
        "clothing_classes": clothing.class_names,
        "train_images": int(len(y)),
        "glyph_renders_per_class": {"train": GLYPH_TRAIN, "held_out": GLYPH_HELD_OUT},
        "fonts": {"files": len(files), "fingerprint": glyphs.fonts_fingerprint(files),
                  "debian_packages": list(glyphs.FONT_PACKAGES)},
        "glyph_filter": glyph_filter_entry(),
        "epochs": epochs,
        "seed": seed,
        "optimizer": "Adam, cosine-decayed learning rate from 2e-3, batch 128, label smoothing 0.1",
        "augmentation": "renders vary font, size, stroke, rotation, shift, blur, contrast and "
                        "noise; training adds shifts of up to 8% (no flips)",
        "source_test_accuracy": round(float((pred == clothing.y_test).mean()), 4),
        "glyph_held_out_accuracy": round(float((held_pred[glyph] == y_held[glyph]).mean()), 4),
        "final_train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "parameters": int(model.count_params()),
        "weights_fingerprint": features.weights_fingerprint(model),
        "render_seconds": round(render_seconds, 1),
        "training_seconds": round(train_seconds, 1),
        "trained_on": f"{platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}",
        "date": _dt.date.today().isoformat(),
        "reproduce": "make pretrain   (python -m helpers pretrain)",
    }
    models.save_model_atomically(model, path)
    card_path = Path(path).with_suffix(".json")
    atomic_write_text(card_path, json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    if assess:
        card = assess_and_save(path, before=before, seeds=assess_seeds, model=model)
    return model, card


def glyph_filter_entry() -> dict:
    """The card's record of the digit look-alike filter (``helpers.glyphs``)."""
    from importlib import metadata

    return {"version": glyphs.FILTER_VERSION, "fingerprint": glyphs.filter_fingerprint(),
            "render_correlation_threshold": glyphs.DIGIT_LOOKALIKE,
            "fonts_checked": "every font that draws the character",
            "listed_lookalikes": {d: g for d, g in glyphs.LOOKALIKES_BY_DIGIT.items()},
            "confusables": ("Unicode TR39 confusables.txt, from confusable-homoglyphs "
                            f"{metadata.version('confusable-homoglyphs')}")}


# ---------------------------------------------------------------- the assessment

def _target(name: str, split: str):
    """Target ``name`` as the assessment reads it. ``"validation"``: its validation split cut in
    two, the first half playing validation and the second test (the test split is never read).
    ``"test"``: as it is."""
    task = data.get_task(name)
    if split == "test":
        return task
    if split != "validation":
        raise ValueError(f"split must be 'validation' or 'test', not {split!r}")
    task = copy.copy(task)
    half = len(task.y_val) // 2
    task.x_val, task.x_test = task.x_val[:half], task.x_val[half:]
    task.y_val, task.y_test = task.y_val[:half], task.y_val[half:]
    return task


def paired_t_p(a, b) -> float:
    """Two-sided p of the paired t-test of ``a`` against ``b`` (scores on the same seeds):
    scipy's ``ttest_rel``; 1 with a single seed, and 0 or 1 when every difference is equal."""
    from scipy import stats as st

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        return 1.0
    if stats.sample_sd(d) == 0:
        return 0.0 if d.mean() != 0 else 1.0
    return float(st.ttest_rel(a, b).pvalue)


def _cell(rows) -> dict:
    """One cell of the card: the paired comparison (pretrained minus random), its p, and how
    often each arm chose each BatchNormalization option."""
    a, b = [r["pretrained_test"] for r in rows], [r["random_test"] for r in rows]
    out = dict(stats.paired(a, b), p=paired_t_p(a, b))
    for arm, menu in (("pretrained", models.PRETRAINED_BATCHNORM), ("random", models.TWIN_BATCHNORM)):
        out[f"{arm}_batchnorm"] = {option: sum(r[f"{arm}_batchnorm"] == option for r in rows)
                                   for option in menu}
    return out


def correct_for_multiplicity(table: dict, alpha: float = ALPHA) -> dict:
    """Mark each cell of ``table`` ({task: {budget: cell}}) with ``survives_holm`` and
    ``survives_bh``: its verdict is not "can't tell" and Holm's (family-wise error rate) or
    Benjamini–Hochberg's (false discovery rate) correction at ``alpha`` over every cell of the
    table rejects it. Changes ``table`` in place and returns it."""
    cells = [p for by_budget in table.values() for p in by_budget.values()]
    pvalues = [p["p"] for p in cells]
    for p, h, b in zip(cells, stats.holm(pvalues, alpha), stats.benjamini_hochberg(pvalues, alpha),
                       strict=True):
        claim = p["verdict"] != "can't tell"
        p["survives_holm"], p["survives_bh"] = bool(claim and h), bool(claim and b)
    return table


def assess(model, split: str, tasks=ASSESS_TASKS, budgets=ASSESS_BUDGETS, seeds=ASSESS_SEEDS,
           layers=ASSESS_LAYERS, progress: bool = True) -> dict:
    """The transferability assessment of a source model: {task: {budget: cell}}, each cell the
    paired comparison over ``seeds`` samples of pretrained against random-weight probe accuracy
    (``probes.transferability``: equal menus, every choice on validation), with its p and
    the multiplicity corrections over the table's cells.

    ``split="validation"``: choices on one half of each target's validation split, scores on
    the other; the test split is never read. ``split="test"``: choices on the whole validation
    split, scores on the test split, read once."""
    out = {}
    for name in tasks:
        task = _target(name, split)
        rows = probes.transferability(model, task, budgets, range(seeds), layers,
                                      val_images=None, test_images=None, progress=progress)
        out[name] = {str(b): _cell([r for r in rows if r["per_class"] == b]) for b in budgets}
    return correct_for_multiplicity(out)


def assess_on_validation(model, **kw) -> dict:
    """:func:`assess` on the targets' validation splits only (the test splits are never read)."""
    return assess(model, "validation", **kw)


def assess_on_test(model, **kw) -> dict:
    """:func:`assess` held out: choices on the validation splits, scores on the test splits."""
    return assess(model, "test", **kw)


def removed_characters(before_card: dict, after_card: dict) -> dict:
    """The characters of ``before_card``'s source that ``after_card``'s left out, each with the
    look-alike filter's reason (``glyphs.digit_lookalike``, every font that draws it)."""
    before, after = glyphs_of(before_card), set(glyphs_of(after_card))
    cover = glyphs._coverage(tuple(glyphs.font_files()))
    gone = [c for c in before if c not in after]
    why = {c: glyphs.digit_lookalike(c, cover.get(c, [])) or "not refused" for c in gone}
    kinds = ("listed", "Unicode confusable", "drawn in")
    return {"count": len(gone), "characters": "".join(gone),
            "added": len(after - set(before)),
            "by_test": {k: sum(w.startswith(k) for w in why.values()) for k in kinds},
            "why": why}


def leak_check(before_model, before_card: dict, validation: dict, test: dict, card: dict,
               seeds: int = ASSESS_SEEDS, progress: bool = True) -> dict:
    """The far target (digits) before and after the look-alike filter, by the card's protocol:
    pretrained minus random at ``LEAK_BUDGETS`` labels per class, on validation and held out on
    test. "after" is read from this card's assessment (``validation``, ``test``); "before" is
    measured here on ``before_model`` with the same seeds."""
    kw = dict(tasks=(LEAK_TARGET,), budgets=LEAK_BUDGETS, seeds=seeds, layers=ASSESS_LAYERS,
              progress=progress)
    start = time.perf_counter()
    before = {"validation": assess_on_validation(before_model, **kw)[LEAK_TARGET],
              "test": assess_on_test(before_model, **kw)[LEAK_TARGET]}
    keep = ("mean_a", "mean_b", "difference", "bootstrap", "t", "p", "verdict", "n")

    def brief(by_budget):
        return {str(b): {k: by_budget[str(b)][k] for k in keep} for b in LEAK_BUDGETS}

    return {
        "target": LEAK_TARGET, "labels_per_class": list(LEAK_BUDGETS),
        "measure": "pretrained minus random probe accuracy, the card's protocol and seeds",
        "before_filter": {"weights_fingerprint": features.weights_fingerprint(before_model),
                          "date": before_card.get("date"),
                          "glyph_filter": before_card.get("glyph_filter", {}).get(
                              "version", "1: the first three fonts, Latin look-alikes only"),
                          "validation": brief(before["validation"]), "test": brief(before["test"])},
        "after_filter": {"weights_fingerprint": card.get("weights_fingerprint"),
                         "glyph_filter": glyphs.FILTER_VERSION,
                         "validation": brief(validation[LEAK_TARGET]),
                         "test": brief(test[LEAK_TARGET])},
        "removed_characters": removed_characters(before_card, card),
        "seconds": round(time.perf_counter() - start, 1),
    }


def assess_card(model, card: dict, before: Path | None = None, seeds: int = ASSESS_SEEDS,
                progress: bool = True) -> dict:
    """``card`` with its assessment (re)written: ``transferability_on_validation``,
    ``transferability_on_test``, ``assessment`` (the protocol and its cost) and, with a
    ``before`` model (its card beside it), ``leak_check``. Without one, a ``leak_check``
    already in the card is kept if it was measured for these weights, else dropped."""
    card = {k: v for k, v in card.items()
            if k not in ("transferability_on_validation_uncalibrated_twin", "transferability_note")}
    card["weights_fingerprint"] = features.weights_fingerprint(model)
    kw = dict(tasks=ASSESS_TASKS, budgets=ASSESS_BUDGETS, seeds=seeds, layers=ASSESS_LAYERS,
              progress=progress)
    t0 = time.perf_counter()
    validation = assess_on_validation(model, **kw)
    t1 = time.perf_counter()
    test = assess_on_test(model, **kw)
    t2 = time.perf_counter()
    card["transferability_on_validation"] = validation
    card["transferability_on_test"] = test
    card["assessment"] = {
        "targets": list(ASSESS_TASKS), "labels_per_class": list(ASSESS_BUDGETS),
        "seeds": seeds, "layers": list(ASSESS_LAYERS), "probe_c": list(probes.PROBE_C),
        "pretrained_batchnorm": list(models.PRETRAINED_BATCHNORM),
        "random_batchnorm": list(models.TWIN_BATCHNORM), "twin_seed": f"{models.TWIN_SEED} + seed",
        "held_out": "transferability_on_test",
        "validation": "choices on the first half of each target's validation split, scores on "
                      "the second half; the test split is not read",
        "test": "choices on the whole validation split, scores on the test split, read once",
        "p": "paired t-test over the seeds, two-sided",
        "multiplicity": f"Holm (family-wise error rate) and Benjamini-Hochberg (false discovery "
                        f"rate) at {ALPHA:.0%} over each table's cells",
        "seconds": {"validation": round(t1 - t0, 1), "test": round(t2 - t1, 1)},
    }
    if before is not None:
        before = Path(before)
        before_card = json.loads(before.with_suffix(".json").read_text())
        before_model = models.load_source_model(before)
        card["leak_check"] = leak_check(before_model, before_card, validation, test, card,
                                        seeds=seeds, progress=progress)
    elif card.get("leak_check", {}).get("after_filter", {}).get("weights_fingerprint") \
            != card["weights_fingerprint"]:
        card.pop("leak_check", None)
    return card


def assess_and_save(path: Path = config.SOURCE_MODEL_PATH, before: Path | None = None,
                    seeds: int = ASSESS_SEEDS, model=None, progress: bool = True) -> dict:
    """Assess the saved model at ``path`` and rewrite its card (``python -m helpers pretrain
    --assess-only``): the model is not trained again."""
    from helpers.data import atomic_write_text

    card_path = Path(path).with_suffix(".json")
    model = model if model is not None else models.load_source_model(path)
    card = assess_card(model, json.loads(card_path.read_text()), before=before, seeds=seeds,
                       progress=progress)
    atomic_write_text(card_path, json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return card


# ---------------------------------------------------------------- README's table

def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _interval(pair) -> str:
    return f"[{pair[0]:+.3f}, {pair[1]:+.3f}]"


def _goal(cell: dict) -> bool:
    return cell["difference"] >= GOAL and cell["verdict"] == "ahead"


def assessment_markdown(card: dict) -> str:
    """README's table of the card's transferability assessment: held out on test, and on
    validation, side by side, with the multiplicity corrections and the leak check. It is long
    because it is that text, one part after another, as README shows it."""
    test, val = card["transferability_on_test"], card["transferability_on_validation"]
    a = card.get("assessment", {})
    rows = ["| target | labels/class | **test** (held out): pretrained / random | difference "
            "[95% bootstrap] | 95% t-interval | p | verdict | Holm 5% | BH 5% | validation: "
            "difference [95% bootstrap] | p | verdict | Holm 5% | BH 5% |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for task, by_budget in test.items():
        for budget, t in by_budget.items():
            v = val[task][budget]
            rows.append(
                f"| {task} | {budget} | {t['mean_a']:.3f} / {t['mean_b']:.3f} | "
                f"{t['difference']:+.3f} {_interval(t['bootstrap'])} | {_interval(t['t'])} | "
                f"{_p(t['p'])} | {t['verdict']} | {_yes(t['survives_holm'])} | "
                f"{_yes(t['survives_bh'])} | {v['difference']:+.3f} {_interval(v['bootstrap'])} | "
                f"{_p(v['p'])} | {v['verdict']} | {_yes(v['survives_holm'])} | "
                f"{_yes(v['survives_bh'])} |")
    n_cells = sum(len(b) for b in test.values())
    seeds = a.get("seeds", next(iter(next(iter(test.values())).values()))["n"])

    def count(table, key):
        return sum(p[key] for b in table.values() for p in b.values())

    def chose(table, arm, option):
        return sum(p[f"{arm}_batchnorm"][option] for b in table.values() for p in b.values())

    samples = n_cells * seeds
    goal_t = [_goal(test[t][b]) for t in NEW_CLASSES if t in test for b in test[t]]
    goal_v = [_goal(val[t][b]) for t in NEW_CLASSES if t in val for b in val[t]]
    rows += [
        "",
        f"**Held out: the test columns.** The source's recipe was chosen on the targets' "
        f"validation splits, so the validation columns (choices on one half of each validation "
        f"split, scores on the other) are numbers the choice saw; the test columns (choices on "
        f"the whole validation split, scores on the test split, read once) are on data no "
        f"choice saw. Linear probes, {seeds} few-shot samples per cell. For each sample both "
        f"networks choose on validation from menus of the same size: layer × C × "
        f"BatchNormalization statistics. The pretrained network's come from the source or are "
        f"recalibrated on the sample; the random-weight twin (seed {models.TWIN_SEED:,} + the "
        f"sample's) keeps its initial statistics or has them calibrated on the sample. On test "
        f"the twin kept its initial statistics in {chose(test, 'random', models.TWIN_BATCHNORM[0])} "
        f"of {samples} samples, and the pretrained network recalibrated in "
        f"{chose(test, 'pretrained', models.PRETRAINED_BATCHNORM[1])}.",
        "",
        f"p: paired t-test over the samples (two-sided). Over the {n_cells} cells of each table, "
        f"Holm's correction holds the chance of any false claim at 5% and Benjamini–Hochberg's "
        f"holds the expected share of false claims at 5%; a cell survives when its verdict is "
        f"not \"can't tell\" and the correction rejects. Surviving on test: "
        f"{count(test, 'survives_holm')} of {n_cells} cells (Holm), {count(test, 'survives_bh')} "
        f"(BH); on validation: {count(val, 'survives_holm')} (Holm), "
        f"{count(val, 'survives_bh')} (BH). The goal set for the source (pretrained ahead of "
        f"random weights by at least {GOAL:.2f}, both intervals above zero, at every budget on "
        f"the new-classes targets) is met in {sum(goal_t)} of {len(goal_t)} cells on test and "
        f"{sum(goal_v)} of {len(goal_v)} on validation."]
    leak = card.get("leak_check")
    if leak:
        gone = leak["removed_characters"]

        def diffs(side, split):
            return "; ".join(f"{b} label{'s' if int(b) > 1 else ''}/class "
                             f"{p['difference']:+.3f} {_interval(p['bootstrap'])}"
                             for b, p in leak[side][split].items())

        rows += ["", f"Leak check ({leak['target']} target, digits; pretrained − random, 95% "
                 f"bootstrap). The digit look-alike filter removed {gone['count']} of the previous "
                 f"source's 1,000 characters (`{gone['characters']}`). Before it, on test: "
                 f"{diffs('before_filter', 'test')}; on validation: "
                 f"{diffs('before_filter', 'validation')}. After it, on test: "
                 f"{diffs('after_filter', 'test')}; on validation: "
                 f"{diffs('after_filter', 'validation')}. Change (after − before) on test: "
                 + ", ".join(f"{p['difference'] - leak['before_filter']['test'][b]['difference']:+.3f} "
                             f"at {b}" for b, p in leak["after_filter"]["test"].items())
                 + " labels/class."]
    return "\n".join(rows)
