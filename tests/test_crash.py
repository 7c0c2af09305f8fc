"""Crash consistency, in the spirit of SQLite's crash tests: a kill at any write point of ``train``
and ``evaluate`` leaves a folder that the same command completes, equal bit for bit to an
uninterrupted run, and changes no file outside the run folder.

A kill is simulated in-process, so that one TensorFlow process covers every point: the one
uninterrupted reference run stops at each fault point of :mod:`labwork6.durable` (every
temporary written, every rename, every removal, the backup's weights written by Keras) and
copies its project folder as the disk is at that instant, as a kill would leave it (a
temporary that was being written is cut in half; the lock records a process that is gone).
Each distinct copy is then completed by the same call and compared with the reference. Two
real kills (``LABWORK6_FAULT``, SIGKILL in a subprocess) check that the copies are what a
kill leaves. The network is a tiny one (a convolution, dropout, a dense layer behind the
run's preprocessing and augmentation) so that each resume traces in a second: what is tested
is the run folder's life, which does not depend on the architecture (test_train.py kills a
real VGG mid-epoch).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

import h5py
import keras
import numpy as np
import pandas as pd
import pytest

import labwork6.train
from labwork6 import durable
from labwork6.evaluate import evaluate_run
from labwork6.models._common import front_layers
from labwork6.train import train

pytestmark = pytest.mark.slow

#: A tiny deterministic run: 2 epochs (so that a backup of epoch 1 is resumed), 60 images in 2 folds.
ARGS = dict(profile="smoke", width=0.0625, subsample=60, epochs=2, deterministic=True, precision="float32",
            verbose=0)
#: Files whose content is measured or stamped, not computed: compared by their keys only.
STAMPED = {"timing.json", "run.json"}


def tiny_network(config, input_shape, num_classes, *, preprocessing=None, augmentation=None):
    """Stands in for labwork6.recipes.build_network: the run's front layers and three small ones."""
    raw_shape, front = front_layers(input_shape, preprocessing, augmentation)
    return keras.Sequential([keras.Input(raw_shape), *front, keras.layers.Conv2D(4, 3, name="block1_conv1"),
                             keras.layers.Dropout(0.2), keras.layers.GlobalAveragePooling2D(name="avg_pool"),
                             keras.layers.Dense(num_classes, activation="softmax", name="predictions")], name="tiny")


def patch(monkeypatch):
    monkeypatch.setattr(labwork6.train, "build_network", tiny_network)


def dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)


class KillSnapshots:
    """At each fault point, copy ``project`` (the run folder and the user's files beside it) as
    a kill at that instant would leave it."""

    def __init__(self, project, run_dir, out):
        self.project, self.run_dir, self.out = project, run_dir, out
        self.points, self.copies, self.signatures = [], [], set()
        self.dead = dead_pid()

    def __call__(self, kind, path):
        self.points.append((kind, os.path.relpath(path, self.project)))
        copy = self.out / f"{len(self.points):03d}"
        shutil.copytree(self.project, copy)
        if kind in ("written", "saved") and path.is_file():
            torn = copy / os.path.relpath(path, self.project)
            torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 2])  # the writer was cut off
        lock = copy / os.path.relpath(self.run_dir, self.project) / ".lock"
        if lock.exists():
            lock.write_text(json.dumps({"pid": self.dead, "host": os.uname().nodename}))
        signature = tree_signature(copy)
        if signature in self.signatures:  # the same disk as an earlier point: nothing new to resume
            shutil.rmtree(copy)
        else:
            self.signatures.add(signature)
            self.copies.append((len(self.points), kind, self.points[-1][1], copy))


def tree_signature(folder) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def model_weights(path) -> list:
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as handle, h5py.File(handle) as h5:
        found = []
        h5.visititems(lambda name, item: found.append((name, item[()])) if isinstance(item, h5py.Dataset) else None)
        return found


def assert_same_run(run_dir, reference):
    """Every file of ``reference`` in ``run_dir`` with the same content, and nothing else."""
    names = sorted(p.name for p in run_dir.iterdir() if p.name != "evaluation")
    assert names == sorted(p.name for p in reference.iterdir() if p.name != "evaluation")
    for name in names:
        mine, theirs = run_dir / name, reference / name
        if name in STAMPED:
            assert json.loads(mine.read_text()).keys() == json.loads(theirs.read_text()).keys(), name
        elif name == "history.csv":
            columns = lambda frame: frame.drop(columns="epoch_seconds")  # noqa: E731
            pd.testing.assert_frame_equal(columns(pd.read_csv(mine)), columns(pd.read_csv(theirs)))
        elif name == "model.keras":
            for (name_a, a), (name_b, b) in zip(model_weights(mine), model_weights(theirs), strict=True):
                assert name_a == name_b and np.array_equal(a, b), name_a
        else:
            assert mine.read_bytes() == theirs.read_bytes(), name


def user_files(project, run_dir) -> dict:
    return {str(p.relative_to(project)): p.read_bytes() for p in project.rglob("*")
            if p.is_file() and run_dir not in p.parents}


def make_project(folder):
    project = folder / "project"
    (project / "notes").mkdir(parents=True)
    (project / "notes" / "todo.txt").write_text("my own file\n")
    return project, project / "run"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, its copies at every fault point of train and of evaluate."""
    base = tmp_path_factory.mktemp("crash")
    project, run_dir = make_project(base)
    copies = base / "copies"
    snapshots = KillSnapshots(project, run_dir, copies)
    with pytest.MonkeyPatch.context() as monkeypatch:
        patch(monkeypatch)
        with durable.fault_hook(snapshots):
            train("vgg11", "digits", run_dir=run_dir, **ARGS)
        trained = list(snapshots.copies)
        points = len(snapshots.points)
        before = set(p.name for p in copies.iterdir())
        with durable.fault_hook(snapshots):
            evaluate_run(run_dir)
    evaluated = [copy for copy in snapshots.copies if copy[3].name not in before]
    return {"project": project, "run_dir": run_dir, "train": trained, "train_points": points,
            "evaluate": evaluated, "evaluate_points": len(snapshots.points) - points, "log": snapshots.points}


def test_every_write_point_of_train_resumes_to_the_uninterrupted_run(reference, monkeypatch):
    patch(monkeypatch)
    kinds = {kind for kind, _ in reference["log"][: reference["train_points"]]}
    assert kinds == set(durable.KINDS)  # every kind of point occurs
    print(f"\ntrain: {reference['train_points']} fault points, {len(reference['train'])} distinct disks")
    expected_user_files = user_files(reference["project"], reference["run_dir"])
    for index, kind, where, copy in reference["train"]:
        project, run_dir = copy, copy / "run"
        status = (json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").exists() else {})
        trained = status.get("status") in ("trained", "completed")
        history = (run_dir / "history.csv").read_bytes() if trained else None
        try:
            train("vgg11", "digits", run_dir=run_dir, **ARGS)
            assert_same_run(run_dir, reference["run_dir"])
            assert user_files(project, run_dir) == expected_user_files
            if trained:  # scoring resumed, training not redone (its epoch_seconds would differ)
                assert (run_dir / "history.csv").read_bytes() == history
        except BaseException as error:
            raise AssertionError(f"killed at point {index} ({kind} {where}): {error}") from error


def test_every_write_point_of_evaluate_completes_it(reference):
    print(f"\nevaluate: {reference['evaluate_points']} fault points, {len(reference['evaluate'])} distinct disks")
    expected = reference["run_dir"] / "evaluation" / "test"
    assert reference["evaluate_points"] >= 8  # 4 files, each written then renamed
    for index, kind, where, copy in reference["evaluate"]:
        run_dir = copy / "run"
        try:
            evaluate_run(run_dir)
            out = run_dir / "evaluation" / "test"
            assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in expected.iterdir())
            for path in expected.iterdir():
                assert (out / path.name).read_bytes() == path.read_bytes(), path.name
            assert_same_run(run_dir, reference["run_dir"])  # the run's own files untouched
        except BaseException as error:
            raise AssertionError(f"killed at point {index} ({kind} {where}): {error}") from error


KILLED = """
import sys
import pytest
sys.path.insert(0, sys.argv[2])
import test_crash
from labwork6.train import train
test_crash.patch(pytest.MonkeyPatch())
train("vgg11", "digits", run_dir=sys.argv[1], **test_crash.ARGS)
"""


@pytest.mark.parametrize("point", ["saved */backup/.epoch-0002.partial-*/weights.weights.h5:1",
                                   "renamed */run/predictions.csv:1"])
def test_a_real_kill_at_a_fault_point_resumes_to_the_uninterrupted_run(point, reference, tmp_path):
    """SIGKILL (no clean-up at all) inside the second epoch's backup, and inside scoring."""
    run_dir = tmp_path / "run"
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-c", KILLED, str(run_dir), os.path.dirname(__file__)]
    killed = subprocess.run(command, capture_output=True, text=True,
                            timeout=600, env={**environ, durable.FAULT_ENV: point})
    assert killed.returncode == -9, killed.stderr[-2000:]
    status = json.loads((run_dir / "config.json").read_text())["status"]
    assert status == ("training" if "backup" in point else "trained")
    history = (run_dir / "history.csv").read_bytes()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environ)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    if status == "trained":  # a kill inside scoring rescores, never retrains
        assert (run_dir / "history.csv").read_bytes() == history
    reference_run = reference["run_dir"]
    assert_same_run(run_dir, reference_run)
