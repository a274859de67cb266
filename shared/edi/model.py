"""What validating an interchange found, in the terms the acknowledgements report it (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ElementError:
    position: int  # 1-based element position in its segment
    code: str  # X12 AK403/IK403, EDIFACT 0085
    component: int | None = None  # 1-based, for a composite
    ref: str | None = None  # data element reference number
    value: str = ""


@dataclass
class SegmentError:
    tag: str
    position: int  # 1-based position in the transaction set / message (the header is 1)
    code: str  # X12 AK304/IK304 (8: element errors), EDIFACT 0085
    elements: list[ElementError] = field(default_factory=list)


@dataclass
class TransactionResult:
    code: str  # X12 ST01, EDIFACT message type
    control: str
    version: str = ""  # X12 ST03; EDIFACT version:release:agency
    errors: list[SegmentError] = field(default_factory=list)
    trailer_codes: list[str] = field(default_factory=list)  # X12 AK502.., EDIFACT UCM 0085

    @property
    def accepted(self) -> bool:
        return not self.errors and not self.trailer_codes


@dataclass
class GroupResult:
    functional_id: str
    control: str
    version: str
    declared: int | None
    transactions: list[TransactionResult] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # X12 AK905..


@dataclass
class Party:
    qualifier: str
    id: str


@dataclass
class InterchangeResult:
    standard: str  # "x12" | "edifact"
    control: str
    sender: Party
    receiver: Party
    version: str
    ack_requested: bool
    test: bool
    envelope_code: str  # X12 TA105 ("000": none), EDIFACT 0085 at UCI ("": none)
    envelope_tag: str = ""  # the service segment at fault (EDIFACT UCI04)
    envelope_element: int | None = None
    groups: list[GroupResult] = field(default_factory=list)
    transactions: list[TransactionResult] = field(default_factory=list)  # EDIFACT messages outside groups
    separators: tuple[str, str, str] = ("*", ":", "~")  # X12 element, component, segment terminator
    syntax_identifier: str = ""  # EDIFACT UNB01

    @property
    def envelope_ok(self) -> bool:
        return self.envelope_code in ("000", "")

    def all_transactions(self) -> list[TransactionResult]:
        return [t for g in self.groups for t in g.transactions] + self.transactions


def ack_status(envelope_ok: bool, transactions: list[TransactionResult]) -> str:
    """The contract's one-word status of an acknowledgement."""
    if not envelope_ok:
        return "rejected"
    accepted = [t.accepted for t in transactions]
    if all(accepted):
        return "accepted"
    return "accepted_with_errors" if any(accepted) else "rejected"
