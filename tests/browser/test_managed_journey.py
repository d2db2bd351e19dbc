"""A resident without a phone takes part through staff, in real browsers, in Chinese and in
English: staff open "act for 钱奶奶" on a phone, support an item and post her comment (a
neighbour's page shows both as entered by staff), enter her paper ballot and print her receipt
slip; later she takes over the account with her own phone, staff confirm, and she logs in."""

from __future__ import annotations

import pytest

from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.extensions import db
from tests.browser.conftest import assert_accessible, log_in, shoot
from tests.factories import PASSWORD, make_community, make_item, make_measure, make_member

LANGS = {"zh-CN": "zh", "en": "en"}
ENTERED = {"zh": "由工作人员代为录入", "en": "Entered by staff"}


@pytest.mark.parametrize("locale", list(LANGS))
def test_staff_act_for_a_resident_without_a_phone(live_app, live_server, new_page, locale):
    lang = LANGS[locale]
    phone = "1370000" + ("1111" if lang == "zh" else "2222")
    with live_app.app_context():
        community = make_community(slug=f"journey-managed-{lang}")
        staff = make_member(community, Role.STAFF, name="社工小林")
        grandma = communities.create_managed_account(actor=staff, community=community, display_name="钱奶奶",
                                                     building="3", entrance="1", room="101")
        neighbour = make_member(community, name="李建国")
        item = make_item(community, neighbour, title="东门装路灯")
        measure = make_measure(community, secret=False, question="是否同意在东门装两盏路灯？")
        ids = {"slug": community.slug, "staff": staff.contact, "neighbour": neighbour.contact,
               "grandma": grandma.id, "item": item.id, "measure": measure.id}
        db.session.remove()
    base = f"{live_server}/c/{ids['slug']}"

    desk = new_page(locale=locale, width=360)
    log_in(desk, live_server, ids["staff"])
    desk.goto(f"{base}/residents")
    assert_accessible(desk)
    desk.locator(f"a[href$='/residents/{ids['grandma']}']").first.click()
    desk.locator("#support").wait_for()
    assert_accessible(desk)
    shoot(desk, f"managed-act-for-360-{lang}")

    # Her support and her comment.
    desk.locator("#support form button").first.click()
    desk.locator("#support .ok").wait_for()
    desk.select_option("#item_id", str(ids["item"]))
    desk.select_option("#stance", "for")
    desk.fill("#body", "晚上太黑，我赞成。")
    desk.locator("#comment form button[type=submit]").click()
    desk.locator(".flash, .flashes").first.wait_for()

    reader = new_page(locale=locale, width=1920, height=1080)
    log_in(reader, live_server, ids["neighbour"])
    reader.goto(f"{base}/items/{ids['item']}")
    assert reader.locator(".comment", has_text="晚上太黑").locator(".badge-entered").inner_text() == ENTERED[lang]
    assert reader.locator(".badge-entered").count() >= 2  # her support too
    assert_accessible(reader)
    shoot(reader, f"managed-item-1920-{lang}")

    # Her paper ballot, then the receipt slip staff print for her.
    desk.goto(f"{base}/residents/{ids['grandma']}")
    desk.locator(f"#votes a[href*='/measures/{ids['measure']}/paper']").click()
    assert desk.locator("#voter_id").input_value() == str(ids["grandma"])
    desk.locator("input[name=choice][value=yes]").check()
    desk.locator("main form button[type=submit]").first.click()
    desk.locator("main form button.button-large").click()
    receipt = desk.locator(".receipt-code").inner_text().strip()
    desk.locator("form[action$='/paper/slip'] button").click()
    desk.locator(".slip").wait_for()
    assert desk.locator(".slip .receipt-code").inner_text().strip() == receipt
    assert "钱奶奶" in desk.locator(".slip").inner_text()
    assert_accessible(desk)
    shoot(desk, f"managed-slip-360-{lang}")
    desk.emulate_media(media="print")
    shoot(desk, f"managed-slip-print-{lang}")
    desk.emulate_media(media="screen")

    # Later: she takes over the account with her own phone; staff confirm; she logs in.
    desk.goto(f"{base}/residents/{ids['grandma']}")
    desk.locator("#claim button[value=start]").click()
    code = desk.locator(".receipt-code").inner_text().strip()
    her_phone = new_page(locale=locale, width=360)
    her_phone.goto(f"{base}/claim")
    assert_accessible(her_phone)
    her_phone.fill("#code", code)
    her_phone.fill("#phone", phone)
    her_phone.fill("#password", PASSWORD)
    her_phone.locator("main form button[type=submit]").click()
    her_phone.locator("a[href$='/login']").last.wait_for()
    desk.goto(f"{base}/residents/{ids['grandma']}")
    assert phone[-4:] in desk.locator("#claim").inner_text()
    desk.locator("#claim button[value=confirm]").click()
    desk.wait_for_url(f"{base}/residents")
    log_in(her_phone, live_server, phone)
    for page in (desk, reader, her_phone):
        assert page.errors == [], page.errors
