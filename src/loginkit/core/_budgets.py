"""The default budgets of a request to the provider, as plain numbers (builtin-only: the
link-first start reads them before anything else loads). :class:`loginkit.core._limits.Timeouts`
takes its defaults from here, so both paths wait exactly as long."""

#: Largest response body loginkit reads from the provider (token, discovery, signing keys,
#: device code, refresh), in bytes. A longer body is a malformed response: reading stops at the
#: cap, so a hostile server cannot make loginkit hold or print hundreds of megabytes.
MAX_RESPONSE_BODY = 1024 * 1024

#: Whole-request budget (seconds) when none is given: from sending the request to the last byte
#: of the response body. The per-read ``read`` timeout alone lets a body dripped one byte at a
#: time hold a request (and ``auth.lock``) for as long as the server likes.
DEFAULT_TOTAL = 60.0

#: Seconds to set up a connection (TCP, and TLS for https).
DEFAULT_CONNECT = 10.0

#: Seconds any one read or write may take.
DEFAULT_READ = 30.0
