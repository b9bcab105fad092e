"""netwright import MODULE:ATTR --input-shape C,H,W -o FILE: a PyTorch model as a graph.

    netwright import models.py:Net --input-shape 1,28,28 -o net.json
    netwright import mypkg.models:build --input-shape 16 --dtype int64 -o lm.json --blocks
    netwright import models.py:Net --input-shape 1,28,28 -o net.json --save-weights run/

MODULE is a dotted module importable from the current directory or a path to a .py
file; ATTR an nn.Module instance, class or zero-argument factory. --input-shape (no
batch) is repeated for a forward() with several inputs. --save-weights writes the
model's current weights, renamed for the imported graph, as a run folder that
`netwright export --weights` reads.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from graph_compiler.cli import lists
from graph_compiler.errors import NetwrightError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="MODULE:ATTR", help="e.g. models.py:Net or mypkg.models:build_model")
    p.add_argument("--input-shape", action="append", required=True, metavar="C,H,W",
                   help="one sample's shape without the batch, e.g. 1,28,28 (repeat for several inputs)")
    p.add_argument("--dtype", action="append", choices=("float32", "int64"), metavar="float32|int64",
                   help="input dtype: int64 for token ids (repeat per input; default float32)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the graph file to write")
    p.add_argument("--blocks", action="store_true",
                   help="turn each custom sub-module class used 2+ times into one block network per "
                        "structure, the sizes that differ between uses becoming block parameters")
    p.add_argument("--name", metavar="NAME", help="name of the main network (default: the class name)")
    p.add_argument("--save-weights", metavar="DIR", help="also write the model's weights as DIR/weights.safetensors")


def run(args: argparse.Namespace) -> int:
    from graph_compiler import document
    from graph_compiler.interop.fx_import import import_model, load_model

    shapes = [lists.shape(s, "--input-shape") for s in args.input_shape]
    dtypes = args.dtype or ["float32"]
    if len(dtypes) == 1:
        dtypes = dtypes * len(shapes)
    if len(dtypes) != len(shapes):
        raise NetwrightError(f"give one --dtype per --input-shape ({len(shapes)}), or a single one for all")
    model, label = load_model(args.spec)
    doc = import_model(model, shapes, name=args.name or label, dtype=dtypes, blocks=args.blocks)
    doc.meta["import"]["source"] = args.spec
    try:
        document.save(doc, args.output)
    except OSError as exc:
        raise NetwrightError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    # The main network's nodes, then each block network's own (a block node counts once).
    blocks = [net for net in doc.networks if net is not doc.main]
    extra = ", blocks: " + ", ".join(f"{net.name} ({len(net.nodes)})" for net in blocks) if blocks else ""
    print(f"wrote {Path(args.output)} ({doc.main.name}: {len(doc.main.nodes)} nodes{extra}; "
          "outputs match the original model)")
    for note in doc.meta["import"].get("notes") or []:
        print(f"note: {note}")  # what the import assumed: shape asserts dropped, sizes fixed
    if args.save_weights:
        from graph_compiler.interop.fx_import import import_state_dict
        from graph_compiler.interop.weights import MAIN_WEIGHTS
        from graph_compiler.training.checkpoints import save_weights

        folder = Path(args.save_weights)
        folder.mkdir(parents=True, exist_ok=True)
        save_weights(folder / MAIN_WEIGHTS, import_state_dict(model, doc))
        print(f"wrote {folder / MAIN_WEIGHTS}")
    return 0
