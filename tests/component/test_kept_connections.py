"""An unexpected error is answered without closing the connection: the gateway's next request on it gets through."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from fastapi import FastAPI

from massline.errors import install_error_handlers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_500_leaves_the_kept_connection_usable_for_the_next_request() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a fault no handler expected")

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, loop="asyncio",
                                           http="httptools", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    peers: set[int] = set()
    try:
        # One kept connection, as the gateway's pool holds: every request after a 500 must still get its answer.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     limits=httpx.Limits(max_connections=1)) as client:
            for _ in range(20):
                failed = await client.get("/boom")
                assert failed.status_code == 500 and failed.json()["error"]["code"] == "internal_error"
                fine = await client.get("/ok")
                assert fine.status_code == 200
                stream = fine.extensions.get("network_stream")
                if stream is not None:
                    peers.add(stream.get_extra_info("client_addr")[1])
        assert len(peers) <= 1, "the connection was closed and opened again after a 500"
    finally:
        server.should_exit = True
        await serving
