"""What content detection tells: the format a file's bytes show, independent of any parser library."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Format = Literal[
    "csv",
    "tsv",
    "json",
    "jsonl",
    "xlsx",
    "xlsb",
    "xls",
    "ods",
    "parquet",
    "pdf",
    "docx",
    "odt",
    "pptx",
    "html",
    "xml",
    "eml",
    "markdown",
    "text",
    "edi_x12",
    "edi_edifact",
    "gzip",
    "zip",
    "image",
    "unknown",
]
Confidence = Literal["high", "medium", "low"]


class DetectedType(BaseModel):
    """The type of a file as its content shows it (the filename only breaks ties between text-like formats)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Format
    mime_type: str
    encoding: str | None = Field(default=None, description="Python codec name for text-like content, else None.")
    confidence: Confidence
