"""Command-line interface: ``python -m labwork6 SUBCOMMAND`` (also the ``labwork6`` script).

Subcommands: ``train``, ``evaluate``, ``predict``, ``export-data``, ``layers``,
``pipeline``, ``report``, ``check-notebooks``, ``colab-links``. Bad arguments end with one line
``labwork6: error: ...`` and exit status 2, never a traceback (a file that cannot be written or
read too: a read-only run folder, a full disk).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from labwork6 import __version__
from labwork6.profiles import PROFILES
from labwork6.quiet import quiet_tensorflow

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from labwork6.models import MODEL_NAMES

    parser = argparse.ArgumentParser(prog="labwork6", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"labwork6 {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    profiles = ", ".join(f"{name} ({p['description']})" for name, p in PROFILES.items())

    train = commands.add_parser("train", help="train a model from scratch and write its run folder",
                                description="Train a model from scratch; writes runs/<profile>/<dataset>-"
                                            "<model>-seed<seed>[-fold<F>of<K>]/. A completed run with the same "
                                            "settings is reused; an interrupted one resumes where it stopped; a run "
                                            "with other settings is kept and the command refused (--overwrite "
                                            "replaces it).")
    train.add_argument("--model", required=True, choices=MODEL_NAMES, metavar="NAME",
                       help=f"one of: {', '.join(MODEL_NAMES)}")
    train.add_argument("--dataset", metavar="SOURCE",
                       help="digits, faces, mnist, fashion_mnist, cifar10, cifar100, or a folder of images "
                            "(default: the profile's)")
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--width", type=_positive_float, help="width multiplier (1.0 = the paper)")
    train.add_argument("--image-size", type=_positive_int, help="resize images to N x N (default: the recipe's)")
    train.add_argument("--channels", type=int, choices=(1, 3), help="force 1 (grey) or 3 (RGB) channels")
    train.add_argument("--seed", type=int, default=0, help="fixes splits, initialisation and shuffling")
    train.add_argument("--folds", type=int, metavar="K",
                       help="k-fold cross-validation with K >= 2 folds, 0 for a holdout split (default: the "
                            "profile's; a dataset with its own test split keeps it)")
    train.add_argument("--fold", type=int, metavar="F", help="the fold that is the test split, 0..K-1 (default 0)")
    train.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"))
    train.add_argument("--optimizer", choices=("adamw", "adam", "sgd"))
    train.add_argument("--learning-rate", type=_positive_float)
    train.add_argument("--patience", type=_positive_int, help="early stopping after N epochs without progress")
    train.add_argument("--no-augment", action="store_true", help="train without data augmentation")
    train.add_argument("--deterministic", action="store_true", help="enable TensorFlow op determinism")
    train.add_argument("--distribute", choices=("mirrored", "multiworker"),
                       help="MirroredStrategy (all local GPUs) or MultiWorkerMirroredStrategy (TF_CONFIG)")
    train.add_argument("--profile", choices=tuple(PROFILES), help=f"default: $LABWORK6_PROFILE or default; {profiles}")
    train.add_argument("--run-dir", help="run folder (default: runs/<profile>/<dataset>-<model>-seed<seed>, with "
                                         "-fold<F>of<K> for a fold of a cross-validation)")
    train.add_argument("--overwrite", action="store_true",
                       help="train again from the start, replacing the run in the run folder (completed, interrupted "
                            "or with other settings); a folder that is not a run folder is never emptied")

    evaluate = commands.add_parser("evaluate", help="print and save the metrics of a saved run")
    evaluate.add_argument("--run-dir", required=True)
    evaluate.add_argument("--dataset", metavar="SOURCE",
                          help="evaluate on another dataset or folder of images with the same classes "
                               "(default: the run's own test split)")

    predict = commands.add_parser("predict", help="print the class and probability of each image",
                                  description="Classify image files with a run's model: one line per image, "
                                              "IMAGE<tab>CLASS<tab>PROBABILITY; a name with a tab, a newline or "
                                              "another unprintable character is printed as a Python string "
                                              "literal ('a\\tb.png').")
    predict.add_argument("--run-dir", required=True)
    predict.add_argument("--output", metavar="CSV", help="write the predictions to this CSV file instead "
                                                         "(columns image, class, probability)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    predict.add_argument("images", nargs="+", metavar="IMAGE")

    export = commands.add_parser("export-data", help="write a dataset as OUT/{train,val,test}/CLASS/*.png + manifest")
    export.add_argument("--dataset", required=True, metavar="SOURCE")
    export.add_argument("--out", required=True, metavar="DIR")
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")

    layers = commands.add_parser("layers", help="print a model's layer table with the slides' formulas")
    layers.add_argument("--model", required=True, choices=MODEL_NAMES, metavar="NAME")
    layers.add_argument("--input-shape", default="224,224,3", help="H,W,C (default 224,224,3)")
    layers.add_argument("--num-classes", type=int, default=1000)

    pipeline = commands.add_parser("pipeline", help="the main job: the notebooks in order, then the PDF report")
    pipeline.add_argument("--profile", choices=tuple(PROFILES))
    pipeline.add_argument("--no-report", action="store_true", help="execute the notebooks only")
    pipeline.add_argument("--notebooks", nargs="+", metavar="NOTEBOOK", help="only these notebooks, in order")
    pipeline.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                          help="set a notebook parameter after its `parameters` cell, as `papermill -p NAME VALUE` "
                               "does (repeatable)")

    report = commands.add_parser("report", help="write the report's tables and figures from the runs and build the PDF")
    report.add_argument("--profile", choices=tuple(PROFILES))
    report.add_argument("--no-pdf", action="store_true", help="write the generated inputs only")

    check = commands.add_parser("check-notebooks", help="fail when notebooks carry outputs (--fix strips them)")
    check.add_argument("paths", nargs="*", default=["notebooks"])
    check.add_argument("--fix", action="store_true")

    links = commands.add_parser("colab-links", help="name your repository in pyproject, the Colab badges and the "
                                                    "notebooks' setup cells",
                                description="Write OWNER/NAME and the branch into pyproject.toml's [project.urls], "
                                            "every Colab badge of README.md and the notebooks, and each notebook's "
                                            "first code cell (the Colab setup). Run it once in your fork and commit.")
    links.add_argument("--repo", metavar="OWNER/NAME", help="default: pyproject.toml's Repository")
    links.add_argument("--branch", help="default: pyproject.toml's [tool.labwork6] colab-branch")
    links.add_argument("--check", action="store_true", help="change nothing; fail when the files disagree")
    return parser


def main(argv=None) -> int:
    quiet_tensorflow()  # before build_parser, whose model names import Keras
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args) or 0
    except USER_ERRORS as error:
        parser.exit(2, f"labwork6: error: {error}\n")
    except OSError as error:  # a read-only run folder, a full disk: one line, never a traceback
        where = f" {error.filename}" if error.filename else ""
        parser.exit(2, f"labwork6: error: cannot write or read{where}: {error.strerror or error}\n")
    except KeyboardInterrupt:
        parser.exit(130, "labwork6: interrupted (a training run resumes from its last finished epoch).\n")
    except RuntimeError as error:  # TrainingFailed, NotebookFailed, missing TeX: said in one message
        parser.exit(1, f"labwork6: error: {error}\n")


def _train(args) -> int:
    from labwork6.train import train

    run_dir = train(
        args.model, args.dataset, profile=args.profile, seed=args.seed, run_dir=args.run_dir,
        overwrite=args.overwrite, epochs=args.epochs, batch_size=args.batch_size, width=args.width,
        image_size=args.image_size, channels=args.channels, precision=args.precision,
        optimizer=args.optimizer, learning_rate=args.learning_rate, patience=args.patience,
        augment=False if args.no_augment else None, deterministic=args.deterministic or None,
        distribute=args.distribute, folds=args.folds, fold=args.fold,
    )
    metrics = Path(run_dir) / "metrics.json"
    if not metrics.exists():  # a worker other than the chief (--distribute multiworker)
        print("Trained on this worker; the chief writes the run folder and scores its test split.")
        return 0
    _print_metrics(json.loads(metrics.read_text()), run_dir)
    return 0


def _print_metrics(metrics: dict, where) -> None:
    print(f"Test metrics ({metrics.get('num_test', '?')} images) -> {where}")
    for key in ("accuracy", "precision", "recall", "f1"):
        print(f"  {key:<9} {metrics[key]:.4f}")


def _evaluate(args) -> int:
    from labwork6.evaluate import evaluate_run

    metrics, out_dir = evaluate_run(args.run_dir, args.dataset)
    _print_metrics(metrics, out_dir)
    return 0


def _predict(args) -> int:
    from labwork6.evaluate import predict_images, printable_name, write_predictions

    if args.output and Path(args.output).exists() and not args.overwrite:  # before the model is loaded
        raise FileExistsError(f"{args.output!r} exists; pass --overwrite to replace it.")
    rows = predict_images(args.run_dir, args.images)
    if args.output:
        written = write_predictions(rows, args.output, overwrite=args.overwrite)
        print(f"Wrote {len(rows)} predictions to {printable_name(str(written))}")
        return 0
    for row in rows:
        print(f"{printable_name(row['image'])}\t{printable_name(row['class'])}\t{row['probability']:.4f}")
    return 0


def _export(args) -> int:
    from labwork6.data import export_dataset, load_dataset

    manifest = export_dataset(load_dataset(args.dataset, seed=args.seed), args.out, overwrite=args.overwrite)
    print(f"Wrote {args.out} (manifest: {manifest})")
    return 0


def _layers(args) -> int:
    import pandas as pd

    from labwork6.models import get_model, layer_table

    try:
        shape = tuple(int(part) for part in args.input_shape.split(","))
    except ValueError:
        raise ValueError(
            f"--input-shape must be H,W,C integers, e.g. 32,32,3. Received: {args.input_shape!r}") from None
    table = layer_table(get_model(args.model, input_shape=shape, num_classes=args.num_classes))
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(table.to_string(index=False))
    return 0


def _pipeline(args) -> int:
    from labwork6.pipeline import parameter_value, run_pipeline
    from labwork6.profiles import profile_name

    parameters = {name: parameter_value(value) for name, value in args.parameter}
    run_pipeline(profile_name(args.profile), notebooks=args.notebooks, report=not args.no_report,
                 parameters=parameters)
    return 0


def _report(args) -> int:
    from labwork6.profiles import profile_name, runs_root
    from labwork6.report import build_pdf, write_report_inputs
    from labwork6.runs import run_lock

    root = Path(__file__).resolve().parent.parent / "report"
    with run_lock(root):  # one writer of report/generated, report/figures and the PDF
        written = write_report_inputs(runs_root(), profile_name(args.profile), root / "generated", root / "figures")
        print(f"Wrote {len(written)} report inputs to {root / 'generated'}")
        if not args.no_pdf:
            print(f"Built {build_pdf(root)}")
    return 0


def _check_notebooks(args) -> int:
    from labwork6.notebook_files import dirty_notebooks, strip_outputs

    dirty = dirty_notebooks(args.paths)
    if args.fix:
        for notebook in dirty:
            strip_outputs(notebook)
            print(f"stripped {notebook}")
        return 0
    for notebook in dirty:
        print(f"{notebook}: has outputs or execution counts (run `make clean-notebooks`)", file=sys.stderr)
    return 1 if dirty else 0


def _colab_links(args) -> int:
    from labwork6.colab import check_links, read_settings, rewrite_links
    from labwork6.pipeline import default_root

    root = default_root()
    if args.check:
        problems = check_links(root)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    repository, branch = read_settings(root)
    for path in rewrite_links(root, args.repo or repository, args.branch or branch):
        print(f"rewrote {path.relative_to(root)}")
    return 0


COMMANDS = {
    "train": _train, "evaluate": _evaluate, "predict": _predict, "export-data": _export, "layers": _layers,
    "pipeline": _pipeline, "report": _report, "check-notebooks": _check_notebooks, "colab-links": _colab_links,
}
