"""The first steps of a decision's path in real browsers, each in Chinese and in English, with
several people at once:

- a newcomer registers and asks to join; staff verify them; they submit an item; two neighbours
  support it, and it goes on the agenda — the author's open page shows it without a reload;
- a chair asks the legal adviser for a review; the adviser raises a legal objection; the vote
  cannot be opened until the objection is answered and resolved; then it opens.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from deliberation.agenda import services as agenda
from deliberation.communities.models import Role
from deliberation.extensions import db
from deliberation.timeutil import utcnow
from deliberation.voting import services as voting
from tests.browser.conftest import assert_accessible, log_in, shoot
from tests.factories import PASSWORD, admin_of, make_community, make_item, make_member, make_unit
from tests.test_verification import last_code

LANGS = {"zh-CN": "zh", "en": "en"}


@pytest.mark.parametrize("locale", list(LANGS))
def test_newcomer_to_an_item_on_the_agenda(live_app, live_server, new_page, locale):
    lang = LANGS[locale]
    with live_app.app_context():
        community = make_community(slug=f"journey-join-{lang}")
        community.support_threshold = 2
        db.session.commit()
        make_unit(community, label="3-1-502", area="88.00")
        staff = make_member(community, Role.STAFF, name="社工小林").contact
        neighbours = [make_member(community, name=n).contact for n in ("李建国", "刘芳")]
        slug = community.slug
        db.session.remove()
    base = f"{live_server}/c/{slug}"
    phone = f"newcomer-{lang}@example.org"  # an email: the factories hand out phone numbers

    newcomer = new_page(locale=locale, width=360)
    newcomer.goto(f"{live_server}/register")
    assert_accessible(newcomer)
    newcomer.fill("#display_name", "赵小明")
    newcomer.fill("#contact", phone)
    newcomer.fill("#password", PASSWORD)
    newcomer.check("#privacy_consent")
    newcomer.locator("main form button[type=submit]").click()
    # The account exists once the code sent to the address comes back (no mail server here:
    # the code goes to the log, which the test reads).
    newcomer.wait_for_url("**/register/confirm/**")
    assert_accessible(newcomer)
    newcomer.fill("#code", last_code(phone))
    newcomer.locator("main form button[type=submit]").first.click()
    newcomer.wait_for_url(f"{live_server}/")
    newcomer.goto(f"{base}/join")
    assert_accessible(newcomer)
    # The register offers building, then entrance, then room (no free text to mistype).
    newcomer.select_option("#building", "3")
    newcomer.locator("select#entrance").wait_for()
    newcomer.select_option("#entrance", "1")
    newcomer.locator("select#room").wait_for()
    newcomer.select_option("#room", "502")
    shoot(newcomer, f"journey-join-picker-360-{lang}")
    newcomer.locator("main form button[type=submit]:not([formmethod])").click()
    shoot(newcomer, f"journey-join-request-360-{lang}")

    desk = new_page(locale=locale, width=1920, height=1080)
    log_in(desk, live_server, staff)
    desk.goto(f"{base}/members")
    assert_accessible(desk)
    row = desk.locator("tr, li, .member", has_text="赵小明")
    row.locator("input[name=as_owner]").check()  # verified and linked as owner in one step
    row.locator("form[action$='/verify'] button").first.click()
    desk.locator("form[action$='/verify']").wait_for(state="detached")
    shoot(desk, f"journey-members-1920-{lang}")

    newcomer.goto(f"{base}/items/new")
    assert_accessible(newcomer)
    newcomer.fill("#title", "3号楼门口加装无障碍坡道")
    newcomer.select_option("#category_id", index=1)
    newcomer.fill("#body", "轮椅和婴儿车进出很不方便，建议在台阶旁加一条坡道。")
    newcomer.locator("button[name=submit_now][value='1']").click()
    newcomer.locator(".status-item-submitted").wait_for()
    item_url = newcomer.url
    newcomer.locator("html[data-live=connected]").wait_for(state="attached")

    for contact in neighbours:
        neighbour = new_page(locale=locale)
        log_in(neighbour, live_server, contact)
        neighbour.goto(item_url)
        neighbour.locator("form[action$='/support'] button").click()
        neighbour.locator("form[action$='/support']").wait_for(state="detached")
        assert neighbour.errors == [], neighbour.errors
    newcomer.locator(".status-item-accepted").wait_for(timeout=10000)  # live, without a reload
    assert_accessible(newcomer)
    shoot(newcomer, f"journey-item-accepted-360-{lang}")
    assert newcomer.errors == [] and desk.errors == [], (newcomer.errors, desk.errors)


@pytest.mark.parametrize("locale", list(LANGS))
def test_a_legal_objection_blocks_the_vote_until_resolved(live_app, live_server, new_page, locale):
    lang = LANGS[locale]
    with live_app.app_context():
        community = make_community(slug=f"journey-legal-{lang}")
        chair = make_member(community, Role.CHAIR, name="陈主持")
        lawyer = make_member(community, Role.LEGAL, name="郑律师")
        author = make_member(community, name="刘芳")
        item = make_item(community, author=author, title="制定文明养犬公约")
        agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
        measure = voting.create_measure(actor=chair, community=community, item_id=item.id, draft=voting.MeasureDraft(
            kind="convention", question="是否通过文明养犬公约？", text="1. 遛狗牵绳。\n2. 违者罚款 200 元。",
            closes_at=utcnow() + timedelta(days=3)))
        ids = {"slug": community.slug, "item": item.id, "measure": measure.id, "lawyer_id": lawyer.id,
               "chair": chair.contact, "lawyer": lawyer.contact, "author": author.contact}
        db.session.remove()
    base = f"{live_server}/c/{ids['slug']}"
    item_url, measure_url = f"{base}/items/{ids['item']}", f"{base}/measures/{ids['measure']}"

    chair_page = new_page(locale=locale)
    log_in(chair_page, live_server, ids["chair"])
    chair_page.goto(f"{item_url}/reviews/request")
    assert_accessible(chair_page)
    chair_page.check(f"input[name=reviewer_ids][value='{ids['lawyer_id']}']")
    chair_page.fill("#question", "罚款条款是否合法？")
    chair_page.fill("#due_on", (utcnow().date() + timedelta(days=5)).isoformat())
    chair_page.locator("main form button[type=submit]").click()
    chair_page.wait_for_url(f"{item_url}*")

    lawyer_page = new_page(locale=locale, width=360)
    log_in(lawyer_page, live_server, ids["lawyer"])
    lawyer_page.goto(f"{base}/reviews/mine")
    lawyer_page.locator("a[href*='/reviews/requests/']").first.click()
    lawyer_page.locator("button[name=accept][value='1']").click()
    assert_accessible(lawyer_page)
    lawyer_page.select_option("#verdict", "legal_objection")
    lawyer_page.fill("#body", "社区公约不能设定罚款，请删除第 2 条中的罚款。")
    lawyer_page.locator("form:has(#verdict) button[type=submit]").click()
    lawyer_page.wait_for_url(f"{item_url}*")

    chair_page.goto(measure_url)
    chair_page.locator(f"form[action$='/measures/{ids['measure']}/open'] button").click()
    chair_page.locator(".flash-error, .form-errors, [role=alert]").first.wait_for()
    assert chair_page.locator(f"form[action$='/measures/{ids['measure']}/open']").count() == 1  # still closed
    shoot(chair_page, f"journey-vote-blocked-1280-{lang}")
    assert_accessible(chair_page)

    author_page = new_page(locale=locale)
    log_in(author_page, live_server, ids["author"])
    author_page.goto(item_url)
    author_page.locator("a[href$='/answer']").first.click()
    assert_accessible(author_page)
    author_page.fill("#body", "已删除罚款，改为由物业提醒并在公告栏公示。")
    author_page.locator("main form button[type=submit]").click()
    author_page.wait_for_url(f"{item_url}*")

    lawyer_page.goto(item_url)
    lawyer_page.locator("a[href$='/close']").first.click()
    assert_accessible(lawyer_page)
    lawyer_page.locator("button[name=withdraw][value='0']").click()
    lawyer_page.wait_for_url(f"{item_url}*")

    chair_page.goto(measure_url)
    chair_page.locator(f"form[action$='/measures/{ids['measure']}/open'] button").click()
    chair_page.locator(f"form[action$='/measures/{ids['measure']}/close']").wait_for()  # the vote is open
    shoot(chair_page, f"journey-vote-open-1280-{lang}")
    for page in (chair_page, lawyer_page, author_page):
        assert page.errors == [], page.errors
