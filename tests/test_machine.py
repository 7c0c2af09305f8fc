"""The machine's description recorded with every run: its instruction sets and the precision they allow."""

import pytest

from labwork6.machine import cpu_isa, resolve_precision


@pytest.mark.parametrize("flags, summary", [
    (["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"], "AVX-512, AVX512-BF16, AMX-BF16"),
    (["avx2", "avx512f", "avx512_bf16"], "AVX-512, AVX512-BF16, no AMX-BF16"),  # AMD Zen 4
    (["avx2", "avx512f", "avx512_vnni"], "AVX-512, no AVX512-BF16, no AMX-BF16"),  # a Xeon with bf16 masked
    (["avx2"], "AVX2, no AVX512-BF16, no AMX-BF16"),
])
def test_isa_summary(flags, summary):
    found = cpu_isa(flags)
    assert found["summary"] == summary
    assert found["avx512_bf16"] == ("avx512_bf16" in flags) and found["amx_bf16"] == ("amx_bf16" in flags)


def test_unknown_precision_names_the_valid_ones():
    with pytest.raises(ValueError, match="Received: precision='bf16'"):
        resolve_precision("bf16")
