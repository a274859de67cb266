"""The edges: HTTP, CloudEvent and Cloud Tasks entry points. Only they map results and errors to responses."""
