"""The README and docs/ say what the code does: the recipe table, the profiles, no pointer outside the project.
(That every command, file, link and test they name exists: tests/test_docs.py.)"""

import re
from pathlib import Path

from labwork6.profiles import PROFILES
from labwork6.recipes import RECIPES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RECIPE = (ROOT / "docs" / "recipe.md").read_text()
PROFILE_PAGE = (ROOT / "docs" / "profiles.md").read_text()


def _row(label: str) -> list[str]:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \| (.*) \|$", RECIPE, re.MULTILINE)
    assert match, f"no row {label!r} in docs/recipe.md's recipe table"
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
    assert f"`RandomContrast({RECIPES['vgg']['contrast_augmentation']:g})`" in _row("contrast augmentation")[0]
    factor = RECIPES["vgg"]["contrast_augmentation"]
    assert all(recipe["contrast_augmentation"] == factor for recipe in RECIPES.values())
    for cell, family in zip(_row("input"), ("vgg", "resnet"), strict=True):
        size = RECIPES[family]["min_image_size"]
        assert cell.startswith(f"at least {size}x{size}") and f"-> {size}x{size}" in cell
    vgg_network = _row("network")[0]
    assert "the paper's head fc4096-fc4096" in vgg_network and RECIPES["vgg"]["model_options"]["head"] == "paper"
    assert f"`dropout_rate={RECIPES['vgg']['model_options']['dropout_rate']:g}`" in vgg_network
    assert all(recipe["warmup_fraction"] == 0.05 and recipe["label_smoothing"] == 0.1 for recipe in RECIPES.values())
    assert "label smoothing 0.1" in _row("loss")[0]


def test_profile_table_matches_the_profiles():
    for name, settings in PROFILES.items():
        row = re.search(rf"^\| `{name}` \| (.*) \|$", PROFILE_PAGE, re.MULTILINE)
        assert row, name
        dataset, evaluation, subsample, width, epochs, seeds, robustness, precision, _ = row.group(1).split(" | ")
        assert dataset == settings["dataset"]
        folds = settings["folds"]
        assert evaluation == (f"{folds}-fold cross-validation" if folds else "its own test split")
        assert subsample == (str(settings["subsample"]) if settings["subsample"] else "none")
        assert width == str(settings["width"])
        assert epochs == (str(settings["epochs"]) if settings["epochs"] else "the recipe's")
        assert seeds == ", ".join(map(str, settings["seeds"]))
        assert robustness == (f"{settings['robustness_images']}; "
                              f"{', '.join(map(str, settings['robustness_severities']))}")
        assert precision == settings["precision"]
    models = {tuple(settings["models"]) for settings in PROFILES.values()}
    assert models == {("vgg19_bn", "resnet19")} and "Every profile trains `vgg19_bn` and `resnet19`." in PROFILE_PAGE


def test_docs_point_at_nothing_outside_the_project():
    outside = "REFERENCE" + ".md"  # spelled so that `git grep` finds no mention in the project either
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = page.read_text()
        assert outside not in text and "../shared" not in text and "shared/" not in text, page.name
