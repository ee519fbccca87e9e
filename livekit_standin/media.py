"""Media through aiortc: how the stand-in sets up peer connections so that livekit-client's offer works,
and the simulated encoder's tracks (a test pattern encoded once for every subscriber, a soft tone).

- No STUN server (aiortc's default is Google's, unreachable here and slow to give up on).
- MAX_BUNDLE: LiveKit's offer bundles 3 audio + 3 video sections and the data channels on one transport;
  aiortc's default BALANCED policy leaves the 2nd and 3rd section of a kind on a stopped transport.
- Loopback host candidates when the stand-in listens on loopback: aioice leaves 127.0.0.1 out (RFC 8445
  forbids it), but on a development machine and in the tests' loopback-only namespace it is the only
  address both ends share.
"""

import asyncio
import contextlib
import fractions
import ipaddress
import time

import aioice.ice
import av
import numpy
from aiortc import AudioStreamTrack, MediaStreamTrack, RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import candidate_from_sdp
from livekit.protocol import models as proto_models
from PIL import Image, ImageDraw, ImageFont

_default_host_addresses = aioice.ice.get_host_addresses


def use_loopback(host: str) -> None:
    """Gather host candidates on 127.0.0.1 only, when the stand-in itself listens on loopback."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    else:
        aioice.ice.get_host_addresses = _default_host_addresses


def peer_connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def ice_candidate(init: dict):
    """An RTCIceCandidate from the client's trickled ``RTCIceCandidateInit`` JSON, or None to skip it."""
    text = init.get("candidate") or ""
    if not text:
        return None
    candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    candidate.sdpMid = init.get("sdpMid")
    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
    return candidate


# --- The simulated encoder's picture and sound ----------------------------------------------------------

WIDTH, HEIGHT, FPS = 640, 360, 15
KEYFRAME_SECONDS = 2  # a subscriber whose packets were lost sees a whole picture again within this
VIDEO_CLOCK = fractions.Fraction(1, 90_000)
_QUEUE_FRAMES = 8  # per subscriber: a slow one drops frames instead of holding memory


class PacketTrack(MediaStreamTrack):
    """One subscriber's video track: VP8 packets already encoded by the publisher's ``PatternVideo``.

    aiortc packs pre-encoded packets as they are, so N subscribers cost one encoder, not N; and each
    subscriber still has a track of its own (sharing one source through MediaRelay crashed aiortc)."""

    kind = "video"

    def __init__(self, source: "PatternVideo"):
        super().__init__()
        self.source = source
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=_QUEUE_FRAMES)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self.queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self.source.unsubscribe(self)


class PatternVideo:
    """The picture a simulated encoder publishes: moving colour bars, the creator's name and a running
    clock, 640×360 at 15 fps, drawn in YUV and encoded to VP8 once for every subscriber. It runs only
    while someone subscribes."""

    def __init__(self, title: str):
        self.title = title
        self.subscribers: set[PacketTrack] = set()
        self.frames = 0
        self.encoded = 0
        self._task: asyncio.Task | None = None
        self._codec: av.CodecContext | None = None
        self._want_keyframe = True
        self.muted = False  # MutePublishedTrack: the publisher stops sending, as a muted camera does
        self._font = ImageFont.load_default(size=36)

    def subscribe(self) -> PacketTrack:
        track = PacketTrack(self)
        self.subscribers.add(track)
        self._want_keyframe = True  # a newcomer needs a whole picture to start from
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return track

    def unsubscribe(self, track: PacketTrack) -> None:
        self.subscribers.discard(track)

    def stop(self) -> None:
        """The encoder stopped: every subscriber's track ends."""
        for track in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                track.queue.put_nowait(None)
        self.subscribers.clear()
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start, sent = time.monotonic(), 0  # this run's own clock
        while self.subscribers:
            packets = await loop.run_in_executor(None, self._encode_next)
            if self.muted:
                self._want_keyframe = True  # unmuted, a whole picture first
                packets = []
            for track in list(self.subscribers):
                for packet in packets:
                    if track.queue.full():
                        with contextlib.suppress(asyncio.QueueEmpty):
                            track.queue.get_nowait()
                    track.queue.put_nowait(packet)
            # A steady rate: sleep to the next frame's time, whatever encoding took.
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / FPS - time.monotonic()))

    def _encode_next(self) -> list[av.Packet]:
        frame = self.draw(self.frames)
        frame.pts = self.frames * (VIDEO_CLOCK.denominator // FPS)
        frame.time_base = VIDEO_CLOCK
        if self._want_keyframe or self.frames % (FPS * KEYFRAME_SECONDS) == 0:
            frame.pict_type = av.video.frame.PictureType.I
            self._want_keyframe = False
        if self._codec is None:
            self._codec = _vp8_encoder()
        packets = self._codec.encode(frame)
        for packet in packets:
            packet.pts, packet.time_base = frame.pts, VIDEO_CLOCK
        self.frames += 1
        self.encoded += len(packets)
        return packets

    def draw(self, n: int) -> av.VideoFrame:
        # Luma: bars sliding left, a box with the name and the clock; chroma: bands that drift the other way.
        luma = Image.new("L", (WIDTH, HEIGHT))
        draw = ImageDraw.Draw(luma)
        bar = WIDTH // 8
        shift = (n * 4) % bar
        for i in range(-1, 9):
            draw.rectangle((i * bar - shift, 0, i * bar - shift + bar - 1, HEIGHT), fill=60 + (i % 8) * 22)
        draw.rectangle((24, HEIGHT - 130, WIDTH - 24, HEIGHT - 24), fill=16)
        clock = time.strftime("%H:%M:%S") + f".{int(time.time() * 10) % 10}"
        draw.text((44, HEIGHT - 122), self.title[:28], font=self._font, fill=235)
        draw.text((44, HEIGHT - 74), f"{clock}  frame {n}", font=self._font, fill=200)
        y = numpy.asarray(luma, dtype=numpy.uint8)
        columns = (numpy.arange(WIDTH // 2) + n * 2) % (WIDTH // 2)
        u_row = (64 + (columns * 255 // (WIDTH // 2)) // 2).astype(numpy.uint8)
        v_row = (192 - (columns * 255 // (WIDTH // 2)) // 2).astype(numpy.uint8)
        u = numpy.tile(u_row, (HEIGHT // 2, 1))
        v = numpy.tile(v_row, (HEIGHT // 2, 1))
        planes = numpy.concatenate([y, u.reshape(-1, WIDTH), v.reshape(-1, WIDTH)])
        return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _vp8_encoder() -> av.CodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = VIDEO_CLOCK
    codec.bit_rate = 600_000
    codec.gop_size = FPS * KEYFRAME_SECONDS
    codec.thread_count = 1
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "static-thresh": "1"}
    return codec


class SoftTone(AudioStreamTrack):
    """A subscriber's audio: a quiet 440 Hz tone (aiortc's AudioStreamTrack is silence), so a player that
    unmutes hears that sound flows. Cheap enough to have one per subscriber (Opus, 20 ms frames)."""

    def __init__(self, publisher: "Publisher | None" = None):
        super().__init__()
        self.publisher = publisher

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        if self.publisher is not None and self.publisher.audio_muted:
            return frame  # silence
        samples = frame.samples
        t = (numpy.arange(samples) + frame.pts) / frame.sample_rate
        tone = (numpy.sin(2 * numpy.pi * 440 * t) * 600).astype(numpy.int16).reshape(1, -1)
        out = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        out.pts, out.time_base, out.sample_rate = frame.pts, frame.time_base, frame.sample_rate
        return out


class FileVideo(PatternVideo):
    """A local video file instead of the pattern, played in a loop (decoded with PyAV, scaled to
    640×360 at 15 fps, encoded once for every subscriber like the pattern)."""

    def __init__(self, title: str, path: str):
        super().__init__(title)
        self.path = path
        with av.open(path) as container:  # refuse an unreadable file now, not in the encoder's thread
            if not container.streams.video:
                raise ValueError(f"{path} has no video stream")
        self._frames = None

    def _decoded(self):
        while True:
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                rate = float(stream.average_rate or FPS)
                shown = 0.0
                for index, frame in enumerate(container.decode(stream)):
                    # Keep the file's speed at our frame rate: skip frames (or show one twice).
                    while shown <= index * FPS / rate:
                        yield frame
                        shown += 1

    def draw(self, n: int) -> av.VideoFrame:
        if self._frames is None:
            self._frames = self._decoded()
        frame = next(self._frames)
        return frame.reformat(width=WIDTH, height=HEIGHT, format="yuv420p")


class Publisher:
    """A simulated encoder in a room (the ingress participant): its published tracks, and a track of its
    own for each subscriber."""

    def __init__(self, *, sid: str, identity: str, tracks: list, video: PatternVideo):
        self.sid, self.identity, self.tracks = sid, identity, tracks
        self.video = video
        self.audio_muted = False

    def subscribe(self, kind: str) -> MediaStreamTrack:
        """On the event loop."""
        return self.video.subscribe() if kind == "video" else SoftTone(self)

    def set_muted(self, track_sid: str, muted: bool) -> None:
        for info in self.tracks:
            if info.sid == track_sid:
                if info.type == proto_models.TrackType.VIDEO:
                    self.video.muted = muted
                else:
                    self.audio_muted = muted

    def stop(self) -> None:
        """On the event loop."""
        self.video.stop()
