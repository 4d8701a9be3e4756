"""A tile grid map of the world, drawn server-side as SVG: one square per country, placed near its
rough centroid (an equirectangular projection onto a coarse grid; a country whose cell is taken
moves to the nearest free cell), filled by a count and labelled with its ISO code.
`templates/map.html` draws it (each tile a link with a <title>), so Jinja escapes all its text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

# rough centroids, "ISO lat lon" (degrees, rounded): enough to place a tile, not to navigate
CENTROIDS = """
AD 42 1 AE 24 54 AF 34 66 AG 17 -62 AL 41 20 AM 40 45 AO -12 18 AR -35 -65 AT 47 14 AU -25 134
AZ 40 48 BA 44 18 BB 13 -60 BD 24 90 BE 51 4 BF 12 -2 BG 43 25 BH 26 51 BI -3 30 BJ 9 2
BN 4 115 BO -17 -65 BR -10 -52 BS 24 -77 BT 27 90 BW -22 24 BY 53 28 BZ 17 -89 CA 60 -100
CD -3 23 CF 7 21 CG -1 15 CH 47 8 CI 8 -5 CL -33 -71 CM 6 12 CN 35 103 CO 4 -73 CR 10 -84
CU 22 -79 CV 16 -24 CY 35 33 CZ 50 15 DE 51 10 DJ 12 43 DK 56 10 DM 15 -61 DO 19 -70 DZ 28 3
EC -2 -78 EE 59 25 EG 27 30 EH 25 -13 ER 15 39 ES 40 -4 ET 9 39 FI 64 26 FJ -18 178 FM 7 158
FR 46 2 GA -1 12 GB 54 -2 GD 12 -62 GE 42 44 GH 8 -1 GM 13 -15 GN 10 -11 GQ 2 10 GR 39 22
GT 15 -90 GW 12 -15 GY 5 -59 HN 15 -87 HR 45 16 HT 19 -72 HU 47 19 ID -2 118 IE 53 -8 IL 31 35
IN 22 79 IQ 33 44 IR 32 53 IS 65 -19 IT 43 12 JM 18 -77 JO 31 36 JP 36 138 KE 0 38 KG 41 75
KH 13 105 KI 1 173 KM -12 44 KN 17 -63 KP 40 127 KR 36 128 KW 29 48 KZ 48 67 LA 18 103 LB 34 36
LC 14 -61 LI 47 10 LK 8 81 LR 6 -9 LS -30 28 LT 55 24 LU 50 6 LV 57 25 LY 27 17 MA 32 -6 MC 44 7
MD 47 29 ME 43 19 MG -19 47 MH 7 171 MK 42 22 ML 17 -4 MM 21 96 MN 47 104 MR 20 -10 MT 36 14
MU -20 58 MV 3 73 MW -13 34 MX 23 -102 MY 4 102 MZ -18 35 NA -22 17 NE 17 9 NG 9 8 NI 13 -85
NL 52 5 NO 62 10 NP 28 84 NR -1 167 NZ -41 174 OM 21 57 PA 9 -80 PE -9 -75 PG -6 145 PH 12 122
PK 30 70 PL 52 19 PS 32 35 PT 40 -8 PW 7 134 PY -23 -58 QA 25 51 RO 46 25 RS 44 21 RU 60 95
RW -2 30 SA 24 45 SB -9 160 SC -5 55 SD 15 30 SE 62 16 SG 1 104 SI 46 15 SK 49 19 SL 8 -12
SM 44 12 SN 14 -14 SO 6 46 SR 4 -56 SS 7 30 ST 0 7 SV 14 -89 SY 35 38 SZ -27 31 TD 15 19
TG 8 1 TH 15 101 TJ 39 71 TL -9 126 TM 39 59 TN 34 9 TO -21 -175 TR 39 35 TT 11 -61 TV -8 178
TW 24 121 TZ -6 35 UA 49 32 UG 1 32 US 39 -98 UY -33 -56 UZ 41 64 VA 42 12 VC 13 -61 VE 7 -66
VN 16 107 VU -16 167 WS -14 -172 XK 43 21 YE 15 48 ZA -29 25 ZM -14 28 ZW -19 30 HK 22 114
GI 36 -5 IM 54 -5 JE 49 -2 GG 49 -3 FO 62 -7 BM 32 -65 KY 19 -81 AW 13 -70
CW 12 -69 FK -52 -59 GP 16 -62 MQ 15 -61 YT -13 45 AS -14 -170 CK -21 -160
PR 18 -66 GL 72 -40 NC -21 165 PF -17 -149 RE -21 56 GF 4 -53 MO 22 113 GU 13 145 SH -16 -6
"""

CELL = 30  # pixels per tile, before the SVG is scaled to the page
LON_STEP = 6.0
LAT_STEP = 5.5
SHADES = ("#eef3f8", "#c6dbef", "#9ecae1", "#4292c6", "#08519c", "#08306b")


@lru_cache(maxsize=1)
def centroids() -> dict[str, tuple[float, float]]:
    words = CENTROIDS.split()
    return {words[i]: (float(words[i + 1]), float(words[i + 2])) for i in range(0, len(words), 3)}


@lru_cache(maxsize=1)
def grid() -> dict[str, tuple[int, int]]:
    """ISO code -> (row, col): each country in the free cell nearest its centroid."""
    taken: dict[tuple[int, int], str] = {}
    placed: dict[str, tuple[int, int]] = {}
    # big or central countries first (sorted by code for a stable result), small ones move
    for code, (lat, lon) in sorted(centroids().items()):
        want = (round((80 - lat) / LAT_STEP), round((lon + 180) / LON_STEP))
        cell = want
        radius = 0
        while cell in taken:
            radius += 1
            ring = [
                (want[0] + dr, want[1] + dc)
                for dr in range(-radius, radius + 1)
                for dc in range(-radius, radius + 1)
                if max(abs(dr), abs(dc)) == radius
            ]
            free = [c for c in ring if c not in taken]
            if free:
                cell = min(free, key=lambda c: ((c[0] - want[0]) ** 2 + (c[1] - want[1]) ** 2, c))
        taken[cell] = code
        placed[code] = cell
    return placed


@dataclass(frozen=True)
class Legend:
    low: int
    high: int
    colour: str


def shade(count: int, top: int) -> int:
    """0 (none) .. len(SHADES)-1 (the most)."""
    if count <= 0 or top <= 0:
        return 0
    return 1 + min(len(SHADES) - 2, (count - 1) * (len(SHADES) - 1) // top)


def legend(top: int) -> list[Legend]:
    found: dict[int, list[int]] = {}
    for n in range(0, top + 1):
        found.setdefault(shade(n, top), []).append(n)
    return [Legend(min(v), max(v), SHADES[k]) for k, v in sorted(found.items())]


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    count: int
    x: int
    y: int
    fill: str
    ink: str  # the label's colour, readable on `fill`


@dataclass(frozen=True)
class TileMap:
    width: int
    height: int
    tiles: list[Tile]
    legend: list[Legend]
    cell: int = CELL


def tile_map(counts: Mapping[str, int], names: Mapping[str, str]) -> TileMap:
    """Every placed country as a tile, shaded by its count (the template draws the SVG, so
    every text in it is escaped by Jinja's autoescaping)."""
    cells = grid()
    top = min(r for r, _ in cells.values())
    left = min(c for _, c in cells.values())
    most = max(counts.values(), default=0)
    tiles = []
    for code, (row, col) in sorted(cells.items()):
        count = counts.get(code, 0)
        level = shade(count, most)
        tiles.append(
            Tile(
                code=code,
                name=names.get(code, code),
                count=count,
                x=(col - left) * CELL,
                y=(row - top) * CELL,
                fill=SHADES[level],
                ink="#ffffff" if level >= 4 else "#1b1f24",
            )
        )
    width = (max(c for _, c in cells.values()) - left + 1) * CELL
    height = (max(r for r, _ in cells.values()) - top + 1) * CELL
    return TileMap(width, height, tiles, legend(most))
