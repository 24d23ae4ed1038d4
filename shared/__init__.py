"""Code every safeguard service uses the same way: contracts and plumbing."""
