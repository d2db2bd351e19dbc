"""Soak test: does the served app stay up under steady load? (run: `make bench-soak`).

Seeds a fresh database (an item with 500 comments, and an open secret yes/no measure with
enough voters), starts the app with `make serve`'s own gunicorn settings (deploy/gunicorn.conf.py)
and keeps 32 connections busy for 10 minutes by default: each connection alternates the
500-comment item page and the vote form (a ballot cast through the real two-step form while
voters last, then the measure page). It counts worker restarts from gunicorn's log
("Booting worker" lines beyond the first, and workers killed by a signal) and prints
requests, latencies, errors and restarts. Worker restarts must be 0.

Everything stays on 127.0.0.1, loops are bounded in time, the server is stopped on exit.
`--seconds 60` gives a short run; `--postgres` uses a scratch PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agenda_bench import ROOT, free_port, machine, percentile  # noqa: E402

CONCURRENCY = 32
SECRET = "bench"
PG_DB = "dh_bench_soak"
# The server may run from another environment than the load generator (bisecting packages).
GUNICORN = os.environ.get("SOAK_GUNICORN") or str(Path(sys.executable).with_name("gunicorn"))


def seed(url: str, voters: int, instance: Path) -> dict:
    """500 comments on item 1 of community "bench", and community "vote" with an open measure."""
    import agenda_bench
    import voting_bench

    agenda_bench.seed_into(url, instance, items=50, comments=1000, on_item=500)
    seeded = voting_bench.seed(url, voters, instance)
    _optimize(url)
    return seeded


def _optimize(url: str) -> None:
    """Statistics as the running app keeps them (PRAGMA optimize / ANALYZE)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            conn.execute(text("PRAGMA optimize=0x10002"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


class Served:
    """The app under `make serve`'s gunicorn configuration, its log kept in a file."""

    def __init__(self, env: dict[str, str], log: Path, extra: list[str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [GUNICORN, "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "info", "--access-logfile", "/dev/null", *extra, "app:app"],
            cwd=ROOT, env={**os.environ, **env, "PYTHONFAULTHANDLER": "1"}, stdout=self.handle,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    async def wait(self) -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(900):  # a loaded machine can take a while to start the app
                try:
                    async with session.get(self.base + "/healthz") as response:
                        if response.status < 500:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server on {self.base} did not start; see {self.log}")

    def restarts(self) -> dict:
        text = self.log.read_text(errors="replace")
        boots = len(re.findall(r"Booting worker with pid", text))
        return {"worker_boots": boots, "worker_restarts": max(0, boots - 1),
                "killed_by_signal": len(re.findall(r"terminated due to signal|was sent SIG", text)),
                "fatal_python_errors": len(re.findall(r"Fatal Python error", text))}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.handle.close()


async def soak(base: str, measure_id: int, credentials: list, seconds: float, item_only: bool = False) -> dict:
    voters = [] if item_only else list(credentials)
    random.Random(5).shuffle(voters)
    item_ms: list[float] = []
    vote_ms: list[float] = []
    counts = {"item_pages": 0, "ballots_cast": 0, "measure_pages": 0, "errors": 0, "status": {}}
    receipts: list[str] = []
    vote_url = f"{base}/c/vote/measures/{measure_id}/vote"
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def fetch(method: str, url: str, **kwargs) -> tuple[int, str, float]:
            started = time.perf_counter()
            try:
                async with session.request(method, url, **kwargs) as response:
                    body = await response.text()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError) as error:
                body, status = type(error).__name__, 0
            return status, body, (time.perf_counter() - started) * 1000

        def tally(status: int) -> None:
            counts["status"][str(status)] = counts["status"].get(str(status), 0) + 1

        async def connection(deadline: float) -> None:
            while time.perf_counter() < deadline:
                status, _body, ms = await fetch("GET", f"{base}/c/bench/items/1")
                tally(status)
                if status == 200:
                    counts["item_pages"] += 1
                    item_ms.append(ms)
                else:
                    counts["errors"] += 1
                if item_only:
                    continue
                if voters:
                    _uid, cookie, token = voters.pop()
                    status, body, ms = await fetch(
                        "POST", vote_url, data={"csrf_token": token, "choice": random.choice(["yes", "no"]),
                                                "confirm": "1"}, headers={"Cookie": f"session={cookie}"})
                    tally(status)
                    if status == 200 and "receipt-code" in body:
                        counts["ballots_cast"] += 1
                        receipts.append(body.split('class="receipt-code"')[1].split(">")[1].split("<")[0])
                        vote_ms.append(ms)
                    else:
                        counts["errors"] += 1
                else:
                    status, _body, ms = await fetch("GET", f"{base}/c/vote/measures/{measure_id}")
                    tally(status)
                    counts["measure_pages" if status == 200 else "errors"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(connection(started + seconds) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    figures = {"seconds": round(elapsed, 1), **counts,
               "item_rps": round(len(item_ms) / elapsed, 1),
               "item_p50_ms": round(percentile(item_ms, 0.5), 1) if item_ms else None,
               "item_p99_ms": round(percentile(item_ms, 0.99), 1) if item_ms else None,
               "vote_p50_ms": round(percentile(vote_ms, 0.5), 1) if vote_ms else None}
    return figures, receipts


def verify(url: str, instance: Path, measure_id: int, receipts: list[str]) -> dict:
    os.environ.update(DATABASE_URL=url, INSTANCE_PATH=str(instance), SECRET_KEY=SECRET)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from deliberation import create_app
    from deliberation.extensions import db
    from deliberation.voting.models import Ballot, Participation

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        ballots = db.session.scalar(select(func.count(Ballot.id)).where(Ballot.measure_id == measure_id))
        parts = db.session.scalar(select(func.count(Participation.id)).where(Participation.measure_id == measure_id))
        stored = set(db.session.scalars(select(Ballot.receipt).where(Ballot.measure_id == measure_id)))
        db.session.remove()
        db.engine.dispose()
    return {"ballots": ballots, "participations": parts, "receipts_handed_out": len(receipts),
            "receipts_not_stored": len(set(receipts) - stored)}


def pg_database(create: bool) -> str:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        if create:
            conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--seed-only":
        print(json.dumps(seed(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--verify-only":
        receipts = json.loads(Path(sys.argv[5]).read_text())
        print(json.dumps(verify(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), receipts)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the load (default 10 minutes)")
    parser.add_argument("--voters", type=int, default=3000, help="residents who cast a ballot during the run")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL on 127.0.0.1:5432 instead of SQLite")
    parser.add_argument("--item-only", action="store_true", help="only the item page (how the crash was found)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server, e.g. PYTHONMALLOC=debug")
    parser.add_argument("--keep-log", help="copy the server log here")
    parser.add_argument("gunicorn_args", nargs="*", help="extra gunicorn arguments after --")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dh-soak-"))
    instance = workdir / "instance"
    url = pg_database(create=True) if args.postgres else f"sqlite:///{workdir / 'bench.db'}"
    server = None
    try:
        seeded = json.loads(subprocess.run(
            [sys.executable, __file__, "--seed-only", url, str(args.voters), str(instance)],
            check=True, capture_output=True, text=True, cwd=ROOT).stdout.splitlines()[-1])
        server = Served({"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET,
                         "RATELIMIT_ENABLED": "0", **dict(pair.split("=", 1) for pair in args.server_env)},
                        workdir / "server.log", args.gunicorn_args)
        asyncio.run(server.wait())
        figures, receipts = asyncio.run(soak(server.base, seeded["measure_id"], seeded["credentials"], args.seconds,
                                           args.item_only))
        server.stop()
        figures.update(server.restarts())
        (workdir / "receipts.json").write_text(json.dumps(receipts))
        checked = subprocess.run(
            [sys.executable, __file__, "--verify-only", url, str(instance), str(seeded["measure_id"]),
             str(workdir / "receipts.json")], check=True, capture_output=True, text=True, cwd=ROOT)
        figures.update(json.loads(checked.stdout.splitlines()[-1]))
        if args.keep_log:
            shutil.copy(workdir / "server.log", args.keep_log)
    finally:
        if server is not None:
            server.stop()
        if args.postgres:
            pg_database(create=False)
        shutil.rmtree(workdir, ignore_errors=True)
    figures["machine"] = machine()
    figures["engine"] = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    print(f"worker restarts: {figures['worker_restarts']} (must be 0: "
          f"{'met' if figures['worker_restarts'] == 0 else 'MISSED'})")


if __name__ == "__main__":
    main()
