"""Language: the browser's preference decides, an explicit switch (cookie, and the account
setting for logged-in people) overrides it. Large text is remembered the same way."""

from __future__ import annotations

from datetime import UTC

from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale, refresh
from flask_login import current_user

from .timeutil import LOCAL_TZ

# Babel reads "zh_CN" as zh_Hans_CN (likely subtags), so the Chinese catalog lives in
# translations/zh_Hans_CN; the switch, cookies and settings keep the familiar "zh_CN".
LANG_COOKIE = "lang"
TEXT_COOKIE = "text"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-Hans", "en": "en"}


def select_locale() -> str:
    if not has_request_context():
        return "zh_CN"  # CLI and background work: the community's language
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGE_NAMES:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGE_NAMES:
        return current_user.locale
    # The first language the browser lists that we have, by its primary tag (en-GB -> en).
    for tag, _quality in request.accept_languages:
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary == "en":
            return "en"
        if primary == "zh":
            return "zh_CN"
    return "zh_CN"


def large_text() -> bool:
    return has_request_context() and request.cookies.get(TEXT_COOKIE) == "large"


def init_i18n(app: Flask, babel: Babel) -> None:
    babel.init_app(app, locale_selector=select_locale)
    # Flask-Babel caches the locale on `g`; when one app context serves several requests
    # (tests, CLI), each request must choose again.
    app.before_request(refresh)

    @app.template_filter("local_time")
    def local_time(moment) -> str:
        """A compact local date and time, the same in both languages (cheap for long threads)."""
        return moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")

    @app.context_processor
    def language_context():
        # Babel expands zh_CN to zh_Hans_CN; name the choice the way the switch does.
        locale = "en" if get_locale().language == "en" else "zh_CN"
        return {
            "current_locale": locale,
            "html_lang": HTML_LANG.get(locale, "zh-Hans"),
            "language_names": LANGUAGE_NAMES,
            "large_text": large_text(),
        }
