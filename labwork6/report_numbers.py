"""The numbers the report's prose quotes, one section at a time, from a report's runs.

Each section is a small function of a :class:`labwork6.report.ReportData` that returns a plain
dict of macro name -> value (:data:`SECTIONS`); :func:`report_numbers` merges them and
:func:`labwork6.latex.write_numbers` writes them as ``numbers.tex``: ``True``/``False`` as
``\\newif`` flags, None (a value the runs do not have) as "n/a". A new number is one more
entry in its section's dict.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from labwork6.baseline import SVC_MAX_TRAIN
from labwork6.comparison import SVC_LABEL, model_for_run, model_label, table_cell
from labwork6.latex import fixed, is_missing, shape_text, thousands
from labwork6.metrics import format_mean_std
from labwork6.models import facts as model_facts
from labwork6.models import layer_table
from labwork6.models.summary import check_formulas

if TYPE_CHECKING:
    from labwork6.report import ReportData

OPTIMIZER_LABELS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD with Nesterov momentum"}
METRIC_TITLES = (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"), ("f1", "Fscore"))
#: The largest pixel value: the datasets hold uint8 images, which the model's preprocessing
#: divides by 255 before normalising.
PIXEL_MAX = int(np.iinfo(np.uint8).max)
#: The slides' dense-layer example: a 64x64x3 image into one layer of 1000 units.
BLOWUP = {"side": 64, "channels": 3, "units": 1000}


def augmentation_text(dataset: str, input_shape) -> str:
    """In words, the augmentation :func:`labwork6.preprocessing.augmentation_for` applies."""
    from labwork6.preprocessing import augmentation_for

    pipeline = augmentation_for(str(dataset), tuple(int(d) for d in input_shape))
    if pipeline is None:
        return "none (images too small to shift)"
    parts = []
    for layer in pipeline.layers:
        config = layer.get_config()
        kind = type(layer).__name__
        if kind == "RandomTranslation":
            parts.append(f"random translation by up to {100 * abs(float(config['height_factor'])):.0f}% of the "
                         f"height and {100 * abs(float(config['width_factor'])):.0f}% of the width")
        elif kind == "ZeroPadding2D":
            parts.append(f"zero padding by {config['padding'][0][0]} pixels")
        elif kind == "RandomCrop":
            parts.append(f"a random crop back to {config['height']}×{config['width']}")
        elif kind == "RandomFlip":
            parts.append(f"random {config['mode']} flips")
        else:
            parts.append(kind)
    return ", ".join(parts)


# --------------------------------------------------------------------------- sections


def _known(function, *values):
    """``function(*values)``, or None when one of the values is missing."""
    return None if any(is_missing(value) for value in values) else function(*values)


def _figure(figures_dir: Path, name: str | None) -> PurePosixPath | None:
    """``figures/<name>`` relative to the report when that figure exists."""
    return PurePosixPath("figures", name) if name and (figures_dir / name).exists() else None


def run_numbers(data: ReportData) -> dict:
    """The profile, the runs, the software and the machine."""
    config = data.subject["config"]
    versions, hardware = config.get("versions", {}), config.get("hardware", {})
    return {
        "ReportProfile": data.profile, "SmokeProfile": data.profile == "smoke", "ReportDataset": config["dataset"],
        "ReportDate": datetime.date.today().isoformat(), "NumRuns": len(data.runs), "NumModels": len(data.groups),
        "ModelList": ", ".join(model_label(name) for name in data.groups),
        "SeedList": ", ".join(str(seed) for seed in sorted({run["config"]["seed"] for run in data.runs})),
        **{f"Version{title}": versions.get(key) for key, title in (
            ("labwork6", "Labwork"), ("tensorflow", "Tensorflow"), ("keras", "Keras"),
            ("scikit-learn", "Sklearn"), ("python", "Python"))},
        "HardwareProcessor": hardware.get("processor") or hardware.get("machine"),
        "HardwareCpus": hardware.get("cpu_count"), "HardwareGpus": ", ".join(hardware.get("gpus") or []) or "none",
    }


def data_numbers(data: ReportData) -> dict:
    """The dataset, its splits, the input shapes and the standardization (of the VGG's runs)."""
    config = data.subject["config"]
    counts = config.get("counts") or {}
    baseline = data.baseline[0]["config"] if data.baseline else {}
    raw_shape = config.get("raw_input_shape") or baseline.get("raw_input_shape")
    shapes = {family: (run["config"].get("input_shape") if run else None)
              for family, run in (("vgg", data.first_run("vgg")), ("resnet", data.first_run("resnet")))}
    # the statistics the model's normalization layer was adapted to, recorded by the training
    standard = config.get("normalization") or {}
    return {
        "NumClasses": config.get("num_classes"), "ClassNames": ", ".join(map(str, config.get("class_names", []))),
        "NumTrain": thousands(counts.get("train")), "NumVal": thousands(counts.get("val")),
        "NumTest": thousands(counts.get("test")), "NumImages": thousands(sum(counts.values())) if counts else None,
        "SubsampleNote": f"at most {config['subsample']} images per split" if config.get("subsample")
        else "all images",
        "RawShape": shape_text(raw_shape), "InputShape": shape_text(config.get("input_shape")),
        "VggUpscaled": bool(shapes["vgg"] and raw_shape and shapes["vgg"][0] > raw_shape[0]),
        "ResUpscaled": bool(shapes["resnet"] and raw_shape and shapes["resnet"][0] > raw_shape[0]),
        "SameInputShape": len({tuple(shape) for shape in shapes.values() if shape}) <= 1,
        "PixelMax": PIXEL_MAX, "StandardizerImages": thousands(standard.get("num_images")),
        "ChannelMeans": _known(lambda values: ", ".join(fixed(v, 4) for v in values), standard.get("mean")),
        "ChannelStds": _known(lambda values: ", ".join(fixed(v, 4) for v in values), standard.get("std")),
        "DatasetSource": baseline.get("source") or config["dataset"],
        "Augmentation": augmentation_text(config["dataset"], config["input_shape"])
        if config.get("augment", True) and config.get("input_shape") else "none",
        "OneTestImage": fixed(100 / counts["test"], 2) if counts.get("test") else None,
        "OneValidationImage": fixed(100 / counts["val"], 2) if counts.get("val") else None,
    }


def model_numbers(data: ReportData) -> dict:
    """Each compared model's results, size and costs (``\\Vgg...``, ``\\Res...``), and its figures."""
    numbers = {"HaveVgg": data.roles["vgg"] is not None, "HaveResnet": data.roles["resnet"] is not None}
    for prefix, family, fallback in (("Vgg", "vgg", "VGG19"), ("Res", "resnet", "ResNet19")):
        name = data.roles[family]
        group = data.groups.get(name, [])
        config = group[0]["config"] if group else {}
        label = model_label(name) if name else fallback

        def cell(key, label=label, **options):
            return table_cell(data.comparison, label, key, **options)

        numbers.update({f"{prefix}Name": label, f"{prefix}Model": name or "none", f"{prefix}Runs": len(group),
                        f"{prefix}Seeds": ", ".join(str(run["config"]["seed"]) for run in group) or None})
        for key, title in METRIC_TITLES:
            numbers[f"{prefix}{title}"] = _known(lambda mean: fixed(100 * mean, 2), data.value(family, f"{key}_mean"))
            numbers[f"{prefix}{title}Std"] = _known(lambda std: fixed(100 * std, 2), data.value(family, f"{key}_std"))
            numbers[f"{prefix}{title}PM"] = cell(key, percent=True)
        parameters = config.get("parameters", {})
        numbers.update({
            f"{prefix}Parameters": thousands(parameters.get("total")),
            f"{prefix}ParametersTrainable": thousands(parameters.get("trainable")),
            f"{prefix}ParametersM": _known(lambda total: fixed(total / 1e6, 2), parameters.get("total")),
            f"{prefix}MultiplyAddsM": _known(lambda adds: fixed(adds / 1e6, 1), config.get("multiply_adds")),
            f"{prefix}TrainSeconds": cell("train_seconds", decimals=1),
            f"{prefix}SecondsPerEpoch": cell("seconds_per_epoch", decimals=1),
            f"{prefix}Epochs": cell("epochs_run", decimals=0), f"{prefix}BestEpoch": cell("best_epoch", decimals=1),
            f"{prefix}Latency": cell("inference_latency_ms", decimals=2),
            f"{prefix}Throughput": cell("inference_throughput", decimals=0),
        })
        for kind in ("filters", "feature_maps", "gradcam", "confusion"):
            title = "".join(part.capitalize() for part in kind.split("_"))
            numbers[f"{prefix}{title}Figure"] = _figure(data.figures_dir, f"{kind}_{name}.png" if name else None)
    return numbers


def recipe_numbers(data: ReportData) -> dict:
    """Each compared model's training settings, from its first run's config."""
    numbers = {}
    for prefix, family in (("Vgg", "vgg"), ("Res", "resnet")):
        run = data.first_run(family)
        config = run["config"] if run else {}
        numbers.update({
            f"{prefix}Width": config.get("width"), f"{prefix}InputShape": shape_text(config.get("input_shape")),
            f"{prefix}MinImageSize": config.get("min_image_size"),
            f"{prefix}Head": (config.get("model_options") or {}).get("head", "–"),
            f"{prefix}Optimizer": OPTIMIZER_LABELS.get(config.get("optimizer"), config.get("optimizer")),
            f"{prefix}LearningRate": config.get("learning_rate"), f"{prefix}BatchSize": config.get("batch_size"),
            f"{prefix}WeightDecay": config.get("weight_decay"),
            f"{prefix}LabelSmoothing": config.get("label_smoothing"),
            f"{prefix}Warmup": _known(lambda fraction: fixed(100 * fraction, 0), config.get("warmup_fraction")),
            f"{prefix}PlannedEpochs": config.get("epochs"),
            f"{prefix}PrecisionPolicy": config.get("resolved_precision", config.get("precision")),
        })
    return numbers


def baseline_numbers(data: ReportData) -> dict:
    """The SVC baseline's results and fit (all missing without baseline runs)."""
    has = bool(data.baseline)
    config = data.baseline[0]["config"] if has else {}

    def cell(key, **options):
        return table_cell(data.comparison, SVC_LABEL, key, **options)

    support = [run["metrics"].get("support_vectors") for run in data.baseline]
    return {
        "HaveBaseline": has,
        **{f"Svc{title}PM": cell(key, percent=True) for key, title in METRIC_TITLES},
        "SvcAccuracy": _known(lambda mean: fixed(100 * mean, 2), data.at(SVC_LABEL, "accuracy_mean")),
        "SvcRuns": len(data.baseline) if has else None, "SvcFitImages": thousands(config.get("fit_images")),
        "SvcSupportVectors": _known(lambda values: format_mean_std(
            float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else None, percent=False,
            decimals=0), support or None),
        "SvcFitSeconds": cell("train_seconds", decimals=2),
        "SvcFeatures": _known(lambda shape: thousands(np.prod(shape)), config.get("raw_input_shape")),
        "SvcMaxTrain": thousands(config.get("max_train", SVC_MAX_TRAIN)) if has else None,
    }


def comparison_numbers(data: ReportData) -> dict:
    """Verdicts of VGG against ResNet and against the baseline, so that the prose never
    states a result the numbers contradict (missing without runs of both families)."""
    vgg, res = (model_label(data.roles[family]) if data.roles[family] else None for family in ("vgg", "resnet"))
    counts = data.subject["config"].get("counts") or {}
    one_image = 100 / counts["test"] if counts.get("test") else 0.0
    difference = _known(lambda a, b: 100 * (a - b), data.value("vgg", "accuracy_mean"),
                        data.value("resnet", "accuracy_mean"))

    def accuracy_verdict(difference):
        if round(difference, 6) == 0:
            return f"{vgg} and {res} are equally accurate"
        verdict = (f"{vgg if difference > 0 else res} is the more accurate, by "
                   f"{abs(difference):.2f} percentage points in mean accuracy")
        return verdict + (" (less than one test image)" if abs(difference) < one_image else "")

    def time_verdict(slow):
        # the slower model first, so the ratio reads as "times as long" (never "0.8 times as long")
        return f"{res} took {slow:.1f} times as long as {vgg}" if slow >= 1 else \
            f"{vgg} took {1 / slow:.1f} times as long as {res}"

    slow = _known(lambda a, b: a / b, data.value("resnet", "seconds_per_epoch_mean"),
                  data.value("vgg", "seconds_per_epoch_mean"))
    vgg_parameters, res_parameters = data.value("vgg", "parameters"), data.value("resnet", "parameters")
    vgg_adds, res_adds = data.value("vgg", "multiply_adds"), data.value("resnet", "multiply_adds")
    numbers = {
        "AccuracyGap": _known(lambda d: fixed(abs(d), 2), difference),
        "AccuracyVerdict": _known(accuracy_verdict, difference),
        "MoreAccurate": _known(lambda d: vgg if d > 0 else res if d < 0 else "neither", difference),
        "LessAccurate": _known(lambda d: res if d > 0 else vgg if d < 0 else "neither", difference),
        "EpochTimeRatio": _known(lambda ratio: fixed(ratio, 1), slow),
        "EpochTimeVerdict": _known(time_verdict, slow),
        "ParameterRatio": _known(lambda a, b: fixed(a / b, 1), vgg_parameters, res_parameters),
        "MultiplyAddRatio": _known(lambda a, b: fixed(a / b, 1), res_adds, vgg_adds),
        "ResParameterWord": _known(lambda a, b: "fewer" if a < b else "more", res_parameters, vgg_parameters),
        "ResComputeWord": _known(lambda a, b: "more" if a > b else "less", res_adds, vgg_adds),
    }
    svc = data.at(SVC_LABEL, "accuracy_mean")
    for prefix, label, family in (("Vgg", vgg, "vgg"), ("Res", res, "resnet")):
        gap = _known(lambda a, b: round(float(a - b), 9), data.value(family, "accuracy_mean"), svc)
        numbers[f"{prefix}VersusBaseline"] = "cannot be compared with" if gap is None or label is None else \
            "beats" if gap > 0 else "matches" if gap == 0 else "does not beat"
    return numbers


def architecture_numbers(data: ReportData) -> dict:
    """Layer counts and facts of the two networks as trained, and VGG19's configuration."""
    from labwork6.models.resnet import RESNET_PRESETS
    from labwork6.models.vgg import VGG_CONFIGS, VGG_FILTERS, VGG_HEADS

    vgg_table = layer_table(data.vgg_model) if data.vgg_model is not None else None
    counts = {"VggArch": model_facts.layer_counts(vgg_table) if vgg_table is not None else {},
              "ResArch": model_facts.layer_counts(layer_table(data.resnet_model))}
    vgg = model_facts.vgg_facts(data.vgg_model) if data.vgg_model is not None else {}
    resnet = model_facts.resnet_facts(data.resnet_model) if data.roles["resnet"] else {}
    vgg_run = data.first_run("vgg")
    numbers = {f"{prefix}{title}": counts[prefix].get(key) for prefix in counts for key, title in (
        ("conv", "Conv"), ("projection", "Projections"), ("dense", "Dense"), ("pool", "Pool"),
        ("weight_layers", "WeightLayers"))}
    if vgg_table is not None:
        convolutions = int((vgg_table["type"] == "Conv2D").sum())
        numbers["ArchFormulaChecks"] = f"all {convolutions}" if check_formulas(vgg_table) is None else "not all"
    else:
        numbers["ArchFormulaChecks"] = None
    preset = RESNET_PRESETS.get(data.roles["resnet"] or "resnet19", RESNET_PRESETS["resnet19"])
    numbers.update({
        "VggBlockConvs": ", ".join(map(str, VGG_CONFIGS[19])), "VggBlockFilters": ", ".join(map(str, VGG_FILTERS)),
        "VggBlocks": len(VGG_FILTERS), "VggKernel": vgg.get("kernel"), "VggPoolSize": vgg.get("pool_size"),
        "VggPoolStride": vgg.get("pool_stride"), "ResSmallStem": preset.get("stem") == "small",
        "ResBlocksPerStage": ", ".join(str(stage.blocks) for stage in RESNET_PRESETS["resnet19"]["stages"]),
        "VggPaperHeadUnits": thousands(VGG_HEADS["paper"]), "VggCompactHeadUnits": thousands(VGG_HEADS["compact"]),
        "VggBatchNorm": bool(vgg.get("batch_norm")),
        "VggPaperHead": ((vgg_run["config"].get("model_options") or {}) if vgg_run else {}).get("head", "paper")
        == "paper",
        "VggBnMomentum": vgg.get("bn_momentum"), "VggBnParameters": thousands(vgg.get("bn_parameters")),
        "VggHeadUnits": thousands(vgg.get("head_units")), "VggDropout": vgg.get("dropout_rate"),
        "VggFlattenLength": thousands(vgg.get("flatten_length")),
        "VggDenseShare": _known(lambda share: fixed(100 * share, 0), vgg.get("dense_share")),
        "VggLastMap": vgg.get("last_map"), "ResLastMap": resnet.get("last_map"),
        "ResDownsampling": resnet.get("downsampling"),
    })
    # the maps the smallest allowed input leaves in the last stage (min_image_size / downsampling)
    for prefix, family, found in (("Vgg", "vgg", vgg), ("Res", "resnet", resnet)):
        run = data.first_run(family)
        side = _known(lambda minimum, down: int(minimum) // down,
                      run["config"].get("min_image_size") if run else None, found.get("downsampling"))
        numbers[f"{prefix}MinMap"] = f"{side}×{side}" if side else None
    return numbers


def cost_numbers(data: ReportData) -> dict:
    """What the ResNet would cost at the VGG's input: why it runs on smaller images."""
    vgg_run, resnet_run = data.first_run("vgg"), data.first_run("resnet")
    at_vgg_input = None
    if vgg_run and resnet_run and list(vgg_run["config"]["input_shape"]) != list(resnet_run["config"]["input_shape"]):
        model = model_for_run(resnet_run, input_shape=vgg_run["config"]["input_shape"])
        at_vgg_input = int(layer_table(model).iloc[-1]["multiply_adds"])
    vgg_adds = vgg_run["config"].get("multiply_adds") if vgg_run else None
    return {
        "ResCostAtVggInput": at_vgg_input is not None,
        "ResMultiplyAddsAtVggInputM": _known(lambda adds: fixed(adds / 1e6, 1), at_vgg_input),
        "ResAtVggInputRatio": _known(lambda adds, vgg: fixed(adds / vgg, 1), at_vgg_input, vgg_adds),
    }


def reference_numbers(data: ReportData) -> dict:
    """VGG19 and ResNet50 at the papers' 224x224x3, the slide's claims, the dense blow-up."""
    vgg, resnet = model_facts.reference_counts("vgg19"), model_facts.reference_counts("resnet50")
    vgg_parameters, res_parameters = vgg["parameters"]["trainable"], resnet["parameters"]["trainable"]
    slide = model_facts.SLIDE_VGG19_VS_RESNET50["parameters"]
    inputs = BLOWUP["side"] ** 2 * BLOWUP["channels"]
    return {
        "RefInputShape": shape_text(model_facts.REFERENCE_INPUT_SHAPE),
        "RefClasses": thousands(model_facts.REFERENCE_CLASSES),
        "RefVggParameters": thousands(vgg_parameters), "RefVggParametersM": fixed(vgg_parameters / 1e6, 1),
        "RefVggMultiplyAddsG": fixed(vgg["multiply_adds"] / 1e9, 2),
        "RefResParameters": thousands(res_parameters), "RefResParametersM": fixed(res_parameters / 1e6, 1),
        "RefResNonTrainable": thousands(resnet["parameters"]["non_trainable"]),
        "RefResMultiplyAddsG": fixed(resnet["multiply_adds"] / 1e9, 2),
        "RefParameterRatio": fixed(vgg_parameters / res_parameters, 1),
        "RefMultiplyAddRatio": fixed(vgg["multiply_adds"] / resnet["multiply_adds"], 1),
        "SlideVggParameters": slide["vgg19"], "SlideResParameters": slide["resnet50"],
        "BlowupSide": BLOWUP["side"], "BlowupChannels": BLOWUP["channels"], "BlowupInputs": thousands(inputs),
        "BlowupUnits": thousands(BLOWUP["units"]), "BlowupWeights": thousands(inputs * BLOWUP["units"]),
        "BlowupBiases": thousands(BLOWUP["units"]),
    }


#: The sections of ``numbers.tex``: each returns a dict of macro name -> value.
SECTIONS: tuple[Callable[[ReportData], dict], ...] = (
    run_numbers, data_numbers, model_numbers, recipe_numbers, baseline_numbers, comparison_numbers,
    architecture_numbers, cost_numbers, reference_numbers,
)


def report_numbers(data: ReportData) -> dict:
    """Every section's numbers in one dict.

    Raises:
        ValueError: two sections give the same name.
    """
    numbers: dict = {}
    for section in SECTIONS:
        part = section(data)
        repeated = sorted(numbers.keys() & part.keys())
        if repeated:
            raise ValueError(f"{section.__name__} gives numbers another section gave already: {repeated}")
        numbers.update(part)
    return numbers
