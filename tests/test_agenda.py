"""Agenda items: drafts, the lifecycle, supports and the threshold, the list, sanitising."""

from __future__ import annotations

import threading
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from deliberation.agenda import services as agenda
from deliberation.agenda.models import AgendaItem, ItemEvent, ItemStatus, Support
from deliberation.communities.models import Role
from deliberation.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.text import render_markdown
from tests.factories import admin_of, make_community, make_item, make_member

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](javascript&#58;alert(1))",
    "![x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<details open ontoggle=alert(1)>",
    "<javascript:alert(1)>",
    "[x](vbscript:msgbox(1))",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "[a](<javascript:alert(1)>)",
]


class _Audit(HTMLParser):
    """Collect what a browser would act on: tags, event handlers, styles, URL schemes."""

    BAD_TAGS = {"script", "svg", "iframe", "img", "math", "style", "object", "embed", "body", "details", "form"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BAD_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag}[{name}]")
            if name in ("href", "src", "action", "formaction") and value:
                scheme = value.strip().lower().split(":", 1)[0] if ":" in value else ""
                if scheme not in ("", "http", "https", "mailto"):
                    self.found.append(f"{tag}[{name}={value}]")


def _dangerous(html: str) -> list[str]:
    audit = _Audit()
    audit.feed(html)
    return audit.found


@pytest.mark.parametrize("payload", XSS)
def test_markdown_rendering_removes_every_payload(payload):
    assert _dangerous(str(render_markdown(payload))) == []


def test_item_page_shows_no_payload(client, app):
    community = make_community()
    item = make_item(community, body="\n\n".join(XSS), title="<script>alert(1)</script>标题")
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    main = html.split('<main id="main"', 1)[1].split("</main>")[0]
    assert _dangerous(main) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in html  # shown as text, harmless


def test_drafts_are_private_until_submitted(app, client, auth):
    community = make_community()
    author = make_member(community)
    draft = make_item(community, author, submit=False)
    assert client.get(f"/c/{community.slug}/items/{draft.id}").status_code == 404
    assert draft.title not in client.get(f"/c/{community.slug}/items").get_data(as_text=True)
    other = make_member(community)
    with pytest.raises(PermissionDenied):
        agenda.save_draft(actor=other, community=community, title="x", body="", category_id=draft.category_id,
                          item_id=draft.id)
    agenda.save_draft(actor=author, community=community, title="改过的标题", body="", category_id=draft.category_id,
                      item_id=draft.id)
    auth.login(author)
    assert "改过的标题" in client.get(f"/c/{community.slug}/items/{draft.id}").get_data(as_text=True)
    agenda.submit_item(actor=author, community=community, item_id=draft.id)
    with pytest.raises(InvalidTransition):
        agenda.save_draft(actor=author, community=community, title="y", body="", category_id=draft.category_id,
                          item_id=draft.id)


def test_lifecycle_moves_are_checked_and_recorded(app, db):
    community = make_community()
    staff = make_member(community, Role.STAFF)
    chair = make_member(community, Role.CHAIR)
    author = make_member(community)
    item = make_item(community, author)
    with pytest.raises(PermissionDenied):
        agenda.accept_item(actor=author, community=community, item_id=item.id)
    agenda.accept_item(actor=staff, community=community, item_id=item.id)
    for to in (ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED, ItemStatus.VOTING, ItemStatus.DECIDED,
               ItemStatus.IMPLEMENTING, ItemStatus.CLOSED):
        agenda.advance_item(actor=chair, community=community, item_id=item.id, to=to)
    with pytest.raises(InvalidTransition):
        agenda.advance_item(actor=chair, community=community, item_id=item.id, to=ItemStatus.VOTING)
    with pytest.raises(PermissionDenied):
        agenda.advance_item(actor=author, community=community, item_id=item.id, to=ItemStatus.CLOSED)
    steps = [e.to_status for e in db.session.scalars(select(ItemEvent).where(ItemEvent.item_id == item.id)
                                                     .order_by(ItemEvent.id))]
    assert steps == ["draft", "submitted", "accepted", "in_review", "scheduled", "voting", "decided",
                     "implementing", "closed"]


def test_side_exits_withdraw_reject_merge(app, client):
    community = make_community()
    staff = make_member(community, Role.STAFF)
    author = make_member(community)
    a, b, c = make_item(community, author), make_item(community, author), make_item(community, author)
    with pytest.raises(PermissionDenied):
        agenda.withdraw_item(actor=staff, community=community, item_id=a.id)
    agenda.withdraw_item(actor=author, community=community, item_id=a.id, reason="重复了")
    with pytest.raises(ValidationError):
        agenda.reject_item(actor=staff, community=community, item_id=b.id, reason="")
    agenda.reject_item(actor=staff, community=community, item_id=b.id, reason="属于物业日常维修")
    assert "属于物业日常维修" in client.get(f"/c/{community.slug}/items/{b.id}").get_data(as_text=True)
    with pytest.raises(ValidationError):
        agenda.merge_item(actor=staff, community=community, item_id=c.id, into_id=b.id)  # b is closed
    d = make_item(community, author)
    agenda.merge_item(actor=staff, community=community, item_id=c.id, into_id=d.id)
    page = client.get(f"/c/{community.slug}/items/{c.id}").get_data(as_text=True)
    assert f"/c/{community.slug}/items/{d.id}" in page


def test_supports_once_each_and_threshold_accepts(app, db):
    community = make_community()
    community.support_threshold = 2
    db.session.commit()
    author = make_member(community)
    item = make_item(community, author)
    with pytest.raises(InvalidTransition):
        agenda.support_item(actor=author, community=community, item_id=item.id)
    first, second = make_member(community), make_member(community)
    agenda.support_item(actor=first, community=community, item_id=item.id)
    with pytest.raises(Conflict):
        agenda.support_item(actor=first, community=community, item_id=item.id)
    agenda.support_item(actor=second, community=community, item_id=item.id)
    db.session.refresh(item)
    assert item.status == ItemStatus.ACCEPTED and item.support_count == 2
    event = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == item.id, ItemEvent.to_status == "accepted"))
    assert event.actor_id is None  # by the threshold, not a person
    outsider = make_member(make_community())
    with pytest.raises(PermissionDenied):
        agenda.support_item(actor=outsider, community=community, item_id=item.id)


def test_concurrent_supports_count_exactly_and_accept_once(make_app, database_url):
    app = make_app()
    with app.app_context():
        community = make_community()
        community.support_threshold = 8
        from deliberation.extensions import db

        db.session.commit()
        item = make_item(community)
        supporters = [make_member(community).id for _ in range(16)]
        ids = (community.id, item.id)
        db.session.remove()
    barrier = threading.Barrier(len(supporters))
    outcomes = []

    def support(user_id):
        with app.app_context():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            user, community = db.session.get(User, user_id), db.session.get(Community, ids[0])
            db.session.commit()  # end the read before racing
            barrier.wait()
            try:
                agenda.support_item(actor=user, community=community, item_id=ids[1])
                outcomes.append("ok")
            except (InvalidTransition, Conflict) as err:
                outcomes.append(type(err).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=support, args=(uid,)) for uid in supporters]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with app.app_context():
        from deliberation.extensions import db

        item = db.session.get(AgendaItem, ids[1])
        rows = db.session.scalar(select(func.count(Support.id)).where(Support.item_id == item.id))
        accepted = db.session.scalar(select(func.count(ItemEvent.id)).where(
            ItemEvent.item_id == item.id, ItemEvent.to_status == "accepted"))
        assert item.support_count == rows == outcomes.count("ok")
        assert rows >= 8 and item.status == ItemStatus.ACCEPTED and accepted == 1
        assert len(outcomes) == 16  # everyone got an answer, nobody an exception


def test_list_filters_sorts_and_finds_chinese_substrings(app, client):
    community = make_community()
    author = make_member(community)
    parking = make_item(community, author, title="东侧夜间共享停车方案", body="十二个车位")
    make_item(community, author, title="垃圾分类洗手池", body="在投放点旁边加洗手池", category_key="environment")
    make_item(community, author, title="100%_通配符测试", body="")
    agenda.support_item(actor=make_member(community), community=community, item_id=parking.id)
    page = client.get(f"/c/{community.slug}/items?q=停车").get_data(as_text=True)
    assert "东侧夜间共享停车方案" in page and "垃圾分类" not in page
    assert "垃圾分类洗手池" in client.get(f"/c/{community.slug}/items?q=投放点").get_data(as_text=True)
    assert "东侧" not in client.get(f"/c/{community.slug}/items?q=%25").get_data(as_text=True)
    assert "通配符" in client.get(f"/c/{community.slug}/items?q=%25_").get_data(as_text=True)
    by_category = client.get(f"/c/{community.slug}/items?category=environment").get_data(as_text=True)
    assert "垃圾分类" in by_category and "东侧" not in by_category
    supported = client.get(f"/c/{community.slug}/items?sort=supported").get_data(as_text=True)
    assert supported.index("东侧") < supported.index("垃圾分类")
    fragment = client.get(f"/c/{community.slug}/items?status=submitted", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)


def test_newest_first_sorts_by_date_across_years_not_by_id(app, client):
    from datetime import datetime

    from deliberation.timeutil import travel_to

    community = make_community()
    author = make_member(community)
    today = make_item(community, author, title="今天提交的议题")
    # Entered after today's item (higher ids), but dated in earlier years.
    with travel_to(datetime(2025, 12, 31, 23, 0)):
        make_item(community, author, title="二零二五年底的议题")
    with travel_to(datetime(2024, 3, 1, 8, 0)):
        make_item(community, author, title="二零二四年的议题")
    with travel_to(datetime(2026, 1, 1, 1, 0)):
        make_item(community, author, title="二零二六年初的议题")
    titles = [i.title for i in agenda.list_items(community=community, viewer=None, sort="newest").items]
    assert titles == [today.title, "二零二六年初的议题", "二零二五年底的议题", "二零二四年的议题"]
    page = client.get(f"/c/{community.slug}/items?sort=newest").get_data(as_text=True)
    assert page.index("今天提交") < page.index("二零二六年初") < page.index("二零二五年底") < page.index("二零二四年")
    default = client.get(f"/c/{community.slug}/items").get_data(as_text=True)
    assert default.index("今天提交") < default.index("二零二五年底")


def test_pagination(app, client):
    community = make_community()
    author = make_member(community)
    for n in range(25):
        make_item(community, author, title=f"议题{n:02d}")
    first = client.get(f"/c/{community.slug}/items").get_data(as_text=True)
    second = client.get(f"/c/{community.slug}/items?page=2").get_data(as_text=True)
    assert "议题24" in first and "议题04" not in first and "议题04" in second
    assert client.get(f"/c/{community.slug}/items?page=abc").status_code == 200


def test_forged_item_ids_from_another_community(app, client, auth):
    mine, theirs = make_community(), make_community()
    staff = make_member(mine, Role.STAFF)
    their_item = make_item(theirs)
    auth.login(staff)
    assert client.get(f"/c/{mine.slug}/items/{their_item.id}").status_code == 404
    assert client.post(f"/c/{mine.slug}/items/{their_item.id}/accept").status_code == 404
    with pytest.raises(NotFound):
        agenda.accept_item(actor=staff, community=mine, item_id=their_item.id)


def test_supporting_works_without_javascript(app, client, auth, db):
    community = make_community()
    item = make_item(community)
    auth.login(make_member(community))
    response = client.post(f"/c/{community.slug}/items/{item.id}/support")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/items/{item.id}")
    db.session.refresh(item)
    assert item.support_count == 1
    assert "您已联名支持这个议题" in client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert admin_of(community)


def test_system_notes_on_the_timeline_are_shown_in_the_readers_language(app, client, db):
    community = make_community()
    community.support_threshold = 1
    db.session.commit()
    item = make_item(community)
    agenda.support_item(actor=make_member(community), community=community, item_id=item.id)
    chinese = client.get(f"/c/{community.slug}/items/{item.id}", headers={"Accept-Language": "zh-CN"})
    english = client.get(f"/c/{community.slug}/items/{item.id}", headers={"Accept-Language": "en"})
    assert "联名达到 1 人。" in chinese.get_data(as_text=True)
    assert "Reached 1 support." in english.get_data(as_text=True)
