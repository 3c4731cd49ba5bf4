"""A callback pasted into the terminal (the browser ran on another machine): find the callback
in the address, and hand it to this run's own loopback server exactly as a browser would."""

from __future__ import annotations

_QUERY_SAFE = "=&%+-._~:/?@!$'()*,;"


def pasted_callback_target(text: str, callback_path: str = "/auth/callback") -> str | None:
    """``/auth/callback?...`` from what the person pasted (the whole address the browser ended
    on, whatever its host and port), or None when it is not such an address."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(text.strip())
    if not parts.path.endswith(callback_path) or not parts.query:
        return None
    # As a browser would send it: spaces and non-ASCII percent-encoded, the rest untouched.
    query = quote(parts.query, safe=_QUERY_SAFE)
    return f"{callback_path}?{query}"


def deliver_pasted_callback(port: int, target: str, address: str = "127.0.0.1") -> None:
    """Hand a pasted callback to this run's own loopback server, exactly as the browser would
    have (the state check, the exchange and the pages are the server's), then follow its
    redirect to ``/success`` so the run ends at once."""
    import http.client
    from urllib.parse import urlsplit

    from loginkit.loopback._listen import reach

    host = f"localhost:{port}"
    for _ in range(2):
        conn = http.client.HTTPConnection(reach(address), port, timeout=300)
        try:
            conn.putrequest("GET", target, skip_host=True)
            conn.putheader("Host", host)
            conn.endheaders()
            response = conn.getresponse()
            response.read()
            location = response.getheader("Location") or ""
        finally:
            conn.close()
        if response.status != 302 or not location:
            return
        parts = urlsplit(location)
        if parts.netloc != host or parts.path != "/success":
            return  # a redirect elsewhere is the browser's to follow, not ours
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
