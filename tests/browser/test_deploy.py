"""Beyond one process, for real: two gunicorn processes of the app, as `make serve` runs them.

- deploy/nginx.conf, run by Debian's nginx in front of the two processes: pages, static files
  from disk, and the Socket.IO handshake through the proxy (skipped when nginx is missing).
- With PostgreSQL and Redis (REDIS_URL): a browser connected to the second process sees, live,
  the comment posted through the first, and the login rate limit counts requests to both.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.browser.conftest import log_in
from tests.conftest import ON_POSTGRES

# They start their own processes and databases: once per `make test` is enough.
pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="runs in the SQLite pass (it makes its own PostgreSQL database)")

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(os.sys.executable).parent / "gunicorn")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """One app process under gunicorn, the way `make serve` starts it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [GUNICORN, "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind",
             f"127.0.0.1:{self.port}", "--log-level", "warning", "--access-logfile", "/dev/null", "app:app"],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
        for _ in range(150):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):  # noqa: S310 - local
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the app did not start on {self.base}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": "deploy-test", "INSTANCE_PATH": str(tmp_path / "instance"),
            "CLOSE_DUE_EVERY": "0", "PYTHONPATH": str(ROOT), **extra}


def _seed(database_url: str, tmp_path: Path) -> dict:
    """Migrate and make a community with two residents and an item, in a separate process's
    database (through the app, like the seed of the benchmarks)."""
    script = f"""
import json
from deliberation import create_app
from deliberation.extensions import db
from flask_migrate import upgrade
from tests.factories import make_community, make_item, make_member
app = create_app({{"SQLALCHEMY_DATABASE_URI": {database_url!r}, "CLOSE_DUE_EVERY": 0}})
with app.app_context(), app.test_request_context("/"):
    upgrade()
    community = make_community(slug="two-processes")
    item = make_item(community, title="两个进程之间的实时评论")
    a, b = make_member(community, name="甲"), make_member(community, name="乙")
    from deliberation.privacy.services import record_consent
    record_consent(actor=a)
    record_consent(actor=b)  # they agreed to the privacy notice when they signed up
    print(json.dumps({{"slug": community.slug, "item": item.id, "a": a.contact, "b": b.contact}}))
"""
    result = subprocess.run([os.sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                            env={**os.environ, **_env(database_url, tmp_path)}, check=True, timeout=120)
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- nginx in front of two processes


@pytest.mark.skipif(NGINX is None, reason="nginx is missing: `apt-get install nginx-light` (make test does it as root)")
def test_deploy_nginx_config_serves_two_processes(tmp_path):
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    _seed(database, tmp_path)
    processes = [Process(_env(database, tmp_path)) for _ in range(2)]
    port = _free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("server 127.0.0.1:8001;", f"server 127.0.0.1:{processes[0].port};")
    site = site.replace("server 127.0.0.1:8002;", f"server 127.0.0.1:{processes[1].port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("/srv/deliberation/static/", f"{ROOT / 'static'}/")
    assert f"127.0.0.1:{port}" in site and str(ROOT / "static") in site, "deploy/nginx.conf changed shape"
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""
worker_processes 1;
error_log {tmp_path}/error.log warn;
pid {tmp_path}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp_path}/access.log;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
""")
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],  # noqa: S603
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),  # noqa: S603
                              "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310 - local
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        with urllib.request.urlopen(base + "/c/two-processes/items", timeout=5) as page:  # noqa: S310
            assert page.status == 200 and "两个进程之间的实时评论" in page.read().decode()
        with urllib.request.urlopen(base + "/static/css/app.css", timeout=5) as css:  # noqa: S310
            assert css.status == 200 and css.headers.get("Expires")  # served by nginx from disk
        with urllib.request.urlopen(base + "/socket.io/?EIO=4&transport=polling", timeout=5) as handshake:  # noqa: S310
            assert re.search(r'"sid":"[^"]+"', handshake.read().decode())
        with urllib.request.urlopen(base + "/readyz", timeout=5) as ready:  # noqa: S310
            assert ready.status == 200
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        for process in processes:
            process.stop()


# ---------------------------------------------------------------- PostgreSQL and Redis shared


def _reachable(url: str) -> str | None:
    try:
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        else:
            engine = create_engine(url, connect_args={"connect_timeout": 2})
            with engine.connect():
                pass
            engine.dispose()
    except Exception as err:  # noqa: BLE001 - any failure means "not here"
        return str(err).splitlines()[0]
    return None


@pytest.fixture
def shared_services(tmp_path):
    """A scratch PostgreSQL database and a Redis db number, or a skip saying which is missing."""
    for url in (PG_ADMIN, REDIS_URL):
        problem = _reachable(url)
        if problem:
            pytest.skip(f"needs PostgreSQL and Redis (CI has both); {url.split('@')[-1]} is not reachable: {problem}")
    name = f"dh_two_processes_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_processes_share_live_rooms_and_rate_limits_through_redis(shared_services, tmp_path, new_page):
    seeded = _seed(shared_services, tmp_path)
    env = _env(shared_services, tmp_path, REDIS_URL=REDIS_URL, LOGIN_RATE_LIMIT="6 per minute")
    first, second = Process(env), Process(env)
    try:
        item_path = f"/c/{seeded['slug']}/items/{seeded['item']}"
        reader = new_page()
        log_in(reader, second.base, seeded["b"])
        reader.goto(second.base + item_path)
        reader.locator("html[data-live=connected]").wait_for(state="attached")
        writer = new_page()
        log_in(writer, first.base, seeded["a"])
        writer.goto(first.base + item_path)
        writer.fill("#comment-form-new-body", "这条评论从第一个进程发出。")
        writer.click("#comment-form-new button[type=submit]")
        reader.locator(".comment", has_text="这条评论从第一个进程发出。").wait_for(timeout=15000)

        # The two logins above (one per process) and four wrong passwords alternating between the
        # processes use up the shared limit of six; the next attempt is refused, whichever process.
        codes = []
        for n in range(5):
            base = (first, second)[n % 2].base
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            login_page = opener.open(base + "/login").read().decode()
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
            token = token or re.search(r'name="csrf_token" value="([^"]+)"', login_page)
            data = urllib.parse.urlencode({"contact": seeded["a"], "password": "wrong-password",
                                           "csrf_token": token.group(1)}).encode()
            try:
                codes.append(opener.open(base + "/login", data=data).status)
            except urllib.error.HTTPError as err:
                codes.append(err.code)
        assert codes == [400, 400, 400, 400, 429], codes
    finally:
        first.stop()
        second.stop()
