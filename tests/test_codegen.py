"""Code generation: golden files, determinism, ruff-clean output, only torch imported,
and the generated module runs with the inferred shapes.

Regenerate the golden files after an intended change with
``NETWRIGHT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_codegen.py`` and review the diff.
"""
from __future__ import annotations

import ast
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.codegen import generate, generate_code
from graph_compiler.compile import CompiledDocument, exec_source
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.errors import GraphError
from graph_compiler.naming import MODULE_ATTRS, Namespace, class_name, comment, identifier
from graph_compiler.pyfmt import def_lines, layout, num_literal, str_literal, with_comment

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def load(name: str) -> Document:
    return document.load(GOLDEN / f"{name}.json")


def ruff(args: list[str], source: str, filename: str = "generated_model.py") -> subprocess.CompletedProcess[str]:
    """ruff on text, with its default rules and settings (--isolated: no project config)."""
    assert RUFF is not None
    return subprocess.run([RUFF, *args, "--isolated", "--stdin-filename", filename, "-"],
                          input=source, check=False, capture_output=True, text=True, timeout=60)


def assert_ruff_clean(source: str) -> None:
    if RUFF is None:
        pytest.skip("ruff is not installed")
    check = ruff(["check", "--no-cache", "--output-format", "concise"], source)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = ruff(["format", "--diff"], source)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# ---------------------------------------------------------------- golden files


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    source = generate_code(load(name))
    path = GOLDEN / f"{name}.py"
    if os.environ.get("NETWRIGHT_UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8"), f"regenerate {path.name} if this change is intended"


def test_golden_cases_cover_the_brief() -> None:
    assert {"mlp", "cnn", "residual", "lstm", "transformer", "chunk"} <= set(CASES)
    assert "class ResidualBlock(nn.Module)" in (GOLDEN / "residual.py").read_text()
    lstm = (GOLDEN / "lstm.py").read_text()
    assert "lstm_sequence, _ = self.lstm(x)" in lstm and "lstm_sequence[:, -1]" in lstm
    assert "attn_mask=causal_mask(x)" in (GOLDEN / "transformer.py").read_text()
    assert "= torch.chunk(" in (GOLDEN / "chunk.py").read_text()


@pytest.mark.parametrize("name", CASES)
def test_generated_code_is_ruff_clean(name: str) -> None:
    assert_ruff_clean(generate_code(load(name)))


@pytest.mark.parametrize("name", CASES)
def test_deterministic(name: str) -> None:
    d = load(name)
    first = generate_code(d)
    again = generate_code(document.loads(document.dumps(d), source=str(GOLDEN / f"{name}.json")))
    assert first == again == generate_code(d, Analyzer().analyze(d))


@pytest.mark.parametrize("name", CASES)
def test_structure(name: str) -> None:
    d = load(name)
    gen = generate(d)
    tree = ast.parse(gen.source)
    imports = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imports |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imports == {"torch"}
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert set(gen.class_names.values()) <= classes
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "build_model" in functions
    assert 'if __name__ == "__main__":' in gen.source
    a = Analyzer().analyze(d)
    for net in d.networks:
        for node in net.nodes:  # every node is named, with its shape, in a comment
            info = a.networks[net.name].nodes[node.id]
            shape = ", ".join(str(t) for t in info.outputs or [])
            assert f"{node.id}: {shape}" in gen.source, node.id


@pytest.mark.parametrize("name", CASES)
def test_generated_module_runs_with_the_inferred_shapes(name: str) -> None:
    d = load(name)
    a = Analyzer().analyze(d)
    compiled = CompiledDocument(d, a)
    info = a.networks[d.main.name]
    model = compiled.build().eval()
    ns = {"torch": torch}
    from graph_compiler.codegen import example_inputs_code

    inputs = [eval(e, ns) for e in example_inputs_code(d.main, info, batch=3)]
    with torch.no_grad():
        out = model(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape) for o in outs] == [(3, *t.shape[1:]) for t in info.output_types()]  # type: ignore[union-attr]


def test_generated_file_runs_as_a_script(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(generate_code(load("lstm")))
    out = subprocess.run([sys.executable, str(path)], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[(2, 12, 5), (2, 2)] 8231"


def test_errors_refuse_generation() -> None:
    d = load("mlp")
    d.main.nodes[1].params["out_features"] = 0
    with pytest.raises(GraphError) as exc:
        generate(d)
    assert "out_features=0 is out of range" in str(exc.value) and exc.value.diagnostics


def test_state_dict_keys_follow_sanitized_ids() -> None:
    nodes = [Node("x", "Input", {"shape": [4]}), Node("conv 1", "Linear", {"out_features": 4}),
             Node("class", "Linear", {"out_features": 4}), Node("2fc", "Linear", {"out_features": 4}),
             Node("forward", "Linear", {"out_features": 4}), Node("__init__", "Linear", {"out_features": 4}),
             Node("out", "Output")]
    ids = [n.id for n in nodes]
    d = Document([Network("Net", nodes, [Edge(a, b) for a, b in itertools.pairwise(ids)])])
    compiled = CompiledDocument(d)
    keys = set(compiled.build().state_dict())
    attrs = compiled.generated.attrs["Net"]
    assert attrs == {"conv 1": "conv_1", "class": "class_", "2fc": "node_2fc", "forward": "forward_2",
                     "__init__": "init"}
    assert keys == {f"{a}.{p}" for a in attrs.values() for p in ("weight", "bias")}


def test_blocks_become_classes_and_nested_keys() -> None:
    compiled = CompiledDocument(load("residual"))
    keys = list(compiled.build().state_dict())
    assert "block1.conv1.weight" in keys and "block2.bn2.running_mean" in keys
    assert type(compiled.build("ResidualBlock")).__name__ == "ResidualBlock"
    with pytest.raises(GraphError, match="no network named 'Nope'"):
        compiled.build("Nope")


def test_values_read_by_an_output_are_never_overwritten() -> None:
    """The first Output reads a value that a later node could otherwise reuse the name of."""
    nodes = [Node("x", "Input", {"shape": [4]}), Node("early", "Output"), Node("a", "ReLU"),
             Node("b", "Tanh"), Node("late", "Output")]
    edges = [Edge("x", "early"), Edge("x", "a"), Edge("a", "b"), Edge("b", "late")]
    d = Document([Network("Net", nodes, edges)])
    model = CompiledDocument(d).build()
    x = torch.randn(2, 4) - 1
    early, late = model(x)
    assert torch.equal(early, x) and torch.allclose(late, torch.tanh(torch.relu(x)))


def test_outputs_are_returned_in_document_order() -> None:
    nodes = [Node("x", "Input", {"shape": [4]}), Node("first", "Output"), Node("second", "Output"),
             Node("fc", "Linear", {"out_features": 2})]
    edges = [Edge("fc", "first"), Edge("x", "second"), Edge("x", "fc")]
    d = Document([Network("Net", nodes, edges)])
    a, b = CompiledDocument(d).build()(torch.randn(3, 4))
    assert a.shape == (3, 2) and b.shape == (3, 4)


# ---------------------------------------------------------------- naming and layout


def test_identifiers() -> None:
    assert identifier("conv 1") == "conv_1"
    assert identifier("class") == "class_"
    assert identifier("__class__") == "class_"
    assert identifier("9lives") == "node_9lives"
    assert identifier("ünïcode") == "n_code"
    assert identifier("\u2028") == "node"
    assert identifier("l") == "l_"
    assert len(identifier("x" * 500)) <= 32
    assert class_name("my net") == "MyNet" and class_name("none") == "None_"
    ns = Namespace({"x"})
    assert [ns.create("x"), ns.create("x"), ns.create("y")] == ["x_2", "x_3", "y"]
    long = "a" * 40
    assert all(len(ns.create(long)) <= 32 for _ in range(20))


def test_module_attrs_cover_nn_module() -> None:
    public = {n for n in dir(torch.nn.Module()) if not n.startswith("_")}
    assert public <= MODULE_ATTRS, public - MODULE_ATTRS


def test_comments_and_strings_are_escaped() -> None:
    nasty = 'a\nb\rc\u2028d"e\\f#g\x00é😀'
    text = comment(nasty)
    assert text.isascii() and "\n" not in text and "\r" not in text and "#" not in text
    literal = str_literal(nasty)
    assert literal.isascii() and ast.literal_eval(literal) == nasty and "'" not in literal
    assert num_literal(1e16) == "1e16" and num_literal(float("-inf")) == 'float("-inf")'


def _random_statements(rng: random.Random, count: int) -> list[tuple[str, int]]:
    """Statements of the shapes codegen emits, with names up to the identifier limit."""
    def name() -> str:
        return "v" + "".join(rng.choice("abcdefgh_") for _ in range(rng.randint(0, 31)))

    def arg() -> str:
        k = rng.randint(0, 7)
        if k == 0:
            return f"kw{rng.randint(0, 9)}={rng.choice(['3', '1e-05', 'True', '(3, 3)', 'None', str_literal('gelu')])}"
        if k == 1:
            return f"attn_mask=causal_mask({name()})"
        if k == 2:
            return "[" + ", ".join(name() for _ in range(rng.randint(1, 5))) + "]"
        if k == 3:
            return f"{name()}.shape[0]"
        if k == 4:
            return "(" + ", ".join(str(rng.choice([1, 3, 16777216])) for _ in range(rng.randint(2, 8))) + ")"
        return name()

    def call() -> str:
        head = rng.choice([f"self.{name()}", "torch.cat", "nn.TransformerDecoderLayer", f"{name()}.reshape",
                           "torch.split", "PositionalEncoding"])
        args = sorted((arg() for _ in range(rng.randint(0, 6))), key=lambda a: "=" in a.split("(")[0])
        return f"{head}({', '.join(args)})"

    out: list[tuple[str, int]] = []
    for _ in range(count):
        k = rng.randint(0, 8)
        if k == 7:  # what the catalog's attention and indexing nodes emit
            x, m = name(), name()
            s = rng.choice([
                f'{x} = {x}.masked_fill({m}[..., : {x}.size(-2), : {x}.size(-1)] == 0, float("-inf"))',
                f"{x} = {m}[:, [-1], :]", f"{x} = {m}[..., :4, 1::2, None]",
                f"{x} = {m}.expand({x}.shape[0], -1, -1)", f"{x} = {m} @ {x}",
                f"{x} = torch.arange({m}.shape[1], device={m}.device)", f"{x} = {x}.unsqueeze(0)",
                f"{x} = nn.functional.scaled_dot_product_attention({x}, {m}, {name()}, is_causal=True)"])
        elif k == 8:
            s = f"{name()} = {name()}.reshape({name()}.shape[0], {name()}.shape[1], 12, 64)"
        elif k == 0:
            s = f"self.{name()} = {call()}"
        elif k == 1:
            s = f"{name()} = {call()}"
        elif k == 2:
            s = ", ".join(rng.choice([name(), "_"]) for _ in range(rng.randint(2, 9))) + f" = {call()}"
        elif k == 3:
            s = f"{name()} = " + f" {rng.choice('+*')} ".join(name() for _ in range(rng.randint(2, 9)))
        elif k == 4:
            s = "return " + ", ".join(name() for _ in range(rng.randint(1, 7)))
        elif k == 5:
            s = f"{name()} = {name()}[:, -1]"
        else:
            s = ", ".join(name() for _ in range(rng.randint(2, 9))) + f" = {name()}"
        out.append((s, rng.choice([4, 8])))
    return out


def test_layout_matches_ruff_format() -> None:
    """pyfmt lays statements out as ruff does, for every shape of statement codegen emits."""
    if RUFF is None:
        pytest.skip("ruff is not installed")
    rng = random.Random(20240613)
    lines = ["class A:"]
    for i, (stmt, indent) in enumerate(_random_statements(rng, 400)):
        body = layout(stmt, indent + (4 if indent == 4 else 0))
        if rng.random() < 0.3:
            body = with_comment(body, "node: [B, 16, 8, 8]" + "x" * rng.randint(0, 50), len(body[0]) - len(body[0].lstrip()))
        if i % 10 == 0:
            params = ["self", *(f"v{'a' * rng.randint(0, 30)}{j}: torch.Tensor" for j in range(rng.randint(1, 5)))]
            lines += [*def_lines(f"f{i}", params, "tuple[torch.Tensor, ...]", 4), "        pass", ""]
        lines += [f"    def g{i}(self):", *body, ""]
    source = "\n".join(lines).rstrip() + "\n"
    fmt = ruff(["format", "--diff"], source, "layout_probe.py")
    assert fmt.returncode == 0, fmt.stdout[:4000]


def test_long_statements_wrap_like_ruff() -> None:
    stmt = "self.encoder = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)"
    assert layout(stmt, 8) == [
        "        self.encoder = nn.TransformerEncoderLayer(",
        "            64, 4, dim_feedforward=128, dropout=0.0, batch_first=True",
        "        )",
    ]
    assert with_comment(["        x = f(x)"], "a: [B]", 8) == ["        x = f(x)  # a: [B]"]
    assert with_comment(["        x = f(x)"], "a" * 80, 8)[0] == "        # " + "a" * 80


def test_hostile_source_names_stay_in_comments_and_strings() -> None:
    d = load("mlp")
    d.source = '/tmp/evil"""\nimport os; os.system("x")\n#.json'
    d.main.name = 'Net"""\nimport os\n'
    d.main.nodes[1].label = "\n__import__('os').system('echo pwned')\n"
    gen = generate(d)
    ns = exec_source(gen.source)
    assert set(ns["NETWORKS"]) == {d.main.name}
    tree = ast.parse(gen.source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert imported == {"torch", "nn"} and "os" not in ns
    assert_ruff_clean(gen.source)
    json.dumps(gen.attrs)  # plain data
