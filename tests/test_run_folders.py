"""Run folders without training: what makes a folder a run, what a train call may do with it,
files written whole, the backup's generations, locks, export and evaluation folders."""

import json
import os
import socket
import time
import tomllib
from pathlib import Path

import keras
import numpy as np
import pytest

from labwork6 import durable, locks
from labwork6.backup import Backup, TrainingState
from labwork6.callbacks import ResumableEarlyStopping
from labwork6.evaluate import evaluation_dir
from labwork6.locks import LOCK_NAME, RunFolderInUse, folder_lock
from labwork6.recipes import resolve_config, run_folder
from labwork6.run_config import BaselineConfig, read_config, write_config
from labwork6.runs import (
    MARKER,
    RUN_FILES,
    RunFolderConflict,
    check_claimable,
    check_resumable,
    dataset_label,
    differences,
    plan_run,
    start_fresh,
)
from labwork6.train import train, train_missing

SMOKE = dict(profile="smoke", width=0.0625, subsample=30)


def config(**overrides):
    return resolve_config("vgg11", "digits", **{**SMOKE, **overrides}).replace(status="completed")


def completed_run(run_dir, **overrides):
    """A folder that looks like a completed run (every file present) of ``config(**overrides)``."""
    start_fresh(run_dir)
    for name in RUN_FILES:
        (run_dir / name).write_text("x")
    write_config(run_dir, config(**overrides))
    return run_dir


# --------------------------------------------------------------------------- what a train call does


def test_a_completed_run_is_reused_only_with_the_same_settings(tmp_path):
    run_dir = completed_run(tmp_path / "run", epochs=2)
    previous = read_config(run_dir)
    assert plan_run(run_dir, config(epochs=2), previous) == "reuse"
    with pytest.raises(RunFolderConflict) as error:
        plan_run(run_dir, config(epochs=3, batch_size=8), previous)
    message = str(error.value)
    assert "batch_size: 32 -> 8" in message and "epochs: 2 -> 3" in message
    assert "--overwrite" in message and "--run-dir" in message and "\n" not in message
    assert plan_run(run_dir, config(epochs=3), previous, overwrite=True) == "fresh"


def test_an_interrupted_run_resumes_or_is_refused_never_wiped(tmp_path):
    interrupted = config(epochs=30).replace(status="training")
    assert plan_run(tmp_path, config(epochs=30), interrupted) == "resume"
    assert plan_run(tmp_path, config(epochs=30), interrupted.replace(status="trained")) == "score"
    with pytest.raises(RunFolderConflict, match="epochs: 30 -> 40.*learning-rate schedule.*--overwrite"):
        plan_run(tmp_path, config(epochs=40), interrupted)
    assert plan_run(tmp_path, config(epochs=40), interrupted.replace(status="failed")) == "fresh"


def test_a_dataset_named_two_ways_is_one_source(tmp_path, monkeypatch):
    (tmp_path / "data" / "x").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    first = config().replace(dataset="data/x", dataset_source=str(tmp_path / "data" / "x"))
    assert not differences(first, config().replace(dataset="./data/x"))
    assert differences(first, config().replace(dataset="data/y")) == [
        f"dataset: {str(tmp_path / 'data' / 'x')!r} -> {str(tmp_path / 'data' / 'y')!r}"]


def test_two_dataset_folders_with_one_name_get_two_run_folders(tmp_path):
    a, b = tmp_path / "a" / "flowers", tmp_path / "b" / "flowers"

    def folder(dataset):
        return run_folder(resolve_config("vgg11", dataset, profile="smoke", folds=0), tmp_path)

    assert folder(str(a)) != folder(str(b))
    assert dataset_label(str(a)).startswith("flowers-") and dataset_label(f"{a}/../flowers") == dataset_label(str(a))
    assert folder("digits").name == "digits-vgg11-seed0"


def test_a_folder_that_is_not_a_run_is_never_written_or_emptied(tmp_path):
    project = tmp_path / "project"
    for name in ("backup/keep.txt", "evaluation/keep.txt", "config.json", "notes.txt"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("mine")
    before = sorted(str(p) for p in project.rglob("*"))
    for overwrite in (False, True):
        with pytest.raises(RunFolderConflict, match="not a labwork6 run folder.*--run-dir"):
            train("vgg11", "digits", run_dir=project, overwrite=overwrite, **SMOKE)
    assert sorted(str(p) for p in project.rglob("*")) == before
    assert all(p.read_text() == "mine" for p in project.rglob("*") if p.is_file())
    check_claimable(tmp_path / "new")  # a new folder
    (tmp_path / "empty").mkdir()
    check_claimable(tmp_path / "empty")


def test_a_network_run_never_replaces_the_baselines_folder(tmp_path):
    folder = tmp_path / "digits-svc-seed0"
    folder.mkdir()
    write_config(folder, BaselineConfig(dataset="digits", profile="smoke", status="completed"))
    before = (folder / "config.json").read_bytes()
    for overwrite in (False, True):
        with pytest.raises(RunFolderConflict, match="holds the svc baseline's run.*--run-dir"):
            train("vgg11", "digits", run_dir=folder, overwrite=overwrite, **SMOKE)
    assert [p.name for p in folder.iterdir()] == ["config.json"] and (folder / "config.json").read_bytes() == before


def test_a_fresh_start_deletes_only_what_labwork6_writes(tmp_path):
    run_dir = completed_run(tmp_path / "run")
    (run_dir / "backup").mkdir()
    (run_dir / "evaluation" / "test").mkdir(parents=True)
    (run_dir / "my_notes.txt").write_text("mine")
    (run_dir / ".history.partial-0a1b2c3d.csv").write_text("torn")
    start_fresh(run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == ["my_notes.txt", MARKER]
    assert json.loads((run_dir / MARKER).read_text())["format"] == 1


def test_an_earlier_labwork6_run_without_a_marker_is_reused_but_never_replaced(tmp_path):
    run_dir = tmp_path / "old"
    run_dir.mkdir()
    for name in RUN_FILES:
        (run_dir / name).write_text("x")
    write_config(run_dir, config())
    assert check_claimable(run_dir, config()) is True
    with pytest.raises(RunFolderConflict, match="earlier labwork6"):
        check_claimable(run_dir, config(), overwrite=True)
    with pytest.raises(RunFolderConflict, match="earlier labwork6"):
        check_claimable(run_dir, config(epochs=3))


def test_train_missing_keeps_a_completed_run_whatever_trained_it(tmp_path):
    folds = resolve_config("vgg11", "digits", profile="smoke").folds
    run_dirs = {("vgg11", 0, fold): run_folder(resolve_config("vgg11", "digits", profile="smoke", fold=fold), tmp_path)
                for fold in range(folds)}
    for run_dir in run_dirs.values():
        completed_run(run_dir, epochs=7)
    assert train_missing(["vgg11"], "digits", profile="smoke", seeds=[0], runs=tmp_path, epochs=2) == run_dirs
    for run_dir in run_dirs.values():
        assert json.loads((run_dir / "config.json").read_text())["epochs"] == 7


@pytest.mark.parametrize("key, value, named", [
    ("resolved_precision", "mixed_float16", "precision 'float32' -> 'mixed_float16'"),
    ("num_replicas_in_sync", 2, "replicas 1 -> 2"),
    ("versions", {"tensorflow": "2.99", "keras": "3.15.1", "labwork6": "0.1.0"}, "TensorFlow"),
    ("data_fingerprint", "0" * 16, "the data"),
])
def test_resuming_refuses_when_what_the_backup_depends_on_changed(key, value, named):
    started = {"resolved_precision": "float32", "num_replicas_in_sync": 1, "data_fingerprint": "f" * 16,
               "versions": {"tensorflow": "2.21.0", "keras": "3.15.1", "labwork6": "0.1.0"}}
    check_resumable("run", started, dict(started))
    with pytest.raises(RunFolderConflict, match="--overwrite") as error:
        check_resumable("run", started, {**started, key: value})
    assert named in str(error.value)


# --------------------------------------------------------------------------- files written whole


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    durable.write_text(path, "old")

    def broken(partial):
        partial.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        durable.write_with(path, broken)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_fault_points_are_reported_in_order(tmp_path):
    seen = []
    with durable.fault_hook(lambda kind, path: seen.append((kind, path.name))):
        durable.write_text(tmp_path / "a.json", "{}")
        durable.remove(tmp_path / "a.json")
    assert seen[0][0] == "written" and seen[0][1].startswith(".a.partial-") and seen[0][1].endswith(".json")
    assert seen[1:] == [("renamed", "a.json"), ("removing", "a.json")]


def test_the_fault_variable_must_name_a_count(tmp_path, monkeypatch):
    monkeypatch.setenv(durable.FAULT_ENV, "renamed */a.json")
    with pytest.raises(ValueError, match="PATTERN:N"):
        durable.write_text(tmp_path / "a.json", "{}")


# --------------------------------------------------------------------------- backup generations


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    return model


def test_a_damaged_newest_backup_falls_back_to_the_one_before(tmp_path):
    model = _model()
    backup = Backup(tmp_path / "backup")
    first = [w.copy() for w in model.get_weights()]
    backup.save(model, TrainingState(epoch=1, history=[{"epoch": 1}]))
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    backup.save(model, TrainingState(epoch=2, history=[{"epoch": 1}, {"epoch": 2}]))
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    backup.save(model, TrainingState(epoch=3))
    assert [p.name for p in backup.generations()] == ["epoch-0003", "epoch-0002"]  # two kept

    for damage in ("weights", "state"):
        target = backup.generations()[0] / ("weights.weights.h5" if damage == "weights" else "state.json")
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
        state, generation = backup.restore(_model())
        assert generation.name == "epoch-0002" and state.epoch == 2 and len(state.history) == 2
    restored = _model()
    backup.restore(restored)
    (backup.generations()[1] / "state.json").write_text("{")
    with pytest.raises(ValueError, match="--overwrite"):
        backup.restore(_model())
    assert not np.array_equal(restored.get_weights()[0], first[0])  # epoch 2's weights, not epoch 1's


def test_early_stopping_resumed_stops_at_the_uninterrupted_epoch():
    class Model:
        stop_training = False

    def run(scores, callback, first_epoch=0):
        callback.set_model(Model())
        callback.on_train_begin()
        for epoch, score in enumerate(scores[first_epoch:], start=first_epoch):
            callback.on_epoch_end(epoch, {"val_selection": score})
            if callback.model.stop_training:
                return epoch
        return None

    scores = [0.5, 0.6, 0.55, 0.58, 0.57, 0.7]
    whole = run(scores, ResumableEarlyStopping(monitor="val_selection", mode="max", patience=2))
    assert whole == 3
    before = ResumableEarlyStopping(monitor="val_selection", mode="max", patience=2)
    run(scores[:3], before)
    state = json.loads(json.dumps(before.get_state()))  # through the backup's JSON
    resumed = ResumableEarlyStopping(monitor="val_selection", mode="max", patience=2, state=state)
    assert run(scores, resumed, first_epoch=3) == whole
    plain = keras.callbacks.EarlyStopping(monitor="val_selection", mode="max", patience=2)
    assert run(scores, plain, first_epoch=3) != whole  # what resuming without the state did


# --------------------------------------------------------------------------- locks


def test_another_hosts_lock_is_refused_while_alive_and_taken_over_when_stale(tmp_path, capsys):
    path = tmp_path / LOCK_NAME
    path.write_text(json.dumps({"pid": 4242, "host": "colab-vm-1"}))
    with pytest.raises(RunFolderInUse, match="colab-vm-1.*rm ") as error:
        with folder_lock(tmp_path):
            pass
    assert str(path) in str(error.value) and f"{locks.STALE_AFTER_SECONDS // 60} min" in str(error.value)
    old = time.time() - locks.STALE_AFTER_SECONDS - 60
    os.utime(path, (old, old))
    with folder_lock(tmp_path):
        assert json.loads(path.read_text())["host"] == socket.gethostname()
    assert "taking over" in capsys.readouterr().out


def test_a_held_lock_shows_a_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.05)
    with folder_lock(tmp_path) as path:
        old = time.time() - 3600
        os.utime(path, (old, old))
        time.sleep(0.3)
        assert time.time() - path.stat().st_mtime < 60


def test_a_lock_cannot_be_taken_twice_in_one_process(tmp_path):
    with folder_lock(tmp_path):
        with pytest.raises(RunFolderInUse, match=f"pid {os.getpid()}"):
            with folder_lock(tmp_path):
                pass
    with folder_lock(tmp_path):  # released
        pass


def test_a_baseline_is_not_fitted_into_a_locked_folder(tmp_path):
    from labwork6.baseline import fit_baseline

    with folder_lock(tmp_path / "svc"):
        with pytest.raises(RunFolderInUse):
            fit_baseline("digits", 0, 30, "smoke", tmp_path / "svc")


# --------------------------------------------------------------------------- paths and names


@pytest.mark.parametrize("dataset", ["SOME/DIR/..", "./", ".", "..", "/", "a/../../b"])
def test_an_evaluation_folder_is_always_inside_evaluation(dataset, tmp_path, monkeypatch):
    (tmp_path / "work" / "SOME" / "DIR").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    out = evaluation_dir(tmp_path / "run", dataset)
    assert out.parent == tmp_path / "run" / "evaluation" and out.name not in ("", ".", "..", "test")
    assert not out.name.startswith(".")
    assert evaluation_dir(tmp_path / "run", "SOME/DIR/..").name.startswith("SOME-")
    assert evaluation_dir(tmp_path / "run", "./").name.startswith("work-")
    assert evaluation_dir(tmp_path / "run").name == "test"


def test_export_replaces_only_an_earlier_export(tmp_path):
    from labwork6.data import export_dataset, load_dataset

    small = load_dataset("digits").subsample(10)
    own = tmp_path / "mine"
    for split in ("train", "val", "test"):
        (own / split / "0").mkdir(parents=True)
        (own / split / "0" / "photo.png").write_bytes(b"my own image")
    with pytest.raises(ValueError, match="no readable manifest.csv"):
        export_dataset(small, own, overwrite=True)
    assert (own / "train" / "0" / "photo.png").read_bytes() == b"my own image"

    export = tmp_path / "export"
    export_dataset(small, export)
    (export / "train" / "0" / "added.png").write_bytes(b"added later")
    with pytest.raises(ValueError, match="added.png"):
        export_dataset(small, export, overwrite=True)
    (export / "train" / "0" / "added.png").unlink()
    export_dataset(small, export, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "mine"]  # no temporary left beside it


def test_keras_floor_has_the_safe_mode_fixes():
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    keras_pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("keras"))
    assert ">=3.14" in keras_pin


def test_committing_a_hard_link_of_the_same_file_leaves_no_temporary(tmp_path):
    # A resumed run restores model.keras as a hard link of the backup's best model; when model.keras
    # already is that file, rename() does nothing and the temporary name used to stay behind.
    from labwork6.durable import commit, partial_path

    target = tmp_path / "model.keras"
    target.write_bytes(b"best")
    partial = partial_path(target)
    os.link(target, partial)
    commit(partial, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    assert target.read_bytes() == b"best"
