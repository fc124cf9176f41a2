"""Anonymising a family also blanks what staff wrote about it on its billing anomalies and on
the card attempts settled by hand (free text that may name a child); the rows stay."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.accounts.retention import anonymise_inactive
from ecp.families.tables import Family
from ecp.invoices.tables import BillingAnomaly, BillingRun
from ecp.payments.tables import PaymentAttempt
from tests import factories
from tests.accounts_factories import family_with_guardian

UTC = dt.UTC
OLD = dt.datetime(2021, 6, 1, 10, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


async def test_staff_notes_about_the_family_are_blanked_and_the_rows_kept(settings):
    with clock.frozen(OLD):
        family, _ = await family_with_guardian()
        other, _ = await family_with_guardian(code="F00002")
        school = await factories.make_school()
        activity = await factories.make_activity(school=school)
        run = BillingRun(month=dt.date(2021, 5, 1), status="terminee", started_at=OLD)
        await run.save()
        for fam, name in ((family, "Léa"), (other, "Hugo")):
            child = await factories.make_child(fam, name, school=school)
            await BillingAnomaly(
                month=dt.date(2021, 5, 1),
                kind="present_sans_reservation",
                family=fam.id,
                child=child.id,
                activity=activity.id,
                day=dt.date(2021, 5, 3),
                state="justifiee",
                note=f"{name} hospitalisé, certificat reçu",
                first_seen_run=run.id,
                last_seen_run=run.id,
                first_seen_at=OLD,
                last_seen_at=OLD,
            ).save()
            await PaymentAttempt(
                reference=f"ECP-{name}",
                family=fam.id,
                amount_cents=1000,
                status="erreur",
                created_at=OLD,
                expires_at=OLD,
                resolution="echouee",
                resolution_note=f"La mère de {name} a appelé",
            ).save()
    # Only the first family is inactive: the other logged in since.
    await Family.update({Family.last_login_at: NOW}).where(Family.id == other.id)
    assert await anonymise_inactive(settings, NOW) == 1
    notes = {
        r["family"]: (r["note"], r["state"])
        for r in await BillingAnomaly.select(
            BillingAnomaly.family, BillingAnomaly.note, BillingAnomaly.state
        )
    }
    assert notes == {
        family.id: ("", "justifiee"),
        other.id: ("Hugo hospitalisé, certificat reçu", "justifiee"),
    }
    attempts = {
        r["family"]: r["resolution_note"]
        for r in await PaymentAttempt.select(PaymentAttempt.family, PaymentAttempt.resolution_note)
    }
    assert attempts == {family.id: "", other.id: "La mère de Hugo a appelé"}
