"""Reusable checks on data and models (gradient check; baselines, leakage and permutation tests to come)."""
