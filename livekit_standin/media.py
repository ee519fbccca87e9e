"""Peer connections through aiortc: how the stand-in sets them up so that livekit-client's offer works.

- No STUN server (aiortc's default is Google's, unreachable here and slow to give up on).
- MAX_BUNDLE: LiveKit's offer bundles 3 audio + 3 video sections and the data channels on one transport;
  aiortc's default BALANCED policy leaves the 2nd and 3rd section of a kind on a stopped transport.
- Loopback host candidates when the stand-in listens on loopback: aioice leaves 127.0.0.1 out (RFC 8445
  forbids it), but on a development machine and in the tests' loopback-only namespace it is the only
  address both ends share.
"""

import ipaddress

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import candidate_from_sdp

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
