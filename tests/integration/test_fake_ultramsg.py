"""FakeUltraMsg over real HTTP: it answers like UltraMsg, fails on demand, and the
client works against it end to end."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import msgspec
import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_manager.adapters.fake_ultramsg import (
    FakeUltraMsg,
    demo_chats,
    demo_messages,
    encode_chats,
    generate_chats,
    sample_chats,
)
from wa_manager.adapters.ultramsg import UltraMsgClient
from wa_manager.config import Secret
from wa_manager.domain.errors import UpstreamBadResponse, UpstreamRejected, UpstreamUnavailable
from wa_manager.domain.model import RawChat

FAKE_TOKEN = "fake-token"


@pytest.fixture
def fake() -> Iterator[FakeUltraMsg]:
    with FakeUltraMsg() as server:
        yield server


def get(fake: FakeUltraMsg, path: str, token: str | None = FAKE_TOKEN) -> httpx.Response:
    params = {} if token is None else {"token": token}
    return httpx.get(f"{fake.base_url}{path}", params=params, timeout=10)


def client_for(fake: FakeUltraMsg, **overrides: object) -> UltraMsgClient:
    options: dict[str, object] = {
        "base_url": fake.base_url,
        "instance_id": fake.instance_id,
        "token": Secret(fake.token),
        "timeout": 5,
        "sleep": lambda seconds: None,
    }
    options.update(overrides)
    return UltraMsgClient(**options)  # type: ignore[arg-type]


def test_it_serves_the_sample_chats(fake: FakeUltraMsg) -> None:
    response = get(fake, "/instance12345/chats")
    assert response.status_code == 200
    assert response.json() == sample_chats()
    assert fake.requests == 1


def test_it_listens_on_loopback_only(fake: FakeUltraMsg) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(ValueError, match="loopback"):
        FakeUltraMsg(host="0.0.0.0")


def test_wrong_and_missing_tokens_are_answered_like_ultramsg(fake: FakeUltraMsg) -> None:
    wrong = get(fake, "/instance12345/chats", token="nope")
    assert wrong.status_code == 200
    assert wrong.json() == {"error": "Wrong token. Please provide token as a GET parameter."}
    missing = get(fake, "/instance12345/chats", token=None)
    assert missing.json() == {"error": [{"token": "is required"}]}


def test_an_unknown_instance_is_a_404(fake: FakeUltraMsg) -> None:
    response = get(fake, "/instance999/chats")
    assert response.status_code == 404
    assert response.json() == {"error": "Instance not found"}


def test_queued_failures_come_first_then_it_recovers(fake: FakeUltraMsg) -> None:
    fake.fail(503, times=2, retry_after=3)
    first, second, third = (get(fake, "/instance12345/chats") for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["Retry-After"] == "3"
    assert third.json() == sample_chats()


def test_a_failure_queue_can_be_cleared(fake: FakeUltraMsg) -> None:
    fake.fail(500, times=5)
    fake.fail(500, times=0)
    assert get(fake, "/instance12345/chats").status_code == 200


def test_changes_to_the_chat_list_are_served(fake: FakeUltraMsg) -> None:
    fake.chats.append({"id": "4915100000001@c.us", "name": "New"})
    fake.chats[0]["name"] = "Renamed"
    served = get(fake, "/instance12345/chats").json()
    assert served[-1] == {"id": "4915100000001@c.us", "name": "New"}
    assert served[0]["name"] == "Renamed"


def test_a_large_list_is_encoded_once_per_change(fake: FakeUltraMsg) -> None:
    fake.chats = generate_chats(20_000)
    body = fake.chats_body()
    assert fake.chats_body() is body
    fake.chats.append({"id": "4915100000001@c.us", "name": "New"})
    changed = fake.chats_body()
    assert changed is not body
    assert changed == encode_chats(fake.chats)


def test_garbage_bodies_can_be_served(fake: FakeUltraMsg) -> None:
    fake.set_body(b"<html>oops</html>")
    assert get(fake, "/instance12345/chats").content == b"<html>oops</html>"
    fake.set_body(None)
    assert get(fake, "/instance12345/chats").json() == sample_chats()


def test_instance_status(fake: FakeUltraMsg) -> None:
    assert client_for(fake).instance_status() == "authenticated"
    fake.status = "qr"
    assert get(fake, "/instance12345/instance/status").json() == {
        "status": {"accountStatus": {"status": "qr", "substatus": "qr"}}
    }


# -- the client against the fake, end to end ----------------------------------


def test_the_client_reads_the_sample_chats(fake: FakeUltraMsg) -> None:
    chats = client_for(fake).fetch_chats()
    assert chats == [RawChat(chat["id"], chat.get("name")) for chat in sample_chats()]


def test_the_client_rides_out_queued_failures(fake: FakeUltraMsg) -> None:
    fake.fail(500, times=2)
    assert len(client_for(fake).fetch_chats()) == len(sample_chats())
    assert fake.requests == 3


def test_the_client_gives_up_on_a_fake_that_keeps_failing(fake: FakeUltraMsg) -> None:
    fake.fail(502, times=10)
    with pytest.raises(UpstreamUnavailable, match="HTTP 502"):
        client_for(fake).fetch_chats()
    assert fake.requests == 4


def test_the_client_times_out_on_a_stalled_fake(fake: FakeUltraMsg) -> None:
    fake.delay(5, times=2)
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        client_for(fake, timeout=0.2, max_attempts=2).fetch_chats()


def test_the_client_reports_the_fakes_errors(fake: FakeUltraMsg) -> None:
    with pytest.raises(UpstreamRejected, match="ULTRAMSG_TOKEN"):
        client_for(fake, token=Secret("nope")).fetch_chats()
    with pytest.raises(UpstreamRejected, match="ULTRAMSG_INSTANCE_ID"):
        client_for(fake, instance_id="instance999").fetch_chats()
    fake.set_body(b'[{"id": "1@c.us", "na')
    with pytest.raises(UpstreamBadResponse, match="cut off"):
        client_for(fake).fetch_chats()


def test_the_client_reads_many_generated_chats(fake: FakeUltraMsg) -> None:
    fake.chats = generate_chats(50_000, seed=3)
    chats = client_for(fake).fetch_chats()
    assert chats == [RawChat(chat["id"], chat["name"]) for chat in fake.chats]


# -- the chat sets --------------------------------------------------------------


def test_sample_chats_cover_every_kind_of_id_and_awkward_name() -> None:
    chats = sample_chats()
    ids = [chat["id"] for chat in chats]
    names = [chat.get("name") for chat in chats]
    assert 35 <= len(chats) <= 45
    assert len(set(ids)) == len(ids)
    assert {"status@broadcast", "0@c.us"} <= set(ids)
    assert any(i.endswith("@lid") for i in ids)
    assert any(i.endswith("@newsletter") for i in ids)
    assert any(i.startswith("120363") and i.endswith("@g.us") for i in ids)
    assert any("-" in i and i.endswith("@g.us") for i in ids)
    assert "<script>alert(1)</script>" in names
    assert any(name and len(name) == 2000 for name in names)
    assert any(name and any("\u0590" <= c <= "\u06ff" for c in name) for name in names)
    assert None in names
    assert any("name" not in chat for chat in chats)
    countries = {
        phonenumbers.region_code_for_number(phonenumbers.parse("+" + i.removesuffix("@c.us")))
        for i in ids
        if i.endswith("@c.us") and i != "0@c.us"
    }
    assert len(countries) >= 8


def test_sample_person_numbers_are_valid() -> None:
    for chat in sample_chats():
        if chat["id"].endswith("@c.us") and chat["id"] != "0@c.us":
            number = phonenumbers.parse("+" + chat["id"].removesuffix("@c.us"))
            assert phonenumbers.is_valid_number(number), chat["id"]


def test_generated_chats_are_distinct_realistic_and_deterministic() -> None:
    chats = generate_chats(5_000, seed=1)
    assert chats == generate_chats(5_000, seed=1)
    assert chats != generate_chats(5_000, seed=2)
    ids = [chat["id"] for chat in chats]
    assert len(set(ids)) == len(ids)
    kinds = Counter(i.rsplit("@", 1)[1] for i in ids)
    assert 0.85 <= kinds["c.us"] / len(ids) <= 0.95
    assert kinds["lid"] > 0
    assert kinds["g.us"] > 0
    assert kinds["broadcast"] > 0
    persons = [i.removesuffix("@c.us") for i in ids if i.endswith("@c.us")]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse("+" + p)) for p in persons[:500])


def test_the_module_runs_as_a_program_and_prints_its_base_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wa_manager.adapters.fake_ultramsg", "--port", "0", "--chats", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{base_url}/instance12345/chats", params={"token": "fake-token"})
        assert len(response.json()) == 10
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


# -- messages: history and sending ----------------------------------------------

ANNA = "4915112345678@c.us"


def post(fake: FakeUltraMsg, path: str, **form: str) -> httpx.Response:
    return httpx.post(f"{fake.base_url}{path}", data=form, timeout=10)


def send(fake: FakeUltraMsg, token: str = FAKE_TOKEN, **form: str) -> httpx.Response:
    fields = {"token": token, "to": ANNA, "body": "Your bike is ready", "referenceId": "wam-1"}
    fields.update(form)
    return post(fake, "/instance12345/messages/chat", **fields)


def history(fake: FakeUltraMsg, chat_id: str = ANNA, **params: str) -> httpx.Response:
    query = {"token": FAKE_TOKEN, "chatId": chat_id, **params}
    return httpx.get(f"{fake.base_url}/instance12345/chats/messages", params=query, timeout=10)


@pytest.fixture
def shop() -> Iterator[FakeUltraMsg]:
    with FakeUltraMsg(chats=demo_chats(), messages=demo_messages(1_800_000_000)) as server:
        yield server


def test_history_is_the_latest_messages_oldest_first_in_ultramsgs_shape(
    shop: FakeUltraMsg,
) -> None:
    everything = history(shop).json()
    assert [m["timestamp"] for m in everything] == sorted(m["timestamp"] for m in everything)
    assert {m["fromMe"] for m in everything} == {True, False}
    assert set(everything[0]) >= {"id", "from", "to", "author", "pushname", "type", "body",
                                  "fromMe", "timestamp", "media"}  # fmt: skip
    assert history(shop, limit="2").json() == everything[-2:]
    assert history(shop, "4915100000009@c.us").json() == []
    assert history(shop, "").json() == {"error": [{"chatId": "is required"}]}


def test_group_history_names_its_authors_and_media_come_as_links(shop: FakeUltraMsg) -> None:
    team = next(c["id"] for c in demo_chats() if c["name"].startswith("Radwerk team"))
    inbound = [m for m in history(shop, team).json() if not m["fromMe"]]
    assert inbound
    assert all(m["author"].endswith("@c.us") and m["pushname"] for m in inbound)
    media = [m for chat in shop.messages.chats() for m in history(shop, chat).json() if m["media"]]
    assert {m["type"] for m in media} == {"image", "document"}
    assert all(m["media"].startswith("https://") for m in media)


def test_a_send_is_queued_answered_like_ultramsg_and_kept_in_the_history(
    shop: FakeUltraMsg,
) -> None:
    answer = send(shop)
    assert answer.status_code == 200
    assert answer.json() == {"sent": "true", "message": "ok", "id": 1001}
    last = history(shop).json()[-1]
    assert last["fromMe"] is True
    assert last["body"] == "Your bike is ready"
    assert last["id"].startswith(f"true_{ANNA}_")
    assert send(shop, to="+4915112345678").json()["id"] == 1002  # a number works too


def test_send_errors_are_answered_like_ultramsg(shop: FakeUltraMsg) -> None:
    before = shop.messages.count()
    wrong = send(shop, token="nope")
    assert wrong.status_code == 200
    assert wrong.json() == {"error": "Wrong token. Please provide token as a GET parameter."}
    assert send(shop, token="").json() == {"error": [{"token": "is required"}]}
    assert send(shop, to="").json() == {"error": [{"to": "is required"}]}
    assert send(shop, to="nobody").json() == {"error": [{"to": "invalid phone number or chat id"}]}
    assert send(shop, body=" ").json() == {"error": [{"body": "is required"}]}
    assert "maximum length" in send(shop, body="x" * 4097).json()["error"][0]["body"]
    assert shop.messages.count() == before


def test_faults_apply_to_the_message_routes_too(shop: FakeUltraMsg) -> None:
    shop.fail(503, times=1)
    assert send(shop).status_code == 503
    assert history(shop).status_code == 200
    shop.set_body(b"<html>oops</html>")
    assert send(shop).content == b"<html>oops</html>"
    assert history(shop).content == b"<html>oops</html>"
    shop.set_body(None)
    assert len([m for m in history(shop).json() if m["body"] == "Your bike is ready"]) == 0


def test_the_client_fetches_history_and_sends_through_the_fake(shop: FakeUltraMsg) -> None:
    client = client_for(shop)
    messages = client.fetch_messages(ANNA, 100)
    assert [m.wa_message_id for m in messages] == [m["id"] for m in history(shop).json()]
    assert messages[0].chat_id == ANNA
    assert messages[0].sender_name == "Anna Schmidt"
    receipt = client.send_text(ANNA, "See you at 6", "wam-42")
    assert receipt.upstream_id == "1001"
    assert client.fetch_messages(ANNA, 1)[0].body == "See you at 6"


def test_the_clients_send_errors_are_one_clear_line_without_the_token(shop: FakeUltraMsg) -> None:
    secret = "tok-" + "S3CRET" * 4
    with pytest.raises(UpstreamRejected, match="ULTRAMSG_TOKEN") as rejected:
        client_for(shop, token=Secret(secret)).send_text(ANNA, "hi", "wam-1")
    shop.fail(500, times=3)
    with pytest.raises(UpstreamUnavailable, match="may have queued") as failed:
        client_for(shop).send_text(ANNA, "hi", "wam-2")
    assert shop.requests == 2  # a send is never repeated
    shop.fail(500, times=0)
    shop.set_body(b"<html>oops</html>")
    with pytest.raises(UpstreamBadResponse, match="not JSON") as garbled:
        client_for(shop).send_text(ANNA, "hi", "wam-3")
    for error in (rejected.value, failed.value, garbled.value):
        assert secret not in str(error)
        assert FAKE_TOKEN not in str(error)
        assert "\n" not in str(error)


def test_the_client_reports_a_garbled_history(shop: FakeUltraMsg) -> None:
    shop.set_body(b'{"messages": []}')
    with pytest.raises(UpstreamBadResponse, match="instead of the list of messages"):
        client_for(shop).fetch_messages(ANNA, 10)
    shop.set_body(b'[{"id": "false_1@c.us_A", "bo')
    with pytest.raises(UpstreamBadResponse, match="cut off"):
        client_for(shop).fetch_messages(ANNA, 10)


def test_the_demo_chats_are_a_small_business_with_no_hostile_names() -> None:
    chats = demo_chats()
    names = [chat["name"] for chat in chats]
    assert not any("<" in name or "'" in name or ";" in name for name in names)
    conversations = [c["id"] for c in chats if c["id"].endswith(("@c.us", "@lid", "@g.us"))]
    book = demo_messages(1_800_000_000)
    for chat_id in conversations:
        if chat_id != "0@c.us":
            assert len(book[chat_id]) >= 1, chat_id
    assert sum(chat_id.endswith("@g.us") for chat_id in book) >= 2
    again = demo_messages(1_900_000_000)
    assert [m["id"] for m in again[ANNA]] == [m["id"] for m in book[ANNA]]  # stable ids


@given(
    messages=st.lists(st.text(max_size=20), max_size=30),
    limit=st.integers(min_value=-5, max_value=1_100),
)
def test_history_is_always_the_latest_limit_messages_in_order(
    messages: list[str], limit: int
) -> None:
    fake = FakeUltraMsg(chats=[])
    for body in messages:
        fake.receive(ANNA, body)
    status, body, _ = fake.answer(f"/instance12345/chats/messages?token={FAKE_TOKEN}"
                                  f"&chatId={ANNA}&limit={limit}")  # fmt: skip
    served = msgspec.json.decode(body)
    if limit < 0:
        assert served == {"error": [{"limit": "must be a number"}]}
        return
    kept = min(max(limit, 1), 1000)
    assert status == 200
    assert [m["body"] for m in served] == messages[-kept:]


FORM_FIELDS = st.dictionaries(st.sampled_from(["to", "body", "referenceId", "msgId"]), st.text())


@given(
    body=st.binary(max_size=300)
    | FORM_FIELDS.map(lambda fields: urlencode({"token": FAKE_TOKEN, **fields}).encode())
    | FORM_FIELDS.map(lambda fields: msgspec.json.encode({"token": FAKE_TOKEN, **fields}))
)
def test_any_send_body_gets_a_json_answer_never_a_crash(body: bytes) -> None:
    fake = FakeUltraMsg(chats=[])
    status, answer, _ = fake.answer("/instance12345/messages/chat", "POST", body)
    assert status == 200
    decoded = msgspec.json.decode(answer)
    assert decoded.get("sent") == "true" or "error" in decoded
    assert fake.messages.count() == (1 if decoded.get("sent") else 0)
