"""Exception types raised by the core. Only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class PaperdigestError(Exception):
    """Base class: the message is complete and meant for the user."""


class ConfigError(PaperdigestError):
    """config.toml or a prompt file is missing, unreadable or invalid."""


class EmbeddingsUnavailable(ConfigError):
    """The embeddings extra is not installed, or its model files cannot be read."""


class FetchError(PaperdigestError):
    """The arXiv source could not be read (network, HTTP status, missing file)."""


class FeedFormatError(FetchError):
    """The arXiv source responded, but not with a feed that can be parsed."""


class StaleFeedError(PaperdigestError):
    """The feed contains a different announcement date than the one requested."""

    def __init__(self, message: str, feed_date=None, requested=None):
        super().__init__(message)
        self.feed_date = feed_date
        self.requested = requested


class MissingKeyError(PaperdigestError):
    """The OpenAI scorer was chosen but no API key is configured."""


class LLMError(PaperdigestError):
    """A request to the model failed after all retries."""


class FatalLLMError(LLMError):
    """A model error that no retry can fix (rejected key, unknown model): the run stops."""
