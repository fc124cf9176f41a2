"""Forgotten password: single-use links valid one hour, only the SHA-256 of the token stored.

The public form answers the same whatever is typed; the look-up, the token and the e-mail happen
in `issue_for_identifier`, which the route runs after the response (a background task), so an
existing account costs the visitor no more time than an unknown one (docs/security.md A7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from ecp import clock
from ecp.auth.passwords import Passwords
from ecp.auth.sessions import close_all_for
from ecp.auth.tables import PasswordResetToken
from ecp.db import aware, lock_for_update, write_transaction
from ecp.families.tables import Family
from ecp.mail.outbox import queue_email
from ecp.web import urls

log = logging.getLogger("ecp.accounts")

VALIDITY = dt.timedelta(hours=1)
# More requests than this within an hour for one family are silently dropped: nobody can flood
# a family's mailbox, whatever IPs they use (the per-IP rate limit is in the route).
MAX_PER_HOUR = 3


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _find_family(identifier: str) -> dict | None:
    identifier = identifier.strip()
    if not identifier or len(identifier) > 200:
        return None
    if "@" in identifier:
        rows = await Family.select(Family.id, Family.email, Family.name).where(
            (Family.email == identifier.lower())
            & (Family.active == True)  # noqa: E712
            & (Family.anonymised_at.is_null())
        )
        # An address shared by two families identifies neither: no mail rather than a wrong one.
        return rows[0] if len(rows) == 1 else None
    return (
        await Family.select(Family.id, Family.email, Family.name)
        .where(
            (Family.code == identifier.upper())
            & (Family.active == True)  # noqa: E712
            & (Family.anonymised_at.is_null())
        )
        .first()
    )


async def create_link(settings, family_id: int, email: str) -> str | None:
    """A new token for the family and its e-mail in the outbox; returns the link (tests)."""
    if not email:
        return None
    now = clock.now()
    token = secrets.token_urlsafe(32)  # 256 bits
    async with write_transaction():
        recent = await PasswordResetToken.count().where(
            (PasswordResetToken.family == family_id)
            & (PasswordResetToken.created_at > now - dt.timedelta(hours=1))
        )
        if recent >= MAX_PER_HOUR:
            return None
        await PasswordResetToken(
            token_hash=hash_token(token),
            family=family_id,
            created_at=now,
            expires_at=now + VALIDITY,
        ).save()
        # Built from configuration, never from the Host header (docs/security.md D4).
        link = urls.absolute(settings.base_url, "password_reset", token=token)
        text = (
            "Bonjour,\n\n"
            "Vous avez demandé à choisir un nouveau mot de passe pour le Portail Famille de "
            f"{settings.commune_name}.\n\nOuvrez ce lien dans l’heure qui vient :\n{link}\n\n"
            "Le lien ne sert qu’une fois. Si vous n’êtes pas à l’origine de cette demande, "
            "ignorez ce message : votre mot de passe actuel reste valable.\n\n"
            "Service Scolaire-Enfance-Jeunesse"
        )
        # The link is sealed: staff reading the outbox see a placeholder, the family the link.
        await queue_email(
            to=email,
            subject="Choisir un nouveau mot de passe",
            text=text,
            kind="reset",
            family_id=family_id,
            secrets=[link],
            settings=settings,
        )
    return link


async def issue_for_identifier(settings, identifier: str) -> None:
    family = await _find_family(identifier)
    if family is not None:
        await create_link(settings, family["id"], family["email"])


async def issue_quietly(settings, identifier: str) -> None:
    """The forgotten-password form's background task: the visitor already has the answer,
    so a failure goes to the logs, never to them."""
    try:
        await issue_for_identifier(settings, identifier)
    except Exception:  # noqa: BLE001 - the visitor already has the answer; keep it in the logs
        log.exception("password reset e-mail could not be queued")


async def valid_token(token: str) -> dict | None:
    """The token row if it exists, is unused and unexpired; with the family's code, which the
    new password may not contain."""
    if not token or len(token) > 100:
        return None
    row = (
        await PasswordResetToken.select(
            PasswordResetToken.id,
            PasswordResetToken.family,
            PasswordResetToken.expires_at,
            PasswordResetToken.used_at,
            PasswordResetToken.family.code.as_alias("family_code"),
        )
        .where(PasswordResetToken.token_hash == hash_token(token))
        .first()
    )
    if row is None or row["used_at"] is not None or row["family"] is None:
        return None
    if aware(row["expires_at"]) <= clock.now():
        return None
    return row


class TokenInvalid(Exception):
    pass


async def use_token(token: str, password_hash: str) -> int:
    """Sets the password, spends the token (and the family's other tokens), ends every session.

    Raises TokenInvalid when the link is unknown, used or expired, in which case nothing changes.
    """
    async with write_transaction():
        row = await lock_for_update(
            PasswordResetToken.select(
                PasswordResetToken.id,
                PasswordResetToken.family,
                PasswordResetToken.expires_at,
                PasswordResetToken.used_at,
            ).where(PasswordResetToken.token_hash == hash_token(token))
        )
        row = row[0] if row else None
        now = clock.now()
        if (
            row is None
            or row["used_at"] is not None
            or row["family"] is None
            or aware(row["expires_at"]) <= now
        ):
            raise TokenInvalid()
        family_id = row["family"]
        await PasswordResetToken.update({PasswordResetToken.used_at: now}).where(
            (PasswordResetToken.family == family_id) & PasswordResetToken.used_at.is_null()
        )
        await Family.update(
            {
                Family.password_hash: password_hash,
                Family.failed_logins: 0,
                Family.locked_until: None,
                Family.must_change_password: False,
            }
        ).where(Family.id == family_id)
        await close_all_for(family_id=family_id)
    return family_id


async def set_password(token: str, new_password: str, passwords: Passwords) -> int:
    """The reset link's form, once the new password is judged acceptable: hashed, then set as
    use_token does (raises TokenInvalid when the link has been used or has expired since)."""
    return await use_token(token, await passwords.hash(new_password))
