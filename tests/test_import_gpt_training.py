"""An imported nanoGPT-style GPT trains with the language-model recipe, in the engine the
app uses and through `netwright train`, and its trained weights load back into the
original class (strict) with the same outputs.

nanoGPT's ``forward(idx)`` returns the logits of the last position only
(``logits[:, [-1], :]``), so the imported graph outputs [B, 1, V]: the recipe trains it
on the token after each window. Removing the graph's indexing node gives the logits of
every position, those of ``forward(idx, targets)``, and per-position training.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch
from models import gpt

from graph_compiler import document
from graph_compiler.cli import main as cli_main
from graph_compiler.compile import CompiledDocument
from graph_compiler.data import fetch, standard
from graph_compiler.document import Document, Edge
from graph_compiler.interop.fx_import import import_model
from graph_compiler.training.checkpoints import load_run
from graph_compiler.training.engine import Trainer

TESTS = Path(__file__).parent
pytestmark = pytest.mark.usefixtures("one_thread")

# A few public-domain lines in tiny_shakespeare's layout, placed in the data cache so that
# nothing is downloaded (the file is pinned by its own sha256, as a manual copy would be).
CORPUS = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
          "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n"
          "First Citizen:\nFirst, you know Caius Marcius is chief enemy to the people.\n\n") * 30
T = 8


@pytest.fixture
def shakespeare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    cache = tmp_path / "cache"
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(cache))
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    data = CORPUS.encode()
    info = standard.STANDARD["tiny_shakespeare"]
    text = dataclasses.replace(info.files["text"], sha256=hashlib.sha256(data).hexdigest(),
                               urls=("http://127.0.0.1:9/input.txt",), size=len(data))
    monkeypatch.setitem(standard.STANDARD, "tiny_shakespeare", dataclasses.replace(info, files={"text": text}))
    (cache / "tiny_shakespeare").mkdir(parents=True)
    (cache / "tiny_shakespeare" / "input.txt").write_bytes(data)
    return "".join(sorted(set(CORPUS)))


TRAINING = {"recipe": "language_model", "dataset": {"name": "tiny_shakespeare", "block_size": T, "n": 512},
            "epochs": 4, "batch_size": 32, "lr": 0.003, "seed": 0, "options": {"sample_length": 20}}


def _imported(**config: object) -> tuple[gpt.GPT, Document]:
    torch.manual_seed(0)
    original = gpt.gpt_tiny(**config)  # vocab 64, block 16, 2 layers, 2 heads, n_embd 16
    return original, import_model(original, (T,), dtype="int64")


def _windows(vocab: str, n: int = 3) -> torch.Tensor:
    ids = torch.tensor([vocab.index(c) for c in CORPUS[: n * T]])
    return ids.view(n, T)


def _epochs(events: list) -> list[dict]:  # type: ignore[type-arg]
    errors = [e.data for e in events if e.kind == "error"]
    assert not errors, errors
    return [e.data for e in events if e.kind == "epoch"]


@pytest.mark.parametrize("flash", [True, False], ids=["sdpa", "masked softmax"])
def test_imported_gpt_trains_on_the_next_token_and_loads_into_the_original_class(
        tmp_path: Path, shakespeare: str, flash: bool) -> None:
    _, doc = _imported(flash=flash)
    assert [n.type for n in doc.main.nodes][-3:] == ["Index", "Linear", "Output"]  # x[:, [-1], :] -> lm_head
    doc.training = dict(TRAINING)
    trainer = Trainer(doc, save=tmp_path / "run")
    events = list(trainer.run())
    epochs = _epochs(events)
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] - 0.3  # it learns
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    (start,) = [e.data for e in events if e.kind == "start"]
    assert any("outputs the last position only" in n and "remove node 'getitem'" in n for n in start["notes"])
    # a prompt shorter than the fixed context of 8 is padded on the left with spaces
    recipe = trainer.recipe
    recipe.prompt = "All"
    seen: list[torch.Tensor] = []
    forward = recipe._forward
    recipe._forward = lambda ids: (seen.append(ids), forward(ids))[1]  # type: ignore[method-assign]
    with torch.no_grad():
        prompt, text = recipe.generate(4)
    assert prompt == "All" and len(text) == 4
    assert recipe.decode(seen[0][0].tolist()) == "     All" and all(ids.shape == (1, T) for ids in seen)

    from safetensors import safe_open

    with safe_open(str(tmp_path / "run" / "weights.safetensors"), "pt") as f:  # the tied head saved once
        assert "transformer.wte.weight" in f.keys() and "lm_head.weight" not in f.keys()  # noqa: SIM118
        assert json.loads(f.metadata()["netwright.tied"]) == {"lm_head.weight": "transformer.wte.weight"}
    trained = load_run(tmp_path / "run").weights[doc.main.name]  # weights.safetensors, both names
    original = gpt.gpt_tiny(flash=flash)
    original.load_state_dict(trained, strict=True)  # the original class, the original keys
    assert original.lm_head.weight is original.transformer.wte.weight  # still tied
    rebuilt = CompiledDocument(doc).build()
    rebuilt.load_state_dict(trained, strict=True)
    idx = _windows(shakespeare)
    with torch.no_grad():
        want, _ = original.eval()(idx)
        got = rebuilt.eval()(idx)
    assert want.shape == got.shape == (3, 1, 64)
    assert (want - got).abs().max().item() <= 1e-4


def test_without_the_last_position_index_it_trains_every_position_like_forward_with_targets(
        tmp_path: Path, shakespeare: str) -> None:
    original, doc = _imported()
    net = doc.main
    (index,) = [n for n in net.nodes if n.type == "Index"]
    (into,), (out_of,) = net.in_edges(index.id), net.out_edges(index.id)
    net.nodes.remove(index)  # what a user does on the canvas: delete the node, reconnect
    net.edges = [e for e in net.edges if index.id not in (e.src, e.dst)] + [Edge(into.src, out_of.dst,
                                                                                  into.src_port, out_of.dst_port)]
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(original.state_dict(), strict=True)
    idx = _windows(shakespeare)
    with torch.no_grad():
        logits, _ = original.eval()(idx, targets=idx)  # the training branch: every position
        assert (rebuilt(idx) - logits).abs().max().item() <= 1e-4

    # A prompt shorter than the context: the graph's code fixes T (its reshapes were traced
    # at T), so generation pads the prompt to a full window.
    doc.training = {**TRAINING, "epochs": 2, "options": {"sample_length": 20, "prompt": "Fir"}}
    events = list(Trainer(doc, save=tmp_path / "run").run())
    epochs = _epochs(events)
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    (start,) = [e.data for e in events if e.kind == "start"]
    assert not any("last position" in n for n in start["notes"])
    texts = [t for e in events if e.kind == "sample" for t in e.data["text"]]
    assert texts and all(t.startswith("Fir") and len(t) > len("Fir") for t in texts)
    gpt.gpt_tiny().load_state_dict(load_run(tmp_path / "run").weights[doc.main.name], strict=True)


def test_netwright_train_and_sample_an_imported_gpt(tmp_path: Path, shakespeare: str, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(TESTS)
    graph = tmp_path / "gpt.json"
    assert cli_main(["import", "models.zoo:gpt_tiny", "--input-shape", str(T), "--dtype", "int64",
                     "-o", str(graph)]) == 0
    raw = json.loads(graph.read_text())
    raw["training"] = {**TRAINING, "epochs": 2}  # what a user adds to the file (or sets in the app)
    graph.write_text(json.dumps(raw))
    assert cli_main(["train", str(graph), "--save", str(tmp_path / "run")]) == 0
    said = capsys.readouterr()
    assert "outputs the last position only" in said.out + said.err

    history = json.loads((tmp_path / "run" / "run.json").read_text())["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    from safetensors.torch import load_model

    original = gpt.gpt_tiny()
    load_model(original, str(tmp_path / "run" / "weights.safetensors"), strict=True)  # what other tools do
    rebuilt = CompiledDocument(document.load(graph)).build().eval()
    rebuilt.load_state_dict(original.state_dict(), strict=True)
    idx = _windows(shakespeare)
    with torch.no_grad():
        assert (original.eval()(idx)[0] - rebuilt(idx)).abs().max().item() <= 1e-4

    # a prompt shorter than the graph's fixed context of 8 tokens is padded on the left
    assert cli_main(["sample", "--weights", str(tmp_path / "run"), "-n", "12", "--prompt", "Fir",
                     "--temperature", "0"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("Fir") and len(text) == 3 + 12 and set(text) <= set(shakespeare)


def test_the_app_trains_an_imported_gpt_and_saves_weights_the_original_class_loads(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    from designer.model import DocumentModel
    from designer.training.dashboard import TrainingDashboard
    from designer.training.run_history import RunHistory

    _, doc = _imported(vocab_size=96)  # Python's help text, the built-in "chars" set, has < 96 characters
    doc.training = {"recipe": "language_model", "epochs": 2, "batch_size": 32, "lr": 0.003,
                    "dataset": {"name": "chars", "block_size": T, "n": 256, "max_chars": 20000},
                    "options": {"sample_length": 10}}
    dash = TrainingDashboard(DocumentModel(doc, path=str(tmp_path / "gpt.json")), RunHistory(tmp_path / "runs"))
    qtbot.addWidget(dash)
    try:
        with qtbot.waitSignal(dash.runFinished, timeout=120_000) as done:
            qtbot.mouseClick(dash.run_button, Qt.MouseButton.LeftButton)
        assert done.args == ["completed"], dash.last_error
        notes = dash.status.notes_label  # the start event's notes, under the status line
        assert not notes.isHidden() and "outputs the last position only" in notes.text()
        folder = dash.save_weights(str(tmp_path / "saved"))
        assert folder
    finally:
        assert dash.shutdown(10_000)
    from safetensors.torch import load_model

    original = gpt.gpt_tiny(vocab_size=96)
    load_model(original, str(Path(folder) / "weights.safetensors"), strict=True)
    idx = torch.randint(0, 96, (2, T))
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(original.state_dict(), strict=True)
    with torch.no_grad():
        assert (original.eval()(idx)[0] - rebuilt(idx)).abs().max().item() <= 1e-4


def test_the_exported_training_script_trains_an_imported_gpt_as_the_app_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import runpy
    import sys

    from graph_compiler.interop.script_export import generate_script

    _, doc = _imported(vocab_size=96)
    doc.training = {"recipe": "language_model", "epochs": 2, "batch_size": 32, "lr": 0.003, "seed": 0,
                    "dataset": {"name": "chars", "block_size": T, "n": 256, "max_chars": 20000}}
    engine = [e.data for e in Trainer(doc).run() if e.kind == "epoch"]
    script = tmp_path / "train.py"
    script.write_text(generate_script(doc))
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    rows = [dict(zip(parts[2::2], map(float, parts[3::2]))) for parts in lines]
    assert len(rows) == 2
    for ours, theirs in zip(rows, engine):  # one target per window, in both
        assert ours["val_loss"] == pytest.approx(theirs["val_loss"], abs=2e-4)
        assert ours["val_accuracy"] == pytest.approx(theirs["val_accuracy"], abs=2e-4)
    from safetensors.torch import load_model

    original = gpt.gpt_tiny(vocab_size=96)
    load_model(original, str(tmp_path / "out" / "weights.safetensors"), strict=True)  # stored once, tied
    assert original.lm_head.weight is original.transformer.wte.weight
