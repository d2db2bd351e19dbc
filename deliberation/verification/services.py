"""Codes that prove a phone number or email address: registering, a forgotten password, a new
phone or email. The rules:

- a code has 6 digits, lives ``CODE_MINUTES`` minutes, and allows ``CODE_ATTEMPTS`` wrong tries;
- sending is rate limited per number (one a minute, ``CODES_PER_NUMBER_PER_DAY`` a day) and per
  client address (``CODES_PER_CLIENT_PER_HOUR``), counted in the database so every process agrees;
- registering and asking for a reset never reveal whether a number has an account: the answer
  and the next page are the same; the owner of a registered number is told someone tried;
- the code is kept only as an HMAC; the attempt counter is raised with a conditional UPDATE so
  parallel guesses cannot exceed it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts import services as accounts
from ..accounts.models import AuthSession, User
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..outbox import channels
from ..privacy.services import NOTICE_VERSION
from ..timeutil import utcnow
from .models import CodePurpose, VerificationCode


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def _digest(token: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


def _check_rate(address: str, client: str) -> None:
    now = utcnow()
    last = db.session.scalar(select(func.max(VerificationCode.created_at)).where(VerificationCode.address == address))
    if last is not None and now - last < timedelta(seconds=_setting("CODE_INTERVAL_SECONDS", 60)):
        raise ValidationError(_l("A code was sent to this number or address less than a minute ago. "
                                 "Please wait a minute before asking for another."), field="contact")
    today = db.session.scalar(select(func.count(VerificationCode.id)).where(
        VerificationCode.address == address, VerificationCode.created_at > now - timedelta(days=1)))
    if today >= _setting("CODES_PER_NUMBER_PER_DAY", 5):
        raise ValidationError(_l("Too many codes were sent to this number or address today. Please try again "
                                 "tomorrow, or ask community staff for help."), field="contact")
    if client:
        hour = db.session.scalar(select(func.count(VerificationCode.id)).where(
            VerificationCode.requested_from == client, VerificationCode.created_at > now - timedelta(hours=1)))
        if hour >= _setting("CODES_PER_CLIENT_PER_HOUR", 20):
            raise ValidationError(_l("Too many codes were asked for from this connection. Please try again in an "
                                     "hour."), field="contact")


def _send(channel: str, address: str, text: str, *, code: str | None = None) -> None:
    """Send now: the person is waiting on the page, and a code is worth minutes, so a failure
    is told at once rather than retried later."""
    try:
        if channel == "sms":
            config = current_app.config
            template = config.get("ALIYUN_SMS_CODE_TEMPLATE") if code else None
            channels.sms_provider().send(phone=address, text=text, template=template,
                                         params={"code": code} if code and template else None)
        elif channels.email_enabled():
            channels.send_email(to=address, subject=text.split("\n")[0], body=text)
        else:
            channels.log_message(to=address, text=text)  # no mail server: the log, like the SMS log provider
    except channels.DeliveryError:
        raise ValidationError(_l("We could not send the code just now. Please try again in a minute."),
                              field="contact") from None


def _new_code(*, purpose: CodePurpose, channel: str, address: str, client: str, user_id: int | None = None,
              payload: dict | None = None, send: bool = True) -> tuple[VerificationCode, str | None]:
    token = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(1_000_000):06d}" if send else None
    now = utcnow()
    row = VerificationCode(token=token, purpose=purpose.value, channel=channel, address=address, user_id=user_id,
                           payload=payload or {}, code_hash=_digest(token, code) if code else None,
                           requested_from=(client or "")[:64], created_at=now,
                           expires_at=now + timedelta(minutes=_setting("CODE_MINUTES", 10)))
    db.session.add(row)
    return row, code


def _code_text(code: str) -> str:
    minutes = _setting("CODE_MINUTES", 10)
    return ngettext("Deliberation Hall code: %(code)s. Valid for %(num)d minute. Do not tell anyone.",
                    "Deliberation Hall code: %(code)s. Valid for %(num)d minutes. Do not tell anyone.", minutes,
                    code=code)


def _contact(contact: str) -> tuple[str, str]:
    kind, address = accounts.normalise_contact(contact)
    return ("email" if kind == "email" else "sms"), address


# ---------------------------------------------------------------- registering


def start_registration(*, display_name: str, contact: str, password: str, client: str = "") -> str:
    """Check what was typed and send a code to the number or address; returns the token of the
    confirmation page. Says the same whether or not the number already has an account."""
    name = accounts.clean_display_name(display_name)
    channel, address = _contact(contact)
    accounts._check_password(password)
    _check_rate(address, client)
    password_hash = accounts._hasher.hash(password)  # hashed on both paths, so both take as long
    existing = accounts.find_by_contact(address)
    row, code = _new_code(purpose=CodePurpose.REGISTER, channel=channel, address=address, client=client,
                          payload={"display_name": name, "password_hash": password_hash,
                                   "privacy_version": NOTICE_VERSION}, send=existing is None)
    db.session.commit()  # counted against the limits even if sending fails
    if existing is None:
        _send(channel, address, _code_text(code), code=code)
    else:
        with force_locale(existing.locale or "zh_CN"):
            url = current_app.config.get("PUBLIC_URL", "")
            _send(channel, address, gettext(
                "Deliberation Hall: someone tried to register with this number or address, which already has an "
                "account. If it was you, log in or reset your password at %(url)s", url=f"{url}/password/forgot"))
    return row.token


def pending(token: str, purpose: CodePurpose) -> VerificationCode:
    row = db.session.scalar(select(VerificationCode).where(VerificationCode.token == token,
                                                           VerificationCode.purpose == purpose.value))
    if row is None:
        raise NotFound(_l("This link is not valid. Please start again."))
    return row


def _use(row: VerificationCode, code: str) -> None:
    """Spend one try on ``code``; raise unless it is right, fresh and unused."""
    if row.used_at is not None:
        raise ValidationError(_l("This code was already used. Please start again."), field="code")
    if utcnow() > row.expires_at:
        raise ValidationError(_l("This code has expired. Please ask for a new one."), field="code")
    tried = db.session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.attempts < _setting("CODE_ATTEMPTS", 5),
               VerificationCode.used_at.is_(None))
        .values(attempts=VerificationCode.attempts + 1)
    )
    if tried.rowcount != 1:
        db.session.commit()
        raise ValidationError(_l("Too many wrong codes. Please ask for a new one."), field="code")
    typed = "".join((code or "").split())
    if row.code_hash is None or not hmac.compare_digest(row.code_hash, _digest(row.token, typed)):
        db.session.commit()  # the wrong try counts
        raise ValidationError(_l("That code is not right. Please check the message and try again."), field="code")
    spent = db.session.execute(update(VerificationCode).where(
        VerificationCode.id == row.id, VerificationCode.used_at.is_(None)).values(used_at=utcnow()))
    if spent.rowcount != 1:
        db.session.rollback()
        raise ValidationError(_l("This code was already used. Please start again."), field="code")


def confirm_registration(*, token: str, code: str) -> User:
    """The code proves the number or address: create the account."""
    row = pending(token, CodePurpose.REGISTER)
    _use(row, code)
    user = User(display_name=row.payload["display_name"], password_hash=row.payload["password_hash"])
    setattr(user, "email" if row.channel == "email" else "phone", row.address)
    consented = row.payload.get("privacy_version")
    row.payload = {}  # the password hash is not kept here once the account holds it
    db.session.add(user)
    try:
        if consented:
            from ..privacy.models import PrivacyConsent

            db.session.flush()
            db.session.add(PrivacyConsent(user_id=user.id, version=consented))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # registered by another path meanwhile
        raise ValidationError(_l("This number or address already has an account. Please log in."),
                              field="code") from None
    return user


def resend(*, token: str, client: str = "") -> str:
    """A new code for the same step (the old one stops working); returns the new token."""
    row = db.session.scalar(select(VerificationCode).where(VerificationCode.token == token))
    if row is None or row.used_at is not None:
        raise NotFound(_l("This link is not valid. Please start again."))
    _check_rate(row.address, client)
    row.used_at = utcnow()
    new, code = _new_code(purpose=CodePurpose(row.purpose), channel=row.channel, address=row.address, client=client,
                          user_id=row.user_id, payload=row.payload, send=row.code_hash is not None)
    db.session.commit()
    if code is not None:
        _send(new.channel, new.address, _code_text(code), code=code)
    return new.token


# ---------------------------------------------------------------- a forgotten password


def start_password_reset(*, contact: str, client: str = "") -> str:
    """Send a code if the number or address has an account; the answer is the same if not."""
    channel, address = _contact(contact)
    _check_rate(address, client)
    user = accounts.find_by_contact(address)
    usable = user is not None and not user.is_managed
    row, code = _new_code(purpose=CodePurpose.RESET, channel=channel, address=address, client=client,
                          user_id=user.id if usable else None, send=usable)
    db.session.commit()
    if code is not None:
        with force_locale(user.locale or "zh_CN"):
            _send(channel, address, _code_text(code), code=code)
    return row.token


def finish_password_reset(*, token: str, code: str, new_password: str) -> User:
    """Set the new password and end every login session of the account."""
    row = pending(token, CodePurpose.RESET)
    accounts._check_password(new_password, field="new_password")
    _use(row, code)
    user = db.session.get(User, row.user_id) if row.user_id else None
    if user is None:
        raise ValidationError(_l("That code is not right. Please check the message and try again."), field="code")
    user.password_hash = accounts._hasher.hash(new_password)
    db.session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    db.session.commit()
    return user


# ---------------------------------------------------------------- a new phone or email


def start_contact_change(*, actor: User, contact: str, client: str = "") -> str:
    """Send a code to the new number or address; it replaces the old one when confirmed."""
    channel, address = _contact(contact)
    if address in (actor.phone, actor.email):
        raise ValidationError(_l("That is already your number or address."), field="contact")
    _check_rate(address, client)
    row, code = _new_code(purpose=CodePurpose.CONTACT, channel=channel, address=address, client=client,
                          user_id=actor.id)
    db.session.commit()
    _send(channel, address, _code_text(code), code=code)
    return row.token


def confirm_contact_change(*, actor: User, token: str, code: str) -> User:
    row = pending(token, CodePurpose.CONTACT)
    if row.user_id != actor.id:
        raise NotFound(_l("This link is not valid. Please start again."))
    _use(row, code)
    setattr(actor, "email" if row.channel == "email" else "phone", row.address)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError(_l("This number or address belongs to another account."), field="code") from None
    return actor


def purpose_of(token: str) -> CodePurpose:
    row = db.session.scalar(select(VerificationCode).where(VerificationCode.token == token))
    if row is None:
        raise NotFound(_l("This link is not valid. Please start again."))
    return CodePurpose(row.purpose)
