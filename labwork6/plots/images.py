"""Pictures of images and of what a network computes on them, and :func:`save_figure`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def _display_image(image) -> tuple[np.ndarray, str | None]:
    """An image ready for ``imshow`` and its colour map (gray for one channel)."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] not in (3, 4):
        array = array[..., 0]  # several channels that are not colours: show the first
    if array.ndim not in (2, 3):
        raise ValueError(
            "An image must have shape (H, W), (H, W, 1) or (H, W, 3). "
            f"Received: shape {np.asarray(image).shape}"
        )
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    return array, ("gray" if array.ndim == 2 else None)


def _show(ax, image, title: str | None = None, **kwargs) -> None:
    array, cmap = _display_image(image)
    if cmap == "gray" and array.dtype == np.uint8:
        kwargs = {"vmin": 0, "vmax": 255} | kwargs
    ax.imshow(array, cmap=cmap, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def _grid(count: int, columns: int, cell: float = 1.3, title_lines: int = 0) -> tuple[Figure, list]:
    """A figure with ``count`` axes on a grid of ``columns`` columns (no empty axes);
    ``title_lines`` leaves room for that many lines of title above each cell."""
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    height = cell + 0.17 * title_lines
    fig, axes = plt.subplots(rows, columns, figsize=(cell * columns, height * rows + 0.4), squeeze=False)
    axes = list(axes.ravel())
    for ax in axes[count:]:
        fig.delaxes(ax)
    return fig, axes[:count]


def _check_length(name: str, values, expected: int) -> None:
    if len(values) != expected:
        raise ValueError(
            f"`{name}` must have one entry per image ({expected}). Received: len({name})={len(values)}"
        )


def plot_samples(
    images, labels, class_names, per_class: int = 8, seed: int = 0, max_classes: int | None = None
) -> Figure:
    """A grid of random examples: one row per class, ``per_class`` images each.

    Args:
        images: ``(N, H, W, C)`` uint8 or float.
        labels: ``(N,)`` integer labels.
        class_names: one name per label.
        per_class: images per row (a class with fewer images leaves its row short).
        seed: which random images are drawn.
        max_classes: show only the first classes (e.g. 10 of CIFAR-100's 100).
    """
    images, labels = np.asarray(images), np.asarray(labels)
    _check_length("labels", labels, len(images))
    if per_class < 1:
        raise ValueError(f"`per_class` must be >= 1. Received: per_class={per_class!r}")
    classes = list(range(len(class_names)))[:max_classes]
    rng = np.random.default_rng(seed)
    chosen = []
    for label in classes:
        indices = np.flatnonzero(labels == label)
        picked = rng.choice(indices, size=min(per_class, len(indices)), replace=False) if len(indices) else []
        chosen.append(sorted(int(i) for i in picked))
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(1.1 * per_class + 1.0, 1.1 * len(classes) + 0.3), squeeze=False
    )
    for row, (label, indices) in enumerate(zip(classes, chosen, strict=True)):
        for column in range(per_class):
            ax = axes[row, column]
            if column < len(indices):
                _show(ax, images[indices[column]])
            else:
                fig.delaxes(ax)
                continue
            if column == 0:
                ax.set_ylabel(str(class_names[label]), rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(f"{per_class} random images per class", fontsize=10)
    fig.tight_layout()
    return fig


def plot_filters(kernel, max_filters: int = 64, title: str | None = None, width: float = 3.1) -> Figure:
    """The filters of a convolution, one small image each.

    Args:
        kernel: ``(F, F, D, K)`` (e.g. :func:`labwork6.features.first_layer_filters`).
            With 3 input channels each filter is shown in colour, otherwise as gray
            (the mean over its D input channels when D > 1); each filter is stretched
            to its own range.
        max_filters: show the first K filters up to this many.
        width: figure width in inches (half an A4 text width); the title is 8 pt.
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"`kernel` must have shape (F, F, D, K). Received: shape {kernel.shape}")
    size, _, depth, count = kernel.shape
    shown = min(count, max_filters)
    columns = math.ceil(math.sqrt(shown))
    fig, axes = _grid(shown, columns=columns, cell=width / columns)
    for index, ax in enumerate(axes):
        weights = kernel[..., index]
        image = weights if depth == 3 else weights.mean(axis=-1)
        _show(ax, image)
    fig.suptitle(title or f"{shown} of {count} filters, {size}x{size}x{depth}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_filter_change(initial, trained, max_filters: int = 16, labels=("initial", "trained"),
                       title: str | None = None, width: float = 6.4) -> Figure:
    """The same first-layer filters before and after training: the initial kernels (top row)
    above the trained ones (bottom row), filter by filter, on one colour scale (viridis, symmetric
    about 0, with a colour bar), so that what training changed shows in shape and in size.

    Args:
        initial, trained: ``(F, F, D, K)`` kernels of the same layer (e.g.
            :func:`labwork6.features.first_layer_filters` of the network as built and as trained);
            with D > 1 each filter is shown as the mean over its input channels.
        max_filters: the first K filters up to this many.
        labels: the two rows' labels, in words.
        width: figure width in inches (an A4 text width); text is 8 pt.
    """
    initial, trained = np.asarray(initial, dtype=np.float32), np.asarray(trained, dtype=np.float32)
    if initial.ndim != 4 or initial.shape != trained.shape:
        raise ValueError("`initial` and `trained` must be kernels of one shape (F, F, D, K). "
                         f"Received: shapes {initial.shape} and {trained.shape}")
    if len(labels) != 2:
        raise ValueError(f"`labels` must name the two rows. Received: labels={labels!r}")
    shown = min(initial.shape[-1], max_filters)
    rows = [kernel.mean(axis=2)[..., :shown] for kernel in (initial, trained)]
    limit = max(float(np.abs(row).max()) for row in rows) or 1.0
    label_width, bar_width = 0.75, 0.55
    cell = (width - label_width - bar_width) / shown
    height = 2 * cell * 1.08 + (0.3 if title else 0.1)
    fig, axes = plt.subplots(2, shown, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=label_width / width, right=1 - bar_width / width, bottom=0.05 / height,
                        top=1 - (0.3 if title else 0.05) / height, wspace=0.08, hspace=0.08)
    image = None
    for row, (kernel, label) in enumerate(zip(rows, labels, strict=True)):
        for column in range(shown):
            ax = axes[row, column]
            image = ax.imshow(kernel[..., column], cmap="viridis", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    colorbar = fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.6 / width, pad=0.1 / width)
    colorbar.ax.tick_params(labelsize=8)
    colorbar.set_label("weight", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=8, x=label_width / width, ha="left")
    return fig


def plot_feature_maps(maps: Mapping[str, np.ndarray], image=None, max_channels: int = 16,
                      width: float = 6.4) -> Figure:
    """Feature maps of several layers for one image: one row per layer.

    Args:
        maps: ``{layer name: array (h, w, channels)}`` or ``(N, h, w, channels)`` (then
            the first image), e.g. from :func:`labwork6.features.feature_maps`.
        image: the input image, drawn first when given.
        max_channels: per layer, the channels with the largest mean activation, strongest
            first (most channels of a ReLU layer are near zero for any one image), each titled
            by its channel number ("ch 12").
        width: figure width in inches (an A4 text width); text is 8 pt, with room above
            for a ``suptitle``.
    """
    if not maps:
        raise ValueError(f"`maps` must hold at least one layer. Received: maps={maps!r}")
    layers = {}
    for name, value in maps.items():
        array = np.asarray(value, dtype=np.float32)
        if array.ndim == 4:
            array = array[0]
        if array.ndim != 3:
            raise ValueError(
                f"Feature maps must be (h, w, channels). Received: {name!r} with shape {np.shape(value)}"
            )
        layers[name] = array
    columns = min(max_channels, max(a.shape[-1] for a in layers.values()))
    rows = len(layers) + (image is not None)
    cell = (width - 1.2) / columns
    fig, axes = plt.subplots(rows, columns, figsize=(width, (cell + 0.22) * rows + 0.35), squeeze=False)
    row = 0
    if image is not None:
        _show(axes[0, 0], image, title="input")
        for ax in axes[0, 1:]:
            fig.delaxes(ax)
        row = 1
    for name, array in layers.items():
        strongest = np.argsort(-array.mean(axis=(0, 1)), kind="stable")[:columns]
        # One colour scale per layer, so that the channels of a layer compare (and a
        # 1x1 map still shows its value).
        low, high = float(array[..., strongest].min()), float(array[..., strongest].max())
        for column in range(columns):
            ax = axes[row, column]
            if column >= len(strongest):
                fig.delaxes(ax)
                continue
            ax.imshow(
                array[..., strongest[column]],
                cmap="viridis",
                vmin=low,
                vmax=max(high, low + 1e-6),
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"ch {strongest[column]}", fontsize=8, pad=2)
        height, width, channels = array.shape
        axes[row, 0].set_ylabel(
            f"{name}\n{height}×{width}×{channels}", rotation=0, ha="right", va="center", fontsize=8
        )
        row += 1
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    return fig


def plot_gradcam(
    images, heatmaps, titles: Sequence[str] | None = None, alpha: float = 0.45, columns: int = 8,
    width: float = 6.4,
) -> Figure:
    """Grad-CAM heatmaps over their images: each image on top, the heatmap (magma, a
    perceptually uniform colour map: bright = most evidence) over it underneath.

    Args:
        images: ``(N, H, W, C)``, the images the heatmaps were computed for.
        heatmaps: ``(N, H, W)`` in [0, 1] (:func:`labwork6.features.grad_cam`).
        titles: one per image, e.g. ``"true: 3 / pred: 8"``.
        columns: images per row.
        width: figure width in inches (an A4 text width); titles are 8 pt, with room
            above for a ``suptitle``.
    """
    images, heatmaps = np.asarray(images), np.asarray(heatmaps)
    _check_length("heatmaps", heatmaps, len(images))
    if titles is not None:
        _check_length("titles", titles, len(images))
    if len(images) == 0:
        raise ValueError("`images` is empty. Received: 0 images")
    if heatmaps.shape[1:3] != images.shape[1:3]:
        raise ValueError(
            f"`heatmaps` must have the images' height and width {images.shape[1:3]}. "
            f"Received: heatmaps with shape {heatmaps.shape}"
        )
    columns = max(1, min(columns, len(images)))
    blocks = math.ceil(len(images) / columns)
    cell = width / columns
    lines = max((str(title).count("\n") + 1 for title in titles), default=0) if titles is not None else 0
    fig, axes = plt.subplots(2 * blocks, columns, figsize=(width, (2 * cell + 0.16 * lines + 0.15) * blocks + 0.35),
                             squeeze=False)
    for index in range(blocks * columns):
        top, bottom = (
            axes[2 * (index // columns), index % columns],
            axes[2 * (index // columns) + 1, index % columns],
        )
        if index >= len(images):
            fig.delaxes(top)
            fig.delaxes(bottom)
            continue
        _show(top, images[index], title=titles[index] if titles is not None else None)
        _show(bottom, images[index])
        bottom.imshow(heatmaps[index], cmap="magma", alpha=alpha, vmin=0, vmax=1, interpolation="bilinear")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    return fig


def plot_misclassified(images, y_true, y_pred, class_names, max_images: int = 16, columns: int = 8) -> Figure:
    """The first ``max_images`` misclassified images, titled with the true and the
    predicted class (a figure with a note if every image is right)."""
    images, y_true, y_pred = np.asarray(images), np.asarray(y_true), np.asarray(y_pred)
    _check_length("y_true", y_true, len(images))
    _check_length("y_pred", y_pred, len(images))
    wrong = np.flatnonzero(y_true != y_pred)
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no misclassified images (of {len(images)})", ha="center", va="center")
        return fig
    shown = wrong[:max_images]
    fig, axes = _grid(len(shown), columns=columns, cell=1.5, title_lines=2)
    for ax, index in zip(axes, shown, strict=True):
        _show(
            ax, images[index], title=f"true: {class_names[y_true[index]]}\npred: {class_names[y_pred[index]]}"
        )
    fig.suptitle(f"{len(shown)} of {len(wrong)} misclassified images (of {len(images)})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_model_errors(images, y_true, predictions: Mapping[str, Sequence[int]], class_names,
                      shared_by: Sequence[str] | None = None, indices=None, max_images: int = 24,
                      columns: int = 8, width: float = 6.4) -> Figure:
    """The test images that at least one model of ``shared_by`` gets wrong: above each its
    number and true class, below it every model's prediction (red and bold when wrong); a thick
    red frame marks the errors every model of ``shared_by`` shares. Shared errors first, then by
    number.

    Args:
        predictions: ``{short model name: predicted labels}`` on ``images``.
        shared_by: the models whose errors are shown and compared (default: all).
        indices: the number printed for each image (default its position).
        width: figure width in inches; text is 8 pt.
    """
    images, y_true = np.asarray(images), np.asarray(y_true)
    _check_length("y_true", y_true, len(images))
    for name, predicted in predictions.items():
        _check_length(f"predictions[{name!r}]", predicted, len(images))
    shared_by = list(shared_by or predictions)
    if not predictions or set(shared_by) - set(predictions):
        raise ValueError(f"`shared_by` must name models of `predictions` ({list(predictions)}). "
                         f"Received: shared_by={shared_by!r}")
    indices = np.arange(len(images)) if indices is None else np.asarray(indices)
    wrong = {name: np.asarray(predicted) != y_true for name, predicted in predictions.items()}
    every = np.logical_and.reduce([wrong[name] for name in shared_by])
    any_wrong = np.flatnonzero(np.logical_or.reduce([wrong[name] for name in shared_by]))
    if len(any_wrong) == 0:
        fig, ax = plt.subplots(figsize=(width, 0.6))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no test image is misclassified (of {len(images)})", ha="center", va="center", fontsize=9)
        return fig
    shown = sorted(any_wrong, key=lambda index: (not every[index], index))[:max_images]
    longest = max(len(f"{name}: {label}") for name in predictions for label in class_names)
    columns = max(1, min(columns, len(shown), int(width // (0.065 * longest + 0.12))))
    cell, line = width / columns * 0.8, 0.14
    rows = math.ceil(len(shown) / columns)
    below = line * len(predictions) + 0.05
    height = rows * (cell + 0.2 + below) + 0.1
    fig, axes = plt.subplots(rows, columns, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.25 / height, bottom=below / height,
                        hspace=(0.2 + below) / cell, wspace=0.25)
    for ax, index in zip(axes.ravel(), [*shown, *[None] * (rows * columns - len(shown))], strict=True):
        if index is None:
            ax.axis("off")
            continue
        _show(ax, images[index], title=f"#{indices[index]}: {class_names[y_true[index]]}")
        for spine in ax.spines.values():
            spine.set(color="red" if every[index] else "0.6", linewidth=2.5 if every[index] else 0.8)
        for number, (name, predicted) in enumerate(predictions.items()):
            # wrong answers in red and bold, so that they still stand out in grey print
            ax.text(0.5, -0.04 - number * line / cell, f"{name}: {class_names[predicted[index]]}", fontsize=8,
                    ha="center", va="top", transform=ax.transAxes, color="red" if wrong[name][index] else "black",
                    fontweight="bold" if wrong[name][index] else "normal")
    return fig


def plot_contrast_diagnosis(images, mean, std, severity: int = 1, count: int = 6, seed: int = 0,
                            width: float = 6.4) -> Figure:
    """What a model's normalisation makes of clean images (top row) and of the same images under
    the ``contrast`` corruption at ``severity`` (bottom row), on one colour scale in units of the
    training std (:func:`labwork6.robustness.normalized`), with the mean normalised background
    (the pixels black in the clean image) in each row's title: the grey background of a
    low-contrast digit is a value no training image had there (:func:`labwork6.robustness.contrast_diagnosis`).

    Args:
        images: raw uint8 images (N, H, W, C); the first ``count`` are drawn.
        mean, std: the training split's per-channel statistics (a run's ``RunConfig.normalization``).
    """
    from labwork6.robustness import SEVERITY_PARAMETERS, corrupt, normalized

    images = np.asarray(images)[:count]
    if len(images) == 0:
        raise ValueError("`images` must hold at least one image. Received: 0 images")
    factor = SEVERITY_PARAMETERS["contrast"][severity - 1]
    rows = {"clean": images, f"contrast, severity {severity} (factor {factor:g})":
            corrupt(images, "contrast", severity, seed=seed)}
    values = {title: normalized(batch, mean, std).mean(axis=-1) for title, batch in rows.items()}
    low = min(float(v.min()) for v in values.values())
    high = max(float(v.max()) for v in values.values())
    background = (images.astype(np.int64) == 0).all(axis=-1)
    fig, axes = plt.subplots(2, len(images), figsize=(width, width / len(images) * 2 + 0.6), squeeze=False)
    for row, (title, value) in enumerate(values.items()):
        shown = None
        for column in range(len(images)):
            ax = axes[row, column]
            shown = ax.imshow(value[column], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        level = f"{value[background].mean():.2f}" if background.any() else "n/a"
        axes[row, 0].set_title(f"{title}: background at {level}", fontsize=8, loc="left")
    colorbar = fig.colorbar(shown, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02)
    colorbar.set_label("normalised value (training std)", fontsize=8)
    colorbar.ax.tick_params(labelsize=8)
    return fig


def save_figure(fig: Figure, path, pdf: bool = False, dpi: int = 150) -> list[Path]:
    """Write ``fig`` as PNG (``dpi`` 150) and, if ``pdf``, also as PDF next to it.

    Parent folders are created. ``path`` should end in ``.png`` (added when it has no
    suffix). Returns the written paths.
    """
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".png")
    if path.suffix.lower() != ".png":
        raise ValueError(
            f"`path` must end in .png (use pdf=True for a PDF as well). Received: path={str(path)!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    written = [path]
    if pdf:
        fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight")
        written.append(path.with_suffix(".pdf"))
    return written
