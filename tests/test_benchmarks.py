"""The benchmark script runs end to end in its --quick configuration and writes its tables.

No timing is asserted: the numbers of a --quick run mean nothing, and the machine is shared.
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
# resnet50 is left out: it runs the same code as vgg (ours against keras.applications) and
# tracing two ResNet50 train steps would double this test's time.
QUICK_SECTIONS = "matmul,vgg,resnet19,pipeline,size,batch,inference,memory,threads"


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
    assert (frame["section"] == "size").any() and frame.loc[frame["repetitions"] == 0, "note"].str.contains(
        "skipped").all()

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
    assert latex.count(r"\begin{longtable}") == len(set(frame["section"]))


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
    assert args.sections == ["vgg", "pipeline"] and args.repetitions == 3


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
