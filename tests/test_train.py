"""Training runs in the smoke profile: artifacts, resumption, determinism, distribution, failures."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest

from labwork6.backup import Backup
from labwork6.evaluate import load_test_split, load_trained
from labwork6.models import get_model
from labwork6.runs import MARKER, RUN_FILES, RunFolderConflict, find_runs, load_run
from labwork6.train import TrainingFailed, resolve_config, train

pytestmark = pytest.mark.slow

SMALL = dict(profile="smoke", width=0.0625, subsample=30)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    return train("vgg11", "digits", runs=runs, epochs=2, **SMALL)


def test_smoke_run_writes_every_artifact(smoke_run):
    for name in (*RUN_FILES, MARKER):
        assert (smoke_run / name).exists(), name
    assert not (smoke_run / "backup").exists()  # removed once the run completed
    assert not list(smoke_run.glob(".*partial*"))  # no temporary left
    run = load_run(smoke_run)
    config, metrics, timing = run["config"], run["metrics"], run["timing"]
    assert config.status == "completed" and config.epochs_run == 2
    assert config.input_shape == (32, 32, 1) and config.raw_input_shape == (8, 8, 1)
    assert config.num_classes == 10 and config.num_replicas_in_sync == 1
    network = get_model("vgg11", input_shape=(32, 32, 1), num_classes=10, width=SMALL["width"])
    assert config.parameters["total"] == network.count_params()
    assert {"tensorflow", "keras"} <= set(config.versions) and "processor" in config.hardware
    assert set(metrics) >= {"accuracy", "precision", "recall", "f1", "weighted", "per_class", "best_epoch"}
    predictions = pd.read_csv(smoke_run / "predictions.csv")
    assert len(predictions) == metrics["num_test"] == config.counts["test"]
    assert [c for c in predictions.columns if c.startswith("prob_")] == [f"prob_{i}" for i in range(10)]
    assert np.isclose((predictions["label"] == predictions["prediction"]).mean(), metrics["accuracy"])
    history = run["history"]
    assert list(history["epoch"]) == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds"} <= set(history)
    assert metrics["best_epoch"] == int(history["epoch"][history["val_selection"].idxmax()])
    assert timing["train_seconds"] > 0 and timing["inference_throughput"] > 0
    robustness = pd.read_csv(smoke_run / "robustness.csv")
    clean = robustness[robustness["corruption"] == "none"].iloc[0]
    # the smoke profile scores every image of its small test fold, at severities 1, 3 and 5
    assert np.isclose(clean["accuracy"], metrics["accuracy"]) and len(robustness) == 1 + 7 * 3
    assert config.robustness_severities == (1, 3, 5) and (config.folds, config.fold) == (2, 0)
    assert list(predictions["image"]) == list(load_test_split(smoke_run)[0].test.ids)  # each image's id
    assert smoke_run.name == "digits-vgg11-seed0-fold0of2"
    assert len(config.normalization["mean"]) == 1 and config.normalization["std"][0] > 0
    assert find_runs(smoke_run.parent.parent, "smoke") == [smoke_run]


def test_saved_model_alone_reproduces_the_predictions_from_raw_images(smoke_run):
    data, predictions = load_test_split(smoke_run)
    model = keras.models.load_model(smoke_run / "model.keras")  # no labwork6 object needed
    assert model.layers[0].name == "preprocessing" and model.layers[1].name == "augmentation"
    probabilities = model.predict(data.test.images, verbose=0)  # raw uint8 8x8 digits
    columns = [c for c in predictions.columns if c.startswith("prob_")]
    assert np.allclose(probabilities, predictions[columns].to_numpy(), atol=1e-5)
    assert np.array_equal(probabilities.argmax(axis=1), predictions["prediction"].to_numpy())


def test_old_run_folders_ask_to_be_retrained(smoke_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(smoke_run, old)
    saved = json.loads((old / "config.json").read_text())
    (old / "config.json").write_text(json.dumps({**saved, "run_format": 2}))  # as labwork6 wrote them before
    with pytest.raises(ValueError, match="64-filter stem.*Retrain.*--overwrite"):
        load_trained(old)
    (old / "config.json").write_text(json.dumps({key: value for key, value in saved.items() if key != "run_format"}))
    with pytest.raises(ValueError, match="does not hold its preprocessing.*Retrain"):  # format 1: no run_format
        load_trained(old)
    with pytest.raises(RunFolderConflict, match="cannot continue.*run_format=1.*--overwrite"):
        train("vgg11", "digits", run_dir=old, epochs=2, **SMALL)


def test_a_truncated_model_file_is_named_in_the_error(smoke_run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(smoke_run, broken)
    data = (broken / "model.keras").read_bytes()
    (broken / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated") as error:
        load_trained(broken)
    assert str(broken / "model.keras") in str(error.value)


def test_completed_run_is_reused_not_retrained(smoke_run, capsys):
    before = (smoke_run / "model.keras").stat().st_mtime_ns
    assert train("vgg11", "digits", runs=smoke_run.parent.parent, epochs=2, **SMALL) == smoke_run
    assert (smoke_run / "model.keras").stat().st_mtime_ns == before
    assert "reusing" in capsys.readouterr().out


def test_a_completed_run_is_never_replaced_by_other_settings(smoke_run, tmp_path):
    """Before: any other option (another --epochs, --batch-size, ./digits for digits) deleted the run."""
    (smoke_run / "evaluation" / "mine").mkdir(parents=True)
    before = {p: p.read_bytes() for p in smoke_run.rglob("*") if p.is_file()}
    for other in (dict(epochs=3), dict(epochs=2, batch_size=8)):
        with pytest.raises(RunFolderConflict, match="completed run with other settings.*--overwrite") as error:
            train("vgg11", "digits", runs=smoke_run.parent.parent, **{**SMALL, **other})
        assert "epochs: 2 -> 3" in str(error.value) or "batch_size: 32 -> 8" in str(error.value)
    assert {p: p.read_bytes() for p in smoke_run.rglob("*") if p.is_file()} == before


class Interrupt(keras.callbacks.Callback):
    """Simulates a killed process at the end of a given epoch."""

    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch, self.began = after_epoch, []

    def on_epoch_begin(self, epoch, logs=None):
        self.began.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_at_the_next_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train("vgg11", "digits", runs=tmp_path, epochs=3, callbacks=[Interrupt(after_epoch=1)], **SMALL)
    run_dir = find_runs(tmp_path, completed=False)[0]
    assert json.loads((run_dir / "config.json").read_text())["status"] == "training"
    # The interruption came after epoch 1 (counted from 0) ended but before its backup (the
    # backup is the last callback, and writes the history row with it): epoch 1 is trained again.
    assert [p.name for p in Backup(run_dir / "backup").generations()] == ["epoch-0001"]
    assert len(pd.read_csv(run_dir / "history.csv")) == 1

    # Other settings or another machine's precision: refused in one line, nothing wiped.
    saved = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    with pytest.raises(RunFolderConflict, match="interrupted run.*epochs: 3 -> 4.*learning-rate schedule"):
        train("vgg11", "digits", runs=tmp_path, epochs=4, **SMALL)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "resolved_precision": "mixed_float16"}))
    with pytest.raises(RunFolderConflict, match="precision 'mixed_float16' -> 'float32'.*--overwrite"):
        train("vgg11", "digits", runs=tmp_path, epochs=3, **SMALL)
    (run_dir / "config.json").write_bytes(saved[run_dir / "config.json"])
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == saved

    watcher = Interrupt(after_epoch=-1)
    train("vgg11", "digits", runs=tmp_path, epochs=3, callbacks=[watcher], **SMALL)
    assert watcher.began == [1, 2]  # epoch 0 was not trained again
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3]
    assert json.loads((run_dir / "config.json").read_text())["status"] == "completed"


def test_same_seed_gives_the_same_metrics(tmp_path):
    first = train("vgg11", "digits", run_dir=tmp_path / "a", deterministic=True, **SMALL)
    second = train("vgg11", "digits", run_dir=tmp_path / "b", deterministic=True, **SMALL)
    assert (first / "metrics.json").read_text() == (second / "metrics.json").read_text()
    pd.testing.assert_frame_equal(pd.read_csv(first / "predictions.csv"), pd.read_csv(second / "predictions.csv"))


def test_binary_faces_run_has_one_sigmoid_output(tmp_path):
    run_dir = train("vgg11", "faces", runs=tmp_path, **SMALL)
    config = load_run(run_dir)["config"]
    assert config.class_names == ("background", "face")
    model = keras.models.load_model(run_dir / "model.keras")
    assert model.output_shape == (None, 1)
    assert model.get_layer("predictions").activation.__name__ == "sigmoid"
    assert [c for c in pd.read_csv(run_dir / "predictions.csv").columns if c.startswith("prob_")] == ["prob_face"]


class PoisonWeights(keras.callbacks.Callback):
    """Turns one kernel into NaN after the first batch, as a diverging run would."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            layer = self.model.get_layer("predictions")
            layer.kernel.assign(np.full(layer.kernel.shape, np.nan, "float32"))


def test_nan_loss_marks_the_run_failed(tmp_path):
    with pytest.raises(TrainingFailed, match="NaN"):
        train("vgg11", "digits", runs=tmp_path, batch_size=8, epochs=2, callbacks=[PoisonWeights()], **SMALL)
    config = json.loads(next(tmp_path.rglob("config.json")).read_text())
    assert config["status"] == "failed" and "NaN" in config["error"]
    assert config["epochs_run"] == 1  # stopped in the first epoch


def test_mirrored_training_on_two_logical_cpu_devices(tmp_path):
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from labwork6.train import train
        train("vgg11", "digits", run_dir={str(tmp_path / "run")!r}, profile="smoke", width=0.0625,
              distribute="mirrored")  # the smoke set: 120 images, 9 for validation (odd: split 8 + 1)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["status"] == "completed" and config["num_replicas_in_sync"] == 2


KILLED_RUN = """
import os, signal, sys
import keras
from labwork6.train import train

class KillMidEpoch(keras.callbacks.Callback):
    # SIGKILL, the way an out-of-memory killer or a closed laptop ends a run: no clean-up at all.
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 2 and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)

kill = sys.argv[2] == "kill"
train("vgg11", "digits", run_dir=sys.argv[1], profile="smoke", width=0.0625, subsample=30, epochs=4,
      batch_size=8, deterministic=True, precision="float32", verbose=0, callbacks=[KillMidEpoch()] if kill else [])
"""


def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path):
    def run(run_dir, mode):
        return subprocess.run([sys.executable, "-c", KILLED_RUN, str(run_dir), mode], capture_output=True,
                              text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})

    assert run(tmp_path / "whole", "plain").returncode == 0
    killed = run(tmp_path / "killed", "kill")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert json.loads((tmp_path / "killed" / "config.json").read_text())["status"] == "training"
    assert len(pd.read_csv(tmp_path / "killed" / "history.csv")) == 2  # epochs 1-2 finished, 3 was cut short
    resumed = run(tmp_path / "killed", "plain")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    whole, again = (load_run(tmp_path / name) for name in ("whole", "killed"))
    assert again["metrics"] == whole["metrics"]  # bit for bit: accuracy, per-class values, best epoch
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    pd.testing.assert_frame_equal(again["history"][columns], whole["history"][columns])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "killed" / "predictions.csv"),
                                  pd.read_csv(tmp_path / "whole" / "predictions.csv"))


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (dict(epochs=0), "epochs=0"),
        (dict(batch_size=-4), "batch_size=-4"),
        (dict(learning_rate=-1.0), "learning_rate=-1.0"),
        (dict(optimizer="rmsprop"), "rmsprop"),
        (dict(precision="float8"), "float8"),
        (dict(distribute="tpu"), "tpu"),
        (dict(momentum=0.5), "momentum"),
    ],
)
def test_bad_training_options_raise_value_error(overrides, fragment):
    with pytest.raises(ValueError, match=fragment):
        resolve_config("vgg19", "digits", profile="smoke", **overrides)


def test_unknown_model_and_profile():
    with pytest.raises(ValueError, match="resnet19"):
        resolve_config("resnet101", "digits")
    with pytest.raises(ValueError, match="huge"):
        resolve_config("vgg19", "digits", profile="huge")
