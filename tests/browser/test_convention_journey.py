"""A community convention from first draft to the printed notice, in real browsers, in Chinese
and in English: the author writes it clause by clause; a neighbour on a phone comments on one
clause (the author's open page shows which clause, live) and proposes an amendment; the author
saves a second version and compares it; the chair freezes the text and prepares a vote on the
amendment and a final vote; the neighbour votes on the phone; the final vote adopts the text as
amended, which has its permanent page with the history and a printable notice with a QR code."""

from __future__ import annotations

import pytest

from deliberation.accounts.models import User
from deliberation.agenda import services as agenda
from deliberation.communities.models import Community, Role
from deliberation.conventions import services as conventions
from deliberation.conventions.models import Convention
from deliberation.extensions import db
from deliberation.voting import services as voting
from tests.browser.conftest import assert_accessible, log_in, shoot
from tests.factories import admin_of, make_community, make_item, make_member

LANGS = {"zh-CN": "zh", "en": "en"}
TEXT = """# 第一章 总则
为了文明养犬，制定本公约。
# 第二章 遛狗
遛狗时必须牵绳。
及时清理犬只粪便。
晚上十点后不在楼道遛狗。"""


@pytest.mark.parametrize("locale", list(LANGS))
def test_a_convention_from_draft_to_the_notice_board(live_app, live_server, new_page, locale):
    lang = LANGS[locale]
    with live_app.app_context():
        community = make_community(slug=f"journey-convention-{lang}")
        chair = make_member(community, Role.CHAIR, name="陈主持")
        author = make_member(community, name="刘芳")
        neighbour = make_member(community, name="李建国")
        others = [make_member(community, name=n) for n in ("王阿姨", "张伟")]
        item = make_item(community, author=author, title="制定文明养犬公约", category_key="conventions")
        ids = {"slug": community.slug, "item": item.id, "chair": chair.contact, "author": author.contact,
               "neighbour": neighbour.contact, "others": [o.id for o in others], "community": community.id}
        db.session.remove()
    base = f"{live_server}/c/{ids['slug']}"
    item_url = f"{base}/items/{ids['item']}"

    # The author writes the text on their item.
    desk = new_page(locale=locale)
    log_in(desk, live_server, ids["author"])
    desk.goto(item_url)
    desk.locator(f"a[href$='/items/{ids['item']}/convention']").click()
    assert_accessible(desk)
    desk.fill("#title", "阳光社区文明养犬公约")
    desk.fill("#text", TEXT)
    desk.locator("main form button[type=submit]").click()
    desk.wait_for_url("**/conventions/*")
    convention_url = desk.url.split("#")[0]
    assert desk.locator(".clause").count() == 4
    with live_app.app_context():
        convention_id = int(convention_url.rsplit("/", 1)[1])
        keys = [c["key"] for c in conventions.current_clauses(db.session.get(Convention, convention_id))]
        db.session.remove()
    desk.goto(item_url)  # the author watches the discussion

    # A neighbour on a phone comments on Art. 2 and proposes an amendment to Art. 4.
    phone = new_page(locale=locale, width=360)
    log_in(phone, live_server, ids["neighbour"])
    phone.goto(convention_url)
    assert_accessible(phone)
    phone.locator(f"#clause-{keys[1]} a[href*='/items/'][href*='clause={keys[1]}']").click()
    phone.locator("#comment-form-new-body").fill("绳子多长？最好写清楚。")
    phone.check("#comment-form-new input[name=stance][value=question]")
    assert phone.locator("#comment-form-new-clause").input_value() == keys[1]
    phone.locator("#comment-form-new button[type=submit]").click()
    desk.locator(".comment .clause-ref").first.wait_for(timeout=10000)  # live, names the clause
    assert "2" in desk.locator(".comment .clause-ref").first.inner_text()
    phone.goto(convention_url)
    phone.locator(f"#clause-{keys[3]} a[href*='/amendments/new']").click()
    assert_accessible(phone)
    phone.fill("#text", "晚上十点后不在楼道和电梯里遛狗。")
    phone.fill("#reason", "电梯里也常有狗叫。")
    phone.locator("main form button[type=submit]").click()
    phone.locator("#amendment-1").wait_for()
    shoot(phone, f"convention-draft-360-{lang}")

    # The author saves version 2 and compares it with version 1.
    desk.goto(convention_url)
    desk.locator("a[href$='/edit']").click()
    desk.fill("#text", TEXT.replace("遛狗时必须牵绳。", "遛狗时必须牵绳，绳长不超过1.5米。"))
    desk.fill("#note", "写清绳长")
    desk.locator("main form button[type=submit]").click()
    desk.wait_for_url("**/compare?a=1&b=2")
    assert "1.5" in desk.locator(".diff ins").first.inner_text()
    assert_accessible(desk)
    shoot(desk, f"convention-compare-1280-{lang}")

    # The chair freezes the text and prepares the votes: the amendment, then the final vote.
    with live_app.app_context():
        agenda.accept_item(actor=admin_of(db.session.get(Community, ids["community"])),
                           community=db.session.get(Community, ids["community"]), item_id=ids["item"])
        db.session.remove()
    chair_page = new_page(locale=locale)
    log_in(chair_page, live_server, ids["chair"])
    chair_page.goto(convention_url)
    chair_page.locator("form[action$='/freeze'] button").click()
    chair_page.wait_for_url("**/votes")
    assert_accessible(chair_page)
    assert chair_page.locator("input[name=mode][value=clauses]").is_checked()  # an amendment waits
    chair_page.select_option("#preset", "custom")
    chair_page.locator("details summary").click()
    chair_page.select_option("#electorate", "residents")
    chair_page.select_option("#weighting", "person")
    chair_page.locator("main form button[type=submit]").click()
    chair_page.wait_for_url(f"{convention_url}*")
    amendment_vote = chair_page.locator("#votes a[href*='/measures/']").first.get_attribute("href")

    # The neighbour votes on the amendment on the phone.
    phone.goto(f"{live_server}{amendment_vote}")
    phone.check("input[name=choice][value=yes]")
    phone.locator("form[action$='/vote'] button[type=submit]").first.click()
    phone.locator(".ballot-summary").wait_for()
    phone.locator(".confirm form[method=post] button[type=submit]").click()
    phone.locator(".receipt-code").wait_for()
    with live_app.app_context():
        community = db.session.get(Community, ids["community"])
        convention = db.session.get(Convention, convention_id)
        for vote, measure in conventions.votes_of(convention):
            if vote.role == "amendment":
                for voter_id in ids["others"]:
                    voting.cast_ballot(actor=db.session.get(User, voter_id), community=community,
                                       measure_id=measure.id, content={"choice": "yes"})
                voting.close_measure(actor=admin_of(community), community=community, measure_id=measure.id)
        db.session.remove()

    # The chair opens the final vote; everyone votes; the text as amended is adopted.
    chair_page.goto(convention_url)
    chair_page.locator("form[action$='/final'] button[type=submit]").click()
    chair_page.wait_for_url(f"{convention_url}*")
    with live_app.app_context():
        community = db.session.get(Community, ids["community"])
        convention = db.session.get(Convention, convention_id)
        final = next(m for v, m in conventions.votes_of(convention) if v.role == "final")
        assert final.status == "open" and "晚上十点后不在楼道和电梯里遛狗。" in final.frozen_text
        for voter_id in ids["others"]:
            voting.cast_ballot(actor=db.session.get(User, voter_id), community=community,
                               measure_id=final.id, content={"choice": "yes"})
        voting.close_measure(actor=admin_of(community), community=community, measure_id=final.id)
        db.session.remove()

    reader = new_page(locale=locale, width=360)
    reader.goto(convention_url)
    assert reader.locator(".status-convention-adopted").count() == 1
    assert "电梯" in reader.locator(f"#clause-{keys[3]}").inner_text()
    # The text in force stands alone; how it came about is folded behind a link.
    assert reader.locator("#history").is_hidden()
    reader.locator("#how-it-came-about summary").click()
    reader.locator("#history").wait_for()
    assert_accessible(reader)
    shoot(reader, f"convention-adopted-360-{lang}")
    reader.goto(f"{convention_url}/print")
    assert reader.locator(".print-qr svg").count() == 1
    shoot(reader, f"convention-print-360-{lang}")
    for page in (desk, phone, chair_page, reader):
        assert page.errors == [], page.errors
