"""One place names the repository: Colab badges and the notebooks' setup cells follow ``pyproject.toml``.

``pyproject.toml`` holds the repository (``[project.urls] Repository``) and the branch that
Colab opens (``[tool.labwork6] colab-branch``). ``rewrite_links`` writes them there and into
every Colab badge of ``README.md`` and of each notebook's first markdown cell, and replaces each
notebook's first code cell with ``setup_cell``; ``check_links`` lists where they disagree.
``python -m labwork6 colab-links --repo OWNER/NAME`` runs the first, ``--check`` the second.
"""

from __future__ import annotations

import re
from pathlib import Path

from labwork6.notebook_files import numbered_notebooks

REPOSITORY_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
BRANCH_NAME = re.compile(r"(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![./])")
# A Colab link to a notebook on GitHub; the branch may hold slashes, so it ends at "/notebooks/".
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/(?P<repository>[^/\s)]+/[^/\s)]+)"
                        r"/blob/(?P<branch>[^\s)]+?)/notebooks/(?P<notebook>[^/\s)]+\.ipynb)")
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
REPOSITORY_LINE = re.compile(r'^(Repository\s*=\s*")([^"]*)(")', re.MULTILINE)
BRANCH_LINE = re.compile(r'^(colab-branch\s*=\s*")([^"]*)(")', re.MULTILINE)

SETUP_CELL = '''\
# Setup. On Colab only: clone this repository, install it, and work in its notebooks/ folder,
# so that ../runs, ../data and ../report mean there what they mean locally. With
# `%env LABWORK6_DRIVE=1` run before this cell, runs/ is kept on Google Drive across runtimes.
# Everywhere: quiet TensorFlow's C++ start-up log.
import os
import subprocess
import sys

REPOSITORY_URL = "{repository_url}"  # `make colab-links REPO=OWNER/NAME` rewrites these lines
BRANCH = "{branch}"
CLONE = "{clone}"
if "google.colab" in sys.modules:
    if not os.path.isdir(CLONE):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", BRANCH, REPOSITORY_URL, CLONE],
                       check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", CLONE], check=True)
    if os.environ.get("LABWORK6_DRIVE") == "1":
        from google.colab import drive

        drive.mount("{drive}")
        kept_runs = "{drive}/MyDrive/{name}/runs"
        os.makedirs(kept_runs, exist_ok=True)
        if not os.path.lexists(CLONE + "/runs"):
            os.symlink(kept_runs, CLONE + "/runs")
    sys.path.insert(0, CLONE)  # the editable install reaches new processes only
    os.chdir(CLONE + "/notebooks")

from labwork6.quiet import quiet_tensorflow

quiet_tensorflow()'''


def parse_repository(text: str) -> str:
    """``OWNER/NAME`` from ``OWNER/NAME`` or a GitHub URL (``https://github.com/OWNER/NAME[.git]``)."""
    name = re.sub(r"^(https://|git@)?github\.com[/:]", "", text.strip()).removesuffix("/").removesuffix(".git")
    if not REPOSITORY_NAME.fullmatch(name):
        raise ValueError(f"A GitHub repository is OWNER/NAME (e.g. ada/labwork6) or its https://github.com/ URL. "
                         f"Received: {text!r}")
    return name


def check_branch(branch: str) -> str:
    """``branch`` when it is a plausible git branch name, else ``ValueError``."""
    if not BRANCH_NAME.fullmatch(branch):
        raise ValueError(f"A branch name is letters, digits, '.', '_', '-' and '/' (e.g. main). Received: {branch!r}")
    return branch


def read_settings(root) -> tuple[str, str]:
    """``(OWNER/NAME, branch)`` from ``root/pyproject.toml``."""
    pyproject = Path(root) / "pyproject.toml"
    text = pyproject.read_text()
    # the lines rewrite_links edits in place (tomllib reads but cannot write): read the same lines
    repository, branch = REPOSITORY_LINE.search(text), BRANCH_LINE.search(text)
    if not repository or not branch:
        raise ValueError(f"{pyproject} needs `Repository = \"https://github.com/OWNER/NAME\"` under "
                         f"[project.urls] and `colab-branch = \"main\"` under [tool.labwork6].")
    return parse_repository(repository[2]), check_branch(branch[2])


def repository_url(repository: str) -> str:
    return f"https://github.com/{repository}"


def colab_url(repository: str, branch: str, notebook: str) -> str:
    """The address that opens ``notebooks/<notebook>`` of the repository on Colab."""
    return f"https://colab.research.google.com/github/{repository}/blob/{branch}/notebooks/{notebook}"


def badge(repository: str, branch: str, notebook: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(repository, branch, notebook)})"


def setup_cell(url: str, branch: str, content: str = "/content") -> str:
    """The notebooks' first code cell for the repository at ``url``, cloned into ``content/<name>``.

    ``content`` is Colab's working folder; Google Drive is mounted at ``content/drive``.
    """
    name = url.rstrip("/").split("/")[-1].removesuffix(".git")
    return SETUP_CELL.format(repository_url=url, branch=branch, clone=f"{content}/{name}",
                             drive=f"{content}/drive", name=name)


def _notebooks(root) -> list[Path]:
    return numbered_notebooks(Path(root) / "notebooks")


def _set_pyproject(text: str, repository: str, branch: str) -> str:
    text = REPOSITORY_LINE.sub(lambda line: line[1] + repository_url(repository) + line[3], text, count=1)
    return BRANCH_LINE.sub(lambda line: line[1] + branch + line[3], text, count=1)


def _relink(text: str, repository: str, branch: str) -> str:
    return COLAB_LINK.sub(lambda link: colab_url(repository, branch, link["notebook"]), text)


def rewrite_links(root, repository: str, branch: str) -> list[Path]:
    """Name ``repository`` (``OWNER/NAME``) and ``branch`` in pyproject.toml, README.md and the notebooks.

    Each notebook's first markdown cell gets its badge (added under the title when missing) and
    its setup cell (the first code cell, or the first that starts like one) becomes
    ``setup_cell``. Returns the files that changed.
    """
    import nbformat

    root, repository, branch = Path(root), parse_repository(repository), check_branch(branch)
    read_settings(root)  # fails early, naming what pyproject.toml lacks
    changed = []
    for path, rewrite in ((root / "pyproject.toml", _set_pyproject), (root / "README.md", _relink)):
        text = path.read_text()
        if rewrite(text, repository, branch) != text:
            path.write_text(rewrite(text, repository, branch))
            changed.append(path)
    for path in _notebooks(root):
        notebook = nbformat.read(path, as_version=4)
        before = nbformat.writes(notebook)
        title, setup = _first_cell(notebook, "markdown", path), _setup_cell(notebook, path)
        title.source = _relink(title.source, repository, branch)
        if not COLAB_LINK.search(title.source):
            heading, _, rest = title.source.partition("\n")
            title.source = f"{heading}\n\n{badge(repository, branch, path.name)}\n{rest}".rstrip("\n")
        setup.source = setup_cell(repository_url(repository), branch)
        if nbformat.writes(notebook) != before:
            nbformat.write(notebook, path)
            changed.append(path)
    return changed


def _first_cell(notebook, cell_type: str, path: Path):
    for cell in notebook.cells:
        if cell.cell_type == cell_type:
            return cell
    raise ValueError(f"{path} has no {cell_type} cell; the first markdown cell holds the title and the Colab "
                     f"badge, the first code cell the setup.")


def _setup_cell(notebook, path: Path):
    """The code cell that starts like ``SETUP_CELL`` (a cell put above it stays), else the first code cell."""
    heading = SETUP_CELL.partition("\n")[0]
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(heading):
            return cell
    return _first_cell(notebook, "code", path)


def check_links(root) -> list[str]:
    """Where README.md or the notebooks do not name pyproject's repository and branch; empty when all agree."""
    import nbformat

    root = Path(root)
    repository, branch = read_settings(root)
    expected = f"{repository}/blob/{branch}"
    notebooks = _notebooks(root)
    problems = []
    readme = (root / "README.md").read_text()
    linked = set()
    for link in COLAB_LINK.finditer(readme):
        linked.add(link["notebook"])
        if f"{link['repository']}/blob/{link['branch']}" != expected:
            problems.append(f"README.md: {link[0]} names {link['repository']} at {link['branch']}, "
                            f"pyproject.toml {repository} at {branch}")
        if not (root / "notebooks" / link["notebook"]).is_file():
            problems.append(f"README.md: {link[0]} names a notebook that notebooks/ does not hold")
    for path in notebooks:
        if path.name not in linked:
            problems.append(f"README.md: no Colab badge for {path.name}")
        notebook = nbformat.read(path, as_version=4)
        links = list(COLAB_LINK.finditer(_first_cell(notebook, "markdown", path).source))
        if [link[0] for link in links] != [colab_url(repository, branch, path.name)]:
            found = ", ".join(link[0] for link in links) or "none"
            problems.append(f"{path.name}: the first markdown cell should link "
                            f"{colab_url(repository, branch, path.name)} once; it links {found}")
        if _setup_cell(notebook, path).source != setup_cell(repository_url(repository), branch):
            problems.append(f"{path.name}: the setup cell (the first code cell) is not the one for {repository} "
                            f"at {branch}")
    return problems
