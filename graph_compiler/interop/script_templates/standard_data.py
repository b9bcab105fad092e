"""Template: the standard datasets (mnist, fashion_mnist, kmnist, cifar10, cifar100,
tiny_shakespeare) as a training script fetches them.

Same files, same pinned sha256 (DATA_FILES, written by the exporter from
graph_compiler.data.standard), same cache folder and settings (NETWRIGHT_DATA_DIR,
NETWRIGHT_DATA_MIRROR) and same decoding as Netwright, with the standard library and
numpy only. CIFAR comes from its binary distribution; nothing is unpickled.
Lines stay within 88 columns: the copied text must pass ``ruff format --check``.
"""
# ruff: noqa: F821 - DATA_FILES comes from the generated script.

import gzip
import hashlib
import os
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch


def data_cache() -> Path:
    """$NETWRIGHT_DATA_DIR, else the per-user cache Netwright uses on this platform."""
    if os.environ.get("NETWRIGHT_DATA_DIR"):
        return Path(os.environ["NETWRIGHT_DATA_DIR"]).expanduser()
    home = Path.home()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        return base / "netwright" / "Cache" / "datasets"
    if os.uname().sysname == "Darwin":
        return home / "Library" / "Caches" / "netwright" / "datasets"
    base = Path(os.environ.get("XDG_CACHE_HOME", home / ".cache"))
    return base / "netwright" / "datasets"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_file(group: str, name: str, sha256: str, urls: list) -> Path:
    """The cached file, downloaded (and checked) on first use; a file that fails its
    checksum is deleted, never used."""
    target = data_cache() / group / name
    if target.is_file() and file_sha256(target) == sha256:
        return target
    mirror = os.environ.get("NETWRIGHT_DATA_MIRROR", "").strip()
    if mirror:
        urls = [mirror.rstrip("/") + f"/{group}/{name}"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    failures = []
    for url in urls:
        try:
            print(f"downloading {url}")
            urllib.request.urlretrieve(url, partial)
            got = file_sha256(partial)
            if got == sha256:
                os.replace(partial, target)
                return target
            failures.append(f"{url}: sha256 {got}, expected {sha256}")
        except OSError as exc:
            failures.append(f"{url}: {exc}")
        partial.unlink(missing_ok=True)
    raise SystemExit(
        f"cannot download {group}/{name}: {'; '.join(failures)}. Copy the file "
        f"(sha256 {sha256}) to {target} or set NETWRIGHT_DATA_MIRROR."
    )


def fetch_role(group: str, role: str) -> Path:
    name, sha256, urls = DATA_FILES[role]
    return fetch_file(group, name, sha256, urls)


def read_idx_gz(path: Path) -> np.ndarray:
    """An IDX array (MNIST's format: big-endian sizes, uint8 data), gzip-compressed."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def pick(x: np.ndarray, y: np.ndarray, n: int | None, seed: int):
    """All samples in their shipped order, or a seeded random subset of n."""
    if n is None:
        return x, y
    index = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[index], y[index]


def load_idx_set(group: str, split: str = "train", n: int | None = None, seed: int = 0):
    """MNIST-format images [N, 1, 28, 28] in 0..1 and labels."""
    images = read_idx_gz(fetch_role(group, f"{split}_images"))
    labels = read_idx_gz(fetch_role(group, f"{split}_labels")).astype(np.int64)
    images, labels = pick(images, labels, n, seed)
    x = torch.from_numpy(np.array(images)).unsqueeze(1).float().div_(255.0)
    return x, torch.from_numpy(labels)


def load_cifar_set(
    group: str, split: str = "train", n: int | None = None, seed: int = 0
):
    """CIFAR binary records: label byte(s), then 3072 channel-major pixel bytes."""
    label_bytes = 2 if group == "cifar100" else 1  # CIFAR-100: (coarse, fine)
    with tarfile.open(fetch_role(group, "archive"), "r:gz") as archive:
        members = sorted(
            m.name
            for m in archive.getmembers()
            if m.name.endswith(".bin") and (("test" in m.name) == (split == "test"))
        )
        raw = b"".join(archive.extractfile(m).read() for m in members)
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, label_bytes + 3072)
    labels = table[:, label_bytes - 1].astype(np.int64)
    images = table[:, label_bytes:].reshape(-1, 3, 32, 32)
    images, labels = pick(images, labels, n, seed)
    x = torch.from_numpy(np.array(images)).float().div_(255.0)
    return x, torch.from_numpy(labels)


def load_text_windows(
    group: str,
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    block_size: int = 128,
):
    """Character windows of a text: vocabulary from the whole text, train = the first
    90% of the characters, test = the rest; y = x shifted by one character."""
    text = fetch_role(group, "text").read_text(encoding="utf-8")
    vocab = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    cut = int(len(ids) * 0.9)
    ids = ids[:cut] if split == "train" else ids[cut:]
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - block_size, size=n or 20_000)
    window = starts[:, None] + np.arange(block_size)[None, :]
    return torch.from_numpy(ids[window]), torch.from_numpy(ids[window + 1])
