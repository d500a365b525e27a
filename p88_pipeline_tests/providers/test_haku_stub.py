"""The Haku stub itself speaks PROVIDERS.md's Haku (the stub lives in haku_stub.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from p88_pipeline_tests.providers.haku_stub import HakuStub, registration


def test_stub_token_wants_basic_auth_and_the_client_credentials_grant() -> None:
    with HakuStub() as stub:
        form = {"grant_type": "client_credentials"}
        ok = requests.post(stub.token_url, auth=(stub.client_id, stub.client_secret), data=form)
        assert ok.status_code == 200 and ok.json()["expires_in"] == 3600
        wrong = requests.post(stub.token_url, auth=(stub.client_id, "nope"), data=form)
        assert wrong.status_code == 401
        token = ok.json()["access_token"]
        events = f"{stub.base_url}/events"
        assert requests.get(events, headers={"Authorization": token}).status_code == 200
        bearer = requests.get(events, headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401


def test_stub_sorts_participants_newest_first_and_pages() -> None:
    with HakuStub() as stub:
        stub.participants["9"] = [
            registration(n, datetime(2026, 1, 1, tzinfo=UTC).replace(minute=n)) for n in range(5)
        ]
        stub.tokens.add("t")
        got = requests.get(
            f"{stub.base_url}/events/9/participants",
            headers={"Authorization": "t"},
            params={
                "page": 2,
                "per_page": 2,
                "sort_column": "updated_at",
                "sort_direction": "desc",
            },
        ).json()
        assert [r["registration_number"] for r in got] == ["2", "1"]
