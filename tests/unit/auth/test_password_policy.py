"""docs/security.md A1/A2: length rules, no composition rules, no truncation, common passwords."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import Type

from ecp.auth.common import _words
from ecp.auth.passwords import PRODUCTION, Passwords
from ecp.auth.policy import password_problem


@pytest.mark.parametrize("length", [7, 11])
def test_family_passwords_under_twelve_characters_are_refused(length):
    assert "au moins 12 caractères" in password_problem("k" * (length - 1) + "Z")


def test_staff_passwords_need_fifteen_characters():
    assert "au moins 15" in password_problem("tulipe-orange", staff=True)
    assert password_problem("tulipe-orange-bleue", staff=True) is None


@pytest.mark.parametrize(
    "password",
    [
        "vélo rouge du matin",  # accents and spaces, no digit, no capital
        "é ü 😀 espace et mots",  # emoji
        "a-very-long-passphrase-" * 2 + "ends-here-64c"[:18],
        ("le chat de la voisine dort sur le toit " * 4)[:128],  # 128 characters
    ],
)
def test_long_and_unicode_passwords_are_accepted_without_composition_rules(password):
    assert len(password) <= 128
    assert password_problem(password) is None


def test_more_than_128_characters_is_refused_not_truncated():
    assert "au plus 128" in password_problem("z8" * 65)


def test_the_code_famille_cannot_be_the_password():
    assert password_problem("F00001-F00001-F00001", forbidden=("F00001",)) is not None


def test_bundled_list_is_large_and_every_sampled_entry_is_refused():
    words = sorted(_words())
    assert len(words) >= 3000
    sample = words[:: len(words) // 50][:50]
    for word in sample:
        assert password_problem(word) is not None, word
    # Padding a common password with digits does not make it acceptable.
    assert "trop courant" in password_problem("motdepasse2026!")
    assert "trop courant" in password_problem("azertyuiop123")


def test_production_hasher_is_argon2id_with_pinned_parameters():
    stored = Passwords("production").hash_sync("une phrase de passe")
    params = extract_parameters(stored)
    assert params.type is Type.ID
    assert params.memory_cost == PRODUCTION["memory_cost"] == 19456
    assert params.time_cost == PRODUCTION["time_cost"] == 2
    assert params.parallelism == PRODUCTION["parallelism"] == 1
    assert params.memory_cost >= 19456 and params.time_cost >= 2


async def test_verify_runs_exactly_once_even_without_a_stored_hash():
    passwords = Passwords("test")
    calls = []
    real = passwords.hasher

    class Spy:
        def verify(self, stored, password):
            calls.append(stored)
            return real.verify(stored, password)

    passwords.hasher = Spy()
    assert await passwords.verify(None, "anything at all") is False
    assert await passwords.verify("", "anything at all") is False
    assert calls == [passwords.dummy_hash, passwords.dummy_hash]
    assert isinstance(real, PasswordHasher)
