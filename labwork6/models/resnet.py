"""Residual networks built with the Keras functional API.

References:
    He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
    (ResNet18/34/50 and the 34-layer plain network; counted like torchvision's models).
    ``resnet50`` is the paper's (Table 1: 3.8 x 10^9 multiply-adds at 224x224), with the
    stride of a down-sampling bottleneck in its first 1x1 convolution, as in
    keras.applications.ResNet50; ``resnet50_v1_5`` moves it to the 3x3 convolution, as
    torchvision's ``resnet50`` does ("ResNet v1.5": same parameters, ~4.1 x 10^9 multiply-adds).
    Zheng, Wu, Deng, Hu & Li, "Going Deeper With Directly-Trained Larger Spiking Neural
    Networks", AAAI 2021 (arXiv:2011.05280): ResNet-19, here with ReLU. Its architecture table
    ("19 layers"): conv1 "3x3, 128, stride=1"; block 1 "(3x3, 128 / 3x3, 128) x 3"; block 2
    "(3x3, 256 / 3x3, 256)* x 3"; block 3 "(3x3, 512 / 3x3, 512)* x 2" ("* means the first basic
    block in the series perform downsampling directly with convolution kernels and a stride of
    2"); "average pool, stride=2, 256-d FC"; "10-d FC, softmax" (quoted as the table is
    reproduced, citing the paper, in nguyenhongson1902/direct-training-snn, README.md). That is
    ``resnet19``: 1 + 16 + 2 = 19 weight layers, 2 projections (stages 2 and 3).
    Deng, Li, Zhang & Gu, "Temporal Efficient Training of Spiking Neural Network via Gradient
    Re-weighting", ICLR 2022 (TET; code brain-intelligence-lab/temporal_efficient_training,
    ``models/resnet_models.py``: ``self.inplanes = 64``, ``nn.Conv2d(3, self.inplanes,
    kernel_size=3, stride=1, padding=1, bias=False)``, ``resnet19 = ResNet(BasicBlock, [3, 3, 2])``)
    runs ResNet-19 with a 64-filter stem and so a third projection (64 -> 128) in stage 1:
    ``resnet19_tet``. The "12.63M" quoted for ResNet-19 (ANN) in later papers (e.g. QKFormer's
    CIFAR-10 table) is this variant's count (12,630,858), not the table's (12,697,994).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from labwork6.models._common import check_common_arguments, front_layers, predictions_layer, scaled

BN_MOMENTUM = 0.9  # PyTorch's 0.1 in Keras' convention; right for few steps per epoch.
BN_EPSILON = 1e-5


@dataclass(frozen=True)
class Stage:
    """``blocks`` residual blocks of ``filters`` filters; the first one has ``stride``."""

    blocks: int
    filters: int
    stride: int


#: Each preset is configuration; one builder turns it into layers.
RESNET_PRESETS = {
    "resnet18": dict(block="basic", stem="imagenet",
                     stages=(Stage(2, 64, 1), Stage(2, 128, 2), Stage(2, 256, 2), Stage(2, 512, 2))),
    "resnet34": dict(block="basic", stem="imagenet",
                     stages=(Stage(3, 64, 1), Stage(4, 128, 2), Stage(6, 256, 2), Stage(3, 512, 2))),
    "resnet50": dict(block="bottleneck", stem="imagenet",
                     stages=(Stage(3, 64, 1), Stage(4, 128, 2), Stage(6, 256, 2), Stage(3, 512, 2))),
    "resnet50_v1_5": dict(block="bottleneck", stem="imagenet", stride_in="3x3",
                          stages=(Stage(3, 64, 1), Stage(4, 128, 2), Stage(6, 256, 2), Stage(3, 512, 2))),
    "plain34": dict(block="basic", stem="imagenet", shortcut=False,
                    stages=(Stage(3, 64, 1), Stage(4, 128, 2), Stage(6, 256, 2), Stage(3, 512, 2))),
    # Zheng et al.'s table: a 3x3/1 stem of 128 filters, no pooling; its "average pool" is global
    # average pooling here, as in the TET code (AdaptiveAvgPool2d((1, 1))), then FC 256.
    "resnet19": dict(block="basic", stem="small", stem_filters=128, head_units=256,
                     stages=(Stage(3, 128, 1), Stage(3, 256, 2), Stage(2, 512, 2))),
    # Deng et al.'s TET code: the same with a 64-filter stem (stage 1 opens with a projection).
    "resnet19_tet": dict(block="basic", stem="small", stem_filters=64, head_units=256,
                         stages=(Stage(3, 128, 1), Stage(3, 256, 2), Stage(2, 512, 2))),
}
STEMS = ("imagenet", "small")
BLOCKS = {"basic": 1, "bottleneck": 4}  # block type -> channel expansion
#: Where a down-sampling bottleneck block puts its stride: "1x1", its first convolution (He et
#: al. 2016, keras.applications), or "3x3", the middle one (torchvision, "ResNet v1.5").
STRIDE_PLACES = ("1x1", "3x3")


def _conv_bn(x, filters, kernel_size, stride, name, relu=True, zero_gamma=False):
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=stride, padding="same", use_bias=False,
        kernel_initializer="he_normal", name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn",
        gamma_initializer="zeros" if zero_gamma else "ones",
    )(x)
    if relu:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def residual_block(x, filters, stride, name, block="basic", shortcut=True, zero_init_residual=False,
                   stride_in="1x1"):
    """One residual block (basic: two 3x3 convs; bottleneck: 1x1, 3x3, 1x1 x4).

    The shortcut is the identity, or a 1x1 convolution with batch norm (projection,
    option B of the paper) when the stride or the channel count changes. With
    ``shortcut=False`` the block is the plain network's (no addition). A bottleneck
    block strides in its first 1x1 convolution (``stride_in="1x1"``, the paper's) or in
    its 3x3 convolution (``"3x3"``, torchvision's v1.5); a basic block in its first 3x3.
    """
    expansion = BLOCKS[block]
    out_channels = filters * expansion
    if block == "basic":
        y = _conv_bn(x, filters, 3, stride, f"{name}_1")
        y = _conv_bn(y, filters, 3, 1, f"{name}_2", relu=False, zero_gamma=zero_init_residual)
    else:
        first_stride, middle_stride = (stride, 1) if stride_in == "1x1" else (1, stride)
        y = _conv_bn(x, filters, 1, first_stride, f"{name}_1")
        y = _conv_bn(y, filters, 3, middle_stride, f"{name}_2")
        y = _conv_bn(y, out_channels, 1, 1, f"{name}_3", relu=False, zero_gamma=zero_init_residual)
    if shortcut:
        if stride != 1 or x.shape[-1] != out_channels:
            x = _conv_bn(x, out_channels, 1, stride, f"{name}_0", relu=False)
        y = keras.layers.Add(name=f"{name}_add")([x, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def build_resnet(
    stages,
    *,
    block: str = "basic",
    stride_in: str = "1x1",
    stem: str = "imagenet",
    stem_filters: int = 64,
    shortcut: bool = True,
    head_units: int | None = None,
    zero_init_residual: bool = False,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    width: float = 1.0,
    classifier_activation: str | None = "softmax",
    preprocessing: keras.Layer | None = None,
    augmentation: keras.Layer | None = None,
    name: str = "resnet",
) -> keras.Model:
    """Build an uncompiled residual network from a list of :class:`Stage`.

    Args:
        stages: the stages, e.g. ``[Stage(2, 64, 1), Stage(2, 128, 2), ...]``.
        block: ``"basic"`` (two 3x3 convolutions) or ``"bottleneck"`` (1x1-3x3-1x1, x4).
        stride_in: where a down-sampling bottleneck block strides: ``"1x1"`` (its first
            convolution; He et al. 2016 and keras.applications, the default) or ``"3x3"``
            (torchvision's "v1.5": the same parameters, more multiply-adds, since the 1x1
            convolution then runs at the higher resolution). Basic blocks ignore it.
        stem: ``"imagenet"`` (7x7/2 convolution + 3x3/2 max pooling, the paper's) or
            ``"small"`` (3x3/1 convolution, no pooling, for 32x32 images).
        stem_filters: filters of the stem convolution (64 in He et al.; ResNet-19: 128 in
            Zheng et al.'s table, 64 in the TET code).
        shortcut: False removes every shortcut (the paper's "plain" networks).
        head_units: an optional hidden Dense+ReLU layer before the classifier (ResNet19).
        zero_init_residual: start each block's last batch-norm scale at zero (Goyal et
            al. 2017), so every block starts as the identity.
        input_shape, num_classes, width, classifier_activation: as in
            :func:`labwork6.models.vgg.build_vgg`.
        preprocessing, augmentation: optional layers in front of the network, as in
            :func:`labwork6.models.vgg.build_vgg`.

    Returns:
        An uncompiled ``keras.Model`` (functional API) with keras.applications names
        (``conv1_conv``, ``conv2_block1_out``, ``avg_pool``, ``predictions``).
    """
    if block not in BLOCKS:
        raise ValueError(f"`block` must be one of {sorted(BLOCKS)}. Received: block={block!r}")
    if stride_in not in STRIDE_PLACES:
        raise ValueError(f"`stride_in` must be one of {list(STRIDE_PLACES)}. Received: stride_in={stride_in!r}")
    if stem not in STEMS:
        raise ValueError(f"`stem` must be one of {list(STEMS)}. Received: stem={stem!r}")
    if isinstance(stem_filters, bool) or not isinstance(stem_filters, int) or stem_filters < 1:
        raise ValueError(f"`stem_filters` must be a positive int. Received: stem_filters={stem_filters!r}")
    stages = [s if isinstance(s, Stage) else Stage(*s) for s in stages]
    if not stages:
        raise ValueError(f"`stages` must list at least one stage. Received: stages={stages!r}")
    down_sampling = 4 if stem == "imagenet" else 1
    for stage in stages:
        down_sampling *= stage.stride
    check_common_arguments(input_shape, num_classes, width, classifier_activation, down_sampling)

    raw_shape, front = front_layers(input_shape, preprocessing, augmentation)
    inputs = x = keras.Input(shape=raw_shape, name="input_layer")
    for layer in front:
        x = layer(x)
    if stem == "imagenet":
        x = _conv_bn(x, scaled(stem_filters, width), 7, 2, "conv1")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)
    else:
        x = _conv_bn(x, scaled(stem_filters, width), 3, 1, "conv1")
    for stage_index, stage in enumerate(stages, start=2):
        for block_index in range(1, stage.blocks + 1):
            x = residual_block(
                x,
                scaled(stage.filters, width),
                stage.stride if block_index == 1 else 1,
                f"conv{stage_index}_block{block_index}",
                block=block,
                shortcut=shortcut,
                zero_init_residual=zero_init_residual,
                stride_in=stride_in,
            )
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if head_units:
        x = keras.layers.Dense(scaled(head_units, width), activation="relu", name="fc")(x)
    outputs = predictions_layer(num_classes, classifier_activation)(x)
    return keras.Model(inputs, outputs, name=name)


def build_resnet_preset(preset: str, *, stem: str | None = None, **kwargs) -> keras.Model:
    """Build a preset of :data:`RESNET_PRESETS` (``resnet18``, ``resnet19`` (Zheng et al.'s
    table, 128-filter stem), ``resnet19_tet`` (the TET code's 64-filter stem), ``resnet34``,
    ``resnet50`` (He et al.'s), ``resnet50_v1_5`` (torchvision's), ``plain34``); ``stem``
    overrides the preset's own stem; other keyword arguments go to :func:`build_resnet` and
    override the preset's (e.g. ``stride_in``, ``stem_filters``)."""
    if preset not in RESNET_PRESETS:
        raise ValueError(
            f"Unknown ResNet preset. Valid: {sorted(RESNET_PRESETS)}. Received: preset={preset!r}"
        )
    config = dict(RESNET_PRESETS[preset])
    if stem is not None:
        config["stem"] = stem
    stages = config.pop("stages")
    return build_resnet(stages, name=preset, **{**config, **kwargs})

