"""Errors a person can act on. The CLI prints their message, not a stack trace."""


class LakehouseError(Exception):
    """Base class: the message says what went wrong and what to check."""


class EndpointUnreachable(LakehouseError):
    pass


class CredentialsRejected(LakehouseError):
    pass


class AccessDenied(LakehouseError):
    pass


class UsageError(LakehouseError):
    """A command given arguments that cannot work together."""
