"""A long list of the pointage shown a page at a time (issue 17): the page navigation (full page
and htmx, focus on the list's title), the whole list's counts, a page's save keeping the other
pages' marks, « tous présents » of a page only, the page kept after a save without
JavaScript, bad page values, CSRF and the school scope. PAGE_SIZE is made 2 here: 5 children
on the canteen list make 3 pages."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.auth.tables import StaffSchool
from ecp.booking import services, staff_routes
from ecp.booking.tables import Attendance
from tests import booking_factories as bf
from tests import factories
from tests.booking_support import count_queries
from tests.staff_factories import staff_client
from tests.support import post_form, soup

DAY = bf.MONDAY.isoformat()
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(staff_routes, "PAGE_SIZE", 2)


async def setup(client, role: str = "agent", *, login: bool = True):
    """Five children on the canteen list, in the list's order: Famille0, Famille1 (page 1),
    Famille2, Martin Hugo (page 2), Martin Léa (page 3)."""
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    cantine = commune.activities["restauration"].id
    others = await bf.many_children(commune, 3, "restauration")
    for kid in (*others, hugo, lea):
        await services.book(kid.id, cantine, bf.MONDAY, family_id=await bf.child_family(kid.id))
    clock.set_now(dt.datetime.combine(bf.MONDAY, dt.time(18, 0), tzinfo=clock.PARIS))
    staff = await staff_client(client, role) if login else None
    return commune, staff, cantine, [*others, hugo, lea]


def url(commune, cantine, page: int | str | None = None) -> str:
    base = f"/agents/effectifs?jour={DAY}&ecole={commune.school.id}&activite={cantine}"
    return base + (f"&page={page}" if page is not None else "")


def shown(html: str) -> list[str]:
    """The children of the page shown: « last name first name »."""
    return [
        " ".join(li.select_one("legend").get_text(" ", strip=True).split()[:2])
        for li in soup(html).select("li.pointage-child")
    ]


async def saved() -> dict:
    return {(r["child"], r["activity"]): r["status"] for r in await Attendance.select()}


async def test_a_long_list_is_shown_a_page_at_a_time(client):
    commune, _, cantine, kids = await setup(client)
    key = f"{commune.school.id}-{cantine}"
    first = await client.get(url(commune, cantine))
    assert first.status_code == 200
    assert shown(first.text) == ["Famille0 Enfant0", "Famille1 Enfant1"]
    s = soup(first.text)
    section = s.select_one(f"#liste-{key}")
    # The whole list's counts, so that nothing is hidden silently.
    assert "5 attendus" in section.select_one("h3").get_text()
    count = " ".join(section.select_one(".list-pages-count").get_text().split())
    assert count == "5 enfants, page 1 sur 3 (enfants 1 à 2)"
    nav = section.select_one('nav[aria-label="Pages de la liste"]')
    links = nav.select("a")
    assert [a.get_text(" ", strip=True) for a in links] == [
        "Enfants 1–2",
        "Enfants 3–4",
        "Enfants 5–5",
    ]
    assert [a.has_attr("aria-current") for a in links] == [True, False, False]
    assert links[1]["href"] == url(commune, cantine, 2) + f"#liste-{key}-title"
    assert links[1]["hx-get"] == url(commune, cantine, 2)
    assert links[1]["hx-target"] == "#attendance-lists"
    # The page's form: its page, its children for « tous présents », said to be the page's.
    assert s.select_one('#pointage-form input[name="page"]')["value"] == "1"
    assert section.select_one(f'input[name="enfants_{cantine}"]')["value"].split() == [
        str(kids[0].id),
        str(kids[1].id),
    ]
    assert "Tous présents de cette page" in section.select_one("button[name=tous]").get_text()
    assert s.select_one(f'#ajout-{key} input[name="page"]')["value"] == "1"
    # Page 2, and a page past the end shows the last one.
    second = await client.get(url(commune, cantine, 2))
    assert shown(second.text) == ["Famille2 Enfant2", "Martin Hugo"]
    current = soup(second.text).select_one('nav[aria-label="Pages de la liste"] [aria-current]')
    assert current.get_text(" ", strip=True) == "Enfants 3–4"
    assert shown((await client.get(url(commune, cantine, 99))).text) == ["Martin Léa"]
    # « Toutes » is not paged (ALL_LISTS_MAX bounds it).
    every = await client.get(url(commune, "toutes"))
    assert len(shown(every.text)) == 5 and "Pages de la liste" not in every.text


async def test_bad_page_values_are_404(client):
    commune, _, cantine, _ = await setup(client)
    for bad in ("0", "x", "-1", "1.5", "99999999999999999999"):
        assert (await client.get(url(commune, cantine, bad))).status_code == 404, bad
    response = await post_form(
        client,
        "/agents/effectifs",
        {"jour": DAY, "ecole": commune.school.id, "vue": str(cantine), "page": "x"},
        from_page=url(commune, cantine),
    )
    assert response.status_code == 404


async def test_htmx_page_link_swaps_the_lists_with_focus_on_the_list_title(client):
    commune, _, cantine, _ = await setup(client)
    key = f"{commune.school.id}-{cantine}"
    fragment = await client.get(url(commune, cantine, 2), headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    s = soup(fragment.text)
    assert s.select_one("#attendance-lists")
    title = s.select_one(f"#liste-{key}-title")
    assert title.has_attr("data-focus") and title["tabindex"] == "-1"
    assert shown(fragment.text) == ["Famille2 Enfant2", "Martin Hugo"]
    # The filter form's htmx answer (no page asked) leaves focus to the usual rule.
    filtered = await client.get(url(commune, cantine), headers=HTMX)
    assert not soup(filtered.text).select_one(f"#liste-{key}-title").has_attr("data-focus")
    # The same fixed number of queries on every page (a long list is paged in Python).
    with count_queries() as one:
        await client.get(url(commune, cantine, 1))
    with count_queries() as three:
        await client.get(url(commune, cantine, 3))
    assert one.count == three.count == 6


async def test_saving_a_page_without_javascript_keeps_the_other_pages_marks(client):
    commune, _, cantine, kids = await setup(client)
    key = f"{commune.school.id}-{cantine}"
    f0, f1, f2, hugo, lea = kids
    page2 = {
        "jour": DAY,
        "ecole": commune.school.id,
        "vue": str(cantine),
        "page": "2",
        "liste": cantine,
        f"statut_{cantine}_{f2.id}": "absent",
        f"statut_{cantine}_{hugo.id}": "present",
    }
    response = await post_form(
        client, "/agents/effectifs", page2, from_page=url(commune, cantine, 2)
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.endswith(f"&activite={cantine}&page=2&enregistre={cantine}#liste-{key}-status")
    back = await client.get(location)
    assert shown(back.text) == ["Famille2 Enfant2", "Martin Hugo"]
    assert soup(back.text).select_one(f"#p-{cantine}-{f2.id}-absent").has_attr("checked")
    assert soup(back.text).select_one(f"#p-{cantine}-{hugo.id}-present").has_attr("checked")
    status = soup(back.text).select_one(f"#liste-{key}-status")
    assert status.has_attr("data-focus")
    assert "Pointage enregistré : 2 enfants." in status.get_text()
    # Page 1 saved next: page 2's marks stay.
    page1 = {
        "jour": DAY,
        "ecole": commune.school.id,
        "vue": str(cantine),
        "page": "1",
        "liste": cantine,
        f"statut_{cantine}_{f0.id}": "present",
        f"statut_{cantine}_{f1.id}": "excuse",
    }
    response = await post_form(client, "/agents/effectifs", page1, from_page=url(commune, cantine))
    assert response.status_code == 303 and "page=" not in response.headers["location"]
    assert await saved() == {
        (f0.id, cantine): "present",
        (f1.id, cantine): "excuse",
        (f2.id, cantine): "absent",
        (hugo.id, cantine): "present",
    }
    # With htmx: the list comes back on the page it was saved from, in as many queries as
    # the save of page 1.
    with count_queries() as first_page:
        await post_form(
            client,
            "/agents/effectifs",
            page1 | {"seule": cantine},
            from_page=url(commune, cantine),
            headers=HTMX,
        )
    with count_queries() as second_page:
        fragment = await post_form(
            client,
            "/agents/effectifs",
            page2 | {"seule": cantine, f"statut_{cantine}_{f2.id}": "present"},
            from_page=url(commune, cantine, 2),
            headers=HTMX,
        )
    assert first_page.count == second_page.count, second_page.queries
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert shown(fragment.text) == ["Famille2 Enfant2", "Martin Hugo"]
    assert (await saved())[(f0.id, cantine)] == "present"
    assert (await saved())[(f2.id, cantine)] == "present"


async def test_tous_presents_marks_the_page_shown_only(client):
    commune, _, cantine, kids = await setup(client)
    f0, f1, f2, hugo, lea = kids
    # Léa (page 3) marked absent before.
    response = await post_form(
        client,
        "/agents/effectifs",
        {"jour": DAY, "ecole": commune.school.id, f"statut_{cantine}_{lea.id}": "absent"},
        from_page=url(commune, cantine, 3),
    )
    assert response.status_code == 303
    page = soup((await client.get(url(commune, cantine, 2))).text)
    ids = page.select_one(f'input[name="enfants_{cantine}"]')["value"]
    response = await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": DAY,
            "ecole": commune.school.id,
            "vue": str(cantine),
            "page": "2",
            "tous": cantine,
            f"enfants_{cantine}": ids,
        },
        from_page=url(commune, cantine, 2),
    )
    assert response.status_code == 303 and "&page=2&" in response.headers["location"]
    assert await saved() == {
        (f2.id, cantine): "present",
        (hugo.id, cantine): "present",
        (lea.id, cantine): "absent",  # another page: untouched
    }
    # A child who is not on the list: nothing saved.
    family = await factories.make_family("F80000", name="Ailleurs")
    stranger = await factories.make_child(family, "Noé", school=commune.school)
    response = await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": DAY,
            "ecole": commune.school.id,
            "tous": cantine,
            f"enfants_{cantine}": f"{f0.id} {stranger.id}",
        },
        from_page=url(commune, cantine),
    )
    assert response.status_code == 404
    assert (f0.id, cantine) not in await saved()


async def test_csrf_is_refused(client):
    commune, _, cantine, kids = await setup(client)
    fields = {
        "jour": DAY,
        "ecole": commune.school.id,
        "page": "2",
        "tous": cantine,
        f"enfants_{cantine}": str(kids[2].id),
    }
    assert (await client.post("/agents/effectifs", data=fields)).status_code == 403
    assert await Attendance.count() == 0


async def test_a_limited_agent_pages_their_school_only(client):
    commune, staff, cantine, _ = await setup(client)
    await StaffSchool(staff=staff.id, school=commune.school.id).save()
    pasteur = await factories.make_school("École Pasteur")
    assert shown((await client.get(url(commune, cantine, 2))).text) == [
        "Famille2 Enfant2",
        "Martin Hugo",
    ]
    other = f"/agents/effectifs?jour={DAY}&ecole={pasteur.id}&activite={cantine}&page=2"
    assert (await client.get(other)).status_code == 404
    response = await post_form(
        client,
        "/agents/effectifs",
        {"jour": DAY, "ecole": pasteur.id, "page": "2", "tous": cantine},
        from_page=url(commune, cantine),
    )
    assert response.status_code == 404 and await Attendance.count() == 0


async def test_a_child_added_without_booking_is_shown_on_the_last_page(client):
    """The children pointed without a booking come after the booked ones (as on the whole
    list): adding one from page 1 answers with the page that child is on, focused."""
    commune, _, cantine, kids = await setup(client)
    key = f"{commune.school.id}-{cantine}"
    family = await factories.make_family("F80001", name="Abadie")  # first by name, yet last
    noe = await factories.make_child(family, "Noé", school=commune.school)
    await bf.inscribe_child(commune, noe, "restauration")
    page1 = soup((await client.get(url(commune, cantine))).text)
    offered = [o["value"] for o in page1.select(f"#enfant-{key} option") if o["value"]]
    assert offered == [str(noe.id)]  # the list's children are not offered, on any page
    fragment = await post_form(
        client,
        "/agents/effectifs/sans-reservation",
        {
            "jour": DAY,
            "ecole": commune.school.id,
            "activite": cantine,
            "vue": str(cantine),
            "page": "1",
            "enfant": noe.id,
            f"statut_{cantine}_{kids[0].id}": "present",
        },
        from_page=url(commune, cantine),
        headers=HTMX,
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert shown(fragment.text) == ["Martin Léa", "Abadie Noé"]
    item = soup(fragment.text).select_one(f"#pointage-{key}-{noe.id}")
    assert item.has_attr("data-focus")
    # Read a page at a time: 6 children, the unbooked one on page 3, past the end too.
    for page in (3, 99):
        html = (await client.get(url(commune, cantine, page))).text
        assert shown(html) == ["Martin Léa", "Abadie Noé"]
        count = " ".join(soup(html).select_one(".list-pages-count").get_text().split())
        assert count == "6 enfants, page 3 sur 3 (enfants 5 à 6)"
    assert shown((await client.get(url(commune, cantine, 2))).text) == [
        "Famille2 Enfant2",
        "Martin Hugo",
    ]
    # Its mark is read with the page (saved present by the add).
    assert (
        soup((await client.get(url(commune, cantine, 3))).text)
        .select_one(f"#p-{cantine}-{noe.id}-present")
        .has_attr("checked")
    )
