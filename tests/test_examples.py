"""The example graphs in graph_compiler/examples: they load, validate clean, compile, run, and
round-trip; and the examples module finds them by name."""
from __future__ import annotations

import contextlib
import io
import itertools
import json

import pytest
import torch

from graph_compiler.analysis import Analyzer
from graph_compiler.compile import CompiledDocument, exec_source
from graph_compiler.document import VERSION, dumps, loads, to_dict
from graph_compiler.errors import DocumentError
from graph_compiler.examples import (
    GALLERY_ORDER,
    ExampleInfo,
    example_path,
    examples_dir,
    list_examples,
    load_example,
)

OFFLINE = {
    "mlp_digits", "cnn_digits", "mobilenet_digits", "resnet_small", "lstm_sequence",
    "transformer_chars", "autoencoder_digits", "vae_digits", "gan_2d", "diffusion_2d",
}
# These download their data; tests/test_examples_real.py runs them on local-server data.
REAL_SIZE = {"cnn_mnist", "resnet_cifar10", "char_transformer_shakespeare"}
EXPECTED = OFFLINE | REAL_SIZE
RECIPES = {"classification", "regression", "sequence_classification", "language_model",
           "autoencoder", "vae", "gan", "diffusion"}
NAMES = sorted(EXPECTED)
BATCH = 3

# One analyzer for the module: its per-node cache makes the repeated analyses cheap.
_ANALYZER = Analyzer()


def _raw(name: str) -> dict:
    return json.loads(example_path(name).read_text(encoding="utf-8"))


def _random_inputs(info, vocab: int) -> list[torch.Tensor]:
    out = []
    for t in info.input_types():
        shape = (BATCH, *t.shape[1:])
        out.append(torch.randint(0, vocab, shape) if t.dtype == "long" else torch.randn(shape))
    return out


@pytest.fixture(scope="module")
def compiled() -> dict[str, tuple]:
    """name -> (document, analysis, CompiledDocument), built once per test module."""
    return {}


def _get(compiled: dict, name: str) -> tuple:
    if name not in compiled:
        doc = load_example(name)
        analysis = _ANALYZER.analyze(doc)
        cd = CompiledDocument(doc, analysis) if analysis.ok else None
        compiled[name] = (doc, analysis, cd)
    return compiled[name]


# ---------------------------------------------------------------- the examples module


def test_every_expected_example_is_there() -> None:
    assert examples_dir().is_dir()
    assert {e.name for e in list_examples()} == EXPECTED


def test_list_examples_gives_titles_and_descriptions_in_gallery_order() -> None:
    infos = list_examples()
    assert all(isinstance(e, ExampleInfo) for e in infos)
    assert [e.name for e in infos] == [n for n in GALLERY_ORDER if n in EXPECTED]
    for e in infos:
        assert e.path.is_file() and e.path.parent == examples_dir()
        assert e.title and e.title != e.name
        assert 20 <= len(e.description) <= 400, e.name


def test_unknown_example_names_the_valid_ones() -> None:
    with pytest.raises(DocumentError) as exc:
        load_example("no_such_example")
    message = str(exc.value)
    assert "no_such_example" in message
    for name in EXPECTED:
        assert name in message


def test_load_example_accepts_the_file_name_too() -> None:
    assert load_example("mlp_digits.json").main.name == load_example("mlp_digits").main.name


# ---------------------------------------------------------------- each example


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_without_errors_or_warnings(name: str, compiled: dict) -> None:
    doc, analysis, _ = _get(compiled, name)
    assert [d.format(name) for d in analysis.diagnostics] == []
    raw = _raw(name)
    assert raw["format"] == "netwright-graph" and raw["version"] == VERSION
    assert [n.name for n in doc.networks] == [n["name"] for n in raw["networks"]]
    for net, raw_net in zip(doc.networks, raw["networks"]):
        assert len(net.nodes) == len(raw_net["nodes"])
        assert len(net.edges) == len(raw_net["edges"])
        assert len({n.id for n in net.nodes}) == len(net.nodes)


@pytest.mark.parametrize("name", NAMES)
def test_example_is_laid_out_in_reading_order(name: str) -> None:
    """Left to right; a long graph wraps into bands read top to bottom, like text."""
    doc = load_example(name)
    for net in doc.networks:
        pos = {n.id: n.pos for n in net.nodes}
        assert len(set(pos.values())) == len(pos), f"{name}/{net.name}: two nodes on one spot"
        for e in net.edges:
            (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
            # Forward in its band, or on to a band below (bands are 56 px apart or more).
            assert x1 < x2 or y2 > y1 + 100, f"{name}/{net.name}: {e.src} -> {e.dst} runs backwards"
        xs = sorted({x for x, _ in pos.values()})
        assert all(120 <= b - a <= 400 for a, b in itertools.pairwise(xs)), f"{name}/{net.name}: columns {xs}"


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips_losslessly(name: str) -> None:
    doc = load_example(name)
    again = loads(dumps(doc))
    assert to_dict(again) == to_dict(doc)
    assert dumps(again) == dumps(doc)
    # The file is already in the form Netwright saves (no defaults to drop, no ports to add).
    assert to_dict(doc) == _raw(name)


@pytest.mark.parametrize("name", NAMES)
def test_example_compiles_and_runs_with_the_analysed_shapes(name: str, compiled: dict) -> None:
    doc, analysis, cd = _get(compiled, name)
    assert cd is not None
    torch.manual_seed(0)
    for net in doc.networks:
        info = analysis.networks[net.name]
        model = cd.build(net.name)
        assert sum(p.numel() for p in model.parameters()) == info.total_params
        vocab = min((n.params["num_embeddings"] for n in net.nodes if n.type == "Embedding"), default=2)
        model.eval()
        with torch.no_grad():
            out = model(*_random_inputs(info, vocab))
        outs = out if isinstance(out, tuple) else (out,)
        got = [(tuple(o.shape), o.dtype) for o in outs]
        want = [((BATCH, *t.shape[1:]), torch.int64 if t.dtype == "long" else torch.float32)
                for t in info.output_types()]
        assert got == want, f"{name}/{net.name}"
        assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize("name", NAMES)
def test_exported_script_runs_standalone(name: str, compiled: dict) -> None:
    _, _, cd = _get(compiled, name)
    ns = {"__name__": "__main__"}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(cd.source, f"<{name}>", "exec"), ns)  # noqa: S102 - our own generated code
    assert buf.getvalue().strip()
    assert exec_source(cd.source)["build_model"]() is not None


@pytest.mark.parametrize("name", NAMES)
def test_example_training_section_has_the_agreed_shape(name: str) -> None:
    doc = load_example(name)
    t = doc.training
    assert isinstance(t, dict)
    assert t["recipe"] in RECIPES
    assert isinstance(t["dataset"], str) or (isinstance(t["dataset"], dict) and "name" in t["dataset"])
    assert isinstance(t["epochs"], int) and t["epochs"] >= 1
    assert isinstance(t["batch_size"], int) and t["batch_size"] >= 1
    assert isinstance(t.get("optimizer", "adam"), str) and 0 < t.get("lr", 1e-3) < 1
    if t["recipe"] == "gan":
        options = t["options"]
        assert doc.network(options["generator"]) is doc.main
        assert doc.network(options["discriminator"]) is not None
    config = pytest.importorskip("graph_compiler.training.config")
    parsed = config.parse_config(t)
    assert (parsed.recipe, parsed.epochs, parsed.batch_size) == (t["recipe"], t["epochs"], t["batch_size"])


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_example_passes_its_recipe_checks_and_trains_a_step(name: str, compiled: dict) -> None:
    pytest.importorskip("graph_compiler.training.recipes")
    datasets = pytest.importorskip("graph_compiler.training.datasets")
    harness = pytest.importorskip("recipe_harness")  # tests/recipe_harness.py: the engine-free context
    doc, _, _ = _get(compiled, name)
    spec = doc.training["dataset"]
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    spec["n"] = 48
    data = datasets.resolve_dataset(spec)
    h = harness.Harness(doc, data, data)
    assert h.recipe.check(h.analysis, data) == []
    h.recipe.setup()
    batch = next(iter(h.ctx.batches(h.recipe.batch_tensors(data), 16)))
    h.recipe.train_step(batch)


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_example_fits_its_dataset(name: str, compiled: dict) -> None:
    datasets = pytest.importorskip("graph_compiler.training.datasets")
    doc, analysis, _ = _get(compiled, name)
    spec = doc.training["dataset"]
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    spec.setdefault("n", 16)
    data = datasets.resolve_dataset(spec)
    recipe = doc.training["recipe"]
    options = doc.training.get("options", {})
    consumer = options.get("discriminator", doc.main.name) if recipe == "gan" else doc.main.name
    info = analysis.networks[consumer]
    first = info.input_types()[0]
    assert first.shape[1:] == data.input_shape, f"{name}: Input {first} vs data {data.input_shape}"
    assert first.dtype == ("long" if data.x.dtype == torch.int64 else "float")
    out = info.output_types()[0].shape
    if recipe in ("classification", "sequence_classification"):
        assert out[1:] == (data.num_classes,)
    elif recipe == "language_model":
        embed = next(n for n in doc.main.nodes if n.type == "Embedding")
        assert data.num_classes <= embed.params["num_embeddings"] == out[-1]
        assert out[1:-1] == data.input_shape
    elif recipe in ("autoencoder", "vae"):
        assert out[1:] == data.input_shape
    elif recipe in ("gan", "diffusion"):
        gen_out = analysis.networks[doc.main.name].output_types()[0].shape
        assert gen_out[1:] == data.input_shape


# ---------------------------------------------------------------- example-specific promises


def test_vae_exposes_mu_and_logvar_after_the_reconstruction(compiled: dict) -> None:
    doc, analysis, cd = _get(compiled, "vae_digits")
    net = doc.main
    assert {"mu", "logvar"} <= {n.id for n in net.nodes}
    outputs = analysis.networks[net.name].outputs
    assert outputs == ["reconstruction", "mu_out", "logvar_out"]
    feeds = {e.dst: e.src for e in net.edges}
    assert feeds["mu_out"] == "mu" and feeds["logvar_out"] == "logvar"
    model = cd.build().train()
    torch.manual_seed(0)
    x = torch.rand(BATCH, 64)
    recon, mu, logvar = model(x)
    # The returned values really are the mu and logvar layers' outputs, in that order.
    assert torch.allclose(mu, model.mu(model.enc2_relu(model.enc2(model.enc1_relu(model.enc1(x))))))
    assert torch.allclose(logvar, model.logvar(model.enc2_relu(model.enc2(model.enc1_relu(model.enc1(x))))))
    assert recon.min() >= 0 and recon.max() <= 1
    # The decoder runs alone, from latent points.
    decoder_info = analysis.networks["Decoder"]
    latent = decoder_info.input_types()[0].shape[1:]
    assert latent == mu.shape[1:]
    decoder = cd.build("Decoder")
    assert decoder(torch.randn(5, *latent)).shape == (5, 64)
    assert any(n.type == "Decoder" for n in net.nodes)


def test_gan_generator_comes_first(compiled: dict) -> None:
    doc, analysis, _ = _get(compiled, "gan_2d")
    assert doc.network_names() == ["Generator", "Discriminator"]
    gen, disc = analysis.networks["Generator"], analysis.networks["Discriminator"]
    assert gen.input_types()[0].shape[1:] == (doc.training["options"]["latent_dim"],)
    assert gen.output_types()[0].shape[1:] == disc.input_types()[0].shape[1:] == (2,)
    assert disc.output_types()[0].shape[1:] == (1,)
    assert "LeakyReLU" in {n.type for n in doc.network("Discriminator").nodes}


def test_resnet_uses_its_block_several_times(compiled: dict) -> None:
    doc, analysis, _ = _get(compiled, "resnet_small")
    block = doc.network("ResBlock")
    assert block is not None and "Add" in {n.type for n in block.nodes}
    assert sum(n.type == "ResBlock" for n in doc.main.nodes) >= 2
    assert analysis.networks[doc.main.name].total_params > 2 * analysis.networks["ResBlock"].total_params


def test_mobilenet_depthwise_convs_have_groups_equal_to_channels(compiled: dict) -> None:
    doc, analysis, _ = _get(compiled, "mobilenet_digits")
    nodes = analysis.networks[doc.main.name].nodes
    depthwise = [n for n in nodes.values() if n.type == "Conv2d" and n.params["groups"] > 1]
    pointwise = [n for n in nodes.values() if n.type == "Conv2d" and n.params["kernel_size"] == 1]
    assert len(depthwise) >= 2 and len(pointwise) >= 2
    for n in depthwise:
        assert n.params["groups"] == n.params["in_channels"] == n.params["out_channels"]


def test_lstm_reads_the_last_step(compiled: dict) -> None:
    doc, _, _ = _get(compiled, "lstm_sequence")
    assert any(e.src == "lstm" and e.src_port == 1 for e in doc.main.edges)


def test_transformer_is_causal(compiled: dict) -> None:
    doc, _, cd = _get(compiled, "transformer_chars")
    layers = [n for n in doc.main.nodes if n.type == "TransformerEncoderLayer"]
    assert len(layers) == 2 and all(n.params["causal"] for n in layers)
    # Changing a later token must not change earlier predictions.
    model = cd.build().eval()
    torch.manual_seed(0)
    x = torch.randint(0, 96, (1, 64))
    y = x.clone()
    y[0, 40:] = (y[0, 40:] + 1) % 96
    with torch.no_grad():
        a, b = model(x), model(y)
    assert a.shape == (1, 64, 96)
    assert torch.allclose(a[0, :40], b[0, :40], atol=1e-5)
    assert not torch.allclose(a[0, 40:], b[0, 40:])


def test_diffusion_denoiser_takes_x_and_t(compiled: dict) -> None:
    doc, analysis, _ = _get(compiled, "diffusion_2d")
    info = analysis.networks[doc.main.name]
    assert info.inputs == ["x", "t"]
    assert [t.shape[1:] for t in info.input_types()] == [(2,), (1,)]
    assert info.output_types()[0].shape[1:] == (2,)
    assert analysis.node(doc.main.name, "t_embed").params["dim"] >= 16
