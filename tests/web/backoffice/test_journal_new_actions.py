"""Staff > Journal: the actions this issue added (messages to families, inscription
decisions and the waiting list, counter requests, pointage and its prints, the effectifs
export) each read in French and can each be filtered on, alone."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.principal import Principal
from ecp.booking.inscriptions import AUDIT_ACTIONS
from tests.staff_factories import indexed_family, staff_client
from tests.support import soup

NEW = {
    "message_familles_envoye": "Message envoyé aux familles",
    "inscription_validate": "Validation d’une inscription",
    "inscription_refuse": "Refus d’une inscription",
    "inscription_waitlist": "Inscription mise en liste d’attente",
    "inscription_promote": "Inscription validée depuis la liste d’attente",
    "inscription_request": "Demande d’inscription faite par un agent pour la famille",
    "attendance_mark": "Pointage d’une liste",
    "feuilles_emargement_imprimees": "Impression des feuilles d’émargement",
    "fiche_cuisine_imprimee": "Impression de la fiche cuisine",
    "effectifs_exportes": "Export des effectifs (CSV)",
}


def test_every_inscription_decision_has_its_label():
    assert set(AUDIT_ACTIONS.values()) <= set(audit.ACTIONS)
    assert {code: audit.label(code) for code in NEW} == NEW


@pytest.fixture
async def journal(client):
    staff = await staff_client(client)
    family, _ = await indexed_family()
    actor = Principal(
        kind="staff",
        session_id=0,
        name=staff.display_name,
        staff_id=staff.id,
        role="administrateur",
    )
    for minute, action in enumerate(NEW):
        with clock.frozen(dt.datetime(2026, 11, 17, 10, minute, tzinfo=dt.UTC)):
            await audit.record(actor, action, family_id=family.id, target=f"ligne {minute}")
    return staff


async def test_each_new_action_is_offered_as_a_filter(client, journal):
    page = soup((await client.get("/agents/journal")).text)
    offered = {o["value"]: o.get_text() for o in page.select("#action option")}
    for code, text in NEW.items():
        assert offered.get(code) == text, code
    rows = page.select("#journal-entries tbody tr")
    assert len(rows) == len(NEW)
    text = page.select_one("#journal-entries").get_text(" ")
    for code, label in NEW.items():
        assert label in text and code not in text, code


@pytest.mark.parametrize(
    "action", ["message_familles_envoye", "inscription_refuse", "feuilles_emargement_imprimees"]
)
async def test_filtering_on_a_new_action_shows_its_lines_only(client, journal, action):
    for headers in ({}, {"HX-Request": "true"}):
        answer = await client.get("/agents/journal", params={"action": action}, headers=headers)
        assert answer.status_code == 200
        rows = soup(answer.text).select("#journal-entries tbody tr")
        assert len(rows) == 1, action
        assert NEW[action] in rows[0].get_text(" ")
    both = await client.get(
        "/agents/journal",
        params={"action": action, "famille": "F00001", "agent": str(journal.id)},
    )
    assert len(soup(both.text).select("#journal-entries tbody tr")) == 1
    elsewhere = await client.get(
        "/agents/journal", params={"action": action, "du": "2026-11-18", "au": "2026-11-30"}
    )
    assert soup(elsewhere.text).select("#journal-entries tbody tr") == []
