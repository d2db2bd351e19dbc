from tests.factories import make_community, make_user


def test_home_lists_communities(client, app):
    make_community(name="阳光社区")
    response = client.get("/")
    assert response.status_code == 200
    assert "阳光社区" in response.get_data(as_text=True)


def test_login_then_account_page(client, auth):
    user = make_user("王阿姨")
    assert auth.login(user).status_code == 303
    assert "王阿姨" in client.get("/account").get_data(as_text=True)
