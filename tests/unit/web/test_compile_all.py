"""Every template compiles (a served worker compiles them all before its first request)."""

from ecp.web.templating import compile_all, create_environment


def test_every_template_compiles_and_is_then_cached():
    env = create_environment()
    count = compile_all(env)
    assert count > 150
    # Compiled once: the environment's cache hands back the same template object.
    name = "pages/booking/week.html"
    assert env.get_template(name) is env.get_template(name)


def test_the_holiday_tables_are_loaded_before_serving():
    import datetime as dt

    from ecp.booking import calendar

    calendar._school_dates.cache_clear()
    calendar._public_holidays.cache_clear()
    calendar.warm_up(dt.date(2026, 12, 1))
    assert calendar._school_dates.cache_info().currsize == 1
    assert calendar._public_holidays.cache_info().currsize == 3
    assert calendar.public_holiday(dt.date(2026, 12, 25)) == "Noël"
