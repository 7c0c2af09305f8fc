"""labwork6 performance benchmarks: ``python benchmarks/run.py`` (``make bench``).

Measures, in one process (memory and thread settings in child processes), training
throughput of our VGG19 / ResNet50 against keras.applications' of the same configuration,
float32 against mixed precision, the cost of the preprocessing inside the model and of the
input pipeline, how cost grows with input and batch size, inference latency and throughput,
peak memory and thread settings, each as a fraction of the machine's matrix-multiply rate
measured in the same run; and time to accuracy: the default profile's networks trained as the
main job trains them, validation and test accuracy against training seconds, over seeds.
Writes ``benchmarks/results/benchmarks.{csv,md,tex}``, ``summary.json`` and the
time-to-accuracy table and figure. See benchmarks/README.md.

    python benchmarks/run.py                    # everything; time_to_accuracy trains 6 full runs
    python benchmarks/run.py --only vgg,pipeline --repetitions 3 --steps 5
    python benchmarks/run.py --only matmul,time_to_accuracy --seeds 0,1,2
    python benchmarks/run.py --only matmul,time_to_accuracy --runs runs   # the main job's runs, read
    python benchmarks/run.py --quick            # seconds per section: checks the code, not the machine
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from _measure import available_cores, available_precisions, current_rss_mb, peak_rss_mb, release, worker  # noqa: E402
from _plans import FULL_PLAN, QUICK_PLAN, SECTIONS  # noqa: E402
from _results import Results  # noqa: E402
from _sections import SECTION_FUNCTIONS, Context  # noqa: E402

from labwork6.machine import ISA_FLAGS, cpu_info, cpu_isa, resolve_precision  # noqa: E402

# Retracing notices are expected here: one model is trained on several inputs on purpose.
tf.get_logger().setLevel("ERROR")


def stamp(start: float):
    def echo(message: str) -> None:
        print(f"[bench {time.perf_counter() - start:6.0f}s] {message}", flush=True)
    return echo


# ---------------------------------------------------------------------------------------------
# Command line


def machine() -> dict:
    cpu = cpu_info()
    isa = cpu_isa(cpu["flags"])
    features = [name for name in ISA_FLAGS if isa[name]]
    return {"processor": cpu["name"], "cores": available_cores(), "isa": isa["summary"], "cpu_features": features,
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
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds of the time_to_accuracy section (default 0,1,2; --quick: 0)")
    parser.add_argument("--runs", default=None,
                        help="time_to_accuracy: read the completed runs in this runs folder (e.g. runs, after "
                             "make all) instead of training them again; train the missing ones there")
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
    args.seed_list = None
    if args.seeds is not None:
        try:
            args.seed_list = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
        except ValueError:
            args.seed_list = []
        if not args.seed_list or min(args.seed_list) < 0 or len(set(args.seed_list)) != len(args.seed_list):
            parser.error(f"--seeds must be distinct integers >= 0, comma-separated (e.g. 0,1,2). "
                         f"Received: {args.seeds}")
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
    if args.seed_list:
        plan["time_to_accuracy"]["seeds"] = tuple(args.seed_list)
    if args.runs:
        plan["time_to_accuracy"]["runs"] = args.runs
    results = Results(echo)
    context = Context(plan, args.precision_list, results, echo, out=args.out)
    command = " ".join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    meta = {"command": command, "quick": args.quick, "sections": args.sections, "precisions": args.precision_list,
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()}
    echo(f"sections {', '.join(args.sections)}; precisions {', '.join(args.precision_list)}; "
         f"{meta['machine']['processor']}, {meta['machine']['cores']} cores ({meta['machine']['isa']})")
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
