"""Runs side by side: a profile's completed runs, grouped by model and repetition, tabulated and tested.

A repetition is one seed of a model: the k runs of a k-fold cross-validation (each tests one
fold; together they test every image once) or one holdout run. Everything here compares
repetitions on their pooled predictions.

- :mod:`~labwork6.comparison.loading`: :func:`load_runs` reads the network runs of a profile,
  :func:`group_runs`, :func:`primary_models` and :func:`repetitions` arrange them with the SVC
  baseline runs, :func:`pooled_runs` joins a repetition's folds (checking each image is tested
  once), :func:`pooled_intervals` and :func:`run_intervals` give metrics with 95% intervals.
- :mod:`~labwork6.comparison.tables`: every run (:func:`runs_table`), every repetition
  (:func:`repetition_table`), every model (:func:`comparison_table`), per class, the confusion
  matrices, the training settings and the data, each unrounded and formatted for reading (``format_*``).
- :mod:`~labwork6.comparison.paired`: McNemar's exact test, its power and Newcombe's interval of
  the accuracy difference of two models on the same images, per fold and pooled
  (:func:`paired_comparisons`), and the verdict with its evidence (:func:`pair_verdict`).
- :mod:`~labwork6.comparison.robust`: accuracy under corrupted test images per model, per
  corruption type with its ranking (:func:`robustness_frames`, :func:`corruption_summary`,
  :func:`mean_corruption_table`) and per pair (:func:`paired_robustness`).

Notebook 06 and the report (:mod:`labwork6.report_data` and the modules that read it) use them.
"""

from labwork6.comparison.loading import (
    ALPHA,
    BASELINE_MODEL,
    COST_KEYS,
    METRICS,
    MODEL_LABELS,
    N_RESAMPLES,
    SVC_LABEL,
    epoch_seconds,
    group_runs,
    load_runs,
    model_label,
    pooled_intervals,
    pooled_runs,
    primary_models,
    prose_label,
    repetitions,
    run_folds,
    run_intervals,
    runs_by_seed,
    short_label,
    test_predictions,
)
from labwork6.comparison.paired import (
    POWER,
    compared_pairs,
    evidence,
    format_paired,
    pair_verdict,
    paired_comparisons,
    paired_frame,
    pooled_rows,
)
from labwork6.comparison.robust import (
    MEAN_ROW,
    corrupted_predictions,
    corruption_summary,
    format_corruption_summary,
    format_robustness,
    image_shares,
    mean_corruption_table,
    paired_robustness,
    pooled_robustness,
    robustness_frames,
    run_robustness,
)
from labwork6.comparison.tables import (
    comparison_table,
    data_table,
    format_comparison,
    format_per_class,
    format_runs_table,
    metric_cell,
    per_class_table,
    recipe_table,
    repetition_table,
    runs_table,
    summed_confusion_matrix,
    table_cell,
)

__all__ = [
    "ALPHA", "BASELINE_MODEL", "COST_KEYS", "MEAN_ROW", "METRICS", "MODEL_LABELS", "N_RESAMPLES", "POWER", "SVC_LABEL",
    "comparison_table", "compared_pairs", "corrupted_predictions", "corruption_summary", "data_table",
    "epoch_seconds", "evidence", "format_comparison", "format_corruption_summary", "format_paired",
    "format_per_class", "format_robustness", "format_runs_table", "group_runs", "image_shares", "load_runs",
    "mean_corruption_table", "metric_cell", "model_label", "pair_verdict", "paired_comparisons", "paired_frame",
    "paired_robustness", "per_class_table", "pooled_intervals", "pooled_robustness", "pooled_rows", "pooled_runs",
    "primary_models", "prose_label", "recipe_table", "repetition_table", "repetitions", "robustness_frames",
    "run_folds", "run_intervals", "run_robustness", "runs_by_seed", "runs_table", "short_label",
    "summed_confusion_matrix", "table_cell", "test_predictions",
]
