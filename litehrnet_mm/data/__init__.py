"""Datasets the package generates for its demos and tests."""
