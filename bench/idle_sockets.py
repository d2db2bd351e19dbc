"""Idle live pages must not hold the site (run: `make bench-idle`).

Seeds a small community, serves the app with `make serve`'s gunicorn settings
(deploy/gunicorn.conf.py), opens N Socket.IO connections (WebSocket) that join an item's room and
then sit idle, as residents' open meeting pages do, and meanwhile measures ordinary pages
(/healthz, the item list, an item page) one request at a time: p50, p99, the slowest, errors.
Target (issue 22): with 2,000 idle connections, p50 < 200 ms and none over 2 s.

Everything stays on 127.0.0.1; the server is stopped on exit. Extra gunicorn arguments go after
`--` (e.g. `-- --worker-class gthread --threads 50` for the old setting).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agenda_bench import ROOT, machine, percentile  # noqa: E402
from soak import SECRET, Served  # noqa: E402


def seed(url: str, instance: Path) -> None:
    import agenda_bench

    agenda_bench.seed_into(url, instance, items=200, comments=2000, on_item=100)


async def measure_pages(base: str, seconds: float) -> dict:
    paths = ["/healthz", "/c/bench/items", "/c/bench/items/1"]
    times: list[float] = []
    errors = 0
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with session.get(base + paths[n % len(paths)]) as response:
                    await response.read()
                    ok = response.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                times.append(elapsed)
            else:
                errors += 1
            n += 1
            await asyncio.sleep(0.05)
    return {"requests": len(times) + errors, "errors": errors,
            "p50_ms": round(percentile(times, 0.5), 1) if times else None,
            "p99_ms": round(percentile(times, 0.99), 1) if times else None,
            "max_ms": round(max(times), 1) if times else None}


async def run(base: str, sockets: int, seconds: float) -> dict:
    import socketio

    clients: list = []
    failed = 0

    async def connect_one() -> None:
        nonlocal failed
        sio = socketio.AsyncClient(reconnection=False)
        try:
            await sio.connect(base, transports=["websocket"], wait_timeout=30)
            await sio.call("join", {"room": "item:1", "locale": "zh_CN", "last_id": 10**9}, timeout=30)
            clients.append(sio)
        except Exception:  # noqa: BLE001 - counted, the figure says how many did not connect
            failed += 1

    before = await measure_pages(base, min(seconds, 5))
    started = time.perf_counter()
    for start in range(0, sockets, 100):
        await asyncio.gather(*(connect_one() for _ in range(min(100, sockets - start))))
    connect_s = time.perf_counter() - started
    during = await measure_pages(base, seconds)
    connected = sum(1 for c in clients if c.connected)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return {"sockets_asked": sockets, "sockets_connected": connected, "sockets_failed": failed,
            "connect_seconds": round(connect_s, 1), "pages_before": before, "pages_with_idle_sockets": during}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--seed-only":
        seed(sys.argv[2], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0, help="pages measured while the sockets are open")
    parser.add_argument("gunicorn_args", nargs="*", help="extra gunicorn arguments after --")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dh-idle-"))
    instance = workdir / "instance"
    url = f"sqlite:///{workdir / 'bench.db'}"
    server = None
    try:
        subprocess.run([sys.executable, __file__, "--seed-only", url, str(instance)], check=True,
                       capture_output=True, cwd=ROOT)
        server = Served({"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET,
                         "RATELIMIT_ENABLED": "0"}, workdir / "server.log", args.gunicorn_args)
        asyncio.run(server.wait())
        figures = asyncio.run(run(server.base, args.sockets, args.seconds))
        server.stop()
        figures.update(server.restarts())
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["machine"] = machine()
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    during = figures["pages_with_idle_sockets"]
    met = (during["p50_ms"] is not None and during["p50_ms"] < 200 and during["errors"] == 0
           and during["max_ms"] < 2000)
    print(f"with {figures['sockets_connected']} idle sockets: p50 {during['p50_ms']} ms, slowest {during['max_ms']} ms,"
          f" errors {during['errors']} (target p50 < 200 ms, none over 2 s: {'met' if met else 'MISSED'})")


if __name__ == "__main__":
    main()
