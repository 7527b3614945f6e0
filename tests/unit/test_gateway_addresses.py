"""The voter's address the gateway hands to the services: a client cannot choose it."""

from __future__ import annotations

from services.gateway.addresses import parse_networks, voter_address

LB = parse_networks("10.0.0.0/8, fd00::/8")


def test_without_trusted_proxies_the_connecting_address_counts_and_headers_are_ignored() -> None:
    assert voter_address("203.0.113.7", "1.2.3.4", []) == "203.0.113.7"


def test_behind_a_trusted_load_balancer_the_client_is_read_from_the_right() -> None:
    assert voter_address("10.0.0.5", "198.51.100.9", LB) == "198.51.100.9"
    # a client that forges a header only adds to the left of what the load balancer wrote
    assert voter_address("10.0.0.5", "1.2.3.4, 198.51.100.9", LB) == "198.51.100.9"
    assert voter_address("10.0.0.5", "198.51.100.9, 10.1.2.3", LB) == "198.51.100.9"  # two of our hops


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    assert voter_address("198.51.100.9", "10.0.0.1, 5.6.7.8", LB) == "198.51.100.9"


def test_garbage_in_the_header_is_not_trusted() -> None:
    assert voter_address("10.0.0.5", "not-an-address", LB) == ""  # unknown, not a shared "address"
    assert voter_address("10.0.0.5", "", LB) == "10.0.0.5"


def test_the_voters_user_agent_reaches_the_services_unchanged_and_a_missing_one_stays_missing(monkeypatch) -> None:
    """The vote path hashes the User-Agent it receives: the gateway passes the client's on, and adds none of its own."""
    import httpx
    from fastapi.testclient import TestClient

    from services.gateway import app as gateway

    seen: list[str | None] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/votes"):
            seen.append(request.headers.get("user-agent"))
        return httpx.Response(201, json={})

    real = httpx.AsyncClient

    class Upstream(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kw: object) -> None:
            super().__init__(transport=httpx.MockTransport(upstream), **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway.httpx, "AsyncClient", Upstream)
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47(0x18002f2c)"
    with TestClient(gateway.create_app()) as client:
        assert client.post("/api/voting/campaigns/c/votes", json={}, headers={"user-agent": phone}).status_code == 201
        del client.headers["user-agent"]
        assert client.post("/api/voting/campaigns/c/votes", json={}).status_code == 201
    assert seen == [phone, None]


def test_a_control_character_in_the_path_is_a_400_with_a_code_and_never_reaches_a_service(monkeypatch) -> None:
    import httpx
    from fastapi.testclient import TestClient

    from services.gateway import app as gateway

    reached: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/campaigns"):  # not the gateway's own polling of /metrics
            reached.append(request.url.path)
            assert request.headers["authorization"] == "Bearer"  # sent stripped: the service answers it
        return httpx.Response(401, json={"error": {"code": "ticket_invalid"}})

    real = httpx.AsyncClient

    class Upstream(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kw: object) -> None:
            super().__init__(transport=httpx.MockTransport(upstream), **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway.httpx, "AsyncClient", Upstream)
    with TestClient(gateway.create_app()) as client:
        r = client.get("/api/voting/campaigns/c%01x/standings")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_path" and reached == []
        r = client.post("/api/voting/campaigns/c/votes", json={}, headers={"authorization": "Bearer "})
        assert r.status_code == 401 and reached == ["/campaigns/c/votes"]


def test_a_voter_whose_address_cannot_be_told_still_reaches_the_service_with_no_address() -> None:
    """Behind a trusted proxy, garbage in X-Forwarded-For ("unknown", as some proxies write) is no address: the
    request goes on with an empty X-Real-IP (never the proxy's) and the chain as received, not as a 503 because the
    forwarded header ended in ", "."""
    import httpx
    from fastapi.testclient import TestClient

    from services.gateway.app import create_app
    from services.gateway.settings import GatewaySettings

    seen: list[tuple[str | None, str | None]] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sms-code"):
            seen.append((request.headers.get("x-real-ip"), request.headers.get("x-forwarded-for")))
        return httpx.Response(202, json={"sent": True})

    app = create_app(GatewaySettings(trusted_proxies="127.0.0.1/32"),
                     client=httpx.AsyncClient(transport=httpx.MockTransport(upstream)))
    path = "/api/voting/campaigns/c/voters/sms-code"
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        for forwarded in ("unknown", "999.1.1.7", "198.51.100.9", "unknown, "):
            r = client.post(path, json={"phone": "13800138000"}, headers={"x-forwarded-for": forwarded})
            assert r.status_code == 202, (forwarded, r.text)
    assert seen == [("", "unknown"), ("", "999.1.1.7"), ("198.51.100.9", "198.51.100.9, 198.51.100.9"),
                    ("", "unknown")]


def test_an_address_with_a_port_as_some_proxies_write_it_is_the_address() -> None:
    assert voter_address("10.0.0.5", "198.51.100.9:5678", LB) == "198.51.100.9"
    assert voter_address("10.0.0.5", "[2001:db8::7]:443", LB) == "2001:db8::7"
    assert voter_address("10.0.0.5", "2001:db8::7", LB) == "2001:db8::7"
    assert voter_address("10.0.0.5", "[2001:db8::7]", LB) == "2001:db8::7"
    assert voter_address("10.0.0.5", "198.51.100.9:port", LB) == ""
    assert voter_address("10.0.0.5", "[not-an-address]:443", LB) == ""


def test_make_run_believes_a_local_proxy_s_forwarded_address_unless_told_otherwise() -> None:
    """`make run`'s gateway listens on loopback only: a load generator on the machine sending each voter's address
    in X-Forwarded-For is believed, so anti-fraud and the SMS limits see the voters, not one shared 127.0.0.1; an
    operator's own setting (empty: the connecting address) wins."""
    from services.operations.cli import gateway_env

    trusted = parse_networks(gateway_env({})["MASSLINE_TRUSTED_PROXIES"])
    assert voter_address("127.0.0.1", "203.0.113.7", trusted) == "203.0.113.7"
    assert voter_address("::1", "2001:db8::5", trusted) == "2001:db8::5"
    assert voter_address("192.0.2.10", "203.0.113.7", trusted) == "192.0.2.10"
    assert gateway_env({"MASSLINE_TRUSTED_PROXIES": ""}) == {"MASSLINE_TRUSTED_PROXIES": ""}
    # … and supervisord starts the gateway with it (the services' own settings go to them likewise)
    from pathlib import Path

    from services.operations.devstack import SERVICES, Stack
    from services.operations.supervision import SupervisedStack

    stack = Stack(home=Path("/nonexistent"), gateway_port=18000, service_env={"gateway": gateway_env({})})
    stack.service_ports.update({name: 1 for name in SERVICES})
    gateway = next(p for p in SupervisedStack(stack, print).programs() if p.name == "gateway")
    assert gateway.environment["MASSLINE_TRUSTED_PROXIES"] == "127.0.0.1/32,::1/128"
