"""Several processes: TF_CONFIG checks, two real workers on 127.0.0.1, one writer per run folder."""

import json
import os
import socket
import subprocess
import sys

import pytest

from labwork6.distribute import cluster_task
from labwork6.runs import LOCK_NAME, RunFolderInUse, run_lock

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
import json, sys
from labwork6.train import train
run = train("vgg11", "digits", run_dir=sys.argv[1], profile="smoke", width=0.0625, epochs=2, distribute="multiworker",
            verbose=0)
print("RUN", run)
print("METRICS", json.dumps(json.load(open(run / "metrics.json")), sort_keys=True))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_workers_train_one_model_and_only_the_chief_writes_the_run(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    run_dir = tmp_path / "run"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(run_dir)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **tf_config("worker", index, cluster)})
               for index in (0, 1)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
    runs = [next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("RUN")) for out, _ in outputs]
    metrics = [next(line for line in out.splitlines() if line.startswith("METRICS")) for out, _ in outputs]
    assert runs[0] == str(run_dir) and runs[1] != str(run_dir)  # worker 1 wrote a temporary folder
    assert metrics[0] == metrics[1]  # one synchronous model: the same test predictions on both
    config = json.loads((run_dir / "config.json").read_text())
    assert config["status"] == "completed" and config["num_replicas_in_sync"] == 2
