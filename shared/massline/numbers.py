"""How every score is rounded and written: half-up at two decimals on its decimal value, one rule for all.

A score computed in binary floating point carries noise (43.5 / 80 × 100 is 54.37499999999999…), and Python's
`round` rounds half to even; either turns a half into a loss for some numbers and a gain for others
(54.375 → 54.37 but 78.125 → 78.13). Here a number is first taken to nine decimals, which removes the
noise of the binary fraction and nothing a person wrote, and then rounded half-up to `SCORE_PLACES`:
54.375 → 54.38, 78.125 → 78.13, 2.675 → 2.68. Pages, exports and explanations all write scores with
`score_text`, so an explanation says exactly the number shown beside it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

SCORE_PLACES = 2
_NOISE = Decimal("1e-9")


def exact(value: float | int | str | Decimal) -> Decimal:
    """The number as a Decimal, binary noise below nine decimals removed (text and Decimals are taken as written)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    return Decimal(float(value)).quantize(_NOISE, rounding=ROUND_HALF_EVEN)


def half_up(value: float | int | str | Decimal, places: int = SCORE_PLACES) -> Decimal:
    """Half-up at `places` decimals: 54.375 → 54.38, −1.005 → −1.01 (away from zero on a half)."""
    return exact(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def score_value(value: float | int | str | Decimal, places: int = SCORE_PLACES) -> float:
    """The rounded score as the number an answer carries (JSON has no decimals)."""
    return float(half_up(value, places))


def score_text(value: float | int | str | Decimal | None, places: int = SCORE_PLACES) -> str:
    """The rounded score as written on a page or in an export, always with `places` decimals ("54.38", "80.00");
    "—" for no score."""
    if value is None:
        return "—"
    return format(half_up(value, places), "f")
