"""Run chromium in a network namespace of its own, reaching the stacks' 127.0.0.1 ports through
Unix sockets.

Why: Chromium aborts every request in flight with net::ERR_NETWORK_CHANGED when an address
appears on any interface of its namespace (its NetworkChangeNotifierLinux watches netlink), and
every container Docker starts on this machine adds a veth with an IPv6 link-local address. On a
machine where other tests start containers that made the browser suite fail at random. In a
namespace of its own, with only loopback, Chromium sees no change.

How: `unshare --net` (root only; without it chromium runs as it is), loopback up, then this file
run as a script binds 127.0.0.1:PORT for each stack port inside the namespace *before* it execs
chromium, and carries each connection over a Unix socket (file system, not network namespace) to
a forwarder in the test process that connects to the real 127.0.0.1:PORT.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterable, Optional


def _pump(a: socket.socket, b: socket.socket) -> None:
    def one_way(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                try:
                    sock.shutdown(how)
                except OSError:
                    pass

    other = threading.Thread(target=one_way, args=(b, a), daemon=True)
    other.start()
    one_way(a, b)
    other.join()
    a.close()
    b.close()


def _serve(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = connect()
        except OSError:
            client.close()
            continue
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()


class IsolatedChromium:
    """An executable_path for Playwright that starts chromium alone in a network namespace."""

    def __init__(self, chromium: str, ports: Iterable[int]):
        self.chromium = chromium
        self.ports = sorted(set(ports))
        self.dir = Path(tempfile.mkdtemp(prefix="owui-chromium-"))
        self.listeners: list[socket.socket] = []

    @staticmethod
    def available() -> bool:
        return (os.geteuid() == 0 and shutil.which("unshare") is not None
                and shutil.which("ip") is not None
                and subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0)

    def start(self) -> str:
        for port in self.ports:
            path = self.dir / f"{port}.sock"
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
            listener.listen(256)
            self.listeners.append(listener)
            threading.Thread(target=_serve, daemon=True, args=(
                listener, lambda port=port: socket.create_connection(("127.0.0.1", port)))).start()
        inner = self.dir / "inside"
        command = " ".join(shlex.quote(x) for x in (sys.executable, __file__, str(self.dir),
                                                       self.chromium, *map(str, self.ports)))
        inner.write_text(f"#!/bin/sh\nip link set lo up || exit 1\nexec {command} -- \"$@\"\n")
        wrapper = self.dir / "chromium"
        wrapper.write_text(f"#!/bin/sh\nexec unshare --net -- {shlex.quote(str(inner))} \"$@\"\n")
        for script in (inner, wrapper):
            script.chmod(0o755)
        return str(wrapper)

    def stop(self) -> None:
        for listener in self.listeners:
            listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _inside(sock_dir: str, chromium: str, ports: list[int], args: list[str]) -> None:
    """In the new namespace: listen on each port, then become chromium; a child forwards."""
    listeners = []
    for port in ports:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(256)
        listeners.append((port, listener))
    parent = os.getpid()
    if os.fork() == 0:
        # The forwarder: ends when chromium (its parent, after exec) is gone.
        for port, listener in listeners:
            def connect(port: int = port) -> socket.socket:
                unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                unix.connect(os.path.join(sock_dir, f"{port}.sock"))
                return unix
            threading.Thread(target=_serve, args=(listener, connect), daemon=True).start()
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(0)
    for _, listener in listeners:
        listener.close()
    os.execv(chromium, [chromium, *args])


def isolated_executable(chromium: str, ports: Iterable[int]) -> tuple[str, Optional[IsolatedChromium]]:
    """(executable_path, handle to stop) — chromium itself when isolation is not possible."""
    if not IsolatedChromium.available():
        return chromium, None
    isolated = IsolatedChromium(chromium, ports)
    return isolated.start(), isolated


if __name__ == "__main__":
    # argv: SOCK_DIR CHROMIUM PORT... -- chromium's own arguments.
    sock_dir, chromium_binary = sys.argv[1], sys.argv[2]
    split = sys.argv.index("--")
    _inside(sock_dir, chromium_binary, [int(p) for p in sys.argv[3:split]], sys.argv[split + 1:])
