"""A local HTTP server for download tests (127.0.0.1, a free port, started by the test),
and builders of small files in the exact formats of the standard datasets."""
from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass
class Route:
    body: bytes
    status: int = 200
    # Bytes actually sent (a truncated transfer sends fewer than Content-Length says).
    send: int | None = None
    # Behaviour for the first `times` requests only; afterwards the full body is served.
    times: int | None = None
    # When set: send the first half, then wait for the gate before sending the rest.
    gate: threading.Event | None = None


@dataclass
class FileServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests.append(self.path)
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                status, send = route.status, route.send
                if route.times is not None:
                    if route.times <= 0:
                        status, send = 200, None
                    route.times -= 1
                if status != 200:
                    self.send_error(status)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(route.body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                body = route.body[:send] if send is not None else route.body
                if route.gate is not None:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    route.gate.wait()
                    body = body[len(body) // 2:]
                self.wfile.write(body)
                self.wfile.flush()
                if send is not None:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def idx_gz(array: np.ndarray) -> bytes:
    """An IDX file (uint8 data) gzip-compressed, as MNIST ships them."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes(), mtime=0)


def mnist_like(n_train: int, n_test: int, seed: int = 0) -> dict[str, tuple[np.ndarray, bytes]]:
    """{file name: (array, bytes)} for the four MNIST files with random content."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    return {name: (array, idx_gz(array)) for name, array in arrays.items()}


def cifar_binary_tar(
    images: dict[str, np.ndarray], labels: dict[str, np.ndarray], members: dict[str, str],
    names: list[str], names_member: str, label_bytes: int = 1,
) -> bytes:
    """A CIFAR binary tar.gz: members[split] lists .bin paths; records are label byte(s) +
    3072 channel-major pixels."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        for member, split in members.items():
            x, y = images[member], labels[member]
            lead = np.zeros((len(y), label_bytes), dtype=np.uint8)
            lead[:, -1] = y
            if label_bytes == 2:
                lead[:, 0] = y // 5  # a coarse label that must be ignored
            add(member, np.concatenate([lead, x.reshape(len(x), -1)], axis=1).tobytes())
            del split
        add(names_member, ("\n".join(names) + "\n").encode())
    return out.getvalue()
