"""Write a Dataset as PNG folders with a manifest, and check a dataset for images shared between splits."""

from __future__ import annotations

import collections
import csv
import glob
import hashlib
import os
import secrets
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from labwork6.data.core import SPLITS, Dataset

MANIFEST_NAME = "manifest.csv"
CLASSES_NAME = "classes.txt"
MANIFEST_COLUMNS = ("split", "class", "file", "sha256")


def _check_folder_name(name: str) -> None:
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in '/\\:*?"<>|\0'):
        raise ValueError(
            "Class names must be usable as folder names (not empty, not starting with '.', none of "
            f'/ \\ : * ? " < > |). Received: class name {name!r}.'
        )


def export_dataset(dataset: Dataset, out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``dataset`` as ``OUT/{train,val,test}/CLASS/NNNNN.png`` plus a manifest; return its path.

    The manifest ``OUT/manifest.csv`` has the columns split, class, file (path relative to
    OUT) and sha256 (of the file); ``OUT/classes.txt`` lists the class names in label order.
    PNG is lossless, so ``load_dataset(OUT)`` gives back the same images, labels and splits
    (file ``NNNNN`` is the image's index in its split). Every class gets a folder in every
    split, even an empty one. ``overwrite=True`` replaces a previous export in OUT: a folder
    with a ``manifest.csv`` that lists every file of its splits (anything else, e.g. a user's
    own ``train/val/test`` tree, is refused). The export is written next to OUT under a
    temporary name and renamed into place, so a kill leaves the old export or the new one.
    """
    out = Path(out_dir)
    for name in dataset.class_names:
        _check_folder_name(name)
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"out_dir must be a folder. Received a file: out_dir='{out}'.")
        if any(out.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"'{out}' already exists and is not empty. Pass overwrite=True to replace a previous "
                    "export, or choose a new folder."
                )
            _check_previous_export(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{glob.escape(out.name)}.partial-*"):  # left by a killed export
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    staging = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        manifest = _write_export(dataset, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists() and any(out.iterdir()):
        old = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old)
    else:
        os.replace(staging, out)  # over an empty folder too
    return out / manifest.name


def _check_previous_export(out: Path) -> None:
    """Raise ``ValueError`` unless ``out`` holds an export of this function and nothing else."""
    manifest = out / MANIFEST_NAME
    try:
        listed = set(pd.read_csv(manifest, dtype=str)["file"])
    except (OSError, ValueError, KeyError):
        raise ValueError(
            f"Refusing to overwrite '{out}': it has no readable {MANIFEST_NAME}, so it is not an earlier export "
            "(a train/val/test tree of your own would be deleted). Choose an empty or new folder."
        ) from None
    known = {*SPLITS, MANIFEST_NAME, CLASSES_NAME}
    unexpected = sorted(entry.name for entry in out.iterdir() if entry.name not in known)
    unexpected += sorted(str(path.relative_to(out).as_posix()) for split in SPLITS if (out / split).is_dir()
                         for path in (out / split).rglob("*")
                         if path.is_file() and path.relative_to(out).as_posix() not in listed)
    if unexpected:
        shown = ", ".join(unexpected[:5]) + (", ..." if len(unexpected) > 5 else "")
        raise ValueError(
            f"Refusing to overwrite '{out}': besides a previous export it holds files its {MANIFEST_NAME} does not "
            f"list ({shown}). Move them away, or choose an empty or new folder."
        )


def _write_export(dataset: Dataset, out: Path) -> Path:
    """Write the export into the new folder ``out``; the manifest last, flushed to disk."""
    out.mkdir()
    rows = []
    for split, part in dataset.splits.items():
        for name in dataset.class_names:
            (out / split / name).mkdir(parents=True, exist_ok=True)
        digits = max(5, len(str(len(part))))
        for index, (image, label) in enumerate(zip(part.images, part.labels, strict=True)):
            relative = f"{split}/{dataset.class_names[label]}/{index:0{digits}d}.png"
            pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
            pil.save(out / relative, format="PNG")
            rows.append((split, dataset.class_names[label], relative, _sha256_file(out / relative)))
    (out / CLASSES_NAME).write_text("\n".join(dataset.class_names) + "\n", encoding="utf8")
    manifest = out / MANIFEST_NAME
    with open(manifest, "w", newline="", encoding="utf8") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    return manifest


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def image_hash(image: np.ndarray) -> str:
    """sha256 of an image's pixels and shape: equal for identical images, whatever their file."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    return hashlib.sha256(repr(image.shape).encode() + image.tobytes()).hexdigest()


def leakage_report(dataset: Dataset) -> pd.DataFrame:
    """Identical images (same pixel hash) that occur in more than one split.

    One row per group of identical images with the columns sha256, splits (e.g.
    ``"train, test"``), count, classes (their labels; more than one means a label conflict)
    and members (``split[index]``, with the file where known). Empty when there is no leak.
    """
    groups: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for split, part in dataset.splits.items():
        for index, image in enumerate(part.images):
            groups[image_hash(image)].append((split, index))
    rows = []
    for digest, members in groups.items():
        splits = [s for s in SPLITS if any(m[0] == s for m in members)]
        if len(splits) < 2:
            continue
        parts = dataset.splits
        classes = sorted({dataset.class_names[parts[s].labels[i]] for s, i in members})
        described = [
            f"{s}[{i}]" + (f" ({parts[s].files[i]})" if parts[s].files is not None else "")
            for s, i in members
        ]
        rows.append(
            {
                "sha256": digest,
                "splits": ", ".join(splits),
                "count": len(members),
                "classes": ", ".join(classes),
                "members": "; ".join(described),
            }
        )
    columns = ["sha256", "splits", "count", "classes", "members"]
    return pd.DataFrame(rows, columns=columns).sort_values(["splits", "count"], ignore_index=True)
