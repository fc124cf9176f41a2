"""Family search for staff: by name, code famille, child, e-mail or phone, as you type.

Every searchable word is stored folded (lower-case ASCII) in FamilySearchTerm, indexed and
compared byte-wise; a query word is a prefix, i.e. one B-tree range scan, so the cost grows with
the number of matches, not with the size of the commune. Whoever changes a family, guardian or
child calls `reindex(family_id)`; `rebuild_all()` (run by the demo seed and
`ecp reindex-familles`) repairs the index after bulk imports.
"""

from __future__ import annotations

import re
import unicodedata

from ecp.families.tables import Child, Family, FamilySearchTerm, Guardian

MAX_RESULTS = 50
MIN_PREFIX = 2


def fold(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return ascii_text.lower()


def words(text: str) -> list[str]:
    """'Le Gall-Dupont' -> ['le', 'gall', 'dupont', 'legalldupont']: parts and the whole."""
    folded = fold(text)
    parts = [p for p in re.split(r"[^a-z0-9]+", folded) if p]
    joined = "".join(parts)
    out = list(parts)
    if len(parts) > 1:
        out.append(joined)
    return out


def phone_terms(phone: str) -> list[str]:
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return []
    out = [digits]
    if digits.startswith("33") and len(digits) == 11:
        out.append("0" + digits[2:])
    return out


def query_terms(q: str) -> list[str]:
    """What the staff typed, as prefixes: e-mails and phones whole, names word by word."""
    q = q.strip()
    if not q:
        return []
    if "@" in q:
        return [fold(q).strip()[:120]]
    digits = re.sub(r"[\s.\-+()]", "", q)
    if digits.isdigit() and len(digits) >= 4:
        return phone_terms(digits)[-1:]
    return [w[:120] for w in re.split(r"[^a-z0-9]+", fold(q)) if w]


def _terms(family: dict, guardians: list[dict], children: list[dict]) -> set[str]:
    terms: set[str] = set()
    terms.update(words(family["name"]))
    terms.add(fold(family["code"]))
    if family["email"]:
        terms.add(fold(family["email"]))
    for g in guardians:
        terms.update(words(g["first_name"]))
        terms.update(words(g["last_name"]))
        if g["email"]:
            terms.add(fold(g["email"]))
        for phone in (g["phone_mobile"], g["phone_home"], g["phone_work"]):
            terms.update(phone_terms(phone))
    for c in children:
        terms.update(words(c["first_name"]))
        terms.update(words(c["last_name"]))
    return {t[:120] for t in terms if t}


async def reindex(*family_ids: int) -> None:
    """Rewrites the terms of these families: three reads and one insert, whatever their number."""
    ids = list(family_ids)
    if not ids:
        return
    families = await Family.select(Family.id, Family.name, Family.code, Family.email).where(
        Family.id.is_in(ids)
    )
    guardians = await Guardian.select(
        Guardian.family,
        Guardian.first_name,
        Guardian.last_name,
        Guardian.email,
        Guardian.phone_mobile,
        Guardian.phone_home,
        Guardian.phone_work,
    ).where(Guardian.family.is_in(ids))
    children = await Child.select(Child.family, Child.first_name, Child.last_name).where(
        Child.family.is_in(ids)
    )
    await FamilySearchTerm.delete().where(FamilySearchTerm.family.is_in(ids))
    rows = []
    for family in families:
        terms = _terms(
            family,
            [g for g in guardians if g["family"] == family["id"]],
            [c for c in children if c["family"] == family["id"]],
        )
        rows.extend(FamilySearchTerm(family=family["id"], term=t) for t in sorted(terms))
    for start in range(0, len(rows), 500):
        await FamilySearchTerm.insert(*rows[start : start + 500])


async def rebuild_all(batch: int = 500) -> int:
    ids = [r["id"] for r in await Family.select(Family.id).order_by(Family.id)]
    for start in range(0, len(ids), batch):
        await reindex(*ids[start : start + batch])
    return len(ids)


def _upper_bound(prefix: str) -> str:
    # The next string in byte order after every string starting with `prefix`.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def search(q: str, limit: int = MAX_RESULTS, schools=None) -> list[dict]:
    """Families matching every word of q (as prefixes); one indexed query per word + one.
    With `schools` (ids), only families with a child at one of them (an agent's scope)."""
    terms = [t for t in query_terms(q) if len(t) >= MIN_PREFIX or t.isdigit()]
    if not terms:
        return []
    matching: set[int] | None = None
    for term in terms[:5]:
        rows = (
            await FamilySearchTerm.select(FamilySearchTerm.family)
            .where((FamilySearchTerm.term >= term) & (FamilySearchTerm.term < _upper_bound(term)))
            .distinct()
            .limit(2000)
        )
        found = {r["family"] for r in rows}
        matching = found if matching is None else matching & found
        if not matching:
            return []
    ids = sorted(matching or [])
    where = Family.id.is_in(ids)
    if schools is not None:
        from ecp.families.queries import families_of_schools

        where &= Family.id.is_in(families_of_schools(schools))
    else:
        where = Family.id.is_in(ids[: limit * 4])
    families = (
        await Family.select(
            Family.id,
            Family.code,
            Family.name,
            Family.email,
            Family.active,
        )
        .where(where)
        .order_by(Family.name)
        .order_by(Family.code)
        .limit(limit)
    )
    return families
