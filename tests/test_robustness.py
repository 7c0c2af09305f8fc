"""labwork6.robustness on tiny arrays, and plots.plot_robustness."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from labwork6 import robustness  # noqa: E402
from labwork6.stats import accuracy_interval  # noqa: E402

RANDOM_CORRUPTIONS = ("gaussian_noise", "salt_and_pepper", "translation", "rotation", "occlusion")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images():
    """Twelve 16x16 grayscale images: a bright blob on a dark background at varying places."""
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:16, 0:16]
    centres = rng.uniform(5, 11, size=(12, 2))
    blobs = [200 * np.exp(-((rows - y) ** 2 + (columns - x) ** 2) / 8.0) + 20 for y, x in centres]
    return np.rint(np.stack(blobs)[..., None]).astype(np.uint8)


def test_parameter_table_covers_every_corruption_and_severity():
    assert set(robustness.SEVERITY_PARAMETERS) == set(robustness.CORRUPTIONS) == set(robustness.PARAMETER_UNITS)
    for name, values in robustness.SEVERITY_PARAMETERS.items():
        assert len(values) == len(robustness.SEVERITIES), name
        # Every table is monotone: contrast shrinks (a smaller factor is worse), the rest grow.
        steps = np.diff(values)
        assert np.all(steps < 0) if name == "contrast" else np.all(steps > 0), name
    frame = robustness.parameters_frame()
    assert list(frame.columns) == ["unit", *robustness.SEVERITIES] and frame.loc["rotation", 5] == 60.0


@pytest.mark.parametrize("corruption", robustness.CORRUPTIONS)
def test_corrupt_keeps_shape_and_dtype_and_is_deterministic(images, corruption):
    assert np.array_equal(robustness.corrupt(images, corruption, 0), images)
    assert robustness.corrupt(images, corruption, 0) is not images
    for severity in robustness.SEVERITIES:
        corrupted = robustness.corrupt(images, corruption, severity, seed=1)
        assert corrupted.dtype == np.uint8 and corrupted.shape == images.shape
        assert not np.array_equal(corrupted, images), (corruption, severity)
        assert np.array_equal(corrupted, robustness.corrupt(images, corruption, severity, seed=1))


@pytest.mark.parametrize("corruption", RANDOM_CORRUPTIONS)
def test_different_seeds_give_different_damage(images, corruption):
    first = robustness.corrupt(images, corruption, 3, seed=0)
    assert not np.array_equal(first, robustness.corrupt(images, corruption, 3, seed=1))


@pytest.mark.parametrize("corruption", robustness.CORRUPTIONS)
def test_damage_grows_with_severity(images, corruption):
    changes = [
        np.abs(robustness.corrupt(images, corruption, severity).astype(float) - images).mean()
        for severity in robustness.SEVERITIES
    ]
    assert np.all(np.diff(changes) > 0), changes


def test_colour_images_and_other_sizes(images):
    colour = np.repeat(images[:3, :, :12], 3, axis=-1)
    for corruption in robustness.CORRUPTIONS:
        corrupted = robustness.corrupt(colour, corruption, 5)
        assert corrupted.shape == (3, 16, 12, 3) and corrupted.dtype == np.uint8
    assert robustness.corrupt(colour[:0], "rotation", 5).shape == (0, 16, 12, 3)


def test_contrast_and_occlusion_by_hand():
    image = np.array([[0, 100], [100, 200]], dtype=np.uint8).reshape(1, 2, 2, 1)
    # Mean 100; severity 1 keeps 0.4 of each distance from it.
    assert robustness.corrupt(image, "contrast", 1)[0, ..., 0].tolist() == [[60, 100], [100, 140]]
    white = np.full((4, 8, 8, 1), 255, np.uint8)
    for severity, side in zip(robustness.SEVERITIES, (1, 2, 3, 4, 5), strict=True):
        occluded = robustness.corrupt(white, "occlusion", severity)
        assert np.all((occluded == 0).sum(axis=(1, 2, 3)) == side * side)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((np.zeros((2, 8, 8, 1), np.float32), "blur", 1), "dtype float32"),
        ((np.zeros((8, 8, 1), np.uint8), "blur", 1), "shape \\(8, 8, 1\\)"),
        (([[0]], "blur", 1), "Received: list"),
        ((np.zeros((2, 8, 8, 1), np.uint8), "fog", 1), "corruption='fog'"),
        ((np.zeros((2, 8, 8, 1), np.uint8), "blur", 6), "severity=6"),
        ((np.zeros((2, 8, 8, 1), np.uint8), "blur", 2.0), "severity=2.0"),
        ((np.zeros((2, 8, 8, 1), np.uint8), "blur", 1, -1), "seed=-1"),
    ],
)
def test_corrupt_rejects_bad_input(arguments, message):
    with pytest.raises(ValueError, match=message):
        robustness.corrupt(*arguments)


def nearest_mean_classifier(images, labels):
    """predict(images) -> labels of the nearest class mean image."""
    means = np.stack([images[labels == label].astype(float).mean(axis=0) for label in np.unique(labels)])

    def predict(batch):
        distances = ((batch[:, None].astype(float) - means[None]) ** 2).sum(axis=(2, 3, 4))
        return distances.argmin(axis=1)

    return predict


def test_robustness_table_counts_with_a_nearest_mean_classifier(images):
    labels = (images[..., 0].mean(axis=1).argmax(axis=1) >= 8).astype(np.int64)  # blob on the right half
    predict = nearest_mean_classifier(images, labels)
    assert np.sum(predict(images) == labels) >= 10
    table = robustness.robustness_table(predict, images, labels, corruptions=("blur", "occlusion"), severities=(1, 5))
    assert list(table.columns) == list(robustness.TABLE_COLUMNS)
    assert table[["corruption", "severity"]].values.tolist() == [
        ["none", 0], ["blur", 1], ["blur", 5], ["occlusion", 1], ["occlusion", 5]
    ]
    for row in table.itertuples():
        batch = images if row.severity == 0 else robustness.corrupt(images, row.corruption, row.severity)
        expected = int(np.sum(predict(batch) == labels))
        assert (row.correct, row.total) == (expected, len(images))
        assert row.accuracy == pytest.approx(expected / len(images))
        assert (row.accuracy_low, row.accuracy_high) == accuracy_interval(expected, len(images))
    corrupted = table[table["severity"] > 0]["accuracy"]
    assert robustness.mean_corruption_accuracy(table) == pytest.approx(corrupted.mean())


def oracle_of(labels):
    """predict(images) -> the true labels: the rows arrive concatenated, each in test order."""
    return lambda batch: np.tile(labels, len(batch) // len(labels))


def test_robustness_table_of_a_perfect_and_a_constant_predictor(images):
    labels = np.arange(len(images)) % 3
    oracle = robustness.robustness_table(oracle_of(labels), images, labels, seed=2)
    assert len(oracle) == 1 + len(robustness.CORRUPTIONS) * len(robustness.SEVERITIES)
    assert (oracle["correct"] == len(images)).all() and robustness.mean_corruption_accuracy(oracle) == 1.0
    constant = robustness.robustness_table(lambda batch: np.zeros(len(batch), int), images, labels)
    assert (constant["correct"] == 4).all()


def test_robustness_table_rejects_bad_input(images):
    labels = np.zeros(len(images), int)
    predict = lambda batch: np.zeros(len(batch), int)
    with pytest.raises(ValueError, match="shape \\(3,\\)"):
        robustness.robustness_table(predict, images, labels[:3])
    with pytest.raises(ValueError, match="corruption='fog'"):
        robustness.robustness_table(predict, images, labels, corruptions=("blur", "fog"))
    with pytest.raises(ValueError, match="severity=0"):
        robustness.robustness_table(predict, images, labels, severities=(0, 1))
    with pytest.raises(ValueError, match="shape \\(432, 2\\) \\(for probabilities, take the argmax"):
        robustness.robustness_table(lambda batch: np.zeros((len(batch), 2)), images, labels)  # 36 rows x 12


@pytest.mark.parametrize("chunk, calls", [(2**15, 1), (24, 3), (30, 3), (5, 5)])
def test_robustness_rows_are_predicted_in_chunks_with_the_same_result(images, monkeypatch, chunk, calls):
    labels = (images[..., 0].mean(axis=1).argmax(axis=1) >= 8).astype(np.int64)
    predict, sizes = nearest_mean_classifier(images, labels), []
    cases = dict(corruptions=("blur", "occlusion"), severities=(1, 5))
    expected = robustness.robustness_table(predict, images, labels, **cases)
    monkeypatch.setattr(robustness, "PREDICT_CHUNK", chunk)  # 12 images: 2 rows per call at 24 and 30, 1 below 12

    def counting(batch):
        sizes.append(len(batch))
        return predict(batch)

    table = robustness.robustness_table(counting, images, labels, **cases)
    pd.testing.assert_frame_equal(table, expected)
    assert len(sizes) == calls and sum(sizes) == 5 * len(images)


def test_write_and_read_robustness(tmp_path, images):
    labels = np.arange(len(images)) % 2
    table = robustness.robustness_table(oracle_of(labels), images, labels, corruptions=("contrast",))
    path = robustness.write_robustness(tmp_path / "run", table)
    assert path == tmp_path / "run" / robustness.ROBUSTNESS_FILE
    pd.testing.assert_frame_equal(robustness.read_robustness(tmp_path / "run"), table)
    with pytest.raises(FileNotFoundError, match="robustness.csv"):
        robustness.read_robustness(tmp_path / "missing")
    with pytest.raises(ValueError, match="missing \\['accuracy_low', 'accuracy_high'\\]"):
        robustness.write_robustness(tmp_path, table.drop(columns=["accuracy_low", "accuracy_high"]))
    with pytest.raises(ValueError, match="no corrupted rows"):
        robustness.mean_corruption_accuracy(table.head(1))


def test_evaluate_robustness_writes_every_images_prediction(tmp_path, images):
    labels = (images[..., 0].mean(axis=1).argmax(axis=1) >= 8).astype(np.int64)
    predict = nearest_mean_classifier(images, labels)
    table = robustness.evaluate_robustness(tmp_path, predict, images, labels, seed=3)
    pd.testing.assert_frame_equal(robustness.read_robustness(tmp_path), table)
    long = pd.read_csv(tmp_path / robustness.ROBUSTNESS_PREDICTIONS)
    assert len(long) == len(table) * len(images)
    for row in table.itertuples():
        rows = long[(long["corruption"] == row.corruption) & (long["severity"] == row.severity)]
        assert list(rows["index"]) == list(range(len(images)))
        assert int((rows["prediction"].to_numpy() == labels).sum()) == row.correct
    blurred = robustness.corrupt(images, "blur", 5, seed=3)
    assert np.array_equal(long.query("corruption == 'blur' and severity == 5")["prediction"], predict(blurred))


def test_plot_robustness_draws_one_panel_per_corruption_and_readable_text(images):
    from labwork6 import plots

    labels = np.arange(len(images)) % 2
    corruptions = ("blur", "rotation", "occlusion")
    frames = {
        "oracle": robustness.robustness_table(oracle_of(labels), images, labels, corruptions=corruptions),
        "constant": robustness.robustness_table(
            lambda batch: np.zeros(len(batch), int), images, labels, corruptions=corruptions
        ),
    }
    fig = plots.plot_robustness(frames)
    assert isinstance(fig, Figure)
    assert fig.get_size_inches()[0] <= 6.5  # drawn at print size: no shrinking on an A4 page
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["blur", "rotation", "occlusion"]
    for ax in panels:
        marked = [container.lines[0] for container in ax.containers]  # each model's line, not its interval caps
        accuracies = sorted(tuple(float(y) for y in line.get_ydata()) for line in marked)
        assert accuracies == [(50.0,) * 6, (100.0,) * 6]  # one line per model, clean + 5 severities
        assert len({line.get_marker() for line in marked}) == 2  # told apart in grey by their markers
    legend = [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    assert legend == ["oracle (mean 100.0%)", "constant (mean 50.0%)"]
    sizes = [text.get_fontsize() for text in fig.findobj(matplotlib.text.Text) if text.get_text()]
    assert sizes and min(sizes) >= 8
    with pytest.raises(ValueError, match="Received: \\{\\}"):
        plots.plot_robustness({})
    with pytest.raises(ValueError, match="'oracle'.*Received: DataFrame, missing \\['accuracy_low'"):
        plots.plot_robustness({"oracle": frames["oracle"].drop(columns=["accuracy_low"])})


def test_evaluate_robustness_names_the_images_at_the_chosen_severities(tmp_path, images):
    labels = np.arange(len(images)) % 2
    ids = np.arange(100, 100 + len(images))
    table = robustness.evaluate_robustness(tmp_path, oracle_of(labels), images, labels, seed=1, ids=ids,
                                           severities=(1, 5))
    assert sorted(set(table["severity"])) == [0, 1, 5] and len(table) == 1 + 2 * len(robustness.CORRUPTIONS)
    long = pd.read_csv(tmp_path / robustness.ROBUSTNESS_PREDICTIONS)
    first = long[(long["corruption"] == "blur") & (long["severity"] == 5)]
    assert first["image"].tolist() == ids.tolist() and first["label"].tolist() == labels.tolist()
    with pytest.raises(ValueError, match="one id per image"):
        robustness.robustness_predictions(oracle_of(labels), images, labels, ids=ids[:3])


def test_contrast_diagnosis_finds_the_grey_background():
    # digits-like: black background (0), strokes at 255 on a quarter of the pixels
    images = np.zeros((4, 8, 8, 1), np.uint8)
    images[:, 2:6, 3:5] = 255
    mean, std = 0.25, 0.4
    frame = robustness.contrast_diagnosis(images, [mean], [std], severities=(1, 5))
    assert frame["severity"].tolist() == [0, 1, 5]
    assert frame.loc[0, "background"] == pytest.approx(-mean / std)
    # severity 1 keeps 0.4 of each pixel's distance from the image mean (255 / 8): background 0.6 * 255 / 8, rounded
    grey = np.rint(0.6 * 255 / 8) / 255
    assert frame.loc[1, "background"] == pytest.approx((grey - mean) / std)
    assert frame.loc[1, "background_shift"] == pytest.approx(grey / std)
    assert frame.loc[1, "stroke_contrast"] == pytest.approx(0.4 * frame.loc[0, "stroke_contrast"], rel=0.05)
    assert frame["background_shift"].is_monotonic_increasing  # lower contrast: greyer background
    with pytest.raises(ValueError, match="std > 0"):
        robustness.normalized(images, [0.2], [0.0])


def test_plot_contrast_diagnosis_uses_one_scale(images):
    from labwork6 import plots

    fig = plots.plot_contrast_diagnosis(images, [0.2], [0.3], severity=1, count=4, width=6.4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 8 and len({ax.images[0].get_clim() for ax in shown}) == 1
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles[0].startswith("clean: background at") and titles[1].startswith("contrast, severity 1 (factor 0.4)")
