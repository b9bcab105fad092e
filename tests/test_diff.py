"""Model diff (graph_compiler/diff.py, `netwright diff`): matching by id and by structure,
parameter / type / wire changes, the shapes and counts that follow, totals, exit codes and
the JSON schema of docs/diff.md."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_compiler.analysis import Analyzer
from graph_compiler.cli import main
from graph_compiler.diff import diff_documents
from graph_compiler.diff_text import format_text
from graph_compiler.document import Document, Edge, Network, Node, dumps, load
from graph_compiler.examples import example_names, example_path

ROOT = Path(__file__).resolve().parent.parent


def mlp() -> Document:
    nodes = [Node("x", "Input", {"shape": [8]}, (0, 0)), Node("fc1", "Linear", {"out_features": 16}),
             Node("act", "ReLU"), Node("fc2", "Linear", {"out_features": 4}), Node("y", "Output")]
    ids = [n.id for n in nodes]
    return Document([Network("Net", nodes, [Edge(a, b) for a, b in zip(ids, ids[1:], strict=False)])])


def write(tmp_path: Path, name: str, doc: Document) -> Path:
    p = tmp_path / name
    p.write_text(dumps(doc), encoding="utf-8")
    return p


def test_identical_and_layout_only_changes_are_no_difference() -> None:
    a, b = mlp(), mlp()
    b.networks[0].nodes[2].pos = (500.0, 300.0)
    d = diff_documents(a, b)
    assert d.identical and d.networks[0].status == "unchanged"
    assert "No differences" in format_text(d)


def test_a_param_change_and_the_shapes_and_counts_that_follow() -> None:
    a, b = mlp(), mlp()
    b.network("Net").node("fc1").params["out_features"] = 32
    d = diff_documents(a, b)
    n = d.network("Net")
    assert [(c.id, c.params) for c in n.changed] == [("fc1", {"out_features": (16, 32)})]
    assert n.shapes == {"fc1": ("[B, 16]", "[B, 32]"), "act": ("[B, 16]", "[B, 32]")}
    # fc2's in_features is inferred: its count changes, its own params do not.
    assert n.counts == {"fc1": (8 * 16 + 16, 8 * 32 + 32), "fc2": (16 * 4 + 4, 32 * 4 + 4)}
    total = Analyzer().analyze(b).networks["Net"].total_params - Analyzer().analyze(a).networks["Net"].total_params
    assert n.params.delta == d.params.delta == total == (8 * 16 + 16) + 16 * 4
    assert n.flops.delta > 0 and not n.added and not n.removed and not n.rewired


def test_writing_out_a_default_is_not_a_change() -> None:
    a, b = mlp(), mlp()
    b.network("Net").node("fc1").params["bias"] = True
    assert diff_documents(a, b).identical


def test_a_renamed_node_is_matched_by_structure() -> None:
    a, b = mlp(), mlp()
    net = b.network("Net")
    net.node("act").id = "relu"
    for e in net.edges:
        e.src, e.dst = ("relu" if e.src == "act" else e.src), ("relu" if e.dst == "act" else e.dst)
    n = diff_documents(a, b).network("Net")
    assert [(c.id, c.old_id, c.renamed) for c in n.changed] == [("relu", "act", True)]
    assert not n.added and not n.removed and not n.wires_added and not n.wires_removed and not n.rewired
    assert n.matched["act"] == "relu"


def test_an_inserted_node_rewires_the_port_it_feeds() -> None:
    a, b = mlp(), mlp()
    net = b.network("Net")
    net.nodes.insert(3, Node("drop", "Dropout", {"p": 0.2}))
    net.edges = [e for e in net.edges if e.src != "act"] + [Edge("act", "drop"), Edge("drop", "fc2")]
    n = diff_documents(a, b).network("Net")
    assert list(n.added) == ["drop"] and n.added["drop"].shape == "[B, 16]" and not n.removed
    assert [(r.dst, r.old_src, r.src) for r in n.rewired] == [("fc2", ("act", 0), ("drop", 0))]
    assert n.wires_added == [("act", 0, "drop", 0)] and n.wires_removed == []
    text = format_text(diff_documents(a, b))
    assert "+ drop (Dropout)" in text and "wire into fc2:0 now from drop:0 (was act:0)" in text


def test_removed_node_type_change_and_networks_on_one_side() -> None:
    a, b = mlp(), mlp()
    net = b.network("Net")
    net.node("act").type = "GELU"
    b.networks.append(Network("Extra", [Node("i", "Input", {"shape": [2]}), Node("o", "Output")], [Edge("i", "o")]))
    a.networks.append(Network("Gone", [Node("i", "Input", {"shape": [2]}), Node("o", "Output")], [Edge("i", "o")]))
    d = diff_documents(a, b)
    assert d.network("Net").changed[0].type == ("ReLU", "GELU")
    assert d.network("Extra").status == "added" and set(d.network("Extra").added) == {"i", "o"}
    assert d.network("Gone").status == "removed" and set(d.network("Gone").removed) == {"i", "o"}
    # Removing a node: its wires go with it, the port it fed is no longer fed.
    c = mlp()
    net = c.network("Net")
    net.nodes = [x for x in net.nodes if x.id != "act"]
    net.edges = [e for e in net.edges if "act" not in (e.src, e.dst)] + [Edge("fc1", "fc2")]
    n = diff_documents(a, c).network("Net")
    assert list(n.removed) == ["act"] and n.removed["act"].shape == "[B, 16]"
    assert [(r.dst, r.old_src, r.src) for r in n.rewired] == [("fc2", ("act", 0), ("fc1", 0))]
    assert n.wires_removed == [("fc1", 0, "act", 0)]


def test_training_changes_are_listed() -> None:
    a, b = mlp(), mlp()
    a.training, b.training = {"epochs": 3, "lr": 0.01}, {"epochs": 5, "lr": 0.01}
    d = diff_documents(a, b)
    assert d.training == {"epochs": (3, 5)} and not d.identical
    assert "epochs: 3 -> 5" in format_text(d)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(example_names()), data=st.data())
def test_renaming_any_nodes_of_an_example_is_seen_as_renames_only(name: str, data: st.DataObject) -> None:
    a = load(example_path(name))
    b = load(example_path(name))
    net = b.networks[0]
    chosen = data.draw(st.sets(st.sampled_from([n.id for n in net.nodes]), max_size=3))
    new = {old: f"{old}_renamed" for old in chosen}
    for n in net.nodes:
        n.id = new.get(n.id, n.id)
    for e in net.edges:
        e.src, e.dst = new.get(e.src, e.src), new.get(e.dst, e.dst)
    n = diff_documents(a, b, Analyzer().analyze(a), Analyzer().analyze(b)).network(net.name)
    assert {c.old_id: c.id for c in n.changed} == new
    assert all(c.renamed and not c.params and not c.type for c in n.changed)
    assert not (n.added or n.removed or n.wires_added or n.wires_removed or n.rewired or n.shapes)


# ---------------------------------------------------------------- CLI


def test_cli_exit_codes_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", mlp())
    changed = mlp()
    changed.network("Net").node("fc1").params["out_features"] = 32
    b = write(tmp_path, "b.json", changed)
    assert main(["diff", str(a), str(a)]) == 0
    assert "No differences" in capsys.readouterr().out
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "~ fc1: out_features 16 -> 32" in out and "act: [B, 16] -> [B, 32]" in out
    assert re.search(r"params 212 -> 420 \(\+208\)", out)


def test_cli_unreadable_files_exit_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", mlp())
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"hello": 1}', encoding="utf-8")
    for bad in (junk, foreign, tmp_path / "missing.json", tmp_path):
        assert main(["diff", str(a), str(bad)]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and "Traceback" not in err
    assert main(["diff", str(junk), str(a)]) == 2
    assert str(junk) in capsys.readouterr().err


def test_cli_json_follows_the_documented_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", mlp())
    changed = mlp()
    net = changed.network("Net")
    net.nodes.insert(3, Node("drop", "Dropout", {"p": 0.2}))
    net.edges = [e for e in net.edges if e.src != "act"] + [Edge("act", "drop"), Edge("drop", "fc2")]
    b = write(tmp_path, "b.json", changed)
    assert main(["diff", str(a), str(b), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"format", "version", "a", "b", "identical", "networks", "training", "totals"}
    assert (data["format"], data["version"], data["identical"]) == ("netwright-diff", 3, False)
    n = data["networks"][0]
    assert set(n) == {"name", "status", "nodes", "edges", "shapes", "counts", "params", "flops", "block_params",
                      "ties"}
    assert n["block_params"] == {"added": {}, "removed": {}, "changed": {}, "renamed": {}}
    assert n["ties"] == {"added": [], "removed": []}
    assert n["nodes"]["added"] == [{"id": "drop", "type": "Dropout", "output_shape": "[B, 16]", "params": 0,
                                    "flops": 0}]
    assert n["edges"]["rewired"] == [{"dst": "fc2", "dst_port": 0, "old_src": "act", "old_src_port": 0,
                                      "src": "drop", "src_port": 0}]
    assert n["edges"]["added"] == [{"src": "act", "src_port": 0, "dst": "drop", "dst_port": 0}]
    assert data["totals"]["params"] == {"a": 212, "b": 212, "delta": 0, "invalid": [], "reason": None}
    # The schema documented in docs/diff.md names every key the command writes.
    doc = (ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    for key in ("old_id", "rewired", "old_src_port", "output_shape", "counts", "totals", "identical",
                "block_params", "ties", "to_node", "to_param"):
        assert f'"{key}"' in doc


def test_diff_runs_without_qt() -> None:
    code = ("import sys; from graph_compiler.cli import main; "
            f"rc = main(['diff', {str(example_path('mlp_digits'))!r}, {str(example_path('cnn_digits'))!r}]); "
            "assert rc == 1, rc; assert not [m for m in sys.modules if m.startswith('PySide6')]")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_the_documented_example_is_what_the_command_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads(example_path("mlp_digits").read_text(encoding="utf-8"))
    (tmp_path / "mlp_v1.json").write_text(json.dumps(raw), encoding="utf-8")
    net = raw["networks"][0]
    for n in net["nodes"]:
        if n["id"] == "fc1":
            n["params"]["out_features"] = 256
        if n["id"] == "relu2":
            n["id"] = "act2"
    net["nodes"].insert(3, {"id": "drop", "type": "Dropout", "params": {"p": 0.2}, "pos": [0, 0]})
    for e in net["edges"]:
        e["src"], e["dst"] = (x.replace("relu2", "act2") for x in (e["src"], e["dst"]))
    net["edges"] = [e for e in net["edges"] if e["src"] != "relu1"] + [
        {"src": "relu1", "dst": "drop"}, {"src": "drop", "dst": "fc2"}]
    raw["training"]["epochs"] = 40
    (tmp_path / "mlp_v2.json").write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "mlp_v1.json", "mlp_v2.json"]) == 1
    printed = capsys.readouterr().out.strip()
    doc = (ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    shown = doc.split("$ netwright diff mlp_v1.json mlp_v2.json\n", 1)[1].split("```", 1)[0].strip()
    assert printed == shown
    assert main(["diff", "mlp_v1.json", "mlp_v2.json", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    documented = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])
    assert data["totals"] == documented["totals"] and data["training"] == documented["training"]
    assert data["networks"][0]["edges"] == documented["networks"][0]["edges"]
    assert data["networks"][0]["nodes"] == documented["networks"][0]["nodes"]


def test_any_two_designs_diff_without_error_and_symmetrically() -> None:
    """Every pair of bundled examples, their main networks compared under one name: the
    diff never fails, a design is identical to itself, and A->B mirrors B->A."""
    docs = {n: load(example_path(n)) for n in example_names()}
    for d in docs.values():
        d.networks = d.networks[:1]
        d.networks[0].name = "Main"
        d.training = None
    analyses = {n: Analyzer().analyze(d) for n, d in docs.items()}
    for a in docs:
        assert diff_documents(docs[a], docs[a], analyses[a], analyses[a]).identical
        for b in docs:
            if a >= b:
                continue
            ab = diff_documents(docs[a], docs[b], analyses[a], analyses[b]).network("Main")
            ba = diff_documents(docs[b], docs[a], analyses[b], analyses[a]).network("Main")
            assert set(ab.added) == set(ba.removed) and set(ab.removed) == set(ba.added)
            assert {c.id for c in ab.changed} == {c.old_id for c in ba.changed}
            assert ab.status == ba.status == "changed"
            # A main network that used a block is invalid alone: its total is unknown.
            assert ab.params.invalid == sorted({"a": "b", "b": "a"}[s] for s in ba.params.invalid)
            if ab.params.delta is not None:
                assert ba.params.delta is not None and ab.params.delta == -ba.params.delta
            format_text(diff_documents(docs[a], docs[b], analyses[a], analyses[b]))


def test_hostile_names_cannot_forge_report_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = mlp(), mlp()
    evil = "x\n+ forged (Linear)\x1b[2J"
    net = b.network("Net")
    net.nodes.insert(2, Node(evil, "Dropout", {"p": 0.1}))
    net.edges = [e for e in net.edges if e.src != "fc1"] + [Edge("fc1", evil), Edge(evil, "act")]
    assert main(["diff", str(write(tmp_path, "a.json", a)), str(write(tmp_path, "b.json", b))]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\n+ forged" not in out
    assert "+ x\\n+ forged (Linear)\\x1b[2J (Dropout)" in out


def test_a_fifo_is_refused_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert main(["diff", str(write(tmp_path, "a.json", mlp())), str(fifo)]) == 2
    assert f"{fifo}: not a regular file" in capsys.readouterr().err


def invalid_mlp() -> Document:
    """The MLP with act's input unwired: fc2 and everything after it cannot be inferred."""
    doc = mlp()
    net = doc.network("Net")
    net.edges = [e for e in net.edges if e.dst != "act"]
    return doc


def test_an_invalid_side_has_unknown_totals_not_a_made_up_delta(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "good.json", mlp())
    b = write(tmp_path, "broken.json", invalid_mlp())
    d = diff_documents(load(a), load(b))
    n = d.network("Net")
    assert n.params.a == 212 and n.params.b is None and n.params.delta is None
    assert n.flops.delta is None and d.params.delta is None and d.params.invalid == ["b"]
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "params 212 -> ? (unknown)" in out
    assert f"Main network: params unknown, FLOPs unknown: {b} is invalid (" in out
    assert "-212" not in out and "+" not in out.split("Main network:")[1]
    # Which side is invalid, in JSON too; both sides invalid names both.
    assert main(["diff", str(b), str(a), "--json"]) == 1
    totals = json.loads(capsys.readouterr().out)["totals"]["params"]
    assert totals["a"] is None and totals["b"] == 212 and totals["delta"] is None
    assert totals["invalid"] == ["a"] and totals["reason"].startswith(f"{b} is invalid (")
    both = diff_documents(invalid_mlp(), invalid_mlp())
    assert both.params.invalid == ["a", "b"]
    assert both.params.reason("x.json", "y.json").count("is invalid") == 2
    renamed = invalid_mlp()
    renamed.networks[0].name = "Old"  # the main networks differ in name: each side names its own
    assert diff_documents(renamed, mlp()).params.reason("x.json", "y.json") == \
        "x.json is invalid (1 error in network Old)"
