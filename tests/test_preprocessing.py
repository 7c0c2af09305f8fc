"""labwork6.preprocessing: Standardizer, tf.data pipelines and augmentation per dataset."""

import json

import numpy as np
import pytest

from labwork6.preprocessing import Standardizer, augmentation_for, make_pipeline

RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, (24, 10, 10, 3), dtype=np.uint8)
LABELS = np.arange(40) % 4


def test_fit_on_train_gives_zero_mean_unit_std_after_resize():
    standardizer = Standardizer.fit(GRAY, image_size=32)
    assert standardizer.input_shape == (8, 8, 1) and standardizer.output_shape == (32, 32, 1)
    out = standardizer.transform(GRAY)
    assert out.shape == (40, 32, 32, 1) and out.dtype == np.float32
    assert abs(float(out.astype(np.float64).mean())) < 1e-4
    assert abs(float(out.astype(np.float64).std()) - 1) < 1e-4


def test_statistics_come_from_the_training_images_only():
    train, val = GRAY[:20], np.full((5, 8, 8, 1), 255, np.uint8)
    standardizer = Standardizer.fit(train)
    assert np.allclose(standardizer.mean, train.mean() / 255, atol=1e-6)
    assert np.allclose(standardizer.std, (train / 255).std(), atol=1e-6)
    assert standardizer.transform(val).mean() > 1  # val is brighter than train: not re-centred


@pytest.mark.parametrize("images, channels, out_channels", [(GRAY, 3, 3), (COLOUR, 1, 1), (COLOUR, None, 3)])
def test_channels(images, channels, out_channels):
    standardizer = Standardizer.fit(images, image_size=(12, 16), channels=channels)
    out = standardizer.transform(images[:3])
    assert out.shape == (3, 12, 16, out_channels) and len(standardizer.mean) == out_channels
    if images is GRAY and channels == 3:
        assert np.array_equal(out[..., 0], out[..., 2])  # grayscale repeated


def test_constant_image_does_not_divide_by_zero():
    standardizer = Standardizer.fit(np.zeros((3, 4, 4, 1), np.uint8))
    assert np.isfinite(standardizer.transform(np.zeros((1, 4, 4, 1), np.uint8))).all()


def test_save_load_round_trip(tmp_path):
    standardizer = Standardizer.fit(COLOUR, image_size=16)
    path = standardizer.save(tmp_path / "run" / "normalization.json")
    saved = json.loads(path.read_text())
    assert saved["fitted_on"] == "train split only" and saved["output_shape"] == [16, 16, 3]
    assert len(saved["mean"]) == 3 and saved["num_images"] == 24
    loaded = Standardizer.load(path)
    assert np.array_equal(loaded.transform(COLOUR), standardizer.transform(COLOUR))
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        Standardizer.load(tmp_path / "nothing.json")
    with pytest.raises(ValueError, match="format"):
        Standardizer.from_dict({"mean": [0.5]})


def test_inverse_transform_restores_pixels_at_the_same_size():
    standardizer = Standardizer.fit(COLOUR)
    assert np.array_equal(standardizer.inverse_transform(standardizer.transform(COLOUR)), COLOUR)


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (GRAY.astype(np.float32), {}, "dtype=float32"),
        (GRAY[..., 0], {}, r"shape=\(40, 8, 8\)"),
        (GRAY, {"image_size": (8, 0)}, r"image_size=\(8, 0\)"),
        (GRAY, {"channels": 2}, "channels=2"),
    ],
)
def test_fit_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Standardizer.fit(images, **kwargs)


def test_other_sizes_and_channels_are_brought_to_the_output_shape():
    assert Standardizer.fit(GRAY, image_size=16).transform(COLOUR).shape == (24, 16, 16, 1)
    assert Standardizer.fit(COLOUR).transform(GRAY).shape == (40, 10, 10, 3)


def labels_of(pipeline):
    return np.concatenate([labels.numpy() for _, labels in pipeline])


def test_pipeline_batches_and_keeps_order_for_evaluation():
    standardizer = Standardizer.fit(GRAY, image_size=16)
    pipeline = make_pipeline(GRAY, LABELS, batch_size=16, training=False, standardizer=standardizer)
    batches = list(pipeline)
    assert [len(y) for _, y in batches] == [16, 16, 8]
    assert np.array_equal(labels_of(pipeline), LABELS)
    assert np.allclose(batches[0][0].numpy(), standardizer.transform(GRAY[:16]), atol=1e-6)


def test_training_shuffle_is_seeded():
    x = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1)
    y = np.arange(40)

    def order(seed):
        pipeline = make_pipeline(x, y, batch_size=8, training=True, seed=seed)
        return labels_of(pipeline), labels_of(pipeline)

    first_epoch, second_epoch = order(0)
    assert sorted(first_epoch) == list(range(40)) and not np.array_equal(first_epoch, y)
    assert not np.array_equal(first_epoch, second_epoch)  # reshuffled each epoch
    again = order(0)
    assert np.array_equal(again[0], first_epoch) and np.array_equal(again[1], second_epoch)
    assert not np.array_equal(order(1)[0], first_epoch)


def test_augmentation_runs_on_training_pipelines_only():
    x = Standardizer.fit(COLOUR, image_size=16).transform(COLOUR)
    augmentation = augmentation_for("cifar10", (16, 16, 3), seed=0)
    train = next(iter(make_pipeline(x, LABELS[:24], batch_size=24, training=True, augmentation=augmentation)))
    evaluation = next(iter(make_pipeline(x, LABELS[:24], batch_size=24, training=False, augmentation=augmentation)))
    assert train[0].shape == (24, 16, 16, 3)
    assert np.array_equal(evaluation[0].numpy(), x)
    assert not np.array_equal(np.sort(train[0].numpy(), axis=None), np.sort(x, axis=None))


def test_pipeline_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size=0"):
        make_pipeline(GRAY, LABELS, batch_size=0, training=False)
    with pytest.raises(ValueError, match="len\\(y\\)=3"):
        make_pipeline(GRAY, LABELS[:3], batch_size=4, training=False)


def layer_types(augmentation):
    return [type(layer).__name__ for layer in augmentation.layers]


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_digits_are_translated_never_flipped(name):
    augmentation = augmentation_for(name, (32, 32, 1), seed=0)
    assert layer_types(augmentation) == ["RandomTranslation"]


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "faces", "fashion_mnist", "my_photos"])
def test_other_datasets_get_pad_crop_and_flip(name):
    augmentation = augmentation_for(name, (32, 32, 3), seed=0)
    assert layer_types(augmentation) == ["ZeroPadding2D", "RandomCrop", "RandomFlip"]
    assert augmentation.get_layer("pad").padding == ((4, 4), (4, 4))


def test_augmentation_is_seeded_and_keeps_the_shape():
    images = Standardizer.fit(GRAY, image_size=16).transform(GRAY)
    first = augmentation_for("digits", (16, 16, 1), seed=3)(images, training=True)
    again = augmentation_for("digits", (16, 16, 1), seed=3)(images, training=True)
    assert first.shape == images.shape and np.array_equal(np.asarray(first), np.asarray(again))
    assert layer_types(augmentation_for("faces", (16, 16, 1), flip=False)) == ["ZeroPadding2D", "RandomCrop"]
    assert augmentation_for("digits", (4, 4, 1)) is None
    with pytest.raises(ValueError, match=r"image_shape=\(32, 32\)"):
        augmentation_for("digits", (32, 32))
