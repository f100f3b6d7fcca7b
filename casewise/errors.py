"""Domain exceptions. Messages name the file, field or setting at fault and say what to do; never patient data."""


class CasewiseError(Exception):
    """Base of every error Casewise reports to a user as one line."""


class ConfigError(CasewiseError):
    """A setting is missing or invalid."""


class InputFileError(CasewiseError):
    """A source file cannot be read (corrupt, empty, encrypted, too large, undecodable)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexUnavailableError(CasewiseError):
    """The vector index cannot be opened or reached."""


class NothingIndexedError(CasewiseError):
    """A question reached an index that holds nothing yet (a new data folder, or the wrong one)."""


class LLMError(CasewiseError):
    """The language model server failed, timed out or returned unusable output."""


class RequestError(CasewiseError):
    """A request is malformed or absurd (field named in the message)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
