"""Parse options as a client may send them (`parse_options`), validated strictly so that a typo is not ignored."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ParseError

KIB = 1024
MIB = 1024 * KIB


class ParseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    on_invalid_row: Literal["error", "skip"] = Field(
        default="error", description="A malformed CSV row or JSON line fails the parse, or is skipped and counted."
    )
    encoding: str | None = Field(default=None, description="Overrides the detected text encoding (a codec name).")
    delimiter: str | None = Field(default=None, description="CSV field delimiter; detected when absent.")
    has_header: bool = Field(default=True, description="The first CSV row names the columns.")
    skip_rows: int | None = Field(
        default=None, ge=0, le=10_000,
        description="CSV: lines to skip before the header (a title or comments). Leading lines that start with '#' "
        "are skipped when absent.",
    )
    column_types: dict[str, Literal["string", "int64", "float64", "bool", "date", "timestamp"]] | None = Field(
        default=None, description="CSV: the type of named columns, replacing the inferred one (e.g. an id as string).",
    )
    block_size: int = Field(
        default=1 * MIB,
        ge=64 * KIB,
        le=64 * MIB,
        description="CSV bytes per block. pyarrow reads blocks ahead, so peak memory grows with this value.",
    )
    sheets: Literal["first", "all"] = Field(default="first", description="XLSX: the first sheet, or every sheet.")
    sheet: str | None = Field(default=None, description="XLSX: one sheet by name.")
    chunk_size: int = Field(default=2000, ge=200, le=100_000, description="Maximum characters in a text chunk.")
    chunk_overlap: int = Field(default=0, ge=0, description="Characters repeated between consecutive chunks.")

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in '\r\n"'):
            raise ValueError("must be a single character other than a quote or a line break")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ParseOptions:
        if self.chunk_overlap * 2 > self.chunk_size:
            raise ValueError("chunk_overlap must be at most half of chunk_size")
        if self.sheet is not None and self.sheets == "all":
            raise ValueError("give either sheet (one sheet by name) or sheets='all', not both")
        return self

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> ParseOptions:
        try:
            return cls.model_validate(dict(options or {}))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(part) for part in err["loc"]) or "parse_options"
                problems.append(f"{where}: {err['msg']}")
            raise ParseError("INVALID_OPTIONS", "Invalid parse_options: " + "; ".join(problems)) from None
