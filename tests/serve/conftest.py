"""A real lorakit server on loopback: the tiny model, one trained adapter, an adapter folder."""

from __future__ import annotations

import socket
import threading
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, engine):
        import uvicorn

        self.engine = engine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        import httpx

        self.thread.start()
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def api_key():
    return "test-key-123"


@pytest.fixture(scope="session")
def server(trained_run, tmp_path_factory, api_key):
    """The server with the run's adapter as 'ticket', an adapter folder, a key and small limits."""
    import os
    import shutil

    from lorakit.serve.app import Limits
    from lorakit.serve.server import build_app

    run_dir, _ = trained_run
    folder = tmp_path_factory.mktemp("adapters")
    shutil.copytree(run_dir / "adapter", folder / "other")
    os.environ["LORAKIT_TEST_KEY"] = api_key
    app, engine = build_app([f"ticket={run_dir}"], adapter_dir=folder, precision="fp32", max_batch=16,
                            limits=Limits(max_body_bytes=20_000, max_messages=8, max_tokens=64),
                            api_key_env="LORAKIT_TEST_KEY")
    with LiveServer(app, engine) as live:
        yield live
