"""Scale benchmark (run: `make bench-scale`): the same three loads on this machine against

  A. SQLite, one app process (gunicorn, gthread) — the default deployment;
  B. PostgreSQL, two app processes behind Debian's nginx running deploy/nginx.conf, with Redis
     as the Socket.IO message queue and the rate-limit store — the city-wide deployment;

and the ratio B / A of each figure, from one run:

  1. the agenda list page: requests per second at 32 connections;
  2. casting votes through the real form at 32 connections (zero lost, zero doubled checked);
  3. live fan-out: Socket.IO clients in an item's room, split over both processes, and the time
     until every one of them has a comment posted through the front.

Load-generator connections come from several loopback addresses (127.0.0.2, ...) so nginx's
per-address stickiness spreads them over the two processes, as real clients would be. Nothing
asserts: figures and ratios are printed (and written as JSON with --json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agenda_bench import ROOT, Server, free_port, machine, percentile  # noqa: E402
from voting_bench import SECRET, pg_database, postgres_available  # noqa: E402

CONCURRENCY = 32
SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]
REDIS_URL = "redis://127.0.0.1:6379/14"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _sessions(count: int) -> list[aiohttp.ClientSession]:
    """One client session per source address (each with its own connection pool)."""
    per = max(1, CONCURRENCY // count)
    return [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=per, local_addr=(ip, 0)))
            for ip in SOURCES[:count]]


async def list_load(base: str, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    sessions = _sessions(len(SOURCES))
    try:
        async def worker(session, deadline: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.get(base + "/c/vote/items") as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if record:
                    if ok:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        errors += 1

        await asyncio.gather(*(worker(sessions[n % len(sessions)], time.perf_counter() + 2, False)
                               for n in range(CONCURRENCY)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(sessions[n % len(sessions)], started + seconds, True)
                               for n in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    return {"rps": round(len(latencies) / elapsed, 1), "p50_ms": round(percentile(latencies, 0.5), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1), "errors": errors}


async def cast_votes(base: str, measure_id: int, credentials: list) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    for n, (_uid, cookie, token) in enumerate(credentials):
        queue.put_nowait((n, cookie, token))
    latencies: list[float] = []
    outcome = {"cast": 0, "errors": 0}
    sessions = _sessions(len(SOURCES))
    url = f"{base}/c/vote/measures/{measure_id}/vote"
    try:
        async def worker() -> None:
            while not queue.empty():
                n, cookie, token = queue.get_nowait()
                started = time.perf_counter()
                async with sessions[n % len(sessions)].post(
                        url, data={"csrf_token": token, "choice": "yes", "confirm": "1"},
                        headers={"Cookie": f"session={cookie}"}) as response:
                    body = await response.text()
                latencies.append((time.perf_counter() - started) * 1000)
                outcome["cast" if response.status == 200 and "receipt-code" in body else "errors"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    return {"voters": len(credentials), "votes_per_s": round(outcome["cast"] / elapsed, 1),
            "p50_ms": round(percentile(latencies, 0.5), 1), "p99_ms": round(percentile(latencies, 0.99), 1),
            **outcome}


async def fanout(base: str, item_id: int, clients: int, posts: int, poster: tuple) -> dict:
    import socketio

    received: dict[int, list[float]] = {}
    sockets, http = [], []

    async def connect_one(n: int) -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(SOURCES[n % len(SOURCES)], 0)))
        http.append(session)
        sio = socketio.AsyncClient(reconnection=False, http_session=session)

        @sio.on("comment.posted")
        async def on_posted(event):  # noqa: ANN001
            received.setdefault(event["data"]["comment_id"], []).append(time.perf_counter())

        await sio.connect(base, transports=["websocket"], wait_timeout=30)
        await sio.call("join", {"room": f"item:{item_id}", "locale": "zh_CN", "last_id": 10**12}, timeout=30)
        sockets.append(sio)

    for start in range(0, clients, 50):
        await asyncio.gather(*(connect_one(n) for n in range(start, min(clients, start + 50))))
    _uid, cookie, token = poster
    times, missing = [], 0
    async with aiohttp.ClientSession() as session:
        for n in range(posts):
            started = time.perf_counter()
            async with session.post(f"{base}/c/vote/items/{item_id}/comments", allow_redirects=False,
                                    headers={"Cookie": f"session={cookie}"},
                                    data={"csrf_token": token, "body": f"规模基准评论 {n}", "stance": "for",
                                          "client_token": f"scale-{n}-{time.time()}"}) as response:
                location = response.headers.get("Location", "")
            comment_id = int(location.rsplit("comment-", 1)[1])
            deadline = time.perf_counter() + 10
            while len(received.get(comment_id, [])) < clients and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            arrivals = received.get(comment_id, [])
            missing += clients - len(arrivals)
            if arrivals:
                times.append((max(arrivals) - started) * 1000)
            await asyncio.sleep(0.05)
    await asyncio.gather(*(s.disconnect() for s in sockets), return_exceptions=True)
    await asyncio.gather(*(s.close() for s in http))
    return {"clients": clients, "posts": posts, "p50_ms": round(percentile(times, 0.5), 1) if times else None,
            "p99_ms": round(percentile(times, 0.99), 1) if times else None, "missing_deliveries": missing}


def seed(url: str, voters: int, instance: Path) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "voting_bench.py"), "--seed-only", url,  # noqa: S603
                          str(voters), str(instance)], check=True, capture_output=True, text=True, cwd=ROOT)
    seeded = json.loads(out.stdout.splitlines()[-1])
    seeded["item_id"] = 1  # the seed's only item carries the measure
    return seeded


def start_nginx(workdir: Path, ports: list[int]) -> tuple[subprocess.Popen, str]:
    """deploy/nginx.conf with this run's ports and paths, under a private nginx master."""
    listen = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("server 127.0.0.1:8001;", f"server 127.0.0.1:{ports[0]};")
    site = site.replace("server 127.0.0.1:8002;", f"server 127.0.0.1:{ports[1]};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    site = site.replace("/srv/deliberation/static/", f"{ROOT / 'static'}/")
    (workdir / "site.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {workdir}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                        "scgi"))
    (workdir / "nginx.conf").write_text(
        f"worker_processes 1; error_log {workdir}/nginx-error.log warn; pid {workdir}/nginx.pid;\n"
        f"events {{ worker_connections 4096; }}\n"
        f"http {{ include /etc/nginx/mime.types; access_log off; {temp} include {workdir}/site.conf; }}\n")
    nginx = subprocess.Popen([NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),  # noqa: S603
                              "-g", "daemon off;"])
    return nginx, f"http://127.0.0.1:{listen}"


async def measure(base: str, seeded: dict, args) -> dict:
    figures = {"list": await list_load(base, args.seconds)}
    print("  list", json.dumps(figures["list"]), flush=True)
    credentials = seeded["credentials"]
    figures["votes"] = await cast_votes(base, seeded["measure_id"], credentials[1:])
    print("  votes", json.dumps(figures["votes"]), flush=True)
    figures["fanout"] = await fanout(base, seeded["item_id"], args.clients, args.posts, credentials[0])
    print("  fanout", json.dumps(figures["fanout"]), flush=True)
    return figures


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="dh-scale-bench-"))
    results: dict = {"machine": machine(), "voters": args.voters}
    try:
        print("A. SQLite, 1 process", flush=True)
        url = f"sqlite:///{workdir / 'scale.db'}"
        seeded = seed(url, args.voters + 1, workdir / "instance-a")
        env = {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance-a"), "SECRET_KEY": SECRET,
               "RATELIMIT_ENABLED": "0", "CLOSE_DUE_EVERY": "0"}
        server = Server("app:app", env, threads=args.clients + 64)
        try:
            asyncio.run(server.wait())
            results["A"] = asyncio.run(measure(server.base, seeded, args))
        finally:
            server.stop()

        if not postgres_available() or not Path(NGINX).exists():
            print("B skipped: needs PostgreSQL on 127.0.0.1:5432 and nginx (apt-get install nginx-light).")
            return results
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        print("B. PostgreSQL + Redis, 2 processes behind nginx", flush=True)
        url = pg_database(create=True)
        seeded = seed(url, args.voters + 1, workdir / "instance-b")
        env = {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance-b"), "SECRET_KEY": SECRET,
               "RATELIMIT_ENABLED": "0", "CLOSE_DUE_EVERY": "0", "REDIS_URL": REDIS_URL, "PROXY_FIX": "1"}
        servers = [Server("app:app", env, threads=args.clients + 64) for _ in range(2)]
        nginx, front = start_nginx(workdir, [s.port for s in servers])
        try:
            for s in servers:
                asyncio.run(s.wait())
            time.sleep(0.5)
            results["B"] = asyncio.run(measure(front, seeded, args))
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
            for s in servers:
                s.stop()
            pg_database(create=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def ratios(r: dict) -> dict:
    a, b = r["A"], r["B"]

    def ratio(x, y):
        return round(y / x, 2) if x and y else None

    return {"list_rps": ratio(a["list"]["rps"], b["list"]["rps"]),
            "votes_per_s": ratio(a["votes"]["votes_per_s"], b["votes"]["votes_per_s"]),
            "fanout_p50_ms": ratio(a["fanout"]["p50_ms"], b["fanout"]["p50_ms"]),
            "fanout_p99_ms": ratio(a["fanout"]["p99_ms"], b["fanout"]["p99_ms"])}


def report(r: dict) -> str:
    m = r["machine"]
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}; {m['date']}", "",
             "| figure | A: SQLite, 1 process | B: PostgreSQL + Redis, 2 processes, nginx | B / A |",
             "|---|---:|---:|---:|"]
    a, b = r.get("A"), r.get("B")
    rows = [("list page, requests/s", "list", "rps"), ("list page p99 ms", "list", "p99_ms"),
            ("votes/s", "votes", "votes_per_s"), ("vote p99 ms", "votes", "p99_ms"),
            ("vote errors", "votes", "errors"), ("fan-out p50 ms (all clients have it)", "fanout", "p50_ms"),
            ("fan-out p99 ms", "fanout", "p99_ms"), ("fan-out missing deliveries", "fanout", "missing_deliveries")]
    for label, group, key in rows:
        x = a[group][key] if a else None
        y = b[group][key] if b else None
        ratio = round(y / x, 2) if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else "—"
        lines.append(f"| {label} | {x} | {y if b else 'skipped'} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.chdir(ROOT)
    results = run(args)
    if "B" in results:
        results["ratios"] = ratios(results)
    print()
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
