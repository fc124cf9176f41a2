"""Caps on request bodies and form fields: a French 413 before anything parses the form."""

from __future__ import annotations

from ecp.web.limits import MAX_BODY_BYTES, MAX_FIELDS, count_fields
from tests.booking_factories import make_commune
from tests.staff_factories import staff_client
from tests.support import csrf_token, soup

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _fields(n: int) -> bytes:
    return b"&".join(b"statut_%d=present" % i for i in range(n))


def assert_french_413(response, *, fragment: bool = False) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:300])
    page = soup(response.text)
    assert page.select_one("h1").get_text(strip=True) == "Envoi trop volumineux"
    assert "trop de champs" in page.get_text()
    assert "Code d’erreur : 413" in page.get_text()
    if fragment:
        assert page.select_one("html") is None and page.select_one("main#main") is not None
        assert response.headers["hx-retarget"] == "#main"
    else:
        assert page.select_one("html")["lang"] == "fr"


def test_counting_matches_what_the_parsers_build():
    assert count_fields(b"application/x-www-form-urlencoded", b"") == 0
    assert count_fields(b"application/x-www-form-urlencoded", b"a=1") == 1
    assert count_fields(b"application/x-www-form-urlencoded; charset=utf-8", b"a=1&b=2&c") == 3
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="b"\r\n\r\n2\r\n--xyz--\r\n'
    )
    assert count_fields(b'multipart/form-data; boundary="xyz"', body) == 2
    assert count_fields(b"application/json", b'{"a": 1, "b": 2}') == 0


async def test_a_body_over_the_size_cap_gets_the_french_413(client):
    token = await csrf_token(client)
    body = b"_csrf_token=" + token.encode() + b"&motif=" + b"x" * MAX_BODY_BYTES
    response = await client.post("/connexion", content=body, headers=FORM)
    assert_french_413(response)


async def test_a_chunked_body_without_length_is_cut_at_the_cap(client):
    async def chunks():
        for _ in range(30):
            yield b"a=" + b"x" * 65536 + b"&"

    response = await client.post("/connexion", content=chunks(), headers=FORM)
    assert "content-length" not in response.request.headers
    assert_french_413(response)


async def test_too_many_fields_get_the_french_413_before_csrf_is_checked(client):
    # No CSRF token at all: a 403 would mean the form was parsed before being counted.
    body = _fields(MAX_FIELDS + 1)
    assert len(body) < MAX_BODY_BYTES
    response = await client.post("/connexion", content=body, headers=FORM)
    assert_french_413(response)


async def test_htmx_gets_the_413_as_a_main_fragment(client):
    response = await client.post(
        "/connexion", content=_fields(MAX_FIELDS + 1), headers={**FORM, "HX-Request": "true"}
    )
    assert_french_413(response, fragment=True)


async def test_too_many_multipart_parts_get_the_413(client):
    part = b'--b0undary\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
    body = part * (MAX_FIELDS + 1) + b"--b0undary--\r\n"
    response = await client.post(
        "/connexion",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
    )
    assert_french_413(response)


async def test_a_query_string_with_too_many_parameters_gets_the_413(client):
    response = await client.get("/connexion?" + "a&" * MAX_FIELDS + "a")
    assert_french_413(response)


async def test_the_largest_real_form_passes_the_caps(client):
    """A pointage list of 15,000 children (a whole 15,000-child commune on one list) is still
    read and its CSRF token found: the handler answers, with its own 404 for children not on
    the list, not a 413."""
    commune = await make_commune()
    await staff_client(client, "agent")
    token = await csrf_token(client, "/agents/effectifs")
    activity = commune.activities["restauration"].id
    body = (
        f"_csrf_token={token}&jour=2026-12-07&activite={activity}&ecole={commune.school.id}&".encode()
        + b"&".join(b"statut_%d=present" % (100000 + i) for i in range(15_000))
    )
    assert len(body) < MAX_BODY_BYTES // 2
    response = await client.post("/agents/effectifs", content=body, headers=FORM)
    assert response.status_code == 404, response.status_code
    assert "Page introuvable" in response.text
    assert "Envoi trop volumineux" not in response.text


async def test_a_form_under_the_caps_still_reaches_csrf_and_the_handler(client):
    response = await client.post("/connexion", content=_fields(100), headers=FORM)
    assert response.status_code == 403


def test_nul_bytes_are_dropped_from_raw_forms():
    from ecp.web.limits import strip_nul

    assert strip_nul(b"nom=Mar%00tin&x=%2500") == b"nom=Martin&x=%2500"
    assert strip_nul(b"nom=a\x00b") == b"nom=ab"


async def test_a_nul_byte_never_reaches_a_handler(client):
    """PostgreSQL refuses NUL in text: the search finds what it would without it."""
    await staff_client(client, "agent")
    page = await client.get("/agents/familles?q=Mar%00tin")
    assert page.status_code == 200
    assert soup(page.text).select_one("input[name=q]")["value"] == "Martin"


def _receiver(chunks: list[bytes], *, then_disconnect: bool = False):
    """An ASGI receive that hands out `chunks` and records how many were asked for."""
    asked: list[int] = []

    async def receive():
        asked.append(1)
        if len(asked) <= len(chunks):
            more = len(asked) < len(chunks) or then_disconnect
            return {"type": "http.request", "body": chunks[len(asked) - 1], "more_body": more}
        return {"type": "http.disconnect"}

    return receive, asked


async def _run_limited(receive, headers: list[tuple[bytes, bytes]]) -> tuple[list[dict], bool]:
    from litestar.exceptions.http_exceptions import RequestEntityTooLarge

    from ecp.web.limits import body_limits_middleware

    reached: list[bool] = []

    async def app(scope, receive, send):
        reached.append(True)

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "query_string": b"", "headers": headers}
    try:
        await body_limits_middleware(app, max_bytes=100)(scope, receive, send)
    except RequestEntityTooLarge:
        return sent, True
    assert not reached
    return sent, False


async def test_a_refused_announced_body_is_read_to_its_end_before_the_413():
    # Answering while the client still sends makes its kernel reset the connection, and the
    # reset throws the 413 away unread: the body is drained first (kept nowhere).
    receive, asked = _receiver([b"x" * 60] * 5)
    sent, refused = await _run_limited(receive, [(b"content-length", b"300")])
    assert refused and sent == [] and len(asked) == 5


async def test_a_body_cut_at_the_cap_is_drained_too():
    receive, asked = _receiver([b"x" * 60] * 5)
    sent, refused = await _run_limited(receive, [])
    assert refused and len(asked) == 5


async def test_an_enormous_announced_body_is_refused_without_reading_it():
    from ecp.web.limits import DRAIN_MAX_BYTES

    receive, asked = _receiver([b"x" * 60] * 5)
    sent, refused = await _run_limited(
        receive, [(b"content-length", str(DRAIN_MAX_BYTES + 1).encode())]
    )
    assert refused and asked == []


async def test_a_client_leaving_during_the_drain_gets_no_answer():
    receive, asked = _receiver([b"x" * 60] * 2, then_disconnect=True)
    sent, refused = await _run_limited(receive, [(b"content-length", b"300")])
    assert not refused and sent == [] and len(asked) == 3


async def test_the_drain_stops_at_its_byte_bound():
    from ecp.web.limits import drain

    receive, asked = _receiver([b"x" * 1000] * 50)
    assert await drain(receive, 0, limit=10_000) is True
    assert len(asked) == 11  # stopped once past the bound, not at the end of the body
