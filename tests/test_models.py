"""Builders: exact parameter counts, shapes on small inputs, layer table, clear errors."""

import keras
import numpy as np
import pytest

from labwork6.models import MODEL_NAMES, count_parameters, get_model, layer_table, model_family
from labwork6.models.summary import check_formulas
from labwork6.preprocessing import build_preprocessing

# (name, input_shape, classes) -> (trainable, total), to the unit. Sources (README, References):
# keras.applications.VGG19(weights=None); torchvision resnet18/34/50 trainable counts; ResNet-19
# as Zheng et al.'s table specifies it (3x3, 128 stem; counted here, as test_resnet19_follows_the_
# paper_table checks layer by layer), and with the TET code's 64-filter stem (Deng et al. 2022),
# whose count is the "12.63M" reported for ResNet-19 (ANN).
#: Models built at 224x224 are marked slow (`make test` and CI run them; `make test-fast` does not).
AT_224 = pytest.mark.slow
EXACT_COUNTS = [
    pytest.param("vgg19", (224, 224, 3), 1000, 143_667_240, 143_667_240, marks=AT_224),
    pytest.param("resnet18", (224, 224, 3), 1000, 11_689_512, None, marks=AT_224),
    pytest.param("resnet34", (224, 224, 3), 1000, 21_797_672, None, marks=AT_224),
    pytest.param("resnet50", (224, 224, 3), 1000, 25_557_032, 25_610_152, marks=AT_224),
    # the stride's place adds no weight
    pytest.param("resnet50_v1_5", (224, 224, 3), 1000, 25_557_032, 25_610_152, marks=AT_224),
    ("resnet19", (32, 32, 3), 10, 12_697_994, 12_708_490),
    ("resnet19_tet", (32, 32, 3), 10, 12_630_858, 12_641_482),
]


@pytest.mark.parametrize("name, shape, classes, trainable, total", EXACT_COUNTS)
def test_exact_parameter_counts(name, shape, classes, trainable, total):
    counts = count_parameters(get_model(name, input_shape=shape, num_classes=classes))
    assert counts["trainable"] == trainable
    if total is not None:
        assert counts["total"] == total


@AT_224
def test_vgg19_equals_keras_applications():
    ours = get_model("vgg19")
    reference = keras.applications.VGG19(weights=None)
    assert ours.count_params() == reference.count_params() == 143_667_240
    ours_shapes = [tuple(w.shape) for w in ours.weights]
    reference_shapes = [tuple(w.shape) for w in reference.weights]
    assert ours_shapes == reference_shapes
    # Same layer names as keras.applications wherever a layer has weights.
    named = {layer.name for layer in reference.layers if layer.weights}
    assert named <= {layer.name for layer in ours.layers}


def test_vgg_is_sequential_and_resnet_is_functional():
    assert isinstance(get_model("vgg19", input_shape=(32, 32, 1), num_classes=10, width=0.125),
                      keras.Sequential)
    resnet = get_model("resnet19", input_shape=(32, 32, 1), num_classes=10, width=0.125)
    assert not isinstance(resnet, keras.Sequential)
    assert any(isinstance(layer, keras.layers.Add) for layer in resnet.layers)


def test_plain34_has_no_shortcuts():
    model = get_model("plain34", input_shape=(64, 64, 3), num_classes=10, width=0.125)
    assert not any(isinstance(layer, keras.layers.Add) for layer in model.layers)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 33  # 33 convolutions + 1 dense = 34 weight layers


def test_weight_layer_counts_match_names():
    def weight_layers(model):
        return [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
                and not layer.name.endswith("_0_conv")]  # projections are not counted

    for name, expected in [("vgg11", 11), ("vgg13", 13), ("vgg16", 16), ("vgg19", 19), ("vgg19_bn", 19),
                           ("resnet18", 18), ("resnet19", 19), ("resnet19_tet", 19), ("resnet34", 34),
                           ("resnet50", 50),
                           ("resnet50_v1_5", 50)]:
        model = get_model(name, input_shape=(32, 32, 3), num_classes=10, width=0.0625)
        assert len(weight_layers(model)) == expected, name


SHAPES = [((32, 32, 1), 10), ((32, 32, 3), 10), ((64, 64, 3), 10), ((48, 40, 3), 2)]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_on_small_inputs(name):
    for index, (shape, classes) in enumerate(SHAPES):
        model = get_model(name, input_shape=shape, num_classes=classes, width=0.0625)
        assert tuple(model.compute_output_shape((2, *shape))) == (2, classes)  # symbolically, no arithmetic
        if not index:  # and once through the layers' computation
            assert tuple(model(np.zeros((2, *shape), "float32")).shape) == (2, classes)
    binary = get_model(name, input_shape=(32, 32, 3), num_classes=2, width=0.0625,
                       classifier_activation="sigmoid")
    assert tuple(binary(np.zeros((3, 32, 32, 3), "float32")).shape) == (3, 1)
    assert binary.get_layer("predictions").activation.__name__ == "sigmoid"


@pytest.mark.parametrize("name", ["vgg19", "vgg19_bn", "resnet19"])
def test_one_training_step_at_small_width(name):
    model = get_model(name, input_shape=(32, 32, 1), num_classes=10, width=0.0625)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(8, 32, 32, 1)).astype("float32")
    y = np.arange(8) % 10
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_logits_and_binary_sigmoid_training_step():
    model = get_model("vgg11", input_shape=(32, 32, 1), num_classes=2, width=0.0625,
                      classifier_activation="sigmoid")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    assert np.isfinite(model.train_on_batch(np.zeros((4, 32, 32, 1)), np.array([0, 1, 0, 1])))
    logits = get_model("resnet18", input_shape=(32, 32, 3), num_classes=5, width=0.0625,
                       classifier_activation=None)
    assert logits.get_layer("predictions").activation.__name__ == "linear"


@pytest.mark.parametrize("name", [pytest.param(name, marks=AT_224) if name in ("vgg19", "resnet50") else name
                                  for name in MODEL_NAMES])
def test_layer_table_formulas_equal_keras(name):
    shape = (224, 224, 3) if name in ("vgg19", "resnet50") else (64, 48, 3)
    model = get_model(name, input_shape=shape, num_classes=10, width=1.0 if name == "vgg19" else 0.25)
    table = layer_table(model)
    checked = table[table["type"].isin(["Conv2D", "Dense"])]
    assert len(checked) == sum(isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) for layer in model.layers)
    assert checked["formula_parameters"].notna().all()
    assert check_formulas(table) is None
    total = table.iloc[-1]
    assert total["name"] == "total"
    assert total["parameters"] == model.count_params()


def test_layer_table_leaves_out_the_preprocessing_in_front():
    images = np.random.default_rng(0).integers(0, 256, size=(4, 8, 8, 1), dtype=np.uint8)
    trained = get_model("resnet19", input_shape=(16, 16, 1), num_classes=10, width=0.125,
                        preprocessing=build_preprocessing(images, image_size=16))
    bare = get_model("resnet19", input_shape=(16, 16, 1), num_classes=10, width=0.125)
    table = layer_table(trained)
    assert "preprocessing" not in set(table["name"]) and table.iloc[0]["name"] == "conv1_conv"
    assert table.iloc[-1]["parameters"] == count_parameters(trained)["total"] == bare.count_params()
    assert table.iloc[-1]["multiply_adds"] == layer_table(bare).iloc[-1]["multiply_adds"]
    assert check_formulas(table) is None


def test_dense_layer_is_the_formula_with_f_equal_1():
    table = layer_table(get_model("vgg19", input_shape=(32, 32, 3), num_classes=10, width=0.125))
    fc1 = table.set_index("name").loc["fc1"]
    # 64 filters x 1 x 1 after the last pooling into 4096 * 0.125 units
    assert (fc1["D"], fc1["F"], fc1["S"], fc1["P"], fc1["K"]) == (64, 1, 1, 0, 512)
    assert fc1["formula_parameters"] == fc1["parameters"] == 512 * (64 + 1)
    assert fc1["formula_output_shape"] == fc1["output_shape"] == (512,)


def test_check_formulas_returns_the_layers_that_disagree():
    table = layer_table(get_model("resnet19", input_shape=(32, 32, 3), num_classes=10, width=0.125))
    broken = table.copy()
    broken.loc[broken["name"] == "conv1_conv", "formula_parameters"] += 1
    broken.at[broken.index[broken["name"] == "predictions"][0], "formula_output_shape"] = (11,)
    wrong = check_formulas(broken)
    assert list(wrong["name"]) == ["conv1_conv", "predictions"]
    assert wrong.loc[0, "formula_parameters"] == wrong.loc[0, "parameters"] + 1
    assert wrong.loc[1, "output_shape"] == (10,) and wrong.loc[1, "formula_output_shape"] == (11,)


def test_check_formulas_refuses_what_it_cannot_check():
    pooling = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.MaxPooling2D(2)])
    with pytest.raises(ValueError, match="MaxPooling2D"):
        check_formulas(layer_table(pooling))
    with pytest.raises(ValueError, match="Received: Sequential"):
        check_formulas(pooling)


@pytest.fixture(scope="module")
def resnet50_at_224():
    """Our ResNet50, its v1.5 variant and keras.applications.ResNet50, at 224x224x3, 1000 classes."""
    return {"ours": get_model("resnet50"), "v1_5": get_model("resnet50_v1_5"),
            "keras": keras.applications.ResNet50(weights=None)}


def _multiply_adds(model) -> int:
    return int(layer_table(model).iloc[-1]["multiply_adds"])


@AT_224
def test_layer_table_multiply_adds_vgg19_and_resnet50(resnet50_at_224):
    # He et al. 2016 at 224x224, FLOPs counted as multiply-adds (Section 3.3): VGG19 19.6 x 10^9
    # (Section 3.3, Figure 3), ResNet50 3.8 x 10^9 (Table 1).
    assert 19.5e9 < _multiply_adds(get_model("vgg19")) < 19.7e9
    paper = _multiply_adds(resnet50_at_224["ours"])
    assert paper == 3_857_973_248 and 3.8e9 <= paper < 3.9e9
    # torchvision's v1.5 (stride in the 3x3): its 1x1 convolutions of conv3-5_block1 run at twice the side.
    assert _multiply_adds(resnet50_at_224["v1_5"]) == 4_089_184_256


@AT_224
def test_resnet50_is_keras_applications_resnet50_up_to_convolution_biases(resnet50_at_224):
    ours, reference = resnet50_at_224["ours"], resnet50_at_224["keras"]
    ours_layers = {layer.name: layer for layer in ours.layers}
    biases = 0
    for layer in reference.layers:
        if not layer.weights:
            continue
        mine = ours_layers[layer.name]  # keras.applications' names, layer for layer
        assert type(mine) is type(layer), layer.name
        if isinstance(layer, keras.layers.Conv2D):
            # Same kernel and stride in every convolution: the stride of a down-sampling
            # bottleneck sits in its first 1x1 convolution in both.
            assert (mine.kernel.shape, mine.strides) == (layer.kernel.shape, layer.strides), layer.name
            assert not mine.use_bias and layer.use_bias
            biases += layer.filters
        else:
            assert [w.shape for w in mine.weights] == [w.shape for w in layer.weights], layer.name
    assert ours.get_layer("conv3_block1_1_conv").strides == (2, 2)
    assert ours.get_layer("conv3_block1_2_conv").strides == (1, 1)
    # keras.applications' total is ours plus one bias per convolution filter (each conv then has BN).
    assert count_parameters(ours)["total"] + biases == reference.count_params() == 25_636_712
    assert _multiply_adds(ours) == _multiply_adds(reference)


@AT_224
def test_resnet50_v1_5_moves_only_the_strides(resnet50_at_224):
    paper, torchvision = resnet50_at_224["ours"], resnet50_at_224["v1_5"]
    moved = [layer.name for layer in paper.layers if isinstance(layer, keras.layers.Conv2D)
             and layer.strides != torchvision.get_layer(layer.name).strides]
    assert moved == [f"conv{stage}_block1_{conv}_conv" for stage in (3, 4, 5) for conv in (1, 2)]
    assert torchvision.get_layer("conv3_block1_2_conv").strides == (2, 2)
    assert [w.shape for w in paper.weights] == [w.shape for w in torchvision.weights]
    overridden = get_model("resnet50", input_shape=(64, 64, 3), num_classes=10, width=0.0625, stride_in="3x3")
    assert overridden.get_layer("conv4_block1_2_conv").strides == (2, 2)


# Zheng et al. 2021, the architecture table ("19 layers"): conv1 3x3, 128, stride=1; blocks of
# (3x3, 128 / 3x3, 128) x3, (3x3, 256 / 3x3, 256)* x3, (3x3, 512 / 3x3, 512)* x2, * = the first
# block down-samples with stride 2; average pool, 256-d FC; 10-d FC, softmax.
RESNET19_TABLE = {"stem": (3, 128, 1), "stages": [(3, 128, 1), (3, 256, 2), (2, 512, 2)], "fc": 256}


@pytest.mark.parametrize("name, stem_filters, projections", [
    ("resnet19", 128, ["conv3_block1_0_conv", "conv4_block1_0_conv"]),
    ("resnet19_tet", 64, ["conv2_block1_0_conv", "conv3_block1_0_conv", "conv4_block1_0_conv"]),
])
def test_resnet19_follows_the_paper_table(name, stem_filters, projections):
    model = get_model(name, input_shape=(32, 32, 3), num_classes=10)
    stem = model.get_layer("conv1_conv")
    assert (stem.kernel_size[0], stem.filters, stem.strides[0]) == (3, stem_filters, 1)
    table_stem = RESNET19_TABLE["stem"]
    assert (stem.filters == table_stem[1]) == (name == "resnet19")  # only the paper's preset has its stem
    assert not any(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers)
    side = 32
    for stage_index, (blocks, filters, stride) in enumerate(RESNET19_TABLE["stages"], start=2):
        side //= stride
        for block in range(1, blocks + 1):
            for conv in (1, 2):
                layer = model.get_layer(f"conv{stage_index}_block{block}_{conv}_conv")
                expected_stride = stride if (block, conv) == (1, 1) else 1
                assert (layer.kernel_size, layer.filters, layer.strides) == ((3, 3), filters, (expected_stride,) * 2)
        assert f"conv{stage_index}_block{blocks + 1}_1_conv" not in [layer.name for layer in model.layers]
        assert tuple(model.get_layer(f"conv{stage_index}_block{blocks}_out").output.shape[1:]) == (side, side, filters)
    assert [layer.name for layer in model.layers if layer.name.endswith("_0_conv")] == projections
    assert isinstance(model.get_layer("avg_pool"), keras.layers.GlobalAveragePooling2D)
    assert model.get_layer("fc").units == RESNET19_TABLE["fc"] and model.get_layer("predictions").units == 10


def test_resnet19_multiply_adds_and_the_stem_option():
    # Counted by hand from the table at 32x32x3: stem 32*32*128*27; stage 1, six 128->128 3x3
    # convolutions at 32x32; stage 2 at 16x16 (128->256, five 256->256, projection 128->256);
    # stage 3 at 8x8 (256->512, three 512->512, projection 256->512); FC 512*256 + 256*10.
    by_hand = (32 * 32 * 128 * 27 + 6 * 32 * 32 * 128 * 128 * 9
               + 16 * 16 * 256 * (128 * 9 + 5 * 256 * 9 + 128)
               + 8 * 8 * 512 * (256 * 9 + 3 * 512 * 9 + 256) + 512 * 256 + 256 * 10)
    assert _multiply_adds(get_model("resnet19", input_shape=(32, 32, 3), num_classes=10)) == by_hand == 2_285_373_952
    # The TET code's stem: 64 filters, stage 1 opens 64->128 with a projection.
    tet = by_hand - 32 * 32 * 64 * 27 - 32 * 32 * 128 * 64 * 9 + 32 * 32 * 128 * 64
    assert _multiply_adds(get_model("resnet19_tet", input_shape=(32, 32, 3), num_classes=10)) == tet == 2_216_495_616
    # The preset is the paper's network with stem_filters overridden, nothing else.
    overridden = get_model("resnet19", input_shape=(32, 32, 3), num_classes=10, stem_filters=64)
    assert count_parameters(overridden) == {"trainable": 12_630_858, "non_trainable": 10_624, "total": 12_641_482}
    with pytest.raises(ValueError, match="stem_filters=0"):
        get_model("resnet19", input_shape=(32, 32, 3), num_classes=10, stem_filters=0)


def test_slides_dense_blow_up_in_the_layer_table():
    # The slides: a 64x64x3 image into 1,000 hidden units has 12,288,000 weights + 1,000 biases.
    dense = keras.Sequential([keras.Input((64 * 64 * 3,)), keras.layers.Dense(1000, name="fc")])
    row = layer_table(dense).iloc[0]
    assert (row["D"], row["K"]) == (64 * 64 * 3, 1000)
    assert row["formula_parameters"] == row["parameters"] == 12_288_000 + 1_000
    assert row["multiply_adds"] == 12_288_000


def test_stem_override_and_family():
    small = get_model("resnet18", input_shape=(32, 32, 3), num_classes=10, stem="small", width=0.125)
    assert "pool1_pool" not in [layer.name for layer in small.layers]
    assert small.get_layer("conv1_conv").kernel_size == (3, 3)
    assert model_family("vgg19_bn") == "vgg" and model_family("plain34") == "resnet"


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: get_model("vgg20"), "vgg20"),
        (lambda: get_model("vgg19", input_shape=(16, 16, 3), num_classes=10), "(16, 16, 3)"),
        (lambda: get_model("resnet18", input_shape=(16, 16, 3), num_classes=10), "(16, 16, 3)"),
        (lambda: get_model("vgg19", input_shape=(32, 32, 3), num_classes=1), "num_classes=1"),
        (lambda: get_model("resnet19", input_shape=(32, 32, 3), num_classes=1), "num_classes=1"),
        (lambda: get_model("vgg19", input_shape=(32, 32, 3), num_classes=10, width=0), "width=0"),
        (lambda: get_model("resnet19", input_shape=(32, 32, 3), num_classes=10, width=-1), "width=-1"),
        (lambda: get_model("vgg19", input_shape=(32, 32), num_classes=10), "(32, 32)"),
        (lambda: get_model("resnet50", input_shape=(1, 32, 32, 3), num_classes=10), "(1, 32, 32, 3)"),
        (lambda: get_model("vgg19", input_shape=(32, 32, 3), num_classes=10, head="huge"), "huge"),
        (lambda: get_model("vgg19", input_shape=(32, 32, 3), num_classes=10,
                           classifier_activation="relu"), "relu"),
        (lambda: get_model("resnet19", input_shape=(32, 32, 3), num_classes=10, stem="big"), "big"),
        (lambda: get_model("resnet50", input_shape=(32, 32, 3), num_classes=10, stride_in="2x2"), "2x2"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_value(call, fragment):
    with pytest.raises(ValueError) as error:
        call()
    assert fragment in str(error.value)
    assert "Received" in str(error.value)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="vgg19_bn"):
        get_model("resnet101")
