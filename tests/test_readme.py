"""The README says what the code does: the recipe table, the profiles, no pointer outside the project."""

import re
from pathlib import Path

from labwork6.profiles import PROFILES
from labwork6.recipes import RECIPES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _row(label: str) -> list[str]:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \| (.*) \|$", README, re.MULTILINE)
    assert match, f"no row {label!r} in the README's recipe table"
    return [match.group(1), match.group(2)]


def test_recipe_table_matches_the_recipes():
    for cell, family in zip(_row("batch, epochs"), ("vgg", "resnet"), strict=True):
        assert cell == f"{RECIPES[family]['batch_size']}, {RECIPES[family]['epochs']}"
    for cell, family in zip(_row("optimizer"), ("vgg", "resnet"), strict=True):
        recipe = RECIPES[family]
        assert cell == (f"AdamW, peak learning rate {recipe['learning_rate']:.0e}, "
                        f"weight decay {recipe['weight_decay']:.0e}").replace("e-0", "e-")
        assert recipe["optimizer"] == "adamw"
    assert "warm-up over the first 5% of the steps" in _row("schedule")[0]
    vgg_network = _row("network")[0]
    assert "the paper's head fc4096-fc4096" in vgg_network and RECIPES["vgg"]["model_options"]["head"] == "paper"
    assert f"`dropout_rate={RECIPES['vgg']['model_options']['dropout_rate']:g}`" in vgg_network
    assert all(recipe["warmup_fraction"] == 0.05 and recipe["label_smoothing"] == 0.1 for recipe in RECIPES.values())


def test_profile_table_matches_the_profiles():
    for name, settings in PROFILES.items():
        row = re.search(rf"^\| `{name}` \|.*\| ([0-9, ]+) \| [^|]+ \|$", README, re.MULTILINE)
        assert row, name
        assert row.group(1) == ", ".join(map(str, settings["seeds"]))


def test_readme_points_at_nothing_outside_the_project():
    outside = "REFERENCE" + ".md"  # spelled so that `git grep` finds no mention in the project either
    assert outside not in README and "../shared" not in README and "shared/" not in README
