"""The `{% memo %}` tag: a fragment is rendered once per key, and again for any other key."""

from __future__ import annotations

from jinja2 import DictLoader, Environment

from ecp.web.fragment_memo import FragmentMemo, RenderMemo


def env(**templates):
    return Environment(loader=DictLoader(templates), autoescape=True, extensions=[FragmentMemo])


def test_the_same_key_serves_the_first_rendering_and_another_key_renders_afresh():
    e = env(page='{% memo "nav", who %}<b>{{ who }} {{ counter() }}</b>{% endmemo %}')
    calls = []

    def counter():
        calls.append(1)
        return len(calls)

    page = e.get_template("page")
    assert page.render(who="Léa", counter=counter) == "<b>Léa 1</b>"
    assert page.render(who="Léa", counter=counter) == "<b>Léa 1</b>"
    assert page.render(who="Hugo", counter=counter) == "<b>Hugo 2</b>"
    assert page.render(who="<i>", counter=counter) == "<b>&lt;i&gt; 3</b>"  # still escaped
    assert e.fragment_memo.hits == 1 and e.fragment_memo.misses == 3


def test_the_memo_is_bounded_and_forgets_the_least_recently_used():
    memo = RenderMemo(size=2)
    memo.put("a", "A")
    memo.put("b", "B")
    assert memo.get("a") == "A"  # a is now the most recent
    memo.put("c", "C")
    assert memo.get("b") is None and memo.get("a") == "A" and memo.get("c") == "C"
    assert len(memo) == 2


def test_a_compressed_memo_gives_back_the_same_markup():
    from markupsafe import Markup

    memo = RenderMemo(size=4, compress=True)
    html = Markup("<p>Déjà réservé ce jour-là : Cantine pour Léa, « mardi 1er décembre ».</p>" * 50)
    memo.put("week", html)
    found = memo.get("week")
    assert found == html and isinstance(found, Markup)
    assert len(memo._entries["week"]) < len(html.encode()) / 5
