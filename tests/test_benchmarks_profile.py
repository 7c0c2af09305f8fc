"""The step breakdown's parsers and the prototype AdamW updates (benchmarks/), without training."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_module(name: str):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # the modules import each other by their names
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def profile():
    return load_module("_profile")


@pytest.mark.parametrize(("name", "op_type", "expected"), [
    ("StatefulPartitionedCall/vgg19_bn_1/block4_conv2_1/BiasAdd", "_MklNativeFusedConv2D", "forward conv"),
    ("StatefulPartitionedCall/gradient_tape/vgg19_bn_1/block5_conv1_1/convolution/Conv2DBackpropInput",
     "_MklNativeConv2DBackpropInput", "backward-data conv"),
    ("StatefulPartitionedCall/gradient_tape/resnet19_1/conv4_block2_1_conv_1/convolution/Conv2DBackpropFilter",
     "_MklNativeConv2DBackpropFilter", "backward-filter conv"),
    # Keras 3 batch norm is element-wise ops in the layer's scope; the model's name "vgg19_bn" is not one.
    ("StatefulPartitionedCall/vgg19_bn_1/block1_bn1_1/moments/mean", "Mean", "batch norm forward"),
    ("StatefulPartitionedCall/gradient_tape/resnet19_1/conv2_block1_1_bn_1/batchnorm/mul/Mul", "Mul",
     "batch norm backward"),
    ("StatefulPartitionedCall/vgg19_bn_1/fc1_1/MatMul", "_MklMatMul", "dense head matmuls (fwd+bwd)"),
    ("StatefulPartitionedCall/adam_w/Square_66", "Square", "optimizer update"),
    ("StatefulPartitionedCall/adam_w/Cast_3", "Cast", "optimizer update"),
    ("StatefulPartitionedCall/vgg19_bn_1/augmentation_1/random_translation_1/transform", "ImageProjectiveTransformV3",
     "augmentation"),
    ("StatefulPartitionedCall/vgg19_bn_1/block1_pool_1/MaxPool", "_MklNativeMaxPool", "pooling forward+backward"),
    ("StatefulPartitionedCall/vgg19_bn_1/block1_relu1_1/Relu", "Relu", "ReLU forward+backward"),
    ("StatefulPartitionedCall/gradient_tape/resnet19_1/conv2_block1_add_1/AddN", "AddN", "residual adds + grads"),
])
def test_classify_puts_each_op_in_its_class(profile, name, op_type, expected):
    assert profile.classify(name, op_type) == expected


def test_primitive_flops_reads_onednn_shapes(profile):
    conv = "mb32_ic64oc128_ih16oh16kh3sh1dh0ph1_iw16ow16kw3sw1dw0pw1"
    assert profile.primitive_flops("convolution", conv) == 2 * 32 * 128 * 64 * 16 * 16 * 3 * 3
    assert profile.primitive_flops("inner_product", "mb32ic512oc4096") == 2 * 32 * 512 * 4096
    assert profile.primitive_flops("gemm_api", "4096x32:32x4096") == 2 * 4096 * 32 * 4096
    assert profile.primitive_flops("reorder", "3x3x64x64") == 0


def test_onednn_summary_groups_exec_lines_between_the_marks(profile):
    conv = ("onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,"
            "src:f32::blocked:acdb::f0 wei:f32:a:blocked:Adcb16a::f0,attr-scratchpad:user,alg:convolution_direct,"
            "mb32_ic64oc64_ih32oh32kh3sh1dh0ph1_iw32ow32kw3sw1dw0pw1,{ms}")
    reorder = ("onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:cdba::f0 "
               "dst:f32::blocked:Acdb32a::f0,,,3x3x64x64,0.5")
    text = "\n".join(["onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost", conv.format(ms=100.0),
                      profile.BEGIN_MARK, conv.format(ms=10.0), conv.format(ms=30.0), reorder,
                      "onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,x,y,z,,,s,2.5",
                      profile.END_MARK, conv.format(ms=1000.0)])
    lines = profile.between_marks(text)
    rows = profile.onednn_summary(lines)
    assert [(r["primitive"], r["implementation"], r["count"]) for r in rows] == [
        ("convolution", "brg_conv_fwd:avx512_core", 2), ("reorder", "jit:uni", 1)]
    flops = 2 * 32 * 64 * 64 * 32 * 32 * 9
    assert rows[0]["ms"] == pytest.approx(40.0)
    assert rows[0]["gflops_per_second"] == pytest.approx(2 * flops / 1e9 / 0.040)
    assert profile.onednn_create_ms(lines) == pytest.approx(2.5)


def test_merged_length_counts_overlaps_once(profile):
    assert profile._merged_length([(0, 10), (5, 15), (20, 25)]) == 20
    assert profile._merged_length([]) == 0


def test_fused_and_xla_adamw_match_keras_adamw():
    # A weight decay large enough that leaving it out, or applying it after the step, shows.
    optimizers = load_module("_optimizers")
    found = optimizers.agreement(steps=6, shapes=((3, 3, 4, 8), (64,), (32, 16)), weight_decay=0.5)
    for kind, report in found.items():
        assert report["max_movement"] > 1e-3, kind
        assert report["max_abs_difference"] < 1e-6, (kind, report)
