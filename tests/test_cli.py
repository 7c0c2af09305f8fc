"""The command line: help, one-line errors, no TensorFlow C++ log, and train -> evaluate -> predict on a smoke run."""

import copy
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from labwork6.cli import main
from labwork6.evaluate import evaluation_dir, load_test_split
from labwork6.runs import RUN_FILES


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "labwork6", *args], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.slow  # a fresh Python process importing TensorFlow
def test_help_lists_every_subcommand():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "predict", "export-data", "layers", "pipeline", "report",
                    "check-notebooks", "colab-links"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "export-data", "layers", "pipeline", "report",
                                     "check-notebooks", "colab-links"])
def test_each_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: labwork6" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--model", "vgg20"], "invalid choice: 'vgg20'"),
        (["train", "--model", "vgg19", "--epochs", "0"], "must be a positive integer, got 0"),
        (["train", "--model", "vgg19", "--dataset", "imagenet22k", "--profile", "smoke"], "Unknown dataset"),
        (["train", "--model", "vgg19", "--dataset", "/no/such/folder", "--profile", "smoke"], "/no/such/folder"),
        (["evaluate", "--run-dir", "/no/such/run"], "/no/such/run"),
        (["layers", "--model", "vgg19", "--input-shape", "16,16,3"], "(16, 16, 3)"),
        (["layers", "--model", "vgg19", "--input-shape", "a,b"], "'a,b'"),
        (["check-notebooks", "/no/such/notebook.ipynb"], "/no/such/notebook.ipynb"),
    ],
)
def test_bad_arguments_give_one_line_errors(args, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ would be made here
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert fragment in error
    assert "Traceback" not in error
    assert list(tmp_path.iterdir()) == []  # a refused dataset gets no run folder


@pytest.mark.slow  # a fresh Python process importing TensorFlow
def test_bad_argument_in_a_subprocess_has_no_traceback():
    result = run_cli("train", "--model", "vgg19", "--dataset", "nope", "--profile", "smoke")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("labwork6: error: Unknown dataset")
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a fresh Python process importing TensorFlow
def test_cli_output_holds_no_tensorflow_log_lines(tensorflow_log_lines):
    # The user's environment, not the one conftest quieted: the CLI must quiet TensorFlow by itself.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_CPP", "GRPC_"))}
    result = run_cli("layers", "--model", "vgg11", "--input-shape", "32,32,1", env=env)
    assert result.returncode == 0, result.stderr
    assert "block1_conv1" in result.stdout
    assert [line for line in tensorflow_log_lines if line in result.stdout + result.stderr] == []


def test_layers_prints_the_exact_vgg19_count(capsys):
    assert main(["layers", "--model", "vgg19"]) == 0
    out = capsys.readouterr().out
    assert "143667240" in out and "block5_conv4" in out


@pytest.mark.slow
def test_train_evaluate_predict_on_a_smoke_run(tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    assert main(["train", "--model", "vgg11", "--profile", "smoke", "--width", "0.0625",
                 "--run-dir", str(run_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out
    saved = json.loads((run_dir / "metrics.json").read_text())

    assert main(["evaluate", "--run-dir", str(run_dir)]) == 0
    again = json.loads((run_dir / "evaluation" / "test" / "metrics.json").read_text())
    assert again["accuracy"] == pytest.approx(saved["accuracy"])

    data, predictions = load_test_split(run_dir)
    assert list(predictions["label"]) == list(data.test.labels)
    tampered = tmp_path / "tampered"
    shutil.copytree(run_dir, tampered)
    predictions.assign(label=(predictions["label"] + 1) % 10).to_csv(tampered / "predictions.csv", index=False)
    with pytest.raises(ValueError, match="does not match"):
        load_test_split(tampered)

    export = tmp_path / "digits"
    assert main(["export-data", "--dataset", "digits", "--out", str(export)]) == 0
    assert (export / "manifest.csv").exists()
    assert main(["evaluate", "--run-dir", str(run_dir), "--dataset", str(export)]) == 0
    on_export = json.loads((evaluation_dir(run_dir, str(export)) / "metrics.json").read_text())
    assert evaluation_dir(run_dir, str(export)).name.startswith("digits-")  # the folder's name and a hash
    assert on_export["num_test"] == 270  # the export's test/ folder: seed 0's test split, all of it

    # A path that ends in .. or is ./ names the folder it means: the run's own files stay as they are.
    own = {name: (run_dir / name).read_bytes() for name in RUN_FILES}
    assert main(["evaluate", "--run-dir", str(run_dir), "--dataset", f"{export}/test/.."]) == 0
    monkeypatch.chdir(export)
    assert main(["evaluate", "--run-dir", str(run_dir), "--dataset", "./"]) == 0
    assert {name: (run_dir / name).read_bytes() for name in RUN_FILES} == own
    assert sorted(p.name for p in (run_dir / "evaluation").iterdir()) == sorted(
        ["test", evaluation_dir(run_dir, str(export)).name])

    single = tmp_path / "only_threes"
    shutil.copytree(export / "test" / "3", single / "3")  # one class of the ten the run knows
    assert main(["evaluate", "--run-dir", str(run_dir), "--dataset", str(single)]) == 0
    subset = pd.read_csv(evaluation_dir(run_dir, str(single)) / "predictions.csv")
    assert len(subset) == len(list((single / "3").glob("*.png"))) and set(subset["label"]) == {3}

    images = sorted((export / "test" / "3").glob("*.png"))[:2]
    capsys.readouterr()
    assert main(["predict", "--run-dir", str(run_dir), *map(str, images)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, image in zip(lines, images, strict=True):
        path, label, probability = line.split("\t")
        assert path == str(image) and label in [str(i) for i in range(10)] and 0 <= float(probability) <= 1

    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--run-dir", str(run_dir), str(not_an_image)])
    assert exit_.value.code == 2 and "notes.txt" in capsys.readouterr().err


def test_a_file_that_cannot_be_written_ends_in_one_line(capsys, monkeypatch):
    import labwork6.cli

    def read_only(args):
        raise PermissionError(13, "Permission denied", "/runs/smoke/digits-vgg11-seed0/config.json")

    monkeypatch.setitem(labwork6.cli.COMMANDS, "evaluate", read_only)
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--run-dir", "/runs/smoke/digits-vgg11-seed0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("labwork6: error: cannot write or read "
                                       "/runs/smoke/digits-vgg11-seed0/config.json: Permission denied\n")


def test_report_waits_for_no_one_and_names_the_writer_it_met(capsys):
    from pathlib import Path

    from labwork6.runs import run_lock

    report = Path(__file__).resolve().parent.parent / "report"
    with run_lock(report):
        with pytest.raises(SystemExit) as exit_:
            main(["report", "--no-pdf"])
    assert exit_.value.code == 2 and f"pid {os.getpid()}" in capsys.readouterr().err


def test_the_pdf_is_built_without_shell_escape(tmp_path, monkeypatch):
    import labwork6.latex

    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "numbers.tex").write_text("")
    (tmp_path / labwork6.latex.REPORT_NAME).write_text("")
    commands = []

    def fake_run(command, **options):
        commands.append(command)
        (tmp_path / labwork6.latex.REPORT_NAME.replace(".tex", ".pdf")).write_text("")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(labwork6.latex.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(labwork6.latex.subprocess, "run", fake_run)
    labwork6.latex.build_pdf(tmp_path)
    assert commands[0][0] == "latexmk" and "-no-shell-escape" in commands[0]
    assert not any(option in ("-shell-escape", "--shell-escape") for option in commands[0])


def test_check_notebooks_strips_outputs_and_nothing_else(tmp_path, capsys):
    new = nbformat.v4
    clean = new.new_notebook(cells=[
        new.new_markdown_cell("# demo\n\nSome *prose*."),
        new.new_code_cell("import os\n\nEPOCHS = 2", metadata={"tags": ["parameters"]}),
        new.new_code_cell("EPOCHS + 1"),
        new.new_code_cell("print('hello')"),
        new.new_code_cell("y = 2"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    dirty = copy.deepcopy(clean)
    dirty.cells[2].execution_count = 2
    dirty.cells[2].outputs = [new.new_output("execute_result", {"text/plain": "3"}, execution_count=2)]
    dirty.cells[3].execution_count = 3
    dirty.cells[3].outputs = [new.new_output("stream", name="stdout", text="hello\n")]
    dirty.cells[4].execution_count = 4
    nbformat.write(clean, tmp_path / "clean.ipynb")
    nbformat.write(dirty, tmp_path / "dirty.ipynb")
    clean_bytes = (tmp_path / "clean.ipynb").read_bytes()

    assert main(["check-notebooks", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'dirty.ipynb'}: has outputs or execution counts (run `make clean-notebooks`)"]
    assert main(["check-notebooks", str(tmp_path), "--fix"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"stripped {tmp_path / 'dirty.ipynb'}"]
    # Stripping removes outputs and counts and keeps every byte of the rest.
    assert (tmp_path / "dirty.ipynb").read_bytes() == clean_bytes
    assert (tmp_path / "clean.ipynb").read_bytes() == clean_bytes
    assert main(["check-notebooks", str(tmp_path)]) == 0


def test_committed_notebooks_are_clean():
    assert main(["check-notebooks", "notebooks"]) == 0
