"""`ecp serve --reload`: granian's reloader over the code and the templates, for development."""

from __future__ import annotations

import sys
import types

import granian

from ecp import cli
from ecp.resources import PACKAGE


class FakeGranian:
    calls: list[dict] = []

    def __init__(self, target, **options):
        self.options = {"target": target, **options}

    def serve(self):
        FakeGranian.calls.append(self.options)


def _serve(monkeypatch, *args, watchfiles=True):
    FakeGranian.calls = []
    monkeypatch.setattr(granian, "Granian", FakeGranian)
    # Present: any module object under that name; absent: None, which makes `import` raise.
    monkeypatch.setitem(
        sys.modules, "watchfiles", types.ModuleType("watchfiles") if watchfiles else None
    )
    return cli.main(["serve", "--port", "8123", *args])


def test_reload_watches_the_package_code_and_templates(monkeypatch):
    assert _serve(monkeypatch, "--reload") == 0
    [options] = FakeGranian.calls
    assert options["target"] == "ecp.asgi:app" and options["port"] == 8123
    assert options["reload"] is True
    assert options["reload_paths"] == [PACKAGE]
    assert (PACKAGE / "templates" / "base.html").is_file()  # the templates are watched too


def test_without_the_flag_nothing_is_watched(monkeypatch):
    assert _serve(monkeypatch) == 0
    [options] = FakeGranian.calls
    assert "reload" not in options and "reload_paths" not in options


def test_reload_without_watchfiles_says_what_to_install(monkeypatch, capsys):
    assert _serve(monkeypatch, "--reload", watchfiles=False) == 1
    assert FakeGranian.calls == []
    assert "pip install 'granian[reload]'" in capsys.readouterr().err
