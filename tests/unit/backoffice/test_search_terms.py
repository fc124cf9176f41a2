"""Folding and query parsing of the staff family search (pure)."""

from __future__ import annotations

from ecp.families import search


def test_words_fold_accents_and_keep_compound_names():
    assert search.words("Le Gall-Lefèvre") == ["le", "gall", "lefevre", "legalllefevre"]
    assert search.words("Émilie") == ["emilie"]


def test_phones_are_digits_and_international_prefix_is_folded():
    assert search.phone_terms("06 12 34 56 78") == ["0612345678"]
    assert search.phone_terms("+33 6 12 34 56 78") == ["33612345678", "0612345678"]


def test_query_terms():
    assert search.query_terms("Lefè gall") == ["lefe", "gall"]
    assert search.query_terms("06 12 34") == ["061234"]
    assert search.query_terms("Claire@Example.org") == ["claire@example.org"]
    assert search.query_terms("F0001") == ["f0001"]
    assert search.query_terms("  ") == []


def test_upper_bound_is_the_next_string_in_byte_order():
    assert search._upper_bound("dup") == "duq"
    assert search._upper_bound("069") == "06:"
    assert "dupont" < search._upper_bound("dup") and "duq" >= search._upper_bound("dup")
