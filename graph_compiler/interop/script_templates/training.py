"""Template: the recipe-independent half of an exported training script.

Copied verbatim into the script (only the definitions it uses), after the model code,
the settings (CONFIG, MAIN, NORMALIZE, OUT_DIR, ...), the data section and one recipe
template, which supplies build_networks / make_optimizers / train_step / eval_step.
It mirrors graph_compiler.training.engine: the same split, normalisation, batch order
and learning-rate curve, so a one-process run matches a run in the app.

Distributed training: torchrun sets RANK / WORLD_SIZE / LOCAL_RANK. Every process
loads the data and takes its shard of one seeded permutation per epoch; gradients are
averaged by DistributedDataParallel; metrics are summed with all_reduce; only rank 0
logs and writes checkpoints. At the end every process waits for rank 0's last save
and leaves together (leave_distributed); when one process fails it says so and ends at
once, and the others follow (torchrun stops them, or they give up after --timeout).
Lines stay within 88 columns (ruff's default).
"""
# ruff: noqa: F821 - CONFIG, MAIN, load_data, the recipe's functions... are defined by
# the other parts of the generated script.

import argparse
import json
import os
import platform
import random
import sys
import traceback
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument(
        "--batch-size",
        type=int,
        default=CONFIG["batch_size"],
        help="samples per step in each process",
    )
    parser.add_argument("--lr", type=float, default=CONFIG["lr"])
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    parser.add_argument("--out", default=OUT_DIR, help="checkpoint folder")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds a process waits for the others (torchrun runs) before giving up",
    )
    return parser.parse_args()


def setup_distributed(
    device_name: str, timeout: float
) -> tuple[int, int, torch.device]:
    """(rank, world size, device). A plain `python train.py` is a world of one and
    never starts torch.distributed; torchrun sets RANK, WORLD_SIZE and LOCAL_RANK."""
    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    # One GPU per process: LOCAL_RANK picks it.
    device = torch.device("cuda", local_rank) if device_name == "cuda" else None
    device = device or torch.device(device_name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    return rank, world_size, device


def leave_distributed() -> None:
    """The end of a torchrun process: wait until every process is done (rank 0 may
    still be saving), then leave without Python's interpreter shutdown. gloo's worker
    threads can still be releasing the last collective's tensors; one that needs the
    GIL while the interpreter shuts down aborts the process ("terminate called without
    an active exception"), so torchrun would report a failure after a good run."""
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def leave_after_failure(rank: int, error: Exception, timeout: float) -> None:
    """One process failed: name it and the cause, and end it at once. Its peers see it
    go and stop too; torchrun ends them as well, and a process that hears nothing gives
    up after --timeout seconds. A normal exit could hang in a pending collective."""
    text = str(error).strip()
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        why = f"no word from the other processes in {timeout:g} s (one failed or hangs)"
    elif "closed by peer" in lowered or "reset by peer" in lowered:
        why = "another process left the run (it failed or was stopped)"
    else:  # this process's own error: its traceback is the one to read
        traceback.print_exc()
        why = f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"
    print(f"rank {rank} failed: {why}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def split(x: torch.Tensor, y: torch.Tensor | None, fraction: float, seed: int):
    """(train, validation) after a seeded shuffle; validation is None for fraction 0."""
    if fraction <= 0:
        return (x, y), None
    n_val = min(max(1, round(len(x) * fraction)), len(x) - 1)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    train, val = order[n_val:], order[:n_val]
    return (x[train], take(y, train)), (x[val], take(y, val))


def take(t: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor | None:
    return None if t is None else t[index]


def to_device(data, device: torch.device):
    # Data that fits in memory lives on the device: batches are slices, no DataLoader.
    return tuple(None if t is None else t.to(device) for t in data)


def fit_normaliser(x: torch.Tensor) -> dict | None:
    """Mean and std of the training features: per feature for [N, D] data, per channel
    for images [N, C, H, W] (NORMALIZE "channels"); None when NORMALIZE is "none"."""
    mode = NORMALIZE
    if mode == "auto":
        if not torch.is_floating_point(x) or x.ndim < 2:
            return None
        mode = "channels" if x.ndim >= 4 else "features"
    if mode == "none":
        return None
    data = x.double()
    if mode == "channels" and x.ndim >= 3:
        dims = [d for d in range(x.ndim) if d != 1]
        shape = [x.shape[1]] + [1] * (x.ndim - 2)
    else:
        dims, shape = [0], list(x.shape[1:])
    mean = data.mean(dim=dims)
    std = data.std(dim=dims, unbiased=False)
    # A constant feature has std 0; dividing by 1 leaves it centred instead of NaN.
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return {
        "mean": mean.reshape(-1).tolist(),
        "std": std.reshape(-1).tolist(),
        "shape": shape,
    }


def normalise(x: torch.Tensor, normaliser: dict | None) -> torch.Tensor:
    """(x - mean) / std with the training split's statistics."""
    if normaliser is None:
        return x
    view = [1, *normaliser["shape"]]
    mean = torch.tensor(normaliser["mean"], dtype=torch.float32).view(view)
    std = torch.tensor(normaliser["std"], dtype=torch.float32).view(view)
    return (x - mean) / std


def denormalise(x: torch.Tensor, normaliser: dict | None) -> torch.Tensor:
    """Back from normalised units to the data's own (for generated samples)."""
    if normaliser is None:
        return x
    view = [1, *normaliser["shape"]]
    mean = torch.tensor(normaliser["mean"], dtype=x.dtype, device=x.device)
    std = torch.tensor(normaliser["std"], dtype=x.dtype, device=x.device)
    return x * std.view(view) + mean.view(view)


def epoch_seed(seed: int, epoch: int) -> int:
    # Batch order depends only on (seed, epoch): every process draws the same one.
    return (seed * 0x9E3779B1 + epoch * 0x85EBCA77 + 0x165667B1) % (2**63 - 1)


def steps_per_epoch(n: int, batch_size: int) -> int:
    # A trailing batch of one sample is dropped: BatchNorm cannot train on it.
    return max(1, n // batch_size + (1 if n % batch_size > 1 else 0))


def train_batches(data, epoch: int, seed: int, batch_size: int, rank: int, world: int):
    """This process's batches for one epoch: its equal shard of a permutation that
    every process draws alike, sliced from tensors already on the device."""
    n = len(data[0]) // world
    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    order = torch.randperm(len(data[0]), generator=generator)
    mine = order[rank * n : (rank + 1) * n].to(data[0].device)
    for i in range(steps_per_epoch(n, batch_size)):
        index = mine[i * batch_size : (i + 1) * batch_size]
        yield tuple(None if t is None else t.index_select(0, index) for t in data)


def eval_batches(data, batch_size: int, rank: int, world: int):
    """Consecutive batches of this process's contiguous part of the validation set."""
    mine = [None if t is None else t.tensor_split(world)[rank] for t in data]
    for start in range(0, len(mine[0]), batch_size):
        yield tuple(None if t is None else t[start : start + batch_size] for t in mine)


def average(sums: dict, count: int, world: int, device: torch.device) -> dict:
    """Per-sample means over every process: one all_reduce for all the sums."""
    keys = sorted(sums, key=lambda k: (k != "loss", k))  # loss first, as printed
    values = torch.zeros(len(keys) + 1, device=device)
    for i, key in enumerate(keys):
        values[i] = sums[key]
    values[-1] = count
    if world > 1:
        dist.all_reduce(values)
    return {k: float(v / values[-1].clamp(min=1)) for k, v in zip(keys, values)}


def accumulate(sums: dict[str, torch.Tensor], stats: dict, n: int) -> None:
    # Kept as tensors on the device: no GPU sync per step, only when the epoch is reported.
    for key, value in stats.items():
        value = torch.as_tensor(value).detach().float() * n
        sums[key] = sums[key] + value if key in sums else value


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    """zero_grad, backward, optional gradient clipping (CONFIG grad_clip), step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if CONFIG["grad_clip"]:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        nn.utils.clip_grad_norm_(params, CONFIG["grad_clip"])
    optimizer.step()


def set_learning_rates(optimizers, base_lrs, step: int, total: int, per_epoch: int):
    for optimizer, bases in zip(optimizers.values(), base_lrs):
        for group, base in zip(optimizer.param_groups, bases):
            group["lr"] = lr_at(base, step, total, per_epoch)


RESERVED = {"weights", "optimizer", "run"}


def safe_filename(network: str) -> str:
    """weights.safetensors holds the main network; the others get their own file."""
    if network == MAIN:
        return "weights.safetensors"
    stem = "".join(c if c.isalnum() or c in "_.-" else "_" for c in network)
    stem = stem.strip("._") or "network"
    return (
        f"net_{stem}.safetensors" if stem.lower() in RESERVED else f"{stem}.safetensors"
    )


def write_atomic(path: Path, data: bytes) -> None:
    # Write then rename, so a crash never leaves a truncated file.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def split_tied(state):
    """Each tensor once, as a CPU copy, and {other name: stored name} for a tied weight.

    A tied weight (one tensor under two names, such as a language model's embedding and
    output head) would be written twice; safetensors refuses shared storage anyway.
    Netwright's loader reads the names back from the "netwright.tied" metadata."""
    tensors, tied, seen = {}, {}, {}
    for key, value in state.items():
        v = value.detach()
        sig = (
            v.untyped_storage().data_ptr(),
            v.storage_offset(),
            tuple(v.shape),
            tuple(v.stride()),
        )
        if v.numel() and sig in seen:
            tied[key] = seen[sig]
            continue
        seen[sig] = key
        tensors[key] = v.to("cpu", copy=True).contiguous()
    return tensors, tied


def save_checkpoint(out: Path, networks, epoch: int, history, normaliser) -> None:
    """A Netwright run folder: safetensors weights (never pickle) and run.json."""
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, module in networks.items():
        files[name] = safe_filename(name)
        state, tied = split_tied(module.state_dict())
        metadata = {"format": "pt", "network": name}
        if tied:
            metadata["netwright.tied"] = json.dumps(tied, sort_keys=True)
        tmp = out / f".{files[name]}.tmp"
        save_file(state, str(tmp), metadata=metadata)
        os.replace(tmp, out / files[name])
    run = {
        "format": "netwright-run",
        "version": 1,
        "main": MAIN,
        "networks": files,
        "optimizer": None,
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "recipe": CONFIG["recipe"],
        "epoch": epoch,
        "epochs": CONFIG["epochs"],
        "seed": CONFIG["seed"],
        "config": CONFIG,
        "normalizer": normaliser,
        "history": history,
        "dataset": {"spec": CONFIG["dataset"]},
        "trained_by": "exported script",
    }
    write_atomic(out / "run.json", (json.dumps(run, indent=2) + "\n").encode())


def main() -> None:
    args = parse_args()
    CONFIG.update(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    CONFIG.update(seed=args.seed)
    rank, world, device = setup_distributed(args.device, args.timeout)
    if world == 1:
        train(args, rank, world, device)
        return
    try:
        train(args, rank, world, device)
    except Exception as error:  # noqa: BLE001 - any failure must end every process
        leave_after_failure(rank, error, args.timeout)
    leave_distributed()


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device):
    """Every epoch, the checkpoints (rank 0) and what the recipe makes at the end."""
    seed_everything(args.seed)
    x, y = load_data()
    train, val = split(x, y, CONFIG["val_split"], args.seed)
    normaliser = fit_normaliser(train[0])
    train = to_device((normalise(train[0], normaliser), train[1]), device)
    if val is not None:
        val = to_device((normalise(val[0], normaliser), val[1]), device)

    seed_everything(args.seed)  # initial weights depend on the seed only
    networks = build_networks(device)
    optimizers = make_optimizers(networks, args.lr)
    base_lrs = [[g["lr"] for g in o.param_groups] for o in optimizers.values()]
    models = networks
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        models = {
            n: DistributedDataParallel(m, device_ids=ids) for n, m in networks.items()
        }
    batch_size = max(1, min(args.batch_size, len(train[0]) // world))
    per_epoch = steps_per_epoch(len(train[0]) // world, batch_size)
    total = args.epochs * per_epoch
    history = []
    out = Path(args.out)
    for epoch in range(1, args.epochs + 1):
        for module in networks.values():
            module.train()
        step = (epoch - 1) * per_epoch
        sums: dict[str, torch.Tensor] = {}
        count = 0
        batches = train_batches(train, epoch, args.seed, batch_size, rank, world)
        for index, batch in enumerate(batches):
            batch = augment_batch(batch, epoch, index, args.seed, normaliser)
            set_learning_rates(optimizers, base_lrs, step, total, per_epoch)
            progress = step / per_epoch  # epochs done, for warm-up schedules
            stats = train_step(models, optimizers, batch, progress)
            accumulate(sums, stats, len(batch[0]))
            count += len(batch[0])
            step += 1
        metrics = {
            f"train_{k}": v for k, v in average(sums, count, world, device).items()
        }
        if val is not None:
            for module in networks.values():
                module.eval()
            # Plain modules, not DDP wrappers: processes may see different batch counts.
            generator = torch.Generator().manual_seed(args.seed + 5)
            sums, count = {}, 0
            with torch.no_grad():
                for batch in eval_batches(val, batch_size, rank, world):
                    accumulate(
                        sums, eval_step(networks, batch, generator), len(batch[0])
                    )
                    count += len(batch[0])
            metrics.update(
                {f"val_{k}": v for k, v in average(sums, count, world, device).items()}
            )
        history.append({"epoch": epoch, **metrics})
        if rank == 0:
            print(
                f"epoch {epoch} " + " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            )
            save_checkpoint(out, networks, epoch, history, normaliser)
    if rank == 0:
        finish(networks, normaliser, out, device)
        print(f"saved {out / 'weights.safetensors'}")


if __name__ == "__main__":
    main()
