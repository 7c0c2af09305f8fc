"""One place names the repository (pyproject, Colab badges and setup cells agree), the setup cell
works and fails clearly on Colab, and papermill run from the repository root writes inside it.

The Colab tests run the setup cell in IPython (the shell of every Jupyter kernel, Colab's too), in
a separate Python whose site-packages start empty, with a stand-in ``google.colab`` in
``sys.modules``, against a ``file://`` clone of this checkout as it is now (committed or not):
git and pip run for real, offline. One clone and one install serve all of them.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

from labwork6.cli import main
from labwork6.colab import (
    SENTINEL,
    SetupError,
    check_branch,
    check_links,
    colab_url,
    installed_from,
    link_runs,
    parse_repository,
    read_settings,
    repository_url,
    rewrite_links,
    setup_cell,
)
from labwork6.notebook_files import numbered_notebooks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path):
    """A copy of the files that name the repository."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp_path


def _first(path: Path, cell_type: str):
    return next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == cell_type)


def test_committed_badges_setup_cells_and_pyproject_agree():
    assert check_links(ROOT) == []


@pytest.mark.parametrize("text", ["ada/labwork6", "https://github.com/ada/labwork6", "https://github.com/ada/labwork6.git",
                                  "git@github.com:ada/labwork6.git", " ada/labwork6/ "])
def test_repository_forms_give_owner_and_name(text):
    assert parse_repository(text) == "ada/labwork6"


@pytest.mark.parametrize("text", ["labwork6", "ada/lab work6", "https://gitlab.com/ada/labwork6", "a/b/c", ""])
def test_a_bad_repository_is_named_in_the_error(text):
    with pytest.raises(ValueError, match="OWNER/NAME") as error:
        parse_repository(text)
    assert repr(text) in str(error.value)


@pytest.mark.parametrize("branch, valid", [("main", True), ("feature/colab-2", True), ("v1.0", True),
                                           ("-x", False), ("a..b", False), ("has space", False), ("end/", False)])
def test_branch_names(branch, valid):
    if valid:
        assert check_branch(branch) == branch
    else:
        with pytest.raises(ValueError, match=repr(branch).replace(".", r"\.")):
            check_branch(branch)


def test_rewrite_names_the_fork_everywhere_and_check_agrees(project):
    notebooks = sorted((project / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    committed, _ = read_settings(project)
    changed = rewrite_links(project, "https://github.com/ada/cnn-lab", "spring-2026")
    assert set(changed) == {project / "pyproject.toml", project / "README.md", *notebooks}
    assert read_settings(project) == ("ada/cnn-lab", "spring-2026")
    assert check_links(project) == []
    readme = (project / "README.md").read_text()
    for notebook in notebooks:
        url = colab_url("ada/cnn-lab", "spring-2026", notebook.name)
        assert url in readme
        assert url in _first(notebook, "markdown").source
        setup = _first(notebook, "code").source
        assert setup == setup_cell("https://github.com/ada/cnn-lab", "spring-2026")
        assert 'CLONE = "/content/cnn-lab"' in setup and 'BRANCH = "spring-2026"' in setup
    assert f"github/{committed}/" not in readme or committed == "ada/cnn-lab"
    # The rest of each notebook is untouched, and a second rewrite changes nothing.
    original = nbformat.read(ROOT / "notebooks" / notebooks[0].name, as_version=4)
    rewritten = nbformat.read(notebooks[0], as_version=4)
    assert [c.id for c in rewritten.cells] == [c.id for c in original.cells]
    assert [c.source for c in rewritten.cells][3:] == [c.source for c in original.cells][3:]
    assert rewrite_links(project, "ada/cnn-lab", "spring-2026") == []


def test_check_names_each_disagreement(project):
    rewrite_links(project, "ada/cnn-lab", "main")
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("ada/cnn-lab/blob/main/notebooks/02",
                                                 "bob/cnn-lab/blob/main/notebooks/02"))
    path = project / "notebooks" / "04_resnet.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.source = code.source.replace('BRANCH = "main"', 'BRANCH = "dev"')
    nbformat.write(notebook, path)
    problems = check_links(project)
    assert len(problems) == 2, problems
    assert "README.md" in problems[0] and "bob/cnn-lab" in problems[0] and "ada/cnn-lab" in problems[0]
    assert problems[1].startswith("04_resnet.ipynb: the setup cell")


def test_a_missing_badge_is_added_under_the_title(project):
    path = project / "notebooks" / "05_feature_maps.ipynb"
    notebook = nbformat.read(path, as_version=4)
    title = next(c for c in notebook.cells if c.cell_type == "markdown")
    title.source = "# 05 · Feature maps\n\nWhat the convolutions learn."
    nbformat.write(notebook, path)
    assert any(p.startswith("05_feature_maps.ipynb: the first markdown cell") and "links none" in p
               for p in check_links(project))
    rewrite_links(project, "ada/cnn-lab", "main")
    assert _first(path, "markdown").source == (
        "# 05 · Feature maps\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]("
        f"{colab_url('ada/cnn-lab', 'main', path.name)})\n\nWhat the convolutions learn.")


def test_a_cell_put_above_the_setup_cell_stays(project):
    rewrite_links(project, "ada/cnn-lab", "main")
    path = project / "notebooks" / "03_vgg19.ipynb"
    notebook = nbformat.read(path, as_version=4)
    setup_index = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    # an earlier version of the setup cell, found by its first words
    notebook.cells[setup_index].source = ("# Setup. On Colab only: clone this repository, install it, and work in "
                                          "its notebooks/ folder,\nimport os")
    notebook.cells.insert(setup_index, nbformat.v4.new_code_cell("%env LABWORK6_DRIVE=1"))
    nbformat.write(notebook, path)
    rewrite_links(project, "bob/cnn-lab", "main")
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert cells[0].source == "%env LABWORK6_DRIVE=1"
    assert cells[1].source == setup_cell("https://github.com/bob/cnn-lab", "main")
    assert check_links(project) == []


def test_pyproject_without_the_repository_says_what_to_add(project):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("Repository = ", "Homepage = "))
    with pytest.raises(ValueError, match=r"\[project.urls\]"):
        rewrite_links(project, "ada/cnn-lab", "main")


def test_cli_rewrites_and_checks(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["colab-links", "--repo", "ada/cnn-lab", "--branch", "main"]) == 0
    assert "rewrote notebooks/03_vgg19.ipynb" in capsys.readouterr().out
    assert main(["colab-links", "--check"]) == 0
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("ada/cnn-lab", "someone/else", 1))
    assert main(["colab-links", "--check"]) == 1
    assert "someone/else" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["colab-links", "--repo", "not a repository"])
    assert exit_.value.code == 2 and "'not a repository'" in capsys.readouterr().err


def test_the_placeholder_is_a_consistent_state_and_its_cell_refuses_it(project):
    rewrite_links(project, SENTINEL, "main")
    assert read_settings(project) == (SENTINEL, "main")
    assert check_links(project) == []
    cell = setup_cell(repository_url(SENTINEL), "main")
    assert f'if REPOSITORY_URL == "{repository_url(SENTINEL)}":' in cell and "raise SetupError(" in cell


def test_a_setup_error_shows_its_message_alone():
    # IPython (every Jupyter kernel's shell, Colab's too) shows _render_traceback_'s lines instead of a traceback.
    assert SetupError("what went wrong; what to do")._render_traceback_() == ["what went wrong; what to do"]


def test_runs_is_linked_to_drive_when_nothing_is_there(tmp_path):
    clone, kept = tmp_path / "cnn-lab", tmp_path / "drive" / "MyDrive" / "cnn-lab" / "runs"
    clone.mkdir()
    assert link_runs(clone, kept) is None
    assert (clone / "runs").is_symlink() and (clone / "runs").resolve() == kept.resolve()
    assert link_runs(clone, kept) is None  # a second run finds its own link


@pytest.mark.parametrize("found", ["a folder", "a file", "a link to"])
def test_what_is_already_at_runs_stays_and_the_warning_says_what_to_do(tmp_path, found):
    clone, kept = tmp_path / "cnn-lab", tmp_path / "drive" / "MyDrive" / "cnn-lab" / "runs"
    runs = clone / "runs"
    clone.mkdir()
    if found == "a folder":
        runs.mkdir()
        (runs / "result.json").write_text("{}")
    elif found == "a file":
        runs.write_text("not a folder")
    else:
        (tmp_path / "elsewhere").mkdir()
        runs.symlink_to(tmp_path / "elsewhere")
    before = (runs.is_symlink(), runs.is_dir(), sorted(p.name for p in runs.iterdir()) if runs.is_dir() else None)
    warning = link_runs(clone, kept)
    assert f"{runs} is {found}" in warning and "not linked" in warning
    assert f"`!mv {runs} {runs}-local`" in warning and "run this cell again" in warning
    assert (runs.is_symlink(), runs.is_dir(), sorted(p.name for p in runs.iterdir()) if runs.is_dir() else None) \
        == before


def _dist_info(site: Path, url: str, editable: bool = True, name: str = "labwork6") -> None:
    folder = site / f"{name}-0.1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (folder / "direct_url.json").write_text(json.dumps({"url": url, "dir_info": {"editable": editable}}))


def test_installed_from_reads_where_pip_installed_the_package(tmp_path):
    clone, other = tmp_path / "content" / "cnn-lab", tmp_path / "content" / "other"
    _dist_info(tmp_path / "site", clone.as_uri())
    assert installed_from(clone, path=[str(tmp_path / "site")])
    assert not installed_from(other, path=[str(tmp_path / "site")])
    assert not installed_from(clone, path=[str(tmp_path / "empty")])
    _dist_info(tmp_path / "copied", clone.as_uri(), editable=False)  # a copy of an older state: install again
    assert not installed_from(clone, path=[str(tmp_path / "copied")])
    _dist_info(tmp_path / "another", clone.as_uri(), name="something-else")
    assert not installed_from(clone, path=[str(tmp_path / "another")])


def _quiet_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_CPP", "GRPC_"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.mark.slow  # a fresh Python process importing TensorFlow
def test_off_colab_the_setup_cell_only_quiets_tensorflow(tmp_path, tensorflow_log_lines):
    script = tmp_path / "setup.py"
    cell = setup_cell("file:///nowhere/labwork6", "main", content=str(tmp_path / "content"))
    script.write_text(cell + textwrap.dedent("""
        import json, os, sys
        print(json.dumps({"cwd": os.getcwd(), "tensorflow": "tensorflow" in sys.modules,
                          "level": os.environ["TF_CPP_MIN_LOG_LEVEL"]}))
    """))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            env=_quiet_env(), timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"cwd": str(tmp_path), "tensorflow": True, "level": "3"}
    assert not (tmp_path / "content").exists()
    assert [line for line in tensorflow_log_lines if line in result.stdout + result.stderr] == []


@pytest.mark.slow
def test_the_colab_module_imports_with_the_standard_library_alone(tmp_path):
    # The clone's labwork6.colab runs before pip has installed anything: -S hides every site-packages.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-S", "-c", "import labwork6.colab, sys; print(sorted(sys.modules))"],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def _git(*args, cwd) -> str:
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    """A repository holding this checkout's files as they are now, committed or not (the code under test).

    Its branch spring-2026 adds a marker file; broken-install adds a dependency that no index holds.
    """
    origin = tmp_path_factory.mktemp("github") / "cnn-lab"
    _git("clone", "--quiet", str(ROOT), str(origin), cwd=ROOT)
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        source, target = ROOT / name, origin / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.is_file():  # deleted here, not yet committed
            target.unlink()
    _git("add", "--all", cwd=origin)
    _git("commit", "--quiet", "--allow-empty", "-m", "this checkout's working tree", cwd=origin)
    _git("checkout", "--quiet", "-b", "spring-2026", cwd=origin)
    (origin / "BRANCH_MARKER").write_text("spring-2026\n")
    _git("add", "BRANCH_MARKER", cwd=origin)
    _git("commit", "--quiet", "-m", "marker", cwd=origin)
    _git("checkout", "--quiet", "-b", "broken-install", cwd=origin)
    pyproject = origin / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = [\n',
                                                       'dependencies = [\n    "no-such-package-anywhere>=1",\n', 1))
    _git("commit", "--quiet", "-am", "a dependency that cannot be installed", cwd=origin)
    _git("checkout", "--quiet", "spring-2026", cwd=origin)
    return origin


COLAB_STAND_IN = """\
import json, os, sys, types

mounted = []


def mount(mountpoint):
    if os.environ.get("STAND_IN_DRIVE_DECLINED"):
        raise ValueError("mount failed")  # what Colab raises when access to Drive is declined
    mounted.append(mountpoint)
    os.makedirs(mountpoint + "/MyDrive", exist_ok=True)


colab, drive = types.ModuleType("google.colab"), types.ModuleType("google.colab.drive")
drive.mount, colab.drive = mount, drive
sys.modules.update({"google.colab": colab, "google.colab.drive": drive})
# Quieting TensorFlow is tested off Colab; a stand-in saves these runs its import.
sys.modules["tensorflow"] = types.ModuleType("tensorflow")

from IPython.core.interactiveshell import InteractiveShell

result = InteractiveShell.instance().run_cell(open(sys.argv[1]).read(), store_history=False)
sys.stdout.flush()
labwork6 = sys.modules.get("labwork6")
with open(sys.argv[2], "w") as state:
    json.dump({"error": type(result.error_in_exec).__name__ if result.error_in_exec else None,
               "cwd": os.getcwd(), "labwork6": getattr(labwork6, "__file__", None), "mounted": mounted}, state)
"""


def _colab_python(folder: Path) -> Path:
    """A Python with empty site-packages that sees this environment's packages through a .pth file.

    pip installs into its own site-packages, so this environment's editable labwork6 stays as it is.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site_packages = next(folder.glob("lib/python*/site-packages"))
    (site_packages / "project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


class Colab:
    """Runs a setup cell in IPython with the stand-in google.colab; ``run`` returns (output, state)."""

    def __init__(self, folder: Path):
        self.folder, self.python = folder, _colab_python(folder / "colab-python")
        self.site_packages = next((folder / "colab-python").glob("lib/python*/site-packages"))
        (folder / "stand_in.py").write_text(COLAB_STAND_IN)
        # No PYTHONPATH (this checkout would shadow the clone) and no LABWORK6_DRIVE of the caller's; offline
        # pip: no index, and the build uses this environment's setuptools instead of fetching one.
        self.env = {key: value for key, value in _quiet_env().items()
                    if key != "PYTHONPATH" and not key.startswith("LABWORK6_")}
        self.env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
                        IPYTHONDIR=str(folder / "ipython"))

    def run(self, url: str, branch: str, content: Path, **extra) -> tuple[str, dict]:
        content.mkdir(exist_ok=True)
        cell, state = self.folder / "setup_cell.py", self.folder / "state.json"
        cell.write_text(setup_cell(url, branch, content=str(content)))
        result = subprocess.run([str(self.python), str(self.folder / "stand_in.py"), str(cell), str(state)],
                                cwd=content, capture_output=True, text=True, env={**self.env, **extra}, timeout=600)
        assert result.returncode == 0, result.stderr  # the shell itself ran; the cell's own error is in state
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output
        return output, json.loads(state.read_text())


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> Colab:
    return Colab(tmp_path_factory.mktemp("colab"))


@pytest.fixture(scope="module")
def first_run(colab, origin):
    """The setup cell run once on the stand-in Colab: clone of branch spring-2026, install. (output, state, clone)"""
    content = colab.folder / "content"
    output, state = colab.run(origin.as_uri(), "spring-2026", content)
    return output, state, content / "cnn-lab"


def _one_message(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.slow
def test_on_colab_the_placeholder_is_refused_in_one_line(colab, tmp_path):
    output, state = colab.run(repository_url(SENTINEL), "main", tmp_path / "content")
    assert state["error"] == "SetupError" and state["labwork6"] is None
    assert _one_message(output) == (
        "This notebook names no repository yet: in your copy of the project run `make colab-links "
        "REPO=your-name/your-repo`, commit and push, then open the notebook from your repository's Colab badge.")
    assert list((tmp_path / "content").iterdir()) == []  # nothing cloned


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["no such repository", "no such branch"])
def test_a_failed_clone_shows_gits_message_and_what_to_check(colab, origin, tmp_path, problem):
    url, branch = (((tmp_path / "nowhere" / "cnn-lab").as_uri(), "main") if problem == "no such repository"
                   else (origin.as_uri(), "no-such-branch"))
    output, state = colab.run(url, branch, tmp_path / "content")
    assert state["error"] == "SetupError" and state["labwork6"] is None
    git_says = "does not appear to be a git repository" if problem == "no such repository" else \
        "Remote branch no-such-branch not found"
    assert git_says in output
    assert output.rstrip().endswith(f"Could not clone {url} at branch {branch}: is the repository public, relinked "
                                    f"(`make colab-links REPO=...`, commit, push), and does the branch exist there?")
    assert list((tmp_path / "content").iterdir()) == []


@pytest.mark.slow
def test_on_colab_the_setup_cell_clones_installs_changes_folder_and_names_the_commit(first_run, origin, colab):
    output, state, clone = first_run
    assert state == {"error": None, "cwd": str(clone / "notebooks"),
                     "labwork6": str(clone / "labwork6" / "__init__.py"), "mounted": []}
    assert (clone / "BRANCH_MARKER").read_text() == "spring-2026\n"
    assert _git("rev-parse", "--is-shallow-repository", cwd=clone) == "true"
    assert (clone / "notebooks" / "../report/Report.6.CNN.tex").is_file()
    assert not (clone / "runs").exists()
    commit = _git("rev-parse", "--short", "spring-2026", cwd=origin)
    assert f"Running {origin.as_uri()}, branch spring-2026, commit {commit} (in {clone}/notebooks)." in output
    assert f"Installing {clone}" in output and "Warning" not in output
    # The editable install reaches new processes, from any folder.
    where = subprocess.run([str(colab.python), "-c", "import labwork6; print(labwork6.__file__)"],
                           cwd=colab.folder, capture_output=True, text=True, env=colab.env, check=True)
    assert where.stdout.strip() == str(clone / "labwork6" / "__init__.py")


@pytest.fixture
def broken_pyproject(first_run):
    """The installed clone's pyproject.toml made unreadable for one test: a pip install there would fail."""
    pyproject = first_run[2] / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text + "\n[this is not toml\n")
    yield
    pyproject.write_text(text)


@pytest.mark.slow
def test_running_the_cell_again_keeps_the_clone_and_skips_the_install(first_run, colab, origin, broken_pyproject):
    _, _, clone = first_run
    (clone / "kept.txt").write_text("not cloned again")
    output, state = colab.run(origin.as_uri(), "spring-2026", clone.parent)
    assert state["error"] is None and state["cwd"] == str(clone / "notebooks")
    assert "Installing" not in output and "Running " in output
    assert (clone / "kept.txt").exists()
    (clone / "kept.txt").unlink()


@pytest.mark.slow
def test_a_failed_install_shows_pips_message_and_what_to_do(colab, origin, tmp_path):
    output, state = colab.run(origin.as_uri(), "broken-install", tmp_path / "content")
    clone = tmp_path / "content" / "cnn-lab"
    assert state["error"] == "SetupError"
    assert "No matching distribution found for no-such-package-anywhere" in output  # pip's own words
    assert output.rstrip().endswith(f"pip could not install {clone} (its message is above). Fix the cause in your "
                                    f"repository (often a dependency that pip cannot find, or that does not fit "
                                    f"Colab's Python), push, run `!git -C {clone} pull`, then this cell again.")
    assert not installed_from(clone, path=[str(colab.site_packages)])


@pytest.fixture
def runs_of(first_run):
    """Leaves the installed clone without runs/ after the test (the tests put a link or a folder there)."""
    runs = first_run[2] / "runs"
    yield runs
    if runs.is_symlink():
        runs.unlink()
    elif runs.is_dir():
        shutil.rmtree(runs)


@pytest.mark.slow
def test_the_drive_switch_links_runs_to_drive(first_run, colab, origin, runs_of):
    clone = first_run[2]
    output, state = colab.run(origin.as_uri(), "spring-2026", clone.parent, LABWORK6_DRIVE="1")
    drive = clone.parent / "drive"
    assert state["error"] is None and state["mounted"] == [str(drive)]
    assert runs_of.is_symlink() and runs_of.resolve() == (drive / "MyDrive" / "cnn-lab" / "runs").resolve()
    assert f"runs/ is kept on Google Drive: {runs_of} -> {drive / 'MyDrive' / 'cnn-lab' / 'runs'}" in output


@pytest.mark.slow
def test_the_drive_switch_warns_when_runs_is_already_a_folder(first_run, colab, origin, runs_of):
    clone = first_run[2]
    (runs_of / "default").mkdir(parents=True)
    output, state = colab.run(origin.as_uri(), "spring-2026", clone.parent, LABWORK6_DRIVE="1")
    assert state["error"] is None and state["mounted"] == [str(clone.parent / "drive")]
    assert f"Warning: LABWORK6_DRIVE=1, but {runs_of} is a folder already" in output
    assert f"`!mv {runs_of} {runs_of}-local`" in output
    assert not runs_of.is_symlink() and (runs_of / "default").is_dir()


@pytest.mark.slow
def test_a_declined_drive_stops_in_one_line(first_run, colab, origin, runs_of):
    clone = first_run[2]
    output, state = colab.run(origin.as_uri(), "spring-2026", clone.parent, LABWORK6_DRIVE="1",
                              STAND_IN_DRIVE_DECLINED="1")
    assert state["error"] == "SetupError" and not runs_of.exists()
    assert _one_message(output) == ("Google Drive was not mounted (mount failed). Allow access when Colab asks, or "
                                    "remove `%env LABWORK6_DRIVE=1` to keep runs in this runtime only.")


@pytest.mark.slow
def test_a_clone_of_another_branch_is_named_not_replaced(first_run, colab, origin):
    clone = first_run[2]
    output, state = colab.run(origin.as_uri(), "main", clone.parent)
    assert state["error"] is None
    assert (f"Warning: {clone} is a clone of {origin.as_uri()} at branch spring-2026, not of {origin.as_uri()} at "
            f"branch main as this cell says. To clone that one: `!mv {clone} {clone}-old`") in output
    assert (clone / "BRANCH_MARKER").exists()


@pytest.mark.slow
def test_papermill_from_the_repository_root_writes_inside_the_clone(origin, tmp_path):
    """The README's command, run where a user runs it: papermill starts the kernel in its own folder
    unless told --cwd, and the notebooks' ../data, ../runs and ../report would land beside the clone."""
    parent = tmp_path / "projects"
    clone = parent / "labwork6"
    _git("clone", "--quiet", str(origin), str(clone), cwd=tmp_path)
    before = sorted(os.listdir(parent))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TF_CPP", "GRPC_", "LABWORK6_", "MPLBACKEND"))}
    env.update(PYTHONPATH=str(clone))  # the clone's package, not this checkout's editable install
    notebook = numbered_notebooks(clone / "notebooks")[0].name
    command = (f"mkdir -p build && {shlex.quote(sys.executable)} -m papermill notebooks/{notebook} "
               f"build/{notebook} --cwd notebooks -p PROFILE smoke")
    result = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    assert sorted(os.listdir(parent)) == before
    assert (clone / "build" / notebook).is_file()
    assert [p.name for p in (clone / "data").iterdir() if p.name != "README.md"]  # the exported images
    assert list((clone / "report" / "figures").glob("*.png"))
