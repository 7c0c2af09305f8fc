"""The report's numbers about the setup: the runs, the data, the recipe and training budget,
the architectures, their costs, and the slides' reference networks."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import numpy as np

from labwork6.comparison import ALPHA, N_RESAMPLES, model_label
from labwork6.latex import fixed, shape_text, thousands
from labwork6.models import facts as model_facts
from labwork6.models import layer_table
from labwork6.recipes import build_network
from labwork6.report_numbers.blocks import block_formula_mismatches, block_table, padding_share
from labwork6.report_numbers.wording import known, times, words

if TYPE_CHECKING:
    from labwork6.report_data import ReportData

OPTIMIZER_LABELS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD with Nesterov momentum"}
#: The largest pixel value: the datasets hold uint8 images, which the model's preprocessing
#: divides by 255 before normalising.
PIXEL_MAX = int(np.iinfo(np.uint8).max)
#: What the title page shows until the student sets ``author`` under ``[tool.labwork6]`` in pyproject.toml
#: (the README tells them to): neutral text, so that a printed report never shows a warning.
AUTHOR_PLACEHOLDER = "Student name"


def pixel_text(dataset: str) -> str:
    """Where a dataset's pixel values come from, in words: for digits, its 17 grey levels (read from
    ``load_digits``) stretched to 0-255 by :mod:`labwork6.data`; for the others, 8-bit images."""
    if dataset != "digits":
        return f"The images arrive as 8-bit integers, 0 to {PIXEL_MAX}"
    from sklearn.datasets import load_digits

    levels = np.unique(load_digits().images)
    return (f"The images hold {len(levels)} grey levels, {levels.min():g} to {levels.max():g}: each pixel counts the "
            f"pixels set in a 4×4 block of a 32×32 bitmap (scikit-learn's description). labwork6 stretches them to "
            f"0 to {PIXEL_MAX} (times {PIXEL_MAX}/{levels.max():g}, rounded), the 8-bit range every dataset arrives "
            f"in, so the {len(levels)} levels stay {len(levels)} values")


def augmentation_text(dataset: str, input_shape, contrast: float | None = None) -> str:
    """In words, the augmentation :func:`labwork6.preprocessing.augmentation_for` applies, and
    the recipe's ``contrast_augmentation`` (:func:`labwork6.recipes.build_augmentation`)."""
    from labwork6.preprocessing import augmentation_for

    pipeline = augmentation_for(str(dataset), tuple(int(d) for d in input_shape))
    extra = (f"random contrast (each image's distance from its mean scaled by a factor drawn in "
             f"[{1 - contrast:g}, {1 + contrast:g}], Keras' RandomContrast)") if contrast else None
    if pipeline is None:
        return extra or "none (images too small to shift)"
    parts = []
    for layer in pipeline.layers:
        layer_config = layer.get_config()
        kind = type(layer).__name__
        if kind == "RandomTranslation":
            parts.append(f"random translation by up to {100 * abs(float(layer_config['height_factor'])):.0f}% of the "
                         f"height and {100 * abs(float(layer_config['width_factor'])):.0f}% of the width")
        elif kind == "ZeroPadding2D":
            parts.append(f"zero padding by {layer_config['padding'][0][0]} pixels")
        elif kind == "RandomCrop":
            parts.append(f"a random crop back to {layer_config['height']}×{layer_config['width']}")
        elif kind == "RandomFlip":
            parts.append(f"random {layer_config['mode']} flips")
        else:
            parts.append(kind)
    return ", ".join([*parts, *([extra] if extra else [])])



# --------------------------------------------------------------------------- sections


def run_numbers(data: ReportData) -> dict:
    """The profile, the author, the runs and seeds, the test level, the software and the machine."""
    config = data.subject["config"]
    versions, hardware = config.versions or {}, config.hardware or {}
    return {
        "ReportProfile": data.profile, "SmokeProfile": data.profile == "smoke",
        "ReportDate": datetime.date.today().isoformat(), "ReportAuthor": data.author or AUTHOR_PLACEHOLDER,
        "AuthorSet": bool(data.author), "NumSeeds": len(data.seeds), "SeveralSeeds": len(data.seeds) > 1,
        "CrossValidation": bool(data.folds),
        "Alpha": f"{ALPHA:g}", "Level": f"{100 * (1 - ALPHA):g}", "Resamples": thousands(N_RESAMPLES),
        **{f"Version{title}": versions.get(key) for key, title in (
            ("labwork6", "Labwork"), ("tensorflow", "Tensorflow"), ("keras", "Keras"),
            ("scikit-learn", "Sklearn"), ("python", "Python"))},
        "HardwareProcessor": hardware.get("processor") or hardware.get("machine"),
        "HardwareCpus": hardware.get("cpu_count"), "HardwareGpus": ", ".join(hardware.get("gpus") or []) or "none",
    }


def data_numbers(data: ReportData) -> dict:
    """The dataset, its splits, the input shapes and the standardization (of the VGG's runs)."""
    config = data.subject["config"]
    counts = config.counts or {}
    baseline = data.baseline[0]["config"] if data.baseline else None
    raw_shape = config.raw_input_shape or (baseline.raw_input_shape if baseline else None)
    shapes = {family: (run["config"].input_shape if run else None)
              for family, run in (("vgg", data.first_run("vgg")), ("resnet", data.first_run("resnet")))}
    # the statistics the model's normalization layer was adapted to, recorded by the training
    standard = config.normalization or {}
    # with cross-validation a repetition tests every image once, over its folds
    pooled = int(data.pooled["test_images"].min()) if not data.pooled.empty else counts.get("test")
    folds = data.folds
    subsample = config.subsample
    return {
        "NumClasses": config.num_classes, "ClassNames": ", ".join(map(str, config.class_names or [])),
        "NumTest": thousands(pooled),
        "NumImages": thousands(sum(counts.values())) if counts else None,
        "SubsampleNote": (f"at most {subsample} images, drawn before folding" if folds else
                          f"at most {subsample} images per split") if subsample else "all images",
        "EvaluationText": (f"{folds}-fold stratified cross-validation: each of the {thousands(pooled)} images is "
                           f"tested exactly once, by the network trained on the other "
                           f"{'fold' if folds == 2 else f'{folds - 1} folds'} "
                           f"({thousands(counts.get('test'))} test images per fold; {thousands(counts.get('train'))} "
                           f"training and {thousands(counts.get('val'))} validation images, the validation images "
                           "taken from the training folds to choose the epoch)" if folds else
                           f"a held-out test split of {thousands(counts.get('test'))} images"),
        "RawShape": shape_text(raw_shape), "InputShape": shape_text(config.input_shape),
        "VggUpscaled": bool(shapes["vgg"] and raw_shape and shapes["vgg"][0] > raw_shape[0]),
        "ResUpscaled": bool(shapes["resnet"] and raw_shape and shapes["resnet"][0] > raw_shape[0]),
        "SameInputShape": len({tuple(shape) for shape in shapes.values() if shape}) <= 1,
        "PixelMax": PIXEL_MAX, "PixelText": pixel_text(config.dataset),
        "StandardizerImages": thousands(standard.get("num_images")),
        "ChannelMeans": known(lambda values: ", ".join(fixed(v, 4) for v in values), standard.get("mean")),
        "ChannelStds": known(lambda values: ", ".join(fixed(v, 4) for v in values), standard.get("std")),
        "DatasetSource": (baseline.source if baseline else None) or config.dataset,
        "Augmentation": augmentation_text(config.dataset, config.input_shape, config.contrast_augmentation)
        if config.augment and config.input_shape else "none",
        "ContrastAugmentation": f"{config.contrast_augmentation:g}" if config.contrast_augmentation else None,
        "RunsAugmentContrast": bool(config.contrast_augmentation),
        "OneTestImage": fixed(100 / pooled, 2) if pooled else None,
        "OneValidationImage": fixed(100 / counts["val"], 2) if counts.get("val") else None,
    }


def writer_numbers(data: ReportData) -> dict:
    """Who wrote the digits, and what that means for the accuracies (:func:`labwork6.data.digits_writers`,
    quoted from the installed scikit-learn): the first of the report's limits."""
    facts = data.writers
    if facts is None:
        return {"HaveWriterLimit": False, "WriterQuote": None, "WriterText": None, "NumWriters": None}
    text = (f"scikit-learn's digits are the test set of the UCI optdigits data, {thousands(facts['images'])} images "
            f"written by {facts['writers']} people (of the {facts['writers_total']} who wrote the UCI data, the other "
            f"{facts['writers_total'] - facts['writers']} wrote its training set, which scikit-learn does not ship). "
            "Whether split at random or folded, the images of every writer are in training and in test, so the "
            "accuracies here are on writers the networks have already seen; they do not say how well a network "
            "would read the digits of a new writer, which would need a split by writer (the writer of each image "
            "is not recorded in scikit-learn's copy)")
    return {"HaveWriterLimit": True, "WriterQuote": facts["quote"], "WriterText": text, "NumWriters": facts["writers"],
            "WriterSource": facts["source"]}


def recipe_numbers(data: ReportData) -> dict:
    """Each compared model's training settings and budget, from its first run's config."""
    numbers = {}
    for prefix, family in (("Vgg", "vgg"), ("Res", "resnet")):
        run = data.first_run(family)
        config = run["config"] if run else None

        def setting(name, config=config):
            return getattr(config, name) if config is not None else None

        numbers.update({
            f"{prefix}Width": setting("width"), f"{prefix}InputShape": shape_text(setting("input_shape")),
            f"{prefix}MinImageSize": setting("min_image_size"),
            f"{prefix}Optimizer": OPTIMIZER_LABELS.get(setting("optimizer"), setting("optimizer")),
            f"{prefix}LearningRate": setting("learning_rate"), f"{prefix}BatchSize": setting("batch_size"),
            f"{prefix}WeightDecay": setting("weight_decay"),
            f"{prefix}LabelSmoothing": setting("label_smoothing"),
            f"{prefix}Warmup": known(lambda fraction: fixed(100 * fraction, 0), setting("warmup_fraction")),
            f"{prefix}PlannedEpochs": setting("epochs"),
        })
    return numbers


def budget_numbers(data: ReportData) -> dict:
    """Whether the two networks had the same training budget (batch size, epochs, steps), from
    their configs, and the sentence that says so."""
    vgg, res = (data.first_run(family) for family in ("vgg", "resnet"))
    if not (vgg and res):
        return {"SameBatchSize": False, "SameEpochs": False, "MatchedTraining": False, "BudgetText": None}
    budget = {}
    for run in (vgg, res):
        config = run["config"]
        budget[model_label(config.model)] = (config.batch_size, config.epochs, config.steps_per_epoch)
    (batch_a, epochs_a, steps_a), (batch_b, epochs_b, steps_b) = budget.values()
    matched = batch_a == batch_b and epochs_a == epochs_b and steps_a == steps_b and steps_a is not None
    def epochs_of(epochs, steps):
        return f"{epochs} epoch{'s' if epochs != 1 else ''} of {steps or '?'} step{'s' if steps != 1 else ''}"

    if matched:
        text = (f"both networks were trained with batches of {batch_a} images for {epochs_of(epochs_a, steps_a)}, "
                f"the same {epochs_a * steps_a:,} training steps on the same training split")
    else:
        text = "the training budgets differ: " + "; ".join(
            f"{label} was trained for {epochs_of(epochs, steps)} with batches of {batch}"
            + (f" ({epochs * steps:,} steps)" if steps else "") for label, (batch, epochs, steps) in budget.items())
    return {"SameBatchSize": batch_a == batch_b, "SameEpochs": epochs_a == epochs_b, "MatchedTraining": matched,
            "BudgetText": text}


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
        ("conv", "Conv"), ("projection", "Projections"), ("dense", "Dense"), ("weight_layers", "WeightLayers"))}
    preset = RESNET_PRESETS.get(data.roles["resnet"] or "resnet19", RESNET_PRESETS["resnet19"])
    numbers.update({
        "VggBlockConvs": ", ".join(map(str, VGG_CONFIGS[19])), "VggBlockFilters": ", ".join(map(str, VGG_FILTERS)),
        "VggBlocks": len(VGG_FILTERS), "VggKernel": shape_text(vgg.get("kernel")),
        "VggPoolSize": shape_text(vgg.get("pool_size")),
        "VggPoolStride": vgg.get("pool_stride"), "ResSmallStem": preset.get("stem") == "small",
        "ResBlocksPerStage": ", ".join(str(stage.blocks) for stage in RESNET_PRESETS["resnet19"]["stages"]),
        # Zheng et al.'s table, as the package builds it (labwork6.models.resnet), and the TET code's stem
        "ResStemFilters": RESNET_PRESETS["resnet19"]["stem_filters"],
        "ResStageFilters": words([stage.filters for stage in RESNET_PRESETS["resnet19"]["stages"]]),
        "ResHeadUnits": RESNET_PRESETS["resnet19"]["head_units"],
        "ResTetStemFilters": RESNET_PRESETS["resnet19_tet"]["stem_filters"],
        "VggPaperHeadUnits": thousands(VGG_HEADS["paper"]),
        "VggBatchNorm": bool(vgg.get("batch_norm")),
        "VggPaperHead": ((vgg_run["config"].model_options or {}) if vgg_run else {}).get("head", "paper")
        == "paper",
        "VggHeadUnits": thousands(vgg.get("head_units")), "VggDropout": vgg.get("dropout_rate"),
        "VggHeadDropout": bool(vgg.get("dropout_rate")),
        "VggFlattenLength": thousands(vgg.get("flatten_length")),
        "VggDenseShare": known(lambda share: fixed(100 * share, 0), vgg.get("dense_share")),
    })
    # the maps the smallest allowed input leaves in the last stage (min_image_size / downsampling)
    for prefix, family, found in (("Vgg", "vgg", vgg), ("Res", "resnet", resnet)):
        run = data.first_run(family)
        side = known(lambda minimum, down: int(minimum) // down,
                      run["config"].min_image_size if run else None, found.get("downsampling"))
        numbers[f"{prefix}MinMap"] = f"{side}×{side}" if side else None
    return numbers


def block_numbers(data: ReportData) -> dict:
    """The block tables' check (formula and batch norm add up to Keras' count in every block), the
    share of the kernel taps on padding in each network's last block and what that costs."""
    import keras

    numbers = {}
    for prefix, family, model in (("Vgg", "vgg", data.vgg_model), ("Res", "resnet", data.resnet_model)):
        if model is None or not data.roles[family]:
            numbers.update({f"{prefix}BlocksAgree": False, f"{prefix}BlocksDisagree": None,
                            f"{prefix}LastBlockMap": None, f"{prefix}PaddingShare": None,
                            f"{prefix}PaddingAddsShare": None, f"{prefix}LastBlockName": None})
            continue
        table = block_table(model)
        wrong = block_formula_mismatches(table)
        convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
                 and not layer.name.endswith("_0_conv")]
        last = convs[-1].name.split("_")[0]  # block5 / conv4
        last_convs = [layer for layer in convs if layer.name.split("_")[0] == last]
        adds = layer_table(model).set_index("name")["multiply_adds"]
        padded = sum(padding_share(layer) * adds[layer.name] for layer in last_convs)
        numbers.update({
            f"{prefix}BlocksAgree": not wrong, f"{prefix}BlocksDisagree": words(wrong) or None,
            f"{prefix}LastBlockName": last, f"{prefix}LastBlockMap": shape_text(last_convs[-1].input.shape[1:3]),
            f"{prefix}PaddingShare": fixed(100 * padding_share(last_convs[-1]), 0),
            f"{prefix}PaddingAddsShare": fixed(100 * padded / adds["total"], 0),
        })
    return numbers


def cost_numbers(data: ReportData) -> dict:
    """What the ResNet would cost at the VGG's input (computed from its layer table): why it
    runs on smaller images."""
    vgg_run, resnet_run = data.first_run("vgg"), data.first_run("resnet")
    at_vgg_input = None
    if vgg_run and resnet_run and list(vgg_run["config"].input_shape) != list(resnet_run["config"].input_shape):
        model = build_network(resnet_run["config"], input_shape=vgg_run["config"].input_shape)
        at_vgg_input = int(layer_table(model).iloc[-1]["multiply_adds"])
    own_adds = resnet_run["config"].multiply_adds if resnet_run else None
    return {
        "ResCostAtVggInput": at_vgg_input is not None,
        "ResMultiplyAddsAtVggInputM": known(lambda adds: fixed(adds / 1e6, 1), at_vgg_input),
        "ResAtVggInputOwnRatio": times(at_vgg_input, own_adds),
    }


def reference_numbers(data: ReportData) -> dict:
    """VGG19, VGG16 and ResNet50 at the papers' 224x224x3, and the slide's claims."""
    vgg, resnet = model_facts.reference_counts("vgg19"), model_facts.reference_counts("resnet50")
    vgg16 = model_facts.reference_counts("vgg16")
    vgg_parameters, res_parameters = vgg["parameters"]["trainable"], resnet["parameters"]["trainable"]
    slide = model_facts.SLIDE_VGG19_VS_RESNET50
    return {
        "RefInputShape": shape_text(model_facts.REFERENCE_INPUT_SHAPE),
        "RefClasses": thousands(model_facts.REFERENCE_CLASSES),
        "RefVggParameters": thousands(vgg_parameters),
        "RefVggMultiplyAddsG": fixed(vgg["multiply_adds"] / 1e9, 2),
        "RefVggSixteenParameters": thousands(vgg16["parameters"]["trainable"]),
        "RefVggSixteenMultiplyAddsG": fixed(vgg16["multiply_adds"] / 1e9, 2),
        "RefResParameters": thousands(res_parameters),
        "RefResNonTrainable": thousands(resnet["parameters"]["non_trainable"]),
        "RefResMultiplyAddsG": fixed(resnet["multiply_adds"] / 1e9, 2),
        "RefParameterRatio": times(vgg_parameters, res_parameters),
        "RefMultiplyAddRatio": times(vgg["multiply_adds"], resnet["multiply_adds"]),
        "SlideResParameters": slide["parameters"]["resnet50"],
        "SlideResComplexity": slide["complexity"]["resnet50"],
    }
