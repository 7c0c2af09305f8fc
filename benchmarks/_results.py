"""Collect benchmark measurements and write them as CSV, markdown, LaTeX and a JSON summary.

The Markdown and LaTeX tables are written by :mod:`labwork6.latex`, as the report's are.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pandas as pd

from labwork6.latex import markdown_table, table_to_latex, tex_escape

COLUMNS = ["section", "model", "setting", "value", "unit", "repetitions", "spread", "min", "max",
           "gflops", "fraction_of_peak", "note"]

#: Headline ratios, in the order they are shown, with what each means.
HEADLINES = {
    "vgg_ours_vs_keras": "our VGG19 / keras.applications.VGG19 training images/s (same configuration)",
    "resnet50_ours_vs_keras": "our ResNet50 / keras.applications.ResNet50 training images/s (same network; "
                              "keras' convolutions have biases)",
    "bf16_vs_fp32": "mixed_bfloat16 / float32 training images/s, our models",
    "pipeline_overhead": "extra training time of the model with its preprocessing fed raw images by make_pipeline, "
                         "over the bare network on an in-memory batch of normalised images (0.03 = +3%)",
    "pipeline_overhead_with_augmentation": "the same with the default profile's augmentation in the model "
                                           "(the model exactly as trained)",
    "fraction_of_matmul_peak": "achieved training FLOP/s / the matmul rate of the same dtype measured in this run",
}


def _number(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit in ("x", "fraction"):
        return f"{value:.3f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


class Results:
    """Rows of measurements (one per measured quantity) and the headline summary."""

    def __init__(self, echo=print):
        self.rows: list[dict] = []
        self.summary: dict = {}
        self.echo = echo

    def add(self, section: str, model: str, setting: str, values, unit: str, *, flops_per_image=None,
            peak_gflops=None, note: str = "") -> dict:
        """Record the median of ``values`` (one per repetition) with its min, max and spread
        (max - min). With ``flops_per_image`` (training or inference FLOPs) an images/s row
        also gets the achieved GFLOP/s and, with ``peak_gflops``, its fraction of the peak."""
        values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
        if not values:  # a skipped point: a row with its reason and no numbers
            values = [math.nan]
        median = statistics.median(values)
        row = {"section": section, "model": model, "setting": setting, "value": median, "unit": unit,
               "repetitions": len(values) if not math.isnan(median) else 0, "spread": max(values) - min(values),
               "min": min(values), "max": max(values), "gflops": math.nan, "fraction_of_peak": math.nan,
               "note": note}
        if flops_per_image and not math.isnan(median):
            row["gflops"] = median * flops_per_image / 1e9
            if peak_gflops:
                row["fraction_of_peak"] = row["gflops"] / peak_gflops
        self.rows.append(row)
        extra = f" ({row['gflops']:.1f} GFLOP/s, {row['fraction_of_peak']:.0%} of matmul)" \
            if not math.isnan(row["fraction_of_peak"]) else ""
        self.echo(f"  => {section} | {model} | {setting}: {_number(median, unit)} {unit} "
                  f"[{_number(row['min'], unit)}-{_number(row['max'], unit)}, n={len(values)}]{extra}")
        return row

    def headline(self, key: str, name: str | None, value: float) -> None:
        """Store a headline ratio (``name`` None for a single number, else one entry of a dict)."""
        if name is None:
            self.summary[key] = value
        else:
            self.summary.setdefault(key, {})[name] = value

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)

    def write(self, out_dir, meta: dict, sections: dict | None = None) -> dict[str, Path]:
        """Write benchmarks.csv, benchmarks.md, benchmarks.tex and summary.json into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        frame = self.frame()
        paths = {"csv": out / "benchmarks.csv", "md": out / "benchmarks.md", "tex": out / "benchmarks.tex",
                 "summary": out / "summary.json"}
        frame.to_csv(paths["csv"], index=False)
        paths["md"].write_text(markdown(frame, self.summary, meta), encoding="utf8")
        paths["tex"].write_text(latex(frame, self.summary, meta, sections), encoding="utf8")
        summary = {**{key: self.summary[key] for key in HEADLINES if key in self.summary},
                   **{key: value for key, value in self.summary.items() if key not in HEADLINES},
                   "meaning": {key: text for key, text in HEADLINES.items() if key in self.summary}, **meta}
        paths["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf8")
        return paths


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The measurements as formatted strings: what the markdown and LaTeX tables show."""
    shown = pd.DataFrame({
        "Section": frame["section"],
        "Model": frame["model"],
        "Setting": frame["setting"],
        "Median": [_number(v, u) for v, u in zip(frame["value"], frame["unit"], strict=True)],
        "Unit": frame["unit"],
        "n": frame["repetitions"].astype(int).astype(str),
        "Min-max": [f"{_number(a, u)}-{_number(b, u)}" if n > 1 else ""
                    for a, b, u, n in zip(frame["min"], frame["max"], frame["unit"], frame["repetitions"],
                                          strict=True)],
        "GFLOP/s": [_number(v) for v in frame["gflops"]],
        "of matmul": ["" if math.isnan(v) else f"{v:.0%}" for v in frame["fraction_of_peak"]],
    })
    return shown


def headline_frame(summary: dict) -> pd.DataFrame:
    rows = []
    for key in HEADLINES:
        value = summary.get(key)
        if isinstance(value, dict):
            rows += [{"Ratio": key, "Case": name, "Value": f"{v:.3f}"} for name, v in value.items()]
        elif value is not None:
            rows.append({"Ratio": key, "Case": "", "Value": f"{value:.3f}"})
    for section, model in (("vgg", "VGG19"), ("resnet50", "ResNet50")):
        for what in ("parameters", "multiply_adds"):
            counts = summary.get(f"{section}_{what}")
            if counts:
                rows.append({"Ratio": f"{what.replace('_', '-')}, {model}", "Case": "ours / keras.applications",
                             "Value": f"{counts['ours']:,} / {counts['keras']:,}"})
    return pd.DataFrame(rows, columns=["Ratio", "Case", "Value"])


TIME_TO_ACCURACY_COLUMNS = ["Model", "Seeds", "Epochs", "Training s per run (median)", "Test accuracy mean (min)",
                            "Validation reached target", "s to target (median)", "Precision", "matmul GFLOP/s"]


def time_to_accuracy_frame(summary: dict) -> pd.DataFrame:
    """One row per model of ``summary["time_to_accuracy"]`` (empty when the section did not run)."""
    rows = []
    for model, entry in summary.get("time_to_accuracy", {}).items():
        to_target = entry.get("median_seconds_to_target")
        rows.append({
            "Model": model,
            "Seeds": ", ".join(str(seed) for seed in entry["seeds"]),
            "Epochs": str(entry["epochs"]),
            "Training s per run (median)": _number(entry["median_train_seconds"]),
            "Test accuracy mean (min)": f"{100 * entry['mean_test_accuracy']:.2f}% "
                                        f"({100 * entry['min_test_accuracy']:.2f}%)",
            "Validation reached target": f"{entry['runs_reaching_target_on_validation']} of {entry['runs']} runs "
                                         f"(>= {entry['target_percent']}%)",
            "s to target (median)": "" if to_target is None else _number(to_target),
            "Precision": entry["precision"],
            "matmul GFLOP/s": _number(entry.get("matmul_gflops")),
        })
    return pd.DataFrame(rows, columns=TIME_TO_ACCURACY_COLUMNS)


def _machine_line(meta: dict) -> str:
    machine = meta.get("machine", {})
    return (f"{machine.get('processor', '?')}, {machine.get('cores', '?')} cores "
            f"({machine.get('isa') or ', '.join(machine.get('cpu_features', [])) or 'no bf16 matrix units'}), "
            f"GPUs: {', '.join(machine.get('gpus', [])) or 'none'}; TensorFlow {meta.get('tensorflow')}, "
            f"Keras {meta.get('keras')}")


def markdown(frame: pd.DataFrame, summary: dict, meta: dict) -> str:
    parts = [
        "# labwork6 benchmarks",
        "",
        f"Command: `{meta.get('command', '')}`  ",
        f"Machine: {_machine_line(meta)}  ",
        f"Date: {meta.get('date', '')}; duration {meta.get('duration_seconds', 0):.0f} s"
        + ("; **--quick: sizes far too small for the numbers to mean anything**" if meta.get("quick") else ""),
        "",
        "Median over repetitions, min-max across them; ratios are medians of per-repetition ratios",
        "of measurements taken alternately in the same process. See benchmarks/README.md.",
        "",
        "## Headline ratios",
        "",
        markdown_table(headline_frame(summary), index=False).rstrip(),
        "",
        *_time_to_accuracy_markdown(summary),
        "## All measurements",
        "",
        markdown_table(display_frame(frame).assign(Note=frame["note"].fillna("")), index=False).rstrip(),
        "",
    ]
    return "\n".join(parts)


def _time_to_accuracy_markdown(summary: dict) -> list[str]:
    table = time_to_accuracy_frame(summary)
    if table.empty:
        return []
    return ["## Time to accuracy", "",
            "Training seconds are the runs' summed `epoch_seconds` (validation passes included); each run's test",
            "accuracy is that of the epoch validation selected. Every epoch: `time_to_accuracy.csv`; figure:",
            "`time_to_accuracy.png`.", "", markdown_table(table, index=False).rstrip(), ""]


def latex(frame: pd.DataFrame, summary: dict, meta: dict, sections: dict | None = None) -> str:
    """Booktabs tables to ``\\input`` in the report: the headline ratios, the time-to-accuracy
    summary (when that section ran), then one longtable per section (``\\footnotesize``).
    Needs ``\\usepackage{booktabs,longtable}``."""
    shown = display_frame(frame).drop(columns="Section")
    quick = "--quick run: the sizes are far too small for the numbers to mean anything. " if meta.get("quick") else ""
    machine = tex_escape(f"{quick}{_machine_line(meta)}. Command: {meta.get('command', '')}")
    parts = [f"% Generated by benchmarks/run.py ({meta.get('date', '')}); do not edit. Needs booktabs and longtable."]
    headlines = headline_frame(summary)
    if headlines.empty:  # e.g. --only matmul,time_to_accuracy: no section that computes a ratio ran
        parts.append(f"\\noindent Benchmarks run: {machine}\\par")
    else:
        parts.append(table_to_latex(headlines, index=False, column_format="llr", label="tab:benchmark-ratios",
                                    caption=f"Headline ratios of the benchmarks. {machine}"))
    parts.append("\\begingroup\\footnotesize\\setlength{\\tabcolsep}{4pt}")
    time_table = time_to_accuracy_frame(summary)
    if not time_table.empty:  # a longtable: it keeps the small font and wraps its long headers
        parts.append(table_to_latex(
            time_table, index=False, longtable=True, label="tab:benchmark-time-to-accuracy",
            column_format="p{1.4cm}p{1.0cm}rp{1.5cm}p{1.8cm}p{1.8cm}p{1.2cm}p{2.3cm}p{1.2cm}",
            caption=tex_escape(f"Time to accuracy: the default recipe over seeds. {quick}Training seconds are "
                               "the summed epoch_seconds of each run (validation included); test accuracy is that "
                               "of the epoch validation selected.")))
    for section in dict.fromkeys(frame["section"]):
        rows = shown[(frame["section"] == section).to_numpy()]
        description = (sections or {}).get(section, "")
        caption = tex_escape(f"Benchmarks, section {section}{': ' + description if description else ''}. "
                             "Median of n repetitions, min-max across them.")
        parts.append(table_to_latex(rows, index=False, longtable=True, caption=caption,
                                    label=f"tab:benchmarks-{section}", column_format="p{3.9cm}p{2.9cm}rlrrrr"))
    parts.append("\\endgroup")
    return "\n".join(parts)
