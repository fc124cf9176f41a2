"""The demo commune of docs/product.md: Villebelle-sur-Seine, its schools, activities, tariffs,
about a hundred families and the demo accounts. Idempotent: existing rows are kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from ecp import clock
from ecp.auth.passwords import Passwords
from ecp.auth.tables import StaffUser
from ecp.commune.tables import (
    Activity,
    ActivityCapacity,
    CommuneSettings,
    School,
    SchoolClass,
    SchoolYear,
    Tariff,
    TariffBracket,
)
from ecp.families.tables import Child, Family, Guardian

T = dt.time
SCHOOLS = [
    (
        "École maternelle Les Tilleuls",
        "maternelle",
        "12 rue des Tilleuls, 78999 Villebelle-sur-Seine",
        ("PS", "MS", "GS"),
    ),
    (
        "École élémentaire Jules-Ferry",
        "elementaire",
        "3 place de la Mairie, 78999 Villebelle-sur-Seine",
        ("CP", "CE1", "CE2", "CM1", "CM2"),
    ),
    (
        "École primaire Marie-Curie",
        "primaire",
        "40 avenue de la Seine, 78999 Villebelle-sur-Seine",
        ("PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2"),
    ),
]
ALL = "PS,MS,GS,CP,CE1,CE2,CM1,CM2"
ELEM = "CP,CE1,CE2,CM1,CM2"
# code, label, short, weekdays, start, end, levels, group, deadline rule, capacity, order
# The garderies are billed by the hour in the demo's commune: their pointage records each
# child's arrival and departure (invoices still count days: the hourly tariff is not modelled).
HOURLY = {"garderie_matin", "garderie_soir"}

ACTIVITIES = [
    (
        "garderie_matin",
        "Garderie du matin",
        "Garderie matin",
        "1,2,4,5",
        T(7, 30),
        T(8, 30),
        ALL,
        "",
        "working_days",
        40,
        10,
    ),
    (
        "restauration",
        "Restauration scolaire",
        "Cantine",
        "1,2,4,5",
        T(11, 30),
        T(13, 30),
        ALL,
        "",
        "working_days",
        150,
        20,
    ),
    (
        "etude",
        "Étude surveillée",
        "Étude",
        "1,2,4,5",
        T(16, 30),
        T(17, 30),
        ELEM,
        "",
        "working_days",
        30,
        30,
    ),
    (
        "garderie_soir",
        "Garderie du soir",
        "Garderie soir",
        "1,2,4,5",
        T(16, 30),
        T(18, 30),
        ALL,
        "soir",
        "working_days",
        40,
        40,
    ),
    (
        "alsh_soir",
        "Accueil de loisirs du soir",
        "Loisirs soir",
        "1,2,4,5",
        T(16, 30),
        T(18, 30),
        ALL,
        "soir",
        "working_days",
        30,
        50,
    ),
    (
        "alsh_mercredi_journee",
        "Accueil de loisirs du mercredi – journée",
        "Mercredi journée",
        "3",
        T(8, 30),
        T(17, 30),
        ALL,
        "alsh_mercredi",
        "previous_wednesday",
        24,
        60,
    ),
    (
        "alsh_mercredi_matin",
        "Accueil de loisirs du mercredi – matin et repas",
        "Mercredi matin + repas",
        "3",
        T(8, 30),
        T(13, 30),
        ALL,
        "alsh_mercredi",
        "previous_wednesday",
        16,
        70,
    ),
    (
        "alsh_mercredi_apres_midi",
        "Accueil de loisirs du mercredi – après-midi",
        "Mercredi après-midi",
        "3",
        T(13, 30),
        T(17, 30),
        ALL,
        "alsh_mercredi",
        "previous_wednesday",
        16,
        80,
    ),
]
BRACKETS = [
    ("Tranche A", 0, 500),
    ("Tranche B", 501, 800),
    ("Tranche C", 801, 1200),
    ("Tranche D", 1201, 1800),
    ("Tranche E", 1801, None),
]
# Prices in cents per bracket A..E, then the out-of-town rate, then the majoration.
PRICES = {
    "garderie_matin": ([60, 90, 130, 170, 210], 320, 200),
    "restauration": ([120, 210, 305, 390, 460], 620, 300),
    "etude": ([50, 80, 110, 150, 180], 260, 150),
    "garderie_soir": ([90, 140, 190, 250, 310], 420, 250),
    "alsh_soir": ([110, 170, 240, 310, 380], 520, 250),
    "alsh_mercredi_journee": ([400, 650, 900, 1200, 1450], 2100, 500),
    "alsh_mercredi_matin": ([250, 400, 560, 740, 900], 1300, 400),
    "alsh_mercredi_apres_midi": ([180, 290, 410, 540, 660], 950, 300),
}
SURNAMES = (
    "Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre "
    "Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre Mercier "
    "Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guérin "
    "Muller Henry Roussel Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez Fontaine "
    "Chevalier Robin Masson Sanchez Gérard Nguyen Boyer Denis Lemaire Duval Joly Gautier Roger "
    "Roche Roy Noël Meyer Lucas Meunier Jean Perez Marchand Dufour Blanchard Marie Barbier "
    "Brun Dumas Brunet Schmitt Leroux Colin Fernandez Pierre Renard Arnaud Rolland Caron "
    "Aubert Giraud Leclerc Vidal Bourgeois Renaud Lemoine Picard Gaillard Philippe Leclercq "
    "Lacroix Fabre Dupuis Olivier Rodriguez Da Silva Hubert Louis Charles Guillot Rivière "
    "Le Gall Guillaume Adam Rey Moulin Gonzalez Berger Lecomte Menard Fleury Deschamps "
    "Carpentier Julien Benoît Paris Maillard Marchal Aubry Vasseur Le Roux Renault Jacquet "
    "Collet Prévost Poirier Charpentier Royer Huet Baron Dupuy Pons Paul Laine Carré Breton "
    "Rémy Schneider Perrot Guyot Barre Marty Cousin Benali Haddad Traoré Diop Camara Kone "
    "Ferreira Pereira Rossi Bianchi Ouattara Mendy Yilmaz Sow Cissé Tran Pham"
).split()
FIRST_CHILD = (
    "Louise Gabriel Ambre Raphaël Jade Léo Emma Louis Alice Arthur Rose Jules Anna Adam "
    "Lina Maël Mia Lucas Chloé Hugo Inès Nathan Léna Sacha Lou Tom Julia Noah Zoé Ethan "
    "Agathe Paul Iris Aaron Nina Mohamed Manon Eden Camille Axel Sofia Timéo Margaux "
    "Nolan Yasmine Ibrahim Aya Malo Sarah Noé"
).split()
FIRST_ADULT = (
    "Marie Nathalie Isabelle Sylvie Catherine Céline Sandrine Aurélie Julie Émilie "
    "Sophie Caroline Laure Claire Karima Fatou Mei Elena Pierre Nicolas Julien Thomas "
    "Sébastien Christophe Stéphane Mathieu Olivier Frédéric Karim Mamadou Antoine "
    "Guillaume Vincent Jérôme"
).split()
STREETS = (
    "rue de la République",
    "avenue Jean-Jaurès",
    "rue Victor-Hugo",
    "rue des Écoles",
    "allée des Peupliers",
    "rue du Moulin",
    "chemin des Vignes",
    "rue Pasteur",
    "boulevard de la Seine",
    "impasse des Lilas",
)
LEVEL_AGE = {"PS": 3, "MS": 4, "GS": 5, "CP": 6, "CE1": 7, "CE2": 8, "CM1": 9, "CM2": 10}


def school_year_bounds(today: dt.date) -> tuple[str, dt.date, dt.date]:
    start_year = today.year if today.month >= 8 else today.year - 1
    return (
        f"{start_year}-{start_year + 1}",
        dt.date(start_year, 9, 1),
        dt.date(start_year + 1, 7, 3),
    )


def birth_date(level: str, start_year: int, rng: random.Random) -> dt.date:
    year = start_year - LEVEL_AGE[level]
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_text.lower() if c.isalnum())


async def seed_core(passwords: Passwords, n_families: int = 100) -> dict:
    """Returns ids the other demo seeders build on."""
    today = clock.today()
    if not await CommuneSettings.exists():
        await CommuneSettings(
            service_name="Service Scolaire-Enfance-Jeunesse",
            address="Hôtel de ville, 1 place de la Mairie, 78999 Villebelle-sur-Seine",
            phone="01 23 45 67 89",
            email="sej@villebelle-sur-seine.fr",
        ).save()

    label, starts, ends = school_year_bounds(today)
    year = await SchoolYear.objects().get(SchoolYear.label == label)
    if year is None:
        await SchoolYear.update({SchoolYear.is_current: False}).where(SchoolYear.is_current == True)  # noqa: E712
        year = SchoolYear(label=label, starts_on=starts, ends_on=ends, is_current=True)
        await year.save()

    schools = {}
    for name, kind, address, levels in SCHOOLS:
        school = await School.objects().get(School.name == name)
        if school is None:
            school = School(name=name, kind=kind, address=address)
            await school.save()
        schools[name] = (school, levels)
        for level in levels:
            if not await SchoolClass.exists().where(
                (SchoolClass.school == school.id)
                & (SchoolClass.school_year == year.id)
                & (SchoolClass.level == level)
            ):
                await SchoolClass(
                    school=school.id, school_year=year.id, name=f"{level} A", level=level
                ).save()

    activities = {}
    for code, lab, short, days, start, end, levels, group, rule, cap, order in ACTIVITIES:
        activity = await Activity.objects().get(Activity.code == code)
        if activity is None:
            activity = Activity(
                code=code,
                label=lab,
                short_label=short,
                weekdays=days,
                starts_at=start,
                ends_at=end,
                eligible_levels=levels,
                group_code=group,
                deadline_rule=rule,
                default_capacity=cap,
                sort_order=order,
                hourly=code in HOURLY,
            )
            await activity.save()
        activities[code] = activity
        for school, _levels in schools.values():
            if not await ActivityCapacity.exists().where(
                (ActivityCapacity.activity == activity.id) & (ActivityCapacity.school == school.id)
            ):
                await ActivityCapacity(activity=activity.id, school=school.id, capacity=cap).save()

    if not await TariffBracket.exists():
        for order, (lab, low, high) in enumerate(BRACKETS):
            await TariffBracket(label=lab, qf_min=low, qf_max=high, sort_order=order).save()
    brackets = await TariffBracket.select().order_by(TariffBracket.sort_order)
    if not await Tariff.exists():
        valid_from = dt.date(starts.year, 9, 1)
        rows = []
        for code, (prices, outside, majoration) in PRICES.items():
            for bracket, price in zip(brackets, prices):
                rows.append(
                    Tariff(
                        activity=activities[code].id,
                        bracket=bracket["id"],
                        price_cents=price,
                        majoration_cents=majoration,
                        valid_from=valid_from,
                    )
                )
            rows.append(
                Tariff(
                    activity=activities[code].id,
                    bracket=None,
                    price_cents=outside,
                    majoration_cents=majoration,
                    valid_from=valid_from,
                )
            )
        await Tariff.insert(*rows)

    if not await StaffUser.exists().where(StaffUser.username == "agent"):
        await StaffUser(
            username="agent",
            display_name="Agent SEJ (démonstration)",
            email="agent.sej@villebelle-sur-seine.fr",
            role="administrateur",
            password_hash=await passwords.hash("demo-agent-sej-2026"),
            created_at=clock.now(),
        ).save()

    await _seed_families(passwords, schools, starts.year, n_families)
    return {
        "year_id": year.id,
        "schools": {n: s.id for n, (s, _) in schools.items()},
        "activities": {c: a.id for c, a in activities.items()},
    }


async def _seed_families(passwords: Passwords, schools: dict, start_year: int, n: int) -> None:
    existing = {r["code"] for r in await Family.select(Family.code)}
    rng = random.Random(2026)
    maternelle = schools["École maternelle Les Tilleuls"][0]
    elementaire = schools["École élémentaire Jules-Ferry"][0]
    primaire = schools["École primaire Marie-Curie"][0]
    classes = {
        (r["school"], r["level"]): r["id"]
        for r in await SchoolClass.select(SchoolClass.id, SchoolClass.school, SchoolClass.level)
    }

    plans = []
    # The two demo families of docs/product.md, exactly.
    plans.append(
        (
            "F00001",
            "Martin",
            [("Léa", "CE1", elementaire), ("Hugo", "MS", maternelle)],
            [("Mme", "Claire", "Martin"), ("M.", "Pierre", "Martin")],
            720,
            False,
        )
    )
    plans.append(
        ("F00002", "Diallo", [("Awa", "CM2", primaire)], [("Mme", "Fatou", "Diallo")], 410, False)
    )
    for i in range(3, n + 1):
        surname = rng.choice(SURNAMES)
        kids = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            school = rng.choice((maternelle, elementaire, primaire, elementaire))
            levels = next(lv for s, lv in schools.values() if s.id == school.id)
            kids.append((rng.choice(FIRST_CHILD), rng.choice(levels), school))
        adults = [(rng.choice(("Mme", "M.")), rng.choice(FIRST_ADULT), surname)]
        if rng.random() < 0.6:
            adults.append((rng.choice(("Mme", "M.")), rng.choice(FIRST_ADULT), surname))
        plans.append(
            (f"F{i:05d}", surname, kids, adults, rng.randrange(250, 2600), rng.random() < 0.08)
        )

    todo = [p for p in plans if p[0] not in existing]
    if not todo:
        return
    hashes = await asyncio.gather(*(passwords.hash(f"demo-famille-{int(p[0][1:])}") for p in todo))
    for (code, surname, kids, adults, qf, outside), pw_hash in zip(todo, hashes):
        first_email = f"{_slug(adults[0][1])}.{_slug(surname)}@example.org"
        family = Family(
            code=code,
            name=surname,
            password_hash=pw_hash,
            email=first_email,
            quotient_familial=qf,
            out_of_town=outside,
            paperless=code == "F00001" or rng.random() < 0.4,
            created_at=clock.now(),
        )
        await family.save()
        street = f"{rng.randrange(1, 120)} {rng.choice(STREETS)}"
        await Guardian.insert(
            *[
                Guardian(
                    family=family.id,
                    rank=rank,
                    civility=civ,
                    first_name=first,
                    last_name=last,
                    email=first_email if rank == 1 else f"{_slug(first)}.{_slug(last)}@example.org",
                    phone_mobile=f"06 {rng.randrange(10, 99)} {rng.randrange(10, 99)} "
                    f"{rng.randrange(10, 99)} {rng.randrange(10, 99)}",
                    address_line1=street,
                    postcode="78999",
                    city="Villebelle-sur-Seine" if not outside else "Montbrison-sur-Oise",
                )
                for rank, (civ, first, last) in enumerate(adults, start=1)
            ]
        )
        await Child.insert(
            *[
                Child(
                    family=family.id,
                    first_name=first,
                    last_name=surname,
                    birth_date=birth_date(level, start_year, rng),
                    school=school.id,
                    school_class=classes.get((school.id, level)),
                    level=level,
                    has_allergy=(code == "F00001" and first == "Hugo") or rng.random() < 0.05,
                    health_notes="Allergie à l’arachide : PAI, trousse d’urgence dans le sac."
                    if code == "F00001" and first == "Hugo"
                    else "",
                )
                for first, level, school in kids
            ]
        )
