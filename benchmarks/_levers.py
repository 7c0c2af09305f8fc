"""Prototype levers on the default recipe's training step, each timed A/B in one process.

Every case is the default profile's network built and compiled as :mod:`labwork6.train` does
(``_profile._setup``), fed by its own ``make_pipeline`` stream; a case differs from the baseline in
one thing (the optimizer's update, the batch size, ``steps_per_execution``). :func:`alternate_cases`
warms every case up, then runs rounds of ``fit`` calls in ABBA order, so a drift of the shared
machine's load falls on all cases alike; ratios are per round, against the first case.
"""

from __future__ import annotations

import statistics
import time

from _optimizers import like
from _profile import _setup


def build_case(model: str, *, optimizer: str = "keras AdamW", batch_size: int | None = None,
               steps_per_execution: int = 1, width: float | None = None):
    """A default-recipe network and its stream, changed in one lever (``width`` only for --quick)."""
    network, stream, config, precision = _setup(model, batch_size, width=width)
    if optimizer != "keras AdamW" or steps_per_execution != 1:
        network.compile(optimizer=like(network.optimizer, optimizer), loss=network.loss,
                        metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return {"network": network, "stream": stream, "batch_size": config.batch_size, "precision": precision}


def alternate_cases(cases: dict, *, images: int, rounds: int, warmup_steps: int, echo=print) -> dict:
    """Training images per second of every case, ``rounds`` times, in ABBA order; each measurement
    is one ``fit`` over ``images`` images (``images // batch_size`` steps) after ``warmup_steps``
    steps. Returns ``{"wall": {case: [images/s]}, "cpu": {case: [images per CPU-second]}}``: on
    a machine shared with other work the process' CPU time (all its threads) is the steadier
    measure of the work a step needs; wall time is what a user waits."""
    from labwork6.train import precision_policy

    for label, case in cases.items():
        with precision_policy(case["precision"]):
            start = time.perf_counter()
            case["network"].fit(case["stream"], epochs=1, steps_per_epoch=warmup_steps, verbose=0)
        echo(f"warm-up {label}: {time.perf_counter() - start:.1f} s")
    speeds, cpu = {label: [] for label in cases}, {label: [] for label in cases}
    for index in range(rounds):
        order = list(cases) if index % 2 == 0 else list(reversed(cases))
        for label in order:
            case = cases[label]
            steps = max(1, images // case["batch_size"])
            with precision_policy(case["precision"]):
                start, cpu_start = time.perf_counter(), time.process_time()
                case["network"].fit(case["stream"], epochs=1, steps_per_epoch=steps, verbose=0)
            speeds[label].append(steps * case["batch_size"] / (time.perf_counter() - start))
            cpu[label].append(steps * case["batch_size"] / (time.process_time() - cpu_start))
            echo(f"round {index + 1}/{rounds} {label}: {speeds[label][-1]:.1f} images/s, "
                 f"{cpu[label][-1]:.1f} images per CPU-second")
    return {"wall": speeds, "cpu": cpu}


def ratios(speeds: dict) -> dict:
    """Per case: median images/s, min, max, and the per-round ratio to the first case (median, min, max)."""
    baseline = next(iter(speeds.values()))
    found = {}
    for label, values in speeds.items():
        per_round = [value / base for value, base in zip(values, baseline, strict=True)]
        found[label] = {"images_per_second": statistics.median(values), "min": min(values), "max": max(values),
                        "ratio": statistics.median(per_round), "ratio_min": min(per_round),
                        "ratio_max": max(per_round), "rounds": len(values)}
    return found
