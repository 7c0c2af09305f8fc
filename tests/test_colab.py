"""One place names the repository: pyproject, Colab badges and setup cells agree, and the setup cell works.

The Colab test runs the setup cell's own code in a separate Python whose site-packages start
empty, against a ``file://`` clone URL, with a stand-in ``google.colab`` in ``sys.modules``:
git and pip run for real, offline.
"""

import json
import os
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
    check_branch,
    check_links,
    colab_url,
    parse_repository,
    read_settings,
    rewrite_links,
    setup_cell,
)

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
    assert "github/labwork6/labwork6" not in readme
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
    path = project / "notebooks" / "03_resnet.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.source = code.source.replace('BRANCH = "main"', 'BRANCH = "dev"')
    nbformat.write(notebook, path)
    problems = check_links(project)
    assert len(problems) == 2, problems
    assert "README.md" in problems[0] and "bob/cnn-lab" in problems[0] and "ada/cnn-lab" in problems[0]
    assert problems[1].startswith("03_resnet.ipynb: the setup cell")


def test_a_missing_badge_is_added_under_the_title(project):
    path = project / "notebooks" / "04_feature_maps.ipynb"
    notebook = nbformat.read(path, as_version=4)
    title = next(c for c in notebook.cells if c.cell_type == "markdown")
    title.source = "# 04 · Feature maps\n\nWhat the convolutions learn."
    nbformat.write(notebook, path)
    assert any(p.startswith("04_feature_maps.ipynb: the first markdown cell") and "links none" in p
               for p in check_links(project))
    rewrite_links(project, "ada/cnn-lab", "main")
    assert _first(path, "markdown").source == (
        "# 04 · Feature maps\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]("
        f"{colab_url('ada/cnn-lab', 'main', path.name)})\n\nWhat the convolutions learn.")


def test_a_cell_put_above_the_setup_cell_stays(project):
    rewrite_links(project, "ada/cnn-lab", "main")
    path = project / "notebooks" / "02_vgg19.ipynb"
    notebook = nbformat.read(path, as_version=4)
    setup_index = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
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
    assert "rewrote notebooks/02_vgg19.ipynb" in capsys.readouterr().out
    assert main(["colab-links", "--check"]) == 0
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("ada/cnn-lab", "someone/else", 1))
    assert main(["colab-links", "--check"]) == 1
    assert "someone/else" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["colab-links", "--repo", "not a repository"])
    assert exit_.value.code == 2 and "'not a repository'" in capsys.readouterr().err


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


COLAB_STAND_IN = """\
import json, os, sys, types

mounted = []
colab, drive = types.ModuleType("google.colab"), types.ModuleType("google.colab.drive")
drive.mount = lambda mountpoint: (mounted.append(mountpoint), os.makedirs(mountpoint + "/MyDrive", exist_ok=True))
colab.drive = drive
sys.modules.update({"google.colab": colab, "google.colab.drive": drive})
exec(compile(open(sys.argv[1]).read(), "setup cell", "exec"), {"__name__": "__main__"})
import labwork6
print(json.dumps({"cwd": os.getcwd(), "labwork6": labwork6.__file__, "mounted": mounted}))
"""


def _colab_python(folder: Path) -> Path:
    """A Python with empty site-packages that sees this environment's packages through a .pth file.

    pip installs into its own site-packages, so this environment's editable labwork6 stays as it is.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site_packages = next(folder.glob("lib/python*/site-packages"))
    (site_packages / "project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


def _git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.mark.slow
def test_on_colab_the_setup_cell_clones_installs_and_changes_folder(tmp_path, tensorflow_log_lines):
    origin = tmp_path / "github" / "cnn-lab"
    _git("clone", "--quiet", str(ROOT), str(origin), cwd=tmp_path)
    _git("checkout", "--quiet", "-b", "spring-2026", cwd=origin)
    (origin / "BRANCH_MARKER").write_text("spring-2026\n")
    _git("add", "BRANCH_MARKER", cwd=origin)
    _git("commit", "--quiet", "-m", "marker", cwd=origin)

    content = tmp_path / "content"
    content.mkdir()
    cell = tmp_path / "setup_cell.py"
    cell.write_text(setup_cell(origin.as_uri(), "spring-2026", content=str(content)))
    (tmp_path / "stand_in.py").write_text(COLAB_STAND_IN)
    python = _colab_python(tmp_path / "colab-python")
    # Offline: no index, and the build uses this environment's setuptools instead of fetching one.
    env = _quiet_env(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")

    def run_cell(**extra):
        result = subprocess.run([str(python), str(tmp_path / "stand_in.py"), str(cell)], cwd=content,
                                capture_output=True, text=True, env={**env, **extra}, timeout=600)
        assert result.returncode == 0, result.stderr
        assert [line for line in tensorflow_log_lines if line in result.stdout + result.stderr] == []
        return json.loads(result.stdout.splitlines()[-1])

    clone = content / "cnn-lab"
    state = run_cell()
    assert state == {"cwd": str(clone / "notebooks"), "labwork6": str(clone / "labwork6" / "__init__.py"),
                     "mounted": []}
    assert (clone / "BRANCH_MARKER").read_text() == "spring-2026\n"
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=clone, capture_output=True,
                             text=True, check=True)
    assert shallow.stdout.strip() == "true"
    assert (clone / "notebooks" / "../report/Report.6.CNN.tex").is_file()
    assert not (clone / "runs").exists()
    # The editable install reaches new processes, from any folder.
    where = subprocess.run([str(python), "-c", "import labwork6; print(labwork6.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, env=env, check=True)
    assert where.stdout.strip() == str(clone / "labwork6" / "__init__.py")

    # Run again with the Drive switch: the clone stays, runs/ becomes a folder on the mounted Drive.
    (clone / "kept.txt").write_text("not cloned again")
    state = run_cell(LABWORK6_DRIVE="1")
    assert state["mounted"] == [str(content / "drive")]
    assert (clone / "kept.txt").exists()
    assert (clone / "runs").is_symlink()
    assert (clone / "runs").resolve() == (content / "drive" / "MyDrive" / "cnn-lab" / "runs").resolve()
