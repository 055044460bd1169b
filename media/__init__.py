"""Evidence pipeline: bytes -> checked, located, hashed, derived and judged evidence (pure; no web, bot or DB).

Entry point: ``media.pipeline.process``. Storage: ``media.storage.BlobStore`` / ``LocalBlobStore``.
"""
