"""Which precision to compute in: bf16 autocast only where the hardware computes bf16 natively.

The rule (`use_bf16`), for a setting of `"auto"`:
- CUDA: bf16 when the GPU supports it natively (compute capability 8.0 and newer);
- CPU: bf16 when the CPU has bf16 instructions (AVX-512 BF16 or AMX) and torch and oneDNN may
  use them (torch's kernels dispatch at AVX-512 or above; `ONEDNN_MAX_CPU_ISA` does not cap
  oneDNN below AVX-512 BF16);
- float32 everywhere else. A CPU without bf16 instructions emulates it, about 9x slower than
  float32 (measured on a 2-core AVX2 CPU), so float32 is the fast choice there.
`True` and `False` force bf16 autocast or float32 whatever the hardware. Weights stay float32
under autocast; results differ slightly between the two precisions (the book measures how much).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Literal

import torch

from .errors import UserError

Setting = bool | Literal["auto"]

# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) below the first one with bf16 instructions
_ONEDNN_BELOW_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


@dataclass(frozen=True)
class Hardware:
    """What the compute device offers for bf16, as torch reports it (tests inject their own)."""

    device_type: str
    """`cpu` or `cuda`."""
    native_bf16: bool
    """Whether the device computes bf16 natively, as opposed to emulating it."""
    capability: str
    """What was read, for records: torch's CPU capability and bf16 instructions, or the GPU's."""


def _cpu_flag(name: str) -> bool:
    probe = getattr(torch.cpu, name, None)  # private in torch; absent on some builds
    try:
        return bool(probe()) if probe else False
    except RuntimeError:
        return False


@cache
def detect(device_type: str = "cpu") -> Hardware:
    """The hardware behind `device_type` (read once per process)."""
    if device_type == "cuda":
        name = torch.cuda.get_device_name(0)
        major, minor = torch.cuda.get_device_capability(0)
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        return Hardware("cuda", native, f"{name}, sm_{major}{minor}")
    probes = {"AVX-512 BF16": "_is_avx512_bf16_supported", "AMX": "_is_amx_tile_supported"}
    instructions = [label for label, probe in probes.items() if _cpu_flag(probe)]
    dispatch = torch.backends.cpu.get_cpu_capability()
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    native = bool(instructions) and dispatch.startswith("AVX512") and cap not in _ONEDNN_BELOW_BF16
    bf16 = f"bf16 instructions: {' and '.join(instructions)}" if instructions else "no bf16 instructions"
    return Hardware("cpu", native, f"{dispatch}, {bf16}" + (f", oneDNN capped at {cap}" if cap else ""))


def check_setting(setting) -> Setting:
    """`setting` if it is a valid precision setting, else a `UserError`."""
    if not (isinstance(setting, bool) or setting == "auto"):
        raise UserError(f"bf16 must be 'auto', true or false, got {setting!r}")
    return setting


def use_bf16(setting: Setting, device_type: str = "cpu", hardware: Hardware | None = None) -> bool:
    """Whether to compute in bf16 autocast: forced by `True`/`False`, by the module's rule for `"auto"`."""
    if check_setting(setting) != "auto":
        return setting
    return (hardware or detect(device_type)).native_bf16


def name(bf16: bool) -> str:
    """How records and tables name a precision."""
    return "bf16 autocast" if bf16 else "float32"


def record(setting: Setting, device_type: str = "cpu", hardware: Hardware | None = None) -> dict:
    """The precision a computation used, why, and on what: for checkpoints, records and figure feet."""
    hardware = hardware or detect(device_type)
    bf16 = use_bf16(setting, device_type, hardware)
    return {"precision": name(bf16), "setting": setting, "hardware": hardware.capability}
