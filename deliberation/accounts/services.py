"""Account operations: registering, logging in and out, passwords, managed accounts.

Services take plain values and an explicit actor, enforce the rules, commit, and raise a
DomainError with a message the person can act on.
"""

from __future__ import annotations

import hashlib
import secrets

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ValidationError
from ..extensions import db
from ..timeutil import utcnow
from .models import AuthSession, User

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()
# Verified against when the account does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

PASSWORD_MIN = 8
PASSWORD_MAX = 128
NAME_MAX = 60
# Numbers typed without a country code are read as mainland China numbers.
PHONE_REGION = "CN"


def normalise_contact(contact: str) -> tuple[str, str]:
    """Return ("email", address) or ("phone", digits), or raise ValidationError."""
    contact = (contact or "").strip()
    if not contact:
        raise ValidationError(_l("Please enter a phone number or an email address."), field="contact")
    if "@" in contact:
        try:
            result = validate_email(contact, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(_l("That email address does not look right."), field="contact") from None
        return "email", result.normalized.lower()
    return "phone", normalise_phone(contact)


def normalise_phone(contact: str) -> str:
    """A mobile number that can receive text messages, parsed with ``phonenumbers`` (China by
    default): mainland numbers as their 11 digits (13800138000), others as E.164 (+4479...)."""
    try:
        number = phonenumbers.parse(contact, PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    mobile = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if number is None or not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in mobile:
        raise ValidationError(
            _l("That is not a mobile phone number we can send a text message to. Please check it, e.g. 13800138000."),
            field="contact",
        )
    if number.country_code == 86:
        return phonenumbers.national_significant_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _check_password(password: str, field: str = "password") -> None:
    if len(password or "") < PASSWORD_MIN:
        raise ValidationError(_l("The password must be at least %(n)d characters.", n=PASSWORD_MIN), field=field)
    if len(password) > PASSWORD_MAX:
        raise ValidationError(_l("The password must be at most %(n)d characters.", n=PASSWORD_MAX), field=field)


def check_password(password: str, field: str = "password") -> None:
    """The password rules, for other components that take a new password (claiming an account)."""
    _check_password(password, field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def clean_display_name(display_name: str) -> str:
    name = " ".join((display_name or "").split())
    if not name:
        raise ValidationError(_l("Please enter your name."), field="display_name")
    if len(name) > NAME_MAX:
        raise ValidationError(_l("The name must be at most %(n)d characters.", n=NAME_MAX), field="display_name")
    return name


def find_by_contact(contact: str) -> User | None:
    try:
        kind, value = normalise_contact(contact)
    except ValidationError:
        return None
    column = User.email if kind == "email" else User.phone
    return db.session.scalar(select(User).where(column == value))


def register(*, display_name: str, contact: str, password: str) -> User:
    name = clean_display_name(display_name)
    kind, value = normalise_contact(contact)
    _check_password(password)
    user = User(display_name=name, password_hash=_hasher.hash(password))
    setattr(user, kind, value)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # The unique constraint is the real check: two registrations racing for one
        # number both get here and only one wins.
        db.session.rollback()
        raise ValidationError(
            _l("An account with this phone number or email already exists. Try logging in."), field="contact"
        ) from None
    return user


def authenticate(*, contact: str, password: str) -> User:
    user = find_by_contact(contact)
    stored = user.password_hash if user is not None and not user.is_managed else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password or "")
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise ValidationError(_l("The phone number / email or the password is not right."))
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def session_key(token: str) -> str:
    """What the database keeps of a session token: its SHA-256, so a copy of the database (or a
    backup) gives nobody a cookie that logs in."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, user: User, user_agent: str = "") -> str:
    """Open a new login session and return its token for the cookie (a fresh one at every login)."""
    token = secrets.token_urlsafe(32)
    db.session.add(AuthSession(id=session_key(token), user_id=user.id, user_agent=(user_agent or "")[:200]))
    db.session.commit()
    return token


def session_user(*, user_id: int, token: str | None) -> User | None:
    """The user of a live session, or None when the session was revoked or never existed."""
    if not token:
        return None
    auth = db.session.get(AuthSession, session_key(token))
    if auth is None or auth.revoked_at is not None or auth.user_id != user_id:
        return None
    user = auth.user
    return user if user.is_active else None


def end_session(*, token: str | None) -> None:
    if not token:
        return
    db.session.execute(
        update(AuthSession).where(AuthSession.id == session_key(token), AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


def change_password(*, actor: User, current_password: str, new_password: str, keep_session: str | None) -> None:
    """Change the actor's own password and log out every other device."""
    try:
        _hasher.verify(actor.password_hash or _DUMMY_HASH, current_password or "")
    except (VerificationError, InvalidHashError):
        raise ValidationError(_l("The current password is not right."), field="current_password") from None
    _check_password(new_password, field="new_password")
    actor.password_hash = _hasher.hash(new_password)
    others = update(AuthSession).where(AuthSession.user_id == actor.id, AuthSession.revoked_at.is_(None))
    if keep_session:
        others = others.where(AuthSession.id != session_key(keep_session))
    db.session.execute(others.values(revoked_at=utcnow()))
    db.session.commit()


def set_locale(*, actor: User, locale: str) -> None:
    actor.locale = locale
    db.session.commit()
