"""Staff > Paramètres > « Nouvelle activité » (administrators): page, fragment, no-JS and htmx
posts, validation, CSRF, roles; then the new activity is requested, validated, booked by a family
and priced by the monthly billing like any other."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking.tables import Booking, Inscription
from ecp.commune.tables import Activity, ActivityCapacity, TariffBracket
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice, InvoiceLine
from tests import booking_factories as bf
from tests import factories
from tests.staff_factories import staff_client
from tests.support import error_summary_links, login_family, post_form, soup

BASE = "/agents/parametres"
NEW = f"{BASE}/activites/nouvelle"


def new_activity(schools=(), **changes) -> dict:
    data = {
        "libelle": "Stage multisports",
        "libelle_court": "Multisports",
        "code": "",
        "jours": ["1", "2", "4", "5"],
        "debut": "16:30",
        "fin": "18:00",
        "niveaux": ["CP", "CE1", "CE2", "CM1", "CM2"],
        "delai": "working_days",
        "groupe": "",
        "facturee": "oui",
        "capacite": "12",
    }
    for school in schools:
        data[f"capacite-{school.id}"] = "12"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


async def created() -> dict | None:
    return await Activity.select().where(Activity.label == "Stage multisports").first()


async def test_new_activity_page_fragment_and_link_from_the_settings(client):
    await staff_client(client)
    school = await factories.make_school("École Jules-Ferry")
    overview = soup((await client.get(BASE)).text)
    link = overview.find("a", string="Nouvelle activité")
    assert link is not None and link["href"] == NEW
    page = await client.get(NEW)
    assert page.status_code == 200 and "<html" in page.text
    html = soup(page.text)
    assert html.h1.text == "Nouvelle activité" and html.title.text.startswith("Nouvelle activité")
    form = html.select_one("#activity-form")
    assert form["action"] == NEW and form["method"] == "post"
    assert html.select_one("#jours-1").has_attr("checked")
    assert not html.select_one("#jours-3").has_attr("checked")
    assert html.select_one("#facturee").has_attr("checked")
    assert html.select_one(f"#capacite-{school.id}")["value"] == "0"
    assert [o["value"] for o in html.select("#delai option")] == [
        "working_days",
        "previous_wednesday",
    ]
    assert html.select_one("#active") is None  # a new activity is offered at once
    fragment = await client.get(NEW, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("#activity-form") is not None
    assert "HX-Request" in fragment.headers["vary"]


async def test_admin_creates_an_activity_with_its_places_and_is_sent_to_the_tariffs(client):
    await staff_client(client)
    a = await factories.make_school("École A")
    b = await factories.make_school("École B")
    soir = await factories.make_activity(
        "garderie_soir",
        "Garderie du soir",
        short_label="Garderie soir",
        group_code="soir",
        sort_order=40,
    )
    data = new_activity((a, b), **{f"capacite-{b.id}": "0", "groupe": "soir"})
    response = await post_form(client, NEW, data, from_page=NEW)
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}/tarifs"
    row = await created()
    assert row["code"] == "stage_multisports" and row["short_label"] == "Multisports"
    assert row["weekdays"] == "1,2,4,5" and row["eligible_levels"] == "CP,CE1,CE2,CM1,CM2"
    assert (row["starts_at"], row["ends_at"]) == (dt.time(16, 30), dt.time(18, 0))
    assert row["deadline_rule"] == "working_days" and row["group_code"] == "soir"
    assert row["billable"] and row["active"] and row["default_capacity"] == 12
    assert row["sort_order"] > 40  # last in the families' calendar
    caps = {
        r["school"]: r["capacity"]
        for r in await ActivityCapacity.select().where(ActivityCapacity.activity == row["id"])
    }
    assert caps == {a.id: 12, b.id: 0}
    tariffs = await client.get(f"{BASE}/tarifs")
    assert "L’activité « Stage multisports » est créée. Fixez maintenant ses tarifs" in (
        tariffs.text
    )
    assert soup(tariffs.text).find("option", string="Stage multisports") is not None
    assert "Stage multisports" in (await client.get(BASE)).text
    log = (
        await AuditLog.select()
        .where(AuditLog.action == "settings_changed")
        .output(load_json=True)
        .first()
    )
    assert log["target"] == "activité stage_multisports créée"
    assert log["details"]["billable"] is True and log["details"]["group"] == "soir"
    assert soir.id != row["id"]


async def test_a_free_activity_goes_back_to_the_settings(client):
    await staff_client(client)
    data = new_activity(
        facturee=None, code="etude_gratuite", delai="previous_wednesday", jours=["3"]
    )
    response = await post_form(client, NEW, data, from_page=NEW)
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}#activities-title"
    row = await created()
    assert not row["billable"] and row["code"] == "etude_gratuite"
    assert row["deadline_rule"] == "previous_wednesday" and row["weekdays"] == "3"
    page = await client.get(BASE)
    assert "L’activité « Stage multisports » est créée." in page.text


async def test_bad_input_is_422_with_french_messages_and_the_values_kept(client):
    await staff_client(client)
    school = await factories.make_school("École A")
    await factories.make_activity("restauration", "Restauration scolaire", short_label="Cantine")
    data = new_activity(
        (school,),
        libelle="  ",
        libelle_court="cantine",
        code="Pas bon !",
        jours=[],
        debut="25:00",
        fin="midi",
        niveaux=["6e"],
        delai="demain",
        groupe="inconnu",
        capacite="beaucoup",
        **{f"capacite-{school.id}": "-3"},
    )
    response = await post_form(client, NEW, data, from_page=NEW)
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.text.startswith("Erreur : ")
    assert error_summary_links(response.text) == [
        "#libelle",
        "#libelle_court",
        "#code",
        "#jours-1",
        "#debut",
        "#fin",
        "#niveaux-PS",
        "#delai",
        "#groupe",
        "#capacite",
        f"#capacite-{school.id}",
    ]
    assert page.select_one("#libelle_court")["value"] == "cantine"
    assert page.select_one("#code")["value"] == "pas bon !"
    assert page.select_one("#fin")["value"] == "midi"
    assert page.select_one(f"#capacite-{school.id}")["value"] == "-3"
    assert page.select_one("#capacite")["aria-describedby"] == "capacite-hint capacite-error"
    assert "Une autre activité porte déjà ce libellé court." in page.text
    assert "Choisissez la date limite de réservation." in page.text
    assert await Activity.count() == 1 and await ActivityCapacity.count() == 0


async def test_code_and_labels_must_be_unique(client):
    await staff_client(client)
    await factories.make_activity("restauration", "Restauration scolaire", short_label="Cantine")
    # An explicit code already used.
    response = await post_form(client, NEW, new_activity(code="restauration"), from_page=NEW)
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#code"]
    assert "Une autre activité a déjà le code « restauration »" in response.text
    # A code derived from a label that differs only from another activity's code.
    response = await post_form(client, NEW, new_activity(libelle="Restauration"), from_page=NEW)
    assert response.status_code == 422 and error_summary_links(response.text) == ["#code"]
    # The same label, whatever its case.
    response = await post_form(
        client, NEW, new_activity(libelle="RESTAURATION SCOLAIRE"), from_page=NEW
    )
    assert response.status_code == 422 and error_summary_links(response.text) == ["#libelle"]
    assert await Activity.count() == 1


async def test_htmx_posts_swap_the_form_or_redirect(client):
    await staff_client(client)
    bad = await post_form(
        client, NEW, new_activity(libelle=""), from_page=NEW, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and "<html" not in bad.text
    fragment = soup(bad.text)
    assert fragment.title.text.startswith("Erreur : Nouvelle activité")
    assert fragment.select_one("#activity-form .error-summary") is not None
    good = await post_form(
        client, NEW, new_activity(), from_page=NEW, headers={"HX-Request": "true"}
    )
    assert good.status_code == 200 and good.headers["hx-redirect"] == f"{BASE}/tarifs"
    assert await created() is not None


async def test_creation_without_csrf_is_refused(client):
    await staff_client(client)
    response = await post_form(client, NEW, new_activity(), csrf=False)
    assert response.status_code == 403
    assert await Activity.count() == 0


async def test_agent_and_regisseur_cannot_create_an_activity(client, other_client):
    await staff_client(client, "agent")
    await staff_client(other_client, "regisseur")
    for c in (client, other_client):
        assert (await c.get(NEW)).status_code == 403
        response = await post_form(c, NEW, new_activity(), from_page="/agents/")
        assert response.status_code == 403
    assert await Activity.count() == 0


async def test_edit_page_shows_the_choices_fixed_at_creation_and_ignores_them(client):
    await staff_client(client)
    activity = await factories.make_activity(
        "alsh_mercredi",
        "Mercredi journée",
        weekdays="3",
        deadline_rule="previous_wednesday",
        group_code="",
        billable=True,
    )
    path = f"{BASE}/activites/{activity.id}"
    page = soup((await client.get(path)).text)
    assert page.h1.text == "Activité : Mercredi journée"
    details = page.select_one("#activity-form dl").text
    assert "alsh_mercredi" in details and "le mercredi précédent" in details
    assert page.select_one("#code") is None and page.select_one("#facturee") is None
    data = {
        "libelle": "Mercredi journée",
        "libelle_court": "Mercredi",
        "jours": ["3"],
        "niveaux": ["CP"],
        "debut": "08:30",
        "fin": "17:30",
        "capacite": "10",
        "active": "oui",
        "code": "pirate",
        "groupe": "soir",
        "delai": "working_days",
    }
    response = await post_form(client, path, data, from_page=path)
    assert response.status_code == 303
    row = await Activity.select().where(Activity.id == activity.id).first()
    assert row["short_label"] == "Mercredi" and row["billable"]  # no box posted: unchanged
    assert (row["code"], row["group_code"], row["deadline_rule"]) == (
        "alsh_mercredi",
        "",
        "previous_wednesday",
    )


async def test_a_new_activity_is_requested_validated_booked_and_billed(
    client, other_client, settings
):
    clock.set_now(bf.NOW)  # Monday 30 November 2026; week 2026-W50 is open
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune, inscribe=())
    low = TariffBracket(label="Tranche A", qf_min=0, qf_max=800, sort_order=0)
    high = TariffBracket(label="Tranche B", qf_min=801, qf_max=None, sort_order=1)
    await low.save()
    await high.save()
    await staff_client(client)
    response = await post_form(client, NEW, new_activity((commune.school,)), from_page=NEW)
    assert response.status_code == 303
    activity = await created()
    # Priced like the others: a family without a known QF pays the highest bracket.
    response = await post_form(
        client,
        f"{BASE}/tarifs",
        {
            "activite": str(activity["id"]),
            "tranche": str(high.id),
            "prix": "3,50",
            "majoration": "1,00",
            "date": "30/11/2026",
        },
        from_page=f"{BASE}/tarifs",
    )
    assert response.status_code == 303

    # The family asks for the inscription (Hugo, in MS, is not eligible)...
    await login_family(other_client)
    page = soup((await other_client.get("/famille/inscriptions")).text)
    assert page.select_one(f"#activite-{lea.id} option[value='{activity['id']}']") is not None
    assert page.select_one(f"#activite-{hugo.id} option[value='{activity['id']}']") is None
    response = await post_form(
        other_client,
        "/famille/inscriptions",
        {"enfant": str(lea.id), "activite": str(activity["id"])},
        from_page="/famille/inscriptions",
    )
    assert response.status_code == 303
    inscription = await Inscription.select().where(Inscription.activity == activity["id"]).first()
    # ... the service validates it...
    response = await post_form(
        client,
        "/agents/inscriptions",
        {"inscriptions": str(inscription["id"]), "decision": "valider"},
        from_page="/agents/inscriptions",
    )
    assert response.status_code == 303
    # ... and the family books Monday 7 December in its week calendar.
    week = await other_client.get(f"/famille/reservations?semaine={bf.WEEK}")
    cell = soup(week.text).select_one(f"#cell-{lea.id}-{activity['id']}-{bf.MONDAY.isoformat()}")
    assert cell is not None and "Multisports" in week.text
    response = await post_form(
        other_client,
        "/famille/reservations",
        {
            "enfant": lea.id,
            "activite": activity["id"],
            "jour": bf.MONDAY.isoformat(),
            "action": "reserver",
            "semaine": bf.WEEK,
        },
        from_page=f"/famille/reservations?semaine={bf.WEEK}",
    )
    assert response.status_code == 303
    booking = await Booking.select().where(Booking.activity == activity["id"]).first()
    assert booking["child"] == lea.id and booking["state"] == "reservee"

    result = await run_billing(
        dt.date(2026, 12, 1),
        settings=settings,
        issued_at=dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC),
    )
    assert result["invoices_created"] == 1
    invoice = await Invoice.select().where(Invoice.family == family.id).first()
    line = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"]).first()
    assert line["activity"] == activity["id"] and line["days"] == "2026-12-07"
    assert (line["quantity"], line["unit_price_cents"], line["amount_cents"]) == (1, 350, 350)
    assert invoice["total_cents"] == 350
