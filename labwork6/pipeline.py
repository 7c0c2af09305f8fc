"""The main job: execute the numbered notebooks in order, then build the PDF report.

Executed copies go to ``build/notebooks/<profile>/`` and never over the clean notebooks;
a failing cell stops the job and names the notebook and the cell. Notebook parameters are
set as papermill sets them (a cell tagged ``injected-parameters`` after the one tagged
``parameters``), so ``pipeline -p NAME VALUE`` and ``papermill ... -p NAME VALUE`` agree.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from labwork6.notebook_files import numbered_notebooks

KERNEL_NAME = "python3"  # the kernelspec that `make install` puts into the virtual environment


class NotebookFailed(RuntimeError):
    """A cell of a notebook raised; the message names the notebook and the cell."""


def parameter_value(text: str):
    """A command-line parameter value read as ``papermill -p`` reads it: bool, None, int, float or str."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def execute_notebook(path, output_path, env: dict | None = None, parameters: dict | None = None,
                     timeout: int = 3600) -> float:
    """Execute one notebook with its own folder as working directory; return seconds.

    ``env`` is added to the kernel's environment (e.g. ``LABWORK6_PROFILE``), over
    ``QUIET_ENVIRONMENT`` where the caller's environment does not set those. ``parameters``
    (``{"EPOCHS": 5}``) are injected after the cell tagged ``parameters`` by papermill's own
    function, as ``papermill -p EPOCHS 5`` does.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from labwork6.quiet import QUIET_ENVIRONMENT

    path, output_path = Path(path), Path(output_path)
    notebook = nbformat.read(path, as_version=4)
    if parameters:
        from papermill.parameterize import parameterize_notebook

        # What papermill's own loader adds before it injects: a record of the parameters, tags on every cell.
        notebook.metadata.setdefault("papermill", {})
        for cell in notebook.cells:
            cell.metadata.setdefault("tags", [])
        notebook = parameterize_notebook(notebook, parameters, kernel_name=KERNEL_NAME, language="python")
    quiet = {key: value for key, value in QUIET_ENVIRONMENT.items() if key not in os.environ}
    env = {**quiet, **(env or {})}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=timeout, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        failed = _failed_cell(notebook)
        raise NotebookFailed(f"{path.name}: cell {failed} failed:\n{_last_lines(str(error), 25)}") from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        output_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, output_path)
    return time.perf_counter() - start


def _failed_cell(notebook) -> str:
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return f"#{number} (code cell {number} of {len(code_cells)}: {cell.source.splitlines()[0][:60]!r})"
    return "?"


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def default_root() -> Path:
    """The project folder: the current one when it has ``notebooks/``, else this checkout."""
    here = Path.cwd()
    return here if (here / "notebooks").is_dir() else Path(__file__).resolve().parent.parent


def run_pipeline(profile: str, *, notebooks=None, root=None, report: bool = True, parameters: dict | None = None,
                 log=print) -> Path:
    """Execute the numbered notebooks in ``profile``, then build the PDF report.

    ``root`` is the project folder holding ``notebooks/`` and ``report/`` (default: this
    repository); runs go to ``root/runs``, executed notebooks to ``root/build``.
    ``parameters`` go to every notebook (see ``execute_notebook``). Prints
    one progress line per step with its duration; returns the PDF's path (or the folder
    of executed notebooks with ``report=False``).
    """
    from labwork6.profiles import RUNS_ENV, get_profile
    from labwork6.progress import PROGRESS_ENV, ProgressFollower

    profile = get_profile(profile)["name"]
    root = Path(root).resolve() if root else default_root()
    runs = (root / os.environ.get(RUNS_ENV, "runs")).resolve()
    selected = [Path(p) for p in notebooks] if notebooks else numbered_notebooks(root / "notebooks")
    out_dir = root / "build" / "notebooks" / profile
    progress = out_dir / "progress.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    progress.write_text("")
    env = {"LABWORK6_PROFILE": profile, RUNS_ENV: str(runs), PROGRESS_ENV: str(progress)}
    planned = planned_runs(profile, runs)
    steps = len(selected) + (1 if report else 0)
    total_start = time.perf_counter()
    follower = None
    for step, notebook in enumerate(selected, start=1):
        log(f"[{step}/{steps}] {notebook.name} ({profile}) ...", flush=True)
        with ProgressFollower(progress, planned, log=log, prefix=f"[{step}/{steps}]   ",
                              previous=follower) as follower:
            seconds = execute_notebook(notebook, out_dir / notebook.name, env=env, parameters=parameters)
        log(f"[{step}/{steps}] {notebook.name} done in {_duration(seconds)} -> {out_dir / notebook.name}",
            flush=True)
    if not report:
        return out_dir
    from labwork6.latex import build_pdf

    start = time.perf_counter()
    log(f"[{steps}/{steps}] report/Report.6.CNN.tex -> PDF ...", flush=True)
    pdf = build_pdf(root / "report")
    log(f"[{steps}/{steps}] {pdf} built in {_duration(time.perf_counter() - start)}", flush=True)
    log(f"Main job ({profile}) finished in {_duration(time.perf_counter() - total_start)}.", flush=True)
    return pdf


def planned_runs(profile: str, runs) -> dict[str, tuple[str, int]]:
    """``{run folder name: (model, epochs)}`` of the profile's runs that are not completed in
    ``runs`` yet: what the notebooks will train, for the time-left estimate."""
    from labwork6.profiles import get_profile
    from labwork6.recipes import resolve_config, run_folder
    from labwork6.runs import is_completed

    settings, planned = get_profile(profile), {}
    for model in settings["models"]:
        for seed in settings["seeds"]:
            folds = resolve_config(model, profile=profile, seed=seed).folds
            for fold in range(folds) if folds else [None]:  # every fold of the cross-validation
                config = resolve_config(model, profile=profile, seed=seed, fold=fold)
                run_dir = run_folder(config, runs)
                if not is_completed(run_dir):
                    planned[run_dir.name] = (model, config.epochs)
    return planned


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


if __name__ == "__main__":  # pragma: no cover
    sys.exit("Use `python -m labwork6 pipeline`.")
