"""Errors a user can cause and must be told about in one clear line."""


class FlokiError(Exception):
    """A problem the user can fix; shown without a traceback."""


class ConfigError(FlokiError):
    """The configuration file or a plugin's section of it is wrong."""


class NotFound(FlokiError):
    """A referenced record does not exist."""


class Conflict(FlokiError):
    """The change clashes with existing data (duplicate, still referenced, ...)."""


class Forbidden(FlokiError):
    """The user is signed in but their role may not make this change."""


class Invalid(FlokiError):
    """The input is well-formed but not acceptable."""


class NotSaved(FlokiError):
    """The appliance could not save the change for want of space (503); the message
    says what became of it."""
