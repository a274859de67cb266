"""What the X12 and EDIFACT standards fix about the envelopes and the common sets, as data: add a set or a segment
here and the validator checks it, with no code change.

X12 element: "REF REQ TYPE MIN/MAX [CODE,CODE...]" (REF is the data element reference number AK4/IK4 report;
REQ is M or O; TYPE AN, ID, DT, TM, N0, N2, R). EDIFACT element: "REQ COMPONENT:COMPONENT..." where a component is
its representation (an..35, n..15, a3), prefixed by ! when mandatory and suffixed by =CODE/CODE when coded.
A transaction set or message lists its mandatory segments in order and may name segments it must not hold.
"""

from __future__ import annotations

X12_QUALIFIERS = ("01,02,03,04,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,"
                  "35,36,37,38,AM,NR,SA,SN,ZZ")

# ISA is fixed-length: every element has its exact width (X12.5 Interchange Control Structures).
X12_ISA = [
    "I01 M ID 2/2 00,01,02,03,04,05,06", "I02 M AN 10/10", "I03 M ID 2/2 00,01", "I04 M AN 10/10",
    f"I05 M ID 2/2 {X12_QUALIFIERS}", "I06 M AN 15/15", f"I05 M ID 2/2 {X12_QUALIFIERS}", "I07 M AN 15/15",
    "I08 M DT 6/6", "I09 M TM 4/4", "I65 M AN 1/1", "I11 M ID 5/5", "I12 M N0 9/9", "I13 M ID 1/1 0,1",
    "I14 M ID 1/1 I,P,T", "I15 M AN 1/1",
]

X12_SEGMENTS: dict[str, list[str]] = {
    "GS": ["479 M ID 2/2", "142 M AN 2/15", "124 M AN 2/15", "373 M DT 8/8", "337 M TM 4/8", "28 M N0 1/9",
           "455 M ID 1/2 T,X", "480 M AN 1/12"],
    "ST": ["143 M ID 3/3", "329 M AN 4/9", "1705 O AN 1/35"],
    "SE": ["96 M N0 1/10", "329 M AN 4/9"],
    "GE": ["97 M N0 1/6", "28 M N0 1/9"],
    "IEA": ["I16 M N0 1/5", "I12 M N0 9/9"],
    # 850 / 855 / 860
    "BEG": ["353 M ID 2/2 00,01,04,05,06,07,15,22,24,25,26,27,53", "92 M ID 2/2", "324 M AN 1/22", "328 O AN 1/30",
            "373 M DT 8/8"],
    "BAK": ["353 M ID 2/2", "587 M ID 2/2", "324 M AN 1/22", "373 M DT 8/8"],
    "PO1": ["350 O AN 1/20", "330 O R 1/15", "355 O ID 2/2", "212 O R 1/17"],
    "CTT": ["354 M N0 1/6"],
    # 810
    "BIG": ["373 M DT 8/8", "76 M AN 1/22"],
    "TDS": ["610 M N2 1/15"],
    "IT1": ["350 O AN 1/20", "358 O R 1/10", "355 O ID 2/2", "212 O R 1/17"],
    # 856
    "BSN": ["353 M ID 2/2", "396 M AN 2/30", "373 M DT 8/8", "337 M TM 4/8"],
    "HL": ["628 M AN 1/12", "734 O AN 1/12", "735 M ID 1/2", "736 O ID 1/1 0,1"],
    # 820 / 835
    "BPR": ["305 M ID 1/2 C,D,H,I,P,U,X", "782 M R 1/18", "478 M ID 1/1 C,D", "591 M ID 3/3"],
    "TRN": ["481 M ID 1/2", "127 M AN 1/50"],
    "CLP": ["1028 M AN 1/38", "1029 M ID 1/2", "782 M R 1/18", "782 M R 1/18"],
    # 834 / 837 and the health-care sets
    "BGN": ["353 M ID 2/2 00,15,22", "127 M AN 1/50", "373 M DT 8/8", "337 M TM 4/8"],
    "BHT": ["1005 M ID 4/4", "353 M ID 2/2 00,18", "127 O AN 1/50", "373 O DT 8/8", "337 O TM 4/8"],
    "DTP": ["374 M ID 3/3", "1250 M ID 2/3 D8,RD8,DT,D6,TM", "1251 M AN 1/35"],
    "NM1": ["98 M ID 2/3", "1065 M ID 1/1 1,2"],
    "N1": ["98 M ID 2/3", "93 O AN 1/60"],
    "REF": ["128 M ID 2/3", "127 O AN 1/50"],
    "INS": ["1073 M ID 1/1 Y,N", "1069 M ID 2/2"],
    "CLM": ["1028 M AN 1/38", "782 M R 1/18"],
}

# Mandatory segments of each set, in order (the header and trailer are the envelope's).
X12_SETS: dict[str, list[str]] = {
    "810": ["BIG", "TDS"], "820": ["BPR", "TRN"], "835": ["BPR", "TRN"], "834": ["BGN"], "837": ["BHT"],
    "850": ["BEG"], "855": ["BAK"], "856": ["BSN", "HL"], "997": ["AK1", "AK9"], "999": ["AK1", "AK9"],
}

EDIFACT_SEGMENTS: dict[str, list[str]] = {
    "UNB": ["M !a4:!n1", "M !an..35:an..4", "M !an..35:an..4", "M !n6:!n4", "M !an..14"],
    "UNH": ["M !an..14", "M !an..6:!an..3:!an..3:!an..3"],
    "UNT": ["M !n..10", "M !an..14"],
    "UNZ": ["M !n..6", "M !an..14"],
    "BGM": ["C an..3:an..17:an..3:an..35", "C an..35", "C an..3"],
    "DTM": ["M !an..3:an..35:an..3"],
    "NAD": ["M !an..3=BY/SU/DP/IV/ST/BT/CN/CZ/DP/FW/MF/MR/OB/PE/PR/UC/UD/II/IT/SF/SE/DEL/CA/PW/WH/LP/MS/PL/FR/UP/"
            "OY/SH/HI/IA/RE/ZZZ/PAY/ZZ", "C an..35:an..17:an..3"],
    "RFF": ["M !an..3:an..70"],
    "CUX": ["C an..3:an..3:an..3:n..4"],
    "LIN": ["C an..6", "C an..3", "C an..35:an..3"],
    "QTY": ["M !an..3:!an..35:an..3"],
    "MOA": ["M !an..3:n..35:an..3"],
    "PRI": ["C an..3:n..15:an..3:an..3:n..9:an..3"],
    "TAX": ["M !an..3", "C an..3"],
    "UNS": ["M !a1=D/S"],
    "CNT": ["M !an..3:!n..18"],
    "CPS": ["M !an..35", "C an..35"],
    "PAC": ["C n..8"],
}

EDIFACT_MESSAGES: dict[str, list[str]] = {
    "ORDERS": ["BGM", "DTM", "UNS"], "INVOIC": ["BGM", "DTM", "UNS", "MOA"], "DESADV": ["BGM", "DTM", "CPS"],
    "ORDRSP": ["BGM", "DTM", "UNS"], "CONTRL": ["UCI"],
}
