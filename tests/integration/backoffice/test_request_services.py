"""Deciding a contact-change request, without HTTP: what is applied, who is told, what the
journal keeps, and the refusals (unknown, decided already, responsable gone)."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.backoffice import queries, services
from ecp.errors import Rejected
from ecp.families import search
from ecp.families.tables import ContactChangeRequest, Family, Guardian
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.staff_factories import indexed_family, staff_actor

CHANGES = {
    "address_line1": {"before": "1 rue de la République", "after": "8 rue des Écoles"},
    "phone_mobile": {"before": "06 12 34 56 78", "after": "07 81 02 03 04"},
    "email": {"before": "martin@example.org", "after": "nouvelle@example.org"},
}


async def _request(guardian_rank: int = 1):
    family, guardian = await indexed_family()
    if guardian_rank != 1:
        guardian = await factories.make_guardian(
            family, rank=guardian_rank, first_name="Paul", email="paul@example.org"
        )
    req = ContactChangeRequest(
        family=family.id, guardian=guardian.id, changes=CHANGES, submitted_at=clock.now()
    )
    await req.save()
    return family, guardian, req.id


@pytest.fixture
async def agent():
    return staff_actor(await factories.make_staff("agent", role="agent"))


async def test_applying_everything_updates_the_account_address_and_tells_both(agent):
    family, guardian, request_id = await _request()
    result = await services.decide_request(agent, request_id, apply_fields=list(CHANGES), reason="")
    assert result == {"status": "appliquee", "applied": list(CHANGES), "family_id": family.id}
    g = await Guardian.select().where(Guardian.id == guardian.id).first()
    assert g["address_line1"] == "8 rue des Écoles" and g["email"] == "nouvelle@example.org"
    fam = await Family.select(Family.email).where(Family.id == family.id).first()
    assert fam["email"] == "nouvelle@example.org"
    mails = await OutboxEmail.select().where(OutboxEmail.kind == "demande")
    assert {m["to_address"] for m in mails} == {"nouvelle@example.org", "martin@example.org"}
    assert "a été appliquée." in mails[0]["body_text"]
    line = await AuditLog.select().output(load_json=True).first()
    assert line["action"] == "contact_change_applied" and line["target"] == f"demande {request_id}"
    assert line["details"] == {"applied": list(CHANGES), "not_applied": [], "reason": ""}
    assert [f["code"] for f in await search.search("nouvelle@example.org")] == ["F00001"]


async def test_a_second_responsables_e_mail_is_not_the_accounts(agent):
    family, guardian, request_id = await _request(guardian_rank=2)
    await services.decide_request(agent, request_id, apply_fields=["email"], reason="")
    assert (await Family.select(Family.email).where(Family.id == family.id).first())[
        "email"
    ] == "martin@example.org"
    g = await Guardian.select(Guardian.email).where(Guardian.id == guardian.id).first()
    assert g["email"] == "nouvelle@example.org"


async def test_partial_apply_and_unknown_fields_are_ignored(agent):
    _, guardian, request_id = await _request()
    result = await services.decide_request(
        agent, request_id, apply_fields=["phone_mobile", "password_hash"], reason=""
    )
    assert result["status"] == "partielle" and result["applied"] == ["phone_mobile"]
    row = await ContactChangeRequest.select().output(load_json=True).first()
    assert row["applied_fields"] == ["phone_mobile"] and row["decided_by"] == agent.staff_id
    line = await AuditLog.select().output(load_json=True).first()
    assert line["details"]["not_applied"] == ["address_line1", "email"]


async def test_refusal_changes_nothing_and_sends_the_reason(agent):
    _, guardian, request_id = await _request()
    result = await services.decide_request(
        agent, request_id, apply_fields=[], reason="Justificatif de domicile nécessaire."
    )
    assert result["status"] == "refusee"
    g = await Guardian.select().where(Guardian.id == guardian.id).first()
    assert g["address_line1"] == "1 rue de la République"
    mail = await OutboxEmail.select().first()
    assert "Motif : Justificatif de domicile nécessaire." in mail["body_text"]
    assert await AuditLog.count().where(AuditLog.action == "contact_change_refused") == 1


async def test_a_request_is_decided_once_and_unknown_ones_are_not_found(agent):
    _, _, request_id = await _request()
    await services.decide_request(agent, request_id, apply_fields=["email"], reason="")
    with pytest.raises(services.AlreadyDecided, match="déjà été traitée"):
        await services.decide_request(agent, request_id, apply_fields=[], reason="Non.")
    with pytest.raises(services.NotFound):
        await services.decide_request(agent, 999999, apply_fields=["email"], reason="")
    assert await AuditLog.count() == 1 and await OutboxEmail.count() == 2


async def test_a_gone_responsable_is_refused_and_the_request_stays_waiting(agent):
    _, guardian, request_id = await _request()
    # No responsable of this family is linked to the request any more.
    await ContactChangeRequest.update({ContactChangeRequest.guardian: None}).where(
        ContactChangeRequest.id == request_id
    )
    with pytest.raises(Rejected, match="Le responsable concerné n’existe plus."):
        await services.decide_request(agent, request_id, apply_fields=["email"], reason="")
    assert (await ContactChangeRequest.select().first())["status"] == "en_attente"
    assert await AuditLog.count() == 0 and await OutboxEmail.count() == 0


async def test_the_decided_notice_names_who_and_when(agent):
    clock.set_now(dt.datetime(2026, 11, 30, 10, 5, tzinfo=clock.PARIS))
    _, _, request_id = await _request()
    await services.decide_request(agent, request_id, apply_fields=["phone_mobile"], reason="")
    state = await queries.request_state(request_id)
    notice = queries.decided_notice(state, viewer_staff_id=None)
    assert (
        notice["message"]
        == "Cette demande a déjà été traitée par Agent Test le 30/11/2026 à 10:05."
    )
    assert notice["state"] == "appliquée en partie (Téléphone portable)"
    assert notice["reason"] == "" and notice["family_code"] == "F00001"
    mine = queries.decided_notice(state, viewer_staff_id=agent.staff_id)
    assert mine["message"].startswith("Cette demande a déjà été traitée par vous-même le ")
    nobody = queries.decided_notice({**state, "decided_by": None, "decided_by_name": None}, 1)
    assert "par un autre agent" in nobody["message"]
