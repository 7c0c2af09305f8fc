"""Epoch lines from a training run to the main job's terminal."""

import json

import pytest

from labwork6.progress import PROGRESS_ENV, EpochProgress, ProgressFollower, format_seconds


def test_epoch_progress_appends_one_json_line_per_epoch(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    callback = EpochProgress("digits-vgg19_bn-seed0", "vgg19_bn", 0, 8)
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"accuracy": 0.5, "val_accuracy": 0.75})
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and records[0]["model"] == "vgg19_bn"
    assert records[1]["val_accuracy"] == 0.75 and records[1]["seconds"] >= 0


def test_epoch_progress_writes_nothing_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    callback = EpochProgress("run", "vgg19_bn", 0, 2)
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {})
    assert list(tmp_path.iterdir()) == []


def test_follower_prints_epochs_with_time_left_for_the_run_and_the_job(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text("")
    lines = []
    planned = {"digits-vgg19_bn-seed0": ("vgg19_bn", 4), "digits-vgg19_bn-seed1": ("vgg19_bn", 4),
               "digits-resnet19-seed0": ("resnet19", 4)}
    with ProgressFollower(path, planned, log=lambda text, flush=False: lines.append(text), poll=0.01):
        with open(path, "a") as file:
            for epoch, seconds in ((1, 30.0), (2, 10.0)):  # the first epoch also builds the graph
                file.write(json.dumps({"run": "digits-vgg19_bn-seed0", "model": "vgg19_bn", "seed": 0,
                                       "epoch": epoch, "epochs": 4, "seconds": seconds, "accuracy": 0.9,
                                       "val_accuracy": 0.95}) + "\n")
            # a small run the plan did not know (notebook 02's faces run) does not set vgg19_bn's rate
            file.write(json.dumps({"run": "faces-vgg19_bn-seed0", "model": "vgg19_bn", "seed": 0, "epoch": 2,
                                   "epochs": 2, "seconds": 0.5, "accuracy": 1.0, "val_accuracy": 1.0}) + "\n")
            file.write('{"partial": ')  # a line being written is left for later
    assert len(lines) == 3
    assert "digits-vgg19_bn-seed0: epoch 2/4" in lines[1] and "val 95.0%" in lines[1]
    # 2 epochs of this run + 4 of seed 1 at 10 s, + 4 of resnet19 at the mean rate seen (10 s)
    assert "run ~20 s left" in lines[1] and "job ~1 min 40 s left" in lines[1]
    assert "faces-vgg19_bn-seed0: epoch 2/2" in lines[2] and "job ~1 min 40 s left" in lines[2]


def test_the_next_notebooks_follower_does_not_count_runs_already_finished(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text("")
    lines = []
    log = lambda text, flush=False: lines.append(text)  # noqa: E731
    planned = {"digits-vgg19_bn-seed0": ("vgg19_bn", 2), "digits-resnet19-seed0": ("resnet19", 2)}

    def epoch(run, model, number, seconds):
        with open(path, "a") as file:
            file.write(json.dumps({"run": run, "model": model, "seed": 0, "epoch": number, "epochs": 2,
                                   "seconds": seconds, "accuracy": 0.9, "val_accuracy": 0.9}) + "\n")

    with ProgressFollower(path, planned, log=log, poll=0.01) as first:  # notebook 02
        epoch("digits-vgg19_bn-seed0", "vgg19_bn", 1, 30.0)
        epoch("digits-vgg19_bn-seed0", "vgg19_bn", 2, 10.0)
    with ProgressFollower(path, planned, log=log, poll=0.01, previous=first):  # notebook 03
        epoch("digits-resnet19-seed0", "resnet19", 1, 30.0)
    # one resnet19 epoch left, at the rate seen so far (VGG's 10 s); without the previous follower
    # the two finished VGG epochs would be counted again (30 s)
    assert "job ~10 s left" in lines[-1]


@pytest.mark.parametrize("seconds, text", [(5, "5 s"), (65, "1 min 05 s"), (-3, "0 s")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
