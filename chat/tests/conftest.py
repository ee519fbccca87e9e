import pytest

from streams import livekit as door
from streams.live import stream_go_live


@pytest.fixture
def live(livekit, creator):
    """alice is live: an open session and her room on the stand-in."""
    stream_go_live(stream=creator.stream)
    livekit.room_create(door.room_name_for(creator.pk))
    return creator
