"""Checks for notebook 04 (fine-tuning): the top blocks unfrozen, a lower learning rate after
the unfreeze, and the two-phase loop written out."""

from __future__ import annotations

import keras

from helpers.exercises.core import (
    CURRENT,
    check,
    compiled_with_current_flags,
    not_done,
    not_done_yet,
)
from helpers.finetuning import current_learning_rate
from helpers.freezing import snapshot_weights, weight_changes

__all__ = ["check_lowered_learning_rate", "check_two_phase", "check_unfrozen_top_block",
           "watch_fits"]


def _block(layer_or_path: str) -> str:
    return layer_or_path.split("/")[0].split("_")[0]


def check_unfrozen_top_block(base, block, recorder=CURRENT):
    """04: only the non-BatchNormalization layers of ``block`` (a block name such as ``"block3"``,
    or several) trainable."""
    blocks = (block,) if isinstance(block, str) else tuple(block)
    named = " and ".join(blocks)
    if base.trainable and all(layer.trainable for layer in base.layers):
        return not_done_yet("unfrozen_top_block", f"every layer of the base is still trainable. "
                            f"Choose layer by layer: only the convolutions of {named} train; every "
                            "other layer, BatchNormalization included, is frozen (section 2, "
                            "phase 2).", recorder)

    def in_blocks(layer):
        return _block(layer.name) in blocks
    wrong = [layer.name for layer in base.layers if layer.weights and bool(layer.trainable) !=
             (in_blocks(layer) and not isinstance(layer, keras.layers.BatchNormalization))]
    bn_open = [layer.name for layer in base.layers if in_blocks(layer)
               and isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    return check("unfrozen_top_block", [
        (base.trainable, "base.trainable is False, which overrides every layer: set it to True "
         "first, then choose layers."),
        (not bn_open, f"Keep BatchNormalization frozen while fine-tuning: {bn_open} are trainable."),
        (not wrong, f"These layers have the wrong trainable flag: {wrong}. Only the convolutions of "
         f"{named} should train (section 2, phase 2)."),
    ], f"only the convolutions of {named} will train; BatchNormalization stays frozen.", recorder)


def check_lowered_learning_rate(model, head_lr: float, factor_min: float = 10, recorder=CURRENT):
    """04: recompiled, after the unfreeze, with a learning rate at least ``factor_min`` times
    lower than the head's."""
    if getattr(model, "optimizer", None) is None:
        return not_done_yet("lowered_learning_rate", f"the model is not compiled yet. Recompile it "
                            f"for fine-tuning, with a learning rate at least {factor_min:g} times "
                            f"lower than the head's (HEAD_LR = {head_lr:g}); section 2, phase 2, "
                            "says why and how.", recorder)
    lr = current_learning_rate(model)
    return check("lowered_learning_rate", [
        (compiled_with_current_flags(model), "Layers were frozen or unfrozen after this compile, so "
         "the compiled model does not know about them: compile after the unfreeze, never before."),
        (lr <= head_lr / factor_min * (1 + 1e-6), f"The learning rate is {lr:g}; for fine-tuning use "
         f"at least {factor_min:g}x less than the head's {head_lr:g} (section 2, phase 2)."),
        (lr >= head_lr / 1000 * (1 - 1e-6), f"{lr:g} is so low the unfrozen layers will barely move; "
         f"try {head_lr / 10:g} to {head_lr / 100:g}."),
    ], f"learning rate {lr:g}, compiled after the unfreeze: gentle enough for pretrained weights.",
        recorder)


def watch_fits(model):
    """Keep a record of every ``model.fit``: the learning rate, the trainable weights, whether
    the model was compiled after its last change of ``trainable`` flags, which weights moved,
    and the History returned. ``check_two_phase`` reads it; ``fit`` itself is unchanged."""
    if getattr(model, "_tlw_fits", None) is not None:
        return model
    log: list = []
    original = model.fit

    def fit(*args, **kwargs):
        before = snapshot_weights(model)
        optimizer = getattr(model, "optimizer", None)
        entry = {"learning_rate": None if optimizer is None else current_learning_rate(model),
                 "trainable": {v.path for v in model.trainable_weights},
                 "fresh_compile": compiled_with_current_flags(model), "optimizer": optimizer}
        history = original(*args, **kwargs)
        entry["moved"] = {k for k, d in weight_changes(before, snapshot_weights(model)).items()
                          if d > 0}
        entry["history"] = history
        log.append(entry)
        return history

    object.__setattr__(model, "fit", fit)        # past Keras's attribute tracking
    object.__setattr__(model, "_tlw_fits", log)
    return model


def _layer_names(paths) -> list[str]:
    """The first four layer names among weight paths (``layer/variable``), for a hint."""
    return sorted({p.split("/")[0] for p in paths})[:4]


def _fits_and_histories_conditions(model, log: list, histories, hist: list, first, last) -> list:
    """Two fits of the watched model, and ``histories`` holding what each returned, in order."""
    return [
        (getattr(model, "_tlw_fits", None) is not None, "The check cannot see your fits: run the "
         "cell again from its first line (the line that calls exercises.watch_fits lets the check "
         "see them)."),
        (len(log) >= 2, f"{len(log)} fit of ex3_model in this cell: the loop has two phases, two "
         "fits (head first, then the unfrozen block)."),
        (not not_done(histories), "Keep the History object each fit returns, phase 1's then "
         "phase 2's, in ex3_histories."),
        (len(hist) == 2, f"ex3_histories should hold the 2 History objects, one per phase; it holds "
         f"{len(hist)}."),
        (lambda: hist[0] is not hist[1], "The same History twice: keep what each fit returns, "
         "one from phase 1 and one from phase 2."),
        (lambda: hist[0] is first["history"] and hist[1] is last["history"],
         "These History objects are not what the first and the last fit of ex3_model returned: "
         "keep what each phase's fit returns, phase 1's first."),
    ]


def _phase_one_conditions(first, head_lr: float, base_paths: set, in_base) -> list:
    """Phase 1 (the first fit): the base frozen, compiled after the freeze, the head trained
    at ``head_lr``."""
    return [
        (lambda: not in_base(first), lambda: f"In phase 1 the base was trainable "
         f"({', '.join(_layer_names(in_base(first)))}...): freeze it first, then compile and fit, "
         "so that only the new head trains."),
        (lambda: first["fresh_compile"], "Phase 1 ran on a compile from before the freeze: "
         "compile after changing trainable flags, then fit."),
        (lambda: abs(first["learning_rate"] - head_lr) <= 1e-6 * head_lr,
         lambda: f"Phase 1 ran at a learning rate of {first['learning_rate']:g}: the new head "
         f"trains at HEAD_LR ({head_lr:g}); the low rate is for phase 2."),
        (lambda: any(p not in base_paths for p in first["moved"]),
         "The new head did not change in phase 1: fit it on train_ds."),
    ]


def _phase_two_conditions(first, last, head_lr: float, block: str, bn_paths: set, in_base) -> list:
    """Phase 2 (the last fit): recompiled after the unfreeze, only ``block``'s convolutions
    trainable in the base (BatchNormalization frozen), at a rate ten times lower or more."""
    convs = lambda: {p for p in in_base(last) if p.startswith(f"{block}_conv")}  # noqa: E731
    other = lambda: {p for p in in_base(last) - bn_paths if _block(p) != block}  # noqa: E731
    return [
        (lambda: last["fresh_compile"] and last["optimizer"] is not first["optimizer"],
         "Phase 2 ran without a compile after the unfreeze: recompile (with the lower rate) after "
         "changing the flags, then fit."),
        (lambda: convs(), f"{block}'s convolutions were frozen in phase 2: unfreeze the base, "
         f"then choose layer by layer, only {block}'s convolutions trainable (section 2)."),
        (lambda: not other(), lambda: f"Other layers trained in phase 2 too "
         f"({', '.join(_layer_names(other()))}...): unfreeze only {block}'s convolutions."),
        (lambda: not (in_base(last) & bn_paths), "A BatchNormalization layer was trainable in "
         "phase 2; keep them frozen (inference mode)."),
        (lambda: last["learning_rate"] <= head_lr / 10 * (1 + 1e-6),
         lambda: f"Phase 2 ran at {last['learning_rate']:g}: recompile with a learning rate at "
         f"least ten times below HEAD_LR ({head_lr:g})."),
        (lambda: last["learning_rate"] >= head_lr / 1000 * (1 - 1e-6),
         lambda: f"Phase 2 ran at {last['learning_rate']:g}, so low that the unfrozen layers "
         f"barely move: try {head_lr / 10:g} to {head_lr / 100:g}."),
        (lambda: any(p.startswith(f"{block}_conv") for p in last["moved"]),
         f"{block}'s convolutions did not change in phase 2: fit after recompiling."),
    ]


def check_two_phase(model, base, head_lr: float, histories, recorder=CURRENT, *,
                    block: str = "block3"):
    """04: the two-phase loop written by the learner on a model watched by ``watch_fits``:
    phase 1 (the first fit) trains the new head on a frozen base at ``head_lr``; phase 2 (the
    last fit) trains ``block``'s convolutions and the head, BatchNormalization frozen, after a
    recompile at least ten times lower. ``histories``: the two fits' History objects."""
    log = getattr(model, "_tlw_fits", None)
    if not_done(histories) and not log:
        return not_done_yet("two_phase_loop", "write the two phases on ex3_model, one epoch each "
                            "(section 2 goes through them): the new head on a frozen base at "
                            f"HEAD_LR, then only {block}'s convolutions unfrozen, at a rate ten times "
                            "lower or more; keep each fit's History, phase 1's first, in "
                            "ex3_histories.", recorder)
    log = log or []
    base_paths = {v.path for v in base.weights}
    bn_paths = {v.path for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)
                for v in layer.weights}
    first, last = (log[0], log[-1]) if log else ({}, {})
    hist = [] if not_done(histories) else list(histories)

    def in_base(entry):
        """The base's weights that were trainable during this fit."""
        return entry["trainable"] & base_paths

    return check("two_phase_loop",
                 _fits_and_histories_conditions(model, log, histories, hist, first, last)
                 + _phase_one_conditions(first, head_lr, base_paths, in_base)
                 + _phase_two_conditions(first, last, head_lr, block, bn_paths, in_base),
                 lambda: f"two phases: the head at {head_lr:g} on a frozen base, then {block} at "
                         f"{last['learning_rate']:g}.", recorder)
