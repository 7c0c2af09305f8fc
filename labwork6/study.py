"""``make study``: the experiments beyond the main job, each in its own run folders.

- :func:`remedy_selection`: the contrast remedy (``contrast_augmentation``, Keras'
  ``RandomContrast`` in the training augmentation) chosen on validation splits only: both
  networks, with and without it, on fold 0 of the development seeds 100 and 101 (never the
  reported seed 0's test folds); clean validation accuracy and validation accuracy under the
  ``contrast`` corruption and under every corruption. 8 trainings. Its numbers decided the
  default recipe (:data:`labwork6.recipes.RECIPES`, which quotes them).
- :func:`remedy_ablation`: the main job's runs (seed 0, every fold) against the same recipe
  with the remedy switched (off, as the default recipe has it; on where it has not): clean test
  accuracy pooled over the 1,797 images and mean corruption accuracy, without and with. 6 trainings.
- :func:`learning_curve`: 10, 25 and 50% of the training folds (``train_fraction``), seed 0,
  both networks, every fold (18 trainings, together about 5 full ones' steps); 100% is the main
  job's runs.
- :func:`repeated_cv`: the 3-fold cross-validation again with seeds 1 and 2 (12 trainings),
  ordinary runs of the default profile (``runs/default/``, as ``make seeds SEEDS="1 2"``), which
  the report then pools per repetition.

Runs of the first three go to ``<runs>/study/<part>/`` and their tables to ``<runs>/study/<part>.csv``,
which the report reads when they exist (:mod:`labwork6.report_numbers`).

Cost, on 2 cores of an Intel Xeon (float32; a training step of batch 32 takes about 0.71 s for
VGG19-BN and 0.57 s for ResNet19 on a quiet machine; 32 steps per epoch, 5 epochs, plus about
15 s of evaluation per run): a full training is about 2.1 min for VGG19-BN and 1.8 min for
ResNet19, so the study's 26 full trainings (8 + 6 + 12) and 18 shorter ones take about
26 x 2 + 18 x 0.6 ≈ 65 minutes, on top of the main job's runs, which it reuses. On a loaded
machine it is slower: the 8 trainings of the remedy selection took 98-357 s each next to other
work (load average about 5). ``python -m labwork6.study --only remedy_selection`` runs one part.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: Development seeds: the remedy is chosen on their validation splits, never on a reported test fold.
DEVELOPMENT_SEEDS = (100, 101)
#: RandomContrast's factor: the contrast of a training image is scaled by a random factor in
#: [0.1, 1.9], which reaches the corruption's severities 1-4 (factors 0.4 to 0.1). Fixed before
#: any measurement; the only choice made on validation is with or without.
CONTRAST_FACTOR = 0.9
LEARNING_FRACTIONS = (0.1, 0.25, 0.5)
REPEATED_SEEDS = (1, 2)
PROFILE = "default"
MODELS = ("vgg19_bn", "resnet19")
PARTS = ("remedy_selection", "remedy_ablation", "learning_curve", "repeated_cv")


def study_dir(runs=None) -> Path:
    """``<runs>/study``: the study's run folders and tables."""
    from labwork6.profiles import runs_root

    return runs_root(runs) / "study"


def _train(model: str, seed: int, fold: int, part: str, runs, **overrides) -> Path:
    """A completed run of the default profile's recipe with ``overrides`` in
    ``<runs>/study/<part>/<name>`` (kept when it is there)."""
    from labwork6.recipes import resolve_config
    from labwork6.runs import is_completed, run_name
    from labwork6.train import train

    config = resolve_config(model, profile=PROFILE, seed=seed, fold=fold, **overrides)
    suffix = "".join(f"-{key}{value:g}" for key, value in sorted(overrides.items()) if value is not None)
    run_dir = study_dir(runs) / part / f"{run_name(config)}{suffix}"
    if not is_completed(run_dir):
        print(f"[labwork6 study] training {run_dir.name} ({part})", flush=True)
        train(model, profile=PROFILE, seed=seed, run_dir=run_dir, verbose=0, fold=fold, **overrides)
    return run_dir


def validation_scores(run_dir) -> dict:
    """A run's model on its validation split: ``val_images``, ``clean`` accuracy, ``contrast``
    (mean accuracy under the contrast corruption at the run's ``robustness_severities``) and
    ``mean_corruption`` (over every corruption at those severities), and each corruption's mean."""
    from labwork6.evaluate import load_trained
    from labwork6.metrics import labels_from_probabilities
    from labwork6.recipes import run_dataset
    from labwork6.robustness import robustness_table

    model, config = load_trained(run_dir)
    data = run_dataset(config)
    table = robustness_table(lambda images: labels_from_probabilities(model.predict(images, batch_size=256,
                                                                                    verbose=0)),
                             data.val.images, data.val.labels, seed=int(config.seed),
                             severities=config.robustness_severities or (1, 3, 5))
    corrupted = table[table["severity"] >= 1]
    per_corruption = corrupted.groupby("corruption", sort=False)["accuracy"].mean()
    return {"val_images": len(data.val), "clean": float(table["accuracy"].iloc[0]),
            "contrast": float(per_corruption["contrast"]), "mean_corruption": float(corrupted["accuracy"].mean()),
            **{f"corruption_{name}": float(value) for name, value in per_corruption.items()}}


def remedy_selection(runs=None, *, models=MODELS, seeds=DEVELOPMENT_SEEDS, factor: float = CONTRAST_FACTOR,
                     fold: int = 0) -> pd.DataFrame:
    """Both networks with and without ``contrast_augmentation=factor`` on fold ``fold`` of the
    development ``seeds``, scored on their validation splits (:func:`validation_scores`); writes
    ``<runs>/study/remedy_selection.csv`` and returns it (one row per model, seed and variant)."""
    rows = []
    for seed in seeds:
        for model in models:
            for remedy in (None, factor):
                run_dir = _train(model, seed, fold, "remedy_selection", runs, contrast_augmentation=remedy)
                rows.append({"model": model, "seed": seed, "fold": fold, "contrast_augmentation": remedy or 0.0,
                             **validation_scores(run_dir)})
    return _write(pd.DataFrame(rows), runs, "remedy_selection")


def _write(frame: pd.DataFrame, runs, part: str) -> pd.DataFrame:
    path = study_dir(runs) / f"{part}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    frame.to_csv(temporary, index=False)
    temporary.replace(path)  # whole or not at all
    print(f"[labwork6 study] wrote {path}", flush=True)
    return frame


def _pooled_scores(run_dirs) -> dict:
    """Clean test accuracy pooled over a seed's folds and mean corruption accuracy pooled over
    their robustness images, from the run folders."""
    from labwork6.comparison import pooled_runs
    from labwork6.runs import load_run
    from labwork6.stats import accuracy_interval

    pooled = pooled_runs([load_run(path) for path in run_dirs])
    correct, total = int((pooled["label"] == pooled["prediction"]).sum()), len(pooled)
    low, high = accuracy_interval(correct, total)
    robust = pd.concat([pd.read_csv(Path(path) / "robustness.csv") for path in run_dirs])
    corrupted = robust[robust["severity"] >= 1].groupby(["corruption", "severity"])[["correct", "total"]].sum()
    return {"test_images": total, "correct": correct, "accuracy": correct / total, "accuracy_low": low,
            "accuracy_high": high,
            "mean_corruption": float((corrupted["correct"] / corrupted["total"]).mean()),
            "robustness_images": int(robust[robust["severity"] == 0]["total"].sum())}


def _main_runs(model: str, seed: int, runs) -> list[Path]:
    """The default profile's runs of ``model`` and ``seed``, every fold (trained where missing)."""
    from labwork6.train import train_missing

    found = train_missing([model], profile=PROFILE, seeds=[seed], runs=runs)
    return [path for (_, _, _), path in sorted(found.items(), key=lambda item: item[0][2])]


def remedy_ablation(runs=None, *, models=MODELS, seed: int = 0, factor: float = CONTRAST_FACTOR) -> pd.DataFrame:
    """The main job's runs (seed ``seed``, every fold) against the same recipe with the remedy
    switched (``contrast_augmentation`` ``factor`` where the default recipe has none, 0 where it
    has it): pooled clean test accuracy with its Wilson interval and mean corruption accuracy,
    without and with; writes ``<runs>/study/remedy_ablation.csv``."""
    from labwork6.recipes import resolve_config

    rows = []
    for model in models:
        config = resolve_config(model, profile=PROFILE, seed=seed)
        default = config.contrast_augmentation or 0.0
        switched = 0.0 if default else factor
        main = _main_runs(model, seed, runs)
        other = [_train(model, seed, fold, "remedy_ablation", runs, contrast_augmentation=switched)
                 for fold in range(config.folds)]
        for remedy, run_dirs in sorted(((default, main), (switched, other)), key=lambda item: item[0]):
            rows.append({"model": model, "seed": seed, "contrast_augmentation": remedy, **_pooled_scores(run_dirs)})
    return _write(pd.DataFrame(rows), runs, "remedy_ablation")


def learning_curve(runs=None, *, models=MODELS, seed: int = 0, fractions=LEARNING_FRACTIONS) -> pd.DataFrame:
    """Pooled test accuracy of both networks trained on ``fractions`` of the training folds (and
    100%: the main job's runs); writes ``<runs>/study/learning_curve.csv`` (``train_images``: mean
    over the folds)."""
    from labwork6.recipes import resolve_config
    from labwork6.runs import read_config

    rows = []
    for model in models:
        folds = resolve_config(model, profile=PROFILE, seed=seed).folds
        variants = [(fraction, [_train(model, seed, fold, "learning_curve", runs, train_fraction=fraction)
                                for fold in range(folds)]) for fraction in fractions]
        for fraction, run_dirs in [*variants, (1.0, _main_runs(model, seed, runs))]:
            train_images = np.mean([read_config(path).counts["train"] for path in run_dirs])
            rows.append({"model": model, "seed": seed, "train_fraction": fraction,
                         "train_images": float(train_images), **_pooled_scores(run_dirs)})
    return _write(pd.DataFrame(rows), runs, "learning_curve")


def repeated_cv(runs=None, *, models=MODELS, seeds=REPEATED_SEEDS) -> None:
    """The default profile's cross-validation with more ``seeds``: ordinary runs in
    ``<runs>/default/`` (trained where missing) that the report pools per repetition."""
    from labwork6.train import train_missing

    train_missing(list(models), profile=PROFILE, seeds=list(seeds), runs=runs)


def run_study(runs=None, parts=PARTS) -> None:
    """Every part of the study named in ``parts`` (see the module docstring), in order."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"Unknown study parts {unknown}. Valid: {', '.join(PARTS)}")
    functions = {"remedy_selection": remedy_selection, "remedy_ablation": remedy_ablation,
                 "learning_curve": learning_curve, "repeated_cv": repeated_cv}
    for part in PARTS:
        if part in parts:
            functions[part](runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labwork6.study", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="run only these parts")
    parser.add_argument("--runs", help="the runs folder (default: $LABWORK6_RUNS or runs)")
    args = parser.parse_args(argv)
    from labwork6.quiet import quiet_tensorflow

    quiet_tensorflow()
    run_study(args.runs, args.only)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
