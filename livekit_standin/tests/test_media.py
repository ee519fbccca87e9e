"""The simulated encoder's media, without a network: the pattern moves, is not black, is encoded once for
every subscriber, and starts again (with a keyframe) for a subscriber who comes after everyone left."""

import asyncio

import numpy

from livekit_standin.media import HEIGHT, WIDTH, PatternVideo


def test_the_pattern_is_640x360_moves_and_is_not_black():
    video = PatternVideo("alice")
    first, later = video.draw(0), video.draw(15)
    assert (first.width, first.height) == (WIDTH, HEIGHT) == (640, 360)
    a, b = first.to_ndarray(), later.to_ndarray()
    assert not numpy.array_equal(a, b)
    assert a[:HEIGHT].mean() > 40  # luma


def test_subscribers_share_one_encoder_and_a_late_one_starts_on_a_keyframe():
    async def scenario():
        video = PatternVideo("alice")
        one, two = video.subscribe(), video.subscribe()
        packets = [await asyncio.wait_for(track.recv(), 5) for track in (one, two)]
        assert packets[0] is packets[1]  # encoded once, the same packet for both
        assert packets[0].is_keyframe
        one.stop()
        two.stop()
        await asyncio.sleep(0.3)  # nobody watches: the encoder rests

        video.frames += 300  # as after a 20 s stream
        encoded = video.encoded
        late = video.subscribe()
        packet = await asyncio.wait_for(late.recv(), 2)
        assert packet.is_keyframe and video.encoded > encoded
        await asyncio.wait_for(late.recv(), 2)  # the next frame keeps the rate, not the old run's clock
        video.stop()

    asyncio.run(scenario())
