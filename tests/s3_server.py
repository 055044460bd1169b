"""A local S3-compatible server for tests: moto's server mode on a free loopback port."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from pydantic import SecretStr

from media.s3 import S3BlobStore
from media.storage import S3Options
from services.config import Settings


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server running for this test session (loopback only)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_options(s3_endpoint: str) -> S3Options:
    """Options that reach the test server with fixed credentials (no AWS account involved)."""
    return S3Options(
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        addressing_style="path",
    )


@pytest.fixture
def s3_url(s3_options: S3Options) -> str:
    """A fresh, empty bucket of this test, as ``s3://bucket/evidence``."""
    bucket = f"feijian-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_options.endpoint_url,
        region_name=s3_options.region,
        aws_access_key_id=s3_options.access_key_id,
        aws_secret_access_key=s3_options.secret_access_key,
    )
    client.create_bucket(Bucket=bucket)
    return f"s3://{bucket}/evidence"


@pytest.fixture
def s3_store(s3_url: str, s3_options: S3Options) -> S3BlobStore:
    """The blob store on the test bucket."""
    return S3BlobStore.from_url(s3_url, s3_options)


@pytest.fixture
def s3_settings(settings: Settings, s3_url: str, s3_options: S3Options) -> Settings:
    """The test settings with media on the test bucket."""
    return settings.model_copy(
        update={
            "media_url": s3_url,
            "s3_endpoint_url": s3_options.endpoint_url,
            "s3_region": s3_options.region,
            "s3_access_key_id": "testing",
            "s3_secret_access_key": SecretStr("testing"),
            "s3_addressing_style": "path",
        }
    )
