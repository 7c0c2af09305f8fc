"""The report's numbers from the analyses: robustness under corruptions (per type, the contrast
diagnosis, ``make study``'s remedy), the misclassified test images, inference speed, and what
training changed in the first-layer filters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import MEAN_ROW, model_label, per_class_table, prose_label, summed_confusion_matrix
from labwork6.latex import fixed, format_mean_std, is_missing, percent_decimals, shape_text, thousands
from labwork6.report_numbers.results import PAIRS, pair_models
from labwork6.report_numbers.wording import figure_path, known, percent, words
from labwork6.robustness import CORRUPTIONS, SEVERITIES

if TYPE_CHECKING:
    from labwork6.report_data import ReportData

#: How many shared errors the prose names one by one.
LISTED_ERRORS = 6
#: The most misclassified images the error figure of :mod:`labwork6.report_figures` shows.
ERRORS_SHOWN = 14
#: First-layer filters the report shows per network before and after training.
FILTERS_SHOWN = 16
#: Channels per block in the report's feature-map figures.
CHANNELS_SHOWN = 8


def _robust_verdict(rows, first: str, second: str) -> str:
    """A pair's robustness in words, from its rows of :func:`paired_robustness`: "more robust" only
    when the interval of the difference of the mean over the corruption types excludes 0 in every
    seed, in the same direction; then, per type, where either is ahead (first seed)."""
    names = prose_label(first), prose_label(second)
    mean = rows[rows["corruption"] == MEAN_ROW]
    ahead = {names[0]: int((mean["significant"] & (mean["difference"] > 0)).sum()),
             names[1]: int((mean["significant"] & (mean["difference"] < 0)).sum())}
    better = next((name for name, count in ahead.items() if count == len(mean)), None)
    decimals = percent_decimals(int(mean["n"].min()))
    if len(mean) == 1:
        row = mean.iloc[0]
        detail = (f" (mean over the corruption types: difference {percent(row['difference'], decimals)} points, 95% "
                  f"interval {percent(row['low'], decimals)} to {percent(row['high'], decimals)}, on "
                  f"{thousands(row['n'])} images)")
    else:
        detail = f" (the 95% interval of the difference excludes 0 in {sum(ahead.values())} of the {len(mean)} seeds)"
    text = (f"{better} is more robust than {names[1] if better == names[0] else names[0]} on average{detail}"
            if better else f"{names[0]} and {names[1]} cannot be told apart on average under corruption{detail}")
    types = rows[(rows["seed"] == rows["seed"].min()) & ~rows["corruption"].isin((MEAN_ROW, "clean"))]
    parts = []
    for index, name in enumerate(names):
        sign = 1 if index == 0 else -1
        won = types[types["significant"] & (sign * types["difference"] > 0)]["corruption"]
        if len(won):
            parts.append(f"{name} is ahead under {words([c.replace('_', ' ') for c in won])}")
    undecided = types[~types["significant"]]["corruption"]
    if len(undecided):
        parts.append(f"neither under {words([c.replace('_', ' ') for c in undecided])}")
    return text + ("; by type, " + "; ".join(parts) if parts else "")


def _ranking_text(summary) -> str | None:
    """Per corruption type, the model ranked first (``corruption_summary``, first seed)."""
    types = summary[~summary["corruption"].isin((MEAN_ROW, "clean"))]
    if types.empty or types["model"].nunique() < 2:
        return None
    firsts = {}
    for corruption, part in types.groupby("corruption", sort=False):
        for name in part[part["rank"] == 1]["model"]:
            firsts.setdefault(prose_label(name), []).append(corruption.replace("_", " "))
    return "; ".join(f"{name} ranks first under {words(found)}" for name, found in firsts.items())


def robustness_numbers(data: ReportData) -> dict:
    """Mean corruption accuracy per model (one repetition: its value; several: mean ± std and each
    seed's), the corruption type that hurts it most, each type's ranking and the paired
    robustness verdicts."""
    config = data.subject["config"]
    severities = [int(s) for s in (config.robustness_severities or SEVERITIES)]
    means = data.corruption_means
    numbers = {"HaveRobustness": bool(data.robustness),
               "RobustnessFigure": figure_path(data.figures_dir, "robustness.pdf"),
               "NumCorruptions": len(CORRUPTIONS), "SeverityList": words(severities),
               "RobustnessImagesPerRun": thousands(config.robustness_images) or "all",
               "RobustnessImages": thousands(means["images"].iloc[0]) if not means.empty else None,
               "RankingText": _ranking_text(data.corruption_types)}
    numbers["HaveRanking"] = numbers["RankingText"] is not None
    for prefix, name in (("Vgg", data.roles["vgg"]), ("Res", data.roles["resnet"]),
                         ("Svc", BASELINE_MODEL if data.baseline else None)):
        rows = means[means["model"] == name].sort_values("seed")
        types = data.corruption_types[data.corruption_types["model"] == name]
        types = types[~types["corruption"].isin((MEAN_ROW, "clean"))]
        if rows.empty or types.empty:
            numbers[f"{prefix}Corruption"] = None
            continue
        decimals = percent_decimals(int(rows["images"].min()))
        values = rows["mean_corruption"].to_numpy(float)
        numbers[f"{prefix}Corruption"] = f"{percent(values[0], decimals)}%" if len(values) == 1 else (
            f"{format_mean_std(values.mean(), values.std(ddof=1), decimals=decimals)}% "
            f"(seeds: {words([percent(value, decimals) for value in values])}%)")
    pairs = data.robust_pairs
    numbers["HaveAnyRobustPair"] = not pairs.empty
    for key in PAIRS:
        first, second = pair_models(data, key)
        rows = pairs[(pairs["model_a"] == first) & (pairs["model_b"] == second)] if first and second else pairs[:0]
        numbers[f"HaveRobust{key}"] = not rows.empty
        numbers[f"RobustVerdict{key}"] = _robust_verdict(rows, first, second) if not rows.empty else None
    return numbers


def contrast_numbers(data: ReportData) -> dict:
    """The contrast collapse explained (:func:`labwork6.robustness.contrast_diagnosis` of the VGG's
    first run): where the background of a digit lands after the model's normalisation, clean and
    under contrast at severity 1, in units of the training std."""
    frame = data.contrast_diagnosis
    if frame is None or frame["background"].isna().all():
        return {"HaveContrastDiagnosis": False, "ContrastText": None,
                "ContrastFigure": figure_path(data.figures_dir, None)}
    clean, first = frame.iloc[0], frame[frame["severity"] == 1].iloc[0]
    augmented = (data.first_run("vgg") or data.runs[0])["config"].contrast_augmentation
    text = (f"After the model's normalisation (the training split's mean and std) a black background pixel, 0 in "
            f"every raw training image, is at {clean['background']:.2f}; under the contrast corruption at severity "
            f"1 (every pixel's distance from its image's mean times {first['factor']:g}) the background turns grey, "
            f"at {first['background']:.2f} on average, {first['background_shift']:.2f} training standard deviations "
            f"higher, while the strokes come down from {clean['strokes']:.2f} to {first['strokes']:.2f}: the "
            f"stroke-to-background contrast of the clean digits ({clean['stroke_contrast']:.2f}) shrinks to "
            f"{first['stroke_contrast']:.2f}. "
            + (f"Without augmentation no training image has such a background; these runs' RandomContrast("
               f"{augmented:g}) augmentation shows the networks lifted backgrounds during training"
               if augmented else "No training image of these runs has such a background: the training "
                                 "augmentation does not change contrast"))
    return {"HaveContrastDiagnosis": True, "ContrastText": text,
            "ContrastFigure": figure_path(data.figures_dir, "contrast_diagnosis.pdf")}


def _error_list(frame, vgg: str, resnet: str, class_names) -> str:
    """The shared errors in words: ``image 163 (true 9, read as 3 by both)`` (the image's id in the
    source: for digits, its row of ``load_digits``), at most :data:`LISTED_ERRORS` of them."""
    shared = frame[(frame[vgg] != frame["label"]) & (frame[resnet] != frame["label"])]
    items = []
    for index, row in shared.head(LISTED_ERRORS).iterrows():
        true, first, second = (class_names[int(row[column])] for column in ("label", vgg, resnet))
        read = f"read as {first} by both" if first == second else \
            f"read as {first} by {model_label(vgg)} and as {second} by {model_label(resnet)}"
        items.append(f"image {index} (true {true}, {read})")
    more = len(shared) - len(items)
    return words(items + ([f"{more} more"] if more > 0 else []))


def error_numbers(data: ReportData) -> dict:
    """The misclassified test images of the first seed (its folds pooled: every image once): how
    many per model, how many both networks share (with the same wrong label, and also wrong for
    the SVC), which ones; and the shared errors of every seed."""
    vgg, resnet = data.roles["vgg"], data.roles["resnet"]
    frame = data.errors
    numbers = {"ErrorsFigure": figure_path(data.figures_dir, "errors.pdf"), "ErrorSeed": data.error_seed}
    if frame is None or resnet not in frame:
        return numbers | {"HaveErrorAnalysis": False}
    class_names = data.first_run("vgg")["config"].class_names
    wrong = {name: frame[name] != frame["label"] for name in frame.columns if name not in ("label", "fold")}
    shared = wrong[vgg] & wrong[resnet]
    count, same = int(shared.sum()), int((shared & (frame[vgg] == frame[resnet])).sum())
    svc_too = int((shared & wrong[BASELINE_MODEL]).sum()) if BASELINE_MODEL in wrong else None
    if count == 0:
        shared_text = "The two networks share no error"
    else:
        also = f" and {svc_too} also wrong for the SVC" if svc_too is not None else ""
        shared_text = (f"The two networks share {count} error{'s' if count != 1 else ''}, {same} of them with the "
                       f"same wrong class{also}: {_error_list(frame, vgg, resnet, class_names)}")
    numbers.update({
        "HaveErrorAnalysis": True, "ErrorTestImages": len(frame),
        "VggErrorCount": int(wrong[vgg].sum()), "ResErrorCount": int(wrong[resnet].sum()),
        "SvcErrorCount": int(wrong[BASELINE_MODEL].sum()) if BASELINE_MODEL in wrong else None,
        "SharedErrorText": shared_text, "ErrorsShownMax": ERRORS_SHOWN,
    })
    rows = data.paired_pooled[(data.paired_pooled["model_a"] == vgg) & (data.paired_pooled["model_b"] == resnet)]
    numbers["SharedPerSeed"] = (f"{words(rows['both_wrong'].tolist())} errors (seeds {words(rows['seed'].tolist())})"
                                if len(rows) > 1 else None)
    return numbers


def class_numbers(data: ReportData) -> dict:
    """Per network, from the confusion matrix summed over its runs (every fold, every seed): the
    class with the most misread images, how many of how many, and the most frequent confusion,
    as counts (a per-class F1 on a few images moves by whole images)."""
    classes = per_class_table(data.runs)
    fewest = max(1, int(classes["support"].min()))
    numbers = {"ClassImages": fewest, "OneClassImage": fixed(100 / fewest, 1)}
    for prefix, family in (("Vgg", "vgg"), ("Res", "resnet")):
        name = data.roles[family]
        if name is None:
            numbers.update({f"{prefix}ClassErrors": None, f"{prefix}TopConfusion": None})
            continue
        matrix = summed_confusion_matrix(data.groups[name]).to_numpy()
        names = data.groups[name][0]["config"].class_names
        totals = matrix.sum(axis=1)
        wrong = totals - np.diag(matrix)
        np.fill_diagonal(matrix, 0)
        true, predicted = np.unravel_index(np.argmax(matrix), matrix.shape)
        worst = np.flatnonzero(wrong == wrong.max())
        if wrong.max() == 0:
            most = "no class has a misread image"
        elif len(worst) > 3:  # many ties: the count says more than the list
            most = f"{len(worst)} classes tie for the most misread images, {wrong.max()} each"
        else:
            most = (f"the most misread class{'es are' if len(worst) > 1 else ' is'} "
                    + words([f"{names[index]} ({wrong[index]} of {totals[index]} images)" for index in worst]))
        numbers.update({
            f"{prefix}ClassErrors": most,
            f"{prefix}TopConfusion": f"{names[true]} read as {names[predicted]} ({matrix[true, predicted]} "
                                     f"time{'s' if matrix[true, predicted] != 1 else ''})"
            if matrix.max() > 0 else "none",
        })
    return numbers


def ranked_text(name_a: str, mean_a, std_a, name_b: str, mean_b, std_b, what: str, higher_first: bool) -> str:
    """Two measured means in words, ranked only when their spreads keep them apart (the means
    differ by more than twice the sum of the standard deviations), else said to overlap."""
    if is_missing(std_a) or is_missing(std_b):
        return f"one measurement each gives no spread, so the two are not ranked by {what}"
    if abs(mean_a - mean_b) <= 2 * (std_a + std_b):
        return f"the spreads overlap, so neither is ranked first by {what}"
    first = name_a if (mean_a > mean_b) == higher_first else name_b
    return f"{first} is first by {what}"


def speed_numbers(data: ReportData) -> dict:
    """Latency (one image) and throughput (batches of 256) of the two networks, mean ± std over
    their runs, each ranked only when the spreads keep the means apart (:func:`ranked_text`)."""
    keys = {"inference_latency_ms": ("latency", 1, " ms", False),
            "inference_throughput": ("throughput", 0, " images/s", True)}
    if not (data.roles["vgg"] and data.roles["resnet"]) or any(
            is_missing(data.value(family, f"{key}_mean")) for family in ("vgg", "resnet") for key in keys):
        return {"SpeedText": None, "HaveSpeed": False}
    names = {family: model_label(data.roles[family]) for family in ("vgg", "resnet")}
    parts = {}
    for key, (what, decimals, unit, higher_first) in keys.items():
        found = {family: (data.value(family, f"{key}_mean"), data.value(family, f"{key}_std")) for family in names}
        measured = words([f"{names[family]} {format_mean_std(mean, std, percent=False, decimals=decimals)}{unit}"
                          for family, (mean, std) in found.items()])
        ranking = ranked_text(names["vgg"], *found["vgg"], names["resnet"], *found["resnet"], what, higher_first)
        parts[what] = f"{measured} ({ranking})"
    return {"HaveSpeed": True, "SpeedText": f"one image took {parts['latency']}; in batches of 256 the networks "
                                            f"classified {parts['throughput']}"}


def filter_change(initial: np.ndarray, trained: np.ndarray) -> dict:
    """How training changed a layer's kernels ``(F, F, D, K)``, each filter against its own initial
    values: ``change`` (the norm of the change over the initial norm, all filters together),
    ``scale`` (trained norm over initial norm) and ``correlation`` (the mean over the filters of
    the correlation between a filter's initial and trained weights: 1 when only its size changed)."""
    first, last = (np.asarray(kernel, float).reshape(-1, np.shape(kernel)[-1]) for kernel in (initial, trained))
    if first.shape != last.shape:
        raise ValueError(f"`initial` and `trained` must have one shape. Received: {np.shape(initial)} and "
                         f"{np.shape(trained)}")
    correlations = [np.corrcoef(first[:, index], last[:, index])[0, 1] for index in range(first.shape[1])]
    return {"change": float(np.linalg.norm(last - first) / np.linalg.norm(first)),
            "scale": float(np.linalg.norm(last) / np.linalg.norm(first)),
            "correlation": float(np.nanmean(correlations))}


def filter_numbers(data: ReportData) -> dict:
    """Each network's first-layer kernels after training against the same network's initial
    kernels (``ReportData.initial_filters``, rebuilt from the run's seed): :func:`filter_change`."""
    numbers = {}
    for prefix, family in (("Vgg", "vgg"), ("Res", "resnet")):
        trained, initial = data.trained_filters.get(family), data.initial_filters.get(family)
        found = filter_change(initial, trained) if trained is not None and initial is not None else {}
        numbers.update({f"{prefix}FiltersRead": bool(found),
                        f"{prefix}FilterChange": known(lambda value: fixed(100 * value, 1 if value < 0.1 else 0),
                                                       found.get("change")),
                        f"{prefix}FilterScale": known(lambda value: fixed(value, 2), found.get("scale")),
                        f"{prefix}FilterCorrelation": known(lambda value: fixed(value, 2), found.get("correlation"))})
    return numbers


def feature_numbers(data: ReportData) -> dict:
    """The first-layer filters (count and shape) and the feature maps the appendix figure shows
    (the first and last block outputs, and the test image they follow)."""
    from labwork6 import features

    image = data.feature_image
    numbers = {"FeatureImage": image[0] if image else None, "ChannelsShown": CHANNELS_SHOWN}
    for prefix, family, model in (("Vgg", "vgg", data.vgg_model), ("Res", "resnet", data.resnet_model)):
        if data.roles[family] is None:
            numbers.update({f"{prefix}FilterCount": None, f"{prefix}FilterShape": None, f"{prefix}FiltersShown": None})
            continue
        kernel = features.first_layer_filters(model)
        blocks = features.block_output_layers(model)
        first, last = (shape_text(model.get_layer(name).output.shape[1:]) for name in (blocks[0], blocks[-1]))
        numbers.update({f"{prefix}FilterCount": kernel.shape[-1], f"{prefix}FilterShape": shape_text(kernel.shape[:3]),
                        f"{prefix}FiltersShown": min(FILTERS_SHOWN, kernel.shape[-1]),
                        f"{prefix}FirstMap": first, f"{prefix}LastMapShape": last})
    return numbers


def _study_arms(frame, key: str, decimals: int) -> str:
    """``without → with`` of ``key`` per network, from a study table with ``contrast_augmentation``."""
    parts = []
    for name, part in frame.groupby("model", sort=False):
        without = part[part["contrast_augmentation"] == 0][key].mean()
        remedied = part[part["contrast_augmentation"] > 0][key].mean()
        parts.append(f"{model_label(name)} {percent(without, decimals)}% → {percent(remedied, decimals)}%")
    return words(parts)


def remedy_decision(selection) -> dict[str, dict]:
    """Per network, the rule the default recipe follows: keep the remedy only if its clean
    validation accuracy (pooled over the development seeds) is not below the Wilson 95% interval
    of the accuracy without it. Returns per model ``without`` and ``with`` (accuracies), ``images``,
    ``low``, ``high`` (the interval without) and ``keeps_clean``."""
    from labwork6.stats import accuracy_interval

    found = {}
    for name, part in selection.groupby("model", sort=False):
        arms = {}
        for remedied, rows in part.groupby(part["contrast_augmentation"] > 0):
            images = int(rows["val_images"].sum())
            arms[bool(remedied)] = (int(round(float((rows["clean"] * rows["val_images"]).sum()))), images)
        if set(arms) != {False, True}:
            continue
        (right, images), (right_with, images_with) = arms[False], arms[True]
        low, high = accuracy_interval(right, images)
        found[name] = {"without": right / images, "with": right_with / images_with, "images": images, "low": low,
                       "high": high, "keeps_clean": right_with / images_with >= low}
    return found


def study_numbers(data: ReportData) -> dict:
    """What ``make study`` found (:mod:`labwork6.study`), when its tables exist next to the runs:
    the contrast remedy on the development seeds' validation splits and on the reported folds, and
    the learning curve."""
    from labwork6.recipes import RECIPES

    study = data.study
    kept = all(recipe.get("contrast_augmentation") for recipe in RECIPES.values())
    numbers = {"HaveStudy": bool(study), "RemedyKept": kept, "RemedySelectionText": None, "RemedyAblationText": None,
               "LearningCurveText": None, "RemedyRuleText": None}
    selection = study.get("remedy_selection")
    numbers["HaveRemedySelection"] = selection is not None and not selection.empty
    if numbers["HaveRemedySelection"]:
        decimals = percent_decimals(int(selection["val_images"].min()))
        factor = selection[selection["contrast_augmentation"] > 0]["contrast_augmentation"].iloc[0]
        seeds = words(sorted(selection["seed"].unique().tolist()))
        numbers["RemedySelectionText"] = (
            f"on the validation splits of fold 0 of the development seeds {seeds} (never a reported test fold), "
            f"training with RandomContrast({factor:g}) moved the clean validation accuracy (mean over the seeds) "
            f"{_study_arms(selection, 'clean', decimals)}, the accuracy under the contrast corruption "
            f"{_study_arms(selection, 'contrast', decimals)} and the mean over every corruption "
            f"{_study_arms(selection, 'mean_corruption', decimals)}")
        decision = remedy_decision(selection)
        numbers["RemedyRuleText"] = "; ".join(
            f"{model_label(name)}: clean validation accuracy {percent(found['with'], decimals)}% with it, "
            f"{'within' if found['keeps_clean'] else 'below'} the 95% interval "
            f"{percent(found['low'], decimals)}–{percent(found['high'], decimals)}% of "
            f"{percent(found['without'], decimals)}% without it ({thousands(found['images'])} validation images)"
            for name, found in decision.items()) or None
    ablation = study.get("remedy_ablation")
    numbers["HaveRemedyAblation"] = ablation is not None and not ablation.empty
    if numbers["HaveRemedyAblation"]:
        decimals = percent_decimals(int(ablation["test_images"].min()))
        numbers["RemedyAblationText"] = (
            f"on the reported folds (seed {int(ablation['seed'].iloc[0])}, every image once) the remedy moved the "
            f"clean test accuracy {_study_arms(ablation, 'accuracy', decimals)} and the mean corruption accuracy "
            f"{_study_arms(ablation, 'mean_corruption', percent_decimals(int(ablation['robustness_images'].min())))}")
    curve = study.get("learning_curve")
    numbers["HaveLearningCurve"] = curve is not None and not curve.empty
    if numbers["HaveLearningCurve"]:
        decimals = percent_decimals(int(curve["test_images"].min()))
        parts = [f"{model_label(name)} " + words([f"{percent(row['accuracy'], decimals)}% with "
                                                  f"{row['train_images']:.0f} training images"
                                                  for _, row in part.sort_values("train_fraction").iterrows()])
                 for name, part in curve.groupby("model", sort=False)]
        numbers["LearningCurveText"] = "pooled test accuracy " + "; ".join(parts)
    return numbers
