"""The checks of ``loginkit doctor`` that go over the network: the issuer, and this clock.

One request, through the same HTTP client a sign-in uses (proxies, CA bundle, the plain-http
guard, timeouts), and it carries no credential: a generic provider's discovery document (read and
checked as a sign-in checks it), or for the ``openai`` profile a ``HEAD`` of the token endpoint
(any HTTP answer means the host is reachable). The answer's ``Date`` header is compared with this
computer's clock: id_tokens are verified with :data:`~loginkit.oauth._idverify.LEEWAY` seconds of
tolerance, so a larger skew makes every sign-in fail at the end.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from loginkit.cli._checks import Check, ok, problem, warning
from loginkit.core._limits import Timeouts
from loginkit.core._profiles import profile_for
from loginkit.core._sanitize import sanitize

#: The doctor waits less than a sign-in would: it is a quick look.
DOCTOR_TIMEOUTS = Timeouts(connect=5.0, read=10.0, write=10.0, pool=5.0, total=15.0)
#: Skew shown as a warning: fine for verification, but worth fixing before it grows.
SKEW_WARNING = 60
NETWORK_FIX = (
    "check the network, the proxy settings (HTTPS_PROXY, NO_PROXY) and the CA bundle"
    " (CODEX_CA_CERTIFICATE)"
)


def _clock_check(host: str, date: str | None, seen_at: float) -> Check:
    from loginkit.oauth._idverify import LEEWAY

    title = "Clock"
    if not date:
        return warning(
            "clock",
            title,
            f"not checked: {host} sent no Date header",
            "make sure this computer's clock is set automatically (NTP)",
        )
    try:
        theirs = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        return warning(
            "clock",
            title,
            f"not checked: {host} sent a Date header that is not a date",
            "make sure this computer's clock is set automatically (NTP)",
        )
    skew = round(seen_at - theirs)
    way = "ahead of" if skew > 0 else "behind"
    said = f"this computer's clock is {abs(skew)} s {way} {host}'s"
    fix = "set the clock, or turn on time synchronisation (timedatectl set-ntp true)"
    if abs(skew) > LEEWAY:
        message = f"{said}; id_tokens will not verify (the tolerance is {LEEWAY} s)"
        return problem("clock", title, message, fix)
    if abs(skew) > SKEW_WARNING:
        return warning("clock", title, f"{said}; still within the {LEEWAY} s tolerance", fix)
    return ok("clock", title, f"within {SKEW_WARNING} s of {host}'s")


def network_checks(issuer: str, client_id: str, *, blocked: list[str]) -> list[Check]:
    """The issuer (discovery for a generic profile, the token endpoint's host for ``openai``)
    and the clock against its ``Date``. ``blocked``: titles of failed checks that leave no HTTP
    client to ask with (CA bundle, proxy); both checks then say so instead of running."""
    import httpx2

    from loginkit.core._exceptions import DiscoveryError, HttpClientSetupFailure
    from loginkit.core._redact import sanitize_url_for_logging
    from loginkit.oauth._discovery import discovery_url, load_metadata
    from loginkit.oauth._http import build_client
    from loginkit.oauth._token import describe_transport_error

    title = "Issuer"
    profile = profile_for(issuer, client_id)
    try:
        host = sanitize(urlsplit(issuer).hostname or issuer, limit=200)
    except ValueError:
        host = sanitize(issuer, limit=200)
    if urlsplit(issuer).scheme not in ("http", "https"):
        fix = "give --issuer as https://host (as the provider publishes it)"
        message = f"{sanitize(issuer, limit=200)!r} is not an http(s) URL"
        skipped = problem("clock", "Clock", "not checked: no issuer to ask", fix)
        return [problem("issuer", title, message, fix), skipped]
    if blocked:
        why = f"not checked: the HTTP client cannot be set up (see {' and '.join(blocked)})"
        fix = f"fix the {' and '.join(blocked)} first"
        return [problem("issuer", title, why, fix), problem("clock", "Clock", why, fix)]
    seen: dict[str, object] = {}

    def note_date(response: httpx2.Response) -> None:
        seen.setdefault("date", response.headers.get("date"))
        seen.setdefault("at", time.time())

    try:
        client = build_client(DOCTOR_TIMEOUTS)
    except HttpClientSetupFailure as exc:
        why = f"not checked: {sanitize(str(exc), limit=300)}"
        return [
            problem("issuer", title, why, NETWORK_FIX),
            problem("clock", "Clock", why, NETWORK_FIX),
        ]
    hooks = client.event_hooks
    hooks["response"] = [*hooks["response"], note_date]
    client.event_hooks = hooks
    with client:
        if profile.discover:
            shown = sanitize_url_for_logging(discovery_url(issuer))
            try:
                load_metadata(client, issuer)
                first = ok("issuer", title, f"{shown} describes this issuer")
            except DiscoveryError as exc:
                fix = (
                    "use --issuer exactly as the provider publishes it (the issuer field of its"
                    " discovery document); if it cannot be reached, " + NETWORK_FIX
                )
                first = problem("issuer", title, sanitize(exc.reason, limit=300), fix)
        else:
            endpoint = sanitize_url_for_logging(profile.token_endpoint())
            try:
                response = client.head(profile.token_endpoint())
                response.close()
                first = ok("issuer", title, f"{endpoint} answers (HTTP {response.status_code})")
            except httpx2.HTTPError as exc:
                reason = sanitize(describe_transport_error(exc), limit=300)
                first = problem(
                    "issuer", title, f"{endpoint} cannot be reached: {reason}", NETWORK_FIX
                )
    if "at" not in seen:
        clock = warning("clock", "Clock", f"not checked: {host} did not answer", NETWORK_FIX)
    else:
        date = seen.get("date")
        at = seen["at"]
        assert isinstance(at, float)
        clock = _clock_check(host, date if isinstance(date, str) else None, at)
    return [first, clock]
