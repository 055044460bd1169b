"""Evidence pipeline: bytes -> checked, located, hashed, derived, judged evidence (no web, bot or DB).

Entry point: ``media.pipeline.process``. Storage: ``media.storage.BlobStore`` / ``LocalBlobStore``.
"""
