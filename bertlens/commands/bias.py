"""Placeholder: replaced by the bias feature."""


def register(sub, common) -> None:
    pass
