"""The benchmark script runs end to end in its --quick configuration and writes its tables.

No timing is asserted: the numbers of a --quick run mean nothing, and the machine is shared.
The quick time_to_accuracy section trains the smoke profile's networks once (seed 0).
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
# resnet50 is left out: it runs the same code as vgg (ours against keras.applications) and
# tracing two ResNet50 train steps would double this test's time.
# time_to_accuracy is left out too: its training and reading of runs, its summary, figure and tables are
# tested below without the quick run training both networks again (~30 s of CI).
QUICK_SECTIONS = "matmul,vgg,resnet19,pipeline,size,batch,inference,memory,threads"
PIPELINE_CASES = ["bare network, in-memory batch", "bare network, keras arrays (fit on numpy)",
                  "preprocessing in the model + make_pipeline", "the same + augmentation (as trained)"]


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", QUICK_SECTIONS, "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out, completed.stdout


def test_quick_run_writes_csv_markdown_latex_and_summary(quick_run):
    out, stdout = quick_run
    assert "[bench" in stdout and "== vgg done" in stdout  # progress lines as it goes
    frame = pd.read_csv(out / "benchmarks.csv")
    assert list(frame.columns[:7]) == ["section", "model", "setting", "value", "unit", "repetitions", "spread"]
    assert set(frame["section"]) == set(QUICK_SECTIONS.split(","))
    measured = frame[frame["repetitions"] > 0]
    assert (measured.loc[measured["unit"] == "images/s", "value"] > 0).all()
    size = frame[frame["section"] == "size"]
    assert len(size) and size.loc[size["repetitions"] == 0, "note"].str.contains("skipped").all()
    pipeline = frame[(frame["section"] == "pipeline") & (frame["unit"] == "images/s")]
    assert list(pipeline["setting"]) == PIPELINE_CASES

    vgg = frame[frame["section"] == "vgg"]
    assert {"vgg19", "keras.applications.VGG19"} <= set(vgg["model"])
    assert vgg["note"].fillna("").str.contains("parameters equal").any()

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["vgg_ours_vs_keras"]) == {"float32", "mixed_bfloat16"}
    assert summary["vgg_parameters"]["ours"] == summary["vgg_parameters"]["keras"]
    assert "vgg19" in summary["bf16_vs_fp32"]
    for key in ("pipeline_overhead", "pipeline_overhead_with_augmentation"):
        assert math.isfinite(summary[key])
    assert summary["fraction_of_matmul_peak"]["vgg19 float32"] > 0
    assert summary["quick"] is True and summary["command"].startswith("python benchmarks/run.py --quick")

    markdown = (out / "benchmarks.md").read_text()
    assert "## Headline ratios" in markdown and "| vgg_ours_vs_keras | float32 |" in markdown
    latex = (out / "benchmarks.tex").read_text()
    assert r"\toprule" in latex and r"\begin{longtable}" in latex and r"vgg\_ours\_vs\_keras" in latex
    assert latex.count(r"\begin{longtable}") == len(set(frame["section"]))  # one per section


def test_memory_rows_are_the_child_process_own_peak(quick_run):
    out, _ = quick_run
    frame = pd.read_csv(out / "benchmarks.csv")
    memory = frame[frame["section"] == "memory"].set_index("setting")["value"]
    peak = memory[memory.index.str.endswith("peak RSS")].iloc[0]
    built = memory[memory.index.str.endswith("RSS after building")].iloc[0]
    # The child's own high-water mark, not the (much larger) benchmark process inherited over exec.
    assert built <= peak < 4 * built


def test_unknown_section_and_precision_are_refused():
    run = load_module("labwork6_benchmarks_run", SCRIPT)
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "vgg,nonsense"])
    with pytest.raises(SystemExit):
        run.parse_args(["--precisions", "float64"])
    args = run.parse_args(["--only", "vgg, pipeline", "--repetitions", "3", "--steps", "5"])
    assert args.sections == ["vgg", "pipeline"] and args.repetitions == 3 and args.seed_list is None
    assert run.parse_args(["--only", "time_to_accuracy", "--seeds", "0,1,2"]).seed_list == [0, 1, 2]
    assert run.parse_args(["--only", "time_to_accuracy", "--runs", "runs"]).runs == "runs"
    for bad in ("one", "0,0", "-1", ","):
        with pytest.raises(SystemExit):
            run.parse_args(["--seeds", bad])


def _fake_epochs(tta):
    """Two models x two seeds of per-epoch rows (as epoch_frame writes them), 100 validation images."""
    rows = []
    for model, per_epoch_correct in (("vgg19_bn", [[90, 98, 99, 97], [95, 99, 100, 100]]),
                                     ("resnet19", [[80, 97, 98, 98], [85, 90, 96, 98]])):
        for seed, corrects in enumerate(per_epoch_correct):
            for epoch, correct in enumerate(corrects, start=1):
                rows.append({"model": model, "seed": seed, "epoch": epoch, "epoch_seconds": 10.0 + seed,
                             "train_seconds": epoch * (10.0 + seed), "accuracy": 0.9, "val_accuracy": correct / 100,
                             "val_correct": correct, "num_val": 100, "reached_target": tta._reaches(correct, 100),
                             "selected": epoch == 3, "test_accuracy": (96 + seed) / 100, "test_correct": 96 + seed,
                             "num_test": 100, "profile": "default", "precision": "float32"})
    return pd.DataFrame(rows, columns=tta.EPOCH_COLUMNS)


def test_time_to_accuracy_reads_completed_runs_instead_of_training_them(tmp_path, capsys, monkeypatch):
    """--runs: the main job's completed runs are read (same folder layout), the missing ones trained
    (a three-layer network stands in for VGG19-BN: what is tested is which runs are trained)."""
    from test_crash import tiny_network

    import labwork6.train
    from labwork6.train import train

    monkeypatch.setattr(labwork6.train, "build_network", tiny_network)
    tta = load_module("labwork6_benchmarks_tta", ROOT / "benchmarks" / "_time_to_accuracy.py")
    done = train("vgg19_bn", profile="smoke", seed=0, runs=tmp_path, verbose=0)
    before = (done / "config.json").stat().st_mtime_ns
    messages = []
    epochs, wall, configs = tta.train_runs(["vgg19_bn"], [0, 1], "smoke", tmp_path, messages.append, reuse=True)
    assert messages[0] == f"time_to_accuracy: reading the completed run {done} (not trained again)"
    assert messages[1] == "time_to_accuracy: training vgg19_bn, seed 1, profile smoke ..."
    assert (done / "config.json").stat().st_mtime_ns == before and list(wall) == [("vgg19_bn", 1)]
    assert list(epochs["seed"]) == [0, 1] and configs["vgg19_bn"].profile == "smoke"
    assert (tmp_path / "smoke" / "digits-vgg19_bn-seed1-fold0of2" / "metrics.json").exists()
    # one row per epoch (the smoke profile trains one), read from each run's history and predictions
    assert set(epochs["epoch"]) == {1} and epochs["selected"].all()
    assert (epochs["train_seconds"] == epochs["epoch_seconds"]).all() and (epochs["epoch_seconds"] > 0).all()
    assert (epochs["test_correct"] / epochs["num_test"] == epochs["test_accuracy"]).all()
    assert (epochs["val_correct"] <= epochs["num_val"]).all()
    assert (epochs["reached_target"] == (epochs["val_correct"] * 100 >= 99 * epochs["num_val"])).all()


def test_time_to_accuracy_summary_and_figure_without_training(tmp_path):
    tta = load_module("labwork6_benchmarks_tta", ROOT / "benchmarks" / "_time_to_accuracy.py")
    results_module = load_module("labwork6_benchmarks_results", ROOT / "benchmarks" / "_results.py")
    assert tta._reaches(99, 100) and not tta._reaches(98, 100) and tta._reaches(268, 270)
    assert not tta._reaches(267, 270)  # 98.9%: one image short on digits' 270 validation images
    epochs = _fake_epochs(tta)
    summary = tta.summarise(epochs)
    vgg, resnet = summary["vgg19_bn"], summary["resnet19"]
    # vgg: seed 0 reaches 99 of 100 at epoch 3 (30 s), seed 1 at epoch 2 (22 s); resnet never does.
    assert vgg["seconds_to_target_per_seed"] == {0: 30.0, 1: 22.0} and vgg["median_seconds_to_target"] == 26.0
    assert vgg["runs_reaching_target_on_validation"] == 2 and vgg["median_train_seconds"] == 42.0
    assert vgg["mean_test_accuracy"] == pytest.approx(0.965) and vgg["min_test_accuracy"] == 0.96
    assert resnet["runs_reaching_target_on_validation"] == 0 and resnet["median_seconds_to_target"] is None
    assert tta.seconds_to_target(epochs[(epochs["model"] == "resnet19") & (epochs["seed"] == 0)]) is None

    figure = tta.plot_time_to_accuracy(epochs)
    lines = [line for line in figure.axes[0].lines if len(line.get_xdata()) > 1]
    assert len(lines) == 4 + 1  # one per run, and the 99% line
    colours = [to_hex(line.get_color()) for line in lines[:4]]
    assert colours[0] == colours[1] != colours[2] == colours[3]  # one colour per model
    assert figure.axes[1].get_ylim()[0] == 95

    results = results_module.Results(echo=lambda message: None)
    results.add("time_to_accuracy", "vgg19_bn", "default profile, training seconds per run", [40.0, 44.0], "s")
    for model, entry in summary.items():
        results.headline("time_to_accuracy", model, {**entry, "matmul_gflops": 100.0})
    paths = results.write(tmp_path, {"command": "python benchmarks/run.py --only time_to_accuracy", "quick": False})
    markdown = paths["md"].read_text()
    assert "| vgg19_bn | 0, 1 | 4 | 42.0 | 96.50% (96.00%) | 2 of 2 runs (>= 99%) | 26.0 |" in markdown
    assert "| resnet19 | 0, 1 | 4 |" in markdown and "0 of 2 runs" in markdown
    tex = paths["tex"].read_text()
    assert r"96.50\% (96.00\%)" in tex and r"\begin{longtable}{p{1.4cm}" in tex
    # no section that computes a ratio ran: no empty headline table, the machine and command in a line
    assert "Headline ratios" not in tex and "Benchmarks run:" in tex and "-{}-only time\\_to\\_accuracy" in tex
    assert json.loads(paths["summary"].read_text())["time_to_accuracy"]["vgg19_bn"]["median_seconds_to_target"] == 26


def test_tables_from_rows_without_running_anything(tmp_path):
    results_module = load_module("labwork6_benchmarks_results", ROOT / "benchmarks" / "_results.py")
    results = results_module.Results(echo=lambda message: None)
    results.add("matmul", "2048x2048 matmul", "float32", [100.0, 110.0, 90.0], "GFLOP/s")
    row = results.add("vgg", "vgg19", "float32, batch 64, 32x32x3", [50.0, 40.0, 60.0], "images/s",
                      flops_per_image=2e9, peak_gflops=200.0)
    assert row["value"] == 50.0 and row["spread"] == 20.0 and row["gflops"] == pytest.approx(100.0)
    assert row["fraction_of_peak"] == pytest.approx(0.5)
    skipped = results.add("size", "resnet19", "float32, batch 8, 224x224x3", [], "images/s", note="skipped: slow")
    assert skipped["repetitions"] == 0 and math.isnan(skipped["value"])
    results.headline("vgg_ours_vs_keras", "float32", 1.01)
    results.headline("pipeline_overhead", None, 0.02)
    paths = results.write(tmp_path, {"command": "python benchmarks/run.py --only vgg", "quick": False,
                                     "date": "today", "machine": {"processor": "test_cpu", "cores": 2}})
    assert set(paths) == {"csv", "md", "tex", "summary"} and all(path.exists() for path in paths.values())
    latex = paths["tex"].read_text()
    assert r"test\_cpu" in latex and "-{}-only" in latex and r"50\%" in latex
    summary = json.loads(paths["summary"].read_text())
    assert summary["vgg_ours_vs_keras"] == {"float32": 1.01} and summary["pipeline_overhead"] == 0.02
