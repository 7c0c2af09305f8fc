"""Image folders: find the layout, decode every image, report what was skipped, bring all to one size."""

from __future__ import annotations

import collections
import os
import warnings
from pathlib import Path

import numpy as np

from labwork6.data.core import DATASET_NAMES, SPLITS, Dataset, Split
from labwork6.data.export import CLASSES_NAME, MANIFEST_NAME
from labwork6.data.folds import fold_assignment, fold_note, fold_split, stratified_subset
from labwork6.data.images import IMAGE_EXTENSIONS, check_image_size, read_image, resize_image
from labwork6.data.splits import carve, split_note

FOLDER_LAYOUTS = "ROOT/{train,val,test}/CLASS/*.png or ROOT/CLASS/*.png"
_MAX_LISTED = 20


def read_folder(root: str | os.PathLike, *, image_size=None) -> tuple[Split, list[str], list[tuple[str, str]]]:
    """Every image of a folder with its label, for evaluating a model on images of some of its classes.

    ``root`` is laid out as ``ROOT/CLASS/*`` or ``ROOT/{train,val,test}/CLASS/*`` (all split
    folders read, in that order; a class may be missing from some). A single class folder is
    enough. Images are decoded and brought to one mode and size as :func:`load_dataset` does.

    Returns:
        ``(split, class_names, skipped)``: a :class:`Split` with ``files``, the class names in
        label order (the folder names, or ``classes.txt``) and ``(file, reason)`` per file not read.
    """
    root = Path(root).expanduser()
    parts, class_names, skipped, _ = _read_tree(root, check_image_size(image_size), training=False, stacklevel=3)
    files = [file for part in parts.values() for file in part.files]
    images = np.concatenate([part.images for part in parts.values()])
    return Split(images, np.concatenate([part.labels for part in parts.values()]), files), class_names, skipped


def load_folder(root: Path, size, *, val_fraction: float, test_fraction: float, seed: int, folds: int | None = None,
                fold: int = 0, max_images: int | None = None) -> Dataset:
    """A Dataset from an image folder; split here (``ROOT/CLASS/*``) or as the split folders say.

    With ``folds``, a folder without ``test/`` is cross-validated (:mod:`labwork6.data.folds`):
    the images of ``ROOT/CLASS/*`` (or of ``train/``) are folded, and ``val/`` is kept as the
    validation split when there is one. A folder with ``test/`` keeps it (holdout; ``folds`` not
    used). ``max_images`` draws at most that many of the images split here, stratified."""
    parts, class_names, skipped, notes = _read_tree(root, size, training=True, stacklevel=4)
    pool = "all" if "all" in parts else "train"
    if max_images and "test" not in parts:
        parts[pool] = stratified_subset(parts[pool], max_images, seed)
        notes.append(f"at most {max_images} images of {pool if pool == 'train' else 'the folder'} drawn "
                     f"stratified by class (seed {seed}) before splitting")
    cross_validated = bool(folds) and "test" not in parts
    if folds and not cross_validated:
        notes.append(f"folds={folds} not used: the folder has its own test/ split (holdout evaluation)")
    if cross_validated and "val" in parts:
        # val/ is the validation split: the folds of train/ give the test split and the training split
        tested = fold_assignment(parts["train"].labels, folds, seed, class_names) == fold
        parts["train"], parts["test"] = parts["train"].take(np.flatnonzero(~tested)), parts["train"].take(
            np.flatnonzero(tested))
        notes.append(f"{folds}-fold stratified cross-validation of train/ (seed {seed}): test = fold {fold}, "
                     "train = the other folds; val/ kept as the validation split")
    elif cross_validated:
        parts.update(fold_split(parts.pop(pool), folds, fold, seed, class_names, val_fraction=val_fraction))
        notes.append(fold_note(folds, fold, seed, val_fraction))
    elif pool == "all":
        parts = carve(parts["all"], {"val": val_fraction, "test": test_fraction}, seed, class_names, f"'{root}'")
        notes.append(split_note({"val": val_fraction, "test": test_fraction}, seed))
    else:
        missing = {s: f for s, f in (("val", val_fraction), ("test", test_fraction)) if s not in parts}
        notes.append(f"splits from the folders {sorted(parts)}")
        if missing:
            parts.update(carve(parts["train"], missing, seed, class_names, f"'{root / 'train'}'"))
            notes.append(f"carved from train/: {split_note(missing, seed)}")
    for split, part in parts.items():
        if not len(part):
            raise ValueError(f"The {split} split of '{root}' has no readable images; add images to {split}/.")
    return Dataset(
        root.resolve().name,
        parts["train"],
        parts["val"],
        parts["test"],
        class_names,
        skipped=skipped,
        source=str(root),
        seed=seed,
        notes=notes,
        folds=int(folds) if cross_validated else None,
        fold=int(fold) if cross_validated else None,
    )


def _read_tree(root: Path, size, *, training: bool, stacklevel: int):
    """Decode a folder into ``{split or "all": Split}``, class names, skipped files and notes.

    ``training`` asks for what training needs: at least 2 classes, the same class folders in
    every split and images of every class in train (or in the whole folder). ``stacklevel``
    makes the warnings point at the caller of the public function.
    """
    skipped: list[tuple[str, str]] = []
    split_dirs, root_dirs = _detect_layout(root, skipped)
    class_dirs = {
        split: {d.name: d for d in (root_dirs if split == "all" else _list_class_dirs(path, root, skipped))}
        for split, path in split_dirs.items()
    }
    all_names = set().union(*class_dirs.values())
    missing = {split: sorted(all_names - set(dirs)) for split, dirs in class_dirs.items()}
    if training and any(missing.values()):
        lacking = "; ".join(f"{split}/ lacks {names}" for split, names in missing.items() if names)
        raise ValueError(
            f"The class folders differ between the splits of '{root}': {lacking}. Every split folder needs "
            f"the same class folders (found {sorted(all_names)} in all)."
        )
    class_names = _class_order(root, all_names)
    if training and len(class_names) < 2:
        raise ValueError(
            f"Found a single class {class_names} in '{root}': classification needs at least 2 class folders "
            f"({FOLDER_LAYOUTS})."
        )

    decoded = {}
    empty = []
    for split, dirs in class_dirs.items():
        images, labels, files = [], [], []
        for label, name in enumerate(class_names):
            if name not in dirs:
                continue
            found, found_files, local_skips = _read_class_folder(dirs[name], root, skipped)
            if not found:
                empty.append((split, _relative(dirs[name], root), local_skips))
            images += found
            labels += [label] * len(found)
            files += found_files
        decoded[split] = (images, labels, files)
    _report_skipped(skipped, root, stacklevel + 1)
    hard = [(folder, skips) for split, folder, skips in empty if training and split in ("all", "train")]
    if hard:
        details = "; ".join(
            f"'{folder}'" + (f" (skipped: {', '.join(f for f, _ in skips[:5])})" if skips else " (empty)")
            for folder, skips in hard
        )
        raise ValueError(
            f"Class folder(s) with no readable images in '{root}': {details}. Each class needs training "
            f"images ({', '.join(IMAGE_EXTENSIONS)}); add images or remove the folder."
        )
    if not any(images for images, _, _ in decoded.values()):
        raise ValueError(
            f"No readable images in '{root}' (class folders: {class_names}). Expected {FOLDER_LAYOUTS} "
            f"with images ({', '.join(IMAGE_EXTENSIONS)})."
        )
    for split, folder, _ in empty:
        where = f"'{root}'" if split == "all" else split
        warnings.warn(f"Class folder '{folder}' has no images: that class is absent from {where}.",
                      stacklevel=stacklevel)

    notes = []
    target = _harmonize(decoded, size, notes, root, stacklevel + 1)
    parts = {}
    for split, (images, labels, files) in decoded.items():
        stacked = np.stack(images) if images else np.zeros((0, *target), np.uint8)
        parts[split] = Split(stacked, np.asarray(labels, np.int64), files)
    return parts, class_names, skipped, notes


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def check_folder_exists(root: Path) -> None:
    """FileNotFoundError naming ``root`` (and its absolute path) when there is nothing there."""
    if not root.exists():
        raise FileNotFoundError(
            f"Image folder not found: '{root}' (absolute: '{root.absolute()}'). Expected an existing folder "
            f"laid out as {FOLDER_LAYOUTS}, or one of the dataset names: {', '.join(DATASET_NAMES)}."
        )


def _detect_layout(root: Path, skipped: list) -> tuple[dict[str, Path], list[Path]]:
    """Split folders ``{"train": ..., "val": ..., "test": ...}`` (those present) or ``{"all": root}``,
    and the folders found in ``root``."""
    check_folder_exists(root)
    if not root.is_dir():
        raise ValueError(f"Expected a folder laid out as {FOLDER_LAYOUTS}. Received a file: source='{root}'.")
    dirs = _list_class_dirs(root, root, skipped)
    if not dirs:
        found = f"; it holds only {[f for f, _ in skipped]}" if skipped else " (it is empty)"
        raise ValueError(f"No class folders in '{root}'{found}. Expected {FOLDER_LAYOUTS}: one sub-folder per class.")
    names = [d.name for d in dirs]
    split_names = [n for n in names if n in SPLITS]
    if not split_names:
        return {"all": root}, dirs
    others = [n for n in names if n not in SPLITS]
    if others or "train" not in split_names:
        raise ValueError(
            f"'{root}' mixes layouts: split folders {split_names} next to other folders {others}. Use either "
            "ROOT/{train,val,test}/CLASS/* (train/ required, val/ and test/ optional) or ROOT/CLASS/*."
        )
    return {split: root / split for split in SPLITS if split in split_names}, dirs


def _list_class_dirs(folder: Path, root: Path, skipped: list) -> list[Path]:
    """Class sub-folders of ``folder``; everything else there is recorded in ``skipped``."""
    dirs = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            skipped.append((_relative(entry, root), "hidden file or folder, not read"))
        elif entry.is_dir():
            dirs.append(entry)
        elif not (folder == root and entry.name in (MANIFEST_NAME, CLASSES_NAME)):
            skipped.append((_relative(entry, root), "file outside the class folders, not read"))
    return dirs


def _class_order(root: Path, names: set[str]) -> list[str]:
    """Sorted folder names, or the order in ROOT/classes.txt (written by export_dataset)."""
    listing = root / CLASSES_NAME
    if not listing.is_file():
        return sorted(names)
    listed = [line.strip() for line in listing.read_text(encoding="utf8").splitlines() if line.strip()]
    if sorted(listed) != sorted(names):
        raise ValueError(
            f"{listing} must list exactly the class folders, one per line, in label order. "
            f"Received: {listed}; class folders: {sorted(names)}."
        )
    return listed


def _read_class_folder(folder: Path, root: Path, skipped: list):
    """Decoded images and their files; what is not read goes to ``skipped`` and is returned too."""
    images, files, local_skips = [], [], []
    for entry in sorted(folder.iterdir()):
        relative = _relative(entry, root)
        if entry.name.startswith("."):
            local_skips.append((relative, "hidden file or folder, not read"))
        elif entry.is_dir():
            local_skips.append((relative, "sub-folder, not read (images must sit directly in the class folder)"))
        elif entry.suffix.lower() not in IMAGE_EXTENSIONS:
            extension = entry.suffix or "none"
            local_skips.append(
                (relative, f"not an image file (extension {extension!r}; read: {', '.join(IMAGE_EXTENSIONS)})")
            )
        else:
            try:
                images.append(read_image(entry))
            except Exception as error:  # PIL raises many types for broken files
                local_skips.append((relative, f"cannot be decoded as an image ({type(error).__name__}: {error})"))
                continue
            files.append(relative)
    skipped.extend(local_skips)
    return images, files, local_skips


def _report_skipped(skipped: list, root: Path, stacklevel: int) -> None:
    if not skipped:
        return
    listed = "\n".join(f"  {file}: {reason}" for file, reason in skipped[:_MAX_LISTED])
    more = f"\n  ... and {len(skipped) - _MAX_LISTED} more" if len(skipped) > _MAX_LISTED else ""
    warnings.warn(
        f"Skipped {len(skipped)} file(s) in '{root}' (all listed in Dataset.skipped):\n{listed}{more}",
        stacklevel=stacklevel,
    )


def _harmonize(decoded: dict, size, notes: list, root: Path, stacklevel: int) -> tuple[int, int, int]:
    """Bring every decoded image to one mode and size, in place; returns (H, W, C)."""
    arrays = [image for images, _, _ in decoded.values() for image in images]
    colour = sum(image.ndim == 3 for image in arrays)
    channels = 3 if colour else 1
    if colour and colour < len(arrays):
        message = (
            f"'{root}' mixes {len(arrays) - colour} grayscale and {colour} colour images: "
            "grayscale images repeated to RGB"
        )
        warnings.warn(message, stacklevel=stacklevel)
        notes.append(message)
    sizes = collections.Counter(image.shape[:2] for image in arrays)
    if size is not None:
        target = size
        if set(sizes) != {size}:
            notes.append(f"resized to {size[0]}x{size[1]} (bilinear, antialiased: the model's resize) while loading")
    else:
        target = max(sizes, key=lambda s: (sizes[s], s[0] * s[1], s))
        if len(sizes) > 1:
            found = ", ".join(f"{h}x{w}: {n}" for (h, w), n in sizes.most_common())
            message = (
                f"'{root}' holds images of {len(sizes)} sizes ({found}); all resized to "
                f"{target[0]}x{target[1]}, the most common, by the model's own resize (bilinear, antialiased). "
                "Pass image_size=(height, width) to choose"
            )
            warnings.warn(message, stacklevel=stacklevel)
            notes.append(message)
    for images, _, _ in decoded.values():
        for i, image in enumerate(images):
            if image.ndim == 2:
                image = image[..., None]
            if channels == 3 and image.shape[-1] == 1:
                image = np.repeat(image, 3, axis=-1)
            if image.shape[:2] != tuple(target):
                image = resize_image(image, target)
            images[i] = image
    return (*target, channels)
