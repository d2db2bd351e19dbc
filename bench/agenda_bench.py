"""Benchmark of agenda items and live discussion (run: `make bench`).

Seeds 10,000 items and 100,000 comments into a fresh SQLite database, serves the real app and a
minimal Flask + SQLAlchemy + Jinja app doing the same queries (bench/minimal_app.py) under the
same gunicorn settings, one after the other, and measures with 32 concurrent keep-alive
connections: requests per second and p50/p99 latency of the list page and of an item page with
500 comments. Then it connects 100, 500 and 1,000 Socket.IO clients to one item's room, posts
a comment over HTTP and times until the last client has it (20 posts each), and reports the
server's peak memory with 1,000 clients connected.

All traffic stays on 127.0.0.1, every loop is bounded in count and time, and the servers are
stopped on exit. Targets are printed beside the figures; nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
CONCURRENCY = 32
PASSWORD = "bench-password"
TARGETS = {
    "list_ratio": 0.60,  # list page at least 60% of the minimal page's throughput
    "item_p50_ms": 40.0,
    "fanout_1000_p50_ms": 150.0,
    "memory_1000_mb": 300.0,
}


# ---------------------------------------------------------------- seeding


def seed(workdir: Path, items: int, comments: int, on_item: int) -> str:
    """A fresh migrated SQLite database with the data set; returns its URL."""
    url = f"sqlite:///{workdir / 'bench.db'}"
    seed_into(url, workdir / "instance", items, comments, on_item)
    return url


def seed_into(url: str, instance: Path, items: int, comments: int, on_item: int) -> None:
    """The data set in the (empty) database at url: item 1 has on_item comments."""
    os.environ.update(DATABASE_URL=url, INSTANCE_PATH=str(instance), SECRET_KEY="bench")
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from deliberation import create_app
    from deliberation.accounts import services as accounts
    from deliberation.accounts.models import User
    from deliberation.agenda import services as agenda
    from deliberation.agenda.models import AgendaItem
    from deliberation.communities import services as communities
    from deliberation.communities.models import Membership
    from deliberation.discussion.models import Comment
    from deliberation.extensions import db
    from deliberation.timeutil import utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(7)
    with app.app_context(), app.test_request_context("/"):
        upgrade()
        admin = accounts.register(display_name="管理员", contact="13700000000", password=PASSWORD)
        community = communities.create_community(name="基准社区", slug="bench", admin=admin)
        categories = [c.id for c in agenda.categories(community)]
        password_hash = admin.password_hash
        now = utcnow()
        users = [{"display_name": f"居民{n}", "phone": f"137{n:08d}", "password_hash": password_hash,
                  "is_managed": False, "created_at": now} for n in range(1, 301)]
        db.session.execute(insert(User), users)
        user_ids = [u.id for u in db.session.scalars(db.select(User).where(User.id != admin.id))]
        db.session.execute(insert(Membership), [
            {"community_id": community.id, "user_id": uid, "status": "verified", "claimed_building": "1",
             "claimed_entrance": "1", "claimed_room": "101", "note": "", "rejection_reason": "",
             "requested_at": now} for uid in user_ids])
        per_item = [0] * (items + 1)
        per_item[1] = on_item
        for _ in range(comments - on_item):
            per_item[rng.randint(2, items)] += 1
        statuses = ["submitted"] * 6 + ["accepted", "in_review", "decided", "rejected"]
        words = ["停车", "垃圾分类", "养犬", "电梯", "绿化", "路灯", "充电桩", "快递柜", "噪音", "消防通道"]
        db.session.execute(insert(AgendaItem), [
            {"community_id": community.id, "author_id": rng.choice(user_ids), "category_id": rng.choice(categories),
             "title": f"关于{rng.choice(words)}的第{n}号议题", "body": f"请大家讨论{rng.choice(words)}的问题。" * 5,
             "status": "submitted" if n == 1 else rng.choice(statuses), "support_count": rng.randint(0, 30),
             "comment_count": per_item[n], "status_reason": "", "created_at": now, "submitted_at": now,
             "updated_at": now} for n in range(1, items + 1)])
        rows = []
        stances = ["for", "against", "question", "neutral", None]
        rendered: dict[str, str] = {}  # as the app stores it when a comment is posted
        from deliberation.discussion.services import render_comment_body
        for item_id in range(1, items + 1):
            for _ in range(per_item[item_id]):
                body = f"我的看法：{rng.choice(words)}需要**改进**。"
                if body not in rendered:
                    rendered[body] = str(render_comment_body(community, body))
                rows.append({"item_id": item_id, "author_id": rng.choice(user_ids), "depth": 0,
                             "stance": rng.choice(stances), "body": body, "body_html": rendered[body],
                             "state": "visible", "hidden_reason": "", "open_flags": 0, "created_at": now})
                if len(rows) == 10000:
                    db.session.execute(insert(Comment), rows)
                    rows = []
        if rows:
            db.session.execute(insert(Comment), rows)
        db.session.commit()
        # Statistics as a running app keeps them (issue 22: without them both apps sorted every row).
        from sqlalchemy import text

        db.session.execute(text("PRAGMA optimize=0x10002" if url.startswith("sqlite") else "ANALYZE"))
        db.session.commit()


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, module: str, env: dict[str, str], threads: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [GUNICORN, "-k", "gthread", "-w", "1", "--threads", str(threads), "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "--timeout", "120", module],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
        )

    async def wait(self) -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(self.base + "/healthz") as response:
                        if response.status < 500:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server on {self.base} did not start")

    def worker_pid(self) -> int:
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True,  # noqa: S607
                                  check=False).stdout.split()
        return int(children[0]) if children else self.process.pid

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


# ---------------------------------------------------------------- HTTP load


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def load(url: str, seconds: float, warmup: float = 2.0) -> dict:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker(deadline: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if record:
                    if ok:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        errors += 1

        await asyncio.gather(*(worker(time.perf_counter() + warmup, False) for _ in range(CONCURRENCY)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return {"rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99), "requests": len(latencies), "errors": errors}


# ---------------------------------------------------------------- live fan-out


async def logged_in_session(base: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(base + "/login") as response:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', await response.text()).group(1)
    async with session.post(base + "/login", data={"csrf_token": token, "contact": "13700000001",
                                                   "password": PASSWORD}, allow_redirects=False) as response:
        assert response.status == 303, f"login failed: {response.status}"
    return session


async def fanout(base: str, clients: int, posts: int, server: Server) -> dict:
    import socketio

    received: dict[int, list[float]] = {}
    sockets = []

    async def connect_one() -> None:
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("comment.posted")
        async def on_posted(event):  # noqa: ANN001
            received.setdefault(event["data"]["comment_id"], []).append(time.perf_counter())

        await sio.connect(base, transports=["websocket"], wait_timeout=30)
        await sio.call("join", {"room": "item:1", "locale": "zh_CN", "last_id": 10**12}, timeout=30)
        sockets.append(sio)

    for start in range(0, clients, 50):
        await asyncio.gather(*(connect_one() for _ in range(min(50, clients - start))))
    rss = server.rss_mb()
    poster = await logged_in_session(base)
    async with poster.get(base + "/c/bench/items/1") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)
    times = []
    missing = 0
    for n in range(posts):
        started = time.perf_counter()
        async with poster.post(base + "/c/bench/items/1/comments", allow_redirects=False,
                               data={"csrf_token": token, "body": f"基准评论 {n}", "stance": "for",
                                     "client_token": f"bench-{clients}-{n}-{time.time()}"}) as response:
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
    peak = server.peak_rss_mb()
    await poster.close()
    await asyncio.gather(*(s.disconnect() for s in sockets), return_exceptions=True)
    return {"clients": clients, "p50_ms": percentile(times, 0.5) if times else None,
            "p99_ms": percentile(times, 0.99) if times else None, "missing_deliveries": missing,
            "rss_connected_mb": rss, "peak_rss_mb": peak}


# ---------------------------------------------------------------- main


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024 // 1024
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": mem, "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


async def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="dh-bench-"))
    results: dict = {"machine": machine(), "engine": "SQLite (WAL), 1 gunicorn gthread worker"}
    servers: list[Server] = []
    try:
        t0 = time.perf_counter()
        url = seed(workdir, args.items, args.comments, 500)
        results["seed_seconds"] = round(time.perf_counter() - t0, 1)
        env = {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"), "SECRET_KEY": "bench",
               "RATELIMIT_ENABLED": "0"}
        for name, module, paths in (
            ("real", "app:app", ("/c/bench/items", "/c/bench/items/1")),
            ("minimal", "bench.minimal_app:app", ("/items", "/items/1")),
        ):
            server = Server(module, env, threads=64)
            servers.append(server)
            await server.wait()
            results[f"{name}_list"] = await load(server.base + paths[0], args.seconds)
            results[f"{name}_item"] = await load(server.base + paths[1], args.seconds)
            server.stop()
            print(name, json.dumps({k: v for k, v in results.items() if k.startswith(name)}, ensure_ascii=False))
        server = Server("app:app", env, threads=args.clients[-1] + 64)
        servers.append(server)
        await server.wait()
        results["fanout"] = []
        for clients in args.clients:
            figures = await fanout(server.base, clients, args.posts, server)
            results["fanout"].append(figures)
            print("fanout", json.dumps(figures))
        server.stop()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def report(r: dict) -> str:
    ratio = r["real_list"]["rps"] / r["minimal_list"]["rps"]
    item_ratio = r["real_item"]["rps"] / r["minimal_item"]["rps"]
    lines = [
        f"machine: {r['machine']}",
        f"engine: {r['engine']}; seeded in {r['seed_seconds']} s",
        "",
        f"{'page':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}",
    ]
    for key, label in (("real_list", "list page (real app)"), ("minimal_list", "list page (minimal app)"),
                       ("real_item", "item page, 500 comments"), ("minimal_item", "item page (minimal app)")):
        f = r[key]
        lines.append(f"{label:<28}{f['rps']:>10.1f}{f['p50_ms']:>10.1f}{f['p99_ms']:>10.1f}{f['errors']:>8}")
    lines += [
        "",
        f"list throughput ratio real/minimal: {ratio:.2f} (target >= {TARGETS['list_ratio']:.2f}: "
        f"{'met' if ratio >= TARGETS['list_ratio'] else 'MISSED'})",
        f"item throughput ratio real/minimal: {item_ratio:.2f}",
        f"item page p50: {r['real_item']['p50_ms']:.1f} ms (target < {TARGETS['item_p50_ms']:.0f} ms: "
        f"{'met' if r['real_item']['p50_ms'] < TARGETS['item_p50_ms'] else 'MISSED'})",
        "",
        f"{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'missing':>9}{'RSS MB':>9}{'peak MB':>9}",
    ]
    for f in r["fanout"]:
        p50 = f"{f['p50_ms']:.1f}" if f["p50_ms"] is not None else "-"
        p99 = f"{f['p99_ms']:.1f}" if f["p99_ms"] is not None else "-"
        lines.append(f"{f['clients']:>8}{p50:>10}{p99:>10}{f['missing_deliveries']:>9}"
                     f"{f['rss_connected_mb']:>9.0f}{f['peak_rss_mb']:>9.0f}")
    last = r["fanout"][-1]
    if last["clients"] >= 1000 and last["p50_ms"] is not None:
        lines.append(f"fan-out to {last['clients']} p50: {last['p50_ms']:.0f} ms (target < 150 ms: "
                     f"{'met' if last['p50_ms'] < TARGETS['fanout_1000_p50_ms'] else 'MISSED'}); peak memory "
                     f"{last['peak_rss_mb']:.0f} MB (target < 300 MB: "
                     f"{'met' if last['peak_rss_mb'] < TARGETS['memory_1000_mb'] else 'MISSED'})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per page")
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--posts", type=int, default=20, help="comments posted per fan-out size")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "agenda.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print()
    print(report(results))


if __name__ == "__main__":
    main()
