"""Where training runs and in what precision: device choice (auto picks CUDA, then
Apple's MPS, then the CPU, and says why), autocast dtypes, channels_last for conv nets
on a GPU, opt-in torch.compile, and recognising out-of-memory errors.

``training.precision`` (and ``--precision``): "auto" (mixed precision on a GPU:
bf16 where supported, else fp16), "32" (full float32), "bf16" (bf16 autocast; on a
CPU only when it has native bf16 support), "16" (fp16 autocast with a GradScaler; GPUs
only).
"""
from __future__ import annotations

import shutil
from collections.abc import Iterable

import torch
from torch import nn

from graph_compiler.training.config import TrainingConfigError

DEVICES_TEXT = "auto, cpu, cuda, cuda:N, mps"


def mps_available() -> bool:
    return torch.backends.mps.is_available()


def cpu_bf16_supported() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 / AMX); emulated bf16 on
    other CPUs is slower than float32, so it is refused there."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _no_cuda_reason() -> str:
    if torch.version.cuda is None:
        return "this PyTorch was built without CUDA"
    return "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"


def _no_mps_reason() -> str:
    if not torch.backends.mps.is_built():
        return "this PyTorch was built without MPS (Apple-silicon GPUs only)"
    return "MPS is not available (it needs an Apple-silicon Mac with macOS 12.3 or later)"


def select_device(spec: str = "auto") -> tuple[torch.device, str]:
    """The device ``spec`` names and a sentence saying why it was chosen.

    "auto" picks CUDA, then MPS, then the CPU. "cuda", "cuda:N" and "mps" must exist;
    otherwise a TrainingConfigError says why they are missing.
    """
    if spec == "auto":
        if torch.cuda.is_available():
            index = torch.cuda.current_device()
            return torch.device("cuda", index), f"auto: CUDA GPU {torch.cuda.get_device_name(index)} found"
        if mps_available():
            return torch.device("mps"), "auto: no CUDA GPU; Apple GPU (MPS) found"
        return torch.device("cpu"), f"auto: no GPU found: {_no_cuda_reason()}, and no MPS"
    if spec == "cpu":
        return torch.device("cpu"), "asked for"
    if spec == "mps":
        if not mps_available():
            raise TrainingConfigError(
                f"training.device is \"mps\" but {_no_mps_reason()}; use --device cpu (or \"auto\")")
        return torch.device("mps"), "asked for"
    if spec == "cuda" or (spec.startswith("cuda:") and spec[5:].isdigit()):
        if not torch.cuda.is_available():
            raise TrainingConfigError(
                f"training.device is {spec!r} but {_no_cuda_reason()}; use --device cpu (or \"auto\")")
        index = int(spec[5:]) if ":" in spec else torch.cuda.current_device()
        count = torch.cuda.device_count()
        if index >= count:
            raise TrainingConfigError(
                f"training.device is {spec!r} but there {'is' if count == 1 else 'are'} only {count} "
                f"CUDA device(s) (cuda:0..cuda:{count - 1})")
        return torch.device("cuda", index), "asked for"
    raise TrainingConfigError(f"training.device: {spec!r} is not allowed; allowed values: {DEVICES_TEXT}")


def resolve_device(spec: str = "auto") -> torch.device:
    return select_device(spec)[0]


def amp_dtype(device: torch.device, spec: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``training.amp`` / ``training.precision`` (both spellings:
    "off" = "32", "fp16" = "16"); None means full float32."""
    if spec in ("off", "32"):
        return None
    if spec == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise TrainingConfigError(
                "training.precision is \"bf16\" but this GPU does not support bfloat16; use \"16\"")
        if device.type == "cpu" and not cpu_bf16_supported():
            raise TrainingConfigError(
                "training.precision is \"bf16\" but this CPU has no native bfloat16 support "
                "(AVX512-BF16 or AMX), where it would be slower than float32; use \"32\"")
        return torch.bfloat16
    if spec in ("fp16", "16"):
        if device.type == "cpu":
            raise TrainingConfigError(
                "training.precision is \"16\" but float16 autocast needs a GPU; on a CPU use \"bf16\" "
                "(where supported) or \"32\"")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None  # auto elsewhere: MPS and CPU autocast rarely pay off for small models


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def has_conv2d(modules: Iterable[nn.Module]) -> bool:
    return any(isinstance(m, nn.Conv2d) for module in modules for m in module.modules())


def use_channels_last(device: torch.device, modules: Iterable[nn.Module]) -> bool:
    """Conv nets on a GPU run faster with NHWC tensors (tensor cores); on a CPU the
    default layout is as good and keeps exported weights unsurprising."""
    return device.type in ("cuda", "mps") and has_conv2d(modules)


def compile_modules(modules: Iterable[nn.Module], device: torch.device) -> str:
    """torch.compile each module in place (``nn.Module.compile``) when it can work
    here; returns what happened, in a sentence for the log."""
    from torch._dynamo.eval_frame import is_dynamo_supported

    if not is_dynamo_supported():
        return "torch.compile is not supported on this Python; training without it"
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            return "torch.compile needs Triton for CUDA, which is not installed; training without it"
    if device.type == "mps":
        return "torch.compile does not support MPS well yet; training without it"
    if device.type == "cpu" and not any(shutil.which(cc) for cc in ("c++", "g++", "clang++", "cl")):
        return "torch.compile needs a C++ compiler for the CPU, and none was found; training without it"
    for module in modules:
        module.compile()
    return "compiled with torch.compile (the first steps are slow while it compiles)"


def is_oom(exc: BaseException) -> bool:
    """True for CUDA / CPU out-of-memory errors (torch raises several types for them)."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "failed to allocate" in text
        or "defaultcpuallocator: not enough memory" in text)


def free_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


__all__ = ["amp_dtype", "compile_modules", "cpu_bf16_supported", "describe", "free_memory", "has_conv2d",
           "is_oom", "mps_available", "resolve_device", "select_device", "use_channels_last"]
