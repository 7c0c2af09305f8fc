"""JupyterLab for real: `make lab` starts headless (as root too), serves notebooks/, runs the project's kernel.

The server is started through the Makefile's own `lab` target (with `LAB_ARGS` for a free port on
127.0.0.1, a token and no browser), asked through its REST API for `notebooks/`, starts a kernel
of the `python3` kernelspec that `make install` put into the virtual environment, runs
`import labwork6` in it over the kernel's websocket, and is shut down, whatever happened.
"""

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, port: int, token: str):
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def request(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload.strip().startswith((b"{", b"[")) else payload


@pytest.fixture
def lab(tmp_path):
    """`make lab` running headless on a free port; stopped through its API, then by signal if need be."""
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = (f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
                f"--IdentityProvider.token={token}")
    # Jupyter's own folders in tmp_path: the user's settings and kernels cannot change the result.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}
    log = tmp_path / "lab.log"
    # -o: use the environment as it is, never reinstall from inside a test.
    command = ["make", "--no-print-directory", "-o", f"{VENV}/.installed", "lab", f"VENV={VENV}",
               f"LAB_ARGS={lab_args}"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(port, token)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"make lab stopped with status {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if server.request("GET", "/api/status")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server, log
    finally:
        try:
            server.request("POST", "/api/shutdown")
            process.wait(timeout=30)
        except Exception:  # noqa: BLE001 - whatever went wrong, the server must not outlive the test
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


async def _execute(server: Server, kernel_id: str, code: str) -> tuple[dict, str]:
    """Run ``code`` in the kernel over its websocket; return the execute_reply content and the printed text."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = server.base.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {server.token}"}))
    message_id = uuid.uuid4().hex
    await connection.write_message(json.dumps({
        "header": {"msg_id": message_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    reply, printed, idle = None, [], False
    try:
        while reply is None or not idle:
            raw = await asyncio.wait_for(connection.read_message(), timeout=120)
            assert raw is not None, "the kernel's websocket closed before the reply"
            message = json.loads(raw)
            if message["parent_header"].get("msg_id") != message_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "execute_reply":
                reply = message["content"]
            elif kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                idle = True
    finally:
        connection.close()
    return reply, "".join(printed)


def test_make_lab_serves_the_notebooks_and_runs_the_project_kernel(lab):
    server, log = lab
    assert "Running as root is not recommended" not in log.read_text()
    status, page = server.request("GET", "/lab")
    assert status == 200 and b"JupyterLab" in page

    status, listing = server.request("GET", "/api/contents/notebooks")
    names = {item["name"] for item in listing["content"]}
    assert status == 200 and {path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} <= names

    status, kernelspecs = server.request("GET", "/api/kernelspecs")
    spec = kernelspecs["kernelspecs"]["python3"]["spec"]
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()

    status, kernel = server.request("POST", "/api/kernels", {"name": "python3"})
    assert status == 201
    reply, printed = asyncio.run(_execute(server, kernel["id"], (
        "import sys\nimport labwork6\nprint(labwork6.__file__)\nprint(sys.prefix)")))
    assert reply["status"] == "ok", reply
    assert printed.splitlines() == [str(ROOT / "labwork6" / "__init__.py"), sys.prefix]
    status, _ = server.request("DELETE", f"/api/kernels/{kernel['id']}")
    assert status == 204
