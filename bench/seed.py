"""`python -m bench.seed`: a large commune for the benchmark, written in bulk.

Default: 10,000 families, about 15,000 children, 30 schools, the demo's activities and tariffs,
a full school year of bookings (about three million rows), ten months of invoices and payments.

Speed comes from bypassing the ORM: rows are built as tuples with their ids chosen here, then
written with `executemany` in large transactions (SQLite) or COPY (PostgreSQL, asyncpg's
`copy_records_to_table`). Hashing 10,000 passwords with the production Argon2 profile would take
half an hour, so every bench family shares ONE production-profile hash of BENCH_PASSWORD.

The command refuses a database that already holds families or schools: the bench commune is
generated into an empty database (make bench creates a fresh one each run).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ecp.demo.core import (
    ACTIVITIES,
    BRACKETS,
    FIRST_ADULT,
    FIRST_CHILD,
    LEVEL_AGE,
    PRICES,
    STREETS,
    SURNAMES,
    _slug,
    school_year_bounds,
)

BENCH_PASSWORD = "bench-famille"
BENCH_STAFF = "bench-agent"
BENCH_STAFF_PASSWORD = "bench-agent-sej-2026"
# The bench agent's authenticator (staff MFA is obligatoire on the bench server, as in
# production): the harness computes its codes from this known secret.
BENCH_STAFF_TOTP_SECRET = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
CODE_PREFIX = "B"
MATERNELLE = ("PS", "MS", "GS")
ELEMENTAIRE = ("CP", "CE1", "CE2", "CM1", "CM2")
SCHOOL_NAMES = (
    "Les Tilleuls",
    "Jules-Ferry",
    "Marie-Curie",
    "Jean-Moulin",
    "Victor-Hugo",
    "Louise-Michel",
    "Pasteur",
    "Jean-Jaurès",
    "Paul-Bert",
    "Condorcet",
    "Les Peupliers",
    "Simone-Veil",
    "Jacques-Prévert",
    "Les Coquelicots",
    "George-Sand",
    "Anatole-France",
    "Romain-Rolland",
    "Les Lilas",
    "Rosa-Parks",
    "Albert-Camus",
    "Olympe-de-Gouges",
    "Jean-de-La-Fontaine",
    "Saint-Exupéry",
    "Les Vignes",
    "Émile-Zola",
    "Colette",
    "Le Moulin",
    "Marcel-Pagnol",
    "Lucie-Aubrac",
    "Voltaire",
    "Montaigne",
    "Molière",
)
ACTIVITY_ORDER = [a[0] for a in ACTIVITIES]


class NotEmpty(Exception):
    """The database already holds a commune."""


@dataclass
class Summary:
    families: int = 0
    children: int = 0
    schools: int = 0
    bookings: int = 0
    inscriptions: int = 0
    slots: int = 0
    invoices: int = 0
    invoice_lines: int = 0
    payments: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    def text(self) -> str:
        return (
            f"Commune de bench prête en {self.seconds:.1f} s : {self.families} familles, "
            f"{self.children} enfants, {self.schools} écoles, {self.inscriptions} inscriptions, "
            f"{self.bookings} réservations, {self.slots} compteurs de places, "
            f"{self.invoices} factures ({self.invoice_lines} lignes), {self.payments} paiements. "
            f"Mot de passe des familles {CODE_PREFIX}000001… : « {BENCH_PASSWORD} » ; "
            f"agent « {BENCH_STAFF} » / « {BENCH_STAFF_PASSWORD} » (clé TOTP "
            f"{BENCH_STAFF_TOTP_SECRET})."
        )


# --------------------------------------------------------------------------- calendar


def school_days(starts: dt.date, ends: dt.date) -> list[dt.date]:
    """Monday to Friday, without French public holidays and zone C school holidays."""
    import holidays
    from vacances_scolaires_france import SchoolHolidayDates

    public = holidays.France(years=range(starts.year, ends.year + 1))
    school_holidays = SchoolHolidayDates()
    days = []
    day = starts
    while day <= ends:
        if day.isoweekday() <= 5 and day not in public:
            try:
                off = school_holidays.is_holiday_for_zone(day, "C")
            except Exception:  # noqa: BLE001 - years the package does not know: assume school
                off = False
            if not off:
                days.append(day)
        day += dt.timedelta(days=1)
    return days


def billed_months(today: dt.date, count: int = 10) -> list[dt.date]:
    """The `count` school months before the current one (July and August have no school)."""
    months = []
    month = today.replace(day=1)
    while len(months) < count:
        month = (month - dt.timedelta(days=1)).replace(day=1)
        if month.month not in (7, 8):
            months.append(month)
    return sorted(months)


# --------------------------------------------------------------------------- writers


class Writer:
    """Bulk writes on one raw connection; values are given as Python objects."""

    engine = ""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def begin(self) -> None: ...
    async def commit(self) -> None: ...
    async def scalar(self, sql: str) -> Any: ...
    async def execute(self, sql: str) -> None: ...
    async def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None: ...
    async def finish(self, tables: Iterable[str]) -> None: ...

    def date(self, value: dt.date) -> Any:
        return value

    def ts(self, value: dt.datetime) -> Any:
        return value


class SQLiteWriter(Writer):
    engine = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path

    async def open(self) -> None:
        import sqlite3

        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        # A generated commune can be generated again: durability is not worth the fsyncs here.
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-200000")
        self.conn.execute("PRAGMA temp_store=MEMORY")

    async def close(self) -> None:
        self.conn.close()

    async def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        self.conn.execute("COMMIT")

    async def scalar(self, sql: str) -> Any:
        return self.conn.execute(sql).fetchone()[0]

    async def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    async def insert(self, table, columns, rows) -> None:
        if rows:
            marks = ", ".join("?" * len(columns))
            names = ", ".join(f'"{c}"' for c in columns)
            self.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)

    async def finish(self, tables) -> None:
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # Piccolo's SQLite adapters store dates and UTC datetimes as text; doing it once per
    # distinct value here saves millions of adapter calls.
    def date(self, value: dt.date) -> str:
        return value.isoformat()

    def ts(self, value: dt.datetime) -> str:
        return str(value.astimezone(dt.UTC))


class PostgresWriter(Writer):
    engine = "postgres"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.tx = None

    async def open(self) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(self.dsn)
        # Rows are consistent by construction: skipping the per-row foreign-key triggers makes
        # COPY several times faster. Only a superuser may; others just wait longer.
        try:
            await self.conn.execute("SET session_replication_role = replica")
        except Exception:  # noqa: BLE001 - asyncpg raises InsufficientPrivilegeError
            pass
        await self.conn.execute("SET synchronous_commit = off")

    async def close(self) -> None:
        await self.conn.close()

    async def begin(self) -> None:
        self.tx = self.conn.transaction()
        await self.tx.start()

    async def commit(self) -> None:
        await self.tx.commit()
        self.tx = None

    async def scalar(self, sql: str) -> Any:
        return await self.conn.fetchval(sql)

    async def execute(self, sql: str) -> None:
        await self.conn.execute(sql)

    async def insert(self, table, columns, rows) -> None:
        if rows:
            await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def finish(self, tables) -> None:
        # Ids were chosen here: move each serial sequence past them.
        for table in tables:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'GREATEST((SELECT MAX(id) FROM "{table}"), 1))'
            )
        await self.conn.execute("ANALYZE")


def writer_for(url: str) -> Writer:
    if url.startswith("sqlite:///"):
        return SQLiteWriter(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresWriter(url)
    raise ValueError(f"Unsupported ECP_DATABASE_URL: {url.split(':', 1)[0]}")


# --------------------------------------------------------------------------- ids


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    async def load(self, w: Writer, tables: Iterable[str]) -> None:
        for table in tables:
            self.next[table] = (await w.scalar(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')) + 1

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


TABLES = (
    "commune_settings",
    "school_year",
    "school",
    "school_class",
    "activity",
    "activity_capacity",
    "tariff_bracket",
    "tariff",
    "staff_user",
    "staff_totp",
    "family",
    "guardian",
    "child",
    "inscription",
    "slot",
    "booking",
    "billing_run",
    "invoice_counter",
    "invoice",
    "invoice_line",
    "payment",
    "payment_allocation",
)


# --------------------------------------------------------------------------- plans


def _weekdays(rng: random.Random, pool: tuple[int, ...], weights=(0.6, 0.25, 0.15)) -> tuple:
    roll = rng.random()
    if roll < weights[0]:
        return pool
    if roll < weights[0] + weights[1]:
        return tuple(sorted(rng.sample(pool, 3)))
    return tuple(sorted(rng.sample(pool, 2)))


def child_plan(rng: random.Random, level: str) -> list[tuple[str, tuple[int, ...], bool]]:
    """(activity code, ISO weekdays, every other week) the child is booked on for the year."""
    week = (1, 2, 4, 5)
    plan = []
    if rng.random() < 0.88:
        plan.append(("restauration", _weekdays(rng, week, (0.65, 0.2, 0.15)), False))
    if rng.random() < 0.25:
        plan.append(("garderie_matin", _weekdays(rng, week), False))
    if rng.random() < 0.40:
        code = "garderie_soir" if rng.random() < 0.6 else "alsh_soir"
        plan.append((code, _weekdays(rng, week, (0.4, 0.3, 0.3)), False))
    if level in ELEMENTAIRE and rng.random() < 0.20:
        plan.append(("etude", _weekdays(rng, week, (0.3, 0.3, 0.4)), False))
    if rng.random() < 0.22:
        roll = rng.random()
        code = (
            "alsh_mercredi_journee"
            if roll < 0.5
            else "alsh_mercredi_matin"
            if roll < 0.8
            else "alsh_mercredi_apres_midi"
        )
        plan.append((code, (3,), rng.random() < 0.3))
    return plan


# --------------------------------------------------------------------------- the seed


async def seed_bench(
    url: str,
    families: int = 10_000,
    schools: int = 30,
    seed: int = 2026,
    today: dt.date | None = None,
    chunk: int = 500,
    progress=None,
    secret_key: str | None = None,
) -> Summary:
    """Writes the bench commune into the (migrated, empty) database at `url`. The bench agent's
    TOTP secret is encrypted with `secret_key` (default: ECP_SECRET_KEY, as the server reads it)."""
    from ecp import clock
    from ecp.auth.passwords import Passwords
    from ecp.auth.totp import SecretBox
    from ecp.settings import Settings

    if schools < 3:
        raise ValueError("Il faut au moins trois écoles (maternelle, élémentaire, primaire).")
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    today = today or clock.today()
    rng = random.Random(seed)
    w = writer_for(url)
    await w.open()
    summary = Summary()
    try:
        existing = await w.scalar('SELECT COUNT(*) FROM "family"') + await w.scalar(
            'SELECT COUNT(*) FROM "school"'
        )
        if existing:
            raise NotEmpty(
                "La base contient déjà une commune (familles ou écoles) : "
                "bench.seed s’utilise sur une base vide."
            )
        ids = Ids()
        await ids.load(w, TABLES)
        passwords = Passwords("production")
        family_hash = passwords.hash_sync(BENCH_PASSWORD)
        staff_hash = passwords.hash_sync(BENCH_STAFF_PASSWORD)
        now = clock.now()

        label, starts, ends = school_year_bounds(today)
        months = billed_months(today)
        days = school_days(min(starts, months[0]), ends)
        year_days = [d for d in days if d >= starts]
        seed_at = dt.datetime.combine(starts - dt.timedelta(days=7), dt.time(9, 0), tzinfo=dt.UTC)
        seed_ts = w.ts(seed_at)

        # ---- the commune
        await w.begin()
        await w.insert(
            "commune_settings",
            (
                "id",
                "service_name",
                "address",
                "phone",
                "email",
                "school_zone",
                "booking_deadline_working_days",
                "booking_deadline_time",
                "illness_cutoff_time",
                "invoice_due_days",
                "retention_years",
            ),
            [
                (
                    ids.take("commune_settings"),
                    "Service Scolaire-Enfance-Jeunesse",
                    "Hôtel de ville, 1 place de la Mairie, 78999 Villebelle-sur-Seine",
                    "01 23 45 67 89",
                    "sej@villebelle-sur-seine.fr",
                    "C",
                    2,
                    dt.time(23, 59).isoformat() if w.engine == "sqlite" else dt.time(23, 59),
                    dt.time(9, 0).isoformat() if w.engine == "sqlite" else dt.time(9, 0),
                    30,
                    3,
                )
            ],
        )
        current_year = await w.scalar('SELECT COUNT(*) FROM "school_year" WHERE is_current')
        year_id = ids.take("school_year")
        await w.insert(
            "school_year",
            ("id", "label", "starts_on", "ends_on", "is_current"),
            [(year_id, label, w.date(starts), w.date(ends), not current_year)],
        )

        # 30 schools: 11 maternelles, 11 élémentaires, 8 primaires; otherwise the three in turn.
        kinds = (
            ["maternelle"] * 11 + ["elementaire"] * 11 + ["primaire"] * 8
            if schools == 30
            else [("maternelle", "elementaire", "primaire")[i % 3] for i in range(schools)]
        )
        school_rows, class_rows = [], []
        by_kind: dict[str, list[int]] = defaultdict(list)
        classes: dict[tuple[int, str], list[int]] = defaultdict(list)
        for i, kind in enumerate(kinds):
            sid = ids.take("school")
            word = {
                "maternelle": "maternelle",
                "elementaire": "élémentaire",
                "primaire": "primaire",
            }[kind]
            name = f"École {word} {SCHOOL_NAMES[i % len(SCHOOL_NAMES)]}"
            if i >= len(SCHOOL_NAMES):
                name += f" {i // len(SCHOOL_NAMES) + 1}"
            school_rows.append(
                (
                    sid,
                    name,
                    kind,
                    f"{i + 1} {STREETS[i % len(STREETS)]}, 78999 Villebelle-sur-Seine",
                    True,
                )
            )
            by_kind[kind].append(sid)
            levels = (
                MATERNELLE
                if kind == "maternelle"
                else ELEMENTAIRE
                if kind == "elementaire"
                else MATERNELLE + ELEMENTAIRE
            )
            for level in levels:
                for letter in "AB":
                    cid = ids.take("school_class")
                    class_rows.append((cid, sid, year_id, f"{level} {letter}", level))
                    classes[(sid, level)].append(cid)
        await w.insert("school", ("id", "name", "kind", "address", "active"), school_rows)
        await w.insert("school_class", ("id", "school", "school_year", "name", "level"), class_rows)
        summary.schools = len(school_rows)

        activity_ids: dict[str, int] = {}
        activity_rows = []
        for code, lab, short, wdays, start, end, levels, group, rule, cap, order in ACTIVITIES:
            aid = ids.take("activity")
            activity_ids[code] = aid
            activity_rows.append(
                (
                    aid,
                    code,
                    lab,
                    short,
                    wdays,
                    start.isoformat() if w.engine == "sqlite" else start,
                    end.isoformat() if w.engine == "sqlite" else end,
                    levels,
                    group,
                    rule,
                    cap,
                    order,
                    True,
                    True,
                )
            )
        await w.insert(
            "activity",
            (
                "id",
                "code",
                "label",
                "short_label",
                "weekdays",
                "starts_at",
                "ends_at",
                "eligible_levels",
                "group_code",
                "deadline_rule",
                "default_capacity",
                "sort_order",
                "billable",
                "active",
            ),
            activity_rows,
        )

        bracket_ids = []
        bracket_rows = []
        for order, (lab, low, high) in enumerate(BRACKETS):
            bid = ids.take("tariff_bracket")
            bracket_ids.append(bid)
            bracket_rows.append((bid, lab, low, high, order))
        await w.insert(
            "tariff_bracket", ("id", "label", "qf_min", "qf_max", "sort_order"), bracket_rows
        )
        tariff_rows = []
        valid_from = w.date(min(months[0], starts))
        for code, (prices, outside, majoration) in PRICES.items():
            for bid, price in zip(bracket_ids, prices):
                tariff_rows.append(
                    (ids.take("tariff"), activity_ids[code], bid, price, majoration, valid_from)
                )
            tariff_rows.append(
                (ids.take("tariff"), activity_ids[code], None, outside, majoration, valid_from)
            )
        await w.insert(
            "tariff",
            ("id", "activity", "bracket", "price_cents", "majoration_cents", "valid_from"),
            tariff_rows,
        )
        staff_id = ids.take("staff_user")
        await w.insert(
            "staff_user",
            (
                "id",
                "username",
                "display_name",
                "email",
                "password_hash",
                "role",
                "active",
                "failed_logins",
                "created_at",
            ),
            [
                (
                    staff_id,
                    BENCH_STAFF,
                    "Agent SEJ (bench)",
                    "bench.agent@villebelle-sur-seine.fr",
                    staff_hash,
                    "administrateur",
                    True,
                    0,
                    w.ts(now),
                )
            ],
        )
        box = SecretBox(secret_key or Settings.from_env().secret_key)
        await w.insert(
            "staff_totp",
            ("id", "staff", "secret_encrypted", "last_step", "enrolled_at"),
            [
                (
                    ids.take("staff_totp"),
                    staff_id,
                    box.seal(BENCH_STAFF_TOTP_SECRET, "totp", staff_id),
                    None,
                    w.ts(now),
                )
            ],
        )
        await w.commit()

        # ---- families, children, inscriptions, bookings (streamed by chunk)
        say("familles et réservations…")
        t0 = time.perf_counter()
        days_by_wd: dict[int, list[dt.date]] = defaultdict(list)
        for d in year_days:
            days_by_wd[d.isoweekday()].append(d)
        day_value = {d: w.date(d) for d in days}
        # "Every other Wednesday" is one fixed set of days, shared by bookings and invoices.
        alternate_wed = set([d for d in days if d.isoweekday() == 3][::2])
        slot_count: Counter = Counter()
        # What the invoices need: per family, its children's plans.
        family_plans: list[tuple[int, str, bool, int | None, str, list]] = []
        start_year = starts.year
        sectors_m, sectors_e, sectors_p = (
            by_kind["maternelle"],
            by_kind["elementaire"],
            by_kind["primaire"],
        )
        all_levels = MATERNELLE + ELEMENTAIRE

        for first in range(1, families + 1, chunk):
            fam_rows, guard_rows, child_rows, insc_rows, book_rows = [], [], [], [], []
            for i in range(first, min(first + chunk, families + 1)):
                fid = ids.take("family")
                surname = rng.choice(SURNAMES)
                code = f"{CODE_PREFIX}{i:06d}"
                qf = rng.randrange(250, 2600)
                outside = rng.random() < 0.06
                adults = [(rng.choice(("Mme", "M.")), rng.choice(FIRST_ADULT))]
                if rng.random() < 0.6:
                    adults.append((rng.choice(("Mme", "M.")), rng.choice(FIRST_ADULT)))
                email = f"{_slug(adults[0][1])}.{_slug(surname)}.{i}@example.org"
                paperless = rng.random() < 0.45
                fam_rows.append(
                    (
                        fid,
                        code,
                        surname,
                        family_hash,
                        email,
                        qf,
                        outside,
                        paperless,
                        False,
                        None,
                        True,
                        0,
                        None,
                        None,
                        seed_ts,
                        None,
                    )
                )
                street = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
                city = "Montbrison-sur-Oise" if outside else "Villebelle-sur-Seine"
                for rank, (civ, firstname) in enumerate(adults, start=1):
                    guard_rows.append(
                        (
                            ids.take("guardian"),
                            fid,
                            rank,
                            civ,
                            firstname,
                            surname,
                            email
                            if rank == 1
                            else f"{_slug(firstname)}.{_slug(surname)}.{i}@example.org",
                            f"06 {rng.randrange(10, 99)} {rng.randrange(10, 99)} "
                            f"{rng.randrange(10, 99)} {rng.randrange(10, 99)}",
                            "",
                            "",
                            street,
                            "",
                            "78999",
                            city,
                        )
                    )
                sector = rng.randrange(10_000)
                kids = []
                for _ in range(rng.choices((1, 2, 3), (0.55, 0.35, 0.10))[0]):
                    level = rng.choice(all_levels)
                    if rng.random() < 0.3:
                        school = sectors_p[sector % len(sectors_p)]
                    elif level in MATERNELLE:
                        school = sectors_m[sector % len(sectors_m)]
                    else:
                        school = sectors_e[sector % len(sectors_e)]
                    cid = ids.take("child")
                    firstname = rng.choice(FIRST_CHILD)
                    birth = dt.date(start_year - LEVEL_AGE[level], 1, 1) + dt.timedelta(
                        days=rng.randrange(365)
                    )
                    child_rows.append(
                        (
                            cid,
                            fid,
                            firstname,
                            surname,
                            w.date(birth),
                            school,
                            rng.choice(classes[(school, level)]),
                            level,
                            rng.random() < 0.05,
                            "",
                            False,
                            "standard",
                            True,
                        )
                    )
                    plan = child_plan(rng, level)
                    kids.append((cid, firstname, plan))
                    enrolled = {code for code, _wd, _alt in plan}
                    # Some inscriptions without bookings: free cells a family can tap.
                    if "garderie_matin" not in enrolled and rng.random() < 0.3:
                        enrolled.add("garderie_matin")
                    for act in enrolled:
                        insc_rows.append(
                            (
                                ids.take("inscription"),
                                cid,
                                activity_ids[act],
                                year_id,
                                "validee",
                                seed_ts,
                                seed_ts,
                                None,
                                "",
                            )
                        )
                    for act, wdays, alternate in plan:
                        aid = activity_ids[act]
                        for wd in wdays:
                            wd_days = (
                                [d for d in days_by_wd[wd] if d in alternate_wed]
                                if alternate
                                else days_by_wd[wd]
                            )
                            for d in wd_days:
                                book_rows.append(
                                    (
                                        ids.take("booking"),
                                        cid,
                                        aid,
                                        school,
                                        day_value[d],
                                        "reservee",
                                        "famille",
                                        seed_ts,
                                        seed_ts,
                                        None,
                                    )
                                )
                            slot_count.update((school, aid, d) for d in wd_days)
                family_plans.append(
                    (
                        fid,
                        surname,
                        outside,
                        qf,
                        f"{street}\n78999 {city}",
                        [(cid, fn, plan) for cid, fn, plan in kids],
                    )
                )
            await w.begin()
            await w.insert(
                "family",
                (
                    "id",
                    "code",
                    "name",
                    "password_hash",
                    "email",
                    "quotient_familial",
                    "out_of_town",
                    "paperless",
                    "reminders",
                    "ics_token_hash",
                    "active",
                    "failed_logins",
                    "locked_until",
                    "last_login_at",
                    "created_at",
                    "anonymised_at",
                ),
                fam_rows,
            )
            await w.insert(
                "guardian",
                (
                    "id",
                    "family",
                    "rank",
                    "civility",
                    "first_name",
                    "last_name",
                    "email",
                    "phone_mobile",
                    "phone_home",
                    "phone_work",
                    "address_line1",
                    "address_line2",
                    "postcode",
                    "city",
                ),
                guard_rows,
            )
            await w.insert(
                "child",
                (
                    "id",
                    "family",
                    "first_name",
                    "last_name",
                    "birth_date",
                    "school",
                    "school_class",
                    "level",
                    "has_allergy",
                    "health_notes",
                    "needs_support",
                    "diet",
                    "active",
                ),
                child_rows,
            )
            await w.insert(
                "inscription",
                (
                    "id",
                    "child",
                    "activity",
                    "school_year",
                    "status",
                    "requested_at",
                    "decided_at",
                    "decided_by",
                    "reason",
                ),
                insc_rows,
            )
            await w.insert(
                "booking",
                (
                    "id",
                    "child",
                    "activity",
                    "school",
                    "day",
                    "state",
                    "source",
                    "created_at",
                    "updated_at",
                    "updated_by",
                ),
                book_rows,
            )
            await w.commit()
            summary.families += len(fam_rows)
            summary.children += len(child_rows)
            summary.inscriptions += len(insc_rows)
            summary.bookings += len(book_rows)
            say(f"  {summary.families}/{families} familles, {summary.bookings} réservations")
        summary.timings["families_bookings"] = round(time.perf_counter() - t0, 1)

        # ---- place counters: capacity a little above the busiest day, so some days fill up
        t0 = time.perf_counter()
        peak: Counter = Counter()
        slot_rows = []
        for (school, aid, d), n in slot_count.items():
            slot_rows.append((ids.take("slot"), school, aid, day_value[d], n))
            peak[(school, aid)] = max(peak[(school, aid)], n)
        capacity_rows = []
        for sid, *_rest in school_rows:
            for aid in activity_ids.values():
                busiest = peak.get((sid, aid), 0)
                capacity_rows.append(
                    (ids.take("activity_capacity"), aid, sid, max(10, int(busiest * 1.15) + 5))
                )
        await w.begin()
        await w.insert("slot", ("id", "school", "activity", "day", "booked"), slot_rows)
        await w.insert("activity_capacity", ("id", "activity", "school", "capacity"), capacity_rows)
        await w.commit()
        summary.slots = len(slot_rows)
        summary.timings["slots"] = round(time.perf_counter() - t0, 1)

        # ---- ten months of invoices and payments
        say("factures et paiements…")
        t0 = time.perf_counter()
        await _invoices(
            w,
            ids,
            rng,
            family_plans,
            months,
            days,
            alternate_wed,
            activity_ids,
            bracket_ids,
            today,
            summary,
        )
        summary.timings["invoices_payments"] = round(time.perf_counter() - t0, 1)

        t0 = time.perf_counter()
        await w.finish(TABLES)
        summary.timings["analyze"] = round(time.perf_counter() - t0, 1)
    finally:
        await w.close()
    summary.seconds = round(time.perf_counter() - started, 1)
    return summary


def _bracket_index(qf: int | None) -> int:
    for index, (_label, low, high) in enumerate(BRACKETS):
        if qf is not None and qf >= low and (high is None or qf <= high):
            return index
    return len(BRACKETS) - 1


async def _invoices(
    w: Writer,
    ids: Ids,
    rng: random.Random,
    family_plans: list,
    months: list[dt.date],
    days: list[dt.date],
    alternate_wed: set,
    activity_ids: dict[str, int],
    bracket_ids: list[int],
    today: dt.date,
    summary: Summary,
) -> None:
    labels = {a[0]: a[1] for a in ACTIVITIES}
    counters: Counter = Counter()
    for month in months:
        month_days = [d for d in days if d.year == month.year and d.month == month.month]
        by_wd: dict[int, list[dt.date]] = defaultdict(list)
        for d in month_days:
            by_wd[d.isoweekday()].append(d)
        next_month = (month + dt.timedelta(days=32)).replace(day=1)
        issued = dt.datetime.combine(
            next_month + dt.timedelta(days=4), dt.time(7, 0), tzinfo=dt.UTC
        )
        due = issued.date() + dt.timedelta(days=30)
        months_ago = (today.year - month.year) * 12 + today.month - month.month
        run_id = ids.take("billing_run")
        inv_rows, line_rows, pay_rows, alloc_rows = [], [], [], []
        for fid, surname, outside, qf, address, kids in family_plans:
            lines, total = [], 0
            bracket = _bracket_index(qf)
            for cid, firstname, plan in kids:
                for act, wdays, alternate in plan:
                    billed = sorted(
                        d for wd in wdays for d in by_wd[wd] if not alternate or d in alternate_wed
                    )
                    if not billed:
                        continue
                    prices, outside_price, _maj = PRICES[act]
                    unit = outside_price if outside else prices[bracket]
                    amount = unit * len(billed)
                    total += amount
                    lines.append(
                        (
                            cid,
                            activity_ids[act],
                            f"{labels[act]} – {firstname}",
                            ",".join(d.isoformat() for d in billed),
                            len(billed),
                            unit,
                            amount,
                        )
                    )
            if not lines:
                continue
            counters[issued.year] += 1
            iid = ids.take("invoice")
            number = f"FAC-{issued.year}-{counters[issued.year]:06d}"
            # Older invoices are mostly paid; last month's are mostly still due.
            roll = rng.random()
            if months_ago <= 1:
                paid = total if roll < 0.35 else 0
            elif roll < 0.90:
                paid = total
            elif roll < 0.95:
                paid = total // 2
            else:
                paid = 0
            inv_rows.append(
                (
                    iid,
                    number,
                    "facture",
                    fid,
                    w.date(month),
                    w.ts(issued),
                    w.date(due),
                    total,
                    paid,
                    None,
                    run_id,
                    surname,
                    address,
                    "courriel" if rng.random() < 0.45 else "papier",
                    w.ts(issued),
                )
            )
            for cid, aid, label, trace, qty, unit, amount in lines:
                line_rows.append(
                    (
                        ids.take("invoice_line"),
                        iid,
                        cid,
                        aid,
                        "prestation",
                        label,
                        trace,
                        qty,
                        unit,
                        amount,
                    )
                )
            if paid:
                pid = ids.take("payment")
                received = issued + dt.timedelta(days=rng.randrange(1, 25), hours=rng.randrange(10))
                method = rng.choices(
                    ("carte", "cheque", "especes", "cesu", "virement"),
                    (0.72, 0.1, 0.05, 0.05, 0.08),
                )[0]
                pay_rows.append(
                    (
                        pid,
                        fid,
                        method,
                        paid,
                        w.ts(received),
                        f"Facture {number}",
                        f"B{pid:09d}" if method == "carte" else None,
                        None,
                        None,
                        0,
                        "",
                    )
                )
                alloc_rows.append((ids.take("payment_allocation"), pid, iid, paid))
        await w.begin()
        await w.insert(
            "billing_run",
            (
                "id",
                "month",
                "status",
                "started_at",
                "finished_at",
                "started_by",
                "families_total",
                "families_done",
                "invoices_created",
                "anomalies",
            ),
            [
                (
                    run_id,
                    w.date(month),
                    "terminee",
                    w.ts(issued - dt.timedelta(hours=1)),
                    w.ts(issued),
                    None,
                    len(family_plans),
                    len(family_plans),
                    len(inv_rows),
                    "[]",
                )
            ],
        )
        await w.insert(
            "invoice",
            (
                "id",
                "number",
                "kind",
                "family",
                "month",
                "issued_at",
                "due_on",
                "total_cents",
                "paid_cents",
                "corrects",
                "billing_run",
                "family_name",
                "address",
                "paperless",
                "notified_at",
            ),
            inv_rows,
        )
        await w.insert(
            "invoice_line",
            (
                "id",
                "invoice",
                "child",
                "activity",
                "kind",
                "label",
                "days",
                "quantity",
                "unit_price_cents",
                "amount_cents",
            ),
            line_rows,
        )
        await w.insert(
            "payment",
            (
                "id",
                "family",
                "method",
                "amount_cents",
                "received_at",
                "reference",
                "provider_transaction",
                "attempt",
                "recorded_by",
                "unallocated_cents",
                "note",
            ),
            pay_rows,
        )
        await w.insert(
            "payment_allocation", ("id", "payment", "invoice", "amount_cents"), alloc_rows
        )
        await w.commit()
        summary.invoices += len(inv_rows)
        summary.invoice_lines += len(line_rows)
        summary.payments += len(pay_rows)
    await w.begin()
    await w.insert(
        "invoice_counter",
        ("id", "year", "kind", "last_number"),
        [
            (ids.take("invoice_counter"), year, "FAC", last)
            for year, last in sorted(counters.items())
        ],
    )
    await w.commit()


# --------------------------------------------------------------------------- command line


def cmd_seed(args) -> int:
    import asyncio
    import sys

    from ecp import db
    from ecp.settings import Settings

    url = Settings.from_env().database_url

    async def go():
        await db.migrate()
        return await seed_bench(
            url,
            families=args.families,
            schools=args.schools,
            seed=args.seed,
            progress=None if args.quiet else print,
        )

    try:
        summary = asyncio.run(go())
    except NotEmpty as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(summary.text())
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    # The product's own error handling: an unreachable database or an unwritable folder ends
    # with one French line, as for every `ecp` command.
    from ecp.cli import run_command

    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description="Génère la commune du benchmark (base vide)."
    )
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--schools", type=int, default=30)
    parser.add_argument(
        "--seed", type=int, default=2026, help="graine aléatoire (même graine, même commune)"
    )
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(func=cmd_seed)
    return run_command(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
