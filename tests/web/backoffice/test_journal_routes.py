"""Staff > Journal: filterable, append-only (H4), administrators only."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from tests.staff_factories import indexed_family, staff_client
from tests.support import post_form, refused_by_the_database, soup


async def _lines(staff, family, other):
    actor = Principal(
        kind="staff",
        session_id=0,
        name=staff.display_name,
        staff_id=staff.id,
        role="administrateur",
    )
    with clock.frozen(dt.datetime(2026, 11, 2, 10, 0)):
        await audit.record(actor, "health_notes_read", family_id=family.id, target="enfant 1")
    with clock.frozen(dt.datetime(2026, 11, 20, 10, 0)):
        await audit.record(actor, "family_disabled", family_id=other.id)


async def test_journal_lists_and_filters(client):
    staff = await staff_client(client)
    family, _ = await indexed_family()
    other, _ = await indexed_family("F00002", "Diallo")
    await _lines(staff, family, other)
    page = await client.get("/agents/journal")
    assert page.status_code == 200
    rows = soup(page.text).select("#journal-entries tbody tr")
    assert len(rows) == 2
    assert (
        "Désactivation" in rows[0].get_text()
        and "Lecture des informations de santé" in rows[1].get_text()
    )
    by_family = await client.get("/agents/journal", params={"famille": "f00001"})
    assert len(soup(by_family.text).select("#journal-entries tbody tr")) == 1
    by_action = await client.get("/agents/journal", params={"action": "family_disabled"})
    assert "Diallo" in by_action.text and "enfant 1" not in by_action.text
    by_date = await client.get("/agents/journal", params={"du": "2026-11-10", "au": "2026-11-30"})
    assert len(soup(by_date.text).select("#journal-entries tbody tr")) == 1
    by_agent = await client.get("/agents/journal", params={"agent": str(staff.id)})
    assert len(soup(by_agent.text).select("#journal-entries tbody tr")) == 2


async def test_journal_fragment_and_bad_filter(client):
    await staff_client(client)
    fragment = await client.get(
        "/agents/journal", params={"du": "hier"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 422
    assert "<html" not in fragment.text and 'id="journal-entries"' in fragment.text
    page = await client.get("/agents/journal", params={"famille": "F99999"})
    assert page.status_code == 422 and soup(page.text).title.string.startswith("Erreur : ")
    assert 'href="#famille"' in page.text


async def test_journal_pages_backwards(client):
    staff = await staff_client(client)
    family, _ = await indexed_family()
    actor = Principal(
        kind="staff", session_id=0, name="A", staff_id=staff.id, role="administrateur"
    )
    for i in range(55):
        await audit.record(actor, "family_record_viewed", family_id=family.id, target=str(i))
    page = await client.get("/agents/journal")
    link = soup(page.text).find("a", string="Lignes plus anciennes")["href"]
    older = await client.get(link)
    assert len(soup(older.text).select("#journal-entries tbody tr")) == 5


async def test_only_administrators_read_the_journal(client):
    await staff_client(client, "regisseur")
    assert (await client.get("/agents/journal")).status_code == 403


async def test_no_route_edits_or_deletes_a_line(app):
    for route in app.routes:
        if route.path.startswith("/agents/journal"):
            methods = set().union(*(h.http_methods for h in route.route_handlers))
            assert methods <= {"GET", "HEAD", "OPTIONS"}, route.path


async def test_the_database_refuses_to_update_a_line(client):
    staff = await staff_client(client)
    actor = Principal(
        kind="staff", session_id=0, name="A", staff_id=staff.id, role="administrateur"
    )
    await audit.record(actor, "settings_changed")
    with pytest.raises(refused_by_the_database(), match="audit_log is append-only"):
        await AuditLog.update({AuditLog.action: "autre"}, force=True)
    assert (await AuditLog.select(AuditLog.action).first())["action"] == "settings_changed"


async def test_journal_has_no_post(client):
    await staff_client(client)
    response = await post_form(client, "/agents/journal", {}, from_page="/agents/journal")
    assert response.status_code == 405
