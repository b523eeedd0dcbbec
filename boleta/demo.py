"""Demo votes in the seed's format: Guatemalan bands, skewed popularity, Unicode names.

The band names are of real Guatemalan bands; the album titles are invented for the demo.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from boleta.votefile import SeedVote

BANDS: dict[str, tuple[str, ...]] = {
    "Bohemia Suburbana": ("Vacaciones en la ciudad", "Lluvia de Xelajú", "Café de medianoche"),
    "Alux Nahual": ("Leyendas del Volcán", "Sinfonía de piedra"),
    "Malacates Trébol Shop": ("Sonrisa tropical", "Niño pájaro", "Cumbia en Antigua"),
    "Viernes Verde": ("Agua de Atitlán", "Reggae chapín"),
    "La Tona": ("Zona 1", "Tres tiempos"),
    "Easy Easy": ("Marimba y ska", "Ruta al Petén"),
    "Radio Viejo": ("Frecuencia perdida", "Año cero"),
    "Sweet Ácid": ("Cuarto menguante",),
    "Los Tiros": ("Pólvora", "Señal de humo"),
    "Tapón de Oído": ("Quetzaltenango 3 a.m.",),
}
RANK_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def ordinal(rank: int, rng: random.Random) -> str:
    """The seed's rank spellings: "7", "1st", and sometimes the seed's own "2th"."""
    style = rng.random()
    if style < 0.5:
        return str(rank)
    if style < 0.9:
        return f"{rank}{RANK_SUFFIX.get(rank if rank < 20 else rank % 10, 'th')}"
    return f"{rank}th"


def generate(count: int, seed: int = 7) -> list[SeedVote]:
    """``count`` votes; band popularity follows a Zipf-like curve so the bars differ."""
    rng = random.Random(seed)
    bands = list(BANDS)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(bands))]
    this_year = datetime.now(UTC).year
    votes = []
    for band in rng.choices(bands, weights, k=count):
        votes.append(
            SeedVote(
                name=band,
                album=rng.choice(BANDS[band]),
                year=str(rng.randint(1985, this_year)),
                rank=ordinal(rng.randint(1, 10), rng),
            )
        )
    return votes
