"""`netwright import MODULE:ATTR`: PyTorch models in the usual tutorial styles, traced
with torch.fx into documents that rebuild the same module, weights and outputs."""
from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.cli import main as cli_main
from graph_compiler.codegen import generate_code
from graph_compiler.compile import CompiledDocument
from graph_compiler.layout import DEFAULT_VIEW, MIN_READABLE_SCALE, NODE_W
from graph_compiler.interop.fx_import import (
    ModelImportError,
    UnsupportedModelError,
    import_model,
    import_module,
)
from graph_compiler.interop.weights import convert_state_dict
from graph_compiler.training.checkpoints import load_weights

# ---------------------------------------------------------------- tutorial-style models


def sequential() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))


class LeNet(nn.Module):
    """Functional calls in forward (the classic PyTorch tutorial CNN)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = x.view(x.size(0), -1)
        x = F.dropout(F.relu(self.fc1(x)), p=0.1, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)  # x + conv(x)


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.layer1 = nn.Sequential(ResidualBlock(8), ResidualBlock(8))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(self.stem(x))
        return self.head(torch.flatten(self.pool(x), 1))


class TwoBranches(nn.Module):
    """torch.cat of two branches."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(5, 8)
        self.right = nn.Sequential(nn.Linear(5, 4), nn.Tanh())
        self.out = nn.Linear(12, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        both = torch.cat([torch.sigmoid(self.left(x)), self.right(x)], dim=1)
        return F.softmax(self.out(both), dim=-1)


class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(tokens))
        return self.fc(out[:, -1])


class GRUHidden(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 8, batch_first=True)
        self.fc = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)
        return self.fc(h[-1])


class TinyTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(30, 16)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True, activation="gelu"), 2)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        a, _ = self.attn(h, h, h)
        h = self.norm(h + a)
        h = self.encoder(h).permute(0, 2, 1)  # [B, D, T]
        return self.head(h.mean(dim=2))


class Gated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.proj(x).chunk(2, dim=1)
        return a * torch.sigmoid(b), a.reshape(-1, 2, 2).transpose(1, 2)


class ModernLayers(nn.Module):
    """Layers and operations newer model code uses (each mapped to a catalog node)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.circular = nn.Conv2d(8, 8, 3, padding=1, padding_mode="circular", bias=False)
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.drop = nn.Dropout2d(0.1)
        self.skip = nn.Identity()
        self.pool = nn.AdaptiveMaxPool2d(2)
        self.act1, self.act2, self.act3 = nn.SELU(), nn.CELU(0.5), nn.Hardtanh(-2.0, 2.0)
        self.rms = nn.RMSNorm(8)
        self.proj = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act1(self.norm(self.circular(self.conv(x))))
        h = self.skip(self.drop(h))
        h = self.pool(h).flatten(2).transpose(1, 2)  # [B, 4, 8]
        h = self.rms(self.act2(h))
        scores = (h @ h.transpose(-2, -1)) / 2.0  # [B, 4, 4]
        h = F.gelu(torch.softmax(scores, dim=-1) @ self.proj(h))
        return self.act3(1 - h[..., :4] ** 2)


class Pooling(nn.Module):
    """Reductions over a dim: sum, max, log-sum-exp."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x)  # [B, T, 4]
        return h.sum(dim=1) + torch.amax(h, dim=1) - torch.logsumexp(h, dim=1)


CASES = {
    "sequential": (sequential, (1, 8, 8), "float32"),
    "functional": (LeNet, (1, 12, 12), "float32"),
    "residual": (ResNet, (1, 8, 8), "float32"),
    "concat": (TwoBranches, (5,), "float32"),
    "lstm": (LSTMClassifier, (7,), "int64"),
    "gru hidden": (GRUHidden, (5, 3), "float32"),
    "transformer": (TinyTransformer, (6,), "int64"),
    "chunk and reshape": (Gated, (6,), "float32"),
    "modern layers": (ModernLayers, (3, 6, 6), "float32"),
    "reductions": (Pooling, (5, 6), "float32"),
}


def _randomise(model: nn.Module) -> None:
    """Weights and BatchNorm statistics unlike a fresh initialisation."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]:
            t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.5 if t.dim() == 1 else
                    torch.randn(t.shape, generator=g) * 0.3)


def _batch(shape: tuple[int, ...], dtype: str) -> torch.Tensor:
    if dtype == "int64":
        return torch.randint(0, 20, (4, *shape))
    return torch.randn(4, *shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_import_rebuilds_the_same_model(case: str) -> None:
    factory, shape, dtype = CASES[case]
    original = factory()
    _randomise(original)
    doc = import_model(original, shape, dtype=dtype)
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    rebuilt = CompiledDocument(doc).build()
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in original.parameters())
    rebuilt.load_state_dict(convert_state_dict(original.state_dict(), doc), strict=True)
    original.eval()
    rebuilt.eval()
    x = _batch(shape, dtype)
    with torch.no_grad():
        want, got = original(x), rebuilt(x)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert torch.allclose(w, g, rtol=1e-4, atol=1e-5)
    assert original.training is False  # import leaves the mode as it found it (eval here)


def test_tensors_forward_never_reads_are_listed_in_the_key_map() -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 2)
            self.spare = nn.Linear(4, 2)  # defined, never called
            self.register_buffer("table", torch.zeros(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    model = Unused()
    doc = import_model(model, (4,))
    assert doc.meta["import"]["key_map"] == {"spare.weight": None, "spare.bias": None, "table": None}
    assert "forward never uses table, spare.weight, spare.bias: left out of the graph" in \
        " ".join(doc.meta["import"]["notes"])  # `netwright import` prints the notes
    rebuilt = CompiledDocument(doc).build()
    rebuilt.load_state_dict(convert_state_dict(model.state_dict(), doc), strict=True)
    assert set(rebuilt.state_dict()) == {"used.weight", "used.bias"}


def test_flat_models_keep_their_state_dict_keys() -> None:
    doc = import_model(LeNet(), (1, 12, 12))
    assert doc.meta["import"]["key_map"] == {}
    assert {n.id for n in doc.main.nodes} >= {"conv1", "conv2", "fc1", "fc2"}
    assert set(CompiledDocument(doc).build().state_dict()) == set(LeNet().state_dict())


def test_nested_names_keep_the_original_state_dict_keys() -> None:
    original = ResNet()
    doc = import_model(original, (1, 8, 8))
    assert doc.meta["import"]["key_map"] == {}
    assert {"stem.0", "layer1.1.bn2", "layer1.0.add"} <= {n.id for n in doc.main.nodes}
    rebuilt = CompiledDocument(doc).build()
    rebuilt.load_state_dict(original.state_dict(), strict=True)  # no renaming at all
    assert list(rebuilt.state_dict()) == list(original.state_dict())
    positions = {n.pos for n in doc.main.nodes}
    assert len(positions) == len(doc.main.nodes)  # laid out, no two nodes on one spot
    # Auto-layout's wrapped bands for the default window: readable without scrolling sideways.
    pos = {n.id: n.pos for n in doc.main.nodes}
    width = max(x for x, _ in pos.values()) + NODE_W - min(x for x, _ in pos.values())
    assert width <= DEFAULT_VIEW[0] / MIN_READABLE_SCALE
    assert pos["x"][0] < pos["stem.0"][0] and pos["x"] == min(pos.values(), key=lambda p: (p[1], p[0]))
    assert pos["out"][1] == max(y for _, y in pos.values()) > pos["stem.0"][1]  # the last band


def test_blocks_turn_repeated_classes_into_block_networks() -> None:
    original = ResNet()
    _randomise(original)
    doc = import_model(original, (1, 8, 8), blocks=True)
    assert doc.network_names() == ["ResNet", "ResidualBlock"]
    assert [n.type for n in doc.main.nodes].count("ResidualBlock") == 2
    assert doc.meta["import"]["key_map"] == {}
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(convert_state_dict(original.state_dict(), doc), strict=True)
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(original.eval()(x), rebuilt(x), rtol=1e-4, atol=1e-5)


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.ones(4))
        self.pool = nn.AvgPool1d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x) * 0.5
        y = torch.sort(y, dim=1).values
        z = torch.cumsum(y - x, dim=1)
        z = z * self.scale
        return self.pool(z.unsqueeze(1)).flatten(1)


def test_unsupported_operations_are_listed_together_with_their_lines() -> None:
    with pytest.raises(UnsupportedModelError) as info:
        import_model(Unsupported(), (4,))
    problems = info.value.problems
    source, first = inspect.getsourcelines(Unsupported.forward)
    line = {text.strip(): first + i for i, text in enumerate(source)}
    expected = [("torch.sort", "y = torch.sort(y, dim=1).values"), ("torch.cumsum", "z = torch.cumsum(y - x, dim=1)"),
                ("nn.AvgPool1d (pool)", "return self.pool(z.unsqueeze(1)).flatten(1)")]
    assert len(problems) == len(expected), problems
    for problem, (what, code) in zip(problems, expected):
        assert what in problem and f"test_import_fx.py:{line[code]}: {code}" in problem, problem
    assert isinstance(info.value, ModelImportError) and "3 operation(s)" in str(info.value)


def test_data_dependent_control_flow_is_explained() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) if x.sum() > 0 else x

    with pytest.raises(ModelImportError, match="control flow"):
        import_model(Branchy(), (3,))


MODEL_FILE = textwrap.dedent('''
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))


    def build():
        return nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
''')


def test_import_module_from_a_path_or_a_dotted_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zoo_models.py").write_text(MODEL_FILE)
    doc = import_module(f"{tmp_path / 'zoo_models.py'}:Net", (1, 8, 8))
    assert doc.main.name == "Net" and "features.0" in {n.id for n in doc.main.nodes}
    monkeypatch.chdir(tmp_path)
    doc = import_module("zoo_models:build", [3])
    assert [n.type for n in doc.main.nodes] == ["Input", "Linear", "GELU", "Linear", "Output"]
    with pytest.raises(ModelImportError, match="has no attribute 'Missing'"):
        import_module("zoo_models.py:Missing", (3,))
    with pytest.raises(ModelImportError, match=r"does not run on inputs \[B, 1, 5\]"):
        import_module("zoo_models.py:Net", (1, 5))


def test_cli_import_writes_a_document_and_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "zoo_models.py").write_text(MODEL_FILE)
    monkeypatch.chdir(tmp_path)
    code = cli_main(["import", "zoo_models.py:Net", "--input-shape", "1,8,8", "-o", "net.json",
                     "--save-weights", "run"])
    assert code == 0, capsys.readouterr().err
    doc = document.load(tmp_path / "net.json")
    assert Analyzer().analyze(doc).ok and doc.meta["import"]["source"] == "zoo_models.py:Net"
    model = CompiledDocument(doc).build()
    model.load_state_dict(load_weights(tmp_path / "run" / "weights.safetensors"), strict=True)
    assert cli_main(["import", "zoo_models.py:Net", "--input-shape", "1,8,eight", "-o", "bad.json"]) == 1
    assert "--input-shape" in capsys.readouterr().err


def test_cli_import_prints_what_it_assumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "checked.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 4)\n\n"
        "    def forward(self, x):\n        torch._assert(x.shape[1] == 8, 'wants 8 features')\n"
        "        return self.fc(x)\n")
    monkeypatch.chdir(tmp_path)
    assert cli_main(["import", "checked.py:Net", "--input-shape", "8", "-o", "net.json"]) == 0
    out = capsys.readouterr().out.splitlines()
    notes = document.load(tmp_path / "net.json").meta["import"]["notes"]
    assert notes and out[1:] == [f"note: {n}" for n in notes]
    assert "checked.py:11" in out[1]


def test_instances_that_differ_only_in_values_share_one_parameterised_block() -> None:
    class Stage(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.fc = nn.Linear(cin, cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.fc(x))

    model = nn.Sequential(Stage(4, 8), Stage(8, 8), Stage(8, 3))
    _randomise(model)
    doc = import_model(model, (4,), blocks=True)
    # One structure, so one network: the values that differ are its block parameters,
    # with the first use's values as defaults, and each use sets its own.
    assert doc.network_names() == ["Sequential", "Stage"]
    stage = doc.network("Stage")
    assert stage is not None and stage.params == {"in_features": 4, "out_features": 8}
    assert stage.node("fc").params == {"in_features": {"param": "in_features"},
                                       "out_features": {"param": "out_features"}}
    assert [(n.type, n.params) for n in doc.main.nodes] == [
        ("Input", {"shape": [4]}), ("Stage", {"in_features": 4, "out_features": 8}),
        ("Stage", {"in_features": 8, "out_features": 8}), ("Stage", {"in_features": 8, "out_features": 3}),
        ("Output", {})]
    analysis = Analyzer().analyze(doc)
    assert analysis.ok
    assert [analysis.node("Sequential", str(i)).n_params for i in range(3)] == [40, 72, 27]  # type: ignore[union-attr]
    assert analysis.networks["Sequential"].total_params == 139
    source = generate_code(doc)
    assert "def __init__(self, in_features: int = 4, out_features: int = 8) -> None:" in source
    assert "nn.Linear(in_features, out_features)" in source
    assert "Stage(in_features=8, out_features=3)" in source
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), rebuilt(x), rtol=1e-4, atol=1e-5)


def test_instances_that_differ_in_structure_get_one_block_network_each_kind() -> None:
    class Stage(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.extra = nn.Linear(4, 4) if n else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.fc(x))
            return self.extra(x) if self.extra is not None else x

    model = nn.Sequential(Stage(0), Stage(1), Stage(1))
    doc = import_model(model, (4,), blocks=True)
    assert doc.network_names() == ["Sequential", "Stage", "Stage_1"]  # named after its first use
    assert [n.type for n in doc.main.nodes] == ["Input", "Stage", "Stage_1", "Stage_1", "Output"]
    assert doc.meta["import"]["blocks"] == ["Stage", "Stage_1"]
    assert all(not net.params for net in doc.networks)  # nothing varies within a kind
    CompiledDocument(doc).build().load_state_dict(model.state_dict(), strict=True)


def test_list_elements_that_differ_become_parameters_of_one_kind() -> None:
    class Halves(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.fc = nn.Linear(c, c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, c = x.shape
            return self.fc(x).view(b, 2, c // 2).flatten(1)

    model = nn.Sequential(Halves(4), nn.Linear(4, 8), Halves(8), Halves(8))
    doc = import_model(model, (4,), blocks=True)
    # The Reshape's target shape differs (2, 2 / 2, 4) in one element only: a parameter.
    assert doc.network_names() == ["Sequential", "Halves"]
    halves = doc.network("Halves")
    assert halves is not None and halves.params == {"in_features": 4, "view_shape_1": 2}
    assert halves.node_map()["view"].params["shape"] == [2, {"param": "view_shape_1"}]
    assert [n.params for n in doc.main.nodes if n.type == "Halves"] == [
        {"in_features": 4, "view_shape_1": 2}, {"in_features": 8, "view_shape_1": 4},
        {"in_features": 8, "view_shape_1": 4}]
    rebuilt = CompiledDocument(doc).build()
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), model(x))


def test_a_value_whose_code_computes_with_it_splits_the_kind_instead_of_becoming_a_parameter() -> None:
    class Chunks(nn.Module):
        def __init__(self, sizes: tuple[int, ...]) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.sizes = sizes

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).view(x.shape[0], *self.sizes).flatten(1)

    model = nn.Sequential(Chunks((2, 2)), Chunks((4,)), Chunks((2, 2)))
    doc = import_model(model, (4,), blocks=True)
    # The Reshape's target shapes have different lengths, which no element can stand for.
    assert doc.network_names() == ["Sequential", "Chunks", "Chunks_1"]
    assert [n.type for n in doc.main.nodes] == ["Input", "Chunks", "Chunks_1", "Chunks", "Output"]
    assert all(not net.params for net in doc.networks)
    CompiledDocument(doc).build().load_state_dict(model.state_dict(), strict=True)


class OddNames(nn.Module):
    """Children no attribute can name: a dict key with a dash, numbers with gaps. (A child
    named like a keyword, add_module("in", ...), breaks torch.fx's own code generation.)"""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict({"2": nn.Linear(4, 4), "my-layer": nn.Linear(4, 4), "7": nn.Tanh()})
        self.stack = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks["7"](self.blocks["my-layer"](self.blocks["2"](x)))
        return self.stack(x)


def test_odd_module_names_give_valid_ruff_clean_code_with_the_original_keys() -> None:
    from test_codegen import assert_ruff_clean

    model = OddNames()
    doc = import_model(model, (4,))
    compiled = CompiledDocument(doc)
    assert_ruff_clean(compiled.source)
    assert 'getattr(self.blocks, "my-layer")' in compiled.source and "self.stack[2]" in compiled.source
    rebuilt = compiled.build().eval()
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), model.eval()(x), atol=1e-6)


def test_hostile_dotted_ids_stay_escaped_and_valid() -> None:
    from test_codegen import assert_ruff_clean

    from graph_compiler.document import Document, Edge, Network, Node

    ids = ['box."quote', "box.0", "seq.0", "seq.2", "a.forward", "lambda.1"]
    nodes = [Node("x", "Input", {"shape": [4]})] + [Node(i, "Linear", {"out_features": 4}) for i in ids]
    nodes.append(Node("out", "Output"))
    chain = ["x", *ids, "out"]
    net = Network("Hostile", nodes, [Edge(a, b) for a, b in zip(chain, chain[1:])])
    compiled = CompiledDocument(Document([net]))
    assert_ruff_clean(compiled.source)
    keys = set(compiled.build().state_dict())
    assert {'box."quote.weight', "box.0.weight", "seq.0.weight", "seq.2.weight", "lambda.1.weight"} <= keys
    assert "a_forward.weight" in keys  # a part that would shadow nn.Module.forward: named the flat way
