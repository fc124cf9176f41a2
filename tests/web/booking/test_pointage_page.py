"""The pointage page on a tablet (issue 14): one activity's list at a time with a summary of
the others, one form for the page without JavaScript, a list saved alone with htmx (the other
lists keep their unsaved marks), « tous présents », arrival and departure where the activity
is billed by the hour, the confirmation in the list's own status, future days refused; the
query budget of the page whatever the number of children; the CSV export journalled."""

from __future__ import annotations

import datetime as dt
import gzip
import json

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking import services
from ecp.booking.tables import Attendance
from ecp.commune.tables import Activity
from tests import booking_factories as bf
from tests import factories
from tests.booking_support import count_queries
from tests.support import (
    csrf_token,
    error_summary_links,
    login_family,
    login_staff,
    post_form,
    soup,
)

DAY = bf.MONDAY.isoformat()
HTMX = {"HX-Request": "true"}
SIZES: list[tuple[int, int]] = []


async def setup(client, *, hourly: bool = False, login: bool = True):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    cantine = commune.activities["restauration"].id
    soir = commune.activities["garderie_soir"].id
    if hourly:
        await Activity.update({Activity.hourly: True}).where(Activity.id == soir)
    for kid in (lea, hugo):
        await services.book(kid.id, cantine, bf.MONDAY, family_id=family.id)
    await services.book(lea.id, soir, bf.MONDAY, family_id=family.id)
    await factories.make_staff()
    # Booked ahead, pointed on the day.
    clock.set_now(dt.datetime.combine(bf.MONDAY, dt.time(18, 0), tzinfo=clock.PARIS))
    if login:
        await login_staff(client)
    return commune, family, lea, hugo, cantine, soir


def page_url(commune, activite: str | None = None) -> str:
    url = f"/agents/effectifs?jour={DAY}&ecole={commune.school.id}"
    return url + (f"&activite={activite}" if activite is not None else "")


def marks(commune, **fields) -> dict:
    return {"jour": DAY, "ecole": commune.school.id, **fields}


async def saved() -> dict:
    return {
        (r["child"], r["activity"]): (r["status"], r["arrived_at"], r["left_at"])
        for r in await Attendance.select()
    }


async def test_one_activity_at_a_time_with_a_summary_of_the_others(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    s = soup((await client.get(page_url(commune))).text)
    key = f"{commune.school.id}-{cantine}"
    # The school's first list of the day (activities' order) only; the others summarised.
    assert [sec["id"] for sec in s.select("section.pointage-list")] == [f"liste-{key}"]
    nav = s.select_one('nav[aria-labelledby="lists-nav-title"]')
    items = [" ".join(li.get_text(" ", strip=True).split()) for li in nav.select("li")]
    assert items == [
        "Restauration scolaire : 2 attendus, 0 pointé",
        "Garderie du soir : 1 attendu, 0 pointé",
        "Toutes les listes sur une page",
    ]
    assert nav.select_one('a[aria-current="page"]').get_text() == "Restauration scolaire"
    # The activity filter.
    options = [(o["value"], o.get_text()) for o in s.select("#activite option")]
    assert options[1:3] == [
        (str(cantine), "Restauration scolaire"),
        (str(soir), "Garderie du soir"),
    ]
    one = soup((await client.get(page_url(commune, str(soir)))).text)
    assert [sec["id"] for sec in one.select("section.pointage-list")] == [
        f"liste-{commune.school.id}-{soir}"
    ]
    assert one.select_one(f'#activite option[value="{soir}"]').has_attr("selected")
    every = soup((await client.get(page_url(commune, "toutes"))).text)
    assert len(every.select("section.pointage-list")) == 2
    assert every.select_one("#pointage-form")
    assert every.select_one('#pointage-form input[name="vue"]')["value"] == "toutes"
    # htmx (the filter form): the lists' fragment.
    fragment = await client.get(page_url(commune, str(soir)), headers=HTMX)
    assert "<html" not in fragment.text and 'id="attendance-lists"' in fragment.text
    assert (await client.get(page_url(commune, "x"))).status_code == 404
    # Two schools and none chosen: each school's lists' sizes, no list to point.
    await factories.make_school("École Pasteur")
    overview = soup((await client.get(f"/agents/effectifs?jour={DAY}")).text)
    assert overview.select("section.pointage-list") == []
    rows = [
        [c.get_text(" ", strip=True) for c in tr.select("th, td")]
        for tr in overview.select("#overview-title ~ div tbody tr")
    ]
    assert rows == [
        ["École Jules-Ferry : Restauration scolaire", "Restauration scolaire", "2", "0"],
        ["École Jules-Ferry : Garderie du soir", "Garderie du soir", "1", "0"],
    ]


async def test_without_javascript_one_post_saves_every_list_of_the_page(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    response = await post_form(
        client,
        "/agents/effectifs",
        marks(
            commune,
            vue="toutes",
            liste=soir,
            **{
                f"statut_{cantine}_{lea.id}": "present",
                f"statut_{cantine}_{hugo.id}": "absent",
                f"statut_{soir}_{lea.id}": "excuse",
            },
        ),
        from_page=page_url(commune, "toutes"),
    )
    assert response.status_code == 303
    location = response.headers["location"]
    key = f"{commune.school.id}-{soir}"
    assert location.endswith(f"&activite=toutes&enregistre={soir}#liste-{key}-status")
    assert await saved() == {
        (lea.id, cantine): ("present", None, None),
        (hugo.id, cantine): ("absent", None, None),
        (lea.id, soir): ("excuse", None, None),
    }
    # The confirmation is shown in the list whose button was pressed, where the page opens.
    page = soup((await client.get(location)).text)
    status = page.select_one(f"#liste-{key}-status")
    assert status["role"] == "status" and status.has_attr("data-focus")
    assert "Pointage enregistré : 3 enfants sur 2 listes." in status.get_text()
    assert "Pointage enregistré" not in page.select_one("#flash").get_text()
    logs = await AuditLog.select(AuditLog.action, AuditLog.target)
    assert sorted(r["target"] for r in logs if r["action"] == "attendance_mark") == sorted(
        [f"activity:{cantine}", f"activity:{soir}"]
    )


async def test_with_htmx_a_list_is_saved_and_swapped_alone(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    response = await post_form(
        client,
        "/agents/effectifs",
        marks(
            commune,
            vue="toutes",
            seule=cantine,
            liste=cantine,
            **{
                f"statut_{cantine}_{lea.id}": "present",
                f"statut_{cantine}_{hugo.id}": "present",
                f"statut_{soir}_{lea.id}": "absent",  # another list's unsaved mark
            },
        ),
        from_page=page_url(commune, "toutes"),
        headers=HTMX,
    )
    assert response.status_code == 200 and "<html" not in response.text
    s = soup(response.text)
    key = f"{commune.school.id}-{cantine}"
    assert [sec["id"] for sec in s.select("section")] == [f"liste-{key}"]
    status = s.select_one(f"#liste-{key}-status")
    assert status.has_attr("data-focus") and status["aria-live"] == "polite"
    assert "Pointage enregistré : 2 enfants." in status.get_text()
    assert s.select_one(f"#p-{cantine}-{lea.id}-present").has_attr("checked")
    # Only that list was saved: the other stays as the page left it, unsaved.
    assert await saved() == {
        (lea.id, cantine): ("present", None, None),
        (hugo.id, cantine): ("present", None, None),
    }


async def test_tous_presents_marks_the_whole_list(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    page = soup((await client.get(page_url(commune))).text)
    button = page.select_one(f"#liste-{commune.school.id}-{cantine} button[name=tous]")
    assert button["value"] == str(cantine) and button["type"] == "submit"
    assert button["data-all-present"] == f"liste-{commune.school.id}-{cantine}"
    # Without JavaScript: a submit of the page's form; no radio was checked yet.
    response = await post_form(
        client, "/agents/effectifs", marks(commune, tous=cantine), from_page=page_url(commune)
    )
    assert response.status_code == 303
    assert await saved() == {
        (lea.id, cantine): ("present", None, None),
        (hugo.id, cantine): ("present", None, None),
    }
    follow = soup((await client.get(response.headers["location"])).text)
    assert (
        "Pointage enregistré : 2 enfants."
        in follow.select_one(f"#liste-{commune.school.id}-{cantine}-status").get_text()
    )


async def test_arrival_and_departure_where_billed_by_the_hour(client):
    commune, family, lea, hugo, cantine, soir = await setup(client, hourly=True)
    page = soup((await client.get(page_url(commune, str(soir)))).text)
    arrival = page.select_one(f"#arrivee-{soir}-{lea.id}")
    assert arrival["type"] == "time" and arrival["name"] == f"arrivee_{soir}_{lea.id}"
    assert page.select_one(f'label[for="arrivee-{soir}-{lea.id}"]').get_text() == "Arrivée"
    # The canteen is billed by the day: no times there.
    cantine_page = soup((await client.get(page_url(commune, str(cantine)))).text)
    assert cantine_page.select("input[type=time]") == []
    base = marks(commune, vue=str(soir), liste=soir)
    response = await post_form(
        client,
        "/agents/effectifs",
        base | {f"arrivee_{soir}_{lea.id}": "16:35", f"depart_{soir}_{lea.id}": "18h10"},
        from_page=page_url(commune, str(soir)),
    )
    # A time typed for a child not marked yet: the child came.
    assert response.status_code == 303
    assert await saved() == {(lea.id, soir): ("present", dt.time(16, 35), dt.time(18, 10))}
    again = soup((await client.get(response.headers["location"])).text)
    assert again.select_one(f"#depart-{soir}-{lea.id}")["value"] == "18:10"
    # Bad times: 422 with the values typed, the summary and the message next to the field.
    for fields, fid, message in (
        (
            {f"statut_{soir}_{lea.id}": "present", f"arrivee_{soir}_{lea.id}": "25:99"},
            f"arrivee-{soir}-{lea.id}",
            "Heure d’arrivée invalide",
        ),
        (
            {f"arrivee_{soir}_{lea.id}": "17:00", f"depart_{soir}_{lea.id}": "16:00"},
            f"depart-{soir}-{lea.id}",
            "L’heure de départ doit suivre l’heure d’arrivée.",
        ),
        (
            {f"statut_{soir}_{lea.id}": "absent", f"depart_{soir}_{lea.id}": "17:00"},
            f"depart-{soir}-{lea.id}",
            "ne se note que pour un enfant présent",
        ),
    ):
        bad = await post_form(
            client, "/agents/effectifs", base | fields, from_page=page_url(commune, str(soir))
        )
        assert bad.status_code == 422
        s = soup(bad.text)
        assert s.title.get_text().startswith("Erreur : ")
        assert error_summary_links(bad.text) == [f"#{fid}"]
        assert message in s.select_one(f"#{fid}-error").get_text()
        for name, value in fields.items():
            if name.startswith("statut_"):
                assert s.select_one(f'input[name="{name}"][value="{value}"]').has_attr("checked")
            else:
                assert s.select_one(f'input[name="{name}"]')["value"] == value
        # htmx: that list alone comes back, 422, with its summary.
        fragment = await post_form(
            client,
            "/agents/effectifs",
            base | fields | {"seule": soir},
            from_page=page_url(commune, str(soir)),
            headers=HTMX,
        )
        assert fragment.status_code == 422 and "<html" not in fragment.text
        assert error_summary_links(fragment.text) == [f"#{fid}"]
    assert await saved() == {(lea.id, soir): ("present", dt.time(16, 35), dt.time(18, 10))}


async def test_future_days_are_refused_and_nothing_is_written(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    clock.set_now(bf.NOW)  # a week before the day
    fields = marks(commune, **{f"statut_{cantine}_{lea.id}": "present"})
    page = await post_form(client, "/agents/effectifs", fields, from_page=page_url(commune))
    assert page.status_code == 422
    assert "On ne pointe pas un jour à venir" in page.text
    fragment = await post_form(
        client,
        "/agents/effectifs",
        fields | {"seule": cantine},
        from_page=page_url(commune),
        headers=HTMX,
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    key = f"{commune.school.id}-{cantine}"
    assert (
        "On ne pointe pas un jour à venir"
        in soup(fragment.text).select_one(f"#liste-{key}-status").get_text()
    )
    assert soup(fragment.text).select_one(f"#p-{cantine}-{lea.id}-present").has_attr("checked")
    assert await Attendance.count() == 0


async def test_refusals_csrf_unknown_lists_and_families(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    fields = marks(commune, **{f"statut_{cantine}_{lea.id}": "present"})
    assert (await client.post("/agents/effectifs", data=fields)).status_code == 403
    for bad in (
        marks(commune, **{f"statut_{cantine}_abc": "present"}),
        marks(commune, **{f"statut_999999_{lea.id}": "present"}),
        marks(commune, seule="x"),
        {"jour": DAY, "ecole": "999999", f"statut_{cantine}_{lea.id}": "present"},
    ):
        response = await post_form(client, "/agents/effectifs", bad, from_page=page_url(commune))
        assert response.status_code == 404, bad
    # A child of another list (Hugo is not on the evening list).
    response = await post_form(
        client,
        "/agents/effectifs",
        marks(commune, **{f"statut_{soir}_{hugo.id}": "present"}),
        from_page=page_url(commune),
    )
    assert response.status_code == 404
    assert await Attendance.count() == 0
    client.cookies.clear()
    await login_family(client)
    assert (await client.get(page_url(commune))).status_code == 404
    token = await csrf_token(client, "/famille")
    response = await client.post("/agents/effectifs", data=fields | {"_csrf_token": token})
    assert response.status_code == 404 and await Attendance.count() == 0


async def test_csv_export_is_journalled(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    response = await client.get(f"/agents/effectifs.csv?jour={DAY}&ecole={commune.school.id}")
    assert response.status_code == 200
    # Every list of the day, not only the one the page shows.
    assert len(response.text.lstrip("\ufeff").splitlines()) == 1 + 3
    log = await AuditLog.select().where(AuditLog.action == "effectifs_exportes")
    details = log[0]["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert len(log) == 1 and details["enfants"] == 3 and details["jour"] == DAY


def _gzip(content: bytes) -> int:
    return len(gzip.compress(content, 6))


async def _page_queries(client, commune) -> tuple[int, int]:
    with count_queries() as page:
        response = await client.get(page_url(commune, str(commune.activities["restauration"].id)))
        assert response.status_code == 200
        SIZES.append((response.text.count('class="pointage-child"'), _gzip(response.content)))
    with count_queries() as fragment:
        response = await post_form(
            client,
            "/agents/effectifs",
            marks(
                commune,
                seule=commune.activities["restauration"].id,
                tous=commune.activities["restauration"].id,
            ),
            from_page=page_url(commune),
            headers=HTMX,
        )
        assert response.status_code == 200
    return page.count, fragment.count


async def test_query_budget_does_not_grow_with_the_lists(client):
    commune, family, lea, hugo, cantine, soir = await setup(client)
    few = await _page_queries(client, commune)
    clock.set_now(bf.NOW)
    for n in range(12):
        other, kids = await bf.make_family_with_children(
            commune, code=f"F{n + 10:05d}", name=f"Famille{n}", children=(("Awa", "CM2"),)
        )
        await services.book(kids[0].id, cantine, bf.MONDAY, family_id=other.id)
        await services.book(kids[0].id, soir, bf.MONDAY, family_id=other.id)
    clock.set_now(dt.datetime.combine(bf.MONDAY, dt.time(18, 0), tzinfo=clock.PARIS))
    many = await _page_queries(client, commune)
    assert await Attendance.count() == 14
    # The page: session + schools, list sizes, rows, kitchen, candidates; the htmx save of a
    # list adds its reads and writes, whatever the list's length.
    assert few[0] == many[0] == 6
    assert few[1] == many[1]
    # Issue 17: one school's day ≤ 30 KB compressed. A child on a list costs at most 80 bytes
    # compressed, so a list of 300 (the largest school lunch at 10,000 families) stays ≤ 30 KB.
    (n0, size0), (n1, size1) = SIZES[-2:]
    assert (n0, n1) == (2, 14)
    assert (size1 - size0) / (n1 - n0) <= 80, SIZES
    assert size0 + 300 * (size1 - size0) / (n1 - n0) <= 30 * 1024
