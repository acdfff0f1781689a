"""Domain errors. Lambda reports the class name as errorType, so ASL Retry/Catch can match them."""


class DomainError(Exception):
    """Base of every rule violation; `field` names the offending input when there is one."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    status = 400


class NotFoundError(DomainError):
    status = 404


class ForbiddenError(DomainError):
    status = 403


class ConflictError(DomainError):
    """The resource is not in a state that allows this (e.g. a task already decided)."""

    status = 409


class TooManyRequestsError(DomainError):
    """Throttled (HTTP 429): too many attempts; `retry_after` is the wait in whole seconds."""

    status = 429

    def __init__(self, message: str, *, field: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, field=field)
        self.retry_after = max(1, int(retry_after))


class PendingError(DomainError):
    """Recorded, not yet in effect (HTTP 503): e.g. a claimed decision whose hand-over to the run failed for a
    reason worth retrying; deciding the task again finishes the hand-over."""

    status = 503


class TransientStepError(Exception):
    """A workflow step failed for a reason worth retrying (ASL Retry matches this name)."""
