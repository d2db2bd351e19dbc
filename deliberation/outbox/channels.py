"""Where messages physically go: email through SMTP (Flask-Mailman), text messages through an
SMS provider. Providers are a small registry keyed by name: ``log`` writes the message to the
application log (the embedded default), ``aliyun`` calls Alibaba Cloud's SendSms API with its
RPC signature (version 1.0, HMAC-SHA1), implemented as Alibaba Cloud documents it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_mailman import EmailMessage

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Sending failed. ``permanent`` errors are not retried (a bad number, a bad signature)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class Sent:
    provider: str
    reference: str | None = None


# ---------------------------------------------------------------- email


def email_enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send_email(*, to: str, subject: str, body: str) -> Sent:
    message = EmailMessage(subject=subject, body=body, to=[to],
                           from_email=current_app.config.get("MAIL_DEFAULT_SENDER"))
    try:
        message.send()
    except (TimeoutError, OSError) as error:  # smtplib's errors are OSErrors too
        import smtplib

        # A recipient the server refuses outright will be refused again: do not retry.
        permanent = isinstance(error, smtplib.SMTPRecipientsRefused)
        raise DeliveryError(f"SMTP: {error}", permanent=permanent) from error
    return Sent("smtp", message.extra_headers.get("Message-ID"))


# ---------------------------------------------------------------- SMS


class SmsProvider:
    name = "base"

    def send(self, *, phone: str, text: str, template: str | None = None, params: dict | None = None) -> Sent:
        raise NotImplementedError


class LogSmsProvider(SmsProvider):
    """Writes text messages to the log: the embedded default, and what tests read codes from."""

    name = "log"
    sent: list[dict] = []  # the last messages, newest last (bounded), for development and tests

    def send(self, *, phone: str, text: str, template: str | None = None, params: dict | None = None) -> Sent:
        log.info("SMS to %s: %s", phone, text)
        LogSmsProvider.sent.append({"phone": phone, "to": phone, "text": text, "params": params or {}})
        del LogSmsProvider.sent[:-200]
        return Sent(self.name, None)


def percent_encode(value: str) -> str:
    """Alibaba Cloud's encoding: RFC 3986 over UTF-8, space as %20, '*' as %2A, '~' kept."""
    return urllib.parse.quote(value, safe="~").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def aliyun_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Signature version 1.0: HMAC-SHA1 with key ``secret + '&'`` over
    ``METHOD & %2F & percent_encode(sorted, encoded query)``, base64-encoded."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Provider answers that will not change on a retry.
ALIYUN_PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.INVALID_PARAMETERS", "isv.TEMPLATE_MISSING_PARAMETERS", "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound", "isv.ACCOUNT_NOT_EXISTS", "isv.BLACK_KEY_CONTROL_LIMIT",
}


class AliyunSmsProvider(SmsProvider):
    """Alibaba Cloud SMS (dysmsapi, API version 2017-05-25), action SendSms. Each message uses
    an approved template: ``template`` (or the configured notification template) with ``params``
    (or ``{"content": text}``)."""

    name = "aliyun"

    def __init__(self, config) -> None:
        self.endpoint = config.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
        self.key_id = config.get("ALIYUN_ACCESS_KEY_ID") or ""
        self.secret = config.get("ALIYUN_ACCESS_KEY_SECRET") or ""
        self.sign_name = config.get("ALIYUN_SMS_SIGN_NAME") or ""
        self.template = config.get("ALIYUN_SMS_TEMPLATE") or ""
        self.region = config.get("ALIYUN_SMS_REGION", "cn-hangzhou")
        self.timeout = float(config.get("SMS_TIMEOUT", 10))

    def request_params(self, *, phone: str, template: str, params: dict) -> dict[str, str]:
        return {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }

    def send(self, *, phone: str, text: str, template: str | None = None, params: dict | None = None) -> Sent:
        # Mainland numbers go as their 11 digits; others as country code and number, no "+".
        query = self.request_params(phone=phone.removeprefix("+"), template=template or self.template,
                                    params=params if params is not None else {"content": text})
        query["Signature"] = aliyun_signature("POST", query, self.secret)
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in query.items()).encode()
        if not self.endpoint.startswith(("https://", "http://")):
            raise DeliveryError("aliyun: ALIYUN_SMS_ENDPOINT must be an http(s) URL", permanent=True)
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            self.endpoint, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (scheme checked above)
                answer = json.loads(response.read().decode() or "{}")
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read().decode() or "{}")
            except ValueError:
                raise DeliveryError(f"aliyun: HTTP {error.code}", permanent=400 <= error.code < 500) from error
        except (OSError, ValueError) as error:
            raise DeliveryError(f"aliyun: {error}") from error
        code = answer.get("Code", "")
        if code != "OK":
            raise DeliveryError(f"aliyun: {code} {answer.get('Message', '')}".strip(),
                                permanent=code in ALIYUN_PERMANENT)
        return Sent(self.name, answer.get("BizId"))


def log_message(*, to: str, text: str) -> Sent:
    """Where email goes when no mail server is configured (development): the log."""
    log.info("Message to %s: %s", to, text)
    LogSmsProvider.sent.append({"phone": to, "to": to, "text": text, "params": {}})
    del LogSmsProvider.sent[:-200]
    return Sent("log", None)


SMS_PROVIDERS: dict[str, type[SmsProvider]] = {"log": LogSmsProvider, "aliyun": AliyunSmsProvider}


def sms_provider() -> SmsProvider:
    name = current_app.config.get("SMS_PROVIDER", "log")
    cls = SMS_PROVIDERS[name]
    return cls(current_app.config) if cls is AliyunSmsProvider else cls()
