"""Standard datasets by name (mnist, fashion_mnist, kmnist, cifar10, cifar100,
tiny_shakespeare), downloaded once from their canonical locations and checked against
the sha256 pinned here.

Every digest below was taken from at least two independent public registries of the
same file (torchvision's Ruby port, TensorFlow Datasets' checksums and projects pinning
the same downloads); none was computed here. SVHN is left out: its files are MATLAB .mat
files that need scipy.io to read.

CIFAR is read from its *binary* distribution (records of label bytes + 3072 pixel
bytes), never from the Python one, which is a pickle. The decoded uint8 arrays are kept
next to the archive as .npy files, so the 170 MB archive is decompressed only once.
"""
from __future__ import annotations

import io
import pathlib
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graph_compiler.data import fetch
from graph_compiler.data.fetch import RemoteFile
from graph_compiler.training.text_datasets import char_windows
from graph_compiler.training.datasets import (
    Dataset,
    DatasetError,
    int_option,
    register_builtin,
    subsample,
)

SPLITS = ("train", "test")


@dataclass(frozen=True)
class StandardSet:
    name: str
    task: str
    description: str
    input_shape: tuple[int, ...]
    licence: str
    homepage: str
    files: dict[str, RemoteFile]

    @property
    def size(self) -> int:
        """Download size in bytes (files of unknown size count as 0)."""
        return sum(f.size or 0 for f in self.files.values())

    def cached(self) -> bool:
        return all(fetch.is_cached(self.name, f) for f in self.files.values())

    def fetch_all(self, progress: bool | Any = False) -> list[pathlib.Path]:
        return [fetch.fetch(self.name, f, progress=progress) for f in self.files.values()]


STANDARD: dict[str, StandardSet] = {}


def _idx_files(
    bases: tuple[str, ...], digests: tuple[str, str, str, str], sizes: tuple[int | None, ...]
) -> dict[str, RemoteFile]:
    names = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
    roles = ("train_images", "train_labels", "test_images", "test_labels")
    return {
        role: RemoteFile(name, digest, tuple(base + name for base in bases), size)
        for role, name, digest, size in zip(roles, names, digests, sizes)
    }


def _add(info: StandardSet, builder: Callable[..., Dataset]) -> None:
    STANDARD[info.name] = info
    register_builtin(info.name, info.task, info.description, info.input_shape, downloads=True)(builder)


def _split_option(name: str, split: object) -> str:
    if split not in SPLITS:
        raise DatasetError(
            f"dataset {name!r}: option 'split' must be one of {', '.join(SPLITS)}, got {split!r}"
        )
    return str(split)


# ---------------------------------------------------------------------------------------
# MNIST-format sets: four gzip'd IDX files.


def _idx_builder(name: str, classes: tuple[str, ...]) -> Callable[..., Dataset]:
    def build(n: int | None, seed: int, split: str = "train") -> Dataset:
        from graph_compiler.training.loaders import read_idx

        split = _split_option(name, split)
        info = STANDARD[name]
        images_path = fetch.fetch(name, info.files[f"{split}_images"])
        labels_path = fetch.fetch(name, info.files[f"{split}_labels"])
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(
                f"dataset {name!r}: {images_path} and {labels_path} do not hold matching "
                f"images [N, H, W] and labels [N] (got {images.shape} and {labels.shape})"
            )
        images, labels = subsample(name, images, labels, n, seed)
        return Dataset(
            name=name,
            x=torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).float().div_(255.0),
            y=torch.from_numpy(labels.astype(np.int64)),
            task="classification",
            classes=list(classes),
            meta={"image_shape": [1, *images.shape[1:]], "split": split, "source": str(images_path)},
        )

    return build


_DIGITS = tuple(str(d) for d in range(10))
_add(
    StandardSet(
        "mnist",
        "classification",
        "MNIST handwritten digits, 28x28 grey, 60,000 train / 10,000 test (split option)",
        (1, 28, 28),
        "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
        "http://yann.lecun.com/exdb/mnist/",
        _idx_files(
            (
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ),
            (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
            (9_912_422, 28_881, 1_648_877, 4_542),
        ),
    ),
    _idx_builder("mnist", _DIGITS),
)
_add(
    StandardSet(
        "fashion_mnist",
        "classification",
        "Fashion-MNIST clothing images, 28x28 grey, 10 classes, 60,000 / 10,000",
        (1, 28, 28),
        "MIT (Zalando SE)",
        "https://github.com/zalandoresearch/fashion-mnist",
        _idx_files(
            (
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            ),
            (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
            (26_421_880, 29_515, 4_422_102, 5_148),
        ),
    ),
    _idx_builder(
        "fashion_mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
)
_add(
    StandardSet(
        "kmnist",
        "classification",
        "Kuzushiji-MNIST cursive Japanese characters, 28x28 grey, 10 classes, 60,000 / 10,000",
        (1, 28, 28),
        "CC BY-SA 4.0 (ROIS-DS Center for Open Data in the Humanities)",
        "https://github.com/rois-codh/kmnist",
        _idx_files(
            ("https://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
            (
                "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
            ),
            (18_165_135, 29_497, 3_041_136, 5_120),
        ),
    ),
    _idx_builder("kmnist", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
)


# ---------------------------------------------------------------------------------------
# CIFAR binary version: a tar.gz of .bin files; each record is the label byte(s), then
# 1024 red, 1024 green and 1024 blue bytes of a 32x32 image.

_CIFAR_PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class _CifarLayout:
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_bytes: int  # CIFAR-100 records carry (coarse, fine); the fine label is used
    names_file: str


_CIFAR_LAYOUTS = {
    "cifar10": _CifarLayout(
        tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
        ("cifar-10-batches-bin/test_batch.bin",),
        1,
        "cifar-10-batches-bin/batches.meta.txt",
    ),
    "cifar100": _CifarLayout(
        ("cifar-100-binary/train.bin",),
        ("cifar-100-binary/test.bin",),
        2,
        "cifar-100-binary/fine_label_names.txt",
    ),
}


def read_cifar_archive(
    name: str, path: pathlib.Path, split: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """uint8 images [N, 3, 32, 32], int64 labels [N] and class names from a CIFAR binary
    tar.gz, without extracting anything to disk."""
    layout = _CIFAR_LAYOUTS[name]
    record = layout.label_bytes + _CIFAR_PIXELS
    where = f"dataset {name!r}: archive {path}"
    try:
        with tarfile.open(path, "r:gz") as archive:
            chunks = [_member_bytes(archive, member, where) for member in getattr(layout, split)]
            names_text = _member_bytes(archive, layout.names_file, where).decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{where} cannot be read ({exc})") from None
    raw = b"".join(chunks)
    if len(raw) % record:
        raise DatasetError(
            f"{where}: {split} data is {len(raw)} bytes, not a whole number of {record}-byte records"
        )
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    labels = table[:, layout.label_bytes - 1].astype(np.int64)
    images = table[:, layout.label_bytes:].reshape(-1, 3, 32, 32)
    classes = [line.strip() for line in names_text.splitlines() if line.strip()]
    if len(classes) <= int(labels.max(initial=0)):
        raise DatasetError(f"{where}: {layout.names_file} lists {len(classes)} classes, too few for its labels")
    return np.ascontiguousarray(images), labels, classes


def _member_bytes(archive: tarfile.TarFile, member: str, where: str) -> bytes:
    try:
        handle = archive.extractfile(member)
    except KeyError:
        raise DatasetError(f"{where} has no member {member!r}; is it the binary version?") from None
    if handle is None:
        raise DatasetError(f"{where}: member {member!r} is not a regular file")
    with handle:
        return handle.read()


def _cifar_arrays(name: str, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decoded arrays, cached as .npy beside the archive (written atomically)."""
    from graph_compiler.atomic import atomic_write

    archive = fetch.fetch(name, STANDARD[name].files["archive"])
    stem = archive.parent / f"{split}-{STANDARD[name].files['archive'].sha256[:12]}"
    paths = [stem.with_name(stem.name + suffix) for suffix in ("-x.npy", "-y.npy", "-classes.txt")]
    if all(p.is_file() for p in paths):
        try:
            images = np.load(paths[0], mmap_mode="r", allow_pickle=False)
            labels = np.load(paths[1], allow_pickle=False)
            classes = paths[2].read_text(encoding="utf-8").splitlines()
            if images.shape[1:] == (3, 32, 32) and len(images) == len(labels):
                return images, labels, classes
        except (OSError, ValueError):
            pass  # a damaged cache entry is rebuilt from the verified archive below
    images, labels, classes = read_cifar_archive(name, archive, split)
    try:
        for path, array in ((paths[0], images), (paths[1], labels)):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            atomic_write(path, buffer.getvalue())
        atomic_write(paths[2], "\n".join(classes).encode("utf-8"))
    except OSError as exc:
        raise DatasetError(
            f"dataset {name!r}: cannot write the decoded cache {paths[0]} ({exc.strerror or exc}); "
            f"free some space or point {fetch.DATA_DIR_ENV} elsewhere"
        ) from None
    return images, labels, classes


def _cifar_builder(name: str) -> Callable[..., Dataset]:
    def build(n: int | None, seed: int, split: str = "train") -> Dataset:
        split = _split_option(name, split)
        images, labels, classes = _cifar_arrays(name, split)
        images, labels = subsample(name, images, labels, n, seed)
        return Dataset(
            name=name,
            # A copy: the cached arrays are read-only memory maps.
            x=torch.from_numpy(np.array(images)).float().div_(255.0),
            y=torch.from_numpy(np.asarray(labels, dtype=np.int64)),
            task="classification",
            classes=classes,
            meta={"image_shape": [3, 32, 32], "split": split},
        )

    return build


_CIFAR_BASE = "https://www.cs.toronto.edu/~kriz/"
_add(
    StandardSet(
        "cifar10",
        "classification",
        "CIFAR-10 colour photos, 32x32 RGB, 10 classes, 50,000 train / 10,000 test",
        (3, 32, 32),
        "no licence stated; cite Krizhevsky 2009 (see homepage)",
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        {
            "archive": RemoteFile(
                "cifar-10-binary.tar.gz",
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                (_CIFAR_BASE + "cifar-10-binary.tar.gz",),
                170_052_171,
            )
        },
    ),
    _cifar_builder("cifar10"),
)
_add(
    StandardSet(
        "cifar100",
        "classification",
        "CIFAR-100 colour photos, 32x32 RGB, 100 fine classes, 50,000 / 10,000",
        (3, 32, 32),
        "no licence stated; cite Krizhevsky 2009 (see homepage)",
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        {
            "archive": RemoteFile(
                "cifar-100-binary.tar.gz",
                "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
                (_CIFAR_BASE + "cifar-100-binary.tar.gz",),
                168_513_733,
            )
        },
    ),
    _cifar_builder("cifar100"),
)


# ---------------------------------------------------------------------------------------
# Tiny Shakespeare: one text file; character windows like the built-in `chars` set.
# The vocabulary comes from the whole text so that both splits share it; "train" is the
# first 90% of the characters and "test" the last 10%.


def _shakespeare(
    n: int | None, seed: int, block_size: int = 128, split: str = "train"
) -> Dataset:
    name = "tiny_shakespeare"
    split = _split_option(name, split)
    block_size = int_option(name, "block_size", block_size, minimum=1, maximum=65536)
    path = fetch.fetch(name, STANDARD[name].files["text"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {name!r}: cannot read {path} ({exc})") from None
    vocab = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    cut = int(len(ids) * 0.9)
    ids = ids[:cut] if split == "train" else ids[cut:]
    if len(ids) <= block_size:
        raise DatasetError(
            f"dataset {name!r}: the {split} split has {len(ids)} characters, too few for "
            f"block_size {block_size}"
        )
    return char_windows(name, ids, vocab, block_size, n or 20_000, seed, corpus_chars=len(text), split=split)


_add(
    StandardSet(
        "tiny_shakespeare",
        "language_model",
        "Tiny Shakespeare (1.1 M characters) as character windows; y = next characters",
        (128,),
        "public-domain text, distributed with karpathy/char-rnn (MIT)",
        "https://github.com/karpathy/char-rnn",
        {
            "text": RemoteFile(
                "input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                (
                    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                    "tinyshakespeare/input.txt",
                ),
                1_115_394,
            )
        },
    ),
    _shakespeare,
)


__all__ = ["STANDARD", "SPLITS", "StandardSet", "read_cifar_archive"]
