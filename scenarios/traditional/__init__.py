"""The traditional configuration and the traditional-vs-unified comparison (issue 11)."""

from scenarios.traditional.cast import (
    AGENT_SYSTEMS, SHADOW, SYSTEMS, InventoryRow, Protections, TraditionalCast, build_traditional_cast, start_traditional_cast,
)

__all__ = ["AGENT_SYSTEMS", "SHADOW", "SYSTEMS", "InventoryRow", "Protections", "TraditionalCast", "build_traditional_cast",
           "start_traditional_cast"]
