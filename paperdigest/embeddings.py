"""Static word embeddings (WordLlama) for the offline rankers, loaded from the installed wheel only.

WordLlama is an optional extra: ``pip install 'paperdigest[embeddings]'``. Its weights and tokenizer
ship inside the wheel. Version 0.4.0's ``WordLlama.load()`` looks for the tokenizer under
``tokenizer/``, but the wheel has it under ``tokenizers/``, so by default it tries to download it.
Pointing ``cache_dir`` at the installed package with ``disable_download=True`` loads both files
from the wheel and never touches the network.

A paper's vector is the mean of its token embeddings over the title and the first
``MAX_WORDS`` words of the abstract, normalised to length 1. Vectors are kept by paper version and
text hash, in memory and, when a store is given, in the SQLite cache.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from paperdigest.errors import EmbeddingsUnavailable
from paperdigest.models import Paper

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "wordllama-l2_supercat-256"
# Words of the abstract that count: the opening states the topic, and the rest mostly adds time.
MAX_WORDS = 120
_KEY_FORMAT = 1
_TOKENS_PER_BLOCK = 32_768


class VectorStore(Protocol):
    def get_vectors(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put_vectors(self, items: Sequence[tuple[str, bytes]]) -> None: ...


_model_lock = threading.Lock()
_model: Any = None


def load_model() -> Any:
    """Load WordLlama from the installed wheel once per process; raise EmbeddingsUnavailable if absent."""
    global _model
    with _model_lock:
        if _model is not None:
            return _model
        try:
            import numpy  # noqa: F401
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:
            raise EmbeddingsUnavailable(
                f"the embeddings ranker needs the optional WordLlama package ({exc.name} is not installed). "
                "Install it with: pip install 'paperdigest[embeddings]', or use the keywords ranker instead"
            ) from None
        package_dir = Path(wordllama.__file__).parent
        try:
            _model = WordLlama.load(cache_dir=package_dir, disable_download=True)
        except Exception as exc:  # safetensors and tokenizers raise their own types for damaged files
            raise EmbeddingsUnavailable(
                f"WordLlama is installed in {package_dir}, but its model files cannot be read: {exc}. "
                "Reinstall it with: pip install --force-reinstall 'paperdigest[embeddings]'"
            ) from None
        log.debug("loaded WordLlama from %s", package_dir)
        return _model


def _wordllama_release() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordllama")
    except PackageNotFoundError:
        return "unknown"


def paper_text(paper: Paper) -> str:
    words = paper.abstract.split()
    return paper.title + ". " + " ".join(words[:MAX_WORDS])


class Embedder:
    """Turns texts into unit vectors, with a cache by paper for paper texts."""

    def __init__(self, store: VectorStore | None = None):
        self.model = load_model()
        # A copy without padding: padding would only add tokens that the mean must then skip.
        self.tokenizer = type(self.model.tokenizer).from_str(self.model.tokenizer.to_str())
        self.tokenizer.no_padding()
        self.store = store
        self.release = _wordllama_release()
        self._memory: dict[str, bytes] = {}

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Mean token embedding of each text, normalised to length 1 (zero vectors stay zero)."""
        import numpy as np

        table = self.model.embedding
        dim = table.shape[1]
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        if not texts:
            return vectors
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        token_ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        # Sum token rows a block of texts at a time: gathering every token of 5,000 abstracts at
        # once would take over a gigabyte and spend most of the time moving memory.
        start = 0
        while start < len(texts):
            stop, tokens = start, 0
            while stop < len(texts) and (tokens < _TOKENS_PER_BLOCK or stop == start):
                tokens += token_ids[stop].size
                stop += 1
            block = token_ids[start:stop]
            lengths = np.fromiter((ids.size for ids in block), dtype=np.int64, count=len(block))
            filled = np.flatnonzero(lengths)
            if filled.size:
                ids = np.clip(np.concatenate([block[i] for i in filled]), 0, table.shape[0] - 1)
                offsets = np.concatenate(([0], np.cumsum(lengths[filled])[:-1]))
                sums = np.add.reduceat(table[ids], offsets, axis=0, dtype=np.float32)
                vectors[start + filled] = sums / lengths[filled, None]
            start = stop
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def embed_papers(self, papers: Sequence[Paper]) -> np.ndarray:
        """Unit vectors of the papers' texts, reusing vectors computed before for the same text."""
        import numpy as np

        texts = [paper_text(p) for p in papers]
        keys = [self._vector_key(p, text) for p, text in zip(papers, texts)]
        found = {k: self._memory[k] for k in keys if k in self._memory}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and self.store is not None:
            size = self.model.embedding.shape[1] * 4  # float32 bytes of one vector
            stored = {k: v for k, v in self.store.get_vectors(missing).items() if len(v) == size}
            found.update(stored)
            self._memory.update(stored)
        todo = [i for i, k in enumerate(keys) if k not in found]
        if todo:
            fresh = self.embed_texts([texts[i] for i in todo])
            new_items = [(keys[i], fresh[row].tobytes()) for row, i in enumerate(todo)]
            found.update(new_items)
            self._memory.update(new_items)
            if self.store is not None:
                self.store.put_vectors(new_items)
        log.debug("embeddings: %d papers, %d computed, %d reused", len(papers), len(todo), len(papers) - len(todo))
        return np.stack([np.frombuffer(found[k], dtype=np.float32) for k in keys]) if keys else self.embed_texts([])


    def _vector_key(self, paper: Paper, text: str) -> str:
        """Key of a paper's vector: it changes with the text, the paper version and the WordLlama release."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        return f"{_KEY_FORMAT}:{MODEL_NAME}:{self.release}:{paper.versioned_id}:{digest}"
