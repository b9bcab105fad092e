"""Standard datasets and remote files, fetched from a local HTTP server started by each
test (127.0.0.1, a free port): download, checksum failure, truncated transfers, server
errors, re-fetch after an interruption, the offline message and cache reuse."""
from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fetch_server import FileServer, Route, cifar_binary_tar, mnist_like, sha256

from graph_compiler.data import fetch, standard
from graph_compiler.data.fetch import FetchError, RemoteFile
from graph_compiler.training.datasets import DatasetError, load_dataset, resolve_dataset


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(folder))
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    monkeypatch.setattr(fetch, "RETRIES", 0)  # retries wait 1 s each; tested on their own
    return folder


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, cache: Path) -> Iterator[FileServer]:
    srv = FileServer().start()
    monkeypatch.setenv(fetch.MIRROR_ENV, srv.url)
    yield srv
    srv.stop()


def _pin(monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, bytes]) -> None:
    """Point the registry entry `name` at test files (same names, their sha256)."""
    info = standard.STANDARD[name]
    pinned = {
        role: dataclasses.replace(f, sha256=sha256(files[f.name]), size=len(files[f.name]))
        for role, f in info.files.items()
    }
    monkeypatch.setitem(standard.STANDARD, name, dataclasses.replace(info, files=pinned))


def _serve_mnist(server: FileServer, monkeypatch: pytest.MonkeyPatch, name: str = "mnist") -> dict:
    files = mnist_like(n_train=40, n_test=12)
    for file_name, (_, data) in files.items():
        server.routes[f"/{name}/{file_name}"] = Route(data)
    _pin(monkeypatch, name, {k: v for k, (_, v) in files.items()})
    return files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ---------------------------------------------------------------- standard datasets


def test_mnist_downloads_verifies_and_reads_the_idx_files(server, monkeypatch, cache) -> None:
    files = _serve_mnist(server, monkeypatch)
    train = load_dataset("mnist")
    images, labels = files["train-images-idx3-ubyte.gz"][0], files["train-labels-idx1-ubyte.gz"][0]
    assert train.x.shape == (40, 1, 28, 28) and train.x.dtype == torch.float32
    assert torch.equal(train.x[:, 0], torch.from_numpy(images).float() / 255)
    assert torch.equal(train.y, torch.from_numpy(labels).long())
    assert train.classes == [str(d) for d in range(10)] and train.meta["split"] == "train"
    test = load_dataset("mnist", split="test", n=5, seed=1)
    assert test.x.shape == (5, 1, 28, 28) and test.meta["split"] == "test"
    assert (cache / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes() == files[
        "t10k-images-idx3-ubyte.gz"][1]
    assert standard.STANDARD["mnist"].cached()


def test_every_idx_set_reads_through_the_same_path(server, monkeypatch) -> None:
    for name in ("fashion_mnist", "kmnist"):
        _serve_mnist(server, monkeypatch, name)
        ds = resolve_dataset({"name": name, "split": "test"})
        assert ds.x.shape == (12, 1, 28, 28) and len(ds.classes) == 10
    assert load_dataset("fashion_mnist", n=3).classes[9] == "Ankle boot"


def test_cache_is_reused_with_the_server_stopped(server, monkeypatch) -> None:
    _serve_mnist(server, monkeypatch)
    first = load_dataset("mnist", split="test")
    asked = len(server.requests)
    server.stop()
    again = load_dataset("mnist", split="test")
    assert torch.equal(first.x, again.x) and len(server.requests) == asked == 2


def test_checksum_failure_deletes_the_download_and_says_so(server, monkeypatch, cache) -> None:
    _serve_mnist(server, monkeypatch)
    server.routes["/mnist/t10k-labels-idx1-ubyte.gz"] = Route(b"\x1f\x8b not what was pinned")
    with pytest.raises(FetchError) as err:
        load_dataset("mnist", split="test")
    text = str(err.value)
    assert "checksum" in text and "deleted" in text and "t10k-labels-idx1-ubyte.gz" in text
    assert server.url + "mnist/t10k-labels-idx1-ubyte.gz" in text
    assert sha256(b"\x1f\x8b not what was pinned") in text, "names the digest it got"
    assert "t10k-labels-idx1-ubyte.gz" not in _leftovers(cache)
    assert not [n for n in _leftovers(cache) if n.startswith("tmp")], "no temporary file left"


def test_truncated_download_is_not_kept(server, monkeypatch, cache) -> None:
    files = _serve_mnist(server, monkeypatch)
    full = files["t10k-images-idx3-ubyte.gz"][1]
    server.routes["/mnist/t10k-images-idx3-ubyte.gz"] = Route(full, send=len(full) // 2)
    with pytest.raises(FetchError) as err:
        load_dataset("mnist", split="test")
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)
    assert "cut short" in str(err.value) or "checksum" in str(err.value)
    assert "t10k-images-idx3-ubyte.gz" not in _leftovers(cache)


def test_server_error_is_named(server, monkeypatch) -> None:
    _serve_mnist(server, monkeypatch)
    server.routes["/mnist/train-images-idx3-ubyte.gz"] = Route(b"", status=503)
    with pytest.raises(FetchError, match=r"answered 503"):
        load_dataset("mnist")


def test_refetch_after_an_interrupted_download(server, monkeypatch, cache) -> None:
    files = _serve_mnist(server, monkeypatch)
    full = files["t10k-images-idx3-ubyte.gz"][1]
    # The first transfer breaks off; nothing is kept, and the next run downloads it whole.
    server.routes["/mnist/t10k-images-idx3-ubyte.gz"] = Route(full, send=100, times=1)
    with pytest.raises(FetchError):
        load_dataset("mnist", split="test")
    assert load_dataset("mnist", split="test").x.shape == (12, 1, 28, 28)
    assert (cache / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes() == full


def test_retries_recover_from_a_broken_transfer(server, monkeypatch, cache) -> None:
    files = _serve_mnist(server, monkeypatch)
    monkeypatch.setattr(fetch, "RETRIES", 1)
    full = files["t10k-labels-idx1-ubyte.gz"][1]
    server.routes["/mnist/t10k-labels-idx1-ubyte.gz"] = Route(full, send=10, times=1)
    assert len(load_dataset("mnist", split="test")) == 12
    assert server.requests.count("/mnist/t10k-labels-idx1-ubyte.gz") == 2


def test_offline_message_names_dataset_url_cache_path_and_mirror(server, monkeypatch, cache) -> None:
    _serve_mnist(server, monkeypatch)
    server.stop()
    with pytest.raises(FetchError) as err:
        load_dataset("mnist", split="test")
    text = str(err.value)
    assert "'mnist'" in text and "cannot connect" in text
    assert server_url_in(text)
    assert str(cache / "mnist" / "t10k-images-idx3-ubyte.gz") in text
    assert fetch.MIRROR_ENV in text


def server_url_in(text: str) -> bool:
    return "http://127.0.0.1:" in text and "/mnist/t10k-images-idx3-ubyte.gz" in text


def test_offline_without_mirror_lists_canonical_urls(cache, monkeypatch) -> None:
    # Canonical URLs rewritten to a closed local port: no request leaves this machine.
    info = standard.STANDARD["tiny_shakespeare"]
    text_file = info.files["text"]
    closed = FileServer().start()
    url = closed.url + "input.txt"
    closed.stop()
    monkeypatch.setitem(standard.STANDARD, "tiny_shakespeare", dataclasses.replace(
        info, files={"text": dataclasses.replace(text_file, urls=(url,))}))
    with pytest.raises(FetchError) as err:
        load_dataset("tiny_shakespeare")
    text = str(err.value)
    assert url in text and str(cache / "tiny_shakespeare" / "input.txt") in text
    assert f"set {fetch.MIRROR_ENV}=" in text and text_file.sha256 in text


def test_a_manually_copied_file_is_used_offline(cache, monkeypatch) -> None:
    corpus = ("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40).encode()
    info = standard.STANDARD["tiny_shakespeare"]
    monkeypatch.setitem(standard.STANDARD, "tiny_shakespeare", dataclasses.replace(
        info, files={"text": dataclasses.replace(info.files["text"], sha256=sha256(corpus),
                                                 urls=("http://127.0.0.1:9/input.txt",))}))
    (cache / "tiny_shakespeare").mkdir(parents=True)
    (cache / "tiny_shakespeare" / "input.txt").write_bytes(corpus)
    ds = load_dataset("tiny_shakespeare", n=30, block_size=16, seed=2)
    assert ds.x.shape == (30, 16) and ds.task == "language_model"
    assert torch.equal(ds.x[:, 1:], ds.y[:, :-1]), "y is x shifted by one character"
    vocab = ds.meta["vocab"]
    assert "".join(vocab[i] for i in ds.x[0].tolist()) in corpus.decode()
    test = load_dataset("tiny_shakespeare", n=5, block_size=16, split="test")
    assert test.meta["vocab"] == vocab, "both splits share one vocabulary"


def test_a_hand_copied_file_with_the_wrong_sha256_is_named_offline(cache, monkeypatch) -> None:
    corpus = b"the right text\n" * 50
    info = standard.STANDARD["tiny_shakespeare"]
    closed = FileServer().start()
    url = closed.url + "input.txt"
    closed.stop()
    monkeypatch.setitem(standard.STANDARD, "tiny_shakespeare", dataclasses.replace(
        info, files={"text": dataclasses.replace(info.files["text"], sha256=sha256(corpus), urls=(url,))}))
    copied = cache / "tiny_shakespeare" / "input.txt"
    copied.parent.mkdir(parents=True)
    other = b"another version\n"
    copied.write_bytes(other)
    with pytest.raises(FetchError) as err:
        load_dataset("tiny_shakespeare")
    text = str(err.value)
    assert f"The file at {copied} is not the expected one: its sha256 is {sha256(other)}" in text
    assert f"not {sha256(corpus)}" in text and url in text
    assert copied.read_bytes() == other  # the user's file is left alone
    online = FileServer().start()
    online.routes["/tiny_shakespeare/input.txt"] = Route(corpus)
    monkeypatch.setenv(fetch.MIRROR_ENV, online.url)
    try:
        assert len(load_dataset("tiny_shakespeare", n=4, block_size=8)) == 4
    finally:
        online.stop()
    assert copied.read_bytes() == corpus  # reachable: the right file replaced it


def test_data_dir_setting_moves_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert fetch.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(fetch.DATA_DIR_ENV)
    default = fetch.cache_dir()
    assert default.name == "datasets" and "netwright" in default.parts


def test_mirror_setting_must_be_a_url(monkeypatch) -> None:
    monkeypatch.setenv(fetch.MIRROR_ENV, "/mnt/share")
    with pytest.raises(FetchError, match=fetch.MIRROR_ENV):
        fetch.mirror()
    monkeypatch.setenv(fetch.MIRROR_ENV, "https://intranet/data")
    file = RemoteFile("a.csv", "0" * 64, ("https://example.org/a.csv",))
    assert fetch.urls_for("url-x", file) == ["https://intranet/data/url-x/a.csv"]


def test_split_option_is_checked(server, monkeypatch) -> None:
    _serve_mnist(server, monkeypatch)
    with pytest.raises(DatasetError, match="split"):
        load_dataset("mnist", split="validation")


# ---------------------------------------------------------------- CIFAR binary


def _cifar(name: str, n_train: int = 10, n_test: int = 4) -> tuple[bytes, dict, list[str]]:
    rng = np.random.default_rng(5)
    if name == "cifar10":
        members = {f"cifar-10-batches-bin/data_batch_{i}.bin": "train" for i in range(1, 6)}
        members["cifar-10-batches-bin/test_batch.bin"] = "test"
        names, names_member, label_bytes = (
            ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
            "cifar-10-batches-bin/batches.meta.txt", 1)
    else:
        members = {"cifar-100-binary/train.bin": "train", "cifar-100-binary/test.bin": "test"}
        names, names_member, label_bytes = ([f"class{i}" for i in range(100)],
                                            "cifar-100-binary/fine_label_names.txt", 2)
    count = {m: (n_train if s == "train" else n_test) for m, s in members.items()}
    images = {m: rng.integers(0, 256, (c, 3, 32, 32), dtype=np.uint8) for m, c in count.items()}
    labels = {m: rng.integers(0, len(names), c, dtype=np.uint8) for m, c in count.items()}
    data = cifar_binary_tar(images, labels, members, names, names_member, label_bytes)
    return data, {"images": images, "labels": labels, "members": members}, names


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_binary_archive_is_read_without_pickle(server, monkeypatch, cache, name) -> None:
    data, parts, names = _cifar(name)
    archive = standard.STANDARD[name].files["archive"].name
    server.routes[f"/{name}/{archive}"] = Route(data)
    _pin(monkeypatch, name, {archive: data})
    train = load_dataset(name)
    train_members = [m for m, s in parts["members"].items() if s == "train"]
    want_x = np.concatenate([parts["images"][m] for m in train_members])
    want_y = np.concatenate([parts["labels"][m] for m in train_members])
    assert train.x.shape == (len(want_x), 3, 32, 32) and train.classes == names
    assert torch.equal(train.x, torch.from_numpy(want_x).float() / 255), "channel-major RGB planes"
    assert torch.equal(train.y, torch.from_numpy(want_y).long()), "the fine label for CIFAR-100"
    # Decoded once: a second load reads the .npy cache, which matches.
    assert any(p.name.endswith("-x.npy") for p in (cache / name).iterdir())
    assert torch.equal(load_dataset(name).x, train.x)
    test = load_dataset(name, split="test")
    assert len(test) == 4


def test_cifar_python_version_is_refused(tmp_path) -> None:
    import tarfile

    bogus = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(bogus, "w:gz") as archive:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(DatasetError, match="binary version"):
        standard.read_cifar_archive("cifar10", bogus, "train")


# ---------------------------------------------------------------- the user's own URLs


def test_url_csv_with_sha256_and_target(server, cache) -> None:
    body = b"a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n"
    server.routes["/files/data.csv"] = Route(body)
    url = server.url + "files/data.csv"
    # The mirror only applies to standard datasets' layout; a user's URL is its own place.
    ds = resolve_dataset({"url": url, "sha256": sha256(body), "target": "label"})
    assert ds.x.shape == (3, 2) and ds.classes == ["cat", "dog"] and ds.y.tolist() == [0, 1, 0]
    assert ds.name == "data"


def test_url_needs_a_valid_sha256(server) -> None:
    url = server.url + "files/data.csv"
    with pytest.raises(DatasetError, match="needs 'sha256'"):
        resolve_dataset({"url": url, "target": "label"})
    with pytest.raises(DatasetError, match="64 hexadecimal"):
        resolve_dataset({"url": url, "sha256": "abc"})
    with pytest.raises(DatasetError, match="http"):
        resolve_dataset({"url": "file:///etc/passwd", "sha256": "0" * 64})
    with pytest.raises(DatasetError, match="not valid with a csv url"):
        resolve_dataset({"url": url, "sha256": "0" * 64, "size": 3})


def test_url_checksum_mismatch_names_the_url(server, cache) -> None:
    server.routes["/files/data.csv"] = Route(b"a,label\n1,x\n")
    url = server.url + "files/data.csv"
    with pytest.raises(FetchError) as err:
        resolve_dataset({"url": url, "sha256": "0" * 64, "target": "label"})
    assert url in str(err.value) and "checksum" in str(err.value)
    assert not any(p.endswith(".csv") for p in _leftovers(cache))


def test_url_npz_idx_and_image_archive(server, cache) -> None:
    from PIL import Image

    buf = io.BytesIO()
    np.savez(buf, x=np.arange(12, dtype=np.float32).reshape(4, 3), y=np.array([0, 1, 1, 0]))
    server.routes["/d/arrays.npz"] = Route(buf.getvalue())
    ds = resolve_dataset({"url": server.url + "d/arrays.npz", "sha256": sha256(buf.getvalue())})
    assert ds.x.shape == (4, 3) and ds.y.tolist() == [0, 1, 1, 0]

    files = mnist_like(6, 2)
    images, labels = files["train-images-idx3-ubyte.gz"][1], files["train-labels-idx1-ubyte.gz"][1]
    server.routes["/d/imgs-idx3-ubyte.gz"] = Route(images)
    server.routes["/d/labs-idx1-ubyte.gz"] = Route(labels)
    ds = resolve_dataset({"url": server.url + "d/imgs-idx3-ubyte.gz", "sha256": sha256(images),
                          "labels_url": server.url + "d/labs-idx1-ubyte.gz",
                          "labels_sha256": sha256(labels)})
    assert ds.x.shape == (6, 1, 28, 28) and ds.task == "classification"

    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as bundle:
        for label in ("cats", "dogs"):
            for i in range(2):
                png = io.BytesIO()
                Image.new("RGB", (5, 4), (i * 40, 10, 200)).save(png, format="PNG")
                bundle.writestr(f"pets/{label}/{i}.png", png.getvalue())
    server.routes["/d/pets.zip"] = Route(zipped.getvalue())
    spec = {"url": server.url + "d/pets.zip", "sha256": sha256(zipped.getvalue())}
    ds = resolve_dataset(spec)
    assert ds.x.shape == (4, 3, 4, 5) and ds.classes == ["cats", "dogs"]
    server.stop()
    assert torch.equal(resolve_dataset(spec).x, ds.x), "unpacked once, reused offline"


def test_zip_members_cannot_escape_the_cache(server, cache) -> None:
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as bundle:
        bundle.writestr("../../evil/a.png", b"x")
    server.routes["/d/evil.zip"] = Route(zipped.getvalue())
    with pytest.raises(DatasetError, match="escapes"):
        resolve_dataset({"url": server.url + "d/evil.zip", "sha256": sha256(zipped.getvalue())})
    assert not (cache.parent / "evil").exists()


# ---------------------------------------------------------------- netwright dataset


def test_cli_list_shows_size_licence_and_cached(server, monkeypatch, capsys) -> None:
    import json

    from graph_compiler.cli import main

    assert main(["dataset", "--list"]) == 0
    out = capsys.readouterr().out
    mnist_line = next(line for line in out.splitlines() if line.startswith("mnist "))
    assert "11.6 MB" in mnist_line and " no " in mnist_line and "CC BY-SA 3.0" in mnist_line
    assert str(fetch.cache_dir()) in out
    _serve_mnist(server, monkeypatch)
    assert main(["dataset", "--fetch", "mnist"]) == 0
    captured = capsys.readouterr()
    assert "mnist: ready in" in captured.out and "downloading 4 file(s)" in captured.err
    assert main(["dataset", "--list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mnist"]["cached"] is True and rows["cifar10"]["cached"] is False
    assert rows["cifar10"]["size_bytes"] == 170_052_171 and rows["moons"]["downloads"] is False


def test_cli_fetch_errors(server, monkeypatch, capsys) -> None:
    from graph_compiler.cli import main

    assert main(["dataset", "--fetch", "moons"]) == 1
    assert "not a downloadable dataset" in capsys.readouterr().err
    _serve_mnist(server, monkeypatch)
    server.routes["/mnist/train-labels-idx1-ubyte.gz"] = Route(b"", status=404)
    assert main(["dataset", "--fetch", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "404" in err and "Traceback" not in err and fetch.MIRROR_ENV in err


def test_url_image_folder_as_tar_gz(server, cache) -> None:
    import tarfile

    from PIL import Image

    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as bundle:
        for label in ("a", "b"):
            png = io.BytesIO()
            Image.new("L", (3, 3), 200).save(png, format="PNG")
            info = tarfile.TarInfo(f"set/{label}/0.png")
            info.size = len(png.getvalue())
            bundle.addfile(info, io.BytesIO(png.getvalue()))
    server.routes["/d/set.tar.gz"] = Route(packed.getvalue())
    ds = resolve_dataset({"url": server.url + "d/set.tar.gz", "sha256": sha256(packed.getvalue())})
    assert ds.classes == ["a", "b"] and ds.x.shape == (2, 3, 3, 3)


def test_svhn_is_not_offered() -> None:
    # Its files are MATLAB .mat files, which would need scipy.io.
    assert "svhn" not in standard.STANDARD


def test_cli_fetch_shows_a_progress_bar_on_a_terminal(server, monkeypatch) -> None:
    import sys

    from graph_compiler.cli import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    _serve_mnist(server, monkeypatch)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["dataset", "--fetch", "mnist"]) == 0
    text = terminal.getvalue()
    assert "100%" in text and "B/s" in text, text[-500:]
