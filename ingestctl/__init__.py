"""ingestctl: the command-line client of the ingestion service (uploads with progress and resume, parse, save, reads)."""

__version__ = "0.1.0"
