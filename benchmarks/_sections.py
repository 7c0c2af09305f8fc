"""The benchmark sections: each measures one thing and records rows in the shared results.

A section is a function of a :class:`Context` (the plan, the precisions, the results, the
matmul peaks, the output folder); ``run.py`` runs the ones asked for. The time_to_accuracy
section lives in ``_time_to_accuracy.py``.
"""

from __future__ import annotations

import math
import statistics
from functools import cache
from pathlib import Path

import keras
from _measure import (
    MATMUL_DTYPES,
    Case,
    Trainer,
    alternate,
    available_cores,
    has_gpu,
    in_memory_dataset,
    inference_timing,
    matmul_rates,
    multiply_adds,
    profile_models,
    release,
    run_worker,
    synthetic_batch,
    training_flops,
)
from _profile_sections import SECTION_FUNCTIONS as PROFILE_SECTIONS
from _results import Results
from _time_to_accuracy import section_time_to_accuracy

from labwork6.machine import resolve_precision
from labwork6.models import count_parameters, get_model

#: The script the memory and threads sections start as child processes (``run.py --worker``).
WORKER_SCRIPT = Path(__file__).resolve().parent / "run.py"
RESULTS_DIR = WORKER_SCRIPT.parent / "results"
#: The synthetic sections' input: CIFAR-sized images, 10 classes.
COMPARISON = {"input_shape": (32, 32, 3), "num_classes": 10}

VGG_DIFFERENCES = ("same layers; ours: he_normal convolutions, float32 predictions layer; "
                   "keras: glorot_uniform, predictions in the policy dtype; no dropout in either")
RESNET50_DIFFERENCES = ("same layers, kernels and strides (He et al.'s: a down-sampling bottleneck strides in its "
                        "first 1x1); keras: convolutions with bias, explicit ZeroPadding + valid, BN momentum 0.99 "
                        "epsilon 1.001e-5; ours: bias-free convolutions (torchvision count), 'same' padding, BN "
                        "momentum 0.9, float32 predictions layer")


class Context:
    """What every section shares: the plan, the results, the precisions, the matmul peaks and
    the output folder (for the files a section writes besides its rows)."""

    def __init__(self, plan: dict, precisions: list[str], results: Results, echo, out=RESULTS_DIR):
        self.plan, self.precisions, self.results, self.echo = plan, precisions, results, echo
        self.out = Path(out)
        self._peaks: dict[str, float] = {}

    def precisions_for(self, section: str) -> list[str]:
        """The run's precisions, limited to the section's ``precisions`` in the plan (if any)."""
        allowed = self.plan[section].get("precisions")
        chosen = [p for p in self.precisions if allowed is None or p in allowed]
        return chosen or self.precisions[:1]

    def peak(self, precision: str) -> float:
        """The matmul GFLOP/s of ``precision``'s compute dtype, measured (and recorded) once."""
        dtype = MATMUL_DTYPES[precision]
        if dtype not in self._peaks:
            plan = self.plan["matmul"]
            size = plan["gpu_size"] if has_gpu() else plan["size"]
            self.echo(f"matmul {size}x{size} {dtype} ...")
            rates = matmul_rates(dtype, size, plan["repetitions"], plan["min_seconds"])
            row = self.results.add("matmul", f"{size}x{size} matmul", dtype, rates, "GFLOP/s")
            self._peaks[dtype] = row["value"]
        return self._peaks[dtype]


def paired_ratio(numerator: list[float], denominator: list[float]) -> list[float]:
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def setting(precision: str, batch_size: int, input_shape) -> str:
    return f"{precision}, batch {batch_size}, {'x'.join(str(d) for d in input_shape)}"


# ---------------------------------------------------------------------------------------------
# Sections


def section_matmul(ctx: Context) -> None:
    for precision in ctx.precisions:
        ctx.peak(precision)


def _ours_against_keras(ctx: Context, section: str, ours: str, build_ours, build_keras, differences: str,
                        keras_name: str) -> None:
    """Train ours and keras' alternately in every precision; record images/s and the ratios."""
    plan, shape = ctx.plan[section], COMPARISON["input_shape"]
    images, targets = synthetic_batch(plan["batch_size"], shape, COMPARISON["num_classes"])
    data = in_memory_dataset(images, targets)
    cases, flops = {}, {}
    precisions = ctx.precisions_for(section)
    keras.utils.set_random_seed(0)
    for precision in precisions:
        for who, build in (("ours", build_ours), ("keras", build_keras)):
            trainer = Trainer(build, precision)
            cases[f"{who} {precision}"] = Case(trainer, data, plan["batch_size"], plan["steps"])
            flops[who] = training_flops(trainer.model)
            ctx.echo(f"{section}: built {who} {precision}: {count_parameters(trainer.model)['total']:,} parameters")
    parameters = {who: count_parameters(cases[f"{who} {precisions[0]}"].trainer.model)["total"]
                  for who in ("ours", "keras")}
    forward_costs = {who: multiply_adds(cases[f"{who} {precisions[0]}"].trainer.model) for who in ("ours", "keras")}

    def compared(what: str, counts: dict) -> str:
        same = "equal" if counts["ours"] == counts["keras"] else "DIFFERENT"
        return f"{what} {same}: ours {counts['ours']:,}, keras {counts['keras']:,}"

    note = f"{compared('parameters', parameters)}; {compared('multiply-adds', forward_costs)}; {differences}"
    ctx.results.headline(f"{section}_parameters", None, parameters)
    ctx.results.headline(f"{section}_multiply_adds", None, forward_costs)
    speeds = alternate(cases, plan["repetitions"], plan["warmup_steps"], ctx.echo)
    for label, values in speeds.items():
        who, precision = label.split()
        ctx.results.add(section, ours if who == "ours" else keras_name,
                        setting(precision, plan["batch_size"], shape), values, "images/s",
                        flops_per_image=flops[who], peak_gflops=ctx.peak(precision))
    for precision in precisions:
        ratios = paired_ratio(speeds[f"ours {precision}"], speeds[f"keras {precision}"])
        ctx.results.add(section, ours, f"ours / keras, {precision}", ratios, "x", note=note)
        ctx.results.headline(f"{section}_ours_vs_keras", precision, statistics.median(ratios))
    _precision_ratios(ctx, section, ours, speeds, flops["ours"], precisions)


def _precision_ratios(ctx: Context, section: str, model: str, speeds: dict, flops: float, precisions) -> None:
    """mixed precision / float32 of our model, and its fraction of the matmul peak per precision."""
    for precision in precisions:
        median = statistics.median(speeds[f"ours {precision}"])
        ctx.results.headline("fraction_of_matmul_peak", f"{model} {precision}",
                             median * flops / 1e9 / ctx.peak(precision))
        if precision != "float32" and "float32" in precisions:
            ratios = paired_ratio(speeds[f"ours {precision}"], speeds["ours float32"])
            ctx.results.add(section, model, f"{precision} / float32", ratios, "x")
            ctx.results.headline("bf16_vs_fp32" if precision == "mixed_bfloat16" else "fp16_vs_fp32", model,
                                 statistics.median(ratios))


def section_vgg(ctx: Context) -> None:
    def ours():
        return get_model("vgg19", **COMPARISON, dropout_rate=0.0)

    def theirs():
        return keras.applications.VGG19(weights=None, input_shape=COMPARISON["input_shape"],
                                        classes=COMPARISON["num_classes"])

    _ours_against_keras(ctx, "vgg", "vgg19", ours, theirs, VGG_DIFFERENCES, "keras.applications.VGG19")


def section_resnet50(ctx: Context) -> None:
    def ours():
        return get_model("resnet50", **COMPARISON)

    def theirs():
        return keras.applications.ResNet50(weights=None, input_shape=COMPARISON["input_shape"],
                                           classes=COMPARISON["num_classes"])

    _ours_against_keras(ctx, "resnet50", "resnet50", ours, theirs, RESNET50_DIFFERENCES,
                        "keras.applications.ResNet50")


def section_resnet19(ctx: Context) -> None:
    plan, shape = ctx.plan["resnet19"], COMPARISON["input_shape"]
    images, targets = synthetic_batch(plan["batch_size"], shape, COMPARISON["num_classes"])
    data = in_memory_dataset(images, targets)
    keras.utils.set_random_seed(0)
    precisions = ctx.precisions_for("resnet19")
    cases = {f"ours {precision}": Case(Trainer(lambda: get_model("resnet19", **COMPARISON), precision), data,
                                       plan["batch_size"], plan["steps"])
             for precision in precisions}
    flops = training_flops(cases[f"ours {precisions[0]}"].trainer.model)
    speeds = alternate(cases, plan["repetitions"], plan["warmup_steps"], ctx.echo)
    for label, values in speeds.items():
        precision = label.split()[1]
        ctx.results.add("resnet19", "resnet19", setting(precision, plan["batch_size"], shape), values, "images/s",
                        flops_per_image=flops, peak_gflops=ctx.peak(precision))
    _precision_ratios(ctx, "resnet19", "resnet19", speeds, flops, precisions)


@cache
def training_setup(model: str, width: float | None = None) -> dict:
    """The default profile's run of ``model`` as :mod:`labwork6.train` sets it up: its configuration
    (``width`` None keeps the profile's), its dataset, the preprocessing adapted on the training
    split, the network's input shape (what that preprocessing produces) and the resolved precision."""
    from labwork6.preprocessing import build_preprocessing
    from labwork6.recipes import model_image_size, resolve_config, run_dataset

    config = resolve_config(model, profile="default", width=width)
    data = run_dataset(config)
    preprocessing = build_preprocessing(data.train.images, image_size=model_image_size(config, data.image_shape),
                                        channels=config.channels)
    return {"config": config, "data": data, "preprocessing": preprocessing,
            "input_shape": tuple(int(d) for d in preprocessing.outputs[0].shape[1:]),
            "resolved_precision": resolve_precision(config.precision)}


def section_pipeline(ctx: Context) -> None:
    """What feeding raw images costs: the default profile's VGG as training builds and feeds it
    against the bare network on one in-memory batch of already-normalised images, alternately.

    Cases, each a model compiled with the run's recipe (:func:`labwork6.train.compile_model`):
    the bare network on one in-memory batch (the baseline: no input work at all) and on the
    normalised arrays through Keras' own array path; the model :func:`labwork6.train.build_model`
    builds without and with augmentation (raw images -> preprocessing [-> augmentation] ->
    network), fed by :func:`labwork6.preprocessing.make_pipeline` over the raw uint8 images, as
    training feeds it. Every repetition is a new ``fit`` call and so a new iterator, which charges
    the pipeline its start-up (the first batches) once per repetition rather than once per run."""
    from labwork6.preprocessing import make_pipeline
    from labwork6.train import build_model, compile_model
    from labwork6.train import targets as training_targets

    model = ctx.plan.get("pipeline_model") or profile_models()[0]
    plan = ctx.plan["pipeline"]
    setup = training_setup(model, plan.get("width"))
    batch_size, steps = plan.get("batch_size", setup["config"].batch_size), plan["steps"]
    precision, data, shape = setup["resolved_precision"], setup["data"], setup["input_shape"]
    binary = data.num_classes == 2
    targets = training_targets(data.train.labels, data.num_classes)
    normalised = setup["preprocessing"].predict(data.train.images, batch_size=512, verbose=0)
    steps_per_epoch = math.ceil(len(targets) / setup["config"].batch_size)

    def compiled(network):
        return compile_model(network, setup["config"], binary=binary, steps_per_epoch=steps_per_epoch)

    def bare_network():
        return get_model(model, input_shape=shape, num_classes=data.num_classes, width=setup["config"].width,
                         classifier_activation="sigmoid" if binary else "softmax", **setup["config"].model_options)

    trainers = {}
    config = setup["config"]
    for name, build in (("bare", bare_network), ("trained", lambda: build_model(config.replace(augment=False), data)),
                        ("augmented", lambda: build_model(config, data))):
        keras.utils.set_random_seed(0)
        trainers[name] = Trainer(build, precision, compiled)
    stream = make_pipeline(data.train.images, targets, batch_size=batch_size, training=True, seed=0,
                           epochs=setup["config"].epochs)
    cases = {
        "bare network, in-memory batch": Case(trainers["bare"], in_memory_dataset(normalised[:batch_size],
                                                                                  targets[:batch_size]),
                                              batch_size, steps),
        "bare network, keras arrays (fit on numpy)": Case(trainers["bare"], (normalised, targets), batch_size, steps),
        "preprocessing in the model + make_pipeline": Case(trainers["trained"], stream, batch_size, steps),
        "the same + augmentation (as trained)": Case(trainers["augmented"], stream, batch_size, steps),
    }
    flops = training_flops(trainers["bare"].model)
    speeds = alternate(cases, plan["repetitions"], plan["warmup_steps"], ctx.echo)
    description = (f"{data.name} train split ({len(targets)} raw images {data.image_shape}), "
                   f"{setting(precision, batch_size, shape)}, width {setup['config'].width}, "
                   f"model options {setup['config'].model_options}")
    for label, values in speeds.items():
        ctx.results.add("pipeline", model, label, values, "images/s", flops_per_image=flops,
                        peak_gflops=ctx.peak(precision), note=description)
    baseline = speeds["bare network, in-memory batch"]
    for label, key in (("bare network, keras arrays (fit on numpy)", None),
                       ("preprocessing in the model + make_pipeline", "pipeline_overhead"),
                       ("the same + augmentation (as trained)", "pipeline_overhead_with_augmentation")):
        overheads = [ratio - 1.0 for ratio in paired_ratio(baseline, speeds[label])]
        ctx.results.add("pipeline", model, f"overhead of {label} over the bare network in memory", overheads,
                        "fraction", note="extra time per step: in-memory images/s / this images/s - 1")
        if key:
            ctx.results.headline(key, None, statistics.median(overheads))


def section_size(ctx: Context) -> None:
    plan = ctx.plan["size"]
    skip = {tuple(pair) for pair in plan["skip"]}
    precision = plan["precision"]
    for model in plan["models"]:
        for size in plan["sizes"]:
            shape = (size, size, COMPARISON["input_shape"][2])
            label = setting(precision, plan["batch_size"], shape)
            if (model, size) in skip:
                ctx.results.add("size", model, label, [], "images/s", note="skipped: too slow on a CPU")
                continue
            keras.utils.set_random_seed(0)
            trainer = Trainer(lambda model=model, shape=shape: get_model(
                model, input_shape=shape, num_classes=COMPARISON["num_classes"]), precision)
            images, targets = synthetic_batch(plan["batch_size"], shape, COMPARISON["num_classes"])
            case = Case(trainer, in_memory_dataset(images, targets), plan["batch_size"], plan["steps"])
            flops = training_flops(trainer.model)
            speeds = alternate({f"{model} {size}": case}, plan["repetitions"], plan["warmup_steps"], ctx.echo)
            ctx.results.add("size", model, label, speeds[f"{model} {size}"], "images/s", flops_per_image=flops,
                            peak_gflops=ctx.peak(precision), note=f"{flops / 1e9:.2f} GFLOP per training image")
            del trainer, case
            release()


def section_batch(ctx: Context) -> None:
    from labwork6.models import model_family

    plan, shape = ctx.plan["batch"], COMPARISON["input_shape"]
    precision = plan["precision"]
    for model in plan["models"] or profile_models():
        family = model_family(model)
        batches = plan["batches"][family]
        keras.utils.set_random_seed(0)
        trainer = Trainer(lambda model=model: get_model(model, **COMPARISON), precision)
        flops = training_flops(trainer.model)
        cases = {}
        for batch_size in batches:
            images, targets = synthetic_batch(batch_size, shape, COMPARISON["num_classes"])
            steps = max(1, plan["images_per_repetition"][family] // batch_size)
            cases[f"{model} batch {batch_size}"] = Case(trainer, in_memory_dataset(images, targets), batch_size,
                                                        steps)
        speeds = alternate(cases, plan["repetitions"], plan["warmup_steps"], ctx.echo)
        for (label, values), batch_size in zip(speeds.items(), batches, strict=True):
            ctx.results.add("batch", model, setting(precision, batch_size, shape), values, "images/s",
                            flops_per_image=flops, peak_gflops=ctx.peak(precision), note=label)
        del trainer, cases
        release()


def section_inference(ctx: Context) -> None:
    plan, shape = ctx.plan["inference"], COMPARISON["input_shape"]
    for model in plan["models"]:
        for precision in ctx.precisions_for("inference"):
            keras.utils.set_random_seed(0)
            from labwork6.machine import precision_policy

            with precision_policy(precision):
                network = get_model(model, **COMPARISON)
                flops = 2 * multiply_adds(network)
                ctx.echo(f"inference {model} {precision} ...")
                timing = inference_timing(network, shape, large_batch=plan["large_batch"],
                                          latency_calls=plan["latency_calls"], repetitions=plan["repetitions"],
                                          min_seconds=plan["min_seconds"])
            ctx.results.add("inference", model, setting(precision, 1, shape) + ", latency", timing["latency_ms"],
                            "ms", note="predict_on_batch, one call per value")
            ctx.results.add("inference", model, setting(precision, plan["large_batch"], shape),
                            timing["images_per_second"], "images/s", flops_per_image=flops,
                            peak_gflops=ctx.peak(precision), note="predict_on_batch; forward FLOPs only")
            del network
            release()


def _worker_spec(model: str, setup: dict, plan: dict, precision: str, **extra) -> dict:
    options = dict(setup["config"].model_options)
    if plan.get("width"):
        options["width"] = plan["width"]
    return {"model": model, "model_options": options, "input_shape": list(setup["input_shape"]),
            "num_classes": setup["data"].num_classes, "batch_size": plan.get("batch_size", setup["config"].batch_size),
            "precision": precision, "warmup_steps": plan["warmup_steps"], "repetitions": plan["repetitions"],
            "steps": plan["steps"], **extra}


def section_memory(ctx: Context) -> None:
    plan = ctx.plan["memory"]
    for model in plan["models"] or profile_models():
        setup = training_setup(model)
        precisions = plan.get("precisions") or sorted({"float32", setup["resolved_precision"]})
        for precision in precisions:
            spec = _worker_spec(model, setup, plan, precision)
            ctx.echo(f"memory: child process training {model} {precision} ...")
            report = run_worker(WORKER_SCRIPT, spec)
            label = setting(precision, spec["batch_size"], spec["input_shape"])
            note = f"child process, {plan['warmup_steps'] + plan['steps'] * plan['repetitions']} train steps, " \
                   f"model options {spec['model_options']}"
            ctx.results.add("memory", model, label + ", peak RSS", report["peak_rss_mb"], "MiB", note=note)
            ctx.results.add("memory", model, label + ", RSS after building", report["rss_before_training_mb"],
                            "MiB", note="TensorFlow, Keras and the model, before the first step")


def section_threads(ctx: Context) -> None:
    plan = ctx.plan["threads"]
    model = plan["model"] or profile_models()[0]
    setup = training_setup(model)
    cores = available_cores()
    # TensorFlow's default is about (cores, cores); one op at a time on all cores, and a
    # single thread, are the alternatives worth knowing on a small CPU.
    settings = plan.get("settings") or tuple(dict.fromkeys(((0, 0), (cores, 1), (1, 1))))
    for intra, inter in settings:
        spec = _worker_spec(model, setup, plan, setup["resolved_precision"], intra_op=intra, inter_op=inter)
        label = "TensorFlow default" if (intra, inter) == (0, 0) else f"intra_op {intra}, inter_op {inter}"
        ctx.echo(f"threads: child process {label} ...")
        report = run_worker(WORKER_SCRIPT, spec)
        shown = f"{label}; {setting(spec['precision'], spec['batch_size'], spec['input_shape'])}"
        ctx.results.add("threads", model, shown, report["images_per_second"], "images/s",
                        note=f"{cores} cores available; one child process")


SECTION_FUNCTIONS = {
    **PROFILE_SECTIONS,
    "matmul": section_matmul, "vgg": section_vgg, "resnet50": section_resnet50, "resnet19": section_resnet19,
    "pipeline": section_pipeline, "size": section_size, "batch": section_batch, "inference": section_inference,
    "memory": section_memory, "threads": section_threads, "time_to_accuracy": section_time_to_accuracy,
}
