"""Staff pointage: adding a child present without a booking (billed with the majoration)
from /agents/effectifs, with and without htmx; bad input, CSRF and roles."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking import services
from ecp.booking.tables import Attendance, Inscription
from tests import booking_factories as bf
from tests import factories
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

# Monday 7 December 2026 at noon: the canteen list of the day is being pointed.
NOON = dt.datetime(2026, 12, 7, 12, 0, tzinfo=clock.PARIS)
DAY = bf.MONDAY.isoformat()
ADD = "/agents/effectifs/sans-reservation"


async def setup(client, role="agent", login=True):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=5)
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    cantine = commune.activities["restauration"].id
    await services.book(lea.id, cantine, bf.MONDAY, family_id=family.id)  # Hugo has no booking
    clock.set_now(NOON)
    await factories.make_staff(role=role)
    if login:
        await login_staff(client)
    return commune, family, lea, hugo, cantine


def url(commune, ecole=True):
    return f"/agents/effectifs?jour={DAY}" + (f"&ecole={commune.school.id}" if ecole else "")


def form_data(commune, cantine, child, filtre=True):
    return {
        "jour": DAY,
        "ecole": commune.school.id,
        "activite": cantine,
        "filtre": commune.school.id if filtre else "",
        "enfant": child,
    }


async def test_list_offers_inscribed_children_not_on_it(client):
    commune, family, lea, hugo, cantine = await setup(client)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),), inscribe=()
    )
    elsewhere = await factories.make_school("École Pasteur")
    far = await factories.make_child(other, "Sami", "CE2", school=elsewhere)
    await Inscription(
        child=far.id,
        activity=cantine,
        school_year=commune.year.id,
        status="validee",
        requested_at=clock.now(),
    ).save()
    # Two schools: with no school chosen the page shows each school's lists' sizes only.
    overview = soup((await client.get(url(commune, ecole=False))).text)
    assert overview.select_one(f"#enfant-{commune.school.id}-{cantine}") is None
    assert "Listes du jour par école" in overview.get_text()
    page = await client.get(url(commune))
    assert page.status_code == 200
    select = soup(page.text).select_one(f"#enfant-{commune.school.id}-{cantine}")
    assert select is not None and select["name"] == "enfant"
    # The select belongs to the list's own add form, outside the page's pointage form.
    assert select["form"] == f"ajout-{commune.school.id}-{cantine}"
    label = soup(page.text).select_one(f'label[for="enfant-{commune.school.id}-{cantine}"]')
    assert "Ajouter un enfant présent sans réservation" in label.get_text()
    # Hugo (inscribed, not booked) only: not Léa (already listed), not Awa (no inscription),
    # not Sami (another school).
    options = {o["value"]: o.get_text() for o in select.select("option") if o["value"]}
    assert options == {str(hugo.id): "Martin Hugo"}


async def test_no_js_add_writes_present_row_audits_and_redirects(client):
    commune, family, lea, hugo, cantine = await setup(client)
    response = await post_form(
        client, ADD, form_data(commune, cantine, hugo.id), from_page=url(commune)
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/agents/effectifs?jour={DAY}&ecole={commune.school.id}"
        f"#liste-{commune.school.id}-{cantine}"
    )
    rows = await Attendance.select(
        Attendance.child, Attendance.activity, Attendance.school, Attendance.day, Attendance.status
    )
    assert rows == [
        {
            "child": hugo.id,
            "activity": cantine,
            "school": commune.school.id,
            "day": bf.MONDAY,
            "status": "present",
        }
    ]
    audit = await AuditLog.select(AuditLog.action, AuditLog.family, AuditLog.target)
    assert audit == [
        {"action": "attendance_unbooked_add", "family": family.id, "target": f"child:{hugo.id}"}
    ]
    follow = await client.get(response.headers["location"])
    assert "Présence sans réservation enregistrée pour Hugo Martin" in follow.text
    item = soup(follow.text).select_one(f"#pointage-{commune.school.id}-{cantine}-{hugo.id}")
    assert "sans réservation" in item.get_text(" ", strip=True)
    assert item.select_one(f"#p-{cantine}-{hugo.id}-present").has_attr("checked")
    # He has left the choices; the header still counts the booked children only.
    assert soup(follow.text).select_one(f"#enfant-{commune.school.id}-{cantine}") is None
    assert "1 attendu" in follow.text
    # The usual pointage form now accepts him too (absent after all).
    save = await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": DAY,
            "ecole": commune.school.id,
            "activite": cantine,
            f"statut_{hugo.id}": "absent",
            f"statut_{lea.id}": "present",
        },
        from_page=url(commune),
    )
    assert save.status_code == 303
    marks = {r["child"]: r["status"] for r in await Attendance.select()}
    assert marks == {hugo.id: "absent", lea.id: "present"}


async def test_second_submission_changes_nothing_and_says_so(client):
    commune, family, lea, hugo, cantine = await setup(client)
    await post_form(client, ADD, form_data(commune, cantine, hugo.id), from_page=url(commune))
    again = await post_form(
        client, ADD, form_data(commune, cantine, hugo.id), from_page=url(commune)
    )
    assert again.status_code == 303
    follow = await client.get(again.headers["location"])
    assert "Hugo Martin est déjà sur la liste : rien n’a changé." in follow.text
    assert await Attendance.count() == 1 and await AuditLog.count() == 1
    # A booked child is already on the list too: nothing written.
    booked = await post_form(
        client, ADD, form_data(commune, cantine, lea.id), from_page=url(commune)
    )
    assert booked.status_code == 303 and await Attendance.count() == 1


async def test_htmx_add_swaps_lists_focuses_child_and_announces(client):
    commune, family, lea, hugo, cantine = await setup(client)
    response = await post_form(
        client,
        ADD,
        form_data(commune, cantine, hugo.id, filtre=False),
        from_page=url(commune, ecole=False),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text and response.headers["vary"] == "HX-Request"
    page = soup(response.text)
    # Only that list comes back (the page's other lists keep their unsaved marks), its status
    # saying what happened; focus goes to the child added.
    key = f"{commune.school.id}-{cantine}"
    assert page.select_one("#attendance-lists") is None
    assert page.select_one("section")["id"] == f"liste-{key}"
    item = page.select_one(f"#pointage-{key}-{hugo.id}")
    assert item.has_attr("data-focus") and item["tabindex"] == "-1"
    status = page.select_one(f"#liste-{key}-status")
    assert status["role"] == "status" and not status.has_attr("data-focus")
    assert "Présence sans réservation enregistrée pour Hugo Martin" in status.get_text()
    assert await Attendance.count() == 1


async def test_bad_input_is_422_with_the_form_and_nothing_written(client):
    commune, family, lea, hugo, cantine = await setup(client)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),), inscribe=()
    )
    elsewhere = await factories.make_school("École Pasteur")
    far = await factories.make_child(other, "Sami", "CE2", school=elsewhere)
    fid = f"enfant-{commune.school.id}-{cantine}"
    cases = [
        ("", "Choisissez l’enfant présent sans réservation."),
        ("abc", "Cet enfant est introuvable"),
        ("999999", "Cet enfant est introuvable"),
        (str(far.id), "Sami Diallo n’est pas élève de cette école."),
        (str(awa.id), "Awa Diallo n’a pas d’inscription validée à cette activité."),
    ]
    for value, message in cases:
        response = await post_form(
            client, ADD, form_data(commune, cantine, value), from_page=url(commune)
        )
        assert response.status_code == 422, value
        page = soup(response.text)
        assert page.title.get_text().startswith("Erreur : ")
        assert error_summary_links(response.text) == [f"#{fid}"]
        assert message in page.select_one(f"#{fid}-error").get_text()
        select = page.select_one(f"#{fid}")
        assert f"{fid}-error" in select["aria-describedby"]
    # htmx: the fragment with the error, swapped (422 is allowed by the htmx config).
    fragment = await post_form(
        client,
        ADD,
        form_data(commune, cantine, ""),
        from_page=url(commune),
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert error_summary_links(fragment.text) == [f"#{fid}"]
    assert await Attendance.count() == 0 and await AuditLog.count() == 0


async def test_future_day_is_refused_with_the_form_shown(client):
    commune, family, lea, hugo, cantine = await setup(client)
    clock.set_now(dt.datetime(2026, 12, 4, 12, 0, tzinfo=clock.PARIS))  # the Friday before
    page = await client.get(url(commune))
    fid = f"enfant-{commune.school.id}-{cantine}"
    assert soup(page.text).select_one(f"#{fid}") is None  # not offered for a day to come
    response = await post_form(
        client, ADD, form_data(commune, cantine, hugo.id), from_page=url(commune)
    )
    assert response.status_code == 422
    assert "un jour à venir" in soup(response.text).select_one(f"#{fid}-error").get_text()
    # The value is kept.
    assert soup(response.text).select_one(f"#{fid} option[selected]")["value"] == str(hugo.id)
    assert await Attendance.count() == 0


async def test_unknown_list_is_404_and_csrf_is_403(client):
    commune, family, lea, hugo, cantine = await setup(client)
    for bad in ({"activite": 999999}, {"ecole": 999999}, {"jour": "demain"}):
        data = form_data(commune, cantine, hugo.id) | bad
        assert (await post_form(client, ADD, data, from_page=url(commune))).status_code == 404
    response = await post_form(client, ADD, form_data(commune, cantine, hugo.id), csrf=False)
    assert response.status_code == 403
    assert await Attendance.count() == 0


async def test_only_staff_can_add(client, other_client):
    commune, family, lea, hugo, cantine = await setup(client, login=False)
    assert (await post_form(client, ADD, form_data(commune, cantine, hugo.id))).status_code in (
        303,
        401,
    )
    await login_family(other_client)
    response = await post_form(
        other_client, ADD, form_data(commune, cantine, hugo.id), from_page="/famille/reservations"
    )
    assert response.status_code == 404
    assert await Attendance.count() == 0


async def test_csv_export_marks_the_child_without_booking(client):
    commune, family, lea, hugo, cantine = await setup(client)
    await post_form(client, ADD, form_data(commune, cantine, hugo.id), from_page=url(commune))
    response = await client.get(f"/agents/effectifs.csv?jour={DAY}")
    lines = response.text.lstrip("\ufeff").splitlines()
    hugo_line = next(line for line in lines if ";Hugo;" in line)
    assert hugo_line.endswith(";sans_reservation;présent")
