"""Password rules (docs/security.md A1): a minimum length, no composition rules, no truncation."""

from __future__ import annotations

from ecp.auth.passwords import FAMILY_MIN_LENGTH, MAX_LENGTH, STAFF_MIN_LENGTH


def password_problem(
    password: str, *, staff: bool = False, forbidden: tuple[str, ...] = ()
) -> str | None:
    """The French message explaining why a new password is refused, or None."""
    minimum = STAFF_MIN_LENGTH if staff else FAMILY_MIN_LENGTH
    if len(password) < minimum:
        return f"Le mot de passe doit contenir au moins {minimum} caractères."
    if len(password) > MAX_LENGTH:
        return f"Le mot de passe doit contenir au plus {MAX_LENGTH} caractères."
    lowered = password.strip().lower()
    if any(f and f.lower() in lowered for f in forbidden):
        return "Le mot de passe ne doit pas contenir votre identifiant."
    from ecp.auth.common import is_common

    if is_common(password):
        return "Ce mot de passe est trop courant : choisissez une phrase plus personnelle."
    return None


MISSING_NEW = "Choisissez un nouveau mot de passe."
MISMATCH = "Les deux mots de passe saisis sont différents."


def new_password_errors(
    new: str, confirmation: str, *, staff: bool = False, forbidden: tuple[str, ...] = ()
) -> dict[str, str]:
    """The new password and its confirmation, as every form that sets one judges them (the
    reset link, a family's and an agent's change): at most one message, by field id."""
    if not new:
        return {"nouveau_mot_de_passe": MISSING_NEW}
    problem = password_problem(new, staff=staff, forbidden=forbidden)
    if problem:
        return {"nouveau_mot_de_passe": problem}
    if new != confirmation:
        return {"confirmation": MISMATCH}
    return {}
