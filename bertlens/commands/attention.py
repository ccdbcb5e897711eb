"""Placeholder: replaced by the attention feature."""


def register(sub, common) -> None:
    pass
