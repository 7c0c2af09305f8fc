"""labwork6 performance benchmarks: ``python benchmarks/run.py`` (``make bench``).

Measures, in one process (memory and thread settings in child processes), training
throughput of our VGG19 / ResNet50 against keras.applications' of the same configuration,
float32 against mixed precision, the input pipeline's cost, how cost grows with input and
batch size, inference latency and throughput, peak memory and thread settings, each as a
fraction of the machine's matrix-multiply rate measured in the same run. Writes
``benchmarks/results/benchmarks.{csv,md,tex}`` and ``summary.json``. See benchmarks/README.md.

    python benchmarks/run.py                    # everything, ~15 minutes on 2 quiet cores
    python benchmarks/run.py --only vgg,pipeline --repetitions 3 --steps 5
    python benchmarks/run.py --quick            # seconds per section: checks the code, not the machine
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import statistics
import sys
import time
import traceback
from functools import cache
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from _measure import (  # noqa: E402
    MATMUL_DTYPES,
    Case,
    Trainer,
    alternate,
    available_cores,
    available_precisions,
    current_rss_mb,
    has_gpu,
    in_memory_dataset,
    inference_timing,
    matmul_rates,
    multiply_adds,
    peak_rss_mb,
    release,
    run_worker,
    synthetic_batch,
    training_flops,
    worker,
)
from _results import Results  # noqa: E402

from labwork6.models import count_parameters, get_model  # noqa: E402

# Retracing notices are expected here: one model is trained on several inputs on purpose.
tf.get_logger().setLevel("ERROR")

SECTIONS = {
    "matmul": "matrix-multiply rate per dtype (the peak the other sections are compared with)",
    "vgg": "our VGG19 vs keras.applications.VGG19, same configuration, every precision",
    "resnet50": "our ResNet50 vs keras.applications.ResNet50, same input and classes, every precision",
    "resnet19": "our ResNet19 (no keras counterpart), float32 vs mixed precision",
    "pipeline": "the default profile's VGG training from make_pipeline vs an in-memory batch",
    "size": "training cost at input sizes 32, 64, 128, 224",
    "batch": "training throughput against batch size",
    "inference": "latency at batch 1 and throughput at a large batch",
    "memory": "peak RSS of a short training run (child process)",
    "threads": "intra-/inter-op thread counts (child processes)",
}

COMPARISON = {"input_shape": (32, 32, 3), "num_classes": 10}

#: How much each section runs. The full plan takes ~15 minutes on 2 quiet cores; --quick
#: shrinks every section to seconds (it checks that the code runs, its numbers mean nothing).
FULL_PLAN = {
    "matmul": {"size": 2048, "gpu_size": 8192, "repetitions": 5, "min_seconds": 0.5},
    "vgg": {"batch_size": 64, "repetitions": 5, "steps": 4, "warmup_steps": 2},
    "resnet50": {"batch_size": 64, "repetitions": 5, "steps": 4, "warmup_steps": 2},
    "resnet19": {"batch_size": 32, "repetitions": 3, "steps": 2, "warmup_steps": 2},
    "pipeline": {"repetitions": 5, "steps": 6, "warmup_steps": 3},
    # ResNet19 keeps full resolution through 128 channels: at 224x224 one training image
    # costs ~0.7 TFLOP (~5 s on 2 cores), so that point is skipped. Add "resnet50" to the
    # models to see its ImageNet stem at work (it costs ~1.5 minutes more, mostly tracing).
    "size": {"models": ("vgg19", "resnet19"), "sizes": (32, 64, 128, 224), "skip": (("resnet19", 224),),
             "batch_size": 8, "repetitions": 2, "steps": 1, "warmup_steps": 1, "precision": "float32"},
    # The default profile's models; batch sizes and images per repetition by family.
    "batch": {"models": None, "batches": {"vgg": (16, 32, 64, 128), "resnet": (16, 32, 64)},
              "images_per_repetition": {"vgg": 128, "resnet": 64}, "repetitions": 2, "warmup_steps": 1,
              "precision": "float32"},
    "inference": {"models": ("vgg19", "resnet19", "resnet50"), "large_batch": 128, "latency_calls": 20,
                  "repetitions": 3, "min_seconds": 0.5},
    # The pipeline, memory and threads sections use the default profile's models (None).
    "pipeline_model": None,
    "memory": {"models": None, "warmup_steps": 1, "repetitions": 1, "steps": 2},
    "threads": {"model": None, "repetitions": 3, "steps": 3, "warmup_steps": 2},
}
QUICK_PLAN = {
    "matmul": {"size": 256, "gpu_size": 256, "repetitions": 2, "min_seconds": 0.0},
    "vgg": {"batch_size": 2, "repetitions": 2, "steps": 1, "warmup_steps": 1},
    "resnet50": {"batch_size": 2, "repetitions": 2, "steps": 1, "warmup_steps": 1, "precisions": ("float32",)},
    "resnet19": {"batch_size": 2, "repetitions": 2, "steps": 1, "warmup_steps": 1, "precisions": ("float32",)},
    "pipeline": {"repetitions": 2, "steps": 1, "warmup_steps": 1, "batch_size": 4},
    "size": {"models": ("vgg19", "resnet19"), "sizes": (32,), "skip": (("resnet19", 32),), "batch_size": 2,
             "repetitions": 1, "steps": 1, "warmup_steps": 1, "precision": "float32"},
    "batch": {"models": ("vgg19",), "batches": {"vgg": (2, 4)}, "images_per_repetition": {"vgg": 4},
              "repetitions": 2, "warmup_steps": 1, "precision": "float32"},
    "inference": {"models": ("vgg19",), "large_batch": 4, "latency_calls": 3, "repetitions": 2,
                  "min_seconds": 0.0, "precisions": ("float32",)},
    "pipeline_model": None,
    "memory": {"models": None, "warmup_steps": 1, "repetitions": 1, "steps": 1, "batch_size": 2,
               "precisions": ("float32",), "width": 0.125},
    "threads": {"model": None, "repetitions": 1, "steps": 1, "warmup_steps": 1, "batch_size": 2,
                "settings": ((1, 1),), "width": 0.125},
}

VGG_DIFFERENCES = ("same layers; ours: he_normal convolutions, float32 predictions layer; "
                   "keras: glorot_uniform, predictions in the policy dtype; no dropout in either")
RESNET50_DIFFERENCES = ("keras: convolutions with bias, explicit ZeroPadding + valid, BN momentum 0.99 epsilon "
                        "1.001e-5; ours: bias-free convolutions (torchvision count), 'same' padding, BN momentum "
                        "0.9, float32 predictions layer")


def stamp(start: float):
    def echo(message: str) -> None:
        print(f"[bench {time.perf_counter() - start:6.0f}s] {message}", flush=True)
    return echo


class Context:
    """What every section shares: the plan, the results, the precisions and the matmul peaks."""

    def __init__(self, plan: dict, precisions: list[str], results: Results, echo):
        self.plan, self.precisions, self.results, self.echo = plan, precisions, results, echo
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
    same = "equal" if parameters["ours"] == parameters["keras"] else "DIFFERENT"
    note = f"parameters {same}: ours {parameters['ours']:,}, keras {parameters['keras']:,}; {differences}"
    ctx.results.headline(f"{section}_parameters", None, parameters)
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


def profile_models() -> tuple[str, ...]:
    """The models the default profile trains (its VGG first)."""
    from labwork6.profiles import get_profile

    return tuple(get_profile("default")["models"])


@cache
def training_setup(model: str) -> dict:
    """The default profile's training configuration of ``model``: recipe, resolved precision,
    dataset, fitted Standardizer and input shape, as train.py derives them."""
    from labwork6 import train
    from labwork6.data import load_dataset
    from labwork6.preprocessing import Standardizer
    from labwork6.profiles import resolve_precision

    config = train.resolve_config(model, profile="default")
    data = load_dataset(config["dataset"], seed=0)
    image_size = train.model_image_size(config, data.image_shape) if hasattr(train, "model_image_size") \
        else config["image_size"]
    standardizer = Standardizer.fit(data.train.images, image_size=image_size, channels=config["channels"])
    return {**config, "data": data, "standardizer": standardizer, "input_shape": tuple(standardizer.output_shape),
            "resolved_precision": resolve_precision(config["precision"])}


def section_pipeline(ctx: Context) -> None:
    """Train the default profile's VGG19 from each input, alternately, with one compiled model.

    The pipelines are built as train.py builds them (uint8 images standardized inside,
    cached, shuffled over the whole split, batched, optionally augmented, prefetched) and
    repeated; every repetition is a new ``fit`` call and so a new iterator, which charges the
    pipeline its start-up (refilling the shuffle buffer) once per repetition, more often than
    training does (once per epoch)."""
    from labwork6.preprocessing import augmentation_for, make_pipeline

    model = ctx.plan.get("pipeline_model") or profile_models()[0]
    plan, setup = ctx.plan["pipeline"], training_setup(model)
    batch_size = plan.get("batch_size", setup["batch_size"])
    precision, data, standardizer = setup["resolved_precision"], setup["data"], setup["standardizer"]
    images = standardizer.transform(data.train.images)
    targets = keras.utils.to_categorical(data.train.labels, data.num_classes).astype("float32")
    shape = tuple(images.shape[1:])
    keras.utils.set_random_seed(0)
    trainer = Trainer(lambda: get_model(model, input_shape=shape, num_classes=data.num_classes,
                                        **setup["model_options"]), precision)
    flops = training_flops(trainer.model)

    def pipeline(augmentation=None):
        return make_pipeline(data.train.images, targets, batch_size=batch_size, training=True, seed=0,
                             augmentation=augmentation, standardizer=standardizer).repeat()

    inputs = {
        "in-memory batch": in_memory_dataset(images[:batch_size], targets[:batch_size]),
        "keras arrays (fit on numpy)": (images, targets),
        "make_pipeline": pipeline(),
        "make_pipeline + augmentation": pipeline(augmentation_for(data.name, shape, 0)),
    }
    cases = {label: Case(trainer, value, batch_size, plan["steps"]) for label, value in inputs.items()}
    speeds = alternate(cases, plan["repetitions"], plan["warmup_steps"], ctx.echo)
    description = (f"{data.name} train split ({len(images)} images), {setting(precision, batch_size, shape)}, "
                   f"model options {setup['model_options']}")
    for label, values in speeds.items():
        ctx.results.add("pipeline", model, label, values, "images/s", flops_per_image=flops,
                        peak_gflops=ctx.peak(precision), note=description)
    baseline = speeds["in-memory batch"]
    for label, key in (("keras arrays (fit on numpy)", None), ("make_pipeline", "pipeline_overhead"),
                       ("make_pipeline + augmentation", "pipeline_overhead_with_augmentation")):
        overheads = [ratio - 1.0 for ratio in paired_ratio(baseline, speeds[label])]
        ctx.results.add("pipeline", model, f"overhead of {label} over in-memory", overheads, "fraction",
                        note="extra time per step: in-memory images/s / this images/s - 1")
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
            from labwork6.train import precision_policy

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
    options = dict(setup["model_options"])
    if plan.get("width"):
        options["width"] = plan["width"]
    return {"model": model, "model_options": options, "input_shape": list(setup["input_shape"]),
            "num_classes": setup["data"].num_classes, "batch_size": plan.get("batch_size", setup["batch_size"]),
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
            report = run_worker(HERE / "run.py", spec)
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
        report = run_worker(HERE / "run.py", spec)
        shown = f"{label}; {setting(spec['precision'], spec['batch_size'], spec['input_shape'])}"
        ctx.results.add("threads", model, shown, report["images_per_second"], "images/s",
                        note=f"{cores} cores available; one child process")


SECTION_FUNCTIONS = {
    "matmul": section_matmul, "vgg": section_vgg, "resnet50": section_resnet50, "resnet19": section_resnet19,
    "pipeline": section_pipeline, "size": section_size, "batch": section_batch, "inference": section_inference,
    "memory": section_memory, "threads": section_threads,
}


# ---------------------------------------------------------------------------------------------
# Command line


def machine() -> dict:
    processor = platform.processor()
    flags = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
        processor = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                          if line.startswith("model name")), processor)
    except OSError:
        pass
    features = [name for name in ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f") if f" {name}" in flags]
    from labwork6.profiles import resolve_precision

    return {"processor": processor, "cores": available_cores(), "cpu_features": features,
            "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
            "auto_precision": resolve_precision("auto")}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="labwork6 performance benchmarks (results in benchmarks/results/).",
        epilog="Sections: " + "; ".join(f"{name}: {text}" for name, text in SECTIONS.items()))
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated sections to run (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: checks that everything runs in a minute or two; numbers mean nothing")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder (default: benchmarks/results)")
    parser.add_argument("--precisions", default=None,
                        help="comma-separated policies (default: float32,mixed_bfloat16[,mixed_float16 on a GPU])")
    parser.add_argument("--repetitions", type=int, default=None,
                        help="repetitions of the vgg, resnet50, resnet19 and pipeline sections")
    parser.add_argument("--steps", type=int, default=None,
                        help="train steps per repetition in the vgg, resnet50, resnet19 and pipeline sections")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown or not sections:
        parser.error(f"unknown section(s) {unknown}. Valid: {', '.join(SECTIONS)}")
    args.sections = sections
    valid = available_precisions()
    args.precision_list = valid if args.precisions is None else [p.strip() for p in args.precisions.split(",")]
    if not args.precision_list or any(p not in valid for p in args.precision_list):
        parser.error(f"--precisions must be among {', '.join(valid)} on this machine. Received: {args.precisions}")
    for name in ("repetitions", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1. Received: {value}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    start = time.perf_counter()
    echo = stamp(start)
    plan = copy.deepcopy(QUICK_PLAN if args.quick else FULL_PLAN)
    for section in ("vgg", "resnet50", "resnet19", "pipeline"):
        for name in ("repetitions", "steps"):
            if getattr(args, name) is not None:
                plan[section][name] = getattr(args, name)
    results = Results(echo)
    context = Context(plan, args.precision_list, results, echo)
    command = " ".join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    meta = {"command": command, "quick": args.quick, "sections": args.sections, "precisions": args.precision_list,
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()}
    echo(f"sections {', '.join(args.sections)}; precisions {', '.join(args.precision_list)}; "
         f"{meta['machine']['processor']}, {meta['machine']['cores']} cores {meta['machine']['cpu_features']}")
    failed = []
    for section in args.sections:
        echo(f"== {section}: {SECTIONS[section]}")
        section_start = time.perf_counter()
        try:
            SECTION_FUNCTIONS[section](context)
        except Exception:  # keep the other sections' numbers; report the failure at the end
            traceback.print_exc()
            failed.append(section)
        release()  # here, once the section's models are out of scope
        echo(f"== {section} done in {time.perf_counter() - section_start:.0f} s; this process now holds "
             f"{current_rss_mb():,.0f} MiB (peak {peak_rss_mb():,.0f} MiB)")
    meta.update(duration_seconds=time.perf_counter() - start, failed_sections=failed,
                peak_rss_mb_of_this_process=peak_rss_mb())
    paths = results.write(args.out, meta, SECTIONS)
    echo(f"wrote {', '.join(str(path) for path in paths.values())}")
    if failed:
        echo(f"FAILED sections: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
