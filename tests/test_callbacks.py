"""The run's callbacks on a tiny compiled model (the best model's file), and test_once's log filter."""

import zipfile

import keras
import numpy as np

from labwork6.callbacks import BestModel


def _compiled_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Normalization(mean=1.0, variance=4.0),
                              keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.AdamW(1e-2), loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model.fit(x, keras.utils.to_categorical(np.arange(16) % 3, 3), epochs=1, verbose=0)  # the optimizer has state
    return model, x


def test_best_model_saves_on_improvement_only_without_optimizer_state(tmp_path):
    model, x = _compiled_model()
    path = tmp_path / "a {epoch} folder" / "model.keras"  # braces: used as given, not formatted
    path.parent.mkdir()
    saver = BestModel(path, monitor="val_selection")
    saver.set_model(model)
    saver.on_epoch_end(0, {"val_selection": 0.5})
    first = keras.models.load_model(path).predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    model.layers[-1].kernel.assign(model.layers[-1].kernel * 2)
    saver.on_epoch_end(1, {"val_selection": 0.5})  # a tie is not an improvement
    saver.on_epoch_end(2, {"val_selection": float("nan")})
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), first)
    saver.on_epoch_end(3, {"val_selection": 0.6})
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not loaded.compiled  # ready to predict; how it was compiled is the run's config
    with zipfile.ZipFile(path) as archive:
        assert "optimizer" not in archive.read("config.json").decode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.keras"]  # no partial file left
    assert model.optimizer.iterations.numpy() > 0  # the training model keeps its optimizer


def test_best_model_resumes_above_the_best_score_so_far(tmp_path):
    model, _ = _compiled_model()
    saver = BestModel(tmp_path / "model.keras", initial_value_threshold=0.7)
    saver.set_model(model)
    saver.on_epoch_end(0, {"val_selection": 0.6})
    assert not (tmp_path / "model.keras").exists()
    saver.on_epoch_end(1, {"val_selection": 0.8})
    assert (tmp_path / "model.keras").exists() and saver.best == 0.8


def test_expected_retracing_warnings_of_new_models_are_dropped():
    """test_once's filter: new models predicting batches of several shapes make TensorFlow warn
    about retracing; the filter drops that warning and nothing else."""
    import logging

    import tensorflow as tf

    from labwork6.quiet import ExpectedRetracing

    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # another test may have set it to ERROR (benchmarks/run.py does)
    logger.addHandler(handler)

    def predict_with_new_models():
        for _ in range(4):
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            for size in (5, 7, 1, 9):
                model.predict(np.zeros((size, 3)), batch_size=4, verbose=0)

    # TensorFlow warns at most twice per traced Python function in a process: earlier tests may
    # have used those up, so its (private) counter starts afresh here.
    from tensorflow.python.eager.polymorphic_function import polymorphic_function

    polymorphic_function._frequent_tracing_detector_manager = polymorphic_function._FrequentTracingDetectorManager()
    try:
        predict_with_new_models()
        assert any("triggered tf.function retracing" in message for message in messages)  # what it drops
        messages.clear()
        retracing = ExpectedRetracing()
        logger.addFilter(retracing)
        try:
            predict_with_new_models()
            logger.warning("another warning")
        finally:
            logger.removeFilter(retracing)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert messages == ["another warning"]
