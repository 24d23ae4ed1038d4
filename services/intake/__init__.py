"""Intake: policy steps 1-4, from the first disclosure to the secured device."""
