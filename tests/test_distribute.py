"""Several processes: TF_CONFIG checks, two real workers on 127.0.0.1 (one model, one backup, a dead
worker), one writer per run folder."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from labwork6.distribute import cluster_task
from labwork6.durable import FAULT_ENV
from labwork6.runs import LOCK_NAME, RunFolderInUse, run_lock
from labwork6.train import train

CLUSTER = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}


def tf_config(task_type="worker", index=0, cluster=CLUSTER):
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


def test_cluster_task_names_the_chief():
    assert cluster_task(tf_config(index=0)).is_chief
    worker = cluster_task(tf_config(index=1))
    assert not worker.is_chief and worker.num_workers == 2
    with_chief = {"chief": ["127.0.0.1:2221"], **CLUSTER}
    assert cluster_task(tf_config("chief", 0, with_chief)).is_chief
    assert not cluster_task(tf_config("worker", 0, with_chief)).is_chief


@pytest.mark.parametrize(
    "environ, fragment",
    [
        ({}, "TF_CONFIG unset"),
        ({"TF_CONFIG": "{not json"}, "TF_CONFIG='{not json'"),
        ({"TF_CONFIG": json.dumps({"cluster": CLUSTER})}, "'cluster' and 'task'"),
        (tf_config(index=2), "is not in its cluster"),
        (tf_config(task_type="ps"), "is not in its cluster"),
    ],
)
def test_bad_tf_config_gets_one_clear_error(environ, fragment):
    with pytest.raises(ValueError, match="TF_CONFIG") as error:
        cluster_task(environ)
    assert fragment in str(error.value) and "index" in str(error.value)


def test_a_second_writer_gets_a_clear_error_and_the_lock_is_released(tmp_path):
    with run_lock(tmp_path / "run") as lock:
        owner = json.loads(lock.read_text())
        assert owner["pid"] == os.getpid()
        with pytest.raises(RunFolderInUse, match=f"pid {os.getpid()}"):
            with run_lock(tmp_path / "run"):
                pass
    assert not (tmp_path / "run" / LOCK_NAME).exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    with run_lock(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()


@pytest.mark.slow  # a second Python process that imports labwork6
def test_two_processes_on_one_run_folder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", f"""
from labwork6.runs import run_lock
import sys, time
with run_lock({str(tmp_path)!r}):
    print("LOCKED", flush=True)
    sys.stdin.readline()
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "LOCKED"
        with pytest.raises(RunFolderInUse, match=str(holder.pid)):
            with run_lock(tmp_path):
                pass
    finally:
        holder.communicate("done\n", timeout=60)
    with run_lock(tmp_path):  # released by the other process at its end
        pass


WORKER = """
import sys
import keras
import numpy as np
from labwork6.train import train


class FinalWeights(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        np.savez(sys.argv[2], *self.model.get_weights())


run = train("vgg11", "digits", run_dir=sys.argv[1], distribute="multiworker", callbacks=[FinalWeights()],
            **{SETTINGS})
print("RUN", run)
"""
#: No augmentation and no dropout: a single process with the same global batch draws the same numbers.
# A holdout split (folds=0) of the smoke set: 120 training images, batches of 32 that split evenly
# between the two workers, so one process on the same global batch computes the same mean gradient.
SETTINGS = dict(profile="smoke", width=0.0625, epochs=2, augment=False, deterministic=True, verbose=0, folds=0)
WORKER = WORKER.replace("{SETTINGS}", repr(SETTINGS))
CLI = ["-m", "labwork6", "train", "--model", "vgg11", "--profile", "smoke", "--folds", "0", "--width", "0.0625",
       "--epochs", "2", "--no-augment", "--deterministic", "--distribute", "multiworker"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_workers(arguments, fault_on_worker_1=None):
    """Start worker 0 (the chief) and worker 1 with ``arguments(index)``; wait for both."""
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    workers = [subprocess.Popen([sys.executable, *arguments(index)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**environ, **tf_config("worker", index, cluster),
                                                **({FAULT_ENV: fault_on_worker_1} if index and fault_on_worker_1
                                                   else {})})
               for index in (0, 1)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    return [(worker.returncode, *output) for worker, output in zip(workers, outputs, strict=True)]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """An uninterrupted two-worker run: its folder and each worker's final weights."""
    base = tmp_path_factory.mktemp("workers")
    results = run_workers(lambda index: ["-c", WORKER, str(base / "run"), str(base / f"w{index}.npz")])
    for code, _, err in results:
        assert code == 0, err[-3000:]
    return base, results


def weights(path) -> list:
    with np.load(path) as found:
        return [found[name] for name in found.files]


@pytest.mark.slow
def test_two_workers_train_one_model_and_a_rerun_ends_at_once_on_both(two_workers, tmp_path, capsys, monkeypatch):
    base, results = two_workers
    runs = [next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("RUN")) for _, out, _ in results]
    assert runs[0] == str(base / "run") and runs[1] != runs[0]  # worker 1 wrote a temporary folder
    config = json.loads((base / "run" / "config.json").read_text())
    assert config["status"] == "completed" and config["num_replicas_in_sync"] == 2
    chief, other = weights(base / "w0.npz"), weights(base / "w1.npz")
    assert all(np.array_equal(a, b) for a, b in zip(chief, other, strict=True))  # one synchronous model

    # One process on the same global batch: the same model, up to the order of float sums.
    single = {}

    class FinalWeights(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            single["weights"] = self.model.get_weights()

    # Under several replicas the optimizer is Keras' AdamW (XlaAdamW's fused update is for one
    # replica: labwork6.optimizers), so the single process uses the same arithmetic.
    monkeypatch.setattr("labwork6.recipes.XlaAdamW", keras.optimizers.AdamW)
    train("vgg11", "digits", run_dir=tmp_path / "single", callbacks=[FinalWeights()], **SETTINGS)
    for a, b in zip(single["weights"], chief, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)

    # The same command again: both workers see the completed run and end, neither trains alone.
    before = (base / "run" / "model.keras").stat().st_mtime_ns
    again = run_workers(lambda index: ["-c", WORKER, str(base / "run"), str(tmp_path / f"again{index}.npz")])
    for _, out, err in again:
        assert "reusing" in out, err[-3000:]
    assert (base / "run" / "model.keras").stat().st_mtime_ns == before
    assert not list(tmp_path.glob("again*.npz"))  # no worker trained


@pytest.mark.slow
def test_a_dead_worker_stops_the_chief_in_one_line_and_both_resume_from_the_chiefs_backup(two_workers, tmp_path):
    run_dir = tmp_path / "run"
    # Worker 1 is killed (SIGKILL) once its first epoch ended.
    killed = run_workers(lambda index: [*CLI, "--run-dir", str(run_dir)],
                         fault_on_worker_1="renamed */labwork6-worker1-*/model.keras:1")
    (chief_code, _, chief_err), (worker_code, _, _) = killed
    assert worker_code == -9
    assert chief_code == 1 and "Traceback" not in chief_err
    last = chief_err.strip().splitlines()[-1]
    assert last.startswith("labwork6: error: /job:worker/task:1 of the cluster stopped") and str(run_dir) in last
    assert not (run_dir / ".lock").exists()  # released
    assert json.loads((run_dir / "config.json").read_text())["status"] == "training"

    resumed = run_workers(lambda index: [*CLI, "--run-dir", str(run_dir)])
    assert [code for code, _, _ in resumed] == [0, 0], resumed[0][2][-3000:] + resumed[1][2][-3000:]
    # Both continued from the chief's backup of epoch 1: the run equals the uninterrupted one, bit for bit.
    reference = two_workers[0] / "run"
    assert (run_dir / "predictions.csv").read_bytes() == (reference / "predictions.csv").read_bytes()
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads((reference / "metrics.json").read_text())


def test_the_multiworker_workaround_refuses_an_untested_keras():
    from labwork6.distribute import UnsupportedKeras, check_keras_internals

    check_keras_internals()  # the installed, pinned Keras
    with pytest.raises(UnsupportedKeras, match="tested with Keras 3.15.x only; this is Keras 3.99.0"):
        check_keras_internals("3.99.0")


def test_a_lost_worker_is_named_in_one_line():
    import tensorflow as tf

    from labwork6.distribute import ClusterTask, lost_worker_message

    error = tf.errors.UnavailableError(None, None, "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/"
                                       "replica:0/task:0/device:CPU:0}} Collective ops is aborted by: Error reported "
                                       "from /job:worker/task:1: The following tasks are unhealthy")
    message = lost_worker_message(error, ClusterTask("worker", 0, 2), "/runs/x")
    assert message.startswith("/job:worker/task:1 of the cluster stopped") and "/runs/x" in message
    assert "\n" not in message and "task:0" not in message


def test_without_a_cluster_the_decision_is_the_callers():
    from labwork6.distribute import follow_chief

    assert follow_chief(None, None, lambda: {"plan": "fresh"}) == {"plan": "fresh"}
