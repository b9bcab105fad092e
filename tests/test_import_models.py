"""`netwright import` on the models practitioners have: torchvision's classification
models (vendored in tests/models with their licence) and a nanoGPT-style GPT-2.

For each family: the import succeeds, the graph validates with exactly the model's
parameter count, the ORIGINAL state_dict loads into the generated module with
strict=True and unchanged keys, eval outputs match within 1e-4, and the imported graph
trains, with weights that load back into the original class. Most checks use small
configurations of the same classes; the full sizes are counted on the meta device.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from models import (
    convnext,
    densenet,
    efficientnet,
    gpt,
    mobilenetv2,
    mobilenetv3,
    resnet,
    shufflenetv2,
    squeezenet,
    vgg,
    vision_transformer,
    zoo,
)
from torch import nn

from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.catalog import REGISTRY
from graph_compiler.cli import main as cli_main
from graph_compiler.codegen import generate_code
from graph_compiler.compile import CompiledDocument, exec_source
from graph_compiler.interop.fx_import import import_model
from graph_compiler.training.datasets import Dataset
from graph_compiler.training.engine import Trainer

TESTS = Path(__file__).parent

pytestmark = pytest.mark.usefixtures("one_thread")  # small models import fastest on one thread


# name -> (factory, input shape without the batch, dtype)
IMAGE = (3, 32, 32)
SMALL = (3, 16, 16)
MODELS = {
    "resnet18": (zoo.resnet18, SMALL, "float32"),
    "squeezenet1_1": (zoo.squeezenet1_1, IMAGE, "float32"),
    "mobilenet_v2": (zoo.mobilenet_v2, SMALL, "float32"),
    "mobilenet_v3_small": (zoo.mobilenet_v3_small, SMALL, "float32"),
    "efficientnet": (zoo.efficientnet_small, IMAGE, "float32"),
    "densenet": (zoo.densenet_small, IMAGE, "float32"),
    "shufflenet_v2": (zoo.shufflenet_v2, IMAGE, "float32"),
    "vit": (zoo.vit_small, IMAGE, "float32"),
    "convnext": (zoo.convnext_small, IMAGE, "float32"),
    "gpt": (zoo.gpt_tiny, (8,), "int64"),
    "gpt masked softmax": (zoo.gpt_tiny_masked, (8,), "int64"),
}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # a tied weight counts once


def _randomise(model: nn.Module, seed: int = 0) -> None:
    """Weights and BatchNorm statistics unlike a fresh initialisation (ties stay tied)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point() and b.dim() == 1)]:
            t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.5 if t.dim() == 1 else
                    torch.randn(t.shape, generator=g) * 0.1)


def _batch(shape: tuple[int, ...], dtype: str, vocab: int = 64, n: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    if dtype == "int64":
        return torch.randint(0, vocab, (n, *shape), generator=g)
    return torch.randn(n, *shape, generator=g)


def _tensors(out: object) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for t in out if isinstance(t, torch.Tensor)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(MODELS))
def test_import_reproduces_the_model(name: str) -> None:
    factory, shape, dtype = MODELS[name]
    torch.manual_seed(0)
    original = factory()
    _randomise(original)
    doc = import_model(original, shape, dtype=dtype)

    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors][:5]
    assert analysis.networks[doc.main.name].total_params == _params(original)

    rebuilt = CompiledDocument(doc).build()
    rebuilt.load_state_dict(original.state_dict(), strict=True)  # the original keys, unchanged
    assert list(rebuilt.state_dict()) == list(original.state_dict()) or \
        set(rebuilt.state_dict()) == set(original.state_dict())

    original.eval()
    rebuilt.eval()
    x = _batch(shape, dtype)
    with torch.no_grad():
        want, got = _tensors(original(x)), _tensors(rebuilt(x))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.shape == g.shape
        assert (w - g).abs().max().item() <= 1e-4


FULL_SIZE = {
    # name -> (builder, input shape, dtype, parameter count of the real model)
    "resnet50": (lambda: resnet.resnet50(), IMAGE, "float32", 25_557_032),
    "gpt2 small": (lambda: gpt.gpt2_small(), (16,), "int64", 124_439_808),
}
SLOW_FULL_SIZE = {
    "resnet18": (lambda: resnet.resnet18(), IMAGE, "float32", 11_689_512),
    "vgg11_bn": (lambda: vgg.vgg11_bn(), IMAGE, "float32", 132_868_840),
    "squeezenet1_1": (lambda: squeezenet.squeezenet1_1(), (3, 64, 64), "float32", 1_235_496),
    "mobilenet_v2": (lambda: mobilenetv2.mobilenet_v2(), IMAGE, "float32", 3_504_872),
    "mobilenet_v3_small": (lambda: mobilenetv3.mobilenet_v3_small(), IMAGE, "float32", 2_542_856),
    "efficientnet_b0": (lambda: efficientnet.efficientnet_b0(), IMAGE, "float32", 5_288_548),
    "densenet121": (lambda: densenet.densenet121(), IMAGE, "float32", 7_978_856),
    "shufflenet_v2_x1_0": (lambda: shufflenetv2.shufflenet_v2_x1_0(), IMAGE, "float32", 2_278_604),
    "vit_b_16": (lambda: vision_transformer.vit_b_16(), (3, 224, 224), "float32", 86_567_656),
    "convnext_tiny": (lambda: convnext.convnext_tiny(), IMAGE, "float32", 28_589_128),
}


@pytest.mark.parametrize("name", [*FULL_SIZE, *(pytest.param(n, marks=pytest.mark.slow) for n in SLOW_FULL_SIZE)])
def test_full_size_parameter_counts_on_the_meta_device(name: str) -> None:
    builder, shape, dtype, count = {**FULL_SIZE, **SLOW_FULL_SIZE}[name]
    with torch.device("meta"):
        model = builder()
    assert _params(model) == count
    doc = import_model(model, shape, dtype=dtype)  # structure only: nothing is materialised
    analysis = Analyzer().analyze(doc)
    assert analysis.ok and analysis.networks[doc.main.name].total_params == count


def test_gpt2_small_counts_its_tied_head_once_in_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with torch.device("meta"):
        model = gpt.gpt2_small()
    document.save(import_model(model, (16,), dtype="int64"), tmp_path / "gpt2.json")
    assert cli_main(["summary", str(tmp_path / "gpt2.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == 124_439_808  # not 163,037,184


def test_cli_import_with_blocks_names_the_two_block_networks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(TESTS)
    out = tmp_path / "resnet18.json"
    assert cli_main(["import", "models.zoo:resnet18", "--input-shape", "3,16,16", "-o", str(out), "--blocks"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"wrote {out} (ResNet: 17 nodes, blocks: BasicBlock (9), BasicBlock_layer2_0 (11); outputs match the original "
        "model)")
    saved = document.load(out)
    assert saved.network("BasicBlock_layer2_0").params == {"in_channels": 64, "out_channels": 128}  # type: ignore[union-attr]


def test_cli_import_export_and_the_original_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(TESTS)
    out = tmp_path / "resnet18.json"
    assert cli_main(["import", "models.zoo:resnet18", "--input-shape", "3,16,16", "-o", str(out)]) == 0
    capsys.readouterr()
    assert cli_main(["export", str(out), "-o", str(tmp_path / "resnet18.py")]) == 0
    namespace = exec_source((tmp_path / "resnet18.py").read_text())
    exported = namespace["build_model"]().eval()
    original = zoo.resnet18()
    _randomise(original, seed=3)
    exported.load_state_dict(original.state_dict(), strict=True)
    assert "layer1.0.conv1.weight" in exported.state_dict()
    x = torch.randn(2, *SMALL)
    with torch.no_grad():
        assert (exported(x) - original.eval()(x)).abs().max().item() <= 1e-4


def _check_reproduces(original: nn.Module, doc: document.Document, shape: tuple[int, ...], dtype: str,
                      count: int) -> None:
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors][:5]
    assert analysis.networks[doc.main.name].total_params == count
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(original.state_dict(), strict=True)  # the original keys, unchanged
    x = _batch(shape, dtype)
    with torch.no_grad():
        want, got = _tensors(original.eval()(x)), _tensors(rebuilt(x))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.shape == g.shape and (w - g).abs().max().item() <= 1e-4


def test_resnet18_blocks_are_two_parameterised_basic_block_networks() -> None:
    original = resnet.resnet18()  # full size: 1000 classes
    _randomise(original)
    doc = import_model(original, IMAGE, blocks=True)
    # One network per structure (with and without a downsample branch), not one per instance.
    assert doc.meta["import"]["blocks"] == ["BasicBlock", "BasicBlock_layer2_0"]
    assert doc.network_names() == ["ResNet", "BasicBlock", "BasicBlock_layer2_0"]
    plain, down = doc.network("BasicBlock"), doc.network("BasicBlock_layer2_0")
    assert plain is not None and down is not None
    assert plain.params == {"in_channels": 64} and down.params == {"in_channels": 64, "out_channels": 128}
    uses = [(n.id, n.type, n.params) for n in doc.main.nodes if n.type in ("BasicBlock", "BasicBlock_layer2_0")]
    assert uses == [
        ("layer1.0", "BasicBlock", {"in_channels": 64}), ("layer1.1", "BasicBlock", {"in_channels": 64}),
        ("layer2.0", "BasicBlock_layer2_0", {"in_channels": 64, "out_channels": 128}),
        ("layer2.1", "BasicBlock", {"in_channels": 128}),
        ("layer3.0", "BasicBlock_layer2_0", {"in_channels": 128, "out_channels": 256}),
        ("layer3.1", "BasicBlock", {"in_channels": 256}),
        ("layer4.0", "BasicBlock_layer2_0", {"in_channels": 256, "out_channels": 512}),
        ("layer4.1", "BasicBlock", {"in_channels": 512})]
    assert len(doc.main.nodes) < 20  # the main graph reads as stem, 8 blocks, head
    _check_reproduces(original, doc, IMAGE, "float32", 11_689_512)
    analysis = Analyzer().analyze(doc)
    # Each use is analysed with its own values: layer4.1 is a 512-channel block.
    assert analysis.node("ResNet", "layer4.1").n_params == 2 * (512 * 512 * 9 + 2 * 512)  # type: ignore[union-attr]


def test_resnet50_blocks_are_two_parameterised_bottleneck_networks() -> None:
    original = resnet.resnet50()
    _randomise(original)
    doc = import_model(original, IMAGE, blocks=True)
    assert doc.meta["import"]["blocks"] == ["Bottleneck", "Bottleneck_layer1_1"]
    first, plain = doc.network("Bottleneck"), doc.network("Bottleneck_layer1_1")
    assert first is not None and plain is not None
    # The first kind has the downsample branch (layer1.0 widens 64 -> 256 at stride 1).
    assert first.params == {"in_channels": 64, "out_channels": 64, "stride": 1, "conv3_out_channels": 256}
    assert plain.params == {"in_channels": 256, "out_channels": 64}
    assert sum(n.type.startswith("Bottleneck") for n in doc.main.nodes) == 16
    _check_reproduces(original, doc, IMAGE, "float32", 25_557_032)


def test_convnext_blocks_are_one_cnblock_network_whose_layer_scale_follows_its_width() -> None:
    original = convnext.convnext_tiny()  # 4 stages (3, 3, 9, 3 blocks) of 96, 192, 384, 768 channels
    _randomise(original)
    doc = import_model(original, IMAGE, blocks=True)
    # One network, not one per stage: the [C, 1, 1] layer scale's C is a block parameter,
    # the very one the depthwise conv's channels use.
    assert doc.meta["import"]["blocks"] == ["CNBlock"]
    block = doc.network("CNBlock")
    assert block is not None and block.params["in_channels"] == 96 and block.params["out_features"] == 384
    nodes = block.node_map()
    assert nodes["layer_scale"].params["shape"] == [{"param": "in_channels"}, 1, 1]
    assert nodes["block.0"].params["groups"] == {"param": "in_channels"}
    assert nodes["block.2"].params["normalized_shape"] == [{"param": "in_channels"}]
    uses = [n.params for n in doc.main.nodes if n.type == "CNBlock"]
    assert len(uses) == 18 and uses[-1]["in_channels"] == 768 and uses[-1]["out_features"] == 3072
    _check_reproduces(original, doc, IMAGE, "float32", 28_589_128)
    source = generate_code(doc)
    assert "self.layer_scale = nn.Parameter(torch.empty(in_channels, 1, 1).normal_(std=std))" in source


def test_shufflenet_channel_shuffle_sizes_become_block_parameters() -> None:
    original = zoo.shufflenet_v2()
    _randomise(original)
    doc = import_model(original, IMAGE, blocks=True)
    # The view sizes of each stage's channel shuffle no longer split the blocks: one
    # network with a branch1 (the stride-2 first unit of a stage), one without.
    assert doc.meta["import"]["blocks"] == ["InvertedResidual", "InvertedResidual_stage2_1"]
    block, plain = doc.network("InvertedResidual"), doc.network("InvertedResidual_stage2_1")
    assert block is not None and plain is not None
    assert "branch1.0" in block.node_map() and "branch1.0" not in plain.node_map()
    assert block.node_map()["view"].params["shape"] == [2, {"param": "in_channels"}, {"param": "view_shape_2"},
                                                        {"param": "view_shape_2"}]
    _check_reproduces(original, doc, IMAGE, "float32", _params(original))


@pytest.mark.parametrize("name", list(MODELS))
def test_import_with_blocks_reproduces_the_model(name: str) -> None:
    factory, shape, dtype = MODELS[name]
    torch.manual_seed(0)
    original = factory()
    _randomise(original)
    doc = import_model(original, shape, dtype=dtype, blocks=True)
    assert doc.meta["import"]["blocks"], "every family here repeats a sub-module class"
    assert all(n.type in doc.meta["import"]["blocks"] or n.type in REGISTRY for net in doc.networks for n in net.nodes)
    _check_reproduces(original, doc, shape, dtype, _params(original))


def test_mobilenet_v2_blocks_fold_each_inverted_residual_kind_into_one_network() -> None:
    original = zoo.mobilenet_v2()
    doc = import_model(original, SMALL, blocks=True)
    kinds = [b for b in doc.meta["import"]["blocks"] if b.startswith("InvertedResidual")]
    # expand ratio 1; expanding without and with the residual connection
    assert len(kinds) == 3
    assert sum(n.type in kinds for n in doc.main.nodes) == 17  # every InvertedResidual is a block node


@pytest.mark.slow
def test_vgg11_bn_reproduces_the_model() -> None:
    original = zoo.vgg_small()  # VGG's classifier alone is 119M parameters
    _randomise(original)
    doc = import_model(original, IMAGE)
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(original.state_dict(), strict=True)
    x = torch.randn(2, *IMAGE)
    with torch.no_grad():
        assert (rebuilt(x) - original.eval()(x)).abs().max().item() <= 1e-4


def test_imported_model_trains_and_its_weights_load_into_the_original_class(tmp_path: Path) -> None:
    torch.manual_seed(0)
    doc = import_model(zoo.densenet_small(), IMAGE)
    doc.training = {"recipe": "classification", "epochs": 1, "batch_size": 16, "lr": 0.01}
    g = torch.Generator().manual_seed(0)
    data = Dataset("random", torch.randn(48, *IMAGE, generator=g), torch.randint(0, 10, (48,), generator=g),
                   "classification", classes=[str(i) for i in range(10)])
    trainer = Trainer(doc, dataset=data, save=tmp_path / "run")
    events = list(trainer.run())
    assert not [e for e in events if e.kind == "error"], [e.data for e in events if e.kind == "error"]
    from graph_compiler.training.checkpoints import load_run

    weights = load_run(tmp_path / "run").weights[doc.main.name]
    original = zoo.densenet_small()
    before = {k: v.clone() for k, v in original.state_dict().items()}
    original.load_state_dict(weights, strict=True)
    changed = [k for k, v in original.state_dict().items() if not torch.equal(v, before[k])]
    assert changed  # the trained values, not a fresh initialisation
