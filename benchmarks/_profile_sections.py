"""Benchmark sections that find where the time goes (issue 24): per op class, per run part, per lever.

- ``step_breakdown``: a child process per default-profile network traces steps with TensorFlow's
  profiler and logs oneDNN's primitives (``ONEDNN_VERBOSE=2``): ms per step per op class, and
  per oneDNN kernel its ISA and GFLOP/s.
- ``kernels``: the machine's own rates those are compared with: 3x3 convolutions alone (forward
  and both gradients, float32 and bfloat16) and an element-wise memory pass.
- ``run_phases``: a child process per network runs ``labwork6.train.train`` (default profile, a
  short run) with timers around its parts, and splits the first step into tracing and the rest.
- ``levers``: prototype changes A/B against the default recipe in one process (fused and XLA
  AdamW updates, batch 64), with the fused update's agreement with Keras' AdamW checked first.

Every child's and this process' load average is recorded: the machine may be shared.
"""

from __future__ import annotations

import json
from pathlib import Path

from _measure import profile_models, run_worker_output
from _profile import between_marks, onednn_create_ms, onednn_summary

WORKER_SCRIPT = Path(__file__).resolve().parent / "run.py"


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages (``/proc/loadavg``), or '' off Linux."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def run_child(spec: dict, env: dict | None = None, timeout: float | None = None) -> tuple[dict, str]:
    """Run ``run.py --worker SPEC`` in a fresh process; its JSON report and its whole stdout."""
    return run_worker_output(WORKER_SCRIPT, spec, env=env, timeout=timeout)


def _models(ctx, section: str) -> tuple[str, ...]:
    return tuple(ctx.plan[section].get("models") or profile_models())


def _write_json(ctx, name: str, value) -> None:
    ctx.out.mkdir(parents=True, exist_ok=True)
    (ctx.out / name).write_text(json.dumps(value, indent=1, default=str))


def section_step_breakdown(ctx) -> None:
    from _profile import CLASSES

    plan = ctx.plan["step_breakdown"]
    for model in _models(ctx, "step_breakdown"):
        before = load_average()
        spec = {"task": "step_profile", "model": model, "warmup_steps": plan["warmup_steps"],
                "timed_steps": plan["timed_steps"], "traced_steps": plan["traced_steps"], "inter_op": 1,
                **({"width": plan["width"]} if plan.get("width") else {})}
        ctx.echo(f"step_breakdown: child process tracing {model} (load average {before}) ...")
        report, stdout = run_child(spec, env={"ONEDNN_VERBOSE": "2"})
        lines = between_marks(stdout)
        kernels = onednn_summary(lines)
        isa = [line.split(",", 4)[-1] for line in stdout.splitlines() if ",info,cpu," in line]
        report.update(onednn_kernels=kernels, onednn_info=isa, onednn_create_ms_total=onednn_create_ms(
            stdout.splitlines()), load_average_before=before, load_average_after=load_average())
        _write_json(ctx, f"step_breakdown_{model}.json", report)
        steps, total = report["steps"], sum(report["classes"].values())
        wall = sum(report["step_ms"]) / steps
        setting = f"{report['precision']}, batch {report['batch_size']}, one inter-op thread"
        note = f"traced steps {steps}; load average {before} -> {report['load_average_after']}"
        for label in CLASSES:
            if label in report["classes"]:
                milliseconds = report["classes"][label] / steps
                ctx.results.add("step_breakdown", model, f"{label} ({milliseconds / wall:.1%} of the step)",
                                milliseconds, "ms/step", note=note)
        ctx.results.add("step_breakdown", model, f"between ops: dispatch, waiting ({1 - total / steps / wall:.1%})",
                        wall - report["busy_ms"] / steps, "ms/step", note=note)
        ctx.results.add("step_breakdown", model, f"traced step, {setting}", report["step_ms"], "ms/step", note=note)
        ctx.results.add("step_breakdown", model, "plain step (untraced fit)", report["plain_step_ms"], "ms/step",
                        note=note)
        for kernel in kernels[:12]:
            label = f"oneDNN {kernel['primitive']} {kernel['propagation']}: {kernel['implementation']}"
            if kernel["gflop"]:
                ctx.results.add("step_breakdown", model, label, kernel["gflops_per_second"], "GFLOP/s",
                                note=f"{kernel['ms'] / steps:.1f} ms/step; {'; '.join(isa)}")
            else:
                ctx.results.add("step_breakdown", model, label, kernel["ms"] / plan["timed_steps"], "ms/step",
                                note=kernel["formats"])


def section_kernels(ctx) -> None:
    from _kernels import CONV_SHAPES, conv_rates, stream_rate

    plan = ctx.plan["kernels"]
    ctx.echo(f"kernels: load average {load_average()}")
    for dtype in plan["dtypes"]:
        ctx.peak("float32" if dtype == "float32" else "mixed_bfloat16")
        for row in conv_rates(dtype, plan["shapes"] or CONV_SHAPES, min_seconds=plan["min_seconds"],
                              repetitions=plan["repetitions"]):
            ctx.results.add("kernels", "conv2d 3x3", f"{row['shape']} {row['pass']} {dtype}",
                            [row["min"], row["gflops"], row["max"]], "GFLOP/s",
                            note=f"{row['ms']:.2f} ms per call; tf.nn.conv2d and its gradients alone")
    stream = stream_rate(plan["stream_elements"], min_seconds=plan["min_seconds"], repetitions=plan["repetitions"])
    ctx.results.add("kernels", "element-wise", f"y = a*x + b over {stream['elements']:,} float32",
                    [stream["min"], stream["gb_per_second"], stream["max"]], "GB/s",
                    note="bytes read + written per second; bounds every element-wise op (optimizer, batch norm)")


def section_run_phases(ctx) -> None:
    plan = ctx.plan["run_phases"]
    for model in _models(ctx, "run_phases"):
        before = load_average()
        ctx.echo(f"run_phases: child process training {model} for {plan['epochs']} epochs (load {before}) ...")
        report, _ = run_child({"task": "run_phases", "model": model, "epochs": plan["epochs"],
                               "profile": plan["profile"]})
        anatomy, _ = run_child({"task": "first_step_anatomy", "model": model, "steps": plan["anatomy_steps"],
                                "width": plan.get("width")})
        report.update(first_step=anatomy, load_average_before=before, load_average_after=load_average())
        _write_json(ctx, f"run_phases_{model}.json", report)
        note = f"one {plan['epochs']}-epoch train() call; load average {before} -> {report['load_average_after']}"
        stamps = report["stamps"]
        for epoch in range(plan["epochs"]):
            first = stamps[f"epoch{epoch}_first_step_end"] - stamps[f"epoch{epoch}_first_step_begin"]
            steps = stamps[f"epoch{epoch}_steps"]
            later = (stamps[f"epoch{epoch}_last_step_end"] - stamps[f"epoch{epoch}_first_step_end"]) / max(1, steps - 1)
            validation = stamps[f"epoch{epoch}_validation_end"] - stamps[f"epoch{epoch}_validation_begin"]
            for label, value in ((f"epoch {epoch + 1}: first step", first), (f"epoch {epoch + 1}: later step", later),
                                 (f"epoch {epoch + 1}: validation pass", validation),
                                 (f"epoch {epoch + 1}: whole epoch", stamps[f"epoch{epoch}_end"]
                                  - stamps[f"epoch{epoch}_begin"])):
                ctx.results.add("run_phases", model, label, value, "s", note=note)
        for label, seconds in sorted(report["parts"].items(), key=lambda item: -item[1]):
            ctx.results.add("run_phases", model, f"{label} ({report['calls'][label]} calls)", seconds, "s", note=note)
        ctx.results.add("run_phases", model, "whole train() call", report["total_seconds"], "s", note=note)
        for label, seconds in anatomy.items():
            ctx.results.add("run_phases", model, label, seconds, "s", note="a fresh model in a child process")


def section_levers(ctx) -> None:
    from _levers import alternate_cases, build_case, ratios
    from _optimizers import agreement

    plan = ctx.plan["levers"]
    for kind, report in agreement().items():
        ctx.results.add("levers", "AdamW update", f"{kind} vs keras AdamW after {report['steps']} steps: "
                        "largest difference", report["max_abs_difference"], "abs",
                        note=f"{report['differing_fraction']:.1%} of elements differ; the update itself moved "
                             f"weights by up to {report['max_movement']:.2g}")
    for model in _models(ctx, "levers"):
        for name, cases in plan["cases"].items():
            before = load_average()
            built = {label: build_case(model, width=plan.get("width"), **options) for label, options in cases.items()}
            measured = alternate_cases(built, images=plan["images"], rounds=plan["rounds"],
                                       warmup_steps=plan["warmup_steps"], echo=ctx.echo)
            note = f"{name}; load average {before} -> {load_average()}"
            for clock, speeds in measured.items():
                unit = "images/s" if clock == "wall" else "images/CPU-s"
                for label, summary in ratios(speeds).items():
                    ctx.results.add("levers", model, f"{label} ({clock})", speeds[label], unit, note=note)
                    if label != next(iter(cases)):
                        ctx.results.add("levers", model, f"{label} / {next(iter(cases))} ({clock})",
                                        [summary["ratio_min"], summary["ratio"], summary["ratio_max"]], "x",
                                        note=note + f"; median of {summary['rounds']} alternating rounds")
            del built


SECTION_FUNCTIONS = {"step_breakdown": section_step_breakdown, "kernels": section_kernels,
                     "run_phases": section_run_phases, "levers": section_levers}
