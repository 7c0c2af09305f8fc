"""The ``time_to_accuracy`` section: accuracy against wall-clock training seconds, per epoch and seed.

Every network of a profile (``default``: the main job's) is trained with its default recipe
by :func:`labwork6.train.train`, exactly as the main job trains it, into a temporary run
folder, once per seed. Each epoch's row comes from the run's ``history.csv`` (``epoch_seconds``:
the epoch's wall-clock seconds, validation pass included) and the test accuracy of the model
that validation selected from its ``metrics.json`` (the test split is used once per run, at
the end). DAWNBench-style: what counts is the training time to a target accuracy.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import pandas as pd

from labwork6.plots import save_figure
from labwork6.profiles import get_profile
from labwork6.runs import is_completed, load_run

#: The target of issue 12: 99% accuracy (on digits, 268 of 270 images).
TARGET_PERCENT = 99

EPOCH_COLUMNS = ["model", "seed", "epoch", "epoch_seconds", "train_seconds", "accuracy", "val_accuracy",
                 "val_correct", "num_val", "reached_target", "selected", "test_accuracy", "test_correct",
                 "num_test", "profile", "precision"]


def _reaches(correct: int, total: int, target_percent: float = TARGET_PERCENT) -> bool:
    # Integer counts, not floats: 99% of 100 images is 99 images, whatever float32 makes of 0.99.
    return correct * 100 >= target_percent * total


def epoch_frame(run_dir, model: str, seed: int, target_percent: float = TARGET_PERCENT) -> pd.DataFrame:
    """One row per epoch of a completed run folder (columns :data:`EPOCH_COLUMNS`):
    cumulative training seconds, training and validation accuracy, whether validation reached
    ``target_percent``, the epoch validation selected, and the selected model's test accuracy."""
    run = load_run(run_dir)
    config, metrics, history = run["config"], run["metrics"], run["history"]
    if metrics is None or history is None or config.status != "completed":
        raise FileNotFoundError(f"{run_dir} holds no completed run (status {config.status!r}): "
                                "metrics.json and history.csv are written at the end of labwork6.train.train.")
    num_val, num_test = int(config.counts["val"]), int(config.counts["test"])
    val_correct = (history["val_accuracy"] * num_val).round().astype(int)
    test_correct = round(float(metrics["accuracy"]) * num_test)
    return pd.DataFrame({
        "model": model, "seed": seed, "epoch": history["epoch"].astype(int),
        "epoch_seconds": history["epoch_seconds"], "train_seconds": history["epoch_seconds"].cumsum(),
        "accuracy": history["accuracy"], "val_accuracy": history["val_accuracy"], "val_correct": val_correct,
        "num_val": num_val, "reached_target": [_reaches(c, num_val, target_percent) for c in val_correct],
        "selected": history["epoch"].astype(int) == int(metrics["best_epoch"]),
        "test_accuracy": float(metrics["accuracy"]), "test_correct": test_correct, "num_test": num_test,
        "profile": config.profile, "precision": config.resolved_precision,
    }, columns=EPOCH_COLUMNS)


def seconds_to_target(run: pd.DataFrame) -> float | None:
    """Cumulative training seconds at the first epoch whose validation accuracy reached the
    target, or None when no epoch of the run did."""
    reached = run[run["reached_target"]]
    return float(reached["train_seconds"].iloc[0]) if len(reached) else None


def summarise(epochs: pd.DataFrame) -> dict[str, dict]:
    """Per model, over its runs (seeds): median training seconds per run, mean and min test
    accuracy, per-seed values, and the seconds to the target for the runs that reached it."""
    summary = {}
    for model, rows in epochs.groupby("model", sort=False):
        runs = [run for _, run in rows.groupby("seed", sort=True)]
        seeds = [int(run["seed"].iloc[0]) for run in runs]
        seconds = [float(run["train_seconds"].iloc[-1]) for run in runs]
        tests = [float(run["test_accuracy"].iloc[0]) for run in runs]
        to_target = {seed: seconds_to_target(run) for seed, run in zip(seeds, runs, strict=True)}
        reached = [value for value in to_target.values() if value is not None]
        summary[model] = {
            "runs": len(runs), "seeds": seeds, "epochs": int(runs[0]["epoch"].max()),
            "median_train_seconds": statistics.median(seconds),
            "mean_test_accuracy": statistics.fmean(tests), "min_test_accuracy": min(tests),
            "train_seconds_per_seed": dict(zip(seeds, seconds, strict=True)),
            "test_accuracy_per_seed": dict(zip(seeds, tests, strict=True)),
            "test_correct_per_seed": {int(run["seed"].iloc[0]): int(run["test_correct"].iloc[0]) for run in runs},
            "num_test": int(runs[0]["num_test"].iloc[0]),
            "target_percent": TARGET_PERCENT, "runs_reaching_target_on_validation": len(reached),
            "median_seconds_to_target": statistics.median(reached) if reached else None,
            "seconds_to_target_per_seed": to_target,
            "profile": str(runs[0]["profile"].iloc[0]), "precision": str(runs[0]["precision"].iloc[0]),
        }
    return summary


def plot_time_to_accuracy(epochs: pd.DataFrame, target_percent: float = TARGET_PERCENT):
    """Validation accuracy against cumulative training seconds, one line per run, one colour per
    model, the target as a dashed line; a cross marks each run's test accuracy (of the model
    validation selected) at the run's end. Right panel: the same, zoomed on 95-100%. Sized so
    that its text stays >= 8 pt when printed 6.3 inches wide."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figure, axes = plt.subplots(1, 2, figsize=(7.2, 3.4))
    for index, (model, rows) in enumerate(epochs.groupby("model", sort=False)):
        colour = colours[index % len(colours)]
        for position, (_seed, run) in enumerate(rows.groupby("seed", sort=True)):
            label = f"{model} ({rows['seed'].nunique()} runs)" if position == 0 else None
            for axis in axes:
                axis.plot(run["train_seconds"], 100 * run["val_accuracy"], "-o", color=colour, markersize=2.5,
                          linewidth=1.1, alpha=0.8, label=label)
                axis.plot(run["train_seconds"].iloc[-1], 100 * run["test_accuracy"].iloc[0], "x", color=colour,
                          markersize=7, markeredgewidth=1.8)
    axes[0].plot([], [], "x", color="black", markersize=7, markeredgewidth=1.8, label="test, selected model")
    for axis, bottom in zip(axes, (0, 95), strict=True):
        axis.axhline(target_percent, color="black", linestyle="--", linewidth=1, label=f"{target_percent}%")
        axis.set_ylim(bottom, 100.3)
        axis.set_xlim(left=0)
        axis.set_xlabel("training seconds (validation included)", fontsize=10)
        axis.tick_params(labelsize=9.5)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%): lines validation", fontsize=10)
    axes[0].set_title("Accuracy against training time", fontsize=10.5)
    axes[1].set_title("Zoom: 95-100%", fontsize=10.5)
    axes[0].legend(fontsize=9.5, loc="lower right")
    figure.tight_layout()
    return figure


def train_runs(models, seeds, profile: str, run_root: Path, echo, *, reuse: bool = False
               ) -> tuple[pd.DataFrame, dict, dict]:
    """Train every model on every seed with ``labwork6.train.train`` into ``run_root``
    (``<run_root>/<profile>/<dataset>-<model>-seed<seed>``, with ``-fold0of<K>`` for the first fold of
    a cross-validating profile: the main job's layout); return the
    per-epoch rows, each trained run's wall-clock seconds of the whole call, and each model's
    config. ``reuse``: a completed run already there (e.g. the main job's) is read, not trained
    again, and has no whole-call time."""
    from labwork6.recipes import run_folder
    from labwork6.train import resolve_config, train

    frames, wall, configs = [], {}, {}
    for model in models:
        for seed in seeds:
            config = resolve_config(model, profile=profile, seed=seed)
            run_dir = run_folder(config, run_root)
            if reuse and is_completed(run_dir):
                echo(f"time_to_accuracy: reading the completed run {run_dir} (not trained again)")
            else:
                echo(f"time_to_accuracy: training {model}, seed {seed}, profile {profile} ...")

                def report(epoch, logs, model=model, seed=seed):
                    echo(f"  {model} seed {seed} epoch {epoch + 1}: val_accuracy {logs.get('val_accuracy', 0):.4f}, "
                         f"{logs.get('epoch_seconds', 0):.1f} s")

                start = time.perf_counter()
                train(model, profile=profile, seed=seed, run_dir=run_dir, overwrite=not reuse, verbose=0,
                      callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=report)])
                wall[(model, seed)] = time.perf_counter() - start
                keras.backend.clear_session()
            frames.append(epoch_frame(run_dir, model, seed))
            configs.setdefault(model, load_run(run_dir)["config"])
    return pd.concat(frames, ignore_index=True), wall, configs


def section_time_to_accuracy(ctx) -> None:
    """Train (or, with ``runs`` in the plan, read the completed runs there), then record the rows,
    ``summary["time_to_accuracy"]``, ``time_to_accuracy.csv`` (every epoch of every run) and
    ``time_to_accuracy.png``/``.pdf`` in ``ctx.out``."""
    plan = ctx.plan["time_to_accuracy"]
    settings = get_profile(plan["profile"])
    models, seeds = tuple(plan.get("models") or settings["models"]), tuple(plan["seeds"])
    if plan.get("runs"):
        epochs, wall, configs = train_runs(models, seeds, settings["name"], Path(plan["runs"]), ctx.echo, reuse=True)
    else:
        with tempfile.TemporaryDirectory(prefix="labwork6-time-to-accuracy-") as run_root:
            epochs, wall, configs = train_runs(models, seeds, settings["name"], Path(run_root), ctx.echo)
    summary = summarise(epochs)
    for model in models:
        _record(ctx, model, epochs[epochs["model"] == model], summary[model], configs[model], wall)
    out = Path(ctx.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs.to_csv(out / "time_to_accuracy.csv", index=False)
    figure = plot_time_to_accuracy(epochs)
    written = save_figure(figure, out / "time_to_accuracy.png", pdf=True)
    plt.close(figure)
    ctx.echo(f"time_to_accuracy: wrote {out / 'time_to_accuracy.csv'}, {', '.join(str(p) for p in written)}")


def _record(ctx, model: str, epochs: pd.DataFrame, summary: dict, config: dict, wall: dict) -> None:
    """The section's rows for one model (values over seeds) and its summary entry."""
    precision = config.resolved_precision
    peak = ctx.peak(precision)  # the matmul rate of this precision, measured in this run
    seeds = summary["seeds"]
    setting = (f"{summary['profile']} profile, {precision}, batch {config.batch_size}, "
               f"{summary['epochs']} epochs, seeds {', '.join(map(str, seeds))}")
    per_seed = "; ".join(f"seed {seed}: {100 * accuracy:.2f}% ({summary['test_correct_per_seed'][seed]}/"
                         f"{summary['num_test']})" for seed, accuracy in summary["test_accuracy_per_seed"].items())
    results = ctx.results
    results.add("time_to_accuracy", model, setting + ", training seconds per run",
                list(summary["train_seconds_per_seed"].values()), "s",
                note="sum of history.csv's epoch_seconds (validation passes included)")
    reached = [value for value in summary["seconds_to_target_per_seed"].values() if value is not None]
    results.add("time_to_accuracy", model, setting + f", seconds to {TARGET_PERCENT}% validation accuracy", reached,
                "s", note=f"{len(reached)} of {len(seeds)} runs reached it (first such epoch, cumulative)")
    results.add("time_to_accuracy", model, setting + ", test accuracy of the selected model",
                [100 * value for value in summary["test_accuracy_per_seed"].values()], "%",
                note=f"{per_seed}; mean {100 * summary['mean_test_accuracy']:.2f}%; one test image = "
                     f"{100 / summary['num_test']:.2f} points")
    train_images = int(config.counts["train"])
    speeds = [train_images * summary["epochs"] / seconds for seconds in summary["train_seconds_per_seed"].values()]
    results.add("time_to_accuracy", model, setting + ", training images/s", speeds, "images/s",
                flops_per_image=6 * int(config.multiply_adds), peak_gflops=peak,
                note="epochs x training images / training seconds (validation time counted, so a lower bound)")
    calls = [wall[(model, seed)] for seed in seeds if (model, seed) in wall]  # none for runs read, not trained
    if calls:
        results.add("time_to_accuracy", model, setting + ", whole train() call", calls, "s",
                    note=f"data, building, training, test split, robustness and timing files ({len(calls)} of "
                         f"{len(seeds)} runs trained here)")
    results.headline("time_to_accuracy", model, {**summary, "matmul_gflops": peak,
                                                 "median_train_call_seconds": statistics.median(calls) if calls
                                                 else None})
