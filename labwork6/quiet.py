"""Quiet TensorFlow's C++ start-up log in the CLI, the notebooks and the kernels the pipeline starts.

``TF_CPP_MIN_LOG_LEVEL`` filters TensorFlow's C++ log, but TensorFlow 2.20+ writes its first
lines (``oneDNN custom operations are on``, ``cudart_stub.cc: Could not find cuda drivers``,
behind absl's "All log messages before absl::InitializeLog() is called are written to
STDERR") while loading, before that filter exists (tensorflow/tensorflow#100442). So the
import runs with the process's stderr captured, and the captured lines go back out with that
same level applied. Python warnings are not touched. ``TF_CPP_MIN_LOG_LEVEL=0`` shows it all.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile

# Set only where the user has not: 3 also hides the "failed call to cuInit" error that every
# machine without a GPU logs on first use; errors that matter reach Python as exceptions.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}

ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# absl: "I0000 00:00:1758131045.203198 3722035 port.cc:153] ..."; older TensorFlow:
# "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] ...".
LOG_LINE = re.compile(r"^(?:(?P<absl>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ |"
                      r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: (?P<tf>[IWEF]) )\S+:\d+\] ")
SEVERITIES = "IWEF"  # the order of TF_CPP_MIN_LOG_LEVEL's 0, 1, 2, 3


def quiet_environment(environ=None) -> dict:
    """Add ``QUIET_ENVIRONMENT`` to ``environ`` (default ``os.environ``) where unset; return it."""
    environ = os.environ if environ is None else environ
    for key, value in QUIET_ENVIRONMENT.items():
        environ.setdefault(key, value)
    return environ


def filter_log(text: str, min_level: int) -> str:
    """``text`` without absl's banner and without C++ log lines below ``min_level`` (0-3)."""
    kept = []
    for line in text.splitlines(keepends=True):
        match = LOG_LINE.match(line)
        if line.startswith(ABSL_BANNER):
            continue
        if match and SEVERITIES.index(match["absl"] or match["tf"]) < min_level:
            continue
        kept.append(line)
    return "".join(kept)


def quiet_tensorflow() -> None:
    """Set ``QUIET_ENVIRONMENT`` where unset, then import TensorFlow without its start-up log.

    Call it before anything imports TensorFlow (keras, ``labwork6.models``); later it only
    sets the environment.
    """
    quiet_environment()
    if "tensorflow" in sys.modules:
        return
    try:
        min_level = int(os.environ["TF_CPP_MIN_LOG_LEVEL"])
    except ValueError:
        min_level = 0  # TensorFlow reads a non-number as 0, too
    if min_level <= 0:  # asked for everything
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            sys.stderr.write(filter_log(captured.read().decode(errors="replace"), min_level))
            sys.stderr.flush()


class ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning.

    Every run's new model traces its predict step once per batch shape it meets (the test
    split's last partial batch, the robustness pass's, batch 1 for latency); TensorFlow counts
    traces across the models of a process and warns after a few runs in one notebook."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()
