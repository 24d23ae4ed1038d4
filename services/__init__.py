"""The three safeguard services and the command line that runs them."""
