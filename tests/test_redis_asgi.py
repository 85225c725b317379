"""Under ASGI, Django runs each request's sync code in a fresh thread: the
per-request Redis commands must still reuse connections (a process-wide free
list), not open one per request."""

import asyncio

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from redis.connection import Connection

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

REQUESTS = 100


def asgi_get(handler, path, query, cookie):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("192.0.2.1", 50000),
        "server": ("testserver", 80),
    }
    sent = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    async def run():
        await handler(scope, receive, send)

    return run, sent


def opened_connections(monkeypatch):
    """Count sockets opened by redis-py connections."""
    opened = []
    original = Connection._connect

    def counting(self, *args, **kwargs):
        opened.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "_connect", counting)
    return opened


def test_100_asgi_requests_reuse_a_few_connections(settings, redis_client, monkeypatch):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    c = Client()
    assert c.get("/set/?key=a&value=b").status_code == 200
    cookie = f"sessionid={c.cookies['sessionid'].value}"
    handler = ASGIHandler()
    opened = opened_connections(monkeypatch)

    async def many():
        for _ in range(REQUESTS):
            run, sent = asgi_get(handler, "/get/", "key=a", cookie)
            await run()
            assert sent[0]["status"] == 200
            assert b'"b"' in b"".join(m.get("body", b"") for m in sent[1:])

    asyncio.run(many())
    print(f"connections opened by {REQUESTS} ASGI requests: {len(opened)}")
    assert len(opened) <= 2, len(opened)


def test_concurrent_asgi_requests_open_at_most_one_per_concurrent_request(
    settings, redis_client, monkeypatch
):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    c = Client()
    assert c.get("/set/?key=a&value=b").status_code == 200
    cookie = f"sessionid={c.cookies['sessionid'].value}"
    handler = ASGIHandler()
    opened = opened_connections(monkeypatch)

    async def wave():
        runs = [asgi_get(handler, "/get/", "key=a", cookie) for _ in range(10)]
        await asyncio.gather(*(run() for run, _ in runs))
        assert all(sent[0]["status"] == 200 for _, sent in runs)

    async def many():
        for _ in range(REQUESTS // 10):
            await wave()

    asyncio.run(many())
    print(
        f"connections opened by {REQUESTS} ASGI requests, 10 at a time: {len(opened)}"
    )
    assert len(opened) <= 11, len(opened)
