"""Where a training step's time goes: TensorFlow's profiler trace and oneDNN's verbose log, per op class.

:func:`step_profile` builds a default-profile network exactly as training does
(``labwork6.train.resolve_config`` / ``build_model`` / ``compile_model``, fed by ``make_pipeline``
with the model's augmentation), warms it up, times a few plain steps, then traces a few more with
``tf.profiler.experimental`` and sums the ops' durations per class (:func:`classify`). It runs in a
child process (``run.py --worker``) so that thread settings and ``ONEDNN_VERBOSE`` apply from the
start; :func:`onednn_summary` reads the primitives oneDNN ran (ISA, kernel, time) from that
child's output between two markers.
"""

from __future__ import annotations

import glob
import math
import re
import tempfile
import time
from collections import Counter, defaultdict

#: Printed around the measured steps, so the oneDNN lines of warm-up and tracing are left out.
BEGIN_MARK, END_MARK = "### labwork6 measured steps begin", "### labwork6 measured steps end"

#: Op classes in the order the tables list them.
CLASSES = (
    "forward conv", "backward-data conv", "backward-filter conv", "batch norm forward", "batch norm backward",
    "ReLU forward+backward", "pooling forward+backward", "dense head matmuls (fwd+bwd)", "residual adds + grads",
    "optimizer update", "casts", "augmentation", "preprocessing (rescale/resize/normalize)",
    "loss + metrics", "data input (in the step)", "other",
)

#: Batch-norm layers' scopes: VGG19-BN's block1_bn1, ResNets' conv1_bn and conv2_block1_1_bn.
_BATCH_NORM = re.compile(r"/(block\d+_bn\d+|conv\d+(_block\d+_\d+)?_bn)(_\d+)?/")
_OP_EVENT = re.compile(r"^(?P<name>[^:]+(?:/[^:]+)*):(?P<type>[A-Za-z_][A-Za-z0-9_]*)$")


def classify(name: str, op_type: str) -> str:
    """The class of one TensorFlow op of a train step, from its scoped name and its type.

    Scopes first (the optimizer's update, augmentation and preprocessing contain casts and
    element-wise ops of their own), then the op type."""
    lowered = name.lower()
    if re.search(r"(^|/)(adam_?w?|sgd|adam)(_\d+)?/", lowered):
        return "optimizer update"
    if "augmentation" in lowered or "random_translation" in lowered or "random_flip" in lowered:
        return "augmentation"
    if "preprocessing" in lowered:
        return "preprocessing (rescale/resize/normalize)"
    if "Conv2DBackpropInput" in op_type:
        return "backward-data conv"
    if "Conv2DBackpropFilter" in op_type:
        return "backward-filter conv"
    if "Conv2D" in op_type:
        return "forward conv"
    # Keras 3 computes batch norm from element-wise ops (moments, then scale and shift), not
    # with TensorFlow's FusedBatchNorm kernel: the layer's scope finds them.
    if "FusedBatchNorm" in op_type or _BATCH_NORM.search(name):
        backward = "FusedBatchNormGrad" in op_type or "gradient_tape" in name
        return "batch norm backward" if backward else "batch norm forward"
    if "Relu" in op_type:
        return "ReLU forward+backward"
    if "Pool" in op_type or re.search(r"(pool|global_average)", lowered):
        return "pooling forward+backward"
    if "MatMul" in op_type or re.search(r"/(fc\d|predictions)(_\d+)?/", lowered):
        return "dense head matmuls (fwd+bwd)"
    if op_type == "Cast":
        return "casts"
    if "Iterator" in op_type or "Optional" in op_type:
        return "data input (in the step)"
    if re.search(r"(crossentropy|compile_loss|compile_metrics|accuracy|softmax|/mean(_\d+)?/|loss)", lowered):
        return "loss + metrics"
    if op_type == "AddN" or (re.search(r"(_add|/add(_\d+)?/|_out/)", lowered) and op_type in ("AddV2", "Add")):
        return "residual adds + grads"
    return "other"


def _xspace(logdir: str):
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
    if not files:
        raise FileNotFoundError(f"No *.xplane.pb under {logdir}: the profiler wrote no trace")
    space = xplane_pb2.XSpace()
    with open(files[0], "rb") as handle:
        space.ParseFromString(handle.read())
    return space


def _merged_length(intervals) -> float:
    """Total length covered by ``intervals`` ((start, end) pairs), overlaps counted once."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def trace_ops(logdir: str, step_event: str = "multi_step_on_iterator") -> dict:
    """Op events of a trace, per class: summed milliseconds, counts, and the steps' wall time.

    Returns ``{"steps": n, "step_ms": [...], "busy_ms": covered time of all ops,
    "classes": {class: ms}, "counts": {class: n}, "top": [(ms, name, type), ...],
    "op_types": {class: {type: ms}}}``; op times are summed over the executor threads
    (with one inter-op thread they do not overlap)."""
    space = _xspace(logdir)
    host = next(plane for plane in space.planes if plane.name == "/host:CPU")
    names = {key: meta.name for key, meta in host.event_metadata.items()}
    steps, ops = [], []
    for line in host.lines:
        base = line.timestamp_ns * 1000  # picoseconds
        for event in line.events:
            name = names[event.metadata_id]
            start = base + event.offset_ps
            if name == step_event:
                steps.append((start, start + event.duration_ps))
            elif "::" not in name and (match := _OP_EVENT.match(name)) and line.name.startswith("tf_"):
                ops.append((start, start + event.duration_ps, match["name"], match["type"]))
    steps.sort()
    if not steps:
        raise ValueError(f"No {step_event!r} event in the trace under {logdir}")
    first, last = steps[0][0], steps[-1][1]
    inside = [op for op in ops if op[0] >= first and op[1] <= last and not op[2].startswith("_send")]
    classes, counts, types = Counter(), Counter(), defaultdict(Counter)
    per_op = Counter()
    for start, end, name, op_type in inside:
        label = classify(name, op_type)
        milliseconds = (end - start) / 1e9
        classes[label] += milliseconds
        counts[label] += 1
        types[label][op_type] += milliseconds
        per_op[(name, op_type)] += milliseconds
    return {
        "steps": len(steps), "step_ms": [(end - start) / 1e9 for start, end in steps],
        "busy_ms": _merged_length((start, end) for start, end, *_ in inside) / 1e9,
        "classes": dict(classes), "counts": dict(counts),
        "op_types": {label: dict(value.most_common(6)) for label, value in types.items()},
        "top": [(ms, name, op_type) for (name, op_type), ms in per_op.most_common(25)],
    }


def _setup(model: str, batch_size: int | None = None, seed: int = 100, width: float | None = None):
    """A default-profile run's model, compiled, and its training stream, as labwork6.train builds
    them (``batch_size`` and ``width`` None: the recipe's; the data split of ``seed``)."""
    import keras

    from labwork6.data import load_dataset
    from labwork6.preprocessing import make_pipeline
    from labwork6.profiles import resolve_precision
    from labwork6.train import build_model, compile_model, precision_policy, resolve_config, targets

    config = resolve_config(model, profile="default", seed=0, batch_size=batch_size, width=width)
    data = load_dataset("digits", seed=seed)
    steps_per_epoch = math.ceil(len(data.train.labels) / config.batch_size)
    precision = resolve_precision(config.precision)
    keras.utils.set_random_seed(0)
    with precision_policy(precision):
        network = build_model(config, data)
        compile_model(network, config, binary=data.num_classes == 2, steps_per_epoch=steps_per_epoch)
    stream = make_pipeline(data.train.images, targets(data.train.labels, data.num_classes),
                           batch_size=config.batch_size, training=True, seed=0, epochs=config.epochs)
    return network, stream, config, precision


def step_profile(spec: dict) -> dict:
    """In this (child) process: warm up, time plain steps, trace steps; the per-class breakdown.

    ``spec``: ``model``, ``warmup_steps``, ``timed_steps``, ``traced_steps``, optional
    ``batch_size``. Prints :data:`BEGIN_MARK` / :data:`END_MARK` around ``timed_steps`` plain
    steps (for ``ONEDNN_VERBOSE``)."""
    import tensorflow as tf

    from labwork6.train import precision_policy

    network, stream, config, precision = _setup(spec["model"], spec.get("batch_size"), width=spec.get("width"))
    with precision_policy(precision):
        start = time.perf_counter()
        network.fit(stream, epochs=1, steps_per_epoch=spec["warmup_steps"], verbose=0)
        warmup_seconds = time.perf_counter() - start
        print(BEGIN_MARK, flush=True)
        start = time.perf_counter()
        network.fit(stream, epochs=1, steps_per_epoch=spec["timed_steps"], verbose=0)
        plain = (time.perf_counter() - start) / spec["timed_steps"]
        print(END_MARK, flush=True)
        with tempfile.TemporaryDirectory() as logdir:
            tf.profiler.experimental.start(logdir)
            start = time.perf_counter()
            network.fit(stream, epochs=1, steps_per_epoch=spec["traced_steps"], verbose=0)
            traced = (time.perf_counter() - start) / spec["traced_steps"]
            tf.profiler.experimental.stop()
            report = trace_ops(logdir)
    parameters = sum(int(math.prod(v.shape)) for v in network.trainable_variables)
    return {**report, "model": spec["model"], "batch_size": config.batch_size, "precision": precision,
            "warmup_seconds": warmup_seconds, "plain_step_ms": plain * 1000, "traced_fit_step_ms": traced * 1000,
            "trainable_parameters": parameters, "trainable_variables": len(network.trainable_variables),
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


# ---------------------------------------------------------------------------------------------
# oneDNN's verbose log

def onednn_summary(lines) -> list[dict]:
    """The primitives oneDNN ran (``onednn_verbose,...,exec,...`` lines): one row per (primitive,
    implementation, propagation kind) with its count and summed milliseconds, largest first.

    Lines from oneDNN 3.x: ``onednn_verbose,v1,primitive,exec,cpu,convolution,brgconv:avx512_core,
    forward_training,src:f32::blocked:acdb::f0 ...,attrs,alg,shapes,ms``; older ones lack
    ``v1,primitive``."""
    rows = defaultdict(lambda: {"count": 0, "ms": 0.0, "shapes": Counter()})
    for line in lines:
        if not line.startswith("onednn_verbose"):
            continue
        fields = line.strip().split(",")
        if "exec" not in fields[:5]:
            continue
        index = fields.index("exec")
        try:
            kind, implementation, propagation = fields[index + 2], fields[index + 3], fields[index + 4]
            milliseconds = float(fields[-1])
        except (IndexError, ValueError):
            continue
        row = rows[(kind, implementation, propagation)]
        row["count"] += 1
        row["ms"] += milliseconds
        row["gflop"] = row.get("gflop", 0.0) + primitive_flops(kind, fields[-2]) / 1e9
        row["shapes"][fields[-2]] += 1
        row.setdefault("formats", fields[index + 5][:160])
    found = [{"primitive": k[0], "implementation": k[1], "propagation": k[2], "count": v["count"],
              "ms": v["ms"], "gflop": v["gflop"], "gflops_per_second": v["gflop"] / v["ms"] * 1e3 if v["ms"] else 0.0,
              "formats": v["formats"], "shapes": dict(v["shapes"].most_common(4))}
             for k, v in rows.items()]
    return sorted(found, key=lambda row: -row["ms"])


def primitive_flops(kind: str, shape: str) -> float:
    """FLOPs of one oneDNN convolution, inner product or gemm from its verbose shape string
    (``mb32_ic64oc128_ih16oh16kh3sh1dh0ph1_iw16ow16kw3sw1dw0pw1``, ``mb32ic512oc4096``,
    ``4096x32:32x4096``); 0 for other primitives. Forward and both backward passes of a
    convolution cost the same: 2 x mb x oc x oh x ow x ic x kh x kw."""
    if kind in ("convolution", "inner_product"):
        values = {key: int(value) for key, value in re.findall(r"([a-z]+)(\d+)", shape)}
        spatial = 1
        for out, kernel in (("oh", "kh"), ("ow", "kw"), ("od", "kd")):
            spatial *= values.get(out, 1) * values.get(kernel, 1)
        groups = values.get("g", 1)
        return 2.0 * values.get("mb", 1) * values.get("oc", 0) * values.get("ic", 0) * spatial / groups
    if kind == "gemm_api" and (match := re.fullmatch(r"(\d+)x(\d+):(\d+)x(\d+)", shape)):
        rows, inner, _, columns = (int(value) for value in match.groups())
        return 2.0 * rows * inner * columns
    return 0.0


def onednn_create_ms(lines) -> float:
    """Milliseconds oneDNN spent creating primitives (``create`` lines; ``ONEDNN_VERBOSE=2`` or more)."""
    total = 0.0
    for line in lines:
        if line.startswith("onednn_verbose") and ",create" in line:
            try:
                total += float(line.strip().split(",")[-1])
            except ValueError:
                pass
    return total


def between_marks(text: str) -> list[str]:
    """The lines of ``text`` between :data:`BEGIN_MARK` and :data:`END_MARK`."""
    lines = text.splitlines()
    try:
        begin, end = lines.index(BEGIN_MARK), lines.index(END_MARK)
    except ValueError:
        return []
    return lines[begin + 1:end]
