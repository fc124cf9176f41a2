"""Two agents on the same contact-change request: the second one is told, in place of the form,
who decided it, when and what was decided (full page without JS, htmx fragment with focus),
never a 422 with nothing to see."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.backoffice import services
from ecp.families.tables import ContactChangeRequest, Guardian
from tests.conftest import make_client
from tests.staff_factories import indexed_family, staff_client
from tests.support import login_family, post_form, soup

CHANGE = {
    "address_line1": "8 rue des Écoles",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "07 81 02 03 04",
    "phone_home": "",
    "phone_work": "",
    "email": "nouvelle@example.org",
}
QUEUE = "/agents/demandes"


@pytest.fixture
async def second_agent(app):
    async with make_client(app, "127.0.0.3") as c:
        yield c


async def two_agents_one_request(client, second_agent, family_client):
    clock.set_now(dt.datetime(2026, 11, 30, 10, 5, tzinfo=clock.PARIS))
    first = await staff_client(client, "agent")
    await staff_client(second_agent, "administrateur")
    family, guardian = await indexed_family()
    await login_family(family_client)
    path = f"/famille/coordonnees/{guardian.id}/modifier"
    assert (await post_form(family_client, path, CHANGE, from_page=path)).status_code == 303
    req = await ContactChangeRequest.select().first()
    # Both agents have the queue open; the first applies the phone number only.
    await second_agent.get(QUEUE)
    done = await post_form(
        client,
        f"{QUEUE}/{req['id']}",
        {"decision": "appliquer", "champ": "phone_mobile"},
        from_page=QUEUE,
    )
    assert done.status_code == 303
    return first, guardian, req


def notice(html: str) -> str:
    box = soup(html).select_one("#request-decided")
    assert box is not None, "no « déjà traitée » message"
    return box.get_text(" ", strip=True)


async def test_second_agent_without_js_sees_who_decided_and_what(
    client, second_agent, other_client
):
    first, guardian, req = await two_agents_one_request(client, second_agent, other_client)
    response = await post_form(
        second_agent,
        f"{QUEUE}/{req['id']}",
        {"decision": "refuser", "motif": "Justificatif manquant."},
        from_page=QUEUE,
    )
    assert response.status_code == 409 and "<html" in response.text
    page = soup(response.text)
    assert page.title.string.startswith("Erreur : ")
    box = page.select_one("#request-decided")
    assert box["role"] == "alert" and box.has_attr("autofocus") and box["tabindex"] == "-1"
    text = notice(response.text)
    assert "Cette demande a déjà été traitée par Agent Test le 30/11/2026 à 10:05." in text
    assert (
        "État de la demande de la famille Martin (F00001) : appliquée en partie "
        "(Téléphone portable)."
    ) in text
    assert "Rien n’a été modifié par votre action." in text
    # The second decision changed nothing, and the form of that request is gone.
    row = await ContactChangeRequest.select().first()
    assert row["status"] == "partielle" and row["decided_by"] == first.id and row["reason"] == ""
    assert page.select_one(f"form[action='{QUEUE}/{req['id']}']") is None
    assert await AuditLog.count().where(AuditLog.action == "contact_change_refused") == 0


async def test_second_agent_with_htmx_gets_the_message_in_the_swapped_region(
    client, second_agent, other_client
):
    _, _, req = await two_agents_one_request(client, second_agent, other_client)
    response = await post_form(
        second_agent,
        f"{QUEUE}/{req['id']}",
        {"decision": "appliquer", "champ": ["email", "phone_mobile"]},
        from_page=QUEUE,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert "<html" not in response.text and "hx-redirect" not in response.headers
    region = soup(response.text).select_one("#request-queue")
    box = region.select_one("#request-decided")
    assert box is not None and box.has_attr("data-focus") and box.has_attr("autofocus")
    assert "déjà été traitée par Agent Test le 30/11/2026 à 10:05" in box.get_text(" ")
    assert soup(response.text).title.string.startswith("Erreur : ")
    g = await Guardian.select(Guardian.email).where(Guardian.email == "nouvelle@example.org")
    assert g == []


async def test_invalid_form_on_a_decided_request_shows_the_decision_not_an_empty_422(
    client, second_agent, other_client
):
    _, _, req = await two_agents_one_request(client, second_agent, other_client)
    # Refuse without a reason: the old answer was a 422 for a form no longer on the page.
    response = await post_form(
        second_agent,
        f"{QUEUE}/{req['id']}",
        {"decision": "refuser", "motif": ""},
        from_page=QUEUE,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert "Cette demande a déjà été traitée par Agent Test" in notice(response.text)


async def test_decided_in_the_meantime_between_read_and_lock(
    client, second_agent, other_client, monkeypatch
):
    """The other agent commits while this request is on its way: the service refuses, and
    the page says so the same way."""
    clock.set_now(dt.datetime(2026, 11, 30, 10, 5, tzinfo=clock.PARIS))
    first = await staff_client(client, "agent")
    await staff_client(second_agent, "administrateur")
    family, guardian = await indexed_family()
    await login_family(other_client)
    path = f"/famille/coordonnees/{guardian.id}/modifier"
    await post_form(other_client, path, CHANGE, from_page=path)
    req = await ContactChangeRequest.select().first()
    original = services.decide_request

    async def raced(actor, request_id, **kwargs):
        await ContactChangeRequest.update(
            {
                ContactChangeRequest.status: "refusee",
                ContactChangeRequest.reason: "Doublon.",
                ContactChangeRequest.decided_by: first.id,
                ContactChangeRequest.decided_at: clock.now(),
            }
        ).where(ContactChangeRequest.id == request_id)
        return await original(actor, request_id, **kwargs)

    monkeypatch.setattr(services, "decide_request", raced)
    response = await post_form(
        second_agent,
        f"{QUEUE}/{req['id']}",
        {"decision": "appliquer", "champ": "email"},
        from_page=QUEUE,
    )
    assert response.status_code == 409
    text = notice(response.text)
    assert "traitée par Agent Test le 30/11/2026 à 10:05" in text
    assert "refusée. Motif : Doublon." in text


async def test_the_same_agent_twice_reads_vous_meme(client, other_client):
    await staff_client(client, "agent")
    family, guardian = await indexed_family()
    await login_family(other_client)
    path = f"/famille/coordonnees/{guardian.id}/modifier"
    await post_form(other_client, path, CHANGE, from_page=path)
    req = await ContactChangeRequest.select().first()
    for expected in (303, 409):
        response = await post_form(
            client,
            f"{QUEUE}/{req['id']}",
            {"decision": "appliquer", "champ": "email"},
            from_page=QUEUE,
        )
        assert response.status_code == expected
    assert "Cette demande a déjà été traitée par vous-même le " in notice(response.text)


async def test_unknown_request_is_404(client):
    await staff_client(client, "agent")
    response = await post_form(
        client, f"{QUEUE}/999999", {"decision": "appliquer", "champ": "email"}, from_page=QUEUE
    )
    assert response.status_code == 404
