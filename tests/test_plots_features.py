"""labwork6.features (filters, feature maps, Grad-CAM) and labwork6.plots on tiny models."""

import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from labwork6 import features, plots  # noqa: E402
from labwork6.metrics import confusion_matrix_frame  # noqa: E402
from labwork6.models import get_model  # noqa: E402

SHAPE = (32, 32, 1)
TINY = dict(input_shape=SHAPE, width=0.125)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).normal(size=(3, *SHAPE)).astype(np.float32)


@pytest.fixture(scope="module")
def vgg():
    return get_model("vgg19", num_classes=3, head="compact", **TINY)


@pytest.fixture(scope="module")
def resnet_sigmoid():
    return get_model("resnet19", num_classes=2, classifier_activation="sigmoid", **TINY)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- features ---------------------------------------------------------------------------


def test_block_output_layers(vgg, resnet_sigmoid):
    assert features.block_output_layers(vgg) == [f"block{b}_pool" for b in range(1, 6)]
    assert features.block_output_layers(resnet_sigmoid) == [
        "conv1_relu",
        "conv2_block3_out",
        "conv3_block3_out",
        "conv4_block2_out",
    ]
    # Grad-CAM explains the last convolutional block, as in the paper (2x2 maps for VGG19 at 32x32).
    assert features.gradcam_layer(vgg) == "block5_conv4"
    assert features.gradcam_layer(resnet_sigmoid) == "conv4_block2_out"
    vgg_bn = get_model("vgg19_bn", num_classes=3, head="compact", **TINY)
    assert features.gradcam_layer(vgg_bn) == "block5_relu4"


def test_feature_maps_shapes_and_manual_submodel(vgg, images):
    maps = features.feature_maps(vgg, images)
    assert list(maps) == features.block_output_layers(vgg)
    expected = {1: (16, 16, 8), 2: (8, 8, 16), 3: (4, 4, 32), 4: (2, 2, 64), 5: (1, 1, 64)}
    for block, shape in expected.items():
        assert maps[f"block{block}_pool"].shape == (3, *shape)
        assert maps[f"block{block}_pool"].dtype == np.float32
    # Block 1 by hand: the same three layers applied one after the other.
    manual = keras.Sequential([vgg.get_layer(n) for n in ("block1_conv1", "block1_conv2", "block1_pool")])
    np.testing.assert_allclose(maps["block1_pool"], manual(images).numpy(), rtol=1e-5, atol=1e-6)
    one = features.feature_maps(vgg, images[0], layer_names="block1_conv1")
    assert one["block1_conv1"].shape == (32, 32, 8)


def test_first_layer_filters(vgg, resnet_sigmoid):
    kernel = features.first_layer_filters(vgg)
    assert kernel.shape == (3, 3, 1, 8) and kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel, vgg.get_layer("block1_conv1").kernel.numpy())
    assert features.first_layer_filters(resnet_sigmoid).shape == (3, 3, 1, 16)  # the 128-filter stem at width 1/8


def _evidence_model() -> keras.Model:
    """A network whose evidence is known: channel 0 of ``evidence`` is the image, channel 1 its
    complement (1 - image); class 0 reads channel 0 only, class 1 channel 1 only."""
    inputs = keras.Input((8, 8, 1))
    maps = keras.layers.Conv2D(2, 1, name="evidence")(inputs)
    logits = keras.layers.GlobalAveragePooling2D()(maps)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(logits)
    model = keras.Model(inputs, outputs)
    model.get_layer("evidence").set_weights([np.array([1.0, -1.0], "float32").reshape(1, 1, 1, 2),
                                             np.array([0.0, 1.0], "float32")])
    model.get_layer("predictions").set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    return model


def test_grad_cam_peaks_on_the_evidence():
    images = np.zeros((2, 8, 8, 1), "float32")
    images[0, :3, :3] = 1.0  # a bright square top left
    images[1, 5:, 4:] = 1.0  # and bottom right
    model = _evidence_model()
    bright = features.grad_cam(model, images, layer_name="evidence", class_indices=0)
    dark = features.grad_cam(model, images, layer_name="evidence", class_indices=1)
    for heatmap, image in zip(bright, images[..., 0], strict=True):
        np.testing.assert_allclose(heatmap, image, atol=1e-5)  # class 0's evidence: the square, nowhere else
    for heatmap, image in zip(dark, images[..., 0], strict=True):
        np.testing.assert_allclose(heatmap, 1.0 - image, atol=1e-5)  # class 1's: everything but the square


def test_grad_cam_is_zero_without_positive_evidence():
    model = _evidence_model()
    model.get_layer("predictions").set_weights([-np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    images = np.zeros((1, 8, 8, 1), "float32")
    images[0, 2:5, 2:5] = 1.0
    np.testing.assert_array_equal(features.grad_cam(model, images, layer_name="evidence", class_indices=0), 0.0)


def test_grad_cam_softmax(vgg, images):
    heatmaps = features.grad_cam(vgg, images)
    assert heatmaps.shape == (3, 32, 32) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0.0 and heatmaps.max() <= 1.0
    for heatmap in heatmaps:  # each non-empty heatmap peaks at 1
        assert heatmap.max() == pytest.approx(1.0) or heatmap.max() == 0.0
    # Explicit classes and an explicit layer work too.
    other = features.grad_cam(vgg, images, layer_name="block2_pool", class_indices=[0, 1, 2])
    assert other.shape == (3, 32, 32)
    assert features.grad_cam(vgg, images[0]).shape == (32, 32)


def test_grad_cam_single_sigmoid_unit(resnet_sigmoid, images):
    positive = features.grad_cam(resnet_sigmoid, images, class_indices=1)
    negative = features.grad_cam(resnet_sigmoid, images, class_indices=0)
    assert positive.shape == negative.shape == (3, 32, 32)
    assert 0.0 <= min(positive.min(), negative.min()) and max(positive.max(), negative.max()) <= 1.0
    # The negative class uses -logit: its evidence is not the same map as the positive's.
    assert not np.allclose(positive, negative)
    with pytest.raises(ValueError, match=r"\[0, 2\).*\[2\]"):
        features.grad_cam(resnet_sigmoid, images, class_indices=2)


def test_grad_cam_mixed_bfloat16(images):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = get_model("vgg19", num_classes=3, head="compact", **TINY)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    heatmaps = features.grad_cam(model, images)
    assert heatmaps.dtype == np.float32 and 0.0 <= heatmaps.min() and heatmaps.max() <= 1.0
    assert features.feature_maps(model, images)["block1_pool"].dtype == np.float32


def test_loaded_model(vgg, images, tmp_path):
    vgg.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(
        features.feature_maps(loaded, images)["block2_pool"],
        features.feature_maps(vgg, images)["block2_pool"],
        rtol=1e-5,
        atol=1e-6,
    )
    assert features.grad_cam(loaded, images).shape == (3, 32, 32)


def test_feature_errors(vgg, images):
    with pytest.raises(ValueError, match=r"no layer 'block9_pool'.*block1_conv1"):
        features.feature_maps(vgg, images, ["block9_pool"])
    with pytest.raises(ValueError, match=r"no layer 'nope'"):
        features.grad_cam(vgg, images, layer_name="nope")
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 1\).*\(2, 28, 28, 1\)"):
        features.grad_cam(vgg, np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match=r"one class per image \(3\).*\(2,\)"):
        features.grad_cam(vgg, images, class_indices=[0, 1])


def test_features_of_a_trained_model_take_raw_images():
    from labwork6.preprocessing import build_preprocessing

    raw = np.random.default_rng(1).integers(0, 256, (4, 8, 8, 1), dtype=np.uint8)
    model = get_model("resnet19", num_classes=3, input_shape=(16, 16, 1), width=0.125,
                      preprocessing=build_preprocessing(raw, image_size=16))
    maps = features.feature_maps(model, raw)
    assert maps["conv1_relu"].shape == (4, 16, 16, 16)  # 128-filter stem at width 1/8
    assert features.grad_cam(model, raw).shape == (4, 8, 8)  # at the size of the images shown
    assert features.first_layer_filters(model).shape == (3, 3, 1, 16)


# --- plots ------------------------------------------------------------------------------


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def assert_printable(fig, width: float) -> None:
    """Drawn for a printed width of ``width`` inches (an A4 text width is 6.4): no wider, and every
    piece of text at 8 pt or more, so that the report shows it legibly at 100%."""
    fig.canvas.draw()
    assert fig.get_figwidth() <= width + 1e-6, fig.get_figwidth()
    texts = [text for text in fig.findobj(matplotlib.text.Text) if text.get_visible() and text.get_text().strip()]
    assert texts
    small = sorted({(text.get_text(), text.get_fontsize()) for text in texts if text.get_fontsize() < 8})
    assert not small, f"text under 8 pt: {small[:5]}"


def test_plot_samples_uint8_and_gray():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(12, 8, 8, 1), dtype=np.uint8)
    labels = np.array([0, 1, 2] * 4)
    fig = plots.plot_samples(images, labels, ["a", "b", "c"], per_class=3)
    assert isinstance(fig, Figure)
    assert len(visible_axes(fig)) == 9
    assert fig.axes[0].images[0].get_cmap().name == "gray"
    # A class with fewer images than per_class leaves its row short.
    assert len(plots.plot_samples(images, labels, ["a", "b", "c"], per_class=5).axes) == 12


def test_plot_history_overlays_models():
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [1.0, 0.5, 0.3],
            "accuracy": [0.5, 0.7, 0.9],
            "val_loss": [1.1, 0.7, 0.6],
            "val_accuracy": [0.4, 0.6, 0.8],
            "learning_rate": [1e-2, 1e-3, 1e-4],
        }
    )
    fig = plots.plot_history({"vgg19": history, "resnet19": history * 1.1})
    assert len(fig.axes) == 3
    assert len(fig.axes[0].lines) == 4  # two models x (train, val)
    assert len(fig.axes[2].lines) == 2 and fig.axes[2].get_yscale() == "log"
    assert fig.axes[0].get_yscale() == "linear"  # log only where asked
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["vgg19", "resnet19", "training", "validation"]  # one legend for every panel
    assert len(plots.plot_history(history.drop(columns="learning_rate")).axes) == 2
    # the report's figure: a large first-epoch loss on a log axis, at the text width, legible in print
    spiky = history.assign(val_loss=[8.3, 0.7, 0.6])
    report_figure = plots.plot_history({"vgg19": spiky}, log_scale=("loss", "learning_rate"), width=6.4)
    assert report_figure.axes[0].get_yscale() == "log" and "log scale" in report_figure.axes[0].get_title()
    assert_printable(report_figure, 6.4)
    one_epoch = plots.plot_history(history.iloc[:1], width=6.4)
    assert [tick for tick in one_epoch.axes[0].get_xticks()] == [1]  # no fractional epochs
    with pytest.raises(ValueError, match="top5"):
        plots.plot_history(history, metrics=["top5"])


def test_plot_confusion_matrix():
    cm = confusion_matrix_frame([0, 0, 1, 2], [0, 1, 1, 2], ["a", "b", "c"])
    fig = plots.plot_confusion_matrix(cm)
    assert len(fig.axes) == 1 and len(fig.axes[0].texts) == 9
    normalised = plots.plot_confusion_matrix(cm, normalize=True)
    assert "0.50" in [t.get_text() for t in normalised.axes[0].texts]
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(cm.iloc[:2])
    ten = confusion_matrix_frame(list(range(10)) * 3, list(range(10)) * 3, [str(i) for i in range(10)])
    assert_printable(plots.plot_confusion_matrix(ten, title="VGG19-BN, 3 seeds", side=3.1), 3.1)


def test_plot_filters(vgg):
    kernel = features.first_layer_filters(vgg)
    assert len(plots.plot_filters(kernel).axes) == 8
    assert len(plots.plot_filters(kernel, max_filters=5).axes) == 5
    rgb = np.random.default_rng(0).normal(size=(3, 3, 3, 12))
    assert len(plots.plot_filters(rgb).axes) == 12
    many = np.random.default_rng(0).normal(size=(3, 3, 1, 64))
    assert_printable(plots.plot_filters(many, title="vgg19_bn: first-layer filters (3, 3, 1)"), 3.1)


def test_plot_feature_maps(vgg, images):
    maps = features.feature_maps(vgg, images[:1], ["block1_pool", "block2_pool", "block5_pool"])
    fig = plots.plot_feature_maps(maps, image=images[0], max_channels=4)
    # input + 4 + 4 + 4 channels
    assert len(fig.axes) == 13
    assert len(plots.plot_feature_maps(maps).axes) == 8 + 16 + 16  # block1 has only 8 channels
    assert_printable(plots.plot_feature_maps(maps, image=images[0], max_channels=12), 6.4)


def test_plot_gradcam_and_misclassified():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    heatmaps = rng.random((3, 16, 16)).astype(np.float32)
    fig = plots.plot_gradcam(images, heatmaps, ["x", "y", "z"])
    assert len(fig.axes) == 6  # image and overlay per image
    assert len(plots.plot_gradcam(images, heatmaps, None, columns=2).axes) == 6
    with pytest.raises(ValueError, match=r"len\(titles\)=1"):
        plots.plot_gradcam(images, heatmaps, ["x"])
    eight = np.concatenate([images] * 3)[:8]
    titles = ["WRONG\ntrue: 3\npred: 8"] * 8
    assert_printable(plots.plot_gradcam(eight, np.concatenate([heatmaps] * 3)[:8], titles), 6.4)
    fig = plots.plot_misclassified(images, [0, 1, 1], [0, 0, 1], ["cat", "dog"])
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "true: dog\npred: cat"
    none_wrong = plots.plot_misclassified(images, [0, 1, 1], [0, 1, 1], ["cat", "dog"])
    assert "no misclassified" in none_wrong.axes[0].texts[0].get_text()


def test_plot_model_errors_marks_shared_errors():
    images = np.random.default_rng(3).integers(0, 256, size=(6, 8, 8, 1), dtype=np.uint8)
    y_true = np.array([0, 1, 2, 3, 4, 5])
    vgg = np.array([0, 7, 2, 9, 4, 5])  # wrong on 1 and 3
    resnet = np.array([0, 7, 2, 3, 8, 5])  # wrong on 1 (shared, same label) and 4
    svc = np.array([0, 1, 6, 3, 4, 5])  # wrong on 2: not a network error, not shown
    names = [str(i) for i in range(10)]
    fig = plots.plot_model_errors(images, y_true, {"VGG": vgg, "ResNet": resnet, "SVC": svc}, names,
                                  shared_by=["VGG", "ResNet"], indices=np.arange(100, 106))
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["#101: 1", "#103: 3", "#104: 4"]  # shared first, then by number
    assert [ax.spines["top"].get_edgecolor()[:3] for ax in shown][0] == (1.0, 0.0, 0.0)
    assert shown[1].spines["top"].get_linewidth() < shown[0].spines["top"].get_linewidth()
    lines = {text.get_text(): text.get_color() for text in shown[0].texts}
    assert lines == {"VGG: 7": "red", "ResNet: 7": "red", "SVC: 1": "black"}
    assert_printable(fig, 6.4)
    right = plots.plot_model_errors(images, y_true, {"VGG": y_true}, names)
    assert "no test image is misclassified" in right.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="shared_by"):
        plots.plot_model_errors(images, y_true, {"VGG": vgg}, names, shared_by=["ResNet"])
    with pytest.raises(ValueError, match=r"len\(predictions\['VGG'\]\)=2"):
        plots.plot_model_errors(images, y_true, {"VGG": vgg[:2]}, names)


def test_plot_robustness_is_printable():
    from labwork6.robustness import robustness_table

    images = np.random.default_rng(4).integers(0, 256, size=(10, 8, 8, 1), dtype=np.uint8)
    labels = np.arange(10) % 3
    table = robustness_table(lambda batch: (batch.mean(axis=(1, 2, 3)) > 127).astype(int), images, labels)
    assert_printable(plots.plot_robustness({"VGG19-BN": table, "RBF SVC (pixels)": table}), 6.4)


def test_save_figure(tmp_path):
    fig = plots.plot_confusion_matrix(confusion_matrix_frame([0, 1], [0, 1], ["a", "b"]))
    written = plots.save_figure(fig, tmp_path / "new" / "folder" / "cm.png", pdf=True)
    assert [p.name for p in written] == ["cm.png", "cm.pdf"]
    assert all(p.stat().st_size > 0 for p in written)
    assert (tmp_path / "new" / "folder" / "cm.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"\.png.*cm\.jpg"):
        plots.save_figure(fig, tmp_path / "cm.jpg")
