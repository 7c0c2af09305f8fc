"""Shared test settings: quiet TensorFlow, a non-interactive matplotlib backend, the C++ log lines to look for."""

import os

import pytest

from labwork6.quiet import quiet_environment

quiet_environment()
os.environ.setdefault("MPLBACKEND", "Agg")

# What TensorFlow's C++ start-up log prints (absl's banner, oneDNN, CUDA probes, XLA), none of
# which a user should see in the CLI's or a notebook's output.
TENSORFLOW_LOG_LINES = (
    "absl::InitializeLog",
    "oneDNN custom operations",
    "cuInit",
    "cudart_stub",
    "computation placer",
    "cpu_feature_guard",
    "Unable to register cu",
    "This TensorFlow binary is optimized",
)


#: The longest test files, longest first (`make test --durations`, 2 cores; test_models.py is the longest
#: of `make test-fast`): both targets hand whole files to two pytest-xdist workers in collection order,
#: and starting with these lets the two finish together instead of one waiting for the last long file.
LONGEST_FIRST = ("test_pipeline.py", "test_notebooks_alone.py", "test_benchmarks.py", "test_crash.py",
                 "test_distribute.py", "test_train.py", "test_cli.py", "test_models.py", "test_report.py",
                 "test_colab.py", "test_report_figures.py", "test_predict.py")


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole and in order


@pytest.fixture
def tensorflow_log_lines() -> tuple[str, ...]:
    return TENSORFLOW_LOG_LINES
