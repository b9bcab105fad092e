"""Device choice, precision and accelerator wiring. On a CPU-only machine the GPUs'
*availability* is mocked (torch.cuda.is_available and friends); the math is real. The
`gpu` tests run the real CUDA path where a GPU is lent (`pytest -m gpu`)."""
from __future__ import annotations

import pytest
import torch
from training_docs import chain, mlp_doc

from graph_compiler.cli import main
from graph_compiler.document import from_dict
from graph_compiler.training import devices
from graph_compiler.training.config import TrainingConfigError, parse_config
from graph_compiler.training.engine import Trainer
from graph_compiler.training.recipes.amp import Amp


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch):
    """Two visible CUDA GPUs as far as selection is concerned."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: "Fake A100")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_auto_prefers_cuda_then_mps_then_cpu(fake_cuda, monkeypatch) -> None:
    device, why = devices.select_device("auto")
    assert device == torch.device("cuda", 0) and "Fake A100" in why
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    device, why = devices.select_device("auto")
    assert device.type == "mps" and "MPS" in why
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    device, why = devices.select_device("auto")
    assert device.type == "cpu" and why.startswith("auto: no GPU found")


def test_explicit_devices(fake_cuda, monkeypatch) -> None:
    assert devices.select_device("cuda:1") == (torch.device("cuda", 1), "asked for")
    assert devices.resolve_device("cuda") == torch.device("cuda", 0)
    with pytest.raises(TrainingConfigError, match=r"only 2 CUDA device\(s\) \(cuda:0..cuda:1\)"):
        devices.select_device("cuda:2")
    with pytest.raises(TrainingConfigError, match="allowed values: auto, cpu, cuda, cuda:N, mps"):
        devices.select_device("gpu")
    assert devices.select_device("cpu")[0] == torch.device("cpu")


def test_missing_accelerators_are_explained(no_gpu, monkeypatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(TrainingConfigError, match="built without CUDA; use --device cpu"):
        devices.select_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    with pytest.raises(TrainingConfigError, match="no CUDA GPU is visible"):
        devices.select_device("cuda:0")
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: False)
    with pytest.raises(TrainingConfigError, match="built without MPS"):
        devices.select_device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: True)
    with pytest.raises(TrainingConfigError, match="macOS 12.3"):
        devices.select_device("mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_device_cuda_without_cuda_is_a_clear_message(tmp_path, capsys) -> None:
    from graph_compiler import document

    path = tmp_path / "m.json"
    document.save(mlp_doc({"dataset": {"name": "blobs", "n": 100}, "epochs": 1}), path)
    assert main(["train", str(path), "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert "training.device is 'cuda' but" in err and "--device cpu" in err and "Traceback" not in err


def test_precision_picks_autocast_dtypes(fake_cuda, monkeypatch) -> None:
    cuda, cpu, mps = torch.device("cuda", 0), torch.device("cpu"), torch.device("mps")
    assert devices.amp_dtype(cuda, "auto") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    assert devices.amp_dtype(cuda, "auto") is torch.float16, "older GPUs: fp16 + GradScaler"
    with pytest.raises(TrainingConfigError, match="does not support bfloat16"):
        devices.amp_dtype(cuda, "bf16")
    assert devices.amp_dtype(cuda, "16") is torch.float16 and devices.amp_dtype(cuda, "32") is None
    assert devices.amp_dtype(cpu, "auto") is None and devices.amp_dtype(mps, "auto") is None
    assert devices.amp_dtype(mps, "16") is torch.float16
    with pytest.raises(TrainingConfigError, match="float16 autocast needs a GPU"):
        devices.amp_dtype(cpu, "16")
    monkeypatch.setattr(devices, "cpu_bf16_supported", lambda: False)
    with pytest.raises(TrainingConfigError, match="no native bfloat16"):
        devices.amp_dtype(cpu, "bf16")
    monkeypatch.setattr(devices, "cpu_bf16_supported", lambda: True)
    assert devices.amp_dtype(cpu, "bf16") is torch.bfloat16


def test_precision_key_and_flag() -> None:
    assert parse_config({"precision": "bf16"}).amp == "bf16"
    assert parse_config({"precision": 16}).amp == "fp16"
    assert parse_config({"precision": "32"}).amp == "off"
    assert parse_config({"precision": "32", "amp": "off"}).amp == "off"
    assert parse_config({"amp": "fp16"}, {"precision": "32"}).amp == "off", "the flag overrides the file"
    with pytest.raises(TrainingConfigError, match="precision '16' and training.amp 'bf16' disagree"):
        parse_config({"precision": "16", "amp": "bf16"})
    with pytest.raises(TrainingConfigError, match="training.precision: '64' is not allowed"):
        parse_config({"precision": "64"})
    assert parse_config({"compile": True}).compile is True
    with pytest.raises(TrainingConfigError, match="training.compile must be true or false"):
        parse_config({"compile": "yes"})
    assert parse_config({"device": "mps"}).device == "mps"


def test_bf16_autocast_is_wired_into_training_on_cpu(monkeypatch) -> None:
    """Only the capability check is mocked: the forward passes really run in bf16."""
    monkeypatch.setattr(devices, "cpu_bf16_supported", lambda: True)
    amp = Amp(torch.device("cpu"), devices.amp_dtype(torch.device("cpu"), "bf16"))
    layer = torch.nn.Linear(4, 3)
    with amp.autocast():
        assert layer(torch.randn(2, 4)).dtype is torch.bfloat16
    torch.set_num_threads(1)
    doc = mlp_doc({"dataset": {"name": "blobs", "n": 200}, "epochs": 2, "device": "cpu", "precision": "bf16"})
    events = list(Trainer(doc).run())
    start = next(e.data for e in events if e.kind == "start")
    done = next(e.data for e in events if e.kind == "done")
    assert start["amp"] == "bf16" and done["reason"] == "completed"
    assert torch.isfinite(torch.tensor(done["metrics"]["train_loss"]))


def test_fp16_steps_go_through_a_grad_scaler() -> None:
    # CPU autocast accepts float16 too; the scaler path is the same code as on CUDA.
    amp = Amp(torch.device("cpu"), torch.float16, grad_clip=1.0)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    with amp.autocast():
        loss = model(torch.randn(8, 4)).float().pow(2).mean()
    amp.step(loss, opt)
    assert len(amp._scalers) == 1 and not torch.equal(before, model.weight)


def _conv_doc(training: dict, channels: int = 1) -> object:
    net = chain("Conv", [
        ("x", "Input", {"shape": [channels, 8, 8]}),
        ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("act", "ReLU", {}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 10}),
        ("out", "Output", {}),
    ])
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})


def test_channels_last_only_for_conv_nets_on_a_gpu() -> None:
    conv, mlp = torch.nn.Conv2d(1, 2, 3), torch.nn.Linear(2, 2)
    assert devices.use_channels_last(torch.device("cuda", 0), [conv])
    assert devices.use_channels_last(torch.device("mps"), [torch.nn.Sequential(conv)])
    assert not devices.use_channels_last(torch.device("cuda", 0), [mlp])
    assert not devices.use_channels_last(torch.device("cpu"), [conv])
    from graph_compiler.training.datasets import Dataset

    pictures = Dataset("pictures", torch.rand(64, 3, 8, 8), torch.arange(64) % 10, "classification",
                       classes=[str(i) for i in range(10)])
    trainer = Trainer(_conv_doc({"device": "cpu", "epochs": 1}, channels=3), dataset=pictures)
    trainer.prepare()
    weight = trainer.modules()["Conv"].conv.weight
    assert not weight.is_contiguous(memory_format=torch.channels_last)
    trainer._accelerate(torch.device("cuda", 0))  # the conversion itself runs on any device
    assert weight.is_contiguous(memory_format=torch.channels_last), "converted in place: the optimizer keeps it"
    assert trainer.tensors["x"].is_contiguous(memory_format=torch.channels_last)
    assert "channels_last" in trainer.notes[0]


def test_compile_falls_back_with_a_message(monkeypatch) -> None:
    import torch._dynamo.eval_frame
    import torch.utils._triton

    module = torch.nn.Linear(2, 2)
    monkeypatch.setattr(torch._dynamo.eval_frame, "is_dynamo_supported", lambda: False)
    assert "not supported on this Python" in devices.compile_modules([module], torch.device("cpu"))
    monkeypatch.setattr(torch._dynamo.eval_frame, "is_dynamo_supported", lambda: True)
    monkeypatch.setattr(torch.utils._triton, "has_triton", lambda: False)
    assert "needs Triton" in devices.compile_modules([module], torch.device("cuda", 0))
    assert "MPS" in devices.compile_modules([module], torch.device("mps"))
    monkeypatch.setattr(devices.shutil, "which", lambda name: None)
    assert "C++ compiler" in devices.compile_modules([module], torch.device("cpu"))
    assert module._compiled_call_impl is None, "left uncompiled"


# ---------------------------------------------------------------- real CUDA (pytest -m gpu)

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("precision", ["16", "bf16", "32"])
def test_cuda_training_with_precision_and_channels_last(precision: str) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    trainer = Trainer(_conv_doc({"dataset": {"name": "digits"}, "device": "cuda", "epochs": 3,
                                 "precision": precision, "lr": 0.01,
                                 "augment": [{"type": "random_crop", "padding": 1}]}))
    events = list(trainer.run())
    start = next(e.data for e in events if e.kind == "start")
    done = next(e.data for e in events if e.kind == "done")
    assert start["device"].startswith("cuda:0") and done["reason"] == "completed"
    assert start["amp"] == {"16": "fp16", "bf16": "bf16", "32": None}[precision]
    weight = trainer.modules()["Conv"].conv.weight
    assert weight.is_cuda and weight.is_contiguous(memory_format=torch.channels_last)
    assert done["metrics"]["val_accuracy"] > 0.5


@pytest.mark.gpu
@gpu
def test_cuda_auto_says_which_gpu() -> None:
    device, why = devices.select_device("auto")
    assert device.type == "cuda" and torch.cuda.get_device_name(device.index) in why


def test_start_line_says_which_device_and_why(tmp_path, capsys) -> None:
    from graph_compiler import document

    path = tmp_path / "m.json"
    document.save(mlp_doc({"dataset": {"name": "blobs", "n": 100}, "epochs": 1}), path)
    assert main(["train", str(path), "--threads", "1"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    device, why = devices.select_device("auto")
    assert f"on {devices.describe(device)} ({why})" in first
