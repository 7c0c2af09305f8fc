"""Colab: the notebooks' setup cell, and one place that names the repository it clones.

``pyproject.toml`` holds the repository (``[project.urls] Repository``) and the branch that
Colab opens (``[tool.labwork6] colab-branch``). ``rewrite_links`` writes them there and into
every Colab badge of ``README.md`` and of each notebook's first markdown cell, and replaces each
notebook's first code cell with ``setup_cell``; ``check_links`` lists where they disagree.
``python -m labwork6 colab-links --repo OWNER/NAME`` runs the first, ``--check`` the second.
The committed repository is the placeholder ``SENTINEL``, which the setup cell refuses on Colab.

On Colab the setup cell clones the repository and calls ``finish_setup`` from the clone (install,
Google Drive, working folder, the commit it runs). Every failure ends in ``SetupError``: its
message alone (git's, pip's or Colab's own, and what to do), no traceback. This module imports
only the standard library, since the clone's copy runs before its dependencies are installed."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
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

SENTINEL = "OWNER/NAME"  # the committed placeholder: no one's repository, refused by the setup cell

# What must run before the package exists stays inline: refuse the placeholder, clone. The rest is
# ``finish_setup``, which the clone's own labwork6.colab runs before its dependencies are installed
# (this module and labwork6/__init__.py import only the standard library).
SETUP_HEADING = "# Setup. On Colab only"  # how a setup cell starts, whatever version of it
SETUP_CELL = '''\
# Setup. On Colab only: clone this repository, install it and work in its notebooks/ folder
# (`%env LABWORK6_DRIVE=1` in a cell above keeps runs/ on Google Drive). Everywhere: quiet TensorFlow.
import os
import subprocess
import sys

REPOSITORY_URL = "{repository_url}"  # `make colab-links REPO=OWNER/NAME` rewrites these lines
BRANCH = "{branch}"
CLONE = "{clone}"
if "google.colab" in sys.modules:
    class SetupError(Exception):  # shown as its message alone, without a traceback
        def _render_traceback_(self):
            return [str(self)]

    if REPOSITORY_URL == "{sentinel_url}":  # the placeholder: never clone a stranger's code
        raise SetupError("This notebook names no repository yet: in your copy of the project run "
                         "`make colab-links REPO=your-name/your-repo`, commit and push, then open the "
                         "notebook from your repository's Colab badge.")
    if not os.path.isdir(CLONE):  # captured: a kernel need not show a child's stderr
        git = subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", BRANCH, REPOSITORY_URL, CLONE],
                             capture_output=True, text=True)
        if git.returncode != 0:
            raise SetupError(f"{{git.stderr}}Could not clone {{REPOSITORY_URL}} at branch {{BRANCH}}: is the "
                             "repository public, relinked (`make colab-links REPO=...`, commit, push), and does the "
                             "branch exist there?")
    sys.path.insert(0, CLONE)  # this kernel imports the clone, installed or not
    from labwork6.colab import finish_setup

    finish_setup(CLONE, REPOSITORY_URL, BRANCH)  # install once, Google Drive, notebooks/, the commit it runs

from labwork6.quiet import quiet_tensorflow

quiet_tensorflow()'''


class SetupError(Exception):
    """A setup failure that a notebook shows as its message alone: what went wrong and what to do."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook: these lines instead of a traceback
        return [str(self)]


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

    ``content`` is Colab's working folder; ``finish_setup`` mounts Google Drive at ``content/drive``.
    """
    name = url.rstrip("/").split("/")[-1].removesuffix(".git")
    return SETUP_CELL.format(repository_url=url, branch=branch, clone=f"{content}/{name}",
                             sentinel_url=repository_url(SENTINEL))


def finish_setup(clone, url: str, branch: str) -> None:
    """The setup cell's work on Colab once the repository at ``url`` (``branch``) is cloned at ``clone``.

    Installs it (``pip install --editable``) unless this clone is installed already; with
    ``LABWORK6_DRIVE=1`` mounts Google Drive and links ``clone/runs`` to ``MyDrive/<name>/runs``;
    changes into ``clone/notebooks``; prints the repository, branch and commit it runs. A failed
    install or mount raises ``SetupError`` with pip's or Colab's message and what to do.
    """
    clone = Path(clone)
    if not installed_from(clone):
        print(f"Installing {clone} (pip install --editable; once per runtime) ...", flush=True)
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", str(clone)],
                             capture_output=True, text=True)  # captured, so that pip's message shows in the notebook
        if pip.returncode != 0:
            raise SetupError(f"{pip.stdout}{pip.stderr}pip could not install {clone} (its message is above). Fix the "
                             f"cause in your repository (often a dependency that pip cannot find, or that does not fit "
                             f"Colab's Python), push, run `!git -C {clone} pull`, then this cell again.")
    switch = os.environ.get("LABWORK6_DRIVE", "")
    if switch == "1":
        _keep_runs_on_drive(clone)
    elif switch not in ("", "0"):
        _warn(f"LABWORK6_DRIVE={switch!r} is neither 1 (keep runs/ on Google Drive) nor 0: runs/ stays in this "
              f"runtime and goes with it.")
    os.chdir(clone / "notebooks")
    origin, on_branch = _git(clone, "remote", "get-url", "origin"), _git(clone, "branch", "--show-current")
    if (origin, on_branch) != (url, branch):
        _warn(f"{clone} is a clone of {origin} at branch {on_branch}, not of {url} at branch {branch} "
              f"as this cell says. To clone that one: `!mv {clone} {clone}-old`, then run this cell again.")
    print(f"Running {origin}, branch {on_branch}, commit {_git(clone, 'rev-parse', '--short', 'HEAD')} "
          f"(in {clone}/notebooks).")


def installed_from(clone, path=None) -> bool:
    """Whether labwork6 is installed in editable mode from the folder ``clone``.

    pip records where it installed from in the distribution's ``direct_url.json`` (PEP 610);
    ``path`` is where to look for installed distributions (default ``sys.path``).
    """
    clone = Path(clone)
    urls = {Path(os.path.abspath(clone)).as_uri(), clone.resolve().as_uri()}
    for distribution in importlib.metadata.distributions(name="labwork6", path=sys.path if path is None else path):
        direct_url = json.loads(distribution.read_text("direct_url.json") or "{}")
        if direct_url.get("url") in urls and direct_url.get("dir_info", {}).get("editable"):
            return True
    return False


def link_runs(clone, kept) -> str | None:
    """Make ``clone/runs`` a link to the folder ``kept``; when something else is there already, leave it
    and return a warning that says what it is and what to do (``None`` when linked)."""
    runs, kept = Path(clone) / "runs", Path(kept)
    kept.mkdir(parents=True, exist_ok=True)
    if not os.path.lexists(runs):
        runs.symlink_to(kept, target_is_directory=True)
        return None
    if runs.is_symlink() and runs.resolve() == kept.resolve():
        return None
    found = f"a link to {os.readlink(runs)}" if runs.is_symlink() else "a folder" if runs.is_dir() else "a file"
    return (f"LABWORK6_DRIVE=1, but {runs} is {found} already (made before the Drive switch), so it is not linked to "
            f"{kept}: runs stay in this runtime and go with it. To keep them on Google Drive: `!mv {runs} "
            f"{runs}-local`, run this cell again, then copy what you want to keep from {runs.name}-local into runs/.")


def _keep_runs_on_drive(clone: Path) -> None:
    from google.colab import drive  # Colab's own module: this runs on Colab only

    mountpoint = clone.parent / "drive"
    try:
        drive.mount(str(mountpoint))
    except Exception as error:  # Colab raises several kinds (access declined, timed out): all end the same way
        raise SetupError(f"Google Drive was not mounted ({error}). Allow access when Colab asks, or remove "
                         f"`%env LABWORK6_DRIVE=1` to keep runs in this runtime only.") from error
    kept = mountpoint / "MyDrive" / clone.name / "runs"
    warning = link_runs(clone, kept)
    if warning:
        _warn(warning)
    else:
        print(f"runs/ is kept on Google Drive: {clone / 'runs'} -> {kept}")


def _git(clone: Path, *args: str) -> str:
    """``git -C clone ARGS``'s output, or ``?`` when git fails (the commit line is for reading, not for checks)."""
    done = subprocess.run(["git", "-C", str(clone), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "?"


def _warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr, flush=True)


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
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(SETUP_HEADING):
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
