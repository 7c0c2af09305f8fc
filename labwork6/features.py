"""What the convolutions learn: first-layer filters, feature maps and Grad-CAM heatmaps.

Computation only (the pictures are in :mod:`labwork6.plots`). Everything works on a
trained Keras model of :mod:`labwork6.models` (VGG built with ``keras.Sequential``,
ResNets with the functional API; TensorFlow backend) and finds layers by their
keras.applications names. Models trained under the ``mixed_bfloat16`` policy compute
in bfloat16; every array returned here is float32.

``images`` are raw images ``(N, H, W, C)`` (values 0-255, uint8 or float), as a trained
model of :func:`labwork6.train.train` takes them: its first layers resize and normalise them.

Reference:
    Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra, "Grad-CAM: Visual Explanations
    from Deep Networks via Gradient-based Localization", ICCV 2017 (arXiv:1610.02391).
    Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
"""

from __future__ import annotations

import re
import weakref

import keras
import numpy as np
import tensorflow as tf

from labwork6.metrics import as_labels

_VGG_BLOCK = re.compile(r"^block(\d+)_pool$")
_RESNET_BLOCK = re.compile(r"^conv(\d+)_block(\d+)_out$")

_BATCH_SIZE = 64

#: One symbolic graph per Sequential model (see :func:`_graph`).
_SEQUENTIAL_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layer_names(model: keras.Model) -> list[str]:
    return [layer.name for layer in model.layers]


def _get_layer(model: keras.Model, name: str) -> keras.layers.Layer:
    names = _layer_names(model)
    if name not in names:
        raise ValueError(
            f"Model {model.name!r} has no layer {name!r}. Valid layer names: {', '.join(names)}. "
            f"Received: layer_name={name!r}"
        )
    return model.get_layer(name)


def _single_input(model: keras.Model):
    inputs = model.inputs
    if not inputs or len(inputs) != 1:
        raise ValueError(
            f"Expected a built model with exactly one input. Received: model {model.name!r} with "
            f"inputs={inputs!r}"
        )
    return inputs[0]


def _graph(model: keras.Model):
    """``(input tensor, {layer name: (layer input, layer output)})`` of one connected graph.

    A functional model has it already. A ``keras.Sequential`` rebuilds its graph each time
    a layer is added, so ``layer.output`` belongs to an older graph than the model's
    output, and a gradient from one to the other is None: the layers are called once more
    on a fresh input here, sharing their weights, and the graph is kept for the model.
    """
    if not isinstance(model, keras.Sequential):
        tensors = {}
        for layer in model.layers:
            try:
                tensors[layer.name] = (layer.input, layer.output)
            except (AttributeError, ValueError):  # e.g. a layer used twice: not one tensor
                continue
        return _single_input(model), tensors
    if model not in _SEQUENTIAL_GRAPHS:
        original = _single_input(model)
        inputs = keras.Input(shape=tuple(original.shape[1:]), dtype=original.dtype, name="input_layer")
        tensors, x = {}, inputs
        for layer in model.layers:
            y = layer(x)
            tensors[layer.name] = (x, y)
            x = y
        _SEQUENTIAL_GRAPHS[model] = (inputs, tensors)
    return _SEQUENTIAL_GRAPHS[model]


def _check_images(model: keras.Model, images) -> tuple[np.ndarray, bool]:
    """float32 batch ``(N, H, W, C)`` matching the model input; also whether one image was given."""
    array = np.asarray(images)
    single = array.ndim == 3
    if single:
        array = array[None]
    expected = tuple(_single_input(model).shape[1:])
    if array.ndim != 4 or any(
        e is not None and e != s for e, s in zip(expected, array.shape[1:], strict=True)
    ):
        raise ValueError(
            f"`images` must have shape (N, {', '.join(str(e or 'any') for e in expected)}) to fit the model. "
            f"Received: images with shape {np.asarray(images).shape}"
        )
    if len(array) == 0:
        raise ValueError(f"`images` is empty. Received: images with shape {array.shape}")
    return array.astype(np.float32, copy=False), single


def block_output_layers(model: keras.Model) -> list[str]:
    """Names of the last layer of each block, from the input to the output.

    VGG: ``block1_pool`` ... ``block5_pool``. ResNet: ``conv1_relu`` (the stem), then the
    last ``conv{s}_block{b}_out`` of each stage ``s``.
    """
    names = _layer_names(model)
    vgg = [name for name in names if _VGG_BLOCK.match(name)]
    if vgg:
        return sorted(vgg, key=lambda name: int(_VGG_BLOCK.match(name).group(1)))
    last_block = {}
    for name in names:
        match = _RESNET_BLOCK.match(name)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            if block >= last_block.get(stage, (0, ""))[0]:
                last_block[stage] = (block, name)
    if last_block:
        stem = ["conv1_relu"] if "conv1_relu" in names else []
        return stem + [last_block[stage][1] for stage in sorted(last_block)]
    raise ValueError(
        "Cannot find the blocks of this model: expected VGG layers named 'block{b}_pool' or "
        f"ResNet layers named 'conv{{s}}_block{{b}}_out'. Received: model {model.name!r} with "
        f"layers {names}"
    )


def gradcam_layer(model: keras.Model) -> str:
    """The layer :func:`grad_cam` uses by default: the output of the last convolutional block,
    as Selvaraju et al. use the last convolutional layer.

    VGG: the activation of the last convolution, before the last pooling (``block5_conv4``, or
    ``block5_relu4`` with batch norm). ResNet: the last ``conv{s}_block{b}_out``. On small inputs
    these maps are small (2x2 for VGG19 at 32x32): coarse, but what the classifier reads.
    """
    blocks = block_output_layers(model)
    if not _VGG_BLOCK.match(blocks[-1]):
        return blocks[-1]
    names = _layer_names(model)
    return names[names.index(blocks[-1]) - 1]


def feature_maps(model: keras.Model, images, layer_names=None) -> dict[str, np.ndarray]:
    """Outputs of some layers for some images.

    Args:
        model: a model of :mod:`labwork6.models`.
        images: model inputs ``(N, H, W, C)`` (or one image ``(H, W, C)``).
        layer_names: layers to read; default :func:`block_output_layers` (the slides'
            "image features learned automatically by convolutional layers", block by block).

    Returns:
        ``{layer name: float32 array (N, h, w, channels)}`` in the order asked
        (without the batch axis if one image was given).
    """
    if layer_names is None:
        layer_names = block_output_layers(model)
    elif isinstance(layer_names, str):
        layer_names = [layer_names]
    layer_names = list(layer_names)
    if not layer_names:
        raise ValueError(f"`layer_names` must name at least one layer. Received: layer_names={layer_names}")
    for name in layer_names:
        _get_layer(model, name)
    array, single = _check_images(model, images)
    inputs, tensors = _graph(model)
    outputs = [tensors[name][1] for name in layer_names]
    extractor = keras.Model(inputs, outputs, name=f"{model.name}_features")
    batches = [[] for _ in layer_names]
    for start in range(0, len(array), _BATCH_SIZE):
        results = extractor(array[start : start + _BATCH_SIZE], training=False)
        if not isinstance(results, list | tuple):
            results = [results]
        for collected, result in zip(batches, results, strict=True):
            collected.append(np.asarray(tf.cast(result, tf.float32)))
    maps = {name: np.concatenate(parts) for name, parts in zip(layer_names, batches, strict=True)}
    return {name: value[0] for name, value in maps.items()} if single else maps


def first_layer_filters(model: keras.Model) -> np.ndarray:
    """Kernel of the first ``Conv2D`` layer as float32 ``(F, F, D, K)``: F x F pixels,
    D input channels, K filters (bias excluded)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            return np.asarray(tf.cast(layer.kernel, tf.float32))
    raise ValueError(f"Model {model.name!r} has no Conv2D layer. Received: layers {_layer_names(model)}")


def _logits_head(model: keras.Model, tensors: dict):
    """The tensor that feeds the ``predictions`` Dense layer and that layer, or
    ``(model output, None)`` for other models."""
    if "predictions" in tensors:
        layer = model.get_layer("predictions")
        if isinstance(layer, keras.layers.Dense):
            return tensors["predictions"][0], layer
    return tensors[model.layers[-1].name][1], None


def grad_cam(model: keras.Model, images, layer_name: str | None = None, class_indices=None) -> np.ndarray:
    """Grad-CAM heatmaps: where in each image the evidence for a class lies.

    The class score is the logit, before softmax or sigmoid, as in the paper (computed
    from the input of the ``predictions`` Dense layer, so saturated probabilities do not
    zero the gradients). Its gradient with respect to the maps of ``layer_name``, averaged
    over the pixels, weighs each channel; the weighted sum of the channels, through a
    ReLU, is the heatmap. Each heatmap is resized bilinearly to the image size and
    divided by its maximum (all zeros if nothing speaks for the class).

    A single sigmoid unit (binary model) scores class 1 with the logit ``z`` and class 0
    with ``-z``: ``sigmoid(-z)`` is the probability of class 0, so the "negative class"
    map shows the evidence for that class, not merely the absence of the other.

    Args:
        model: a model of :mod:`labwork6.models` (softmax, sigmoid or logits output).
        images: model inputs ``(N, H, W, C)`` (or one image ``(H, W, C)``).
        layer_name: the convolutional layer to explain; default :func:`gradcam_layer`.
        class_indices: one class per image (or one int for all); default the predicted
            class of each image.

    Returns:
        float32 heatmaps ``(N, H, W)`` in [0, 1] (``(H, W)`` for one image).
    """
    array, single = _check_images(model, images)
    layer_name = layer_name or gradcam_layer(model)
    _get_layer(model, layer_name)
    inputs, tensors = _graph(model)
    head_input, dense = _logits_head(model, tensors)
    explainer = keras.Model(inputs, [tensors[layer_name][1], head_input], name=f"{model.name}_gradcam")
    probability_output = dense is None and model.layers[-1].get_config().get("activation") in (
        "softmax",
        "sigmoid",
    )

    if class_indices is not None:
        requested = np.asarray(class_indices)
        if requested.ndim > 1 or (requested.ndim == 1 and len(requested) != len(array)):
            raise ValueError(
                f"`class_indices` must be one class per image ({len(array)}) or a single int. "
                f"Received: class_indices with shape {requested.shape}"
            )
        class_indices = np.broadcast_to(requested, (len(array),)).astype(np.int64)

    heatmaps = []
    for start in range(0, len(array), _BATCH_SIZE):
        batch = tf.convert_to_tensor(array[start : start + _BATCH_SIZE])
        with tf.GradientTape() as tape:
            maps, head = explainer(batch, training=False)
            head = tf.cast(head, tf.float32)
            if dense is not None:
                logits = tf.matmul(head, tf.cast(dense.kernel, tf.float32))
                if dense.use_bias:
                    logits = logits + tf.cast(dense.bias, tf.float32)
            elif probability_output and head.shape[-1] == 1:
                probability = tf.clip_by_value(head, 1e-7, 1 - 1e-7)
                logits = tf.math.log(probability) - tf.math.log1p(-probability)
            elif probability_output:
                logits = tf.math.log(tf.clip_by_value(head, 1e-7, 1.0))
            else:
                logits = head
            units = logits.shape[-1]
            num_classes = 2 if units == 1 else units
            if class_indices is None:
                chosen = (
                    (logits[:, 0] >= 0).numpy().astype(np.int64)
                    if units == 1
                    else (tf.argmax(logits, axis=-1).numpy())
                )
            else:
                chosen = as_labels(class_indices[start : start + len(batch)], "class_indices", num_classes)
            if units == 1:
                sign = tf.constant(np.where(chosen == 1, 1.0, -1.0), dtype=tf.float32)
                scores = sign * logits[:, 0]
            else:
                scores = tf.gather(logits, chosen, axis=1, batch_dims=1)
            total = tf.reduce_sum(scores)
        gradients = tape.gradient(total, maps)
        if gradients is None:
            raise ValueError(
                f"The output does not depend on layer {layer_name!r}. Received: layer_name={layer_name!r}"
            )
        maps = tf.cast(maps, tf.float32)
        weights = tf.reduce_mean(tf.cast(gradients, tf.float32), axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))
        cam = tf.image.resize(cam[..., None], array.shape[1:3], method="bilinear")[..., 0]
        # Normalised after resizing, so that every non-empty heatmap peaks at exactly 1.
        cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True))
        heatmaps.append(np.clip(cam.numpy(), 0.0, 1.0).astype(np.float32))
    result = np.concatenate(heatmaps)
    return result[0] if single else result
