"""SKM/IKM (PermenPAN-RB No. 14 Tahun 2017): nine elements on a 1–4 scale."""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

ELEMENTS: list[tuple[str, str]] = [
    ("persyaratan", "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?"),
    ("prosedur", "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?"),
    ("waktu", "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?"),
    ("biaya", "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?"),
    ("produk", "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum dalam standar pelayanan dengan hasil yang diberikan?"),
    ("kompetensi", "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?"),
    ("perilaku", "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?"),
    ("pengaduan", "Bagaimana pendapat Saudara tentang kualitas penanganan pengaduan, saran dan masukan?"),
    ("sarana", "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?"),
]
ELEMENT_IDS = [element for element, _ in ELEMENTS]


class SurveyAnswers(BaseModel):
    """One respondent's answers: every element scored 1–4, optional comment."""

    model_config = ConfigDict(defer_build=True)

    scores: dict[str, int] = Field(description="element id → score 1..4")
    comment: str | None = Field(default=None, max_length=1000)

    def model_post_init(self, _context: object) -> None:
        missing = [e for e in ELEMENT_IDS if e not in self.scores]
        unknown = [e for e in self.scores if e not in ELEMENT_IDS]
        if missing or unknown:
            raise ValueError(f"scores must cover exactly the nine elements; missing={missing} unknown={unknown}")
        bad = [e for e, s in self.scores.items() if s not in (1, 2, 3, 4)]
        if bad:
            raise ValueError(f"scores must be 1..4: {bad}")


class IkmResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    respondents: int
    nrr: dict[str, float]
    ikm: float
    converted: float
    grade: str
    grade_label: str


def compute_ikm(surveys: list[SurveyAnswers]) -> IkmResult:
    """NRR per element = mean score; IKM = Σ NRR × 1/9; converted = IKM × 25; grade on the unrounded value."""
    if not surveys:
        raise ValueError("no survey answers")
    nrr = {e: Fraction(sum(s.scores[e] for s in surveys), len(surveys)) for e in ELEMENT_IDS}
    ikm = sum(nrr.values(), Fraction(0)) * Fraction(1, 9)
    converted = ikm * 25
    if converted >= Fraction("88.31"):
        grade, label = "A", "Sangat Baik"
    elif converted >= Fraction("76.61"):
        grade, label = "B", "Baik"
    elif converted >= Fraction("65.00"):
        grade, label = "C", "Kurang Baik"
    else:
        grade, label = "D", "Tidak Baik"
    return IkmResult(
        respondents=len(surveys),
        nrr={e: float(v) for e, v in nrr.items()},
        ikm=float(ikm),
        converted=float(converted),
        grade=grade,
        grade_label=label,
    )
