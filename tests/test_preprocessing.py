"""labwork6.preprocessing: preprocessing layers adapted on training images, tf.data pipelines,
augmentation per dataset."""

import keras
import numpy as np
import pytest

from labwork6.preprocessing import (
    ChannelConversion,
    augmentation_for,
    build_preprocessing,
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


def test_saved_in_a_model_and_loaded_back(tmp_path):
    preprocessing = build_preprocessing(COLOUR, image_size=16, channels=1)
    model = keras.Sequential([keras.Input((None, None, 3)), preprocessing, keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert np.allclose(loaded.predict(COLOUR, verbose=0), model.predict(COLOUR, verbose=0), atol=1e-6)


def test_channel_conversion_and_to_channels_agree():
    layer_grey = np.asarray(ChannelConversion(1)(COLOUR.astype("float32")))
    assert np.abs(layer_grey - to_channels(COLOUR, 1).astype("float32")).max() <= 0.5  # to_channels rounds
    assert np.array_equal(to_channels(GRAY, 3), np.repeat(GRAY, 3, axis=-1))
    assert to_channels(GRAY[0, ..., 0], 1).shape == (8, 8, 1)
    with pytest.raises(ValueError, match="channels=2"):
        to_channels(GRAY, 2)


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


def layer_types(augmentation):
    return [type(layer).__name__ for layer in augmentation.layers]


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_digits_are_translated_never_flipped(name):
    augmentation = augmentation_for(name, (32, 32, 1), seed=0)
    assert augmentation.name == "augmentation"
    assert layer_types(augmentation) == ["RandomTranslation"]


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "faces", "fashion_mnist", "my_photos"])
def test_other_datasets_get_a_whole_pixel_shift_and_flip(name):
    augmentation = augmentation_for(name, (32, 32, 3), seed=0)
    assert layer_types(augmentation) == ["RandomTranslation", "RandomFlip"]
    shift = augmentation.get_layer("random_shift")
    assert shift.height_factor == 4 / 32 and shift.interpolation == "nearest"


def test_augmentation_is_active_in_training_only_seeded_and_keeps_the_shape():
    images = np.asarray(build_preprocessing(GRAY, image_size=16)(GRAY))
    first = augmentation_for("digits", (16, 16, 1), seed=3)(images, training=True)
    again = augmentation_for("digits", (16, 16, 1), seed=3)(images, training=True)
    assert first.shape == images.shape and np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), images)
    for name in ("digits", "faces"):
        assert np.array_equal(np.asarray(augmentation_for(name, (16, 16, 1))(images, training=False)), images)
    assert layer_types(augmentation_for("faces", (16, 16, 1), flip=False)) == ["RandomTranslation"]
    assert augmentation_for("digits", (4, 4, 1)) is None
    with pytest.raises(ValueError, match=r"image_shape=\(32, 32\)"):
        augmentation_for("digits", (32, 32))
