"""What the notebooks show about trained networks, each in one call.

Notebooks 03 (VGG19) and 04 (ResNet) train a network and then look at its run folder the same
way: :func:`show_run` is that look, called once by each. Notebook 06 words the paired
robustness tests with :func:`robustness_sentences`. Everything is read from run folders, so a
run trained on the command line or on Colab is shown the same way. :func:`contrast_figure` is
the README's figure (``python -m labwork6.show docs/figures/contrast_diagnosis.png`` redraws it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labwork6 import plots
from labwork6.comparison import ALPHA, MEAN_ROW, pooled_intervals, prose_label
from labwork6.evaluate import load_test_split, load_trained
from labwork6.latex import percent_decimals, thousands
from labwork6.metrics import labels_from_probabilities
from labwork6.models import count_parameters, model_family
from labwork6.preprocessing import build_preprocessing
from labwork6.profiles import get_profile
from labwork6.recipes import RECIPES, model_image_size, resolve_config, run_dataset
from labwork6.run_config import RunConfig
from labwork6.runs import load_run
from labwork6.train import train_missing

#: The test metrics the lab asks for, as ``metrics.json`` names them (macro averages).
METRICS = ("accuracy", "precision", "recall", "f1")


def _display(item) -> None:
    """A table or figure shown in the notebook (printed where IPython is missing)."""
    try:
        from IPython.display import display
    except ImportError:  # a plain Python session
        print(item)
        return
    display(item)


def _show(figure, path: Path | None) -> None:
    import matplotlib.pyplot as plt

    if path is not None:
        plots.save_figure(figure, path)
    plt.show()
    plt.close(figure)


def run_sentence(run: dict) -> str:
    """One run in a sentence: model, data and split sizes, input, size, cost, training time and where."""
    config, timing = run["config"], run["timing"] or {}
    hardware = config.hardware or {}
    device = ", ".join(hardware.get("gpus") or []) or f"{hardware.get('cpu_count', '?')} CPU cores " \
                                                      f"({hardware.get('processor', 'unknown')})"
    fold = f", fold {config.fold} of {config.folds}" if config.folds else ""
    counts = config.counts or {}
    epochs = timing.get("epochs_run", config.epochs_run)
    return (f"{config.model} on {config.dataset} (seed {config.seed}{fold}): "
            f"{thousands(counts.get('train'))} training, {thousands(counts.get('val'))} validation and "
            f"{thousands(counts.get('test'))} test images; raw input {tuple(config.raw_input_shape)} resized to "
            f"{tuple(config.input_shape)}; {config.parameters['total']:,} parameters, "
            f"{config.multiply_adds:,} multiply-adds per image; {epochs} epoch{'' if epochs == 1 else 's'} in "
            f"{timing.get('train_seconds', float('nan')):.0f} s ({timing.get('seconds_per_epoch', float('nan')):.1f} s "
            f"per epoch) on {device}, precision {config.resolved_precision}.")


def recipe_used(config: RunConfig) -> pd.Series:
    """The recipe as the run recorded it in ``config.json`` (what training used, whatever the
    recipe says today), with the width and the input sizes."""
    used = {key: getattr(config, key) for key in RECIPES[model_family(config.model)]}
    used |= {"width": config.width, "precision": config.resolved_precision,
             "augment": config.augment}
    return pd.Series({key: str(value) for key, value in used.items()}, name="config.json")


def _check_model_file(run_dir: Path, config: RunConfig) -> str:
    """Read ``model.keras`` back and classify the raw test images: it must give the predictions
    that training wrote (a different device or precision may round a near tie differently)."""
    import keras

    model, _ = load_trained(run_dir)
    assert count_parameters(model) == config.parameters
    data, predictions = load_test_split(run_dir)  # the run's own test split, checked against its labels
    probabilities = model.predict(data.test.images, batch_size=256, verbose=0).reshape(len(predictions), -1)
    stored = predictions.filter(like="prob_").to_numpy()
    agreement = float(np.mean(labels_from_probabilities(probabilities) == predictions["prediction"].to_numpy()))
    difference = float(np.abs(probabilities - stored).max())
    assert difference < 1e-2, difference  # the same model on the same images, up to rounding
    del model
    keras.utils.clear_session()
    return (f"model.keras read back (its preprocessing layers first) on the {len(data.test.images)} raw test "
            f"images {data.test.images.shape[1:]} "
            f"{data.test.images.dtype}: {agreement:.2%} of the predictions of predictions.csv, probabilities within "
            f"{difference:.1e}")


def metrics_table(run: dict) -> pd.DataFrame:
    """The run's macro test metrics, its test images and best epoch, as one row."""
    metrics = run["metrics"]
    row = {key: round(float(metrics[key]), 4) for key in METRICS}
    row |= {"test images": int(metrics["num_test"]), "best epoch": int(metrics["best_epoch"])}
    return pd.DataFrame([row], index=[f"{run['config'].model} (macro)"])


def fold_table(found: dict) -> pd.DataFrame:
    """One row per run of :func:`labwork6.train.train_missing`: its macro test metrics and whole
    counts (test images, best epoch, training seconds) as integers."""
    rows = {}
    for (_, seed, fold), path in sorted(found.items(), key=lambda item: (item[0][1], item[0][2] or 0)):
        run = load_run(path)
        rows[(seed, "holdout" if fold is None else fold)] = {
            **{key: round(float(run["metrics"][key]), 4) for key in METRICS},
            "test images": int(run["metrics"]["num_test"]), "best epoch": int(run["metrics"]["best_epoch"]),
            "training seconds": int(round(run["timing"]["train_seconds"]))}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["seed", "fold"])


def pooled_sentence(found: dict) -> str | None:
    """The folds of one seed pooled: every image tested once, accuracy with its Wilson interval."""
    group = [load_run(path) for (_, _, fold), path in sorted(found.items(), key=lambda item: item[0][2] or 0)
             if fold is not None]
    if len(group) < 2:
        return None
    pooled = pooled_intervals(group)
    decimals = percent_decimals(pooled["test_images"])
    return (f"Pooled over the {len(group)} folds, each of the {thousands(pooled['test_images'])} images tested once: "
            f"{pooled['correct']:,} right, accuracy {100 * pooled['accuracy']:.{decimals}f}% (Wilson 95% interval "
            f"{100 * pooled['accuracy_low']:.{decimals}f} to {100 * pooled['accuracy_high']:.{decimals}f}%); "
            f"one image is {100 / pooled['test_images']:.2g} points.")


def show_run(run_dir, *, runs=None, epochs: int | None = None, figures_dir=None) -> dict:
    """Show a trained run folder, then every fold of its seed: what notebooks 03 and 04 share.

    In order: the run in one sentence (:func:`run_sentence`) and the recipe its ``config.json``
    recorded; ``model.keras`` read back and checked against ``predictions.csv``; the training
    curves; the test metrics (macro, then per class from ``classification_report.csv``); the
    confusion matrix; the misclassified test images. Then the seed's other folds, trained where
    missing (:func:`labwork6.train.train_missing`, with the run's profile and dataset and
    ``epochs``; one line per run it trains), in a table, and pooled (:func:`pooled_sentence`).

    Args:
        run_dir: a completed run folder (``runs/<profile>/<name>``).
        runs: the folder of all runs (default: two levels above ``run_dir``).
        epochs: the epochs for a fold that has to be trained (None: the profile's).
        figures_dir: where ``history_<model>.png``, ``confusion_<model>.png`` and
            ``misclassified_<model>.png`` are saved (None: not saved).

    Returns ``{"run": the run (load_run), "folds": {(model, seed, fold): run folder}}``.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    config, name = run["config"], run["config"].model
    figures = Path(figures_dir) if figures_dir is not None else None

    def saved(kind: str) -> Path | None:
        return figures / f"{kind}_{name}.png" if figures is not None else None

    print(run_sentence(run))
    _display(recipe_used(config).to_frame())
    print(_check_model_file(run_dir, config))

    print("\nTraining curves: training split solid, validation dashed; the learning rate per epoch.")
    _show(plots.plot_history({name: run["history"]}), saved("history"))

    print(f"Test metrics of the model of epoch {run['metrics']['best_epoch']} (the best on validation):")
    _display(metrics_table(run))
    report = pd.read_csv(run_dir / "classification_report.csv", index_col=0)
    _display(report.round(4))

    confusion = pd.read_csv(run_dir / "confusion_matrix.csv", index_col=0)
    title = f"{name}: test confusion matrix ({int(confusion.to_numpy().sum())} images)"
    _show(plots.plot_confusion_matrix(confusion, title=title), saved("confusion"))

    data, predictions = load_test_split(run_dir)
    images = data.test.images[predictions["index"]]
    _show(plots.plot_misclassified(images, predictions["label"], predictions["prediction"], config.class_names),
          saved("misclassified"))

    runs = Path(runs) if runs is not None else run_dir.parent.parent
    found = train_missing([name], config.dataset, profile=config.profile, seeds=[config.seed], runs=runs,
                          epochs=epochs)
    print(f"Every run of {name}, seed {config.seed} ({config.evaluation}):")
    _display(fold_table(found))
    sentence = pooled_sentence(found)
    if sentence:
        print(sentence)
    return {"run": run, "folds": found}


def robustness_sentences(paired: pd.DataFrame, alpha: float = ALPHA) -> list[str]:
    """:func:`labwork6.comparison.paired_robustness` in words, one sentence per pair and seed: the
    difference of the two models' accuracy (first minus second; each model's mean over the
    severities) on the mean over the corruption types with its bootstrap interval, then the types
    where the interval excludes 0 (who is ahead, by how much) and those where it does not."""
    sentences = []
    level = f"{100 * (1 - alpha):.0f}%"
    for (first, second, seed), rows in paired.groupby(["model_a", "model_b", "seed"], sort=False):
        names = prose_label(first), prose_label(second)
        decimals = percent_decimals(int(rows["n"].min()))

        def points(row, decimals=decimals) -> str:
            difference, low, high = 100 * row["difference"], 100 * row["low"], 100 * row["high"]
            return (f"{difference:+.{decimals}f} points, {level} interval {low:+.{decimals}f} to "
                    f"{high:+.{decimals}f}")

        mean = rows[rows["corruption"] == MEAN_ROW]
        types = rows[rows["corruption"] != MEAN_ROW]
        text = f"{names[0]} minus {names[1]} (seed {seed}, {thousands(int(rows['n'].max()))} images, each with all " \
               "its corrupted versions)"
        if len(mean):
            row = mean.iloc[0]
            better = names[0] if row["difference"] > 0 else names[1]
            verdict = (f"{better} is more robust on average" if row["significant"]
                       else "they cannot be told apart on average")
            text += f": on the mean over the corruption types {points(row)}, so {verdict}"
        ahead = [f"{names[0] if row['difference'] > 0 else names[1]} under {row['corruption'].replace('_', ' ')} "
                 f"({points(row)})" for _, row in types[types["significant"]].iterrows()]
        tied = [row["corruption"].replace("_", " ") for _, row in types[~types["significant"]].iterrows()]
        if ahead:
            text += "; ahead per type: " + "; ".join(ahead)
        if tied:
            text += f"; cannot be told apart under {', '.join(tied)} (the interval includes 0)"
        sentences.append(text + ".")
    return sentences


def contrast_figure(profile: str = "default", width: float = 6.4):
    """The report's contrast diagnosis (:func:`labwork6.plots.plot_contrast_diagnosis`) for fold 0 of
    the profile's first seed and VGG, from the data alone: the training split's normalisation
    statistics computed as training computes them (the model's ``preprocessing`` layers, adapted on
    the training split), so no run is needed and every machine draws the same figure."""
    settings = get_profile(profile)
    vgg = next(name for name in settings["models"] if model_family(name) == "vgg")
    config = resolve_config(vgg, profile=profile, seed=settings["seeds"][0])
    data = run_dataset(config)
    preprocessing = build_preprocessing(data.train.images, image_size=model_image_size(config, data.image_shape),
                                        channels=config.channels)
    normalization = preprocessing.get_layer("normalization")
    mean = np.ravel(np.asarray(normalization.mean, dtype=float))
    std = np.sqrt(np.ravel(np.asarray(normalization.variance, dtype=float)))
    return plots.plot_contrast_diagnosis(data.test.images, mean, std, severity=1, count=8, seed=config.seed,
                                         width=width)


__all__ = ["METRICS", "contrast_figure", "fold_table", "metrics_table", "pooled_sentence", "recipe_used",
           "robustness_sentences", "run_sentence", "show_run"]


if __name__ == "__main__":  # python -m labwork6.show PATH.png: the README's figure
    import sys

    plots.save_figure(contrast_figure(), sys.argv[1] if len(sys.argv) > 1 else "docs/figures/contrast_diagnosis.png")
