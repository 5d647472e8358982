"""paperdigest: a personalized daily digest of arXiv papers, scored by an LLM."""

__version__ = "0.1.0"
