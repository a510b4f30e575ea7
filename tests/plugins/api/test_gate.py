"""The API's gate: a token or nothing, refusals as problem+json, the token's person of today."""

from datetime import timedelta

from core.db import database
from core.db import utcnow
from tests.plugins.api.conftest import bearer

PROBLEM = "application/problem+json"


def test_a_token_acts_as_its_person_with_their_tabs(client, token_for):
    answer = client.get("/api/v1/", headers=bearer(token_for("admin@example.com")))
    assert answer.status_code == 200
    assert answer.json["person"]["name"] and answer.json["token"]["scope"] == "read"
    assert "activity" in answer.json["tabs"] and "settings" in answer.json["tabs"]
    contact = client.get("/api/v1/", headers=bearer(token_for("client@example.com")))
    assert contact.status_code == 200 and contact.json["tabs"] == []


def test_no_token_a_wrong_one_or_a_wrong_scheme_is_a_401_problem(client, token_for):
    token = token_for("admin@example.com")
    for headers in ({}, {"Authorization": token}, bearer("ast_nope"), bearer(token + "x"),
                    {"Authorization": f"Basic {token}"}):  # fmt: skip
        answer = client.get("/api/v1/", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.mimetype == PROBLEM and answer.json["status"] == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_or_expired_token_is_refused_on_its_next_request(app, client, people, token_for):
    from plugins.api.tokens import ApiToken
    from plugins.api.tokens import revoke_token

    token = token_for("admin@example.com")
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200
    with app.app_context(), database.atomic():
        revoke_token(ApiToken.get(), by=people["owner@example.com"])
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 401
    past = token_for("admin@example.com", expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/api/v1/", headers=bearer(past)).status_code == 401
    future = token_for("admin@example.com", expires_at=utcnow() + timedelta(days=1))
    assert client.get("/api/v1/", headers=bearer(future)).status_code == 200


def test_a_token_stops_when_its_person_may_no_longer_sign_in(app, client, people, token_for):
    from core.people import User

    token = token_for("teammate@example.com")
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200
    with app.app_context():
        User.update(active=False).where(User.email == "teammate@example.com").execute()
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 401


def test_a_url_no_route_matches_and_a_bad_method_answer_as_problems(client, token_for):
    headers = bearer(token_for("admin@example.com"))
    missing = client.get("/api/v1/nothing/here", headers=headers)
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    wrong = client.delete("/api/v1/", headers=headers)
    assert (
        wrong.status_code == 405 and wrong.mimetype == PROBLEM and "GET" in wrong.headers["Allow"]
    )


def test_only_the_digest_is_stored_and_creation_and_first_use_are_recorded(app, client, token_for):
    from core.events import ActivityEvent
    from plugins.api.tokens import ApiToken

    token = token_for("admin@example.com")
    with app.app_context():
        row = ApiToken.get()
        assert token not in {str(value) for value in row.__data__.values()}
        assert token.startswith(row.shown)
    for _ in range(3):
        assert client.get("/api/v1/", headers=bearer(token)).status_code == 200
    with app.app_context():
        verbs = [
            e.verb for e in ActivityEvent.select().where(ActivityEvent.object_type == "api_token")
        ]
    assert sorted(verbs) == ["api_token.created", "api_token.used"]


def test_a_tab_named_like_one_of_the_apis_own_urls_stops_start_up(make_app):
    import pytest

    from core import hookimpl
    from core.tabs import Tab

    class Docs:
        @hookimpl
        def register_tabs(self):
            return [Tab("docs", "Docs", 20, lambda viewer: "<p>docs</p>")]

    with pytest.raises(Exception, match="taken by the API's own URLs: docs"):
        make_app(plugins=[Docs()])


def test_every_request_of_a_token_counts_once_against_its_rate(app, client, token_for, mid_minute):
    app.config["API_RATE_LIMIT"] = 3
    token = bearer(token_for("teammate@example.com"))
    other = bearer(token_for("teammate@example.com", name="other"))
    # Reads count whatever their answer: a page, a tab the person does not see, no such tab.
    urls = ("/api/v1/", "/api/v1/activity", "/api/v1/nothing")
    assert [client.get(url, headers=token).status_code for url in urls] == [200, 403, 404]
    for url in ("/api/v1/", "/api/v1/activity", "/api/v1/email/1"):
        refused = client.get(url, headers=token)
        assert refused.status_code == 429 and refused.mimetype == PROBLEM, url
        assert 1 <= int(refused.headers["Retry-After"]) <= 120
        assert "3 requests in a minute" in refused.json["detail"]
    assert client.get("/api/v1/", headers=other).status_code == 200  # a rate of its own
    # The public documents take no token and count against none.
    assert client.get("/api/v1/openapi.json", headers=token).status_code == 200
