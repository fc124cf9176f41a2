"""Staff decide inscriptions, many at once (ecp.booking.inscriptions): validated while places
remain, then on a waiting list with a rank; an inscription ended (or places raised) promotes the
next in rank. Every decision is journalled and e-mailed to the family in its transaction."""

from __future__ import annotations

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.booking import inscription_queries, inscriptions, queries
from ecp.booking.tables import Inscription
from ecp.commune.tables import ActivityCapacity
from ecp.errors import Rejected
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests import factories


async def _agent() -> Principal:
    staff = await factories.make_staff(role="agent")
    return Principal(kind="staff", session_id=1, name="Agent Test", staff_id=staff.id, role="agent")


async def _pending(commune, n: int, code: str = "etude_test") -> list[Inscription]:
    """n families of one child each, with a pending inscription to the activity `code`."""
    rows = []
    for i in range(n):
        family = await factories.make_family(f"F{60000 + i:05d}", password="", name=f"Famille{i}")
        kid = await factories.make_child(family, f"Enfant{i}", "CE1", school=commune.school)
        rows.append(await bf.inscribe_child(commune, kid, code, status="en_attente"))
    return rows


async def _commune(places: int):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=places)
    commune.activities["etude_test"] = commune.activities["garderie_soir"]
    return commune


async def _statuses(ids) -> list[str]:
    rows = await Inscription.select(Inscription.id, Inscription.status).where(
        Inscription.id.is_in(list(ids))
    )
    by_id = {r["id"]: r["status"] for r in rows}
    return [by_id[i] for i in ids]


async def _ranks() -> dict[int, int]:
    listing = await inscription_queries.staff_inscriptions(status="liste_attente")
    return {r["id"]: r["rank"] for r in listing.rows}


async def test_thirty_inscriptions_validated_in_one_post_each_journalled_and_mailed():
    commune = await _commune(places=0)  # unlimited
    pending = await _pending(commune, 30)
    agent = await _agent()
    result = await inscriptions.decide_inscriptions(agent, [p.id for p in pending], "valider")
    assert result.count("validee") == 30 and result.skipped == 0
    assert await _statuses([p.id for p in pending]) == ["validee"] * 30
    log = await AuditLog.select(AuditLog.action, AuditLog.family, AuditLog.staff)
    assert len(log) == 30 and {r["action"] for r in log} == {"inscription_validate"}
    assert {r["staff"] for r in log} == {agent.staff_id}
    mails = await OutboxEmail.select(OutboxEmail.subject, OutboxEmail.body_text, OutboxEmail.kind)
    assert len(mails) == 30
    assert mails[0]["subject"] == "Inscription validée : Garderie du soir"
    assert "est validée : vous pouvez réserver" in mails[0]["body_text"]
    assert inscriptions.summary(result) == (
        "30 inscriptions validées ; les familles sont prévenues par courriel."
    )


async def test_a_full_activity_puts_the_next_on_the_waiting_list_with_their_rank():
    commune = await _commune(places=3)
    pending = await _pending(commune, 5)
    result = await inscriptions.decide_inscriptions(
        await _agent(), [p.id for p in reversed(pending)], "valider"
    )
    # Oldest request first, whatever the order ticked.
    ids = [p.id for p in pending]
    assert await _statuses(ids) == ["validee"] * 3 + ["liste_attente"] * 2
    assert await _ranks() == {ids[3]: 1, ids[4]: 2}
    assert [d.rank for d in result.decided if d.status == "liste_attente"] == [1, 2]
    waiting_mail = (
        await OutboxEmail.select(OutboxEmail.subject, OutboxEmail.body_text)
        .where(OutboxEmail.family == (await bf.child_family(pending[4].child)))
        .first()
    )
    assert waiting_mail["subject"] == "Inscription en liste d’attente : Garderie du soir"
    assert "en liste d’attente, au 2e rang" in waiting_mail["body_text"]
    assert "l’inscription d’Enfant4 est" in waiting_mail["body_text"]
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert actions == ["inscription_validate"] * 3 + ["inscription_waitlist"] * 2
    assert inscriptions.summary(result) == (
        "3 inscriptions validées ; 2 inscriptions mises en liste d’attente ; "
        "les familles sont prévenues par courriel."
    )
    # The family reads its rank on its inscriptions page.
    page = await queries.inscriptions_page(await bf.child_family(pending[3].child), bf.MONDAY)
    (row,) = [r for rows in page["inscriptions"].values() for r in rows]
    assert row["status_label"] == "en liste d’attente, 1er rang"


async def test_ending_an_inscription_promotes_the_next_in_rank_and_tells_the_family():
    commune = await _commune(places=2)
    pending = await _pending(commune, 4)
    ids = [p.id for p in pending]
    agent = await _agent()
    await inscriptions.decide_inscriptions(agent, ids, "valider")
    await OutboxEmail.delete(force=True)
    with pytest.raises(Rejected) as refused:
        await inscriptions.decide_inscriptions(agent, [ids[0]], "annuler", "  ")
    assert (refused.value.field, refused.value.message) == (
        "motif",
        "Donnez le motif : la famille le lira.",
    )
    result = await inscriptions.decide_inscriptions(
        agent, [ids[0]], "annuler", "Déménagement de la famille"
    )
    assert await _statuses(ids) == ["annulee", "validee", "validee", "liste_attente"]
    assert await _ranks() == {ids[3]: 1}  # moved up by itself
    promoted = [d for d in result.decided if d.promoted]
    assert [d.inscription_id for d in promoted] == [ids[2]]
    mails = {
        m["family"]: m
        for m in await OutboxEmail.select(
            OutboxEmail.family, OutboxEmail.subject, OutboxEmail.body_text
        )
    }
    ended = mails[await bf.child_family(pending[0].child)]
    assert ended["subject"] == "Fin d’inscription : Garderie du soir"
    assert "Motif : Déménagement de la famille" in ended["body_text"]
    lucky = mails[await bf.child_family(pending[2].child)]
    assert lucky["subject"] == ("Une place s’est libérée : inscription validée à Garderie du soir")
    last = await AuditLog.select(AuditLog.action, AuditLog.target).order_by(AuditLog.id)
    assert [r["action"] for r in last[-2:]] == ["inscription_cancel", "inscription_promote"]
    assert last[-1]["target"] == f"inscription:{ids[2]}"
    assert inscriptions.summary(result) == (
        "1 inscription annulée ; 1 enfant de la liste d’attente validé ; "
        "les familles sont prévenues par courriel."
    )


async def test_refusing_a_waiting_inscription_moves_the_others_up():
    commune = await _commune(places=1)
    pending = await _pending(commune, 4)
    ids = [p.id for p in pending]
    agent = await _agent()
    await inscriptions.decide_inscriptions(agent, ids, "valider")
    assert await _ranks() == {ids[1]: 1, ids[2]: 2, ids[3]: 3}
    await inscriptions.decide_inscriptions(agent, [ids[1]], "refuser", "Plus de place cette année")
    assert await _ranks() == {ids[2]: 1, ids[3]: 2}
    row = await Inscription.select().where(Inscription.id == ids[1]).first()
    assert row["status"] == "refusee" and row["reason"] == "Plus de place cette année"


async def test_raising_the_places_promotes_the_waiting_list_in_order():
    commune = await _commune(places=1)
    pending = await _pending(commune, 4)
    ids = [p.id for p in pending]
    agent = await _agent()
    await inscriptions.decide_inscriptions(agent, ids, "valider")
    activity = commune.activities["garderie_soir"]
    await ActivityCapacity.update({ActivityCapacity.capacity: 3}).where(
        ActivityCapacity.activity == activity.id
    )
    promoted = await inscriptions.promote_waiting(agent, activity.id)
    assert [d.inscription_id for d in promoted] == [ids[1], ids[2]]
    assert await _statuses(ids) == ["validee", "validee", "validee", "liste_attente"]
    assert await _ranks() == {ids[3]: 1}


async def test_decided_meanwhile_is_skipped_and_bad_decisions_write_nothing():
    commune = await _commune(places=0)
    pending = await _pending(commune, 2)
    ids = [p.id for p in pending]
    agent = await _agent()
    for args, field in (
        (([], "valider"), "selection"),
        ((ids, "supprimer"), "decision"),
        ((ids, "refuser", ""), "motif"),
    ):
        with pytest.raises(Rejected) as refused:
            await inscriptions.decide_inscriptions(agent, *args)
        assert refused.value.field == field
    with pytest.raises(inscriptions.NotFound):
        await inscriptions.decide_inscriptions(agent, [999999], "valider")
    assert await AuditLog.count() == 0 and await OutboxEmail.count() == 0
    await inscriptions.decide_inscriptions(agent, [ids[0]], "refuser", "Dossier incomplet")
    result = await inscriptions.decide_inscriptions(agent, ids, "valider")
    assert result.count("validee") == 1 and result.skipped == 1
    assert await _statuses(ids) == ["refusee", "validee"]
    assert inscriptions.summary(result) == (
        "1 inscription validée ; 1 inscription déjà décidée n’a pas changé ; "
        "la famille est prévenue par courriel."
    )


async def test_places_raised_in_the_settings_promote_the_waiting_list():
    from ecp.backoffice import settings_services

    commune = await _commune(places=1)
    pending = await _pending(commune, 3)
    ids = [p.id for p in pending]
    agent = await _agent()
    await inscriptions.decide_inscriptions(agent, ids, "valider")
    activity = commune.activities["garderie_soir"]
    await settings_services.update_activity(
        agent,
        activity.id,
        label=activity.label,
        short_label=activity.short_label,
        weekdays=activity.weekdays.split(","),
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        levels=activity.eligible_levels.split(","),
        default_capacity=1,
        active=True,
        capacities={commune.school.id: 2},
    )
    assert await _statuses(ids) == ["validee", "validee", "liste_attente"]
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert actions[-2:] == ["settings_changed", "inscription_promote"]
    subjects = [r["subject"] for r in await OutboxEmail.select(OutboxEmail.subject)]
    assert subjects[-1] == "Une place s’est libérée : inscription validée à Garderie du soir"
