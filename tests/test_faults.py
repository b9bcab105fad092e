"""Fault guarantees, each checked so that losing it fails a test:

- kill -9 in the middle of a save leaves the old file whole (the compiler's save and the
  designer's QSaveFile save);
- an exception, a NaN and an out-of-memory error raised by a real layer of the graph
  while the app trains leave the app alive, show the error, and leave the document as
  it was;
- fuzzed documents never make `netwright validate`, `summary` or `export` print a
  traceback or an internal error.
"""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt

from designer.model import DocumentModel
from designer.training.dashboard import TrainingDashboard
from designer.training.run_history import RunHistory
from graph_compiler import document
from graph_compiler.catalog import REGISTRY
from graph_compiler.catalog.spec import NodeSpec, Param
from graph_compiler.catalog.support import SUPPORT
from graph_compiler.cli import main as cli_main
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.examples import example_names, example_path

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_MS = 60_000

# ---------------------------------------------------------------- kill -9 during a save

# The child saves two versions of a large document in turn, forever. Each differs only in
# a 24 MB string, so both files have the same size and a save takes a visible while.
_SAVER = r"""
import sys
from graph_compiler import document
how, target, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = document.load(target)
blobs = ["a" * size, "b" * size]
if how == "qt":
    from PySide6.QtCore import QCoreApplication
    from designer.model import DocumentModel
    app = QCoreApplication([])
    model = DocumentModel(doc, target)
print("ready", flush=True)
i = 1
while True:
    doc.meta["blob"] = blobs[i % 2]
    if how == "qt":
        model.save(target)
    else:
        document.save(doc, target)
    i += 1
"""
_BLOB = 24 << 20


def _small_doc() -> Document:
    nodes = [Node("x", "Input", {"shape": [4]}, (0.0, 0.0)), Node("fc", "Linear", {"out_features": 2}, (100.0, 0.0)),
             Node("out", "Output", {}, (200.0, 0.0))]
    return Document([Network("Net", nodes, [Edge("x", "fc"), Edge("fc", "out")])])


@pytest.mark.parametrize("how", ["compiler", "qt"])
def test_kill_9_during_a_save_leaves_the_old_file_whole(how: str, tmp_path: Path) -> None:
    target = tmp_path / "net.json"
    doc = _small_doc()
    doc.meta["blob"] = "a" * _BLOB
    document.save(doc, target)
    full = target.stat().st_size
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, "-c", _SAVER, how, str(target), str(_BLOB)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    caught = ""
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 120  # a guard: a save is caught within milliseconds
        while not caught and time.monotonic() < deadline and child.poll() is None:
            # A save in progress shows as a second file (the atomic writers' temp file)
            # or as a target of the wrong size (a writer that truncates in place).
            others = [e.name for e in os.scandir(tmp_path) if e.name != target.name]
            try:
                size = target.stat().st_size
            except FileNotFoundError:
                size = -1
            if others or size != full:
                os.kill(child.pid, signal.SIGKILL)
                caught = f"others={others} size={size}"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert caught, "never caught a save in progress: " + (child.stderr.read() if child.stderr else "")
    assert child.returncode == -signal.SIGKILL
    assert target.stat().st_size == full, caught
    blob = document.load(target).meta["blob"]
    assert blob in ("a" * _BLOB, "b" * _BLOB)  # one whole version, never a mix
    document.save(_small_doc(), target)  # a leftover temp file does not block the next save
    assert document.load(target).networks[0].name == "Net"


# ---------------------------------------------------------------- faults while training in the app

# A layer of the graph whose forward fails the way real code does, after a few good
# steps: raises, returns NaN, or runs out of memory.
_FAULTY = '''
class FaultyLayer(nn.Module):
    """Passes x through for `after` training steps, then fails with `fault`."""

    def __init__(self, fault: str = "error", after: int = 3) -> None:
        super().__init__()
        self.fault = fault
        self.after = after
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        self.calls += 1
        if self.calls <= self.after:
            return x
        if self.fault == "oom":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if self.fault == "nan":
            return x * float("nan")
        raise ValueError("FaultyLayer broke on purpose")
'''


@pytest.fixture
def faulty_layer() -> Iterator[None]:
    spec = NodeSpec("FaultyLayer", "Utility", "Fails after a few training steps (tests only).",
                    params=(Param("fault", "choice", "error", choices=("error", "nan", "oom")),
                            Param("after", "int", 3, min=0)),
                    module="FaultyLayer", support=("FaultyLayer",),
                    shape=lambda params, shapes: [shapes[0]], count=lambda params, ins, outs: (0, 0))
    SUPPORT["FaultyLayer"] = _FAULTY
    REGISTRY.add(spec)
    try:
        yield
    finally:
        del REGISTRY.specs["FaultyLayer"]
        del SUPPORT["FaultyLayer"]


def _faulty_doc(fault: str) -> Document:
    nodes = [Node("x", "Input", {"shape": [2]}, (0.0, 0.0)), Node("fc1", "Linear", {"out_features": 16}, (100.0, 0.0)),
             Node("faulty", "FaultyLayer", {"fault": fault}, (200.0, 0.0)),
             Node("fc2", "Linear", {"out_features": 2}, (300.0, 0.0)), Node("out", "Output", {}, (400.0, 0.0))]
    edges = [Edge("x", "fc1"), Edge("fc1", "faulty"), Edge("faulty", "fc2"), Edge("fc2", "out")]
    training = {"recipe": "classification", "dataset": {"name": "moons", "n": 400}, "epochs": 3,
                "batch_size": 32}
    return Document([Network("Faulty", nodes, edges)], training=training)


@pytest.mark.parametrize("fault, shown", [
    ("error", "the model failed at epoch 1, step 4: ValueError: FaultyLayer broke on purpose"),
    ("nan", "training diverged: the loss became nan"),
    ("oom", "ran out of memory at epoch 1, step 4"),
])
def test_a_failing_layer_is_an_error_message_and_the_app_and_document_live_on(
        qtbot: Any, tmp_path: Path, faulty_layer: None, fault: str, shown: str) -> None:
    path = tmp_path / "faulty.json"
    document.save(_faulty_doc(fault), path)
    model = DocumentModel(document.load(path), str(path))
    before = document.dumps(model.doc)
    dash = TrainingDashboard(model, RunHistory(tmp_path / "runs"))
    qtbot.addWidget(dash)
    dash.show()
    try:
        with qtbot.waitSignal(dash.runFinished, timeout=RUN_TIMEOUT_MS) as done:
            qtbot.mouseClick(dash.run_button, Qt.MouseButton.LeftButton)
        assert done.args == ["error"]
        assert not dash.error_label.isHidden() and shown in dash.error_label.text(), dash.error_label.text()
        # Advice in the app's own terms, not the command line's; the traceback on hover.
        assert "netwright validate" not in dash.error_label.text() and "--debug" not in dash.error_label.text()
        if fault == "error":
            assert "Diagnostics panel" in dash.error_label.text()
            assert "Traceback" in dash.error_label.toolTip() and "FaultyLayer" in dash.error_label.toolTip()
        assert dash.state == "error" and dash.run_thread is None
        assert dash.result is None and model.trained is None  # broken weights are not kept
        # The app lives on: the document is untouched, and the next run starts.
        assert document.dumps(model.doc) == before and not model.is_dirty()
        assert path.read_text(encoding="utf-8") == document.dumps(document.load(path))
        assert dash.run_action.isEnabled()
        with qtbot.waitSignal(dash.runStarted, timeout=RUN_TIMEOUT_MS):
            qtbot.mouseClick(dash.run_button, Qt.MouseButton.LeftButton)
        dash.stop()
        qtbot.waitUntil(lambda: dash.run_thread is None, timeout=RUN_TIMEOUT_MS)
    finally:
        assert dash.shutdown(10_000)


# ---------------------------------------------------------------- fuzzed documents at the command line

_EXAMPLES = {name: json.loads(example_path(name).read_text(encoding="utf-8")) for name in example_names()}
_leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True),
                  st.sampled_from(["", "x", "Linear", "Output", "../../etc/passwd", "0" * 300, "ü\u202e"]))
_json = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                     max_leaves=6)


def _containers(value: Any, out: list[Any]) -> list[Any]:
    if isinstance(value, (dict, list)):
        out.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            _containers(child, out)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_documents_never_crash_validate_summary_or_export(tmp_path_factory: pytest.TempPathFactory,
                                                                  data: st.DataObject) -> None:
    raw = json.loads(json.dumps(_EXAMPLES[data.draw(st.sampled_from(sorted(_EXAMPLES)))]))
    for _ in range(data.draw(st.integers(1, 4))):
        box = data.draw(st.sampled_from(_containers(raw, [])))
        if isinstance(box, dict) and box:
            key = data.draw(st.sampled_from(sorted(box)))
            if data.draw(st.booleans()):
                del box[key]
            else:
                box[key] = data.draw(_json)
        elif isinstance(box, list) and box:
            i = data.draw(st.integers(0, len(box) - 1))
            if data.draw(st.booleans()):
                box.pop(i)
            else:
                box[i] = data.draw(_json)
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    for args in (["validate", str(path)], ["summary", str(path)], ["summary", str(path), "--json"],
                 ["export", str(path), "-o", str(folder / "model.py")]):
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = cli_main(args)
        text = err.getvalue() + out.getvalue()
        assert code in (0, 1, 2), (args, text)
        assert "Traceback" not in text and "internal error" not in text, (args, text)


# ---------------------------------------------------------------- autosave: a crash costs at most 30 s


def test_autosave_runs_every_30_seconds_even_while_edits_keep_coming(qtbot: Any, tmp_path: Path) -> None:
    from designer.files import Autosaver

    model = DocumentModel()
    model.load(str(example_path("cnn_digits")))
    default = Autosaver(model, directory=tmp_path / "default")
    assert default.periodic.interval() == 30_000 and default.periodic.isActive()  # README: "every 30 seconds"
    default.close_session()
    # The periodic write is the safety net: it fires although the debounce never gets to.
    saver = Autosaver(model, directory=tmp_path / "rec", interval_ms=50, debounce_ms=3_600_000)
    model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    qtbot.waitUntil(saver.file.exists, timeout=10_000)
    saved = json.loads(saver.file.read_text(encoding="utf-8"))["document"]
    assert saved["networks"][0]["nodes"][1]["params"]["out_channels"] == 12
    saver.close_session()
