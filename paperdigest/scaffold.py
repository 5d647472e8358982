"""`paperdigest init`: write a starting config.toml and prompts/ that run as they are."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from paperdigest.errors import ConfigError
from paperdigest.fsutil import write_atomic
from paperdigest.prompt import PROMPT_FILES


def starter_files() -> dict[str, str]:
    """Relative path -> text of every file `init` writes."""
    package = resources.files("paperdigest")
    files = {"config.toml": (package / "templates" / "config.toml").read_text(encoding="utf-8")}
    for name in PROMPT_FILES:
        files[f"prompts/{name}"] = (package / "prompts" / name).read_text(encoding="utf-8")
    return files


def write_starter(folder: Path, *, force: bool) -> list[Path]:
    """Write the starter files into `folder`; without `force`, raise if any of them exists."""
    files = starter_files()
    existing = [folder / name for name in files if (folder / name).exists()]
    if existing and not force:
        names = ", ".join(str(path) for path in existing)
        raise ConfigError(f"{names} already exist; nothing was written. Pass --force to overwrite them")
    written = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
        written.append(path)
    return written
