"""A free loopback port, and waiting for a server started by a benchmark to answer."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, tries: int = 600, pause: float = 0.2) -> None:
    """Poll ``url`` (GET) until it answers 200; raises after ``tries`` attempts."""
    import httpx

    for _ in range(tries):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(pause)
    raise RuntimeError(f"{url} did not come up")
