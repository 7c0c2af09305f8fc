"""The report's numbers from the analyses: robustness under corruptions, the misclassified
test images, inference speed, and what the feature maps and Grad-CAM maps show."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import MEAN_ROW, model_label, per_class_table, prose_label, summed_confusion_matrix
from labwork6.latex import fixed, format_mean_std, is_missing, percent_decimals, shape_text, thousands
from labwork6.report_numbers.results import PAIRS, pair_models
from labwork6.report_numbers.wording import figure_path, known, percent, times, words
from labwork6.robustness import CORRUPTIONS, SEVERITIES

if TYPE_CHECKING:
    from labwork6.report_data import ReportData

#: How many shared errors the prose names one by one.
LISTED_ERRORS = 6
#: The most misclassified images the error figure of :mod:`labwork6.report_figures` shows.
ERRORS_SHOWN = 21


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
    severities = [int(s) for s in (config.get("robustness_severities") or SEVERITIES)]
    means = data.corruption_means
    numbers = {"HaveRobustness": bool(data.robustness),
               "RobustnessFigure": figure_path(data.figures_dir, "robustness.pdf"),
               "NumCorruptions": len(CORRUPTIONS), "NumSeverities": len(severities), "SeverityList": words(severities),
               "NumCorruptedVersions": len(CORRUPTIONS) * len(severities),
               "RobustnessImagesPerRun": thousands(config.get("robustness_images")) or "all",
               "RobustnessImages": thousands(means["images"].iloc[0]) if not means.empty else None,
               "RankingText": _ranking_text(data.corruption_types)}
    numbers["HaveRanking"] = numbers["RankingText"] is not None
    for prefix, name in (("Vgg", data.roles["vgg"]), ("Res", data.roles["resnet"]),
                         ("Svc", BASELINE_MODEL if data.baseline else None)):
        rows = means[means["model"] == name].sort_values("seed")
        types = data.corruption_types[data.corruption_types["model"] == name]
        types = types[~types["corruption"].isin((MEAN_ROW, "clean"))]
        if rows.empty or types.empty:
            numbers.update({f"{prefix}Corruption": None, f"{prefix}Hardest": None, f"{prefix}HardestAccuracy": None})
            continue
        decimals = percent_decimals(int(rows["images"].min()))
        values = rows["mean_corruption"].to_numpy(float)
        numbers[f"{prefix}Corruption"] = f"{percent(values[0], decimals)}%" if len(values) == 1 else (
            f"{format_mean_std(values.mean(), values.std(ddof=1), decimals=decimals)}% "
            f"(seeds: {words([percent(value, decimals) for value in values])}%)")
        hardest = types.loc[types["accuracy"].idxmin()]
        numbers[f"{prefix}Hardest"] = hardest["corruption"].replace("_", " ")
        numbers[f"{prefix}HardestAccuracy"] = percent(hardest["accuracy"], decimals)
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
    text = (f"After the model's normalisation (the training split's mean and std) a black background pixel, 0 in "
            f"every training image, is always at {clean['background']:.2f}; under the contrast corruption at severity "
            f"1 (every pixel's distance from its image's mean times {first['factor']:g}) the background turns grey, "
            f"at {first['background']:.2f} on average, {first['background_shift']:.2f} training standard deviations "
            f"above any background the networks were trained on, while the strokes come down from "
            f"{clean['strokes']:.2f} to {first['strokes']:.2f}: the stroke-to-background contrast the networks "
            f"learned on ({clean['stroke_contrast']:.2f}) shrinks to {first['stroke_contrast']:.2f}")
    return {"HaveContrastDiagnosis": True, "ContrastText": text,
            "ContrastBackgroundClean": fixed(clean["background"], 2),
            "ContrastBackgroundOne": fixed(first["background"], 2),
            "ContrastShiftOne": fixed(first["background_shift"], 2),
            "ContrastFigure": figure_path(data.figures_dir, "contrast_diagnosis.png")}


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
    numbers = {"ErrorsFigure": figure_path(data.figures_dir, "errors.png"), "ErrorSeed": data.error_seed}
    if frame is None or resnet not in frame:
        return numbers | {"HaveErrorAnalysis": False}
    class_names = data.first_run("vgg")["config"]["class_names"]
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
        "SharedErrorCount": count, "SharedSameLabel": same, "SharedSvcWrong": svc_too,
        "SharedErrorText": shared_text, "ErrorsShownMax": ERRORS_SHOWN,
    })
    rows = data.paired_pooled[(data.paired_pooled["model_a"] == vgg) & (data.paired_pooled["model_b"] == resnet)]
    numbers["SharedPerSeed"] = (f"{words(rows['both_wrong'].tolist())} errors (seeds {words(rows['seed'].tolist())})"
                                if len(rows) > 1 else None)
    return numbers


def class_numbers(data: ReportData) -> dict:
    """Per network, the class with the lowest F1 (mean over seeds) and the most frequent
    confusion of the confusion matrix summed over seeds."""
    classes = per_class_table(data.runs)
    fewest = max(1, int(classes["support"].min()))
    numbers = {"ClassImages": fewest, "OneClassImage": fixed(100 / fewest, 1)}
    for prefix, family in (("Vgg", "vgg"), ("Res", "resnet")):
        name = data.roles[family]
        if name is None:
            numbers.update({f"{prefix}WorstClass": None, f"{prefix}WorstClassFscore": None,
                            f"{prefix}TopConfusion": None})
            continue
        f1 = classes.loc[name]["f1_mean"]
        matrix = summed_confusion_matrix(data.groups[name]).to_numpy()
        np.fill_diagonal(matrix, 0)
        true, predicted = np.unravel_index(np.argmax(matrix), matrix.shape)
        names = data.groups[name][0]["config"]["class_names"]
        numbers.update({
            f"{prefix}WorstClass": f1.idxmin(),
            f"{prefix}WorstClassFscore": percent(f1.min(), percent_decimals(max(1, int(classes["support"].min())))),
            f"{prefix}TopConfusion": f"{names[true]} read as {names[predicted]} ({matrix[true, predicted]} "
                                     f"time{'s' if matrix[true, predicted] != 1 else ''})"
            if matrix.max() > 0 else "none",
        })
    return numbers


def _inference_layers(model: keras.Model) -> int:
    """Layers a forward pass runs (the input and dropout, idle at inference, not counted)."""
    return sum(not isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)) for layer in model.layers)


def speed_numbers(data: ReportData) -> dict:
    """Latency (one image) and throughput (batches of 256) of the two networks, and how the
    measured numbers explain them: time per layer at batch 1, multiply-adds per second in batches."""
    if not (data.roles["vgg"] and data.roles["resnet"]):
        return {"SpeedText": None}
    models = {"vgg": data.vgg_model, "resnet": data.resnet_model}
    values = {family: {key: data.value(family, f"{key}_mean") for key in ("inference_latency_ms",
                                                                          "inference_throughput")}
              | {"adds": data.value(family, "multiply_adds"), "layers": _inference_layers(models[family]),
                 "name": model_label(data.roles[family])} for family in models}
    if any(is_missing(value) for family in values.values() for value in family.values()):
        return {"SpeedText": None}
    vgg, res = values["vgg"], values["resnet"]
    sooner = min((vgg, res), key=lambda v: v["inference_latency_ms"])
    busier = max((vgg, res), key=lambda v: v["inference_throughput"])
    if sooner is not busier:
        text = (f"The two measures rank the networks in opposite orders: {sooner['name']} classifies one image "
                f"sooner, {busier['name']} more images per second in batches. ")
    else:
        text = f"Both measures put {sooner['name']} first. "
    per_layer = {v["name"]: v["inference_latency_ms"] / v["layers"] for v in (vgg, res)}
    rate = {v["name"]: v["inference_throughput"] * v["adds"] / 1e9 for v in (vgg, res)}
    text += (f"At batch 1, {vgg['name']} runs {vgg['layers']} layers in {vgg['inference_latency_ms']:.1f} ms "
             f"and {res['name']} {res['layers']} layers in {res['inference_latency_ms']:.1f} ms, "
             f"{words([f'{value:.2f} ms' for value in per_layer.values()])} per layer")
    similar = max(per_layer.values()) < 1.5 * min(per_layer.values())
    text += (": about the same time per layer, so one image's latency follows the number of layers (each has a "
             "fixed cost) more than its arithmetic. " if similar else
             ": the time per layer differs, so the number of layers alone does not explain the latencies. ")
    text += (f"In batches of 256 they process {vgg['inference_throughput']:.0f} and "
             f"{res['inference_throughput']:.0f} images per second at {vgg['adds'] / 1e6:.1f} and "
             f"{res['adds'] / 1e6:.1f} million multiply-adds per image, "
             f"{words([f'{value:.1f}' for value in rate.values()])} G multiply-adds per second")
    similar = max(rate.values()) < 1.5 * min(rate.values())
    text += (": similar rates, so the throughput follows the multiply-adds per image" if similar else
             ": different rates, so the multiply-adds alone do not explain the throughputs")
    return {"SpeedText": text}


def filter_numbers(data: ReportData) -> dict:
    """Whether the two networks' trained first-layer filters are alike (same shape, and at most a
    quarter of their mean magnitude apart) and whether a fresh pair built with the runs' seed
    starts from the same kernels: why the two filter pictures can look the same."""
    kernels = data.trained_filters
    if len(kernels) < 2 or kernels["vgg"].shape != kernels["resnet"].shape:
        return {"FiltersAlike": False, "FilterDifference": None, "FilterMagnitude": None, "FilterSeed": None}
    from labwork6.features import first_layer_filters
    from labwork6.recipes import build_network

    runs = {family: data.first_run(family) for family in kernels}
    fresh = {}
    for family, run in runs.items():
        keras.utils.set_random_seed(int(run["config"]["seed"]))  # as the training does before building
        fresh[family] = first_layer_filters(build_network(run["config"]))
    same_start = bool(np.allclose(fresh["vgg"], fresh["resnet"]))
    difference = float(np.abs(kernels["vgg"] - kernels["resnet"]).max())
    magnitude = float(np.abs(kernels["vgg"]).mean())
    return {"FiltersAlike": same_start and difference < 0.25 * magnitude, "FilterDifference": fixed(difference, 2),
            "FilterMagnitude": fixed(magnitude, 2), "FilterSeed": int(runs["vgg"]["config"]["seed"])}


def feature_numbers(data: ReportData) -> dict:
    """The first-layer filters, the first and last feature maps shown, and the Grad-CAM layer,
    its map size and where its heatmaps put their weight (:func:`labwork6.report_data.gradcam_reading`)."""
    from labwork6 import features

    numbers = {}
    for prefix, family, model in (("Vgg", "vgg", data.vgg_model), ("Res", "resnet", data.resnet_model)):
        if data.roles[family] is None:
            numbers.update({f"{prefix}GradcamRead": False, f"{prefix}GradcamLayer": None,
                            f"{prefix}GradcamMap": None})
            continue
        kernel = features.first_layer_filters(model)
        blocks = features.block_output_layers(model)
        first, last = (shape_text(model.get_layer(name).output.shape[1:]) for name in (blocks[0], blocks[-1]))
        reading = data.gradcam.get(family, {})
        share, area = reading.get("bright_share"), reading.get("bright_area")
        numbers.update({
            f"{prefix}FilterCount": kernel.shape[-1], f"{prefix}FilterShape": shape_text(kernel.shape[:3]),
            f"{prefix}FirstMapLayer": blocks[0], f"{prefix}FirstMap": first,
            f"{prefix}LastMapLayer": blocks[-1], f"{prefix}LastMapShape": last,
            f"{prefix}GradcamLayer": reading.get("layer"), f"{prefix}GradcamMap": reading.get("map"),
            f"{prefix}GradcamRead": share is not None, f"{prefix}GradcamImages": reading.get("images"),
            f"{prefix}GradcamBright": known(lambda value: fixed(100 * value, 0), share),
            f"{prefix}GradcamArea": known(lambda value: fixed(100 * value, 0), area),
            f"{prefix}GradcamWord": known(lambda a, b: "more than" if a > 1.1 * b else "less than" if a < 0.9 * b
                                          else "about as much as", share, area),
            f"{prefix}GradcamRatio": times(share, area),
        })
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
    the learning curve. ``StudyMissing`` names what is not there yet."""
    from labwork6.recipes import RECIPES

    study = data.study
    kept = all(recipe.get("contrast_augmentation") for recipe in RECIPES.values())
    numbers = {"HaveStudy": bool(study), "RemedyKept": kept, "RemedySelectionText": None, "RemedyAblationText": None,
               "LearningCurveText": None, "RemedyRuleText": None,
               "StudyMissing": words([name.replace("_", " ") for name in
                                      ("remedy_selection", "remedy_ablation", "learning_curve") if name not in study])
               or None}
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
