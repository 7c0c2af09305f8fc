"""Training on several devices or machines: the strategy, and which worker writes the run folder.

``mirrored`` trains on every local GPU (or every logical CPU device) with
``tf.distribute.MirroredStrategy``. ``multiworker`` trains on the machines that the ``TF_CONFIG``
environment variable lists, with ``tf.distribute.MultiWorkerMirroredStrategy``; every worker
runs the same command, and only the chief (task ``chief``, or worker 0 when the cluster has no
chief) writes the run folder: the others write to a temporary folder, as TensorFlow's
multi-worker guide does for checkpoints. The chief decides what the command does with the run
folder (reuse, resume, start afresh, or refuse) and :func:`follow_chief` gives that decision to
every worker; a resumed run's weights, optimizer state and counters go from the chief's backup
to every worker (:func:`broadcast_variables`, :func:`chief_bytes`), so no shared disk is needed.

A worker that dies is noticed by TensorFlow's coordination service (a heartbeat; see
:data:`WORKER_TIMEOUT_SECONDS`): the others stop with :class:`WorkerLost`, one line, and the
chief's lock is released; the run resumes from its last backup when every worker runs the
command again.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import tree

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')
#: Keras versions (major.minor) whose private training internals :func:`build_for_multiworker`
#: replaces, and was tested with (tests/test_distribute.py).
TESTED_KERAS = ("3.15",)
#: The private Keras names that :func:`build_for_multiworker` needs.
KERAS_INTERNALS = ("keras.src.backend.tensorflow.trainer.reduce_per_replica",
                   "keras.src.backend.tensorflow.trainer._collective_all_reduce_multi_worker",
                   "keras.Model._symbolic_build", "keras.Model._maybe_symbolic_build")
#: About how long the other workers take to stop once one has died: TensorFlow's coordination
#: service marks a task dead after missing heartbeats for 10 s (its default), then aborts the
#: collectives the others wait in.
WORKER_TIMEOUT_SECONDS = 60
#: What TensorFlow raises in a collective whose peer is gone.
PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError,
               tf.errors.AbortedError, tf.errors.FailedPreconditionError, tf.errors.InternalError)


class UnsupportedKeras(RuntimeError):
    """This Keras lacks what the multi-worker workaround replaces."""


class WorkerLost(RuntimeError):
    """Another worker of the cluster stopped (killed, crashed, disconnected)."""


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
    check_keras_internals()
    return tf.distribute.MultiWorkerMirroredStrategy()


def check_keras_internals(version: str | None = None) -> None:
    """Raise :class:`UnsupportedKeras` unless this Keras is one :func:`build_for_multiworker` was
    tested with and still has every private name it replaces (:data:`KERAS_INTERNALS`)."""
    from keras.src.backend.tensorflow import trainer

    version = version or keras.__version__
    if ".".join(version.split(".")[:2]) not in TESTED_KERAS:
        raise UnsupportedKeras(
            f"--distribute multiworker replaces private parts of Keras' training loop (keras-team/keras#20585), "
            f"tested with Keras {', '.join(TESTED_KERAS)}.x only; this is Keras {version}. Install the pinned "
            "version (pip install -r requirements.txt), or train on one machine (--distribute mirrored).")
    owners = {"keras.src.backend.tensorflow.trainer": trainer, "keras.Model": keras.Model}
    missing = [name for name in KERAS_INTERNALS if not hasattr(owners[name.rsplit(".", 1)[0]], name.rsplit(".", 1)[1])]
    if missing:
        raise UnsupportedKeras(f"--distribute multiworker needs {', '.join(missing)}, which this Keras ({version}) "
                               "does not have; install the pinned version (pip install -r requirements.txt).")


def chief_value(strategy, task: ClusterTask, array) -> np.ndarray:
    """The chief's ``array`` on every worker: an all-reduce (sum) to which only the chief adds.
    Every worker must call it with an array of the same shape and dtype (floats; exact, as x + 0 = x)."""
    array = np.asarray(array)
    contribution = array if task.is_chief else np.zeros_like(array)
    return np.asarray(strategy.reduce("SUM", tf.constant(contribution), axis=None))


def chief_bytes(strategy, task: ClusterTask, data: bytes) -> bytes:
    """The chief's ``data`` on every worker (the others' is ignored)."""
    length = int(chief_value(strategy, task, np.array([len(data)], np.float64))[0])
    padded = np.zeros(length, np.float32)
    if task.is_chief:
        padded[:] = np.frombuffer(data, np.uint8)
    return chief_value(strategy, task, padded).astype(np.uint8).tobytes()


def follow_chief(strategy, task: ClusterTask | None, decide: Callable[[], dict]) -> dict:
    """Call ``decide`` on the chief (alone, without ``task``) and return its JSON-ready result on
    every worker; when it raises, the chief raises that error and every other worker a
    ``RuntimeError`` with its message, so that no worker waits for the others for ever."""
    if task is None:
        return decide()
    error, shared = None, {}
    if task.is_chief:
        try:
            shared = {"result": decide()}
        except Exception as raised:  # any: the others must hear of it
            error, shared = raised, {"error": str(raised)}
    shared = json.loads(chief_bytes(strategy, task, json.dumps(shared).encode()))
    if error is not None:
        raise error
    if "error" in shared:
        raise RuntimeError(f"The chief (worker 0) stopped: {shared['error']}")
    return shared["result"]


def broadcast_variables(strategy, task: ClusterTask, variables) -> None:
    """Give every worker the chief's values of ``variables`` (a resumed run's weights, optimizer
    state and counters, restored from the backup on the chief)."""
    for variable in variables:
        value = np.asarray(keras.ops.convert_to_numpy(variable))
        carried = value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float64)
        variable.assign(chief_value(strategy, task, carried).astype(value.dtype))


def build_for_multiworker(network, strategy, batch) -> None:
    """Let Keras 3's ``fit`` train ``network`` under MultiWorkerMirroredStrategy.

    Keras 3.15 does not support that strategy in ``fit`` (keras-team/keras#20585): it builds
    the model by reducing an ``(images, labels)`` batch across workers, which the strategy
    rejects ("Attempt to convert a value (PerReplica...)"), and averages each step's scalar
    losses and metrics along an axis they do not have ("Invalid reduction dimension 0").
    Here the model is built from one local batch, and scalars are averaged as scalars.
    """
    from keras.src.backend.tensorflow import trainer

    check_keras_internals()
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


def lost_worker_message(error: Exception, task: ClusterTask, run_dir) -> str:
    """One line for a collective that failed because a peer stopped: which one, and what to do."""
    own = f"/job:{task.task_type}/task:{task.index}"
    peers = sorted({re.sub(r"replica:\d+/", "", found) for found in re.findall(r"/job:\w+/(?:replica:\d+/)?task:\d+",
                                                                             str(error))} - {own})
    who = f"{', '.join(peers)} " if peers else "another worker "
    return (f"{who}of the cluster stopped ({type(error).__name__} in a collective operation); start every worker "
            f"again with the same command and the run resumes from its last backup in {run_dir}.")
