"""Capacity and stability (issue 22): statistics kept current on SQLite, and the served app's
configuration (deploy/gunicorn.conf.py) is the one `make serve` and the benchmarks use."""

from __future__ import annotations

import base64
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from deliberation.agenda.models import AgendaItem
from deliberation.extensions import db
from deliberation.timeutil import utcnow
from tests.conftest import ON_POSTGRES
from tests.factories import make_community, make_member

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(ON_POSTGRES, reason="PRAGMA optimize is SQLite's; PostgreSQL's autovacuum analyses")
def test_sqlite_connections_gather_statistics_for_the_queries_the_app_runs(app, client):
    community = make_community()
    author = make_member(community)
    from deliberation.agenda import services as agenda

    category_id = agenda.categories(community)[0].id
    now = utcnow()
    db.session.execute(insert(AgendaItem), [
        {"community_id": community.id, "author_id": author.id, "category_id": category_id, "title": f"议题{n}",
         "body": "", "status": "submitted", "support_count": 0, "comment_count": 0, "status_reason": "",
         "created_at": now, "submitted_at": now, "updated_at": now} for n in range(300)])
    db.session.commit()
    slug = community.slug
    db.session.remove()
    db.engine.dispose()  # fresh connections: the statistics must come from the app's own runs
    assert client.get(f"/c/{slug}/items").status_code == 200
    db.session.remove()  # the connection goes back to the pool: that is when optimize runs
    stats = db.session.execute(text("SELECT tbl FROM sqlite_stat1")).scalars().all()
    assert "agenda_items" in stats


def test_make_serve_and_the_deployment_use_one_gunicorn_configuration():
    makefile = (ROOT / "Makefile").read_text()
    serve = re.search(r"^serve:.*?(?=^\S)", makefile, re.S | re.M).group(0)
    assert "-c deploy/gunicorn.conf.py" in serve
    assert "-c deploy/gunicorn.conf.py" in (ROOT / "deploy" / "deliberation@.service").read_text()
    assert "gunicorn.conf.py" in (ROOT / "bench" / "soak.py").read_text()


def _serve_command(bind: str) -> list[str]:
    """The gunicorn command of `make serve`, read from the Makefile (so the test follows it)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^serve:.*?\n((?:\t.*\n)+)", makefile, re.M).group(1)
    line = next(line.strip() for line in recipe.splitlines() if "gunicorn" in line)
    bin_dir = str(Path(sys.executable).parent)
    return shlex.split(line.replace("$(BIN)", bin_dir).replace("$(BIND)", bind))


@pytest.mark.skipif(ON_POSTGRES, reason="once per run is enough (SQLite pass)")
def test_make_serve_answers_pages_while_more_live_sockets_are_open_than_it_had_threads(tmp_path):
    """120 open WebSocket connections (the old gthread worker had 50 threads, each held by one)
    and the site still answers at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "SECRET_KEY": "serve-test",
           "INSTANCE_PATH": str(tmp_path / "instance"), "CLOSE_DUE_EVERY": "0"}
    subprocess.run([str(Path(sys.executable).parent / "flask"), "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(_serve_command(f"127.0.0.1:{port}"), cwd=ROOT, env=env,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sockets: list[socket.socket] = []
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310 - local
                    break
            except OSError:
                time.sleep(0.1)
        for n in range(120):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            key = base64.b64encode(f"idle-socket-{n:04d}".encode()).decode()
            conn.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n").encode())
            assert conn.recv(4096).startswith(b"HTTP/1.1 101"), "the live connection was not accepted"
            sockets.append(conn)
        started = time.monotonic()
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:  # noqa: S310 - local
            assert response.status == 200
        with urllib.request.urlopen(base + "/", timeout=5) as response:  # noqa: S310 - local
            assert response.status == 200
        assert time.monotonic() - started < 5
    finally:
        for conn in sockets:
            conn.close()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
