"""Training on several devices or machines: the strategy, and which worker writes the run folder.

``mirrored`` trains on every local GPU (or every logical CPU device) with
``tf.distribute.MirroredStrategy``. ``multiworker`` trains on the machines that the ``TF_CONFIG``
environment variable lists, with ``tf.distribute.MultiWorkerMirroredStrategy``; every worker
runs the same command, and only the chief (task ``chief``, or worker 0 when the cluster has no
chief) writes the run folder: the others write to a temporary folder, as TensorFlow's
multi-worker guide does for checkpoints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tensorflow as tf
from keras import tree

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a multi-worker cluster."""

    task_type: str
    index: int
    num_workers: int
    has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        """The chief task, or worker 0 of a cluster without one: the process that writes the run."""
        return self.task_type == "chief" or (self.task_type == "worker" and self.index == 0 and not self.has_chief)


def cluster_task(environ=os.environ) -> ClusterTask:
    """Parse and check ``TF_CONFIG``; raise ``ValueError`` naming what is wrong and showing a valid one."""
    text = environ.get("TF_CONFIG")
    hint = f"Set TF_CONFIG on every machine, e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' (index 1 on the second)."
    if not text:
        raise ValueError(f"--distribute multiworker needs the TF_CONFIG environment variable. {hint} "
                         "Received: TF_CONFIG unset")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, index = task["type"], task["index"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"TF_CONFIG must be JSON with 'cluster' and 'task' {{'type', 'index'}}. {hint} "
                         f"Received: TF_CONFIG={text!r}") from None
    members = cluster.get(task_type) if isinstance(cluster, dict) else None
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise ValueError(f"TF_CONFIG's task {task!r} is not in its cluster {cluster!r}. {hint} "
                         f"Received: TF_CONFIG={text!r}")
    num_workers = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    return ClusterTask(task_type, index, num_workers, has_chief=bool(cluster.get("chief")))


def distribution_strategy(name: str | None):
    """None (one device), ``mirrored`` or ``multiworker``; create it before any other TensorFlow
    op (collective ops must be configured at program start-up)."""
    if name is None:
        return None
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
                  [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
                                              if not tf.config.list_logical_devices("GPU") else None)
    cluster_task()  # a clear error before TensorFlow's own
    return tf.distribute.MultiWorkerMirroredStrategy()


def build_for_multiworker(network, strategy, batch) -> None:
    """Let Keras 3's ``fit`` train ``network`` under MultiWorkerMirroredStrategy.

    Keras 3.15 does not support that strategy in ``fit`` (keras-team/keras#20585): it builds
    the model by reducing an ``(images, labels)`` batch across workers, which the strategy
    rejects ("Attempt to convert a value (PerReplica...)"), and averages each step's scalar
    losses and metrics along an axis they do not have ("Invalid reduction dimension 0").
    Here the model is built from one local batch, and scalars are averaged as scalars.
    """
    from keras.src.backend.tensorflow import trainer

    with strategy.scope():
        network._symbolic_build(data_batch=batch)
    network._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    if not getattr(trainer.reduce_per_replica, "labwork6_patched", False):
        original = trainer.reduce_per_replica

        def reduce_per_replica(values, strategy, reduction):
            if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
                def mean(value):
                    rank = strategy.experimental_local_results(value)[0].shape.rank
                    return strategy.reduce("MEAN", value, axis=0 if rank else None)

                return tree.map_structure(mean, values)
            return original(values, strategy, reduction)

        reduce_per_replica.labwork6_patched = True
        trainer.reduce_per_replica = reduce_per_replica
