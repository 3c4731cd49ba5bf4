"""The browser pages: the success page and the branded error page (spec 3.13, 3.14).

Every value placed in a page is HTML-escaped (``& < > " '``). The entitlement variant of the error
page never shows the provider's raw description.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from loginkit.core._profiles import OPENAI, Profile


def html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


@cache
def _template(name: str) -> str:
    return resources.files("loginkit.core").joinpath("assets", name).read_text(encoding="utf-8")


def _fill(template: str, slots: dict[str, str]) -> str:
    # One pass over the template, so a value that itself contains "{{X}}" is never re-expanded.
    out: list[str] = []
    rest = template
    while (start := rest.find("{{")) != -1:
        end = rest.find("}}", start)
        if end == -1:
            break
        key = rest[start + 2 : end]
        out.append(rest[:start])
        out.append(html_escape(slots[key]) if key in slots else rest[start : end + 2])
        rest = rest[end + 2 :]
    out.append(rest)
    return "".join(out)


def success_page(profile: Profile = OPENAI) -> str:
    return _fill(_template("success.html"), {"APP": profile.app_name})


def is_entitlement_error(error_code: str, description: str | None) -> bool:
    return (
        error_code == "access_denied" and "missing_codex_entitlement" in (description or "").lower()
    )


@dataclass(frozen=True)
class ErrorPage:
    title: str
    message: str
    code: str
    description: str
    help: str


def error_page_content(
    message: str, error_code: str | None, description: str | None, profile: Profile = OPENAI
) -> ErrorPage:
    """The slot values for an error page, choosing the entitlement or the generic variant."""
    code = error_code or "unknown_error"
    app = profile.app_name
    if is_entitlement_error(code, description):
        return ErrorPage(
            title=f"You do not have access to {app}",
            message=f"This account is not currently authorized to use {app} in this workspace.",
            code=code,
            description=f"Contact your workspace administrator to request access to {app}.",
            help=f"Contact your workspace administrator to get access to {app}, then return to"
            f" {app} and try again.",
        )
    return ErrorPage(
        title="Sign-in could not be completed",
        message=message,
        code=code,
        description=description if description else message,
        help=f"Return to {app} to retry, switch accounts, or contact your workspace admin if access"
        " is restricted.",
    )


def error_page(
    message: str, error_code: str | None, description: str | None, profile: Profile = OPENAI
) -> str:
    content = error_page_content(message, error_code, description, profile)
    return _fill(
        _template("error.html"),
        {
            "APP": profile.app_name,
            "TITLE": content.title,
            "MESSAGE": content.message,
            "CODE": content.code,
            "DESCRIPTION": content.description,
            "HELP": content.help,
        },
    )
