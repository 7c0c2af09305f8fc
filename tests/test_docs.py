"""The README and docs/ name only what exists: make targets, subcommands and their options,
notebooks, files, links and anchors, and the tests that back each guarantee."""

import argparse
import re
import shlex
from pathlib import Path

from labwork6.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "data" / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
NOTEBOOK = re.compile(r"\b(\d\d_[a-z0-9_]+)\.ipynb\b")


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _code(text: str) -> list[str]:
    """Every piece of code on a page: each line of a fenced block, each inline code span, each
    indented (4-space) line."""
    pieces = [line for block in FENCE.findall(text) for line in block.splitlines()]
    prose = FENCE.sub("", text)
    pieces += INLINE.findall(prose)
    pieces += [line.strip() for line in prose.splitlines() if line.startswith("    ") and line.strip()]
    return pieces


def _commands(piece: str) -> list[str]:
    """The shell commands of a piece of code: split at `&&`, `;`, `|` and a comment."""
    piece = piece.split(" #", 1)[0]
    return [part.strip() for part in re.split(r"&&|;|\|", piece) if part.strip()]


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _cli_calls(command: str):
    """``(subcommand, [tokens after it])`` when ``command`` runs the labwork6 CLI, else None."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):  # VAR=value before the command
        tokens = tokens[1:]
    if tokens[:2] in (["python", "-m"], ["python3", "-m"]) and tokens[2:3] == ["labwork6"]:
        rest = tokens[3:]
    elif tokens[:1] == ["labwork6"]:
        rest = tokens[1:]
    else:
        return None
    return (rest[0] if rest else None), rest[1:]


def _pieces():
    for page in PAGES:
        for piece in _code(page.read_text()):
            yield page, piece


def test_the_pages_are_there_and_the_readme_fits_a_few_screens():
    names = {page.name for page in PAGES}
    assert {"README.md", "reliability.md", "recipe.md", "cli.md", "colab.md", "notebooks.md", "profiles.md",
            "outputs.md", "architecture.md", "report.md", "performance.md"} <= names
    words = len((ROOT / "README.md").read_text().split())
    assert words <= 2500, words


def test_every_make_target_named_exists():
    targets = _make_targets()
    named = {(page, target) for page, piece in _pieces() for command in _commands(piece)
             for target in re.findall(r"^make ([a-z][a-z-]*)", command)}
    assert named, "no make command found: the pattern is wrong"
    missing = sorted(f"{_name(page)}: make {target}" for page, target in named if target not in targets)
    assert not missing, missing


def test_every_subcommand_and_option_named_exists():
    subparsers, top = _subparsers(), _options(build_parser())
    checked, wrong = 0, []
    for page, piece in _pieces():
        for command in _commands(piece):
            call = _cli_calls(command)
            if call is None:
                continue
            subcommand, tokens = call
            checked += 1
            if subcommand is None or subcommand.startswith("-"):
                if subcommand not in (None, *top):
                    wrong.append(f"{_name(page)}: `{command}`: no top-level option {subcommand}")
                continue
            if re.fullmatch(r"[A-Z][A-Z_]*", subcommand):  # a placeholder: SUBCOMMAND
                continue
            if subcommand not in subparsers:
                wrong.append(f"{_name(page)}: `{command}`: no subcommand {subcommand!r}")
                continue
            options = _options(subparsers[subcommand])
            for token in tokens:
                flag = token.split("=", 1)[0]
                if re.fullmatch(r"--?[a-z][a-z-]*", flag) and flag not in options:
                    wrong.append(f"{_name(page)}: `{command}`: {subcommand} has no option {flag}")
    assert checked >= 10, f"only {checked} CLI commands found: the pattern is wrong"
    assert not wrong, "\n".join(wrong)


def test_the_cli_page_names_every_option_of_every_subcommand_and_nothing_else():
    text = (ROOT / "docs" / "cli.md").read_text()
    sections = dict(re.findall(r"^## ([a-z-]+)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    subparsers = _subparsers()
    assert set(subparsers) <= set(sections), sorted(set(subparsers) - set(sections))
    for name, parser in subparsers.items():
        documented = {span.split()[0].rstrip(",") for span in INLINE.findall(sections[name]) if span.startswith("-")}
        options = _options(parser) - {"-h", "--help"}
        assert options <= documented, (name, sorted(options - documented))
        assert documented <= options | {"-h", "--help"}, (name, sorted(documented - options))


def test_every_notebook_named_exists():
    existing = {path.stem for path in (ROOT / "notebooks").glob("*.ipynb")}
    named = {(page, stem) for page in PAGES for stem in NOTEBOOK.findall(page.read_text())}
    named |= {(page, stem) for page in PAGES for stem in re.findall(r"`(\d\d_[a-z0-9_]+)`", page.read_text())}
    assert named
    missing = sorted(f"{_name(page)}: {stem}" for page, stem in named if stem not in existing)
    assert not missing, missing
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{stem}`" in readme for stem in existing), "the README's notebook table lacks a notebook"


def test_papermill_commands_run_in_the_notebooks_folder():
    commands = [(page, command) for page, piece in _pieces() for command in _commands(piece)
                if command.startswith("papermill") and ".ipynb" in command]
    assert commands
    for page, command in commands:
        assert "--cwd notebooks" in command, f"{_name(page)}: {command}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_and_anchor_resolves():
    wrong = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                wrong.append(f"{_name(page)}: {target}")
                continue
            if anchor:
                headings = re.findall(r"^#+ (.*)$", FENCE.sub("", linked.read_text()), re.MULTILINE)
                if anchor not in {_slug(heading) for heading in headings}:
                    wrong.append(f"{_name(page)}: {target} (no such heading)")
    assert not wrong, wrong


#: What the project generates (git-ignored): named in the docs, absent from a fresh clone.
GENERATED = ("report/generated", "report/figures", "report/Report.6.CNN.pdf", "benchmarks/results", "data/")


PROJECT_PATH = r"(?<![\w/.-])((?:labwork6|tests|docs|notebooks|benchmarks|report|data)/[\w./-]+)"


def test_every_project_file_named_exists():
    wrong = []
    for page, piece in _pieces():
        for path in re.findall(PROJECT_PATH, piece):
            if any(mark in path for mark in "<*{") or (path.startswith(GENERATED) and path != "data/README.md"):
                continue
            if not (ROOT / path.rstrip("/.")).exists():
                wrong.append(f"{_name(page)}: {path}")
    assert not wrong, wrong


def test_every_test_named_in_the_docs_exists():
    defined = set(re.findall(r"^def (test_\w+)", "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py")),
                             re.MULTILINE))
    functions = set(re.findall(r"^def (test_\w+)", "\n".join(p.read_text() for p in (ROOT / "labwork6").rglob("*.py")),
                               re.MULTILINE))  # labwork6.train.test_once is not a test
    named = {(page, name) for page in PAGES for name in re.findall(r"`(test_\w+)`", page.read_text())
             if name not in functions}
    reliability = {name for page, name in named if page.name == "reliability.md"}
    assert len(reliability) >= 20, sorted(reliability)
    missing = sorted(f"{_name(page)}: {name}" for page, name in named if name not in defined)
    assert not missing, missing


def test_the_readme_quotes_no_accuracy_and_durations_only_with_their_machine():
    """Results in the README come from a run on a named machine or are not given: no percentage,
    and a duration only in a paragraph or list item that says where it was measured."""
    readme = (ROOT / "README.md").read_text()
    percentages = re.findall(r"\b\d+(?:\.\d+)? ?%(?!\s+interval)", readme)  # "95% intervals" quotes no result
    assert not percentages, percentages
    # each paragraph or list item, its wrapped lines joined
    for item in (" ".join(part.split()) for part in re.split(r"\n(?=- )|\n\s*\n", readme)):
        if re.search(r"\b\d+ ?(min|minutes|s|seconds)\b", item):
            assert "measured on" in item, item
