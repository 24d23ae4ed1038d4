"""Referral: policy steps 5-6, from the facts to every notification, with reasons."""
