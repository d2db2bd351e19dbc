"""Outbox settings from the environment. With none set, email is off, text messages go to the
log, and an in-process thread delivers; ``REDIS_URL`` moves delivery to an RQ worker."""

from __future__ import annotations

import os


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def outbox_settings() -> dict:
    env = os.environ.get
    return {
        # Email (Flask-Mailman over SMTP); no MAIL_SERVER means no email channel.
        "MAIL_SERVER": env("MAIL_SERVER") or None,
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_USERNAME": env("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_TIMEOUT": int(env("MAIL_TIMEOUT", "20")),
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "议事厅 <noreply@localhost>"),
        "MAIL_BACKEND": "smtp",
        # Text messages: "log" (write to the log) or "aliyun" (Alibaba Cloud SMS).
        "SMS_PROVIDER": env("SMS_PROVIDER", "log"),
        "ALIYUN_ACCESS_KEY_ID": env("ALIYUN_ACCESS_KEY_ID") or None,
        "ALIYUN_ACCESS_KEY_SECRET": env("ALIYUN_ACCESS_KEY_SECRET") or None,
        "ALIYUN_SMS_SIGN_NAME": env("ALIYUN_SMS_SIGN_NAME") or None,
        "ALIYUN_SMS_TEMPLATE": env("ALIYUN_SMS_TEMPLATE") or None,
        "ALIYUN_SMS_CODE_TEMPLATE": env("ALIYUN_SMS_CODE_TEMPLATE") or None,  # verification codes: ${code}
        "ALIYUN_SMS_ENDPOINT": env("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
        "ALIYUN_SMS_REGION": env("ALIYUN_SMS_REGION", "cn-hangzhou"),
        # Delivery.
        "PUBLIC_URL": env("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "OUTBOX_EVERY": float(env("OUTBOX_EVERY", "5")),  # in-process thread period (0: off)
        "OUTBOX_COALESCE_SECONDS": int(env("OUTBOX_COALESCE_SECONDS", "60")),
        "OUTBOX_MAX_ATTEMPTS": int(env("OUTBOX_MAX_ATTEMPTS", "6")),
        "OUTBOX_RETRY_BASE": int(env("OUTBOX_RETRY_BASE", "30")),  # seconds; x4 per attempt
        "DIGEST_HOUR": int(env("DIGEST_HOUR", "8")),  # local hour of the daily digest
        "QUIET_HOURS": env("QUIET_HOURS", "21:00-08:00"),  # default for people who chose none
        # Verification codes (registering, forgotten passwords, new phone or email).
        "CODE_MINUTES": int(env("CODE_MINUTES", "10")),
        "CODE_ATTEMPTS": int(env("CODE_ATTEMPTS", "5")),
        "CODE_INTERVAL_SECONDS": int(env("CODE_INTERVAL_SECONDS", "60")),
        "CODES_PER_NUMBER_PER_DAY": int(env("CODES_PER_NUMBER_PER_DAY", "5")),
        "CODES_PER_CLIENT_PER_HOUR": int(env("CODES_PER_CLIENT_PER_HOUR", "20")),
    }
