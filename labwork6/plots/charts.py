"""Charts of numbers: training curves, confusion matrices, accuracy under corruptions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay

#: Line style of each split in :func:`plot_history`.
_SPLIT_STYLES = {"train": "-", "val": "--"}
#: One marker and line style per model, so that the lines stay apart in grey print.
MODEL_MARKERS = ("o", "s", "^", "D", "v", "P")
MODEL_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)))
#: A panel of :func:`plot_history` is drawn on a log scale when its largest value exceeds this
#: many times its smallest (and the metric is in ``log_scale``).
LOG_SCALE_RATIO = 3.0


def uses_log_scale(values) -> bool:
    """Whether :func:`plot_history` draws a panel of these (positive) values on a log scale:
    the largest more than :data:`LOG_SCALE_RATIO` times the smallest."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size and np.all(values > 0) and values.max() > LOG_SCALE_RATIO * values.min())


def _history_panel(ax, metric: str, histories: Mapping[str, pd.DataFrame], indices: Sequence[int],
                   log_scale: Sequence[str], title: str) -> dict:
    """One panel of :func:`plot_history`: ``metric`` of ``histories`` (model ``indices`` pick the
    colours and markers), training solid, validation dashed; returns the lines by model name."""
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = {}
    for index, (name, history) in zip(indices, histories.items(), strict=True):
        epochs = history["epoch"] if "epoch" in history.columns else np.arange(1, len(history) + 1)
        marker = MODEL_MARKERS[index % len(MODEL_MARKERS)]
        for split, column in (("train", metric), ("val", f"val_{metric}")):
            if column in history.columns:
                # One marker per model (grey print); validation drawn over training with open
                # markers, so that neither hides the other where they meet.
                validation = split == "val"
                (line,) = ax.plot(epochs, history[column], _SPLIT_STYLES[split], color=colors[index % len(colors)],
                                  marker=marker, markersize=4 if validation else 3,
                                  markerfacecolor="white" if validation else None,
                                  markevery=max(1, len(history) // 10), linewidth=1.2, zorder=3 if validation else 2)
                handles.setdefault(name, line)
    values = np.concatenate([h[c].to_numpy(float) for h in histories.values() for c in (metric, f"val_{metric}")
                             if c in h])
    if metric in log_scale and uses_log_scale(values):
        ax.set_yscale("log")
        # plain numbers at 1, 2 and 5 of each decade (and 3 and 7 when less than about one decade shows)
        narrow = values.max() < 15 * values.min()
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0, 7.0) if narrow else (2.0, 5.0)))
        for formatter in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
            formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_title(title + (" (log scale)" if ax.get_yscale() == "log" else ""), fontsize=9)
    ax.set_xlabel("epoch", fontsize=8)
    ax.tick_params(which="both", labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    last = max(len(h) for h in histories.values())
    if last < 3:  # a locator alone spreads one or two epochs over fractional ticks
        ax.set_xlim(0.5, last + 0.5)
        ax.set_xticks(range(1, last + 1))
    ax.grid(alpha=0.3)
    return handles


def plot_history(
    histories: Mapping[str, pd.DataFrame] | pd.DataFrame,
    metrics: Sequence[str] = ("loss", "accuracy", "learning_rate"),
    log_scale: Sequence[str] = ("learning_rate",),
    width: float | None = None,
    by_model: bool = False,
) -> Figure:
    """Training curves: one panel per metric, train (solid) against validation
    (dashed, column ``val_<metric>``), one colour and marker per model, one legend under the panels.

    Args:
        histories: ``{model name: history DataFrame}`` (history.csv columns: epoch, loss,
            accuracy, val_loss, val_accuracy, learning_rate), or one DataFrame.
        metrics: the panels. A metric no history has is left out (an error if none is left).
        log_scale: the panels drawn on a log scale (when their values are positive), e.g.
            ``("loss", "learning_rate")`` so that a large first-epoch loss does not flatten
            the other epochs.
        width: figure width in inches (default 4.2 per panel); text is 8 pt or more.
        by_model: one row of panels per model, so that models whose curves nearly coincide do
            not hide each other (each row titled by its model).
    """
    if isinstance(histories, pd.DataFrame):
        histories = {"model": histories}
    if not histories:
        raise ValueError(f"`histories` must hold at least one history. Received: histories={histories!r}")
    if isinstance(metrics, str):
        metrics = (metrics,)
    present = [
        m for m in metrics if any(m in h.columns or f"val_{m}" in h.columns for h in histories.values())
    ]
    if not present:
        columns = sorted({c for h in histories.values() for c in h.columns})
        raise ValueError(
            f"None of the metrics is in the histories (columns: {columns}). Received: metrics={metrics!r}"
        )
    width = width or 4.2 * len(present)
    panel_height = min(3.4, 0.75 * width / len(present) + 0.9) - 0.9
    rows = [{name: history} for name, history in histories.items()] if by_model else [dict(histories)]
    fig, axes = plt.subplots(len(rows), len(present), squeeze=False,
                             figsize=(width, (panel_height * (0.5 if by_model else 1) + 0.55) * len(rows) + 0.35))
    handles = {}
    for row, (shown, panels) in enumerate(zip(rows, axes, strict=True)):
        indices = [row] if by_model else list(range(len(shown)))
        for ax, metric in zip(panels, present, strict=True):
            title = metric.replace("_", " ")
            handles.update(_history_panel(ax, metric, shown, indices, log_scale,
                                          f"{next(iter(shown))}: {title}" if by_model else title))
    split_handles = [plt.Line2D([], [], color="black", linestyle=style, marker="o", markersize=4,
                                markerfacecolor="white" if split == "val" else "black")
                     for split, style in _SPLIT_STYLES.items()]
    labels = ["training", "validation"] if by_model else [*handles, "training", "validation"]
    fig.legend(split_handles if by_model else [*handles.values(), *split_handles], labels, loc="lower center",
               ncol=min(4, len(labels)), fontsize=8, frameon=False)
    legend_rows = math.ceil(len(labels) / 4)
    fig.tight_layout(rect=(0, min(0.45, (0.18 * legend_rows + 0.02) / fig.get_figheight()), 1, 1))
    return fig


def plot_confusion_matrix(
    cm_frame: pd.DataFrame, normalize: bool = False, title: str | None = None, side: float | None = None
) -> Figure:
    """The confusion matrix (rows = true class, columns = predicted class), each cell
    annotated up to 20 classes.

    ``normalize=True`` divides each row by its total, so the diagonal is each class's
    recall. ``side``: the figure's width and height in inches (default grows with the
    classes); text is 8 pt or more at that size. Colours: viridis (perceptually uniform).
    """
    if not isinstance(cm_frame, pd.DataFrame) or cm_frame.shape[0] != cm_frame.shape[1]:
        raise ValueError(
            "`cm_frame` must be a square DataFrame (confusion_matrix_frame()). "
            f"Received: {type(cm_frame).__name__} with shape {getattr(cm_frame, 'shape', None)}"
        )
    counts = cm_frame.to_numpy(dtype=float)
    values = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = len(cm_frame)
    side = side or min(12.0, 1.6 + 0.45 * size)
    fig, ax = plt.subplots(figsize=(side, side))
    crowded = size > 5 and max(len(str(c)) for c in cm_frame.columns) > 2
    display = ConfusionMatrixDisplay(values if normalize else counts.astype(np.int64),
                                     display_labels=[str(c) for c in cm_frame.columns])
    display.plot(ax=ax, cmap="viridis", colorbar=False, include_values=size <= 20,
                 values_format=".2f" if normalize else "d", xticks_rotation=45 if crowded else "horizontal",
                 im_kw={"vmin": 0, "vmax": 1 if normalize else max(values.max(), 1)}, text_kw={"fontsize": 8})
    if crowded:
        plt.setp(ax.get_xticklabels(), ha="right")
    ax.tick_params(labelsize=8)
    ax.set_xlabel("predicted class", fontsize=9)
    ax.set_ylabel("true class", fontsize=9)
    ax.set_title(title or ("confusion matrix (rows normalised)" if normalize else "confusion matrix"), fontsize=9)
    fig.tight_layout()
    return fig


def plot_robustness(frames: Mapping[str, pd.DataFrame], columns: int = 4, width: float = 6.4) -> Figure:
    """Accuracy against corruption severity: one panel per corruption, one line per model
    with its 95% interval as error bars; severity 0 is the clean accuracy.

    Args:
        frames: ``{model name: table}``, each table from
            :func:`labwork6.robustness.robustness_table`; the legend gives each model's
            mean accuracy over the corrupted images.
        columns: panels per row; a spare panel holds the legend.
        width: figure width in inches (default: an A4 text width); text is 8 pt or more.
    """
    from labwork6.robustness import check_table, mean_corruption_accuracy

    if not isinstance(frames, Mapping) or not frames:
        raise ValueError(
            f"`frames` must be a non-empty dict {{model name: robustness table}}. Received: {frames!r:.200}"
        )
    for name, frame in frames.items():
        try:
            check_table(frame)
        except ValueError as error:
            raise ValueError(f"The table of {name!r}: {error}") from None
    corruptions = list(
        dict.fromkeys(c for frame in frames.values() for c in frame["corruption"] if c != "none")
    )
    if not corruptions:
        raise ValueError(f"The tables hold no corrupted rows. Received: models {list(frames)}")
    columns = max(1, min(columns, len(corruptions) + 1))
    rows = math.ceil((len(corruptions) + 1) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width, 1.55 * rows * width / 6.4 + 0.2), sharex=True, sharey=True,
                             squeeze=False)
    axes = list(axes.ravel())
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lowest = min(float(frame["accuracy_low"].min()) for frame in frames.values())
    handles = {}
    for ax, corruption in zip(axes, corruptions, strict=False):
        for index, (name, frame) in enumerate(frames.items()):
            shown = frame[frame["corruption"].isin(("none", corruption))].sort_values("severity")
            if shown.empty:
                continue
            # A small sideways offset per model keeps overlapping error bars apart.
            offset = (index - (len(frames) - 1) / 2) * 0.1
            accuracy = 100 * shown["accuracy"].to_numpy(float)
            below = accuracy - 100 * shown["accuracy_low"].to_numpy(float)
            above = 100 * shown["accuracy_high"].to_numpy(float) - accuracy
            has_corrupted = (frame["severity"] >= 1).any()
            label = f"{name} (mean {100 * mean_corruption_accuracy(frame):.1f}%)" if has_corrupted else name
            # a marker and a line style per model: the lines stay apart in grey print
            container = ax.errorbar(shown["severity"].to_numpy(float) + offset, accuracy, yerr=(below, above),
                                    color=colors[index % len(colors)], marker=MODEL_MARKERS[index % len(MODEL_MARKERS)],
                                    linestyle=MODEL_LINESTYLES[index % len(MODEL_LINESTYLES)], markersize=3.5,
                                    linewidth=1, elinewidth=0.8, capsize=1.5, label=label)
            handles.setdefault(name, container)
        ax.set_title(corruption.replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    spare = axes[len(corruptions):]
    for ax in spare:
        ax.axis("off")
    legend_kwargs = dict(handles=list(handles.values()), fontsize=8, frameon=False)
    if spare:
        spare[0].legend(loc="center", **legend_kwargs)
    else:
        fig.legend(loc="lower center", ncol=min(3, len(handles)), bbox_to_anchor=(0.5, 1.0), **legend_kwargs)
    axes[0].set_ylim(max(0.0, 100 * lowest - 3), 101)
    axes[0].set_xticks(sorted({int(s) for frame in frames.values() for s in frame["severity"]}))
    for index, ax in enumerate(axes[: len(corruptions)]):
        if index % columns == 0:
            ax.set_ylabel("accuracy (%)", fontsize=8)
        if index + columns >= len(corruptions):
            ax.set_xlabel("severity", fontsize=8)
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.tight_layout()
    return fig
