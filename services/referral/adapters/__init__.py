"""How referral meets the outside: its published contracts."""
