"""The project's notebook files: the numbered ones in order, and which carry outputs (stripped
before a commit, as ``check-notebooks --fix`` does)."""

from __future__ import annotations

from pathlib import Path


def numbered_notebooks(folder) -> list[Path]:
    """The notebooks ``NN_*.ipynb`` of ``folder`` in order."""
    folder = Path(folder)
    notebooks = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"No numbered notebooks (NN_name.ipynb) in {folder}")
    return notebooks


def dirty_notebooks(paths) -> list[Path]:
    """Notebooks among ``paths`` (files or folders) that carry outputs or execution counts."""
    import nbformat

    dirty = []
    for notebook in _notebook_files(paths):
        content = nbformat.read(notebook, as_version=4)
        if any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in content.cells):
            dirty.append(notebook)
    return dirty


def strip_outputs(path) -> None:
    """Remove outputs and execution counts from a notebook, in place."""
    import nbformat

    content = nbformat.read(path, as_version=4)
    for cell in content.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(content, path)


def _notebook_files(paths) -> list[Path]:
    files = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"No such notebook or folder: {path}")
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            files.append(path)
    return files
