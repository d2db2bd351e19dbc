"""Both languages are complete: every string in the code and templates has a Chinese and an
English translation, with the same placeholders. Run `make messages` and translate what this
lists when it fails."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "deliberation" / "translations"
CATALOGS = {"zh_Hans_CN": TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po",
            "en": TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# Strings that are the same in Chinese on purpose.
SAME_IN_CHINESE = {"CSV file"}


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "deliberation/babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        return [m for m in read_po(fh) if m.id]


def _forms(value) -> tuple[str, ...]:
    """A message's text as a tuple: one form, or every plural form (ngettext)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _translated(message) -> bool:
    return message is not None and all(_forms(message.string))


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_every_string_is_translated(source_messages, locale):
    with CATALOGS[locale].open("rb") as fh:
        catalog = read_po(fh)
    missing = [str(m.id) for m in source_messages if not _translated(catalog.get(m.id))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, (
        f"{len(missing)} strings have no {locale} translation. Run `make messages`, then translate them in "
        f"{CATALOGS[locale].relative_to(ROOT)}:\n" + "\n".join(missing)
    )
    assert not fuzzy, f"fuzzy (unchecked) {locale} translations: {fuzzy}"


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_placeholders_match(locale):
    with CATALOGS[locale].open("rb") as fh:
        catalog = read_po(fh)
    wrong = [
        (m.id, m.string) for m in catalog
        if m.id and _translated(m) and any(set(PLACEHOLDER.findall(_forms(m.id)[-1])) != set(PLACEHOLDER.findall(f))
                                           for f in _forms(m.string))
    ]
    assert not wrong, f"placeholders differ in {locale}: {wrong}"


# A count met by a noun ("%(n)d owners", "%(n)d of %(o)d owners", "round(s)"): English needs
# ngettext, or a reader sees "1 owners". Ordinals ("Art. %(n)d", "Version %(n)d") are not counts.
COUNT_MEETS_NOUN = re.compile(r"%\(\w+\)d(?: of %\(\w+\)d)? (?!(?:of|in|min|more|is|was|has|as)\b)[a-z]+s\b|\w\(s\)")
# Fixed limits that are never 1 ("at most %(n)d characters"): a constant, not a count.
FIXED_LIMIT = re.compile(r"(?:[Aa]t most|[Aa]t least|under|longer than|to) %\(\w+\)d (?:characters|options|clauses)")


def test_a_count_meeting_a_noun_uses_ngettext(source_messages):
    singular_only = [m.id for m in source_messages if isinstance(m.id, str)
                     and COUNT_MEETS_NOUN.search(FIXED_LIMIT.sub("", m.id))]
    assert not singular_only, "use ngettext (singular and plural) for: " + "; ".join(singular_only)
    assert COUNT_MEETS_NOUN.search("%(n)d owners") and COUNT_MEETS_NOUN.search("after %(n)d round(s).")
    assert COUNT_MEETS_NOUN.search("%(po)d of %(o)d owners took part")
    assert not COUNT_MEETS_NOUN.search("Art. %(n)d: %(text)s")
    assert not COUNT_MEETS_NOUN.search(FIXED_LIMIT.sub("", "At most %(n)d options."))


def test_english_plurals_read_right_for_one_and_many(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("en"):
        assert ngettext("%(num)d owner", "%(num)d owners", 1) == "1 owner"
        assert ngettext("%(num)d owner", "%(num)d owners", 3) == "3 owners"
        assert ngettext("%(num)d record", "%(num)d records", 1) == "1 record"
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert ngettext("%(num)d owner", "%(num)d owners", 3) == "3 位业主"


def test_chinese_is_not_english_copied():
    with CATALOGS["zh_Hans_CN"].open("rb") as fh:
        catalog = read_po(fh)
    copied = [m.id for m in catalog if m.id and _forms(m.string)[0] == _forms(m.id)[0]
              and re.search("[a-z]{2}", _forms(m.id)[0]) and m.id not in SAME_IN_CHINESE]
    assert not copied, f"left in English in the Chinese catalog: {copied}"


def test_pages_render_in_the_browser_language(client):
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "<title>首页 · 议事厅</title>" in chinese
    assert "<title>Home · Deliberation Hall</title>" in english
