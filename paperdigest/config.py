"""config.toml: pydantic models, lookup order and readable validation errors."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict, StrictBool, StrictStr, ValidationError, field_validator

from paperdigest.arxiv.taxonomy import canonical_category, suggest_categories
from paperdigest.errors import ConfigError
from paperdigest.models import ANNOUNCE_TYPES

# TOML has real types, so a quoted number or a boolean where a number belongs is a mistake
# worth reporting rather than coercing ("7" or true for a cutoff).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict(), AllowInfNan(False)]

CONFIG_ENV = "PAPERDIGEST_CONFIG"
CONFIG_NAME = "config.toml"
APP_NAME = "paperdigest"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArxivSettings(_Section):
    categories: tuple[StrictStr, ...] = ("cs.LG", "cs.AI")
    announce_types: tuple[Literal["new", "cross", "replace", "replace-cross"], ...] = ("new", "cross")
    rss_url: StrictStr = "https://rss.arxiv.org/rss/"
    api_url: StrictStr = "https://export.arxiv.org/api/query"
    timeout: Float = Field(default=30.0, gt=0, le=600, description="seconds per HTTP request")
    retries: Int = Field(default=3, ge=0, le=10)
    empty_feed_retry_seconds: Float = Field(default=120.0, ge=0, le=3600, description="pause before asking again for an empty weekday feed")
    api_delay_seconds: Float = Field(default=3.0, ge=0, description="seconds between arXiv API requests")

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError('list at least one arXiv category, e.g. ["cs.LG", "cs.AI"]')
        result = []
        for code in value:
            canonical = canonical_category(code)
            if canonical is None:
                close = suggest_categories(code)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ValueError(f"unknown arXiv category {code!r}{hint}")
            if canonical not in result:
                result.append(canonical)
        return tuple(result)

    @field_validator("announce_types")
    @classmethod
    def _some_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"list at least one of {', '.join(ANNOUNCE_TYPES)}")
        return tuple(dict.fromkeys(value))

    @field_validator("rss_url")
    @classmethod
    def _feed_base_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class RuleSettings(_Section):
    authors: tuple[StrictStr, ...] = ()
    exclude_authors: tuple[StrictStr, ...] = ()
    keywords: tuple[StrictStr, ...] = ()
    exclude_keywords: tuple[StrictStr, ...] = ()

    @field_validator("keywords", "exclude_keywords")
    @classmethod
    def _valid_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for keyword in value:
            if not keyword.strip():
                raise ValueError("a keyword is empty; remove it")
            if len(keyword) >= 2 and keyword.startswith("/") and keyword.endswith("/"):
                if len(keyword) == 2:
                    raise ValueError('the regular expression "//" is empty and would match every paper; remove it')
                try:
                    re.compile(keyword[1:-1])
                except re.error as exc:
                    raise ValueError(f"regular expression {keyword!r} is invalid: {exc}") from None
        return value


class LLMSettings(_Section):
    model: StrictStr = Field(default="gpt-5", min_length=1, pattern=r"^\S+$")
    batch_size: Int = Field(default=25, ge=1, le=200, description="maximum papers per request")
    batch_tokens: Int = Field(default=8000, ge=500, description="maximum tokens of the papers in one request")
    max_concurrency: Int = Field(default=8, ge=1, le=64, description="requests in flight at once")
    requests_per_minute: Int | None = Field(default=None, ge=1)
    tokens_per_minute: Int | None = Field(default=None, ge=1000)
    max_cost_usd: Float | None = Field(default=None, gt=0, description="spending cap per run, in USD")
    base_url: StrictStr | None = None
    api_key_env: StrictStr = Field(default="OPENAI_API_KEY", min_length=1)
    max_completion_tokens: Int = Field(default=16000, ge=16)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    temperature: Float | None = Field(default=None, ge=0, le=2)
    timeout: Float = Field(default=300.0, gt=0, le=3600, description="seconds per request")
    max_retries: Int = Field(default=4, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


def _toml_text(value: Any) -> str:
    """Show a value as it was written in TOML: true rather than True."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class SelectionSettings(_Section):
    relevance_cutoff: Int = Field(default=7, ge=1, le=10)
    novelty_cutoff: Int = Field(default=7, ge=1, le=10)
    prefilter: Literal["none", "keywords", "embeddings", "keywords+embeddings"] = "none"
    prefilter_keep: Int | Float = Field(default=0.6, description="fraction (0 < x <= 1) or count (>= 1) of candidates the prefilter keeps")

    @field_validator("prefilter_keep", mode="before")
    @classmethod
    def _keep_number(cls, value: Any) -> Any:
        if isinstance(value, (bool, str)) or not isinstance(value, (int, float)):
            raise ValueError(
                f"{_toml_text(value)} is not a number; write a fraction such as 0.6 or a count such as 50, without quotes"
            )
        if value == 1 and isinstance(value, int):
            raise ValueError("1 keeps a single paper; write 1.0 to keep every candidate, or a count of at least 2")
        return value

    @field_validator("prefilter_keep")
    @classmethod
    def _keep_range(cls, value: int | float) -> int | float:
        if isinstance(value, float) and not 0 < value <= 1:
            raise ValueError(f"{value} is not a fraction in (0, 1]; write a fraction such as 0.6, or a count such as 50")
        if isinstance(value, int) and value < 1:
            raise ValueError(f"{value} keeps no paper; write a count of at least 1, or a fraction such as 0.6")
        return value


class OutputSettings(_Section):
    dir: Path = Path("out")
    formats: tuple[Literal["md", "json", "html"], ...] = ("md", "json")

    @field_validator("formats")
    @classmethod
    def _some_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError('list at least one format: "md", "json" or "html"')
        return tuple(dict.fromkeys(value))


class CacheSettings(_Section):
    enabled: StrictBool = True
    path: Path | None = None  # default: the user data folder (platformdirs)


class PriceSettings(_Section):
    input: Float = Field(ge=0, description="USD per 1M prompt tokens")
    cached_input: Float | None = Field(default=None, ge=0, description="USD per 1M cached prompt tokens")
    output: Float = Field(ge=0, description="USD per 1M completion tokens")


class Settings(_Section):
    arxiv: ArxivSettings = ArxivSettings()
    rules: RuleSettings = RuleSettings()
    llm: LLMSettings = LLMSettings()
    selection: SelectionSettings = SelectionSettings()
    output: OutputSettings = OutputSettings()
    cache: CacheSettings = CacheSettings()
    pricing: dict[str, PriceSettings] = {}


@dataclass(frozen=True)
class LoadedConfig:
    """Settings plus where they came from."""

    settings: Settings
    path: Path | None  # None: built-in defaults, no file found

    @property
    def folder(self) -> Path:
        """Folder that relative paths in the config (output dir, prompts/) are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def prompts_dir(self) -> Path:
        return self.folder / "prompts"

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.settings.output.dir)

    def resolve(self, path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else self.folder / path


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_NAME


def find_config(explicit: Path | None) -> Path | None:
    """Return the config file by lookup order: --config, $PAPERDIGEST_CONFIG, ./config.toml, user folder.

    An explicit path (flag or variable) that does not exist is an error; the last two are optional.
    """
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} not found (from --config); check the path")
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} not found (from ${CONFIG_ENV}); fix or unset the variable")
        return path
    for candidate in (Path.cwd() / CONFIG_NAME, user_config_path()):
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: Path | None = None) -> LoadedConfig:
    path = find_config(explicit)
    if path is None:
        return LoadedConfig(Settings(), None)
    return LoadedConfig(parse_config(read_toml(path), path), path)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the file is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}; see https://toml.io for the syntax") from None


def parse_config(data: dict[str, Any], path: Path) -> Settings:
    """Validate TOML data; the error lists every problem with its key and a fix."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [_describe_error(err, data) for err in exc.errors()]
        raise ConfigError(f"{path}: invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems)) from None


def _describe_error(err: dict[str, Any], data: dict[str, Any]) -> str:
    location = [str(part) for part in err["loc"]]
    key = _format_key(location)
    if err["type"] == "extra_forbidden":
        known = _known_keys(location[:-1])
        close = difflib.get_close_matches(location[-1], known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys here: {', '.join(known)}"
        return f"{key}: unknown key; {hint}"
    value = err.get("input")
    message = err["msg"]
    if err["type"] == "tuple_type":
        message = 'expected a TOML array, e.g. ["cs.LG", "cs.AI"] or ["Name One", "Name Two"]'
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    shown = f" (got {value!r})" if not isinstance(value, dict) and err["type"] != "missing" else ""
    return f"{key}: {message}{shown}"


def _format_key(location: list[str]) -> str:
    if not location:
        return "(top level)"
    if location[0] == "pricing" and len(location) >= 2:
        rest = " " + ".".join(location[2:]) if len(location) > 2 else ""
        return f'[pricing."{location[1]}"]{rest}'
    if len(location) == 1:
        return f"[{location[0]}]" if location[0] in Settings.model_fields else f"top-level key {location[0]!r}"
    section, field, *index = location
    suffix = f"[{index[0]}]" if index and index[0].isdigit() else ""
    return f"[{section}] {field}{suffix}"


def _known_keys(section: list[str]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in section:
        if part == "pricing" or model is PriceSettings:
            model = PriceSettings
            continue
        annotation = model.model_fields.get(part)
        if annotation is None or not isinstance(annotation.annotation, type):
            break
        model = annotation.annotation
    return sorted(model.model_fields)
