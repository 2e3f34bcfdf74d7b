"""junit2af: replay test reports into the Automated Future test-results service."""

__version__ = "0.1.0"
