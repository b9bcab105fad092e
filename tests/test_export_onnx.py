"""ONNX export: dynamic batch, same numbers as torch, optional extra, clear failures."""
from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest
import torch

from graph_compiler.cli import main as cli_main
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import Document, Edge, Network, Node, save
from graph_compiler.interop import MissingExtraError
from graph_compiler.training.checkpoints import save_weights

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from graph_compiler.interop import onnx_export
from graph_compiler.interop.onnx_export import OnnxExportError, export_onnx


def chain(name: str, shape: list[int], layers: list[tuple[str, str, dict]], dtype: str = "float32") -> Document:
    """Input -> layers... -> Output."""
    nodes = [Node("x", "Input", {"shape": shape, "dtype": dtype})]
    edges, prev = [], "x"
    for nid, kind, params in layers:
        nodes.append(Node(nid, kind, params))
        edges.append(Edge(prev, nid))
        prev = nid
    nodes.append(Node("out", "Output"))
    edges.append(Edge(prev, "out"))
    return Document([Network(name, nodes, edges)])


MODELS = {
    "mlp": lambda: chain("MLP", [6], [("fc1", "Linear", {"out_features": 16}), ("act", "GELU", {}),
                                      ("fc2", "Linear", {"out_features": 3})]),
    "cnn": lambda: chain("CNN", [1, 8, 8], [
        ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}), ("bn", "BatchNorm2d", {}),
        ("relu", "ReLU", {}), ("pool", "MaxPool2d", {"kernel_size": 2}), ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 10})]),
    "lstm": lambda: chain("Tagger", [7], [
        ("emb", "Embedding", {"num_embeddings": 12, "embedding_dim": 8}), ("lstm", "LSTM", {"hidden_size": 16}),
        ("fc", "Linear", {"out_features": 4})], dtype="int64"),
    "transformer": lambda: chain("TinyGPT", [6], [
        ("emb", "Embedding", {"num_embeddings": 12, "embedding_dim": 8}), ("pos", "PositionalEncoding", {}),
        ("enc", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
        ("head", "Linear", {"out_features": 12})], dtype="int64"),
}


def _inputs(doc: Document, batch: int) -> torch.Tensor:
    params = doc.main.nodes[0].params
    if params.get("dtype") == "int64":
        return torch.randint(0, 12, (batch, *params["shape"]))
    return torch.randn(batch, *params["shape"])


@pytest.mark.parametrize("kind", [
    "cnn", "lstm", "mlp", pytest.param("transformer", marks=pytest.mark.slow),  # slow: ~5 s of export
])
def test_onnxruntime_matches_torch_on_saved_weights(kind: str, tmp_path: Path) -> None:
    doc = MODELS[kind]()
    trained = CompiledDocument(doc).build()
    with torch.no_grad():  # weights that differ from a fresh init, as after training
        for p in trained.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_weights(tmp_path / "weights.safetensors", trained.state_dict())
    out = export_onnx(doc, tmp_path / "model.onnx", weights=tmp_path)
    assert out.stat().st_size > 0
    trained.eval()
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    for batch in (1, 5):  # the batch dimension is dynamic
        x = _inputs(doc, batch)
        with torch.no_grad():
            want = trained(x).numpy()
        got = session.run(None, {"x": x.numpy()})[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_cli_writes_onnx_with_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = MODELS["mlp"]()
    save(doc, tmp_path / "mlp.json")
    (tmp_path / "run").mkdir()
    save_weights(tmp_path / "run" / "weights.safetensors", CompiledDocument(doc).build().state_dict())
    code = cli_main(["export", str(tmp_path / "mlp.json"), "--onnx", str(tmp_path / "mlp.onnx"),
                     "--weights", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "mlp.onnx").is_file()
    assert "wrote" in capsys.readouterr().out


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    real_import = builtins.__import__

    def no_onnxscript(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "onnxscript" or name.startswith("onnxscript."):
            raise ImportError("No module named 'onnxscript'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxscript)
    with pytest.raises(MissingExtraError, match=r"pip install 'netwright\[onnx\]'"):
        export_onnx(MODELS["mlp"](), tmp_path / "m.onnx")
    save(MODELS["mlp"](), tmp_path / "mlp.json")
    assert cli_main(["export", str(tmp_path / "mlp.json"), "--onnx", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "pip install 'netwright[onnx]'" in err and "Traceback" not in err


def test_unexportable_network_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("Unsupported: aten::weird_op\nlong torch traceback text")

    monkeypatch.setattr(onnx_export, "_export_dynamo", fail)
    monkeypatch.setattr(onnx_export, "_export_legacy", fail)
    with pytest.raises(OnnxExportError) as info:
        export_onnx(MODELS["mlp"](), tmp_path / "m.onnx")
    message = str(info.value)
    assert "'MLP'" in message and "aten::weird_op" in message and "long torch traceback" not in message


def test_weights_that_do_not_fit_are_listed(tmp_path: Path) -> None:
    other = chain("MLP", [6], [("fc1", "Linear", {"out_features": 8}), ("fc2", "Linear", {"out_features": 3})])
    save_weights(tmp_path / "weights.safetensors", CompiledDocument(other).build().state_dict())
    from graph_compiler.interop.weights import WeightsError

    with pytest.raises(WeightsError, match=r"wrong shape: fc1.weight \[8, 6\] \(network wants \[16, 6\]\)"):
        export_onnx(MODELS["mlp"](), tmp_path / "m.onnx", weights=tmp_path)
