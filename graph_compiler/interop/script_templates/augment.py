"""Template: applying training.augment to a batch in an exported script.

The operations themselves are graph_compiler/training/augment_ops.py, copied into the
script by the exporter (the same code the engine runs).
"""
# ruff: noqa: F821 - CONFIG, NUM_CLASSES, the aug_ operations... come from the script.

from torch.nn import functional as F


def augment_batch(batch, epoch: int, index: int, seed: int, normaliser: dict | None):
    """CONFIG["augment"] applied in order to a training batch (x, y)."""
    x, y = batch
    draw = AugmentDraw(seed, epoch, index, x.device)
    x = denormalise(x, normaliser)
    mixes = any(a["type"] in MIX_OPS for a in CONFIG["augment"])
    if mixes and not y.is_floating_point():
        y = F.one_hot(y, NUM_CLASSES).float()
    for entry in CONFIG["augment"]:
        params = {k: v for k, v in entry.items() if k != "type"}
        if entry["type"] in MIX_OPS:
            x, y = MIX_OPS[entry["type"]](x, y, params, draw)
        else:
            x = AUGMENT_OPS[entry["type"]](x, params, draw)
    return normalise(x, normaliser), y
