"""A run's configuration: one frozen, versioned dataclass, written and read back by one pair of functions."""

import dataclasses
import json

import pytest

from labwork6.recipes import resolve_config
from labwork6.run_config import (
    CONFIG_FILE,
    RUN_FORMAT,
    BaselineConfig,
    RunConfig,
    RunFormatError,
    read_config,
    write_config,
)
from labwork6.runs import differences


def trained(**overrides) -> RunConfig:
    """A resolved configuration with what training records."""
    return resolve_config("vgg19_bn", "digits", profile="smoke", **overrides).replace(
        status="completed", input_shape=[32, 32, 1], raw_input_shape=(8, 8, 1), num_classes=10,
        class_names=[str(i) for i in range(10)], counts={"train": 80, "val": 20, "test": 60},
        parameters={"total": 123, "trainable": 120}, multiply_adds=4567, resolved_precision="float32",
        versions={"labwork6": "0.1.0"}, hardware={"cpu_count": 2}, epochs_run=2, steps_per_epoch=3)


def test_written_and_read_back_it_is_the_same_configuration(tmp_path):
    config = trained()
    write_config(tmp_path, config)
    assert read_config(tmp_path) == config
    saved = json.loads((tmp_path / CONFIG_FILE).read_text())
    # the file is every field, as plain JSON, and the derived evaluation
    assert set(saved) == {item.name for item in dataclasses.fields(RunConfig)} | {"evaluation"}
    assert saved["run_format"] == RUN_FORMAT and saved["evaluation"] == "cross-validation"
    assert saved["input_shape"] == [32, 32, 1] and saved["robustness_severities"] == [1, 3, 5]
    assert read_config(tmp_path / "nothing") is None


def test_it_is_frozen_and_every_change_is_checked():
    config = trained(epochs=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 9
    assert config.replace(epochs=9).epochs == 9 and config.epochs == 2
    with pytest.raises(ValueError, match="epochs=0"):
        config.replace(epochs=0)
    with pytest.raises(ValueError, match="status='done'"):
        config.replace(status="done")
    with pytest.raises(ValueError, match="fold=0, folds=None"):
        config.replace(folds=None)


def test_recorded_facts_are_not_settings():
    config = trained()
    assert not differences(config, config.replace(status="training", parameters={"total": 1}, epochs_run=1))
    assert differences(config, config.replace(batch_size=8, seed=3)) == ["batch_size: 32 -> 8", "seed: 0 -> 3"]
    assert "status" not in config.settings() and config.settings()["evaluation"] == "cross-validation"


@pytest.mark.parametrize("found, named", [
    (2, "64-filter stem"),
    (None, "does not hold its preprocessing"),  # format 1 wrote no run_format
    (RUN_FORMAT + 1, "newer labwork6"),
])
def test_another_format_is_refused_with_what_changed(tmp_path, found, named):
    saved = trained().to_json()
    if found is None:
        del saved["run_format"]
    else:
        saved["run_format"] = found
    (tmp_path / CONFIG_FILE).write_text(json.dumps(saved))
    with pytest.raises(RunFormatError, match=named) as error:
        read_config(tmp_path)
    assert str(tmp_path / CONFIG_FILE) in str(error.value)
    assert f"run_format={found if found is not None else 1}" in str(error.value)


@pytest.mark.parametrize("content, named", [
    ({**trained().to_json(), "momentum": 0.9}, "momentum"),
    ({**trained().to_json(), "epochs": -1}, "epochs=-1"),
    ([1, 2], "JSON object"),
])
def test_a_file_that_is_not_a_configuration_names_what_is_wrong(tmp_path, content, named):
    (tmp_path / CONFIG_FILE).write_text(json.dumps(content))
    with pytest.raises(ValueError, match=named) as error:
        read_config(tmp_path)
    assert str(tmp_path / CONFIG_FILE) in str(error.value)


def test_the_baseline_reads_back_as_a_baseline(tmp_path):
    config = BaselineConfig(dataset="digits", profile="smoke", seed=1, folds=2, fold=1, max_train=50,
                            status="completed", fit_images=50, raw_input_shape=[8, 8, 1])
    write_config(tmp_path, config)
    found = read_config(tmp_path)
    assert isinstance(found, BaselineConfig) and found == config and found.model == "svc"
    assert found.raw_input_shape == (8, 8, 1) and found.evaluation == "cross-validation"
