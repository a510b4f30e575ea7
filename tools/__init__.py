"""Scripts that make the project's own artefacts (screenshots for the docs)."""
