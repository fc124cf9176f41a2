"""`ecp bill`: a month that has not ended needs `--en-avance`, said in the warning's words."""

from __future__ import annotations

import argparse
import datetime as dt

from ecp import clock
from ecp.invoices.cli import cmd_bill, register


def test_bill_refuses_a_month_not_ended_without_en_avance(capsys):
    clock.set_now(dt.datetime(2026, 12, 1, 9, 0, tzinfo=clock.PARIS))
    assert cmd_bill(argparse.Namespace(month="2026-12", en_avance=False)) == 2
    err = capsys.readouterr().err
    assert "Les réservations de décembre 2026 pourront encore changer" in err
    assert "--en-avance" in err
    assert cmd_bill(argparse.Namespace(month="2027-02", en_avance=True)) == 2
    assert "le mois en cours ou le suivant" in capsys.readouterr().err


def test_bill_reads_the_en_avance_flag():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["bill", "--month", "2026-12", "--en-avance"]).en_avance is True
    assert parser.parse_args(["bill", "--month", "2026-11"]).en_avance is False
