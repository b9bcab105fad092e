"""Device and mixed-precision selection, and recognising out-of-memory errors."""
from __future__ import annotations

import torch

from graph_compiler.training.config import TrainingConfigError


def resolve_device(spec: str = "auto") -> torch.device:
    """"auto" -> cuda when available, else cpu; "cuda" / "cuda:N" must exist."""
    if spec == "auto":
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            why = "this PyTorch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise TrainingConfigError(
                f"training.device is {spec!r} but {why}; use --device cpu (or \"auto\")")
        index = int(spec.split(":", 1)[1]) if ":" in spec else torch.cuda.current_device()
        count = torch.cuda.device_count()
        if index >= count:
            raise TrainingConfigError(
                f"training.device is {spec!r} but there {'is' if count == 1 else 'are'} only {count} "
                f"CUDA device(s) (cuda:0..cuda:{count - 1})")
        return torch.device("cuda", index)
    raise TrainingConfigError(f"training.device: {spec!r} is not allowed; allowed values: auto, cpu, cuda, cuda:N")


def amp_dtype(device: torch.device, spec: str = "auto") -> torch.dtype | None:
    """The autocast dtype: "auto" is bf16 on CUDA GPUs that support it, fp16 on older
    GPUs, off on CPU (CPU autocast rarely pays off for small models)."""
    if spec == "off":
        return None
    if spec == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise TrainingConfigError("training.amp is \"bf16\" but this GPU does not support bfloat16; use \"fp16\"")
        return torch.bfloat16
    if spec == "fp16":
        return torch.float16
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def is_oom(exc: BaseException) -> bool:
    """True for CUDA / CPU out-of-memory errors (torch raises several types for them)."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "failed to allocate" in text
        or "defaultcpuallocator: not enough memory" in text)


def free_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


__all__ = ["amp_dtype", "describe", "free_memory", "is_oom", "resolve_device"]
