"""How review meets the outside."""
