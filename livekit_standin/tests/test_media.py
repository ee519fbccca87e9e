"""The simulated encoder's media, without a network: the pattern moves, is not black, is encoded once for
every subscriber, and starts again (with a keyframe) for a subscriber who comes after everyone left."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import av
import numpy
import pytest

from livekit_standin.media import HEIGHT, WIDTH, FileVideo, PatternVideo


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

    # A thread of its own: browser tests leave Playwright's event loop running in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def make_video(path, frames=10, size=(320, 240)):
    """A small file of ``frames`` frames, red then blue, for the encoder to play."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for n in range(frames):
            rgb = numpy.zeros((size[1], size[0], 3), dtype=numpy.uint8)
            rgb[..., 0 if n < frames // 2 else 2] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_a_file_plays_in_a_loop_at_640x360(tmp_path):
    path = tmp_path / "clip.mp4"
    make_video(path)  # 1 s at 10 fps: 15 frames at our 15 fps
    video = FileVideo("clip", str(path))
    frames = [video.draw(n).to_ndarray(format="rgb24") for n in range(40)]
    assert frames[0].shape == (360, 640, 3)
    red, blue = frames[0].mean(axis=(0, 1)), frames[12].mean(axis=(0, 1))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]
    assert numpy.allclose(frames[15], frames[0], atol=20) and numpy.allclose(frames[30], frames[0], atol=20)


def test_an_unreadable_file_is_refused_at_once(tmp_path):
    (tmp_path / "not-a-video.mp4").write_text("hello")
    with pytest.raises((OSError, ValueError, av.error.FFmpegError)):
        FileVideo("x", str(tmp_path / "not-a-video.mp4"))
