"""The user's own remote data: ``"dataset": {"url": ..., "sha256": ..., <loader options>}``.

The file is fetched like a standard dataset (verified, cached under
``url-<sha256 prefix>``) and then read by the loader its format names: ``csv``, ``npz``,
``idx_images`` (labels from ``labels_url`` + ``labels_sha256``) or ``image_folder``
(a .zip / .tar.gz / .tgz / .tar archive of class folders, unpacked once into the cache).
Without ``format`` the file name decides: .csv / .tsv / .txt, .npz, .gz / .idx /
``*-ubyte``, and the archive suffixes.
"""
from __future__ import annotations

import pathlib
import shutil
import tarfile
import tempfile
import urllib.parse
import zipfile
from typing import Any

from graph_compiler.atomic import publish_folder
from graph_compiler.data import fetch
from graph_compiler.data.fetch import RemoteFile
from graph_compiler.training.datasets import Dataset, DatasetError

FORMATS = ("csv", "npz", "idx_images", "image_folder")
_ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
_OPTIONS: dict[str, tuple[str, ...]] = {
    "csv": ("target", "task", "missing", "delimiter", "categorical", "ignore", "header", "name"),
    "npz": ("x", "y", "task", "name"),
    "idx_images": ("labels_url", "labels_sha256", "name"),
    "image_folder": ("size", "grayscale", "name"),
}


def _file_name(url: str) -> str:
    name = pathlib.PurePosixPath(urllib.parse.urlparse(url).path).name
    return name if name not in ("", ".", "..") else "data"


def guess_format(url: str) -> str:
    name = _file_name(url).lower()
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(_ARCHIVES):
        return "image_folder"
    if name.endswith((".gz", ".idx")) or "-ubyte" in name:
        return "idx_images"
    raise DatasetError(
        f"dataset url {url!r}: cannot tell the format from the file name; add "
        f"\"format\": one of {', '.join(FORMATS)}"
    )


def remote_file(url: object, sha256: object, key: str = "url") -> RemoteFile:
    if not isinstance(url, str) or urllib.parse.urlparse(url).scheme not in (
        "http", "https", "ftp"
    ):
        raise DatasetError(f"dataset spec key {key!r} must be an http(s):// or ftp:// URL, got {url!r}")
    hash_key = "sha256" if key == "url" else "labels_sha256"
    if sha256 is None:
        raise DatasetError(
            f"dataset url {url!r} needs {hash_key!r}: the sha256 of the file, so that what is "
            "downloaded is checked before use (compute it with `sha256sum FILE`)"
        )
    if not fetch.is_sha256(sha256):
        raise DatasetError(
            f"dataset url {url!r}: {hash_key!r} must be 64 hexadecimal digits, got {sha256!r}"
        )
    assert isinstance(sha256, str)
    return RemoteFile(_file_name(url), sha256.lower(), (url,))


def group(file: RemoteFile) -> str:
    return f"url-{file.sha256[:16]}"


def load_url(spec: dict[str, Any], progress: bool | Any = False) -> Dataset:
    """Fetch and read the dataset a ``{"url": ...}`` spec describes."""
    from graph_compiler.training import loaders

    url = spec["url"]
    file = remote_file(url, spec.get("sha256"))
    kind = spec.get("format") or guess_format(url)
    if kind not in FORMATS:
        raise DatasetError(
            f"dataset url {url!r}: format {kind!r} is unknown; formats: {', '.join(FORMATS)}"
        )
    options = {k: v for k, v in spec.items() if k not in ("url", "sha256", "format")}
    for key in options:
        if key not in _OPTIONS[kind]:
            valid = ", ".join(repr(k) for k in ("sha256", "format", *_OPTIONS[kind]))
            raise DatasetError(
                f"dataset spec key {key!r} is not valid with a {kind} url; valid keys: {valid}"
            )
    path = fetch.fetch(group(file), file, progress=progress, what=url, use_mirror=False)
    options.setdefault("name", pathlib.PurePosixPath(file.name).name.split(".")[0] or "data")
    if kind == "csv":
        return loaders.load_csv(path, **options)
    if kind == "npz":
        return loaders.load_npz(path, **options)
    if kind == "idx_images":
        labels = None
        if "labels_url" in options:
            labels_file = remote_file(options.pop("labels_url"), options.pop("labels_sha256", None),
                                      key="labels_url")
            labels = fetch.fetch(group(labels_file), labels_file, progress=progress,
                                 what=labels_file.urls[0], use_mirror=False)
        elif "labels_sha256" in options:
            raise DatasetError(f"dataset url {url!r}: 'labels_sha256' needs 'labels_url'")
        return loaders.load_idx(path, labels, **options)
    return loaders.load_image_folder(unpacked(path, url), **options)


def unpacked(archive: pathlib.Path, url: str) -> pathlib.Path:
    """The folder an image archive unpacks to (once; written to a temp folder, then
    renamed). A single top-level folder in the archive is the dataset root."""
    target = archive.with_name(archive.name + ".d")
    if not target.is_dir():
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=".unpack-", dir=archive.parent))
        try:
            _extract(archive, tmp, url)
            publish_folder(tmp, target)
        except OSError as exc:
            raise DatasetError(
                f"dataset url {url!r}: cannot unpack {archive} into {target} ({exc.strerror or exc})"
            ) from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    entries = [p for p in target.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() and any(
        p.is_dir() for p in entries[0].iterdir()) else target


def _extract(archive: pathlib.Path, into: pathlib.Path, url: str) -> None:
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as bundle:
                root = into.resolve()
                for member in bundle.namelist():
                    if not (root / member).resolve().is_relative_to(root):
                        raise DatasetError(f"dataset url {url!r}: archive member {member!r} escapes its folder")
                bundle.extractall(into)
        else:
            with tarfile.open(archive) as bundle:
                # The "data" filter refuses absolute paths, links out of the folder and
                # special files: an archive from the internet cannot write elsewhere.
                bundle.extractall(into, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise DatasetError(f"dataset url {url!r}: {archive.name} is not a readable archive ({exc})") from None


__all__ = ["FORMATS", "guess_format", "load_url", "remote_file", "unpacked"]
