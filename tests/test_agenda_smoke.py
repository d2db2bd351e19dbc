from tests.factories import make_community, make_member


def test_item_flow_through_pages(client, auth, app):
    community = make_community()
    author = make_member(community, name="王阿姨")
    supporter = make_member(community, name="李建国")
    community.support_threshold = 1
    from deliberation.extensions import db

    db.session.commit()
    auth.login(author)
    page = client.get(f"/c/{community.slug}/items/new")
    assert page.status_code == 200
    from deliberation.agenda.services import categories

    cat = categories(community)[0]
    r = client.post(f"/c/{community.slug}/items/new",
                    data={"title": "东侧车道夜间改为共享停车", "category_id": cat.id, "body": "**建议**", "submit_now": "1"})
    assert r.status_code == 303, r.get_data(as_text=True)
    item_url = r.headers["Location"]
    r = client.get(item_url)
    assert r.status_code == 200
    assert "东侧车道" in r.get_data(as_text=True)
    r = client.post(item_url + "/comments", data={"body": "我赞成 @李建国", "stance": "for", "client_token": "t1"})
    assert r.status_code == 303, r.get_data(as_text=True)
    r = client.post(item_url + "/comments", data={"body": "我赞成 @李建国", "stance": "for", "client_token": "t1"})
    assert r.status_code == 303
    auth.logout()
    auth.login(supporter)
    r = client.post(item_url + "/support")
    assert r.status_code == 303
    page = client.get(item_url).get_data(as_text=True)
    assert "mention" in page
    r = client.get(f"/c/{community.slug}/items?q=车道")
    assert "东侧车道" in r.get_data(as_text=True)
    r = client.get("/notifications/")
    assert r.status_code == 200
