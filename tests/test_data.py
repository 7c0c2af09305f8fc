"""labwork6.data: every source, the folder layouts, splits, export round trip and bad input."""

import csv
import gzip
import hashlib
import json
import pickle
import urllib.error
from types import SimpleNamespace

import numpy as np
import pytest
from keras.src.datasets.cifar import load_batch as keras_load_batch
from PIL import Image

from labwork6 import data
from labwork6.data import DATASET_NAMES, Dataset, Split, export_dataset, leakage_report, load_dataset

RNG = np.random.default_rng(0)


def gray(value, size=(12, 12)):
    return np.full(size, value, np.uint8)


def noise(size=(12, 12), channels=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = size if channels is None else (*size, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def write_class_folder(root, per_class=6, classes=("cat", "dog"), size=(12, 12), channels=None, seed=0):
    """ROOT/CLASS/i.png with distinct random images; returns {class: [arrays]}."""
    written = {}
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        written[name] = []
        for i in range(per_class):
            image = noise(size, channels, seed=seed * 1000 + c * 100 + i)
            Image.fromarray(image).save(root / name / f"{i:03d}.png")
            written[name].append(image)
    return written


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


# --------------------------------------------------------------------------- embedded datasets


def test_digits_splits_are_stratified_seeded_and_uint8(digits):
    assert digits.describe()["sizes"] == {"train": 1257, "val": 270, "test": 270}
    assert digits.image_shape == (8, 8, 1) and digits.num_classes == 10
    assert digits.train.images.dtype == np.uint8 and digits.train.labels.dtype == np.int64
    assert digits.train.images.max() == 255  # 16 grey levels stretched to 0..255
    counts = digits.counts()
    assert list(counts.columns) == ["train", "val", "test"] and counts.values.sum() == 1797
    assert counts["val"].min() >= 26 and counts["val"].max() <= 28  # 15% of each class
    again = load_dataset("digits", seed=0)
    other = load_dataset("digits", seed=1)
    assert np.array_equal(again.test.images, digits.test.images)
    assert not np.array_equal(other.test.images, digits.test.images)
    all_images = np.concatenate([p.images for p in digits.splits.values()])
    assert len(np.unique(all_images.reshape(len(all_images), -1), axis=0)) > 1700  # nothing duplicated


def split_digest(part):
    """First 16 hex digits of the sha256 of a split's pixels and labels."""
    return hashlib.sha256(part.images.tobytes() + part.labels.tobytes()).hexdigest()[:16]


def test_seed_zero_gives_the_pinned_splits(digits, tmp_path):
    # Recorded when splitting moved to scikit-learn's stratified split (issue 23): the same seed
    # must keep giving the same splits, so that saved runs and their predictions.csv stay valid.
    assert {split: split_digest(part) for split, part in digits.splits.items()} == {
        "train": "5cb3bd1b228a950a", "val": "5441984c680a1510", "test": "06080cbc7882fa02",
    }
    assert digits.test.labels[:10].tolist() == [4, 8, 5, 9, 9, 1, 3, 2, 2, 2]
    assert [data.image_hash(digits.test.images[i])[:16] for i in (0, 1, 269)] == [
        "ee347413e16c75e9", "10e3b30fc700144b", "7929e223fed210b5",
    ]
    small = digits.subsample(50, seed=0)
    assert {split: split_digest(part) for split, part in small.splits.items()} == {
        "train": "a0c942ecc4b8da21", "val": "653d5a0281c44938", "test": "5e0d18b5358af8a2",
    }
    faces = load_dataset("faces", seed=0)
    assert {split: split_digest(part) for split, part in faces.splits.items()} == {
        "train": "dbb4ac7c828656c8", "val": "be080646df63641b", "test": "98879e6d9b3c8d08",
    }
    write_class_folder(tmp_path, per_class=20)
    pets = load_dataset(tmp_path, seed=0)
    assert pets.test.files == [
        "cat/000.png", "cat/012.png", "cat/015.png", "dog/006.png", "dog/007.png", "dog/014.png",
    ]
    assert pets.val.files == [
        "cat/003.png", "cat/013.png", "cat/017.png", "dog/004.png", "dog/010.png", "dog/017.png",
    ]


def test_digits_describe_is_json_ready(digits):
    summary = json.loads(json.dumps(digits.describe()))
    assert summary["image_shape"] == [8, 8, 1] and summary["channels"] == 1
    assert summary["counts"]["test"]["3"] == int(digits.counts().loc["3", "test"])
    assert summary["source"] == "sklearn.datasets.load_digits" and summary["notes"]


def test_faces_is_binary_with_face_as_label_one():
    faces = load_dataset("faces", image_size=32)
    assert faces.class_names == ["background", "face"]
    assert faces.describe()["sizes"] == {"train": 140, "val": 30, "test": 30}
    assert faces.image_shape == (32, 32, 1)
    assert (faces.counts() == faces.counts().iloc[0]).all().all()  # balanced in each split


def test_subsample_is_stratified_and_seeded(digits):
    small = digits.subsample(50, seed=3)
    assert all(len(p) == 50 for p in small.splits.values())
    assert (small.counts() >= 4).all().all()
    assert np.array_equal(small.train.images, digits.subsample(50, seed=3).train.images)
    with pytest.raises(ValueError, match=r"max_per_split=5"):
        digits.subsample(5)


def test_subsample_keeps_every_class_of_a_split_with_tiny_classes():
    labels = np.r_[np.zeros(40, np.int64), 1, 2, 2, 3, 3, 3]  # one large class, three tiny ones
    part = Split(np.zeros((len(labels), 2, 2, 1), np.uint8), labels)
    tiny = Dataset("tiny", part, part, part, ["a", "b", "c", "d"])
    small = tiny.subsample(8, seed=1)
    for split in small.splits.values():
        assert len(split) == 8 and set(split.labels.tolist()) == {0, 1, 2, 3}
    assert np.array_equal(small.train.labels, tiny.subsample(8, seed=1).train.labels)


def test_carve_keeps_every_class_in_train_and_warns_about_the_rest():
    from labwork6.data.splits import carve

    # class "b" has one image (it can only be in train); "c" to "f" two each: a test or val of 3
    # cannot hold 5 classes, so scikit-learn cannot stratify it (a plain draw, which can take a class whole)
    labels = np.r_[np.zeros(4, np.int64), 1, 2, 2, 3, 3, 4, 4, 5, 5]
    names = ["a", "b", "c", "d", "e", "f"]
    part = Split(np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1), labels)
    for seed in range(20):
        with pytest.warns(UserWarning, match=r"the (val|test) split has no images of class\(es\) \[.*'b'"):
            parts = carve(part, {"val": 0.2, "test": 0.2}, seed, names, "tiny")
        assert set(parts["train"].labels.tolist()) == set(range(6))
        assert sorted(np.concatenate([p.images.ravel() for p in parts.values()]).tolist()) == list(range(13))
        assert len(parts["test"]) == 3 and len(parts["val"]) == 3
    with pytest.warns(UserWarning, match="has no images of class"):
        again = carve(part, {"val": 0.2, "test": 0.2}, seed, names, "tiny")
    assert all(np.array_equal(again[split].images, parts[split].images) for split in parts)  # a function of the seed


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="Unknown dataset") as error:
        load_dataset("imagenet")
    for name in DATASET_NAMES:
        assert name in str(error.value)
    assert "'imagenet'" in str(error.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"val_fraction": 0.0}, r"val_fraction=0\.0"),
        ({"test_fraction": 1.5}, r"test_fraction=1\.5"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "less than 1"),
        ({"image_size": 0}, r"image_size=0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_dataset("faces", **kwargs)


# --------------------------------------------------------------------------- folders


def test_class_folder_layout_is_split_with_the_seed(tmp_path):
    write_class_folder(tmp_path, per_class=20)
    first = load_dataset(tmp_path, seed=5)
    assert first.class_names == ["cat", "dog"] and first.name == tmp_path.name
    assert first.describe()["sizes"] == {"train": 28, "val": 6, "test": 6}
    assert (first.counts() == 3).loc[:, ["val", "test"]].all().all()
    assert first.train.files[0].startswith(("cat/", "dog/")) and not first.skipped
    assert first.test.files == load_dataset(str(tmp_path), seed=5).test.files
    assert first.test.files != load_dataset(tmp_path, seed=6).test.files


def test_split_folder_layout_is_used_as_is(tmp_path):
    for i, split in enumerate(("train", "val", "test")):
        write_class_folder(tmp_path / split, per_class=3 + i, seed=i)
    dataset = load_dataset(tmp_path)
    assert dataset.describe()["sizes"] == {"train": 6, "val": 8, "test": 10}
    assert dataset.val.files[0] == "val/cat/000.png"


def test_missing_val_folder_is_carved_from_train(tmp_path):
    write_class_folder(tmp_path / "train", per_class=10)
    write_class_folder(tmp_path / "test", per_class=2, seed=1)
    dataset = load_dataset(tmp_path, val_fraction=0.2)
    assert dataset.describe()["sizes"] == {"train": 16, "val": 4, "test": 4}
    assert all(f.startswith("train/") for f in dataset.val.files)


def test_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found") as error:
        load_dataset(tmp_path / "nowhere")
    assert "nowhere" in str(error.value) and "ROOT/CLASS" in str(error.value)


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "images.zip").write_bytes(b"PK")
    with pytest.raises(ValueError, match="Received a file"):
        load_dataset(tmp_path / "images.zip")


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="No class folders") as error:
        load_dataset(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_class_folder_with_no_images(tmp_path):
    write_class_folder(tmp_path, per_class=4)
    (tmp_path / "bird").mkdir()
    (tmp_path / "bird" / "notes.txt").write_text("no images here")
    with pytest.warns(UserWarning, match="notes.txt"), pytest.raises(ValueError, match="bird") as error:
        load_dataset(tmp_path)
    assert "no readable images" in str(error.value) and "bird/notes.txt" in str(error.value)


def test_single_class(tmp_path):
    write_class_folder(tmp_path, classes=("cat",))
    with pytest.raises(ValueError, match=r"single class \['cat'\]"):
        load_dataset(tmp_path)


def test_corrupt_and_non_image_files_are_skipped_and_named(tmp_path):
    write_class_folder(tmp_path, per_class=8)
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    Image.fromarray(noise((64, 64), channels=3)).save(tmp_path / "dog" / "truncated.jpg")
    jpeg = (tmp_path / "dog" / "truncated.jpg").read_bytes()
    (tmp_path / "dog" / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # a valid header, half the data
    (tmp_path / "dog" / "readme.txt").write_text("hello")
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"\0\0")
    (tmp_path / ".hidden_class").mkdir()
    (tmp_path / "labels.csv").write_text("a,b\n")
    with pytest.warns(UserWarning, match="Skipped 6 file") as record:
        dataset = load_dataset(tmp_path)
    skipped = dict(dataset.skipped)
    assert set(skipped) == {
        "cat/broken.png", "dog/truncated.jpg", "dog/readme.txt", "dog/.DS_Store", ".hidden_class", "labels.csv",
    }
    assert "cannot be decoded" in skipped["cat/broken.png"] and "not an image" in skipped["dog/readme.txt"]
    assert "truncated" in skipped["dog/truncated.jpg"]
    message = str(record[0].message)
    assert all(name in message for name in skipped)
    assert sum(dataset.describe()["sizes"].values()) == 16


def test_mixed_modes_and_sizes_become_one_rgb_size(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.fromarray(gray(100)).save(tmp_path / "a" / "gray.png")
    Image.fromarray(noise(channels=3)).save(tmp_path / "a" / "rgb.jpg", quality=95)
    Image.fromarray(noise(channels=3, seed=1)).save(tmp_path / "a" / "rgb.bmp")
    Image.fromarray(np.full((12, 12), 65535, np.uint16)).save(tmp_path / "a" / "deep.png")  # 16-bit
    rgba = np.zeros((12, 12, 4), np.uint8)
    rgba[..., 0] = 200  # fully transparent red: shows the white background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "b" / "alpha.png")
    Image.fromarray(noise(channels=3, seed=2)).convert("P").save(tmp_path / "b" / "palette.gif")
    Image.fromarray(noise((20, 16), channels=3, seed=3)).save(tmp_path / "b" / "big.png")
    Image.fromarray(gray(7)).convert("P").save(tmp_path / "b" / "gray_palette.png")
    with pytest.warns(UserWarning) as record:
        dataset = load_dataset(tmp_path, val_fraction=0.25, test_fraction=0.25)
    messages = " ".join(str(r.message) for r in record)
    assert "grayscale and" in messages and "12x12, the most common" in messages
    assert dataset.image_shape == (12, 12, 3)
    images = {f: image for p in dataset.splits.values() for f, image in zip(p.files, p.images, strict=True)}
    assert len(images) == 8
    assert (images["a/gray.png"] == 100).all()
    assert (images["a/deep.png"] == 255).all()
    assert (images["b/alpha.png"] == 255).all()
    assert (images["b/gray_palette.png"] == 7).all()


def test_grayscale_only_folder_stays_one_channel_and_image_size_resizes(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    for i in range(3):
        Image.fromarray(gray(10 * i)).save(tmp_path / "x" / f"{i}.png")
        Image.new("1", (12, 12), 1).save(tmp_path / "y" / f"{i}.bmp")  # 1-bit, white
        Image.fromarray(np.full((9, 9), 30000, np.uint16)).save(tmp_path / "y" / f"{i}_16.png")
    dataset = load_dataset(tmp_path, image_size=(16, 8), val_fraction=0.2, test_fraction=0.2)
    assert dataset.image_shape == (16, 8, 1)
    assert {v for p in dataset.splits.values() for v in np.unique(p.images)} <= {0, 10, 20, 117, 255}


def test_class_sets_that_differ_between_splits(tmp_path):
    write_class_folder(tmp_path / "train", classes=("cat", "dog", "fox"))
    write_class_folder(tmp_path / "val", classes=("cat", "dog"))
    write_class_folder(tmp_path / "test", classes=("cat",))
    with pytest.raises(ValueError, match="differ between the splits") as error:
        load_dataset(tmp_path)
    assert "val/ lacks ['fox']" in str(error.value) and "test/ lacks ['dog', 'fox']" in str(error.value)


def test_split_folders_mixed_with_class_folders(tmp_path):
    write_class_folder(tmp_path / "train")
    write_class_folder(tmp_path, classes=("extra",))
    with pytest.raises(ValueError, match="mixes layouts"):
        load_dataset(tmp_path)


def test_empty_class_folder_in_test_only_warns(tmp_path):
    write_class_folder(tmp_path / "train")
    write_class_folder(tmp_path / "val")
    write_class_folder(tmp_path / "test", classes=("cat",))
    (tmp_path / "test" / "dog").mkdir()
    with pytest.warns(UserWarning, match="absent from test"):
        dataset = load_dataset(tmp_path)
    assert dataset.counts().loc["dog", "test"] == 0


def test_fractions_that_leave_a_split_empty(tmp_path):
    write_class_folder(tmp_path, per_class=1)
    with pytest.raises(ValueError, match="leaves the test split empty") as error:
        load_dataset(tmp_path)
    assert "val_fraction=0.15" in str(error.value)


def test_read_folder_accepts_a_single_class(tmp_path):
    written = write_class_folder(tmp_path, per_class=4, classes=("dog",))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning, match="notes.txt"):
        split, class_names, skipped = data.read_folder(tmp_path)
    assert class_names == ["dog"] and split.labels.tolist() == [0, 0, 0, 0]
    assert split.files == [f"dog/{i:03d}.png" for i in range(4)]
    assert np.array_equal(split.images[..., 0], np.stack(written["dog"]))
    assert [file for file, _ in skipped] == ["dog/notes.txt"]


def test_read_folder_reads_every_split_and_tolerates_missing_classes(tmp_path):
    write_class_folder(tmp_path / "train", per_class=2, classes=("cat", "dog", "fox"))
    write_class_folder(tmp_path / "test", per_class=3, classes=("cat", "fox"), size=(10, 10), seed=1)
    (tmp_path / "val" / "dog").mkdir(parents=True)
    with pytest.warns(UserWarning) as record:
        split, class_names, skipped = data.read_folder(str(tmp_path), image_size=8)
    assert "absent from val" in " ".join(str(r.message) for r in record)
    assert class_names == ["cat", "dog", "fox"] and not skipped
    assert split.images.shape == (12, 8, 8, 1)
    assert split.labels.tolist() == [0, 0, 1, 1, 2, 2, 0, 0, 0, 2, 2, 2]
    assert split.files[0] == "train/cat/000.png" and split.files[-1] == "test/fox/002.png"
    # training still needs two classes and the same class folders in every split
    with pytest.raises(ValueError, match="differ between the splits"):
        load_dataset(tmp_path)


def test_read_folder_without_images_says_so(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "readme.txt").write_text("hello")
    with pytest.warns(UserWarning, match="readme.txt"), pytest.raises(ValueError, match="No readable images"):
        data.read_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.read_folder(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "image_size, expected",
    [(None, None), (32, (32, 32)), ((24, 16), (24, 16)), ([8, 9], (8, 9)), (np.int64(5), (5, 5))],
)
def test_check_image_size_accepts(image_size, expected):
    assert data.check_image_size(image_size) == expected


@pytest.mark.parametrize("image_size", [0, -3, (8, 0), (8,), (8, 8, 3), 8.0, (8, 8.0), True, (True, 8), "32"])
def test_check_image_size_names_the_value(image_size):
    with pytest.raises(ValueError, match="image_size must be None") as error:
        data.check_image_size(image_size)
    assert f"Received: image_size={image_size!r}." in str(error.value)


# --------------------------------------------------------------------------- export, leakage


def test_export_round_trip_gives_the_same_images_labels_and_splits(digits, tmp_path):
    small = digits.subsample(60, seed=0)
    manifest = export_dataset(small, tmp_path / "digits")
    assert manifest == tmp_path / "digits" / "manifest.csv"
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["split", "class", "file", "sha256"] and len(rows) == 180
    row = rows[0]
    assert hashlib.sha256((tmp_path / "digits" / row["file"]).read_bytes()).hexdigest() == row["sha256"]
    back = load_dataset(tmp_path / "digits")
    assert back.class_names == small.class_names and not back.skipped
    for split, part in small.splits.items():
        copy = back.splits[split]
        order = [int(f.rsplit("/", 1)[1][:-4]) for f in copy.files]
        assert sorted(order) == list(range(len(part)))
        assert np.array_equal(copy.images, part.images[order])
        assert np.array_equal(copy.labels, part.labels[order])


def test_export_keeps_a_class_order_that_is_not_alphabetical(tmp_path):
    images = noise((6, 6), channels=3)[None].repeat(6, axis=0)
    images[:, 0, 0, 0] = np.arange(6)
    part = Split(images[:2], [1, 0])
    dataset = Dataset("shop", Split(images[2:], [0, 1, 1, 0]), part, part, ["zebra", "apple"])
    export_dataset(dataset, tmp_path / "out")
    assert (tmp_path / "out" / "classes.txt").read_text().split() == ["zebra", "apple"]
    back = load_dataset(tmp_path / "out")
    assert back.class_names == ["zebra", "apple"]
    assert np.array_equal(back.train.images[back.train.labels == 1], images[[3, 4]])


def test_export_refuses_to_overwrite_unless_asked(digits, tmp_path):
    small = digits.subsample(10)
    export_dataset(small, tmp_path / "out")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_dataset(small, tmp_path / "out")
    export_dataset(small, tmp_path / "out", overwrite=True)
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="mine.txt"):
        export_dataset(small, tmp_path / "out", overwrite=True)
    bad = Dataset("bad", small.train, small.val, small.test, ["a/b", *small.class_names[1:]])
    with pytest.raises(ValueError, match="'a/b'"):
        export_dataset(bad, tmp_path / "other")


def test_leakage_report_finds_images_in_two_splits(tmp_path):
    for split in ("train", "val", "test"):
        write_class_folder(tmp_path / split, per_class=3, seed={"train": 0, "val": 1, "test": 2}[split])
    leaked = tmp_path / "train" / "cat" / "001.png"
    (tmp_path / "test" / "dog" / "copy.png").write_bytes(leaked.read_bytes())
    dataset = load_dataset(tmp_path)
    report = leakage_report(dataset)
    assert len(report) == 1
    row = report.iloc[0]
    assert row["splits"] == "train, test" and row["count"] == 2 and row["classes"] == "cat, dog"
    assert "train/cat/001.png" in row["members"] and "test/dog/copy.png" in row["members"]
    assert leakage_report(load_dataset("faces")).empty


# --------------------------------------------------------------------------- keras.datasets caches


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty KERAS_HOME; any download attempt through keras fails as it would offline."""
    import keras.src.backend.config as keras_config
    import keras.src.utils.file_utils as file_utils

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))  # keras reads KERAS_HOME at import only
    attempts = []

    def offline(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    return SimpleNamespace(path=home, attempts=attempts)


def small_arrays(n_train, n_test, shape, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    y_train = np.arange(n_train, dtype=np.uint8) % classes
    y_test = np.arange(n_test, dtype=np.uint8) % classes
    return (
        rng.integers(0, 256, (n_train, *shape), dtype=np.uint8), y_train,
        rng.integers(0, 256, (n_test, *shape), dtype=np.uint8), y_test,
    )


def test_mnist_npz_in_the_keras_cache(keras_home):
    x_train, y_train, x_test, y_test = small_arrays(40, 20, (28, 28))
    (keras_home.path / "datasets").mkdir()
    np.savez(keras_home.path / "datasets" / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    dataset = load_dataset("mnist", val_fraction=0.25)
    assert dataset.describe()["sizes"] == {"train": 30, "val": 10, "test": 20}
    assert dataset.image_shape == (28, 28, 1) and dataset.class_names[3] == "3"
    assert np.array_equal(dataset.test.images[..., 0], x_test)
    merged = np.concatenate([dataset.train.images, dataset.val.images])[..., 0]
    assert sorted(map(bytes, merged)) == sorted(map(bytes, x_train))
    assert not keras_home.attempts


def test_fashion_mnist_gz_files_in_the_keras_cache(keras_home):
    x_train, y_train, x_test, y_test = small_arrays(30, 10, (28, 28))
    folder = keras_home.path / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(np.array([0, 0, 8, 1, 0, 0, 0, len(y)], np.uint8).tobytes() + y.tobytes())
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            header = np.array([2051, len(x), 28, 28], ">i4").tobytes()
            f.write(header + x.tobytes())
    dataset = load_dataset("fashion_mnist", val_fraction=0.34)
    assert dataset.class_names[0] == "t-shirt_top" and dataset.class_names[9] == "ankle_boot"
    assert np.array_equal(dataset.test.images[..., 0], x_test) and np.array_equal(dataset.test.labels, y_test)
    assert len(dataset.val) == 11 and not keras_home.attempts
    assert dataset.source.startswith("keras.datasets.fashion_mnist (cache: ")  # read by keras' own loader


def write_cifar_batch(path, x, labels, label_key):
    data_rows = x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # CIFAR rows: 1024 R, 1024 G, 1024 B
    batch = {b"batch_label": b"test batch", label_key.encode(): list(map(int, labels)), b"data": data_rows,
             b"filenames": [f"{i}.png".encode() for i in range(len(x))]}
    with open(path, "wb") as f:
        # The originals are Python 2 pickles; protocol 4 stores the same dict of bytes keys and a
        # numpy array without the _codecs calls that Python 3's protocol 2 would add.
        pickle.dump(batch, f, protocol=4)
    # Keras' own reader must accept the file as it accepts the real one.
    data_back, labels_back = keras_load_batch(str(path), label_key=label_key)
    assert np.array_equal(data_back.transpose(0, 2, 3, 1), x) and list(labels_back) == list(labels)


@pytest.mark.parametrize("folder", ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"])
def test_cifar10_pickles_in_the_keras_cache(keras_home, folder):
    x_train, y_train, x_test, y_test = small_arrays(50, 10, (32, 32, 3))
    path = keras_home.path / "datasets" / folder
    path.mkdir(parents=True)
    for i in range(5):
        write_cifar_batch(path / f"data_batch_{i + 1}", x_train[i * 10 : (i + 1) * 10],
                          y_train[i * 10 : (i + 1) * 10], "labels")
    write_cifar_batch(path / "test_batch", x_test, y_test, "labels")
    dataset = load_dataset("cifar10", val_fraction=0.2)
    assert dataset.image_shape == (32, 32, 3) and dataset.class_names[0] == "airplane"
    assert np.array_equal(dataset.test.images, x_test) and np.array_equal(dataset.test.labels, y_test)
    assert dataset.counts()["val"].tolist() == [1] * 10
    assert not keras_home.attempts


def test_cifar100_pickles_in_the_keras_cache(keras_home):
    x_train, y_train, x_test, y_test = small_arrays(200, 100, (32, 32, 3), classes=100)
    path = keras_home.path / "datasets" / "cifar-100-python-target" / "cifar-100-python"
    path.mkdir(parents=True)
    write_cifar_batch(path / "train", x_train, y_train, "fine_labels")
    write_cifar_batch(path / "test", x_test, y_test, "fine_labels")
    dataset = load_dataset("cifar100", val_fraction=0.5)
    assert dataset.num_classes == 100 and dataset.class_names[-1] == "worm"
    assert np.array_equal(dataset.test.images, x_test)


def test_cifar_pickle_with_code_is_refused(keras_home):
    path = keras_home.path / "datasets" / "cifar-100-python"
    path.mkdir(parents=True)
    for name in ("train", "test"):
        with open(path / name, "wb") as f:
            pickle.dump({b"data": print}, f)  # a global that is not a numpy array
    with pytest.raises(ValueError, match="cannot be read") as error:
        load_dataset("cifar100")
    assert "Refusing to unpickle builtins.print" in str(error.value) and "cifar-100-python.tar.gz" in str(error.value)


def test_truncated_mnist_cache_says_what_to_do(keras_home):
    (keras_home.path / "datasets").mkdir()
    (keras_home.path / "datasets" / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="Delete them") as error:
        load_dataset("mnist")
    assert "mnist.npz" in str(error.value)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("mnist", "datasets/mnist.npz"),
        ("fashion_mnist", "datasets/fashion-mnist"),
        ("cifar10", "datasets/cifar-10-batches-py-target_archive"),
        ("cifar100", "datasets/cifar-100-python-target/cifar-100-python"),
    ],
)
def test_no_cache_and_no_network_says_which_file_to_place_where(keras_home, name, expected):
    with pytest.raises(FileNotFoundError, match="not in the Keras cache") as error:
        load_dataset(name)
    message = str(error.value)
    assert str(keras_home.path / expected) in message and "https://" in message and "no network in tests" in message
    assert len(keras_home.attempts) == 1  # keras.datasets really tried to download


def test_split_rejects_bad_arrays():
    with pytest.raises(ValueError, match="uint8"):
        Split(np.zeros((2, 4, 4, 1), np.float32), [0, 1])
    with pytest.raises(ValueError, match="one label per image"):
        Split(np.zeros((2, 4, 4, 1), np.uint8), [0])
