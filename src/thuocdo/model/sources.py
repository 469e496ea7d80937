"""Source names (the identifier every batch belongs to: ``demo-panel``, ``telco-a``, ``hue-s``), the kinds of
source and how their persons are keyed."""

from __future__ import annotations

import re

#: lowercase ASCII letters and digits, then also '.', '_' or '-'; at most 64 characters
SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: names that select something else than one source (``--source national``: the national estimate)
RESERVED_NAMES = ("national",)
#: what a valid source name looks like, for messages
SOURCE_RULE = "chữ thường không dấu, số, '.', '_' hoặc '-' (tối đa 64 ký tự), không phải 'national'"


def is_source_name(name: str) -> bool:
    """Whether `name` is a valid source name (``national`` is reserved for the national estimate).

    >>> is_source_name("telco-a"), is_source_name("Telco A"), is_source_name("national")
    (True, False, False)
    """
    return SOURCE_PATTERN.match(name) is not None and name not in RESERVED_NAMES


#: what a source delivers: every subscriber it serves (``census``: an operator's own customers), a weighted
#: sample (``panel``), or figures published already aggregated (``aggregates``)
SOURCE_KINDS = ("census", "panel", "aggregates")
#: how a source's persons are keyed: within the source (``private``, the default: two sources never share a
#: person) or in the one domain of every ``shared`` source (the same user id is the same person in each)
LINK_KEYS = ("shared", "private")
DEFAULT_LINK_KEY = "private"
#: the key domain of the shared sources; a private source's domain is its name, and no name is empty
SHARED_KEY_DOMAIN = ""


def key_domain_of(name: str, link_key: str) -> str:
    """What stands beside a user id in its person key: the shared domain, or the source's own name.

    >>> key_domain_of("telco-a", "shared"), key_domain_of("telco-a", "private")
    ('', 'telco-a')
    """
    return SHARED_KEY_DOMAIN if link_key == "shared" else name
