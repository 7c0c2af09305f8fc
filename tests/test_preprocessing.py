"""labwork6.preprocessing: preprocessing layers adapted on training images, tf.data pipelines,
augmentation per dataset."""

import json
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

from labwork6.data import read_folder, resize_images
from labwork6.preprocessing import (
    LUMA_WEIGHTS,
    augmentation_for,
    build_preprocessing,
    channel_conversion,
    epoch_order,
    make_pipeline,
    to_channels,
)

RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, (24, 10, 10, 3), dtype=np.uint8)
LABELS = np.arange(40) % 4


def test_adapted_on_train_gives_zero_mean_unit_std_after_resize():
    preprocessing = build_preprocessing(GRAY, image_size=32)
    assert preprocessing.name == "preprocessing"
    assert [layer.name for layer in preprocessing.layers] == ["rescaling", "resizing", "normalization"]
    out = np.asarray(preprocessing(GRAY.astype("float32")))
    assert out.shape == (40, 32, 32, 1) and out.dtype == np.float32
    assert abs(out.mean()) < 1e-4 and abs(out.std() - 1) < 1e-3


def test_statistics_come_from_the_training_images_only():
    train, val = GRAY[:20], np.full((5, 8, 8, 1), 250, np.uint8)
    preprocessing = build_preprocessing(train)  # native size: resizing to the same size is the identity
    scaled = train / 255.0
    normalization = preprocessing.get_layer("normalization")
    assert np.allclose(np.ravel(normalization.mean), scaled.mean(), atol=1e-6)
    assert np.allclose(np.ravel(normalization.variance), scaled.var(), atol=1e-6)
    assert np.allclose(np.asarray(preprocessing(train)), (scaled - scaled.mean()) / scaled.std(), atol=1e-4)
    assert np.asarray(preprocessing(val)).mean() > 1  # val is brighter than train: not re-centred


@pytest.mark.parametrize("channels, out_channels", [(None, 3), (1, 1), (3, 3)])
def test_resize_and_channel_conversion(channels, out_channels):
    preprocessing = build_preprocessing(COLOUR, image_size=(12, 16), channels=channels)
    out = np.asarray(preprocessing(COLOUR[:3]))
    assert out.shape == (3, 12, 16, out_channels)
    assert np.ravel(preprocessing.get_layer("normalization").mean).shape == (out_channels,)


def test_any_input_size_is_brought_to_the_network_input():
    preprocessing = build_preprocessing(GRAY, image_size=16)
    assert tuple(preprocessing.inputs[0].shape[1:]) == (None, None, 1)
    big = RNG.integers(0, 256, (2, 40, 30, 1), dtype=np.uint8)
    assert np.asarray(preprocessing(big)).shape == (2, 16, 16, 1)


def test_preprocessing_is_float32_under_mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        preprocessing = build_preprocessing(GRAY, image_size=16)
        assert str(np.asarray(preprocessing(GRAY[:2])).dtype) == "float32"
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_a_constant_channel_does_not_divide_by_zero():
    preprocessing = build_preprocessing(np.zeros((3, 4, 4, 1), np.uint8))
    assert np.isfinite(np.asarray(preprocessing(np.zeros((1, 4, 4, 1), np.uint8)))).all()


@pytest.mark.parametrize("images, channels", [(COLOUR, 1), (GRAY, 3), (COLOUR, None)])
def test_saved_in_a_model_and_loaded_back_with_stock_keras_layers_only(tmp_path, images, channels):
    preprocessing = build_preprocessing(images, image_size=16, channels=channels)
    model = keras.Sequential([keras.Input((None, None, images.shape[-1])), preprocessing, keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.save(tmp_path / "model.keras")
    # Every layer is Keras' own: nothing in the file names a labwork6 class (the file loads without it).
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        saved = archive.read("config.json").decode()
    assert "labwork6" not in saved
    assert all(type(layer).__module__.startswith("keras.") for layer in preprocessing.layers)
    modules = set()

    def collect(node):
        if isinstance(node, dict):
            if "class_name" in node and "module" in node:
                modules.add(node["module"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(json.loads(saved))
    assert modules and all(module.split(".")[0] == "keras" for module in modules), modules
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert np.allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_channel_conversion_is_a_frozen_convolution_equal_to_to_channels():
    grey = np.asarray(channel_conversion(3, 1)(COLOUR.astype("float32")))
    luma = np.sum(COLOUR.astype("float64") * np.array(LUMA_WEIGHTS), axis=-1, keepdims=True)
    assert np.abs(grey - luma).max() < 1e-4  # the ITU-R 601 weights, in float32
    assert np.array_equal(np.rint(luma).astype(np.uint8), to_channels(COLOUR, 1))  # to_channels rounds
    assert np.array_equal(np.asarray(channel_conversion(1, 3)(GRAY.astype("float32"))), np.repeat(GRAY, 3, -1))
    layer = build_preprocessing(GRAY, channels=3).get_layer("channels")
    assert isinstance(layer, keras.layers.Conv2D) and not layer.trainable and not layer.trainable_weights
    assert np.array_equal(to_channels(GRAY, 3), np.repeat(GRAY, 3, axis=-1))
    assert to_channels(GRAY[0, ..., 0], 1).shape == (8, 8, 1)
    with pytest.raises(ValueError, match="channels=2"):
        to_channels(GRAY, 2)
    with pytest.raises(ValueError, match="in_channels=None"):
        channel_conversion(None, 3)


def test_loading_resizes_as_the_model_does(tmp_path):
    """One resize: data.resize_images is the model's Resizing layer, rounded to uint8."""
    resizing = build_preprocessing(GRAY, image_size=(13, 7)).get_layer("resizing")
    for images in (GRAY, COLOUR):
        in_model = np.asarray(resizing(images.astype("float32")))
        assert np.array_equal(resize_images(images, (13, 7)), np.clip(np.rint(in_model), 0, 255).astype(np.uint8))
    # A folder of two sizes: the odd one is resized while loading by that same operation.
    big = RNG.integers(0, 256, (20, 20), dtype=np.uint8)
    for index, image in enumerate([GRAY[0, ..., 0], GRAY[1, ..., 0], big]):
        (tmp_path / "a").mkdir(exist_ok=True)
        Image.fromarray(image).save(tmp_path / "a" / f"{index}.png")
    with pytest.warns(UserWarning, match="2 sizes"):
        split, _, _ = read_folder(tmp_path)
    same_resize = keras.layers.Resizing(**{**resizing.get_config(), "height": 8, "width": 8})
    in_model = np.asarray(same_resize(big[None, ..., None].astype("float32")))
    assert np.array_equal(split.images[2], np.clip(np.rint(in_model[0]), 0, 255).astype(np.uint8))
    assert np.array_equal(split.images[0], GRAY[0])


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (GRAY.astype(np.float32), {}, "dtype=float32"),
        (GRAY[..., 0], {}, r"shape=\(40, 8, 8\)"),
        (GRAY[:0], {}, "0 images"),
        (GRAY, {"image_size": (8, 0)}, r"image_size=\(8, 0\)"),
        (GRAY, {"channels": 2}, "channels=2"),
    ],
)
def test_build_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_preprocessing(images, **kwargs)


def labels_of(pipeline):
    return np.concatenate([labels.numpy() for _, labels in pipeline])


def test_evaluation_pipeline_batches_raw_images_in_order():
    batches = list(make_pipeline(GRAY, LABELS, batch_size=16, training=False))
    assert [len(y) for _, y in batches] == [16, 16, 8]
    assert np.array_equal(np.concatenate([y.numpy() for _, y in batches]), LABELS)
    assert np.array_equal(batches[0][0].numpy(), GRAY[:16].astype("float32"))


def test_training_order_depends_only_on_seed_and_epoch():
    x = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1)
    y = np.arange(40)
    def labels_of(pipeline, batches):
        return np.concatenate([labels.numpy() for _, labels in pipeline.take(batches)])

    stream = labels_of(make_pipeline(x, y, batch_size=8, training=True, seed=0, epochs=3), 15)
    epochs = stream.reshape(3, 40)
    for epoch in range(3):
        assert sorted(epochs[epoch]) == list(range(40))
        assert np.array_equal(epochs[epoch], epoch_order(40, 0, epoch).numpy())
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], y)
    # A run resumed at epoch 2 sees what the uninterrupted run saw from epoch 2 on.
    resumed = labels_of(make_pipeline(x, y, batch_size=8, training=True, seed=0, epochs=3, first_epoch=2), 5)
    assert np.array_equal(resumed, epochs[2])
    assert not np.array_equal(labels_of(make_pipeline(x, y, batch_size=8, training=True, seed=1, epochs=1), 5),
                              epochs[0])


def test_pipeline_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size=0"):
        make_pipeline(GRAY, LABELS, batch_size=0, training=False)
    with pytest.raises(ValueError, match="len\\(y\\)=3"):
        make_pipeline(GRAY, LABELS[:3], batch_size=4, training=False)
    with pytest.raises(ValueError, match="first_epoch=3, epochs=3"):
        make_pipeline(GRAY, LABELS, batch_size=4, training=True, epochs=3, first_epoch=3)


# Augmentation, tested by what the draws do to an image with one bright pixel (a stub such as
# RandomTranslation(0, 0), a shift past the stated bound or a flip where none is stated fails).
SIDE, ROW, COLUMN, DRAWS = 32, 12, 6, 64


def one_bright_pixel(channels: int) -> np.ndarray:
    image = np.zeros((DRAWS, SIDE, SIDE, channels), np.float32)
    image[:, ROW, COLUMN, :] = 1.0
    return image


def centroids(images: np.ndarray) -> np.ndarray:
    """(row, column) of each image's mass, and the mass, per draw."""
    mass = images[..., 0]
    rows, columns = np.indices((SIDE, SIDE))
    total = mass.sum(axis=(1, 2))
    return np.stack([(mass * rows).sum(axis=(1, 2)) / total, (mass * columns).sum(axis=(1, 2)) / total, total], 1)


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_digits_are_moved_up_to_ten_percent_and_never_flipped(name):
    augmentation = augmentation_for(name, (SIDE, SIDE, 1), seed=0)
    images = one_bright_pixel(1)
    moved = np.asarray(augmentation(images, training=True))
    row, column, mass = centroids(moved).T
    shift_row, shift_column = row - ROW, column - COLUMN
    bound = 0.1 * SIDE  # "random translation of up to 10%"
    assert np.allclose(mass, 1.0, atol=1e-4)  # a translation: nothing lost, nothing added
    assert np.abs(shift_row).max() <= bound + 1e-3 and np.abs(shift_column).max() <= bound + 1e-3
    assert np.abs(shift_row).max() >= 1.5 and np.abs(shift_column).max() >= 1.5  # draws do move it
    assert len(np.unique(np.round(shift_row, 2))) > DRAWS // 2  # and differently each draw
    assert (shift_row > 0.5).any() and (shift_row < -0.5).any()  # both ways
    assert np.array_equal(np.asarray(augmentation(images, training=False)), images)  # identity at inference
    assert [type(layer).__name__ for layer in augmentation.layers] == ["RandomTranslation"]  # no flip layer


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "faces", "fashion_mnist", "my_photos"])
def test_other_images_are_shifted_by_whole_pixels_up_to_an_eighth_and_flipped(name):
    augmentation = augmentation_for(name, (SIDE, SIDE, 3), seed=0)
    images = one_bright_pixel(3)
    moved = np.asarray(augmentation(images, training=True))
    bound = round(SIDE / 8)  # "a random shift of up to 1/8 of the side in whole pixels"
    flipped = []
    shifts = []
    for draw in moved:
        bright = np.argwhere(draw[..., 0] > 0)
        assert len(bright) == 1 and np.array_equal(draw[tuple(bright[0])], [1.0, 1.0, 1.0])  # whole pixels
        assert draw.sum() == 3.0  # zeros fill in: nothing smeared
        row, column = bright[0]
        mirrored = abs(column - (SIDE - 1 - COLUMN)) <= bound
        assert mirrored != (abs(column - COLUMN) <= bound)  # either mirrored or not, then shifted
        flipped.append(mirrored)
        shifts.append((row - ROW, column - ((SIDE - 1 - COLUMN) if mirrored else COLUMN)))
    shifts = np.array(shifts)
    assert np.abs(shifts).max() <= bound and (np.abs(shifts) >= 2).any(axis=0).all()
    assert len({tuple(shift) for shift in shifts}) > 10
    assert 0 < sum(flipped) < DRAWS  # some draws flip the image, some do not
    assert np.array_equal(np.asarray(augmentation(images, training=False)), images)
    unflipped = np.asarray(augmentation_for(name, (SIDE, SIDE, 3), seed=0, flip=False)(images, training=True))
    assert (np.argwhere(unflipped[..., 0] > 0)[:, 2] <= COLUMN + bound).all()  # flip=False: never mirrored


def test_augmentation_is_seeded_keeps_the_shape_and_refuses_bad_input():
    images = np.asarray(build_preprocessing(GRAY, image_size=16)(GRAY))
    first = augmentation_for("digits", (16, 16, 1), seed=3)(images, training=True)
    again = augmentation_for("digits", (16, 16, 1), seed=3)(images, training=True)
    other = augmentation_for("digits", (16, 16, 1), seed=4)(images, training=True)
    assert first.shape == images.shape and np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))
    assert augmentation_for("digits", (4, 4, 1)) is None
    with pytest.raises(ValueError, match=r"image_shape=\(32, 32\)"):
        augmentation_for("digits", (32, 32))
