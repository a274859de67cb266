"""X12 and EDIFACT interchanges to one row per segment, with the control numbers of its envelopes, and one record per
transaction set (X12 ST..SE, EDIFACT UNH..UNT) in transactions.jsonl: its type and name, control numbers, segment
span, and whether its envelope checked out (with the element at fault when not).

A small streaming tokenizer: the delimiters come from each interchange's own header (ISA, or UNA with the
EDIFACT defaults when absent), EDIFACT release characters are honoured, and envelope trailers are checked against
what was read (a mismatch is a warning: the segments are still stored as they are).

`elements` holds each element's text after its segment id, with release characters removed; `components` holds
each element split at the component separator, so that a composite is unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from shared.edi.tokens import EdiSyntaxError, Segment, edifact_segments, x12_segments

from .context import ParseContext
from .errors import ParseError
from .streams import iter_text, text_encoding

BATCH_ROWS = 10_000
TRANSACTIONS_NAME = "transactions.jsonl"
# The transaction sets people send most; an unknown type is still a record, with its code and no name.
TRANSACTION_NAMES = {
    "204": "Motor Carrier Load Tender", "210": "Motor Carrier Freight Details and Invoice", "214": "Shipment Status",
    "270": "Eligibility Inquiry", "271": "Eligibility Response", "276": "Claim Status Request",
    "277": "Claim Status Response", "810": "Invoice", "820": "Payment Order/Remittance Advice",
    "830": "Planning Schedule", "832": "Price/Sales Catalog", "835": "Health Care Claim Payment/Advice",
    "837": "Health Care Claim", "846": "Inventory Inquiry/Advice", "850": "Purchase Order",
    "855": "Purchase Order Acknowledgment", "856": "Ship Notice/Manifest", "860": "Purchase Order Change",
    "940": "Warehouse Shipping Order", "945": "Warehouse Shipping Advice", "997": "Functional Acknowledgment",
    "999": "Implementation Acknowledgment",
    "APERAK": "Application error and acknowledgement", "CONTRL": "Syntax and service report",
    "DESADV": "Despatch advice", "IFTMIN": "Instruction message", "INVOIC": "Invoice", "INVRPT": "Inventory report",
    "ORDCHG": "Purchase order change request", "ORDERS": "Purchase order", "ORDRSP": "Purchase order response",
    "PRICAT": "Price/sales catalogue", "RECADV": "Receiving advice", "REMADV": "Remittance advice",
    "SLSRPT": "Sales data report",
}

EDI_SCHEMA = pa.schema(
    [
        pa.field("interchange_index", pa.int32(), nullable=False),
        pa.field("interchange_control_number", pa.string()),
        pa.field("group_control_number", pa.string()),
        pa.field("transaction_control_number", pa.string()),
        pa.field("transaction_type", pa.string()),
        pa.field("segment_index", pa.int64(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("elements", pa.list_(pa.string())),
        pa.field("components", pa.list_(pa.list_(pa.string()))),
    ]
)

_EDIFACT_CHARSETS = {
    "UNOC": "iso-8859-1",
    "UNOD": "iso-8859-2",
    "UNOE": "iso-8859-5",
    "UNOF": "iso-8859-7",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}


def parse_edi(ctx: ParseContext) -> None:
    encoding = _encoding(ctx)
    pieces = iter_text(ctx.stream, encoding)
    if ctx.detected.format == "edi_x12":
        segments: Iterator[Segment] = _checked(x12_segments(pieces))
        envelope: _Envelope = _X12Envelope(ctx)
    else:
        segments = _checked(edifact_segments(pieces))
        envelope = _EdifactEnvelope(ctx)
    sink = ctx.outputs.table(EDI_SCHEMA)
    columns: dict[str, list[Any]] = {name: [] for name in EDI_SCHEMA.names}
    for index, segment in enumerate(segments):
        state = envelope.observe(segment, index)
        columns["interchange_index"].append(state[0])
        columns["interchange_control_number"].append(state[1])
        columns["group_control_number"].append(state[2])
        columns["transaction_control_number"].append(state[3])
        columns["transaction_type"].append(state[4])
        columns["segment_index"].append(index)
        columns["segment_id"].append(segment.tag)
        columns["elements"].append(segment.elements)
        columns["components"].append(segment.components)
        for record in envelope.after(segment, index):
            ctx.outputs.records(TRANSACTIONS_NAME).write_record(record)
        if len(columns["segment_id"]) >= BATCH_ROWS:
            sink.write(pa.RecordBatch.from_pydict(columns, schema=EDI_SCHEMA))
            columns = {name: [] for name in EDI_SCHEMA.names}
    if columns["segment_id"]:
        sink.write(pa.RecordBatch.from_pydict(columns, schema=EDI_SCHEMA))
    for record in envelope.finish():
        ctx.outputs.records(TRANSACTIONS_NAME).write_record(record)


def _encoding(ctx: ParseContext) -> str:
    if ctx.options.encoding is not None:
        return ctx.options.encoding
    if ctx.detected.format == "edi_edifact":
        head = ctx.source.read(4096).decode("latin-1")
        ctx.rewind()
        match = re.search(r"UNB.(UNO[A-Z])", head)
        if match is not None and match.group(1) in _EDIFACT_CHARSETS:
            declared = _EDIFACT_CHARSETS[match.group(1)]
            if declared != "utf-8" and _utf8_text(ctx):
                # Senders often declare UNOC and write UTF-8: read as Latin-1, every accented letter would change.
                ctx.warn(f"The interchange declares {match.group(1)} ({declared}) but its bytes are UTF-8 text; it was "
                         "read as UTF-8. Set parse_options.encoding to force the declared character set.")
                ctx.guess("encoding", "utf-8", 0.9, f"{match.group(1)} declared, bytes valid UTF-8", "encoding")
                return "utf-8"
            return declared
    return text_encoding(ctx.detected.encoding)


def _utf8_text(ctx: ParseContext) -> bool:
    """Whether the file's first MiB holds non-ASCII bytes that are all valid UTF-8."""
    sample = ctx.source.read(1024 * 1024)
    ctx.rewind()
    if sample.isascii():
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data" and exc.start >= len(sample) - 3
    return True


def _corrupt(message: str) -> ParseError:
    return ParseError("CORRUPT_FILE", message)


def _checked(segments: Iterator[Segment]) -> Iterator[Segment]:
    """The tokenizers (shared/edi/tokens.py, also used by acknowledgements) speak of syntax; parsing of corrupt files."""
    try:
        yield from segments
    except EdiSyntaxError as exc:
        raise _corrupt(str(exc)) from None


# --- tokenizers -------------------------------------------------------------------------------------------------


def _at(values: list[str], index: int) -> str | None:
    return values[index].strip() if len(values) > index and values[index].strip() else None


class _Envelope:
    """Tracks the open interchange, group and transaction, and checks each trailer against what was read."""

    HEADER = TRAILER = GROUP = GROUP_END = TX = TX_END = ""
    INTERCHANGE_REF = GROUP_REF = TX_REF = 0
    TX_TYPE: tuple[int, int] = (0, 0)

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.index = -1
        self.interchange: str | None = None
        self.group: str | None = None
        self.transaction: str | None = None
        self.transaction_type: str | None = None
        self.groups = 0
        self.transactions_in_group = 0
        self.transactions_in_interchange = 0
        self.segments_in_transaction = 0
        self.open = False
        self.transaction_start: int | None = None
        self.last_position = -1
        self.problems: list[str] = []  # what the open transaction's envelope got wrong, element by element
        self.pending: list[dict[str, Any]] = []  # a transaction cut short by the next header, emitted with it

    def observe(self, segment: Segment, position: int) -> tuple[int, str | None, str | None, str | None, str | None]:
        tag = segment.tag
        self.last_position = position
        if tag == self.HEADER:
            if self.open:
                self.ctx.warn(f"Interchange {self.interchange} has no {self.TRAILER} trailer before the next one.")
            self.index += 1
            self.open = True
            self.interchange = _at(segment.elements, self.INTERCHANGE_REF)
            self.group = self.transaction = self.transaction_type = None
            self.groups = self.transactions_in_interchange = 0
        elif not self.open:
            self.ctx.warn(f"Segment {tag} at position {position} lies outside any interchange.")
        if tag == self.GROUP:
            self.group = _at(segment.elements, self.GROUP_REF)
            self.groups += 1
            self.transactions_in_group = 0
        elif tag == self.TX:
            if self.transaction is not None:
                self.problems.append(f"{self.TX} {self.transaction} has no {self.TX_END} trailer")
                self.ctx.warn(f"{self.TX} {self.transaction} has no {self.TX_END} trailer before the next {self.TX}.")
                self.pending.append(self._record(position - 1))
            self.transaction = _at(segment.elements, self.TX_REF)
            self.transaction_start = position
            self.problems = []
            element, part = self.TX_TYPE
            parts = segment.components[element] if len(segment.components) > element else []
            self.transaction_type = parts[part] if len(parts) > part and parts[part] else None
            self.segments_in_transaction = 0
            self.transactions_in_group += 1
            self.transactions_in_interchange += 1
        if self.transaction is not None:
            self.segments_in_transaction += 1
        return self.index, self.interchange, self.group, self.transaction, self.transaction_type

    def _record(self, last: int) -> dict[str, Any]:
        """The transaction set that just closed (or was cut short), as one record."""
        code = self.transaction_type
        record = {"interchange_index": self.index, "interchange_control_number": self.interchange,
                  "group_control_number": self.group, "transaction_control_number": self.transaction,
                  "transaction_type": code, "transaction_name": TRANSACTION_NAMES.get(code or ""),
                  "first_segment_index": self.transaction_start, "last_segment_index": last,
                  "segment_count": self.segments_in_transaction, "valid": not self.problems,
                  "problems": list(self.problems)}
        self.transaction = self.transaction_type = self.transaction_start = None
        self.problems = []
        return record

    def after(self, segment: Segment, position: int) -> list[dict[str, Any]]:
        tag = segment.tag
        closed, self.pending = self.pending, []
        if tag == self.TX_END:
            self.problems += self._check(tag, segment, 0, self.segments_in_transaction, "segments", self.transaction)
            closed.append(self._record(position))
        elif tag == self.GROUP_END:
            self._check(tag, segment, 0, self.transactions_in_group, "transactions", self.group)
            self.group = None
        elif tag == self.TRAILER:
            self._check(tag, segment, 0, self._interchange_count(), self._interchange_unit(), self.interchange)
            self.open = False
            self.interchange = None
        return closed

    def _interchange_count(self) -> int:
        return self.groups

    def _interchange_unit(self) -> str:
        return "groups"

    def _check(self, tag: str, segment: Segment, count_at: int, actual: int, unit: str, ref: str | None) -> list[str]:
        """Compare a trailer with what was read; each problem names the elements at fault (e.g. SE01, SE02/ST02)."""
        problems = []
        declared = _at(segment.elements, count_at)
        if declared is not None and declared.isdigit() and int(declared) != actual:
            problems.append(f"{tag}{count_at + 1:02d} of {tag} {ref} declares {int(declared)} {unit} but {actual} were read")
        closing = _at(segment.elements, count_at + 1)
        if closing is not None and ref is not None and closing != ref:
            header, at = self._header_of(tag)
            problems.append(f"{tag}{count_at + 2:02d} control number {closing} does not match {header}{at + 1:02d} {ref}")
        for problem in problems:
            self.ctx.warn(problem + ".")
        return problems

    def _header_of(self, trailer: str) -> tuple[str, int]:
        if trailer == self.TX_END:
            return self.TX, self.TX_REF
        if trailer == self.GROUP_END:
            return self.GROUP, self.GROUP_REF
        return self.HEADER, self.INTERCHANGE_REF

    def finish(self) -> list[dict[str, Any]]:
        if self.index < 0:
            raise _corrupt(f"The file holds no {self.HEADER} interchange header.")
        closed, self.pending = self.pending, []
        if self.transaction is not None:
            self.problems.append(f"{self.TX} {self.transaction} has no {self.TX_END} trailer")
            self.ctx.warn(f"{self.TX} {self.transaction} ends without its {self.TX_END} trailer.")
            closed.append(self._record(self.last_position))
        if self.open:
            self.ctx.warn(f"Interchange {self.interchange} ends without its {self.TRAILER} trailer.")
        return closed


class _X12Envelope(_Envelope):
    HEADER, TRAILER, GROUP, GROUP_END, TX, TX_END = "ISA", "IEA", "GS", "GE", "ST", "SE"
    INTERCHANGE_REF, GROUP_REF, TX_REF = 12, 5, 1
    TX_TYPE = (0, 0)


class _EdifactEnvelope(_Envelope):
    HEADER, TRAILER, GROUP, GROUP_END, TX, TX_END = "UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"
    INTERCHANGE_REF, GROUP_REF, TX_REF = 4, 4, 0
    TX_TYPE = (1, 0)

    def _interchange_count(self) -> int:
        # UNZ counts groups when there are groups, messages otherwise.
        return self.groups if self.groups else self.transactions_in_interchange

    def _interchange_unit(self) -> str:
        return "groups" if self.groups else "messages"
