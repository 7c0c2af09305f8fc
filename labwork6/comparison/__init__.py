"""Runs side by side: a profile's completed runs, grouped by model, tabulated and tested.

- :mod:`~labwork6.comparison.loading`: :func:`load_runs` reads the network runs of a profile,
  :func:`group_runs`, :func:`primary_models` and :func:`runs_by_seed` arrange them with the
  SVC baseline runs, :func:`run_intervals` gives one run's metrics with 95% intervals.
- :mod:`~labwork6.comparison.tables`: every run (:func:`runs_table`), every model
  (:func:`comparison_table`), per class, the confusion matrices, the training settings and
  the data, each unrounded and formatted for reading (``format_*``).
- :mod:`~labwork6.comparison.paired`: McNemar's exact test and the accuracy difference of two
  models on the same test images (:func:`paired_comparisons`) and the verdict over seeds
  (:func:`pair_verdict`).
- :mod:`~labwork6.comparison.robust`: accuracy under corrupted test images per model
  (:func:`robustness_frames`, :func:`mean_corruption_table`) and per pair
  (:func:`paired_robustness`).

Notebook 05 and the report (:mod:`labwork6.report_data` and the modules that read it) use them.
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
    primary_models,
    prose_label,
    run_intervals,
    runs_by_seed,
    short_label,
    test_predictions,
)
from labwork6.comparison.paired import compared_pairs, format_paired, pair_verdict, paired_comparisons
from labwork6.comparison.robust import (
    corrupted_predictions,
    format_robustness,
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
    runs_table,
    summed_confusion_matrix,
    table_cell,
)

__all__ = [
    "ALPHA", "BASELINE_MODEL", "COST_KEYS", "METRICS", "MODEL_LABELS", "N_RESAMPLES", "SVC_LABEL", "comparison_table",
    "compared_pairs", "corrupted_predictions", "data_table", "epoch_seconds", "format_comparison", "format_paired",
    "format_per_class", "format_robustness", "format_runs_table", "group_runs", "load_runs", "mean_corruption_table",
    "metric_cell", "model_label", "pair_verdict", "paired_comparisons", "paired_robustness",
    "per_class_table", "pooled_robustness", "primary_models", "prose_label", "recipe_table", "robustness_frames",
    "run_intervals", "run_robustness", "runs_by_seed", "runs_table", "short_label", "summed_confusion_matrix",
    "table_cell", "test_predictions",
]
