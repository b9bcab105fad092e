"""Downloads verified by sha256 into a per-user cache, with pooch doing the transfer.

Each file lands in ``cache_dir() / <group> / <file name>``, where the group is a
standard dataset's name (``mnist``) or ``url-<first 16 hex digits of the sha256>`` for a
user's own URL. pooch streams every download to a temporary file next to its target,
checks the sha256 and only then renames it into place, so the cache never holds a file
that failed its checksum or was cut short; a failed attempt is retried, and what is
left is a message naming the dataset, the URL, the cache path and the mirror setting.

Settings (environment variables):

- ``NETWRIGHT_DATA_DIR``: the cache folder (default: the platform's per-user cache,
  e.g. ``~/.cache/netwright/datasets`` on Linux).
- ``NETWRIGHT_DATA_MIRROR``: a base URL such as ``https://intranet/netwright-data/``
  that serves the same files in the same layout as the cache
  (``<mirror>/mnist/train-images-idx3-ubyte.gz``). When it is set, only the mirror is
  asked, so an offline site never reaches out to the internet.

A file copied into the cache by hand (the same path) is used when its sha256 matches.
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph_compiler.data import progress as data_progress
from graph_compiler.errors import NetwrightError

DATA_DIR_ENV = "NETWRIGHT_DATA_DIR"
MIRROR_ENV = "NETWRIGHT_DATA_MIRROR"
# Extra attempts per URL after a failed transfer or checksum (pooch waits 1 s, 2 s, ...).
RETRIES = 2
TIMEOUT_S = 30.0


class FetchError(NetwrightError):
    """A download failed or a cached file is unusable; the message names the dataset,
    the URL, the cache path where a manually copied file is picked up, and the mirror
    setting."""


@dataclass(frozen=True)
class RemoteFile:
    """One file with its pinned sha256 and the URLs that serve it, tried in order."""

    name: str
    sha256: str
    urls: tuple[str, ...]
    size: int | None = None  # bytes, shown by `netwright dataset --list`

    def __post_init__(self) -> None:
        if not is_sha256(self.sha256):
            raise FetchError(
                f"file {self.name!r}: sha256 must be 64 hexadecimal digits, got {self.sha256!r}"
            )
        if "/" in self.name or "\\" in self.name or self.name in ("", ".", ".."):
            raise FetchError(f"file name {self.name!r} must be a plain name without folders")


def is_sha256(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 64
        and all(c in "0123456789abcdefABCDEF" for c in value)
    )


def cache_dir() -> pathlib.Path:
    """Where downloads are kept: $NETWRIGHT_DATA_DIR, else the per-user cache."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    if configured:
        return pathlib.Path(configured).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("netwright", appauthor=False) / "datasets"


def mirror() -> str | None:
    """The mirror base URL with a trailing slash, or None when unset."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://", "ftp://", "file://")):
        raise FetchError(
            f"{MIRROR_ENV} must be an http(s):// or ftp:// URL, got {value!r}"
        )
    return value if value.endswith("/") else value + "/"


def cached_path(group: str, file: RemoteFile) -> pathlib.Path:
    return cache_dir() / group / file.name


def is_cached(group: str, file: RemoteFile) -> bool:
    """True when the file is in the cache (downloads only land there once verified; a
    hand-copied file is verified when it is used)."""
    return cached_path(group, file).is_file()


def urls_for(group: str, file: RemoteFile, use_mirror: bool = True) -> list[str]:
    base = mirror() if use_mirror else None
    return [f"{base}{group}/{file.name}"] if base is not None else list(file.urls)


def fetch(
    group: str,
    file: RemoteFile,
    *,
    progress: bool | Any = False,
    what: str | None = None,
    use_mirror: bool = True,
) -> pathlib.Path:
    """The local path of `file`, downloaded and verified on first use.

    `progress` is True for a tqdm bar on stderr, or an object with pooch's progress-bar
    interface (``total``, ``update(n)``, ``reset()``, ``close()``); False reports to the
    hook installed with ``data.progress.reporting``, if any. `what` names the
    dataset in messages (default: the group). `use_mirror=False` is for a user's own
    URL, which the mirror setting does not cover.
    """
    import pooch
    import requests

    what = what or group
    if progress is False:
        progress = data_progress.current(f"downloading {what}") or False
    folder = cache_dir() / group
    target = folder / file.name
    urls = urls_for(group, file, use_mirror)
    failures: list[str] = []
    for url in urls:
        store = pooch.create(
            path=folder,
            base_url="",
            registry={file.name: f"sha256:{file.sha256.lower()}"},
            urls={file.name: url},
            retry_if_failed=RETRIES,
            allow_updates=True,
        )
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_S)
        try:
            return pathlib.Path(store.fetch(file.name, downloader=downloader))
        except ValueError as exc:  # pooch: the sha256 did not match; the download is deleted
            failures.append(f"{url}: {_checksum_text(str(exc), file)}")
        except requests.exceptions.HTTPError as exc:
            response = exc.response
            status = (
                f"{response.status_code} {response.reason}" if response is not None else str(exc)
            )
            failures.append(f"{url}: the server answered {status}")
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            failures.append(f"{url}: the download was cut short ({_short(exc)})")
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            failures.append(f"{url}: cannot connect ({_short(exc)})")
        except requests.exceptions.RequestException as exc:
            failures.append(f"{url}: {_short(exc)}")
        except OSError as exc:  # the cache folder: full disk, no permission, read-only
            raise FetchError(
                f"dataset {what!r}: cannot write {file.name} into the cache folder {folder} "
                f"({exc.strerror or exc}); free some space or point {DATA_DIR_ENV} elsewhere"
            ) from None
    raise FetchError(_failure_text(what, group, file, target, failures, use_mirror))


def _checksum_text(pooch_text: str, file: RemoteFile) -> str:
    got = next(
        (word.strip("().,") for word in pooch_text.split() if is_sha256(word.strip("().,"))),
        None,
    )
    found = f"its sha256 is {got}" if got and got.lower() != file.sha256.lower() else "checksum mismatch"
    return (
        f"the file failed its checksum ({found}, expected {file.sha256.lower()}); "
        "the download was deleted, not used"
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _failure_text(
    what: str,
    group: str,
    file: RemoteFile,
    target: pathlib.Path,
    failures: Sequence[str],
    use_mirror: bool,
) -> str:
    tried = "\n".join(f"  - {line}" for line in failures)
    mirrored = mirror()
    mirror_hint = "" if not use_mirror else (
        f"; the mirror {MIRROR_ENV}={mirrored} must serve {group}/{file.name}"
        if mirrored
        else f", or set {MIRROR_ENV}=https://your.server/path/ to a server that serves "
        f"{group}/{file.name} (the cache's own layout)"
    )
    return (
        f"dataset {what!r}: cannot download {file.name}:\n{tried}\n"
        f"{_present_text(target, file)}"
        f"To work offline, copy the file (sha256 {file.sha256.lower()}) to {target}"
        f"{mirror_hint}."
    )


def _present_text(target: pathlib.Path, file: RemoteFile) -> str:
    """Why a file already at the cache path was not used: a hand-copied file of another
    version, or a damaged copy, would otherwise look like it was never found."""
    if not target.is_file():
        return ""
    import pooch

    try:
        got = pooch.file_hash(str(target), alg="sha256")
    except OSError as exc:
        return f"The file at {target} cannot be read ({exc.strerror or exc}).\n"
    return (
        f"The file at {target} is not the expected one: its sha256 is {got}, not "
        f"{file.sha256.lower()} (another version, or a damaged copy); replace it.\n"
    )


__all__ = [
    "DATA_DIR_ENV",
    "MIRROR_ENV",
    "FetchError",
    "RemoteFile",
    "cache_dir",
    "cached_path",
    "fetch",
    "is_cached",
    "is_sha256",
    "mirror",
    "urls_for",
]
