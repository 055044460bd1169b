"""Evidence pipeline: bytes -> checked, located, hashed, derived, judged evidence (no web, bot or DB).

Entry point: ``media.pipeline.process``. Storage: ``media.storage.BlobStore`` with ``LocalBlobStore``
and ``media.s3.S3BlobStore`` (``media.storage.open_blob_store`` picks one from a URL).
"""
