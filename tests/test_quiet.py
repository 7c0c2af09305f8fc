"""TensorFlow's start-up log: the level the user chose applies to the lines written while it loads."""

import pytest

from labwork6.quiet import QUIET_ENVIRONMENT, filter_log, quiet_environment

CAPTURED = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795733257.818523    6594 port.cc:153] oneDNN custom operations are on.
W0000 00:00:1795733257.818600    6594 gpu_device.cc:2341] Cannot dlopen some GPU libraries.
E0000 00:00:1795733266.748425    6594 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)
2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda drivers.
2025-09-17 14:44:05.176998: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable to register cuFFT
/venv/lib/python3.11/site-packages/keras/src/export.py:12: UserWarning: a warning that matters
"""


@pytest.mark.parametrize("level, kept_severities", [(0, "IWEIE"), (1, "WEE"), (2, "EE"), (3, "")])
def test_lines_below_the_level_go_and_everything_else_stays(level, kept_severities):
    kept = filter_log(CAPTURED, level).splitlines()
    assert kept[-1].endswith("UserWarning: a warning that matters")
    log_lines = kept[:-1]
    assert "".join(line[0] if line[0] in "IWEF" else line.split(": ")[1][0] for line in log_lines) == kept_severities
    assert not any("absl::InitializeLog" in line for line in kept)


def test_the_environment_is_only_filled_in():
    environ = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    assert quiet_environment(environ) == {**QUIET_ENVIRONMENT, "TF_CPP_MIN_LOG_LEVEL": "0"}
