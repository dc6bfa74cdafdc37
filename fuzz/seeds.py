#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/<target>/<seed>: small real inputs shaped as each
target reads its input (see fuzz/src/targets/<target>.rs). Media comes from ffmpeg (tiny
test patterns), RTSP from crates/rtsp/testdata, the rest is built here from the specs.
Run from anywhere: python3 fuzz/seeds.py. Existing files of the same name are replaced;
others (grown and minimized with `cargo fuzz cmin`) are kept."""

import os
import struct
import subprocess
import tempfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(FUZZ, "..", "crates", "rtsp", "testdata")
WORK = tempfile.mkdtemp(prefix="ferromtx-seeds-")


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def testdata(name):
    with open(os.path.join(TESTDATA, name), "rb") as f:
        return f.read()


def ffmpeg(out, *args):
    path = os.path.join(WORK, out)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, path],
                   check=True)
    with open(path, "rb") as f:
        return f.read()


VIDEO = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=0.4"]
AUDIO = ["-f", "lavfi", "-i", "sine=f=440:d=0.4"]


def annexb_nals(data):
    """NAL units of an Annex B stream, without start codes."""
    out, i, starts = [], 0, []
    while i + 3 <= len(data):
        if data[i:i + 3] == b"\0\0\1":
            starts.append(i + 3)
            i += 3
        else:
            i += 1
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        out.append(data[s:end].rstrip(b"\0"))
    return out


def chunks(payloads):
    """The depacketizer targets' layout: [flags, len, payload]; flags bit 0 = marker,
    bit 3 = new timestamp."""
    out = b""
    for payload, marker, new_ts in payloads:
        assert len(payload) <= 255
        out += bytes([(1 if marker else 0) | (8 if new_ts else 0), len(payload)]) + payload
    return out


def fragments(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


# --- H.264 / H.265 ---------------------------------------------------------------------
h264 = annexb_nals(ffmpeg("v.h264", *VIDEO, "-c:v", "libx264", "-g", "4", "-bf", "0",
                          "-pix_fmt", "yuv420p", "-f", "h264"))
sps = next(n for n in h264 if n[0] & 0x1f == 7)
pps = next(n for n in h264 if n[0] & 0x1f == 8)
put("h264_sps", "x264_high", sps)
put("h264_sps", "baseline_cif", bytes.fromhex("6742c01e d900a047 fec80000 03000800 0003 01e0"
                                              .replace(" ", "")))


def h264_payloads(nals):
    out = []
    stap = b"\x18" + b"".join(struct.pack(">H", len(n)) + n for n in (sps, pps))
    out.append((stap, False, True))
    for n in nals:
        t = n[0] & 0x1f
        if t in (7, 8, 6):
            continue
        if len(n) <= 200:
            out.append((n, True, True))
            continue
        body = fragments(n[1:], 200)
        for k, frag in enumerate(body):
            fu = bytes([(n[0] & 0xe0) | 28,
                        (0x80 if k == 0 else 0) | (0x40 if k == len(body) - 1 else 0) | t])
            out.append((fu + frag, k == len(body) - 1, k == 0))
    return out


h264_rtp = h264_payloads(h264)
put("h264_depacketize", "stap_fua_idr", chunks(h264_rtp[:6]))
put("h264_depacketize", "p_frames", chunks(h264_rtp[6:12]))

h265 = annexb_nals(ffmpeg("v.h265", *VIDEO, "-c:v", "libx265", "-x265-params",
                          "log-level=none:keyint=4", "-f", "hevc"))


def h265_payloads(nals):
    out, params = [], [n for n in nals if (n[0] >> 1) & 0x3f in (32, 33, 34)]
    ap = b"\x60\x01" + b"".join(struct.pack(">H", len(n)) + n for n in params)
    out.append((ap, False, True))
    for n in nals:
        t = (n[0] >> 1) & 0x3f
        if t in (32, 33, 34, 39, 40):
            continue
        if len(n) <= 200:
            out.append((n, True, True))
            continue
        body = fragments(n[2:], 200)
        for k, frag in enumerate(body):
            hdr = bytes([(n[0] & 0x81) | (49 << 1), n[1],
                         (0x80 if k == 0 else 0) | (0x40 if k == len(body) - 1 else 0) | t])
            out.append((hdr + frag, k == len(body) - 1, k == 0))
    return out


h265_rtp = h265_payloads(h265)
put("h265_depacketize", "ap_fu_idr", chunks(h265_rtp[:6]))


# --- VP8 / VP9 / AV1 -------------------------------------------------------------------
def ivf_frames(data):
    out, i = [], 32
    while i + 12 <= len(data):
        n = struct.unpack("<I", data[i:i + 4])[0]
        out.append(data[i + 12:i + 12 + n])
        i += 12 + n
    return out


vp8 = ivf_frames(ffmpeg("v.vp8.ivf", *VIDEO, "-c:v", "libvpx", "-g", "4", "-f", "ivf"))
vp8_rtp = []
for f in vp8[:3]:
    parts = fragments(f, 200)
    for k, p in enumerate(parts):
        vp8_rtp.append((bytes([0x10 if k == 0 else 0x00]) + p, k == len(parts) - 1, k == 0))
put("vp8_depacketize", "key_and_inter", chunks(vp8_rtp))

vp9 = ivf_frames(ffmpeg("v.vp9.ivf", *VIDEO, "-c:v", "libvpx-vp9", "-g", "4", "-f", "ivf"))
vp9_rtp = []
for f in vp9[:3]:
    parts = fragments(f, 200)
    for k, p in enumerate(parts):
        desc = (0x08 if k == 0 else 0) | (0x04 if k == len(parts) - 1 else 0)
        vp9_rtp.append((bytes([desc]) + p, k == len(parts) - 1, k == 0))
put("vp9_depacketize", "key_and_inter", chunks(vp9_rtp))

av1_obus = ffmpeg("v.obu", *VIDEO, "-frames:v", "3", "-c:v", "libaom-av1", "-cpu-used", "8",
                  "-g", "4", "-f", "obu")


def leb128(data, i):
    value, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def obus(data):
    out, i = [], 0
    while i < len(data):
        start = i
        hdr = data[i]
        i += 2 if hdr & 0x04 else 1
        size, i = leb128(data, i)
        out.append(data[start:i + size])
        i += size
    return out


av1_rtp = []
first = True
for obu in obus(av1_obus):
    if (obu[0] >> 3) & 0x0f == 2:  # temporal delimiters are not sent
        continue
    parts = fragments(obu, 200)
    for k, p in enumerate(parts):
        agg = 0x10 | (0x80 if k > 0 else 0) | (0x40 if k < len(parts) - 1 else 0)
        agg |= 0x08 if first else 0
        first = False
        av1_rtp.append((bytes([agg]) + p, (obu[0] >> 3) & 0x0f == 6 and k == len(parts) - 1,
                        k == 0))
put("av1_depacketize", "sequence_and_frames", chunks(av1_rtp[:10]))

# --- AAC, MP3 --------------------------------------------------------------------------
adts = ffmpeg("a.aac", *AUDIO, "-c:a", "aac", "-b:a", "24k", "-ar", "44100", "-ac", "1",
              "-f", "adts")
aac = []
i = 0
while i + 7 <= len(adts):
    n = ((adts[i + 3] & 3) << 11) | (adts[i + 4] << 3) | (adts[i + 5] >> 5)
    aac.append(adts[i + 7:i + n])
    i += n
put("aac_transcode", "lc_44100_mono", bytes([4, 0]) + b"\xa5".join(aac[:6]))
put("aac_transcode", "lc_48000_stereo", bytes([3, 1]) + b"\xa5".join(aac[6:10]))
mp4a = [(struct.pack(">HH", 16, len(f) << 3) + f, True, True) for f in aac[:6]]
put("mpeg4audio_depacketize", "aac_hbr", chunks(mp4a))

mp3 = ffmpeg("a.mp3", *AUDIO, "-c:a", "libmp3lame", "-b:a", "32k", "-ar", "44100", "-ac", "1",
             "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3")
mp3_payloads = []
for frame in fragments(mp3, 104)[:8]:
    mp3_payloads.append((b"\0\0\0\0" + frame, True, True))
put("mpeg1audio_depacketize", "rfc2250", b"".join(
    bytes([1, len(p)]) + p for p, _, _ in mp3_payloads))
frag = fragments(mp3[:400], 150)
put("mpeg1audio_depacketize", "fragmented", b"".join(
    bytes([1 if k == 0 else 0, 4 + len(p)]) + struct.pack(">HH", 0, 150 * k) + p
    for k, p in enumerate(frag)))

# --- RTP, RTCP -------------------------------------------------------------------------


def rtp(pt, seq, ts, payload, marker=False, csrc=(), ext=None, pad=0):
    b0 = 0x80 | len(csrc) | (0x10 if ext is not None else 0) | (0x20 if pad else 0)
    out = struct.pack(">BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, 0x1234abcd)
    out += b"".join(struct.pack(">I", c) for c in csrc)
    if ext is not None:
        out += struct.pack(">HH", 0xbede, len(ext) // 4) + ext
    out += payload
    if pad:
        out += b"\0" * (pad - 1) + bytes([pad])
    return out


put("rtp_packet", "h264_fu_a", rtp(96, 1, 9000, h264_rtp[1][0][:120]))
put("rtp_packet", "marker_csrc", rtp(96, 65535, 1, h264_rtp[0][0][:60], True, csrc=(7, 8)))
put("rtp_packet", "one_byte_ext_padding", rtp(111, 9, 960, b"\xfc\xff\xfe", ext=b"\x10\x01\0\0",
                                              pad=4))


def rtcp(pt, count, body):
    return struct.pack(">BBH", 0x80 | count, pt, (len(body) + 4) // 4 - 1) + body


sr = rtcp(200, 1, struct.pack(">IIIIII", 0x1234abcd, 0xe6b2c3d4, 0x10000000, 90000, 10, 1400)
          + struct.pack(">IIIIII", 0x55667788, 0x01000002, 1000, 17, 0, 0))
sdes = rtcp(202, 1, struct.pack(">I", 0x1234abcd) + b"\x01\x07ferromx" + b"\0\0\0")
rr = rtcp(201, 1, struct.pack(">I", 1) + struct.pack(">IIIIII", 0x1234abcd, 0, 5, 3, 0, 0))
bye = rtcp(203, 1, struct.pack(">I", 0x1234abcd))
nack = rtcp(205, 1, struct.pack(">IIHH", 1, 0x1234abcd, 100, 0x0005))
pli = rtcp(206, 1, struct.pack(">II", 1, 0x1234abcd))
put("rtcp", "sr_sdes", sr + sdes)
put("rtcp", "rr_bye", rr + bye)
put("rtcp", "nack_pli", rr + nack + pli)

# --- RTSP ------------------------------------------------------------------------------
transports = [
    "RTP/AVP;unicast;client_port=5000-5001",
    "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    "RTP/AVP;multicast;destination=224.1.0.1;port=8000-8001;ttl=16",
    "RTP/SAVP;unicast;client_port=6000-6001;ssrc=1A2B3C4D,RTP/AVP/UDP;unicast;client_port=6000",
    'RTP/AVP/UDP;unicast;client_port=5000-5001;source="10.0.0.1";server_port=8000-8001;mode="PLAY"',
]
for k, t in enumerate(transports):
    put("rtsp_transport", f"transport_{k}", t)

for name in ["ffmpeg_h264_aac.sdp", "ffmpeg_h264_opus.sdp", "gstreamer_h264_opus.sdp",
             "hikvision_describe.sdp"]:
    put("rtsp_sdp", name, testdata(name))
WHIP_SDP = """v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
a=msid-semantic: WMS\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:abcd\r
a=ice-pwd:0123456789abcdefghijklmn\r
a=fingerprint:sha-256 6B:8B:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD\r
a=setup:actpass\r
a=mid:0\r
a=sendonly\r
a=rtcp-mux\r
a=rtpmap:96 H264/90000\r
a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
a=rtcp-fb:96 nack pli\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
c=IN IP4 0.0.0.0\r
a=mid:1\r
a=sendonly\r
a=rtpmap:111 opus/48000/2\r
a=fmtp:111 minptime=10;useinbandfec=1\r
"""
put("rtsp_sdp", "whip_offer.sdp", WHIP_SDP)

sdp = testdata("ffmpeg_h264_aac.sdp")
requests = [
    b"OPTIONS rtsp://127.0.0.1:8554/mystream RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf61.7.100\r\n\r\n",
    b"DESCRIBE rtsp://127.0.0.1:8554/mystream RTSP/1.0\r\nAccept: application/sdp\r\nCSeq: 2\r\n"
    b"Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
    b"SETUP rtsp://127.0.0.1:8554/mystream/trackID=0 RTSP/1.0\r\nTransport: " +
    transports[0].encode() + b"\r\nCSeq: 3\r\n\r\n",
    b"PLAY rtsp://127.0.0.1:8554/mystream/ RTSP/1.0\r\nRange: npt=0.000-\r\nCSeq: 4\r\n"
    b"Session: 12345678\r\n\r\n",
]
put("rtsp_message", "ffmpeg_play", b"\x40" + b"".join(requests))
put("rtsp_message", "ffmpeg_record_tcp", b"\x90" + testdata("ffmpeg_record_tcp.bin"))
put("rtsp_message", "hikvision_replies", b"\x20" + testdata("hikvision_replies.txt"))
put("rtsp_message", "announce_and_frames",
    b"\x10ANNOUNCE rtsp://127.0.0.1:8554/live RTSP/1.0\r\nCSeq: 2\r\nContent-Type: "
    b"application/sdp\r\nContent-Length: " + str(len(sdp)).encode() + b"\r\n\r\n" + sdp +
    b"$\x00\x00\x10" + rtp(96, 1, 0, b"\x65" * 4) + b"$\x01\x00\x08" + bye)
put("rtsp_interleaved", "frames_and_requests",
    b"\x80" + b"\x00\x10" + rtp(96, 1, 0, b"\x65" * 4) + b"\x03\x05hello" + b"\x02\x08" + bye
    + b"\x07\x00")

# --- MPEG-TS, SRT ingest ---------------------------------------------------------------
ts = ffmpeg("av.ts", *VIDEO, *AUDIO, "-c:v", "libx264", "-g", "4", "-bf", "1", "-pix_fmt",
            "yuv420p", "-c:a", "aac", "-b:a", "24k", "-ac", "2", "-f", "mpegts")
put("mpegts_demux", "h264_aac_head", ts[:188 * 14])
put("mpegts_demux", "h264_aac_tail", b"\x00" + ts[188 * 14:188 * 24])
put("srt_ingest", "h264_aac_head", ts[:188 * 14])
put("srt_ingest", "streamid_publish", "#!::r=live/stream,m=publish,u=user,s=abc")
put("srt_ingest", "streamid_read", "read:live/stream:user:pass")
put("srt_ingest", "sdp", sdp)

# --- SRT packets -----------------------------------------------------------------------


def srt_control(ctype, subtype, info, dest, body=b"", ts=1000):
    return struct.pack(">HHIII", 0x8000 | ctype, subtype, info, ts, dest) + body


def srt_handshake(hs_type, socket_id, cookie, version=4, ext=2, exts=b""):
    cif = struct.pack(">IHHIIIiII", version, 0, ext, 0x1000, 1500, 8192, hs_type, socket_id,
                      cookie) + bytes([127, 0, 0, 1]) + b"\0" * 12
    return srt_control(0, 0, 0, 0, cif + exts)


induction = srt_handshake(1, 0x11223344, 0)
hsreq = struct.pack(">HHIII", 1, 3, 0x00010503, 0xbf, 0x00780078)
sid = b"publish:live"
sid_ext = struct.pack(">HH", 5, len(sid) // 4) + b"".join(
    sid[i:i + 4][::-1] for i in range(0, len(sid), 4))
conclusion = srt_handshake(-1, 0x11223344, 0x5eed,
                           version=5, ext=0x0005, exts=hsreq + sid_ext)
data = struct.pack(">IIII", 0x1000, 0xc0000001, 2000, 0x5eed) + ts[:188]
ack = srt_control(2, 0, 1, 0x5eed, struct.pack(">IIIII", 0x1001, 100, 50, 8192, 0))
nak = srt_control(3, 0, 0, 0x5eed, struct.pack(">II", 0x80001000, 0x1003))
keepalive = srt_control(1, 0, 0, 0x5eed)
shutdown = srt_control(5, 0, 0, 0x5eed)


def script(*items):
    return b"".join(bytes([t]) + struct.pack(">H", len(d)) + d for t, d in items)


put("srt_packet", "induction", induction)
put("srt_packet", "conclusion", conclusion)
put("srt_packet", "data", data)
put("srt_packet", "ack_nak", script((1, ack), (2, nak)))
put("srt_packet", "listener_handshake", script((0, induction), (0, conclusion)))
put("srt_packet", "data_keepalive_shutdown", script((1, data), (2, keepalive), (1, shutdown)))
put("srt_packet", "encrypted_pair", script((9, data), (2, ack)))

# --- WebRTC: STUN, RFC 4571 ------------------------------------------------------------


def stun(msg_type, txid, attrs):
    body = b""
    for t, v in attrs:
        body += struct.pack(">HH", t, len(v)) + v + b"\0" * (-len(v) % 4)
    return struct.pack(">HHI", msg_type, len(body), 0x2112a442) + txid + body


binding = stun(0x0001, b"ferromtx0001", [(0x0006, b"abcd:remote"), (0x8029, b"\0" * 8),
                                          (0x0024, struct.pack(">I", 0x6e7f1eff))])
response = stun(0x0101, b"ferromtx0002", [(0x0020, struct.pack(">HHI", 1, 0x2112 ^ 5000,
                                                                0x7f000001 ^ 0x2112a442))])
put("stun_route", "binding_request", binding)
put("stun_route", "binding_response", response)
put("stun_route", "rtp", rtp(96, 1, 0, b"\x10\x00"))
put("stun_route", "dtls_client_hello", bytes.fromhex("16fefd0000000000000000002e01000022"))
frames = b"".join(struct.pack(">H", len(f)) + f for f in (binding, rtp(96, 1, 0, b"\0"), sr))
put("ice_tcp_framing", "stun_rtp_rtcp", b"\x07" + frames)
put("ice_tcp_framing", "partial", b"\xff" + frames[:-3])

# --- RTMP, FLV, AMF0 -------------------------------------------------------------------


def flv_tags(data):
    out, i = [], 13
    while i + 11 <= len(data):
        kind, size = data[i], int.from_bytes(data[i + 1:i + 4], "big")
        out.append((kind, data[i + 11:i + 11 + size]))
        i += 11 + size + 4
    return out


flv = flv_tags(ffmpeg("av.flv", *VIDEO, *AUDIO, "-c:v", "libx264", "-g", "4", "-bf", "0",
                      "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "24k", "-ac", "1",
                      "-f", "flv"))
video = [b for k, b in flv if k == 9]
audio = [b for k, b in flv if k == 8]
put("flv_tag", "avc_sequence_header", b"\x01" + video[0] + video[0])
put("flv_tag", "avc_keyframe", b"\x01" + video[1][:300] + video[1][:300])
put("flv_tag", "aac_config_and_frame", b"\x00" + audio[0] + audio[0][:2] + b"\x11" * 2)
put("flv_tag", "enhanced_hvc1_header", b"\x01" + b"\x90hvc1" + b"\x01" * 23 + b"\x90hvc1" +
    b"\x01" * 23)
put("rtmp_publish", "avc_aac",
    b"".join(bytes([len(b) << 1 | 1]) + b for b in video[:1]) +
    b"".join(bytes([len(b) << 1]) + b for b in audio[:3] if len(b) < 128) +
    b"".join(bytes([len(b) << 1 | 1]) + b for b in video[1:] if len(b) < 128))


def amf_string(s):
    return struct.pack(">H", len(s)) + s.encode()


def amf(v):
    if v is None:
        return b"\x05"
    if isinstance(v, bool):
        return b"\x01" + bytes([v])
    if isinstance(v, (int, float)):
        return b"\x00" + struct.pack(">d", v)
    if isinstance(v, str):
        return b"\x02" + amf_string(v)
    if isinstance(v, list):
        return b"\x0a" + struct.pack(">I", len(v)) + b"".join(amf(x) for x in v)
    if isinstance(v, tuple):  # ECMA array
        return b"\x08" + struct.pack(">I", len(v)) + b"".join(
            amf_string(k) + amf(x) for k, x in v) + b"\0\0\x09"
    return b"\x03" + b"".join(amf_string(k) + amf(x) for k, x in v.items()) + b"\0\0\x09"


connect = amf("connect") + amf(1) + amf({"app": "live", "type": "nonprivate",
                                         "flashVer": "FMLE/3.0", "tcUrl": "rtmp://127.0.0.1/live",
                                         "fourCcList": ["av01", "vp09", "hvc1"]})
metadata = amf("@setDataFrame") + amf("onMetaData") + amf((
    ("width", 64), ("height", 64), ("videocodecid", 7), ("audiocodecid", 10),
    ("stereo", False), ("encoder", "Lavf61")))
put("rtmp_amf0", "connect", connect)
put("rtmp_amf0", "metadata", metadata)
put("rtmp_amf0", "publish", amf("publish") + amf(5) + amf(None) + amf("stream") + amf("live")
    + b"\x0b" + struct.pack(">dh", 1.7e12, 0) + b"\x0c" + struct.pack(">I", 3) + b"abc")


def chunk_message(csid, type_id, stream_id, ts, body, size=128):
    out = bytes([csid]) + ts.to_bytes(3, "big") + len(body).to_bytes(3, "big") + \
        bytes([type_id]) + struct.pack("<I", stream_id)
    for k, part in enumerate(fragments(body, size)):
        if k:
            out += bytes([0xc0 | csid])
        out += part
    return out


set_chunk_size = chunk_message(2, 1, 0, 0, struct.pack(">I", 4096))
media = b"".join([
    chunk_message(4, 18, 1, 0, metadata),
    chunk_message(6, 9, 1, 0, video[0]),
    chunk_message(5, 8, 1, 0, audio[0]),
    chunk_message(6, 9, 1, 40, video[1][:400]),
    chunk_message(5, 8, 1, 23, audio[1]),
])
put("rtmp_chunk", "publish_media", b"\x02\x55" + media)
put("rtmp_chunk", "chunk_size_then_media", b"\x02\xa0" + set_chunk_size + b"".join([
    chunk_message(6, 9, 1, 0, video[0], 4096), chunk_message(6, 9, 1, 40, video[1], 4096)]))
put("rtmp_chunk", "connect", b"\x00\x30" + chunk_message(3, 20, 0, 0, connect) +
    chunk_message(3, 20, 0, 0, amf("createStream") + amf(2) + amf(None)))
put("rtmp_chunk", "ack_window_ping", b"\x01\x10" + chunk_message(2, 5, 0, 0,
                                                                struct.pack(">I", 2500000)) +
    chunk_message(2, 4, 0, 0, struct.pack(">HI", 6, 1234)) +
    chunk_message(2, 3, 0, 0, struct.pack(">I", 4096)))

# --- fMP4 ------------------------------------------------------------------------------
mp4 = ffmpeg("v.mp4", *VIDEO, "-c:v", "libx264", "-g", "4", "-pix_fmt", "yuv420p",
             "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4")
boxes, i = [], 0
while i + 8 <= len(mp4):
    n = struct.unpack(">I", mp4[i:i + 4])[0]
    boxes.append(mp4[i:i + n])
    i += n
init = b"".join(b for b in boxes if b[4:8] in (b"ftyp", b"moov"))
put("fmp4_read", "init", init)
fragment = b""
for k, b in enumerate(boxes):
    if b[4:8] == b"moof":
        fragment = b + boxes[k + 1]
        break
put("fmp4_read", "fragment", fragment)

# --- HLS -------------------------------------------------------------------------------
put("hls_playlist", "multivariant", """#EXTM3U
#EXT-X-VERSION:9
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a",AUTOSELECT=YES,DEFAULT=YES,URI="audio.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1200000,AVERAGE-BANDWIDTH=1000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"
video1_stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=400000,CODECS="avc1.42e01e"
low/index.m3u8
""")
put("hls_playlist", "mpegts_media", """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-ALLOW-CACHE:NO
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:17
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T20:00:00.000Z
#EXTINF:2.00000,
segment17.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.50000,
segment18.ts
#EXT-X-ENDLIST
""")
put("hls_playlist", "low_latency_fmp4", """#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.60000,CAN-SKIP-UNTIL=6.00000
#EXT-X-PART-INF:PART-TARGET=0.20000
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T20:00:04.000Z
#EXTINF:1.00000,
seg4.mp4
#EXT-X-PART:DURATION=0.20000,URI="part20.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part21.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part22.mp4"
#EXT-X-RENDITION-REPORT:URI="../other/stream.m3u8",LAST-MSN=4,LAST-PART=1
""")

# --- PROXY protocol --------------------------------------------------------------------
put("proxy_header", "v1_tcp4", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nOPTIONS *")
put("proxy_header", "v1_tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 4000 8554\r\n")
put("proxy_header", "v1_unknown", "PROXY UNKNOWN\r\n")
SIG = b"\r\n\r\n\0\r\nQUIT\n"
put("proxy_header", "v2_tcp4_tlv", SIG + b"\x21\x11" + struct.pack(">H", 12 + 7) +
    bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack(">HH", 5000, 1935) + b"\x04\x00\x04ab12")
put("proxy_header", "v2_tcp6", SIG + b"\x21\x21" + struct.pack(">H", 36) + b"\0" * 15 + b"\1" +
    b"\0" * 15 + b"\2" + struct.pack(">HH", 5000, 8554))
put("proxy_header", "v2_local", SIG + b"\x20\x00\x00\x00")

# --- RTSP authentication ---------------------------------------------------------------
put("rtsp_auth", "hikvision_digest",
    'Digest realm="IP Camera(C6731)", nonce="b1ce7cbd1c1a6ebc0d0e1a1ba2a37d6b", stale="FALSE"')
put("rtsp_auth", "basic_challenge", 'Basic realm="IP Camera(C6731)"')
put("rtsp_auth", "digest_sha256_qop",
    'Digest realm="ferromtx", nonce="0123abcd", algorithm=SHA-256, qop="auth", opaque="xyz"')
put("rtsp_auth", "ffmpeg_digest_authorization",
    'Digest username="user", realm="ferromtx", nonce="0123abcd", '
    'uri="rtsp://127.0.0.1:8554/mystream", response="6629fae49393a05397450978507c4ef1"')
put("rtsp_auth", "digest_qop_authorization",
    'Digest username="u", realm="r", nonce="n", uri="/", response="abc", qop=auth, '
    'nc=00000001, cnonce="c0ffee", algorithm=MD5')
put("rtsp_auth", "basic_authorization", "Basic dXNlcjpwYXNz")

# --- WHIP / WHEP -----------------------------------------------------------------------
put("webrtc_offer", "whip_h264_opus", "/mystream/whip\n" + WHIP_SDP)
put("webrtc_offer", "whep_audio", "/cam/whep\n" + WHIP_SDP.replace("sendonly", "recvonly")
    .replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000"
             "\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000"))

# --- RTMP handshake --------------------------------------------------------------------
c1 = struct.pack(">II", 0, 0) + bytes((k * 7) & 0xff for k in range(1528))
put("rtmp_handshake", "plain_connect", b"\x80" + b"\x03" + c1 + c1 +
    chunk_message(3, 20, 0, 0, connect))
put("rtmp_handshake", "c0_c1_only", b"\x40\x03" + c1)
