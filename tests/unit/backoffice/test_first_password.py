"""The first password printed on the welcome letter passes the family password rules."""

from __future__ import annotations

from ecp.auth.policy import password_problem
from ecp.backoffice.services import PASSWORD_ALPHABET, first_password


def test_first_passwords_pass_the_rules_and_avoid_ambiguous_characters():
    seen = set()
    for _ in range(300):
        password = first_password()
        assert password_problem(password, forbidden=("F00001",)) is None, password
        assert len(password) == 19 and password.count("-") == 3
        assert set(password.replace("-", "")) <= set(PASSWORD_ALPHABET)
        assert not set(password) & set("01ilo")
        seen.add(password)
    assert len(seen) == 300
