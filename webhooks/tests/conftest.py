import pytest


@pytest.fixture
def stream(creator):
    """Alice's stream with a key, as the ingress webhooks name it."""
    stream = creator.stream
    stream.ingress_id = "IN_alicealice1"
    stream.stream_key = "alicekey1234"
    stream.save()
    return stream
