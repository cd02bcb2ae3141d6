"""Errors the classifier raises for inputs it cannot read, worded for the person who uploaded them."""


def gettext_noop(message: str) -> str:
    """Marks a message for the portal's catalogues without translating it: makemessages looks for this
    name, and ml/ knows nothing of Django. The portal translates the message where a person reads it
    (scans.validation for an upload, Scan.shown_status_reason for a refusal the worker stored)."""
    return message


class UnreadableImage(ValueError):
    """The bytes are not an image we can decode; the message says why in plain words.

    `message` is the English template and `params` its values, kept apart so the portal can translate
    the template first; str() is the English sentence."""

    def __init__(self, message: str, **params):
        self.message, self.params = message, params
        super().__init__(message % params if params else message)
