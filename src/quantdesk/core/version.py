"""The package version, importable from any layer without importing the `quantdesk` package's composition."""

__version__ = "0.1.0"
