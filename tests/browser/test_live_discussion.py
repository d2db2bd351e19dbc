"""Two residents on one item see each other's comments appear without reloading, and a
resident whose connection drops sees what was said meanwhile, once."""

from __future__ import annotations

import pytest

from deliberation.extensions import db
from tests.browser.conftest import log_in, shoot
from tests.factories import make_community, make_item, make_member

WORDS = {"zh-CN": {"for": "赞成", "reply": "回复"}, "en": {"for": "For", "reply": "Reply"}}


@pytest.mark.parametrize("locale", list(WORDS))
def test_two_residents_see_each_others_comments_live(live_app, live_server, new_page, locale):
    lang, words = locale[:2], WORDS[locale]
    with live_app.app_context():
        community = make_community(slug=f"live-test-{lang}")
        item = make_item(community, title="东门夜间共享停车")
        wang = make_member(community, name="王阿姨").contact
        li = make_member(community, name="李建国").contact
        url = f"{live_server}/c/{community.slug}/items/{item.id}"
        db.session.remove()

    alice, bob = new_page(locale=locale), new_page(locale=locale, width=360)
    log_in(alice, live_server, wang)
    log_in(bob, live_server, li)
    alice.goto(url)
    bob.goto(url)
    bob.locator("html[data-live=connected]").wait_for(state="attached")
    alice.locator("html[data-live=connected]").wait_for(state="attached")

    alice.fill("#comment-form-new-body", "我赞成，晚上车太多了。")
    alice.check("input[name=stance][value=for]")
    alice.click("#comment-form-new button[type=submit]")
    bob.locator(".comment", has_text="我赞成，晚上车太多了。").wait_for(timeout=10000)
    bob.locator(".thread-header", has_text=f"{words['for']} 1").wait_for(timeout=10000)

    first_id = bob.locator(".comment", has_text="我赞成").first.get_attribute("id").split("-")[1]
    bob.locator(f"#comment-{first_id}-actions").get_by_role("link", name=words["reply"]).click()
    reply_form = bob.locator(f"#comment-form-{first_id}")
    reply_form.locator("textarea").fill("白天要把车开走哦。")
    reply_form.locator("button[type=submit]").click()
    reply_form.wait_for(state="detached")  # the reply form goes away once the reply is posted
    alice.locator(".replies .comment", has_text="白天要把车开走哦。").wait_for(timeout=10000)
    shoot(alice, f"live-discussion-1280-{lang}")
    shoot(bob, f"live-discussion-360-{lang}")

    # Bob loses the network; Alice posts; Bob comes back and catches up exactly once.
    bob.context.set_offline(True)
    bob.locator("html[data-live=offline]").wait_for(state="attached", timeout=30000)
    alice.fill("#comment-form-new-body", "断线期间说的话")
    alice.click("#comment-form-new button[type=submit]")
    alice.locator(".comment", has_text="断线期间说的话").wait_for(timeout=10000)
    bob.context.set_offline(False)
    bob.locator(".comment", has_text="断线期间说的话").wait_for(timeout=30000)
    assert bob.locator(".comment", has_text="断线期间说的话").count() == 1
    assert alice.locator(".comment", has_text="我赞成，晚上车太多了。").count() == 1
    assert alice.errors == [] and bob.errors == [], (alice.errors, bob.errors)
