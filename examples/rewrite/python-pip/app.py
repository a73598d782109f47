"""Prints a greeting and the version of a package pip installed."""
import six

print(f"hello from Python; six {six.__version__}")
