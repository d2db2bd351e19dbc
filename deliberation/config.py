"""Configuration: one Config class read from the environment, with embedded defaults.

With no environment at all the app runs on an SQLite file in ``instance/`` and one process.
``DATABASE_URL`` switches to PostgreSQL; ``REDIS_URL`` turns on shared rate-limit counters
(and, later, the Socket.IO message queue).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        INSTANCE.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{INSTANCE / 'deliberation.db'}"
    # Accept the common short forms and use psycopg 3 for PostgreSQL.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    def __init__(self) -> None:
        self.SECRET_KEY = _secret_key()
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

        # Cookies: HttpOnly and SameSite=Lax always; Secure is decided per request
        # (see accounts.sessions.SessionInterface) so https deployments get it automatically.
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
        self.PERMANENT_SESSION_LIFETIME = timedelta(days=30)

        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
        self.MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # unit CSV files are small

        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
        self.BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).parent / "translations")
        self.LANGUAGES = ["zh_CN", "en"]

        self.RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;60 per hour")
        self.REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "5 per minute;30 per hour")

        # Behind a reverse proxy (deploy/), trust one hop of X-Forwarded-* headers.
        self.PROXY_FIX = _flag("PROXY_FIX")

        # Live turnout of one measure goes out at most once per this many seconds (bursts fold).
        self.LIVE_COALESCE_SECONDS = float(os.environ.get("LIVE_COALESCE_SECONDS", "1"))

        # Seconds between sweeps that close votes whose time is up (0: only pages and cron do).
        self.CLOSE_DUE_EVERY = int(os.environ.get("CLOSE_DUE_EVERY", "30"))

        # Attachments (photos, plans, documents): where the files live, and the limits.
        self.ATTACHMENTS_DIR = os.environ.get("ATTACHMENTS_DIR", str(INSTANCE / "attachments"))
        self.ATTACHMENTS_PER_THING = int(os.environ.get("ATTACHMENTS_PER_THING", "10"))
        self.ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_MB", "15")) * 1024 * 1024
        # A 48-megapixel phone photo fits; a decompression bomb does not.
        self.ATTACHMENT_MAX_PIXELS = int(os.environ.get("ATTACHMENT_MAX_MEGAPIXELS", "50")) * 1_000_000
        # Behind nginx: the internal location that serves ATTACHMENTS_DIR (deploy/nginx.conf);
        # the app checks the permission and answers with X-Accel-Redirect. Empty: the app sends the file.
        self.ATTACHMENTS_ACCEL_PREFIX = os.environ.get("ATTACHMENTS_ACCEL_PREFIX", "")
        # --- outbox (issue 20): email, SMS, delivery worker; see deliberation/outbox/settings.py
        from .outbox.settings import outbox_settings

        for name, value in outbox_settings().items():
            setattr(self, name, value)
