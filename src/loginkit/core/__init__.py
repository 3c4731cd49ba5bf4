"""The vocabulary every layer speaks: phases and failure categories, the one exception tree,
profiles and their words, the pages, the login log, redaction and limits.

Nothing here does network or credential I/O, and nothing here imports another loginkit layer.
Modules are private; the public names are re-exported by :mod:`loginkit` and
:mod:`loginkit.progress`.
"""
