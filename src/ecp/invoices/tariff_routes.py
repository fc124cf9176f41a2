"""stub"""


def handlers() -> list:
    return []
