"""One sign-in, start to finish: the browser run (bind, link, serve, exchange), the device run
(request, poll, exchange), and the one finishing step both end with (verify, check, save).
"""
