"""How intake meets the outside: its published contracts and its HTTP routes."""
