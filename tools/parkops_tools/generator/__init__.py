"""Deterministic sample data for the parkops feeds (``python -m parkops_tools.generator``).

Layout: every feed is generated on the same enterprise population.

- ``refdata``: parks, industry classes and tags from the seeds, reshaped into weighted pools.
- ``vocab``: names, streets, enterprise types, phone prefixes (pure data).
- ``population``: ``Enterprise`` and ``Population`` (USCCs, names, parks, industries, tags,
  key-enterprise flag); built from the seed, changed only by loadable registration events.
- ``registrations``: ``RegistrationSimulation`` (events + population evolution, no I/O) and
  ``write_registrations`` (delivery folders, files, summary).
- ``rendering`` / ``writers`` / ``defects``: file styles and messy values, reproducible CSV/XLSX
  bytes, and the deliberate row and file errors.
- ``shared``: the firms the registrations feed has delivered, day by day (``KnownFirmRegistry``
  over a replay of the registration simulation), so that visits and incubator tenants link to
  enterprises the pipeline knows; defect decks, summaries, folder hygiene.
- ``roster`` / ``visits``: the service staff and their visits, needs and need status flow (feed 2).
- ``incubators``: incubator monthly workbooks and tenant lists (feed 3).
- ``manual_statistics``: the hand-typed statistics of the two KPIs no feed carries.

Everything is derived from ``--seed`` through string-seeded ``random.Random`` streams (stable
across processes and platforms), so the same arguments always give byte-identical files.
"""

from parkops_tools.generator.population import Enterprise, Population
from parkops_tools.generator.registrations import (
    RegistrationSettings,
    RegistrationSimulation,
    RegistrationSummary,
    format_summary,
    write_registrations,
)

__all__ = [
    "Enterprise",
    "Population",
    "RegistrationSettings",
    "RegistrationSimulation",
    "RegistrationSummary",
    "format_summary",
    "write_registrations",
]
