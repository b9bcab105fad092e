"""Re-space the bundled examples with the canvas's own auto-layout (designer/layout.py).

    python scripts/relayout_examples.py [NAME ...]    # default: every graph_compiler/examples/*.json

Only the ``"pos"`` of each node changes, and it is changed in the file's text, in place:
everything else (params, the training section, the one-node-per-line formatting) stays
byte for byte, so a colleague editing another part of a file loses nothing. Each file is
read immediately before it is written, and the result is checked to parse to the same
JSON apart from the positions.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "graph_compiler" / "examples"
_NODE_LINE = re.compile(r'^(\s*\{"id": )("(?:[^"\\]|\\.)*")(.*"pos": )\[[^\]]*\](.*)$')
_NET_NAME = re.compile(r'^\s*"name": ("(?:[^"\\]|\\.)*"),?\s*$')


def planned_positions(raw: dict[str, Any]) -> dict[str, dict[str, tuple[int, int]]]:
    """{network: {node id: (x, y)}} as Auto-layout (Ctrl+L) on the canvas would place them."""
    from designer.model import DocumentModel
    from graph_compiler.document import from_dict

    model = DocumentModel(from_dict(raw))
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for net in model.doc.networks:
        model.auto_layout(net.name)  # the model plans with the canvas's node sizes
        nodes = model.doc.network(net.name).nodes
        # The layout centres each column on y = 0; shift so the first node (the input)
        # sits at the origin, as a person would start a graph.
        x0, y0 = nodes[0].pos if nodes else (0.0, 0.0)
        out[net.name] = {n.id: (round(n.pos[0] - x0), round(n.pos[1] - y0)) for n in nodes}
    model.deleteLater()
    return out


def rewrite(text: str, positions: dict[str, dict[str, tuple[int, int]]]) -> str:
    """``text`` with each node line's "pos" replaced; raises if the file's shape surprises us."""
    lines = text.splitlines(keepends=True)
    network: str | None = None
    last_name: str | None = None
    done = 0
    for i, line in enumerate(lines):
        m = _NET_NAME.match(line)
        if m:
            last_name = json.loads(m.group(1))
        if '"nodes": [' in line:
            network = last_name
        m = _NODE_LINE.match(line.rstrip("\n"))
        if m and network is not None:
            node_id = json.loads(m.group(2))
            x, y = positions[network][node_id]
            end = "\n" if line.endswith("\n") else ""
            lines[i] = f"{m.group(1)}{m.group(2)}{m.group(3)}[{x}, {y}]{m.group(4)}{end}"
            done += 1
    expected = sum(len(p) for p in positions.values())
    if done != expected:
        raise ValueError(f"found {done} node lines, expected {expected}")
    return "".join(lines)


def relayout(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")  # read right before writing: others edit these too
    raw = json.loads(text)
    new_text = rewrite(text, planned_positions(raw))
    new_raw = json.loads(new_text)
    for net in raw["networks"]:  # everything but "pos" must be untouched
        for node in net["nodes"]:
            node.pop("pos", None)
    for net in new_raw["networks"]:
        for node in net["nodes"]:
            node.pop("pos", None)
    if new_raw != raw:
        raise ValueError(f"{path.name}: rewriting positions changed something else")
    if new_text == text:
        return False
    if path.read_text(encoding="utf-8") != text:
        raise RuntimeError(f"{path.name} changed while it was being laid out; run again")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QCoreApplication

    _app = QCoreApplication.instance() or QCoreApplication([])
    names = argv or sorted(p.stem for p in EXAMPLES.glob("*.json"))
    for name in names:
        path = EXAMPLES / (name if name.endswith(".json") else f"{name}.json")
        print(f"{path.name}: {'re-spaced' if relayout(path) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
