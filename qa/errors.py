"""Named errors: library code raises these; the CLI, UI and API turn them into one clear line."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error meant to be shown to a user as one line."""


class IndexMissingError(QAError):
    """No index exists yet at the configured folder."""


class IndexCorruptError(QAError):
    """An index file is missing, unreadable, or disagrees with the manifest."""


class IndexBusyError(QAError):
    """Another run is writing the index right now; try again when it has finished."""


class IndexMismatchError(QAError):
    """The index was built with another model, dimension or format."""


class IngestError(QAError):
    """One input file could not be read as a document (the indexer skips it)."""


class InvalidFilterError(QAError, ValueError):
    """A search filter is malformed (a date that is not YYYY-MM-DD). A ValueError too, so
    request validation reports it as a bad field."""


class EmptyQuestionError(QAError):
    """The question is empty or only whitespace."""


class QuestionTooLongError(QAError):
    """The question is longer than the configured limit."""


class InvalidTextError(QAError, ValueError):
    """A question or an earlier turn holds something that is not text (a lone UTF-16
    surrogate, which no encoding can store). A ValueError too, so request validation reports
    it as a bad field."""


class HistoryTooLongError(QAError):
    """The earlier turns sent with a question are more, or longer, than the limits."""


class ConfigError(QAError):
    """A setting has a value that cannot work (bad model, bad number)."""


class NoMatchingDocumentsError(QAError):
    """The search filters leave no document to search."""


class StoreUnavailableError(ConfigError):
    """The store's database server can't be reached or refused the connection (a wrong
    `QA_STORE` URL, a server that is down, a missing optional dependency)."""
