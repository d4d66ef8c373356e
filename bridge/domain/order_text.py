"""Text cleaning for what PrestaShop validates (``Validate::isCustomerName``, ``isAddress``...).

The bridge writes SQL directly, so PrestaShop's validators never run; but an employee who later edits
the customer or the address in the back office would be refused a save if the stored values did not
pass them. Forbidden characters are replaced by a space, spaces collapsed; accents and other letters
(including 4-byte characters, which utf8mb4 columns store) are kept.
"""

from __future__ import annotations

import re
import unicodedata

# Validate::isCustomerName (8.x/9.x): no digits, none of these, and "." only before a space or at the end.
_NAME_FORBIDDEN = frozenset('!<>,;?=+()/\\@#"°*`{}_^$%:¤[]|。')
_ADDRESS_FORBIDDEN = frozenset("!<>?=+@{}_$%")  # isAddress
_CITY_FORBIDDEN = frozenset('!<>;?=+@#"°{}_$%')  # isCityName
_GENERIC_FORBIDDEN = frozenset("<>={}")  # isGenericName (company, alias)
_MESSAGE_FORBIDDEN = frozenset("<>{}")  # isMessage (address "other", private message)
_POSTCODE_KEEP = re.compile(r"[^A-Za-z0-9 -]")  # isPostCode
_PHONE_KEEP = re.compile(r"[^+0-9. ()/-]")  # isPhoneNumber
EMPTY_NAME = "-"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _printable(ch: str) -> bool:
    return unicodedata.category(ch)[0] != "C"


def clean_name(s: str, max_len: int) -> str:
    """A first or last name PrestaShop's ``Validate::isCustomerName`` accepts, at most ``max_len`` characters.

    Digits and forbidden symbols become spaces; a dot survives only before a space or at the end
    ("Jr." stays, "J.R" becomes "J R"). Accents, apostrophes and hyphens are kept. An empty result
    becomes "-" (PrestaShop requires a name).
    """
    chars = [ch for ch in (s or "") if _printable(ch) or ch.isspace()]
    out: list[str] = []
    for i, ch in enumerate(chars):
        if unicodedata.category(ch) == "Nd" or ch in _NAME_FORBIDDEN:
            out.append(" ")
        elif ch == ".":
            nxt = chars[i + 1] if i + 1 < len(chars) else ""
            out.append("." if nxt == "" or nxt.isspace() else " ")
        else:
            out.append(ch)
    name = _collapse("".join(out))
    if max_len > 0:
        name = name[:max_len].rstrip()
    return name or EMPTY_NAME


def _replace(s: str, forbidden: frozenset[str]) -> str:
    return _collapse("".join(" " if ch in forbidden or not (_printable(ch) or ch.isspace()) else ch
                             for ch in (s or "")))


def clean_address_line(s: str) -> str:
    return _replace(s, _ADDRESS_FORBIDDEN)


def clean_city(s: str) -> str:
    return _replace(s, _CITY_FORBIDDEN)


def clean_generic(s: str) -> str:
    return _replace(s, _GENERIC_FORBIDDEN)


def clean_message(s: str) -> str:
    """Multi-line text without ``< > { }`` (line breaks kept)."""
    lines = [_replace(line, _MESSAGE_FORBIDDEN) for line in (s or "").splitlines()]
    return "\n".join(line for line in lines if line)


def clean_postcode(s: str) -> str:
    return _collapse(_POSTCODE_KEEP.sub(" ", s or ""))


def clean_phone(s: str) -> str:
    return _collapse(_PHONE_KEEP.sub("", s or ""))


_EMAIL_LOCAL = re.compile(r"[^a-z0-9._-]+")
_EMAIL_OK = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _email_token(value: str) -> str:
    token = _EMAIL_LOCAL.sub("-", (value or "").lower()).strip("-.")
    return token or "unknown"


def customer_email(*, notification_email: str, mode: str, template: str, platform: str, customer_id: str,
                   order_id: str) -> str:
    """The customer's e-mail: Mirakl's notification relay, or the placeholder built from the template."""
    if mode == "notification" and _EMAIL_OK.match((notification_email or "").strip()):
        return notification_email.strip()
    return template.format(
        customer_id=_email_token(customer_id or order_id),
        platform=_email_token(platform),
        order_id=_email_token(order_id),
    )
