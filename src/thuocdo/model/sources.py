"""Source names: the identifier every batch belongs to (``demo-panel``, ``telco-a``, ``hue-s``)."""

from __future__ import annotations

import re

#: lowercase ASCII letters and digits, then also '.', '_' or '-'; at most 64 characters
SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: what a valid source name looks like, for messages
SOURCE_RULE = "chữ thường không dấu, số, '.', '_' hoặc '-' (tối đa 64 ký tự)"


def is_source_name(name: str) -> bool:
    """Whether `name` is a valid source name.

    >>> is_source_name("telco-a"), is_source_name("Telco A")
    (True, False)
    """
    return SOURCE_PATTERN.match(name) is not None
