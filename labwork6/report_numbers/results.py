"""The report's numbers about the results: each model's test metrics with their intervals, the
SVC baseline, and the verdicts of the paired tests and the timings, worded from the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import epoch_seconds, model_label, table_cell
from labwork6.latex import fixed, is_missing, percent_decimals, thousands
from labwork6.report_numbers.wording import figure_path, known, percent, times, words

if TYPE_CHECKING:

    from labwork6.report_data import ReportData

#: The metrics the report quotes in words per model (the tables give precision and recall).
PRINTED_METRICS = (("accuracy", "Accuracy"), ("f1", "Fscore"))
#: The pairs the report tests: macro prefix -> (family or "svc", family or "svc").
PAIRS = {"VggRes": ("vgg", "resnet"), "VggSvc": ("vgg", "svc"), "ResSvc": ("resnet", "svc")}


def pair_models(data: ReportData, key: str) -> tuple[str | None, str | None]:
    """The model names of the pair ``key`` of :data:`PAIRS` (None where there is no such model)."""
    return tuple((BASELINE_MODEL if data.baseline else None) if family == "svc" else data.roles[family]
                 for family in PAIRS[key])


def metric_text(data: ReportData, name: str | None, key: str) -> str | None:
    """A model's test metric in words, on its pooled predictions (each image once per repetition):
    one repetition, its value, 95% interval and (accuracy) right answers; several, mean ± std
    over the repetitions and each one's value."""
    label = model_label(name) if name else None
    if label not in data.comparison.index:
        return None
    row, pooled = data.comparison.loc[label], data.pooled[data.pooled["model"] == name].sort_values("seed")
    decimals = percent_decimals(int(row["test_images"]))
    if row["n"] == 1:
        run = pooled.iloc[0]
        right = f"; {thousands(run['correct'])} of {thousands(run['test_images'])} images" if key == "accuracy" else ""
        return (f"{percent(run[key], decimals)}% (95% interval {percent(run[f'{key}_low'], decimals)}–"
                f"{percent(run[f'{key}_high'], decimals)}%{right})")
    values = words([percent(value, decimals) for value in pooled[key]])
    return f"{table_cell(data.comparison, label, key, percent=True, decimals=decimals)}% (seeds: {values}%)"


def model_numbers(data: ReportData) -> dict:
    """Each compared network's results, size and costs (``\\Vgg...``, ``\\Res...``), and its figures."""
    numbers = {"HaveVgg": data.roles["vgg"] is not None, "HaveResnet": data.roles["resnet"] is not None}
    for prefix, family, fallback in (("Vgg", "vgg", "VGG19"), ("Res", "resnet", "ResNet19")):
        name = data.roles[family]
        label = model_label(name) if name else fallback
        numbers[f"{prefix}Name"] = label
        runs = data.pooled[data.pooled["model"] == name] if not data.pooled.empty else data.pooled
        numbers[f"{prefix}IntervalWidth"] = known(
            lambda width, total: fixed(100 * width, percent_decimals(int(total))),
            (runs["accuracy_high"] - runs["accuracy_low"]).max() if len(runs) else None,
            runs["test_images"].min() if len(runs) else None)
        for key, title in PRINTED_METRICS:
            numbers[f"{prefix}{title}Text"] = metric_text(data, name, key)
        # drawn by labwork6.report_figures.write_figures, as PDF at their printed size
        for kind in ("filter_change", "block_maps", "confusion"):
            title = "".join(part.capitalize() for part in kind.split("_"))
            numbers[f"{prefix}{title}Figure"] = figure_path(data.figures_dir, f"{kind}_{name}.pdf" if name else None)
    numbers["CurvesFigure"] = figure_path(data.figures_dir, "training_curves.pdf")
    return numbers


def convergence(run: dict) -> dict | None:
    """Whether a run's training had settled, from its ``history.csv``: ``epochs`` run, ``kept_last``
    (the weights kept are the last epoch's), ``rising`` (the best validation accuracy of the last
    quarter of the epochs, at least one, beats every earlier epoch by at least one validation
    image; None with a single epoch) and ``last_gain`` (that margin, in validation images).
    None without a history."""
    history = run.get("history")
    if history is None or history.empty or "val_accuracy" not in history:
        return None
    epochs = len(history)
    best = int(run["metrics"].get("best_epoch") or epochs)
    images = max(1, int((run["config"].counts or {}).get("val") or 1))
    accuracy = history["val_accuracy"].to_numpy(float)
    tail = max(1, epochs // 4)
    gain = (accuracy[-tail:].max() - accuracy[:-tail].max()) * images if epochs > tail else None
    return {"epochs": epochs, "kept_last": best == epochs, "last_epochs": tail,
            "rising": None if gain is None else bool(gain >= 1 - 1e-6), "last_gain": gain}


def curve_numbers(data: ReportData) -> dict:
    """How far training went, over every run of the two networks (:func:`convergence`), in words
    (``ConvergenceText``, with the rule), and the training-curve figure's facts: which runs it
    shows and whether each row's loss axis is logarithmic (:func:`labwork6.plots.uses_log_scale`,
    the plot's own rule), for its caption."""
    from labwork6.plots import uses_log_scale

    parts, kept, rising, counted, total = [], 0, 0, 0, 0
    for family in ("vgg", "resnet"):
        group = data.groups.get(data.roles[family], []) if data.roles[family] else []
        found = [found for found in map(convergence, group) if found is not None]
        if not found:
            continue
        name = model_label(data.roles[family])
        last = sum(item["kept_last"] for item in found)
        judged = [item for item in found if item["rising"] is not None]
        up = sum(item["rising"] for item in judged)
        kept, rising, counted, total = kept + last, rising + up, counted + len(judged), total + len(found)
        text = f"{name} kept its last epoch's weights in {last} of {len(found)} runs"
        if judged:
            text += (f", and in {up} of them its best validation accuracy of the last {judged[0]['last_epochs']} "
                     f"epoch{'s' if judged[0]['last_epochs'] != 1 else ''} beat every earlier epoch by at least one "
                     "validation image")
        parts.append(text)
    epochs = words(sorted({len(run["history"]) for run in data.runs if run.get("history") is not None}))
    if not parts:
        text, settled = None, None
    elif counted == 0:
        text, settled = (f"{'; '.join(parts)} (each ran {epochs} epoch{'s' if epochs != '1' else ''}: too few to "
                         "tell whether training had settled)"), None
    else:
        settled = kept <= total / 2 and rising <= counted / 2
        text = ("; ".join(parts) + ". By the rule fixed here (training has settled when at most half the runs keep "
                "their last epoch and at most half still gain at the end), "
                + ("validation accuracy had levelled off by the last epochs" if settled else
                   "training had not converged: validation accuracy was still rising when the planned "
                   f"{epochs} epochs ended, so more epochs might change the accuracies"))
    # the figure has one row per network, each loss panel on a log axis by the plot's own rule
    shown = [group[0] for group in data.groups.values() if group and group[0].get("history") is not None]
    axes = {}
    for run in shown:
        losses = [run["history"][column].to_numpy(float) for column in ("loss", "val_loss") if column in run["history"]]
        axes[model_label(run["config"].model)] = "logarithmic" if losses and uses_log_scale(
            np.concatenate(losses)) else "linear"
    loss_axis = (next(iter(set(axes.values()))) if len(set(axes.values())) == 1 else
                 "; ".join(f"{kind} for {name}" for name, kind in axes.items())) if axes else None
    return {"ConvergenceText": text, "HaveConvergence": text is not None, "TrainingSettled": bool(settled),
            "TrainingNotConverged": settled is False,
            "CurvesLossAxis": loss_axis,
            "CurvesRuns": words([f"{model_label(run['config'].model)} seed {run['config'].seed}"
                                 + (f" fold {run['config'].fold}" if run["config"].folds else "")
                                 for run in shown]) or None}


def baseline_numbers(data: ReportData) -> dict:
    """The SVC baseline's results and fit (all missing without baseline runs)."""
    has = bool(data.baseline)
    config = data.baseline[0]["config"] if has else None
    return {
        "HaveBaseline": has,
        "SvcAccuracyText": metric_text(data, BASELINE_MODEL, "accuracy") if has else None,
        "SvcFeatures": known(lambda shape: thousands(np.prod(shape)), config.raw_input_shape if has else None),
    }


def verdict_numbers(data: ReportData) -> dict:
    """The verdicts of the paired tests (``\\VerdictVggRes``, ...; :func:`labwork6.comparison.pair_verdict`),
    the tests in words, the epoch times with their spread, and the size and cost ratios."""
    numbers = {"HaveAnyPair": bool(data.verdicts)}
    for key in PAIRS:
        pair = pair_models(data, key)
        verdict = data.verdicts.get(pair) if None not in pair else None
        numbers.update({f"Have{key}": verdict is not None, f"Verdict{key}": verdict and verdict["verdict"],
                        f"Decided{key}": bool(verdict and verdict["better"])})
    vgg_parameters, res_parameters = data.value("vgg", "parameters"), data.value("resnet", "parameters")
    vgg_adds, res_adds = data.value("vgg", "multiply_adds"), data.value("resnet", "multiply_adds")
    numbers.update({
        "ParameterRatio": times(vgg_parameters, res_parameters), "MultiplyAddRatio": times(res_adds, vgg_adds),
        **epoch_time_numbers(data),
    })
    return numbers


def epoch_time_numbers(data: ReportData) -> dict:
    """Seconds per epoch of the two networks with their spread over epochs, and whether the
    spreads (mean ± 2 std) keep them apart: only then is one called slower."""
    if not (data.roles["vgg"] and data.roles["resnet"]):
        return {"EpochTimeText": None}
    timed = {}
    for family in ("vgg", "resnet"):
        group = data.groups[data.roles[family]]
        timed[family] = {"name": model_label(data.roles[family]), "mean": data.value(family, "epoch_seconds_mean"),
                         "std": data.value(family, "epoch_seconds_std"),
                         "count": sum(len(epoch_seconds(run)) for run in group),
                         "first_left_out": all(run["history"] is not None and len(run["history"]) > 1
                                               for run in group)}
    vgg, res = timed.values()
    if is_missing(vgg["mean"]) or is_missing(res["mean"]):
        return {"EpochTimeText": None}
    if is_missing(vgg["std"]) or is_missing(res["std"]):
        return {"EpochTimeText": f"{vgg['name']} took {vgg['mean']:.2f} s per epoch and {res['name']} "
                                 f"{res['mean']:.2f} s; one epoch each gives no spread, so the two are not ranked"}
    left_out = ", leaving out each run's first, which also builds the graph" if vgg["first_left_out"] and \
        res["first_left_out"] else ""
    text = (f"{vgg['name']} took {vgg['mean']:.2f} ± {vgg['std']:.2f} s per epoch and {res['name']} "
            f"{res['mean']:.2f} ± {res['std']:.2f} s (mean ± standard deviation over {vgg['count']} and "
            f"{res['count']} epochs{left_out})")
    if abs(vgg["mean"] - res["mean"]) > 2 * (vgg["std"] + res["std"]):
        slow, fast = (vgg, res) if vgg["mean"] > res["mean"] else (res, vgg)
        text += f": {slow['name']}'s epochs took {slow['mean'] / fast['mean']:.1f} times as long as {fast['name']}'s"
    else:
        text += ": the spreads overlap, so neither is reliably slower per epoch"
    return {"EpochTimeText": text}
