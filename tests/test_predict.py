"""predict: the run's own predictions, batched, printed unambiguously or written whole as CSV; and a
saved model.keras that classifies raw images where labwork6 is not even importable."""

import ast
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labwork6.cli import main
from labwork6.evaluate import load_test_split, load_trained, predict_images, printable_name, write_predictions
from labwork6.train import train

SMALL = dict(profile="smoke", width=0.0625, epochs=4)  # the smoke set (120 images), long enough to tell classes apart


@pytest.fixture(scope="module")
def grey_to_rgb_run(tmp_path_factory):
    """A tiny run on the 8x8 grayscale digits trained with ``channels=3``: its model.keras turns
    grey into RGB itself, the case that once needed a labwork6 layer to load."""
    return train("vgg11", "digits", runs=tmp_path_factory.mktemp("runs"), channels=3, **SMALL)


def test_printable_name_keeps_ordinary_names_and_quotes_the_rest():
    for name in ("digits/3/0001.png", "C:\\photos\\cat.png", "café photo.jpg"):
        assert printable_name(name) == name
    for name in ("a\tb.png", "a\nb.png", "a\rb.png", "'quoted.png", '"quoted.png', "bell\x07.png"):
        printed = printable_name(name)
        assert printed.isprintable() and ast.literal_eval(printed) == name


def test_write_predictions_writes_whole_and_keeps_what_exists(tmp_path):
    rows = [{"image": "a,\"b\"\n.png", "class": "3", "probability": 0.25}]
    path = write_predictions(rows, tmp_path / "out.csv")
    assert pd.read_csv(path, dtype={"class": str}).to_dict("records") == rows
    path.write_text("mine\n")
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_predictions(rows, path)
    assert path.read_text() == "mine\n"
    write_predictions(rows * 2, path, overwrite=True)
    assert len(pd.read_csv(path)) == 2 and sorted(os.listdir(tmp_path)) == ["out.csv"]
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        write_predictions(rows, tmp_path / "no_such_folder" / "out.csv")
    with pytest.raises(ValueError, match="not a folder"):
        write_predictions(rows, tmp_path)


def save_png(image: np.ndarray, path) -> str:
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
    return str(path)


@pytest.mark.slow  # trains a tiny run (once for the module)
def test_predict_equals_the_runs_own_predictions(grey_to_rgb_run, tmp_path, capsys, monkeypatch):
    data, predictions = load_test_split(grey_to_rgb_run)
    class_names = [str(name) for name in data.class_names]
    # The first image of each predicted class, then more: a stub that returns any class, or the
    # probabilities of another image, cannot match.
    firsts = predictions.drop_duplicates("prediction")["index"].tolist()
    chosen = firsts + [i for i in range(12) if i not in firsts]
    assert len(set(predictions.loc[chosen, "prediction"])) >= 2
    paths = [save_png(data.test.images[i], tmp_path / f"test_{i}.png") for i in chosen]
    # Images of another size between them: the batches are formed per size, the order is kept.
    model, _ = load_trained(grey_to_rgb_run)
    larger = np.repeat(np.repeat(data.test.images[chosen[:3]], 2, axis=1), 2, axis=2)
    larger_paths = [save_png(image, tmp_path / f"larger_{k}.png") for k, image in enumerate(larger)]
    expected_larger = model.predict(larger, verbose=0)

    mixed = [paths[0], *larger_paths, *paths[1:]]
    calls = []
    predict = keras.Model.predict

    def counting_predict(self, x, **kwargs):
        calls.append(len(x))
        return predict(self, x, **kwargs)

    monkeypatch.setattr(keras.Model, "predict", counting_predict)
    rows = predict_images(grey_to_rgb_run, mixed)
    monkeypatch.undo()
    assert sorted(calls) == [3, len(paths)]  # one call per image size, not one per image
    assert [row["image"] for row in rows] == mixed
    by_path = {row["image"]: row for row in rows}
    for path, index in zip(paths, chosen, strict=True):
        label = int(predictions.loc[index, "prediction"])
        assert by_path[path]["class"] == class_names[label]
        assert by_path[path]["probability"] == pytest.approx(
            predictions.loc[index, f"prob_{class_names[label]}"], abs=1e-5)
    for path, expected in zip(larger_paths, expected_larger, strict=True):
        assert by_path[path]["class"] == class_names[int(expected.argmax())]
        assert by_path[path]["probability"] == pytest.approx(float(expected.max()), abs=1e-5)

    output = tmp_path / "predictions.csv"
    assert main(["predict", "--run-dir", str(grey_to_rgb_run), "--output", str(output), *paths]) == 0
    assert f"Wrote {len(paths)} predictions to {output}" in capsys.readouterr().out
    written = pd.read_csv(output, dtype={"class": str})
    assert list(written["image"]) == paths
    assert list(written["class"]) == [class_names[int(p)] for p in predictions.loc[chosen, "prediction"]]
    assert np.allclose(written["probability"], [predictions.loc[i, f"prob_{c}"] for i, c in
                                                zip(chosen, written["class"], strict=True)], atol=1e-5)
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []  # no temporary file left


@pytest.mark.slow  # trains a tiny run (once for the module)
def test_odd_file_names_are_printed_unambiguously(grey_to_rgb_run, tmp_path, capsys):
    image = load_test_split(grey_to_rgb_run)[0].test.images[0]
    names = ["plain.png", "tab\there.png", "new\nline.png", "'quoted'.png", "space d.png"]
    paths = [save_png(image, tmp_path / name) for name in names]
    assert main(["predict", "--run-dir", str(grey_to_rgb_run), *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(paths)  # one line per image, a newline in a name included
    for line, path in zip(lines, paths, strict=True):
        field, label, probability = line.split("\t")  # exactly two tabs: a tab in a name is escaped
        assert (ast.literal_eval(field) if field.startswith(("'", '"')) else field) == path
        assert label in [str(i) for i in range(10)] and 0 <= float(probability) <= 1
    assert lines[0].split("\t")[0] == paths[0] and lines[4].split("\t")[0] == paths[4]  # ordinary names as they are

    output = tmp_path / "out.csv"
    assert main(["predict", "--run-dir", str(grey_to_rgb_run), "--output", str(output), *paths]) == 0
    assert list(pd.read_csv(output)["image"]) == paths  # CSV quoting keeps every name whole
    output.write_text("the user's own file\n")
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--run-dir", str(grey_to_rgb_run), "--output", str(output), paths[0]])
    assert exit_.value.code == 2 and "--overwrite" in capsys.readouterr().err
    assert output.read_text() == "the user's own file\n"
    assert main(["predict", "--run-dir", str(grey_to_rgb_run), "--output", str(output), "--overwrite", paths[0]]) == 0
    assert len(pd.read_csv(output)) == 1


# Runs in a fresh interpreter where importing labwork6 fails: what loads must be Keras' own.
LOAD_WITHOUT_LABWORK6 = textwrap.dedent("""
    import importlib.abc, sys

    class RefuseLabwork6(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "labwork6":
                raise ImportError("a saved model must load without labwork6")

    sys.meta_path.insert(0, RefuseLabwork6())
    import keras
    import numpy as np

    model = keras.models.load_model(sys.argv[1])  # safe_mode=True, the default
    np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
    assert "labwork6" not in sys.modules, sorted(m for m in sys.modules if m.startswith("labwork6"))
""")


@pytest.mark.slow  # trains a tiny run and starts a Python process
def test_saved_model_classifies_raw_images_without_labwork6(grey_to_rgb_run, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 11, 13, 1), dtype=np.uint8)  # raw, not 8x8
    np.save(tmp_path / "images.npy", images)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    finished = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_LABWORK6, str(grey_to_rgb_run / "model.keras"),
         str(tmp_path / "images.npy"), str(tmp_path / "predicted.npy")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    model, config = load_trained(grey_to_rgb_run)
    assert config.channels == 3 and model.get_layer("preprocessing").get_layer("channels")
    in_process = model.predict(images, verbose=0)
    assert np.allclose(np.load(tmp_path / "predicted.npy"), in_process, atol=1e-6)
