"""Value objects of the parsing engine: what was detected, what was written."""

from __future__ import annotations

import warnings
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.detection.types import Format

Profile = Literal["structured", "unstructured", "hybrid"]
PROFILES: tuple[Profile, ...] = ("structured", "unstructured", "hybrid")


class SchemaField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str


class ParseOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    format: Literal["parquet", "jsonl"]
    content_type: str
    record_count: int
    bytes_written: int


# `schema` shadows pydantic's deprecated `BaseModel.schema()`; the field name is the worker's contract.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class ParseResult(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        detected_format: Format
        parser_type: str
        outputs: list[ParseOutput]
        schema: list[SchemaField] | None = None  # type: ignore[assignment]
        record_count: int | None = None
        chunk_count: int | None = None
        page_count: int | None = None
        warnings: list[str] = Field(default_factory=list)
        # What the parse guessed (encoding, delimiter, header, column types...), each with its confidence and how it
        # was made; the parse option named in `override` replaces the guess.
        guesses: dict[str, dict[str, Any]] = Field(default_factory=dict)
        # Further facts for the artifact's semantic_descriptor: `ocr` (engine, version, pages, mean confidence),
        # `pdf` (the reader that read it, pages re-read or possibly incomplete).
        descriptor: dict[str, Any] = Field(default_factory=dict)
