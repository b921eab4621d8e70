"""A Socket.IO client on one Open WebUI replica that waits for a channel message posted through another: only Redis
(WEBSOCKET_MANAGER=redis) carries it across. Used by the browser suite's prod shape (replicas are containers the
test reaches by address) and by the swarm e2e (a task's address is on the overlay network only: the listener runs in
the task's network namespace, `python -m tests.socketio_probe` under nsenter, and talks to 127.0.0.1:8080).

Open WebUI 0.12.4's Socket.IO (backend/open_webui/socket/main.py): path /ws/socket.io, websocket transport only,
origins limited to CORS_ALLOW_ORIGIN; `user-join` puts the connection into the rooms of the user's channels, and a
message posted to a channel is emitted there as `events:channel` with data.type `message`.
"""

from __future__ import annotations

import json
import queue
import sys
import time
from typing import Any, Optional


class ChannelListener:
    """Connected to ``base`` (one replica) as the user of ``token``, joined to that user's channel rooms."""

    def __init__(self, base: str, origin: str, token: str, user_id: Optional[str] = None):
        import socketio  # python-socketio[client]

        self.events: "queue.Queue[dict[str, Any]]" = queue.Queue()
        # The web app's origin: websocket-client would otherwise send http://<replica>, which the server refuses.
        self.client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})
        self.client.on("events:channel", self.events.put)
        self.started = time.monotonic()
        self.client.connect(base, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": token},
                            wait_timeout=20)
        joined = self.client.call("user-join", {"auth": {"token": token}}, timeout=20)
        if not joined or (user_id is not None and joined.get("id") != user_id):
            self.close()
            raise AssertionError(f"user-join answered {joined!r}")

    def wait_message(self, channel_id: str, timeout: float = 20) -> Optional[dict[str, Any]]:
        """The first `events:channel` message event of ``channel_id`` within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=1)
            except queue.Empty:
                continue
            if event.get("data", {}).get("type") == "message" and event.get("channel_id") == channel_id:
                return event
        return None

    def close(self) -> None:
        self.client.disconnect()


def main() -> None:
    """`python -m tests.socketio_probe BASE ORIGIN CHANNEL_ID` with the token on stdin: prints `joined`, then the
    received event as one JSON line (or `null` after the timeout)."""
    base, origin, channel_id = sys.argv[1:4]
    token = sys.stdin.readline().strip()
    listener = ChannelListener(base, origin, token)
    try:
        print("joined", flush=True)
        print(json.dumps(listener.wait_message(channel_id, timeout=float(sys.argv[4]) if len(sys.argv) > 4 else 30)),
              flush=True)
    finally:
        listener.close()


if __name__ == "__main__":
    main()
