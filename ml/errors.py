"""Errors the classifier raises for inputs it cannot read, worded for the person who uploaded them."""


class UnreadableImage(ValueError):
    """The bytes are not an image we can decode; the message says why in plain words."""
