"""The loopback callback server: listening and reaching a port, stale-server takeover, the
asyncio + h11 driver and the sans-IO callback decisions it applies.

It never talks to the provider: what a callback means for the sign-in is decided in
:mod:`loginkit.signin`.
"""
