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


@pytest.fixture
def tensorflow_log_lines() -> tuple[str, ...]:
    return TENSORFLOW_LOG_LINES
