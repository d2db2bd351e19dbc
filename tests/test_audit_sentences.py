"""The audit log reads as sentences in the reader's language, linking to what was acted on;
the raw action keys and details stay available in the CSV export."""

from __future__ import annotations

import csv
import io
import json

from deliberation.audit.sentences import SENTENCES
from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.voting import services as voting
from tests.factories import admin_of, make_community, make_measure, make_member


def test_the_log_says_what_happened_in_sentences_with_links(client, auth):
    community = make_community()
    admin = admin_of(community)
    person = make_member(community, name="李建国")
    communities.grant_role(actor=admin, community=community, user_id=person.id, role="chair")
    measure = make_measure(community, chair=person)
    voting.close_measure(actor=admin, community=community, measure_id=measure.id)
    auth.login(admin)
    chinese = client.get(f"/c/{community.slug}/audit/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"{admin.display_name} 授予 李建国 “主持人”角色。" in chinese
    link = f'<a href="/c/{community.slug}/measures/{measure.id}">表决 #{measure.id}</a>'
    assert f"{admin.display_name} 结束了 {link}：" in chinese
    assert "measure_id: " not in chinese and "<code class=\"muted\"" in chinese and "measure.closed" in chinese
    english = client.get(f"/c/{community.slug}/audit/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"{admin.display_name} made 李建国 Meeting chair." in english
    assert f'closed <a href="/c/{community.slug}/measures/{measure.id}">vote #{measure.id}</a>: ' in english
    assert f'<a href="/c/{community.slug}/items/{measure.item_id}">item #{measure.item_id}</a>' in english


def test_the_csv_export_keeps_the_raw_keys_and_details_and_is_for_admins(client, auth):
    community = make_community()
    admin = admin_of(community)
    person = make_member(community, Role.STAFF, name="社工<b>小林</b>")
    auth.login(admin)
    rows = list(csv.reader(io.StringIO(client.get(f"/c/{community.slug}/audit/export.csv?action=role.granted")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][4] == "action" and [r[4] for r in rows[1:]] == ["role.granted"]
    assert json.loads(rows[1][7]) == {"role": "staff"} and rows[1][6] == "社工<b>小林</b>"
    # A name is text, never markup, in the sentence.
    page = client.get(f"/c/{community.slug}/audit/").get_data(as_text=True)
    assert "社工&lt;b&gt;小林&lt;/b&gt;" in page and "社工<b>小林</b>" not in page
    auth.logout()
    auth.login(person)
    assert client.get(f"/c/{community.slug}/audit/export.csv").status_code == 403


def test_every_action_the_services_record_has_a_sentence():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent / "deliberation"
    recorded = {m for path in root.rglob("*.py")
                for m in re.findall(r'record\([^)]*?action="([a-z_.]+)"', path.read_text(encoding="utf-8"), re.S)}
    assert recorded and not recorded - set(SENTENCES), sorted(recorded - set(SENTENCES))
