"""`netwright export FILE --script`: a standalone training script (no Netwright inside)."""
from __future__ import annotations

import ast
import gzip
import json
import os
import re
import runpy
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from graph_compiler import examples
from graph_compiler.cli import main as cli_main
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import Document, Edge, Network, Node, save
from graph_compiler.interop.script_export import ScriptExportError, generate_script
from graph_compiler.interop.script_templates import builtin_data, file_data
from graph_compiler.training import loaders
from graph_compiler.training.datasets import list_datasets, load_dataset

VENV_BIN = Path(sys.executable).parent
EPOCH = re.compile(r"^epoch (\d+) (.*)$")


def mlp_doc(training: dict, name: str = "SpiralNet", inputs: int = 2, outputs: int = 3) -> Document:
    nodes = [Node("x", "Input", {"shape": [inputs]}), Node("fc1", "Linear", {"out_features": 32}),
             Node("act", "Tanh"), Node("fc2", "Linear", {"out_features": outputs}), Node("out", "Output")]
    edges = [Edge("x", "fc1"), Edge("fc1", "act"), Edge("act", "fc2"), Edge("fc2", "out")]
    return Document([Network(name, nodes, edges)], training=training)


SPIRALS = {"recipe": "classification", "dataset": {"name": "spirals", "arms": 3}, "epochs": 3,
           "batch_size": 64, "optimizer": "adam", "lr": 0.01}


def epochs(stdout: str) -> list[dict[str, float]]:
    rows = []
    for line in stdout.splitlines():
        m = EPOCH.match(line.strip())
        if m:
            values = m.group(2).split()
            rows.append({k: float(v) for k, v in zip(values[::2], values[1::2])})
    return rows


def check_run(stdout: str, out: Path, doc: Document, n_epochs: int) -> None:
    rows = epochs(stdout)
    assert len(rows) == n_epochs, stdout  # one line per epoch, printed by rank 0 only
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert {"val_loss", "val_accuracy"} <= set(rows[-1])
    model = CompiledDocument(doc).build()
    model.load_state_dict(load_file(str(out / "weights.safetensors")), strict=True)
    run = json.loads((out / "run.json").read_text())
    assert run["format"] == "netwright-run" and run["main"] == doc.main.name
    assert len(run["history"]) == n_epochs and run["config"]["recipe"] == "classification"


@pytest.fixture(scope="module")
def spiral_script(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Document]:
    folder = tmp_path_factory.mktemp("script")
    doc = mlp_doc(SPIRALS)
    save(doc, folder / "spirals.json")
    assert cli_main(["export", str(folder / "spirals.json"), "--script", "-o", str(folder / "train.py")]) == 0
    return folder / "train.py", doc


def test_script_never_imports_netwright(spiral_script: tuple[Path, Document]) -> None:
    tree = ast.parse(spiral_script[0].read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules <= {"argparse", "json", "math", "os", "platform", "random", "sys", "traceback",
                       "datetime", "pathlib", "numpy", "torch",
                       "safetensors", "sklearn", "pydoc_data", "csv", "gzip", "struct", "PIL"}


def test_script_trains_alone(spiral_script: tuple[Path, Document], tmp_path: Path) -> None:
    script, doc = spiral_script
    # graph_compiler blocked: the script must not need Netwright at all.
    blocker = ("import runpy, sys; sys.modules['graph_compiler'] = None; sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", blocker, str(script), "--epochs", "3", "--out", "ckpt"],
                         check=False, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    check_run(run.stdout, tmp_path / "ckpt", doc, 3)
    assert "epoch 1 train_loss" in run.stdout


def test_script_trains_under_torchrun_with_two_processes(spiral_script: tuple[Path, Document],
                                                         tmp_path: Path) -> None:
    script, doc = spiral_script
    torchrun = shutil.which("torchrun", path=str(VENV_BIN)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(script), "--epochs", "3",
                          "--out", str(tmp_path / "ddp")], check=False, cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    check_run(run.stdout, tmp_path / "ddp", doc, 3)


@pytest.fixture(scope="module")
def cnn_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's case: the CNN digits example exported as a training script."""
    folder = tmp_path_factory.mktemp("cnn")
    script = folder / "train_cnn.py"
    assert cli_main(["export", str(examples.example_path("cnn_digits")), "--script", "-o", str(script)]) == 0
    return script


def _torchrun(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    torchrun = shutil.which("torchrun", path=str(VENV_BIN)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # The timeout only guards against a hang; a run takes well under a minute.
    return subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(script), *args],
                          check=False, cwd=cwd, capture_output=True, text=True, timeout=400, env=env)


@pytest.mark.slow
def test_torchrun_exits_cleanly_five_times_in_a_row(cnn_script: Path, tmp_path: Path) -> None:
    """Each process used to abort now and then at exit ("terminate called without an
    active exception"): a gloo thread still releasing the last all_reduce's tensors
    needed the GIL while the interpreter shut down. The script now leaves before that."""
    for attempt in range(5):
        out = tmp_path / f"run{attempt}"
        run = _torchrun(cnn_script, "--epochs", "1", "--out", str(out), cwd=tmp_path)
        assert run.returncode == 0, f"attempt {attempt + 1}: " + run.stderr[-3000:]
        assert "terminate called" not in run.stderr
        assert (out / "weights.safetensors").is_file() and (out / "run.json").is_file()


@pytest.mark.slow
def test_a_failing_rank_names_itself_and_the_run_ends(spiral_script: tuple[Path, Document],
                                                     tmp_path: Path) -> None:
    """Only rank 0 writes checkpoints: an --out it cannot create fails rank 0 alone,
    after the first epoch, while rank 1 is already waiting in the next collective."""
    script, _doc = spiral_script
    (tmp_path / "a_file").write_text("not a folder")
    run = _torchrun(script, "--epochs", "50", "--out", str(tmp_path / "a_file" / "ckpt"), cwd=tmp_path)
    assert run.returncode != 0
    assert "rank 0 failed: NotADirectoryError" in run.stderr, run.stderr[-3000:]
    assert "terminate called" not in run.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_rank_that_hears_nothing_gives_up_after_the_timeout(spiral_script: tuple[Path, Document],
                                                              tmp_path: Path) -> None:
    """Without torchrun to end the others, a process whose peer hangs (here: stopped with
    SIGSTOP mid-run) must not wait forever: it gives up after --timeout seconds and says
    why."""
    import signal

    script, _doc = spiral_script
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    args = [sys.executable, str(script), "--epochs", "100000", "--timeout", "5", "--out", str(tmp_path / "o")]
    procs = [subprocess.Popen(args, cwd=tmp_path, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    rank0, rank1 = procs
    try:
        assert rank0.stdout is not None
        line = rank0.stdout.readline()  # rank 0 prints after every epoch
        assert line.startswith("epoch 1 "), line + rank0.stderr.read() if rank0.stderr else line
        rank0.send_signal(signal.SIGSTOP)
        _out, err = rank1.communicate(timeout=300)
        assert rank1.returncode == 1
        assert "rank 1 failed: no word from the other processes in 5 s" in err, err[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


# ---------------------------------------------------------------- lint


def _long_doc() -> Document:
    """Node ids and labels long enough to push generated lines past 88 columns."""
    doc = mlp_doc({"recipe": "regression", "dataset": "sine", "epochs": 2, "lr": 0.01,
                   "schedule": {"type": "cosine", "min_lr": 0.0001}}, name="Curve", inputs=1, outputs=1)
    net = doc.main
    net.nodes[1].id = "a_rather_long_first_layer_name_that_someone_typed_into_the_designer"
    net.nodes[1].label = "first hidden layer, the widest one"
    net.nodes[1].params = {"out_features": 32, "bias": False}
    for e in net.edges:
        e.src = net.nodes[1].id if e.src == "fc1" else e.src
        e.dst = net.nodes[1].id if e.dst == "fc1" else e.dst
    return doc


def test_every_script_passes_ruff(tmp_path: Path) -> None:
    ruff = shutil.which("ruff", path=str(VENV_BIN)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    docs = {name: examples.load_example(name) for name in examples.example_names()}
    docs["sine_long_lines"] = _long_doc()
    csv = {"csv": "data.csv", "target": "label", "missing": "drop", "categorical": ["colour"], "ignore": ["id"]}
    docs["csv_file"] = mlp_doc({"recipe": "classification", "dataset": csv,
                                "optimizer": "sgd", "lr": 0.1, "schedule": "onecycle"})
    docs["steps"] = mlp_doc({**SPIRALS, "optimizer": "rmsprop", "schedule": {"type": "step", "step_size": 2}})
    for name, doc in docs.items():
        (tmp_path / f"train_{name}.py").write_text(generate_script(doc))
    files = sorted(str(p) for p in tmp_path.glob("train_*.py"))
    # --isolated: ruff's defaults, as a user who drops the file into a new project gets.
    check = subprocess.run([ruff, "check", "--isolated", *files], check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([ruff, "format", "--isolated", "--check", "--diff", *files], check=False, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# ---------------------------------------------------------------- data and recipes


@pytest.mark.parametrize("info", [i for i in list_datasets() if not i.downloads], ids=lambda d: d.name)
def test_builtin_data_is_netwrights_data(info) -> None:  # type: ignore[no-untyped-def]
    options = {"chars": {"n": 50, "block_size": 16}, "spirals": {"arms": 3}, "moons": {"noise": 0.2}}.get(info.name, {})
    want = load_dataset(info.name, seed=3, **options)
    x, y = getattr(builtin_data, f"load_{info.name}")(seed=3, **options)
    assert torch.equal(x, want.x) and x.dtype == want.x.dtype
    assert torch.equal(y, want.y) and y.dtype == want.y.dtype


def test_file_loaders_read_files_as_netwright_does(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("size,colour,label\n1.5,red,cat\n2,blue,dog\n,red,cat\n3,green,bird\n")
    for kwargs in ({"target": "label", "missing": "drop"}, {"target": 0, "missing": "drop", "ignore": ["colour"]}):
        want = loaders.load_csv(tmp_path / "t.csv", **kwargs)
        x, y = file_data.load_csv(tmp_path / "t.csv", **kwargs)
        assert torch.equal(x, want.x) and torch.equal(y, want.y)
    np.savez(tmp_path / "a.npz", x=np.arange(12.0).reshape(4, 3), y=np.array([7, 3, 3, 7]))
    want = loaders.load_npz(tmp_path / "a.npz")
    x, y = file_data.load_npz(tmp_path / "a.npz")
    assert torch.equal(x, want.x) and torch.equal(y, want.y)
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "img.idx.gz").write_bytes(gzip.compress(b"\0\0\x08\x03" + struct.pack(">3I", 2, 3, 4) + images.tobytes()))
    (tmp_path / "lab.idx").write_bytes(b"\0\0\x08\x01" + struct.pack(">I", 2) + bytes([4, 1]))
    want = loaders.load_idx(tmp_path / "img.idx.gz", tmp_path / "lab.idx")
    x, y = file_data.load_idx(tmp_path / "img.idx.gz", tmp_path / "lab.idx")
    assert torch.equal(x, want.x) and torch.equal(y, want.y)
    from PIL import Image

    for cls, shade in (("a", 10), ("b", 200)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        Image.new("RGB", (5, 4), (shade, 0, 0)).save(tmp_path / "imgs" / cls / "1.png")
    want = loaders.load_image_folder(tmp_path / "imgs", size=[3, 3])
    x, y = file_data.load_image_folder(tmp_path / "imgs", size=[3, 3])
    assert torch.equal(x, want.x) and torch.equal(y, want.y)


def _small(name: str, options: dict | None = None, **dataset: object) -> Document:
    """An example with less data (and cheaper sampling), so an epoch takes a moment."""
    doc = examples.load_example(name)
    spec = doc.training["dataset"]
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    training = {**doc.training, "dataset": {**spec, **dataset}}
    training["options"] = {**training.get("options", {}), **(options or {})}
    doc.training = training
    return doc


RECIPES = {
    "autoencoder": lambda: _small("autoencoder_digits", n=200),
    "vae": lambda: _small("vae_digits", n=200),
    "gan": lambda: _small("gan_2d", n=256),
    "diffusion": lambda: _small("diffusion_2d", {"sample_steps": 5}, n=256),
    "gan r1": lambda: _small("gan_2d", {"r1_gamma": 1.0}, n=256),
    "sequence classification": lambda: _small("lstm_sequence", n=64),
    "language model": lambda: _small("transformer_chars", n=64),
    "regression": lambda: mlp_doc({"recipe": "regression", "dataset": {"name": "sine", "n": 256}, "lr": 0.01,
                                   "schedule": "cosine"}, inputs=1, outputs=1),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_trains_an_epoch(recipe: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    doc = RECIPES[recipe]()
    script = tmp_path / "train.py"
    script.write_text(generate_script(doc))
    monkeypatch.setattr(sys, "argv", [str(script), "--epochs", "2", "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    rows = epochs(capsys.readouterr().out)
    assert len(rows) == 2 and all(np.isfinite(v) for row in rows for v in row.values())
    assert "val_loss" in rows[-1]
    weights = load_file(str(tmp_path / "out" / "weights.safetensors"))
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    CompiledDocument(doc).build(run["main"]).load_state_dict(weights, strict=True)
    if recipe in ("gan", "gan r1", "diffusion", "vae"):
        samples = load_file(str(tmp_path / "out" / "samples.safetensors"))["samples"]
        assert samples.shape[0] == 1000 and torch.isfinite(samples).all()
    if recipe == "gan":
        assert set(run["networks"]) == {"Generator", "Discriminator"}


def test_one_process_run_matches_the_training_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Same split, normalisation, initial weights and batches: the same validation numbers."""
    from graph_compiler.training.engine import Trainer

    doc = mlp_doc({**SPIRALS, "epochs": 2})
    engine = [e.data for e in Trainer(doc).run() if e.kind == "epoch"]
    script = tmp_path / "train.py"
    script.write_text(generate_script(doc))
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    rows = epochs(capsys.readouterr().out)
    for ours, theirs in zip(rows, engine):
        metrics = theirs.get("metrics", theirs)
        assert ours["val_loss"] == pytest.approx(metrics["val_loss"], abs=2e-4)
        assert ours["val_accuracy"] == pytest.approx(metrics["val_accuracy"], abs=2e-4)


def test_documents_that_cannot_train_say_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ScriptExportError, match="training.dataset is not set"):
        generate_script(mlp_doc({"recipe": "classification"}))
    with pytest.raises(ScriptExportError, match="no option 'wiggle'"):
        generate_script(mlp_doc({"dataset": {"name": "spirals", "wiggle": 1}}))
    save(mlp_doc(SPIRALS), tmp_path / "s.json")
    assert cli_main(["export", str(tmp_path / "s.json"), "--script", "--weights", str(tmp_path)]) == 1
    assert "--weights applies to" in capsys.readouterr().err
