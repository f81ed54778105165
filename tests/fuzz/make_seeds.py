#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are well-formed inputs in each target's input format (see the comment at the top of
each *_fuzzer.cpp). Bitstream bytes come from samples/data/testsrc2-320x180.h264; HEVC, VP8 and
VP9 (and AV1) seeds are encoded with the ffmpeg command-line tool when it has libx265/libvpx
(libaom-av1) (skipped otherwise). Re-running the script rewrites the seeds deterministically.

Usage: tests/fuzz/make_seeds.py [--only TARGET]
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
H264_SAMPLE = os.path.join(ROOT, "samples", "data", "testsrc2-320x180.h264")

# virtio-video values (vdec/protocol/virtio_video.h).
CMD_QUERY_CAPABILITY = 0x100
CMD_STREAM_CREATE = 0x101
CMD_STREAM_DESTROY = 0x102
CMD_STREAM_DRAIN = 0x103
CMD_RESOURCE_CREATE = 0x104
CMD_RESOURCE_QUEUE = 0x105
CMD_RESOURCE_DESTROY_ALL = 0x106
CMD_QUEUE_CLEAR = 0x107
CMD_GET_PARAMS = 0x108
CMD_SET_PARAMS = 0x109
CMD_QUERY_CONTROL = 0x10A
CMD_GET_CONTROL = 0x10B
CMD_SET_CONTROL = 0x10C
CMD_GET_PARAMS_EXT = 0x10D
CMD_SET_PARAMS_EXT = 0x10E
Q_IN, Q_OUT = 0x100, 0x101
MEM_PAGES, MEM_OBJECT = 0, 1
FMT_NV12, FMT_YUV420, FMT_YVU420 = 3, 4, 5
FMT_H264, FMT_HEVC, FMT_VP8, FMT_VP9 = 0x1002, 0x1003, 0x1004, 0x1005
CONTROL_PROFILE, CONTROL_LEVEL, CONTROL_BITRATE = 2, 3, 1

RAM_BASE = 0x10000000  # command_fuzzer.cpp kRamBase
OUT_BASE = RAM_BASE + (1 << 20)
OUT_SIZE = 128 << 10  # NV12 320x192 needs 90 KiB


def write_corpus(target, seeds):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    total = sum(len(d) for d in seeds.values())
    print(f"{target}: {len(seeds)} seeds, {total} bytes")


def h264_sample():
    with open(H264_SAMPLE, "rb") as f:
        return f.read()


def annexb_units(data):
    """(offset, nal_type) of every 3-byte start code."""
    return [(m.start(), data[m.start() + 3] & 0x1F) for m in re.finditer(b"\x00\x00\x01", data)]


def h264_frames(count):
    """SPS + PPS + the first `count` coded frames, without the (large) x264 SEI."""
    data = h264_sample()
    units = annexb_units(data) + [(len(data), -1)]
    out = b""
    frames = 0
    for (start, kind), (end, _) in zip(units, units[1:]):
        if kind == 6:
            continue
        if kind in (1, 5):
            if frames == count:
                break
            frames += 1
        out += data[start:end]
    return out


# ---- command_fuzzer -------------------------------------------------------------------------


def hdr(kind, stream):
    return struct.pack("<II", kind, stream)


def queue_cmd(kind, stream, queue):
    return hdr(kind, stream) + struct.pack("<I4x", queue)


def stream_create(stream, fmt, in_mem=MEM_PAGES, out_mem=MEM_PAGES, tag=b"fuzz"):
    return (hdr(CMD_STREAM_CREATE, stream) + struct.pack("<III4x", in_mem, out_mem, fmt) +
            tag.ljust(64, b"\0"))


def resource_create(stream, queue, rid, entries, layout=1, num_entries=None, planes=1):
    num = [0] * 8
    num[0] = len(entries) if num_entries is None else num_entries
    body = struct.pack("<IIII", queue, rid, layout, planes) + struct.pack("<8I", *([0] * 8))
    body += struct.pack("<8I", *num)
    for addr, length in entries:
        body += struct.pack("<QI4x", addr, length)
    return hdr(CMD_RESOURCE_CREATE, stream) + body


def object_resource_create(stream, queue, rid, uuid):
    num = [1] + [0] * 7
    body = struct.pack("<IIII", queue, rid, 1, 1) + struct.pack("<8I", *([0] * 8))
    return hdr(CMD_RESOURCE_CREATE, stream) + body + struct.pack("<8I", *num) + uuid


def resource_queue(stream, queue, rid, ts, sizes):
    padded = list(sizes) + [0] * (8 - len(sizes))
    return (hdr(CMD_RESOURCE_QUEUE, stream) + struct.pack("<IIQI", queue, rid, ts, len(sizes)) +
            struct.pack("<8I", *padded) + b"\0" * 4)


def params(queue, fmt, width=0, height=0, planes=((0, 0),)):
    plane_formats = list(planes) + [(0, 0)] * (8 - len(planes))
    body = struct.pack("<6I", queue, fmt, width, height, 0, 0)
    body += struct.pack("<4I", 0, 0, width, height) + struct.pack("<II", 30, len(planes))
    for size, stride in plane_formats:
        body += struct.pack("<II", size, stride)
    assert len(body) == 112
    return body


def set_params(stream, queue, fmt, ext=True, resource_type=MEM_PAGES, **kw):
    body = params(queue, fmt, **kw)
    if ext:
        return hdr(CMD_SET_PARAMS_EXT, stream) + body + struct.pack("<I4x", resource_type)
    return hdr(CMD_SET_PARAMS, stream) + body


def query_control(stream, control, fmt=None):
    out = hdr(CMD_QUERY_CONTROL, stream) + struct.pack("<I4x", control)
    return out if fmt is None else out + struct.pack("<I4x", fmt)


def get_control(stream, control):
    return hdr(CMD_GET_CONTROL, stream) + struct.pack("<I4x", control)


def set_control(stream, control, value):
    return hdr(CMD_SET_CONTROL, stream) + struct.pack("<I4xI4x", control, value)


def rec(kind, payload):
    assert len(payload) < 65536
    return struct.pack("<BH", kind, len(payload)) + payload


def cmd(request, capacity=4096):
    return rec(0, struct.pack("<H", capacity) + request)


def ram(offset, data):
    return rec(1, struct.pack("<I", offset) + data)


WAIT_SETTLED, WAIT_EVENT, WAIT_ANSWERED = 0, 1, 2


def wait(ms, until=WAIT_SETTLED):
    return rec(2, bytes([ms, until]))


def events():
    return rec(3, b"")


def decode_script(stream, fmt, bitstream, outputs=10, out_fmt=FMT_NV12, ext=True, finish=True):
    s = ram(0, bitstream)
    s += cmd(stream_create(stream, fmt))
    s += cmd(set_params(stream, Q_IN, fmt, ext=ext, width=320, height=180,
                        planes=((64 << 10, 0),)))
    s += cmd(set_params(stream, Q_OUT, out_fmt, ext=ext))
    s += cmd(queue_cmd(CMD_GET_PARAMS_EXT if ext else CMD_GET_PARAMS, stream, Q_IN))
    s += cmd(resource_create(stream, Q_IN, 1, [(RAM_BASE, 64 << 10)]))
    for i in range(outputs):
        s += cmd(resource_create(stream, Q_OUT, 100 + i, [(OUT_BASE + i * OUT_SIZE, OUT_SIZE)]))
    s += cmd(resource_queue(stream, Q_IN, 1, 1000, [len(bitstream)]))
    s += wait(100, WAIT_EVENT) + events()  # the resolution change
    s += cmd(queue_cmd(CMD_GET_PARAMS_EXT, stream, Q_OUT))
    for i in range(outputs):
        s += cmd(resource_queue(stream, Q_OUT, 100 + i, 0, []))
    s += wait(10)
    if finish:
        s += cmd(hdr(CMD_STREAM_DRAIN, stream)) + wait(100, WAIT_ANSWERED) + events()
        s += cmd(hdr(CMD_STREAM_DESTROY, stream))
    return s


def command_seeds():
    # The parser emits a frame once the next one starts, and with B-frames the decoder returns
    # the first picture (and so the resolution change) only after a few more: five frames get
    # there before any drain.
    one = h264_frames(5)
    three = h264_frames(7)
    seeds = {}
    seeds["decode_h264_5frames"] = b"\0" + decode_script(1, FMT_H264, one)
    seeds["decode_h264_7frames_2threads"] = b"\1" + decode_script(7, FMT_H264, three)
    seeds["decode_h264_yuv420_plain_params"] = b"\0" + decode_script(
        2, FMT_H264, one, outputs=8, out_fmt=FMT_YUV420, ext=False)

    # Clear and destroy while decoding; re-queue afterwards.
    s = decode_script(3, FMT_H264, three, finish=False)
    s += cmd(queue_cmd(CMD_QUEUE_CLEAR, 3, Q_IN)) + wait(5)
    s += cmd(queue_cmd(CMD_QUEUE_CLEAR, 3, Q_OUT))
    s += cmd(resource_queue(3, Q_IN, 1, 2000, [len(three)]))
    s += cmd(resource_queue(3, Q_IN, 1, 2001, [len(three)]))  # already queued
    s += cmd(queue_cmd(CMD_RESOURCE_DESTROY_ALL, 3, Q_OUT))
    s += cmd(queue_cmd(CMD_RESOURCE_DESTROY_ALL, 3, Q_IN))
    s += cmd(hdr(CMD_STREAM_DRAIN, 3)) + cmd(hdr(CMD_STREAM_DRAIN, 3))
    seeds["clear_destroy_midstream"] = b"\0" + s

    # Capability and control queries, and params of a fresh stream.
    s = cmd(queue_cmd(CMD_QUERY_CAPABILITY, 0, Q_IN)) + cmd(queue_cmd(CMD_QUERY_CAPABILITY, 0, Q_OUT))
    s += cmd(queue_cmd(CMD_QUERY_CAPABILITY, 0, Q_IN), capacity=64)
    for fmt in (FMT_H264, FMT_HEVC, FMT_VP8, FMT_VP9):
        s += cmd(query_control(0, CONTROL_PROFILE, fmt)) + cmd(query_control(0, CONTROL_LEVEL, fmt))
    s += cmd(query_control(0, CONTROL_BITRATE))
    s += cmd(stream_create(5, FMT_VP9))
    s += cmd(get_control(5, CONTROL_PROFILE)) + cmd(get_control(5, CONTROL_LEVEL))
    s += cmd(set_control(5, CONTROL_BITRATE, 1000))
    for kind in (CMD_GET_PARAMS, CMD_GET_PARAMS_EXT):
        s += cmd(queue_cmd(kind, 5, Q_IN)) + cmd(queue_cmd(kind, 5, Q_OUT))
    s += cmd(queue_cmd(CMD_GET_PARAMS_EXT, 5, Q_OUT), capacity=16)
    s += cmd(set_params(5, Q_OUT, FMT_YVU420, ext=False)) + cmd(queue_cmd(CMD_GET_PARAMS, 5, Q_OUT))
    s += cmd(set_params(5, Q_IN, FMT_VP8, width=1920, height=1080, planes=((1 << 20, 0),)))
    s += cmd(hdr(CMD_STREAM_DESTROY, 5))
    seeds["queries"] = b"\0" + s

    # Several codecs at once, fed with H.264 bytes they cannot decode.
    s = ram(0, one)
    for stream, fmt in ((1, FMT_HEVC), (2, FMT_VP8), (3, FMT_VP9), (4, FMT_H264)):
        s += cmd(stream_create(stream, fmt))
        s += cmd(resource_create(stream, Q_IN, 1, [(RAM_BASE, 16384)]))
        s += cmd(resource_create(stream, Q_OUT, 1, [(OUT_BASE + stream * OUT_SIZE, OUT_SIZE)]))
        s += cmd(resource_queue(stream, Q_IN, 1, stream, [len(one)]))
        s += cmd(resource_queue(stream, Q_OUT, 1, 0, []))
    s += wait(30, WAIT_EVENT) + events()
    for stream in (1, 2, 3, 4):
        s += cmd(hdr(CMD_STREAM_DRAIN, stream))
    s += wait(30, WAIT_ANSWERED) + events()
    seeds["multi_codec"] = b"\0" + s

    # Error paths: bad ids, sizes, entries, capacities, object memory without a resolver.
    s = cmd(stream_create(9, FMT_H264)) + cmd(stream_create(9, FMT_H264))  # id in use
    s += cmd(stream_create(10, 0x1000))  # MPEG2: unsupported
    s += cmd(hdr(CMD_STREAM_DESTROY, 77)) + cmd(hdr(CMD_STREAM_DRAIN, 9))
    s += cmd(hdr(0x1FF, 9)) + cmd(b"\x01\x01") + cmd(hdr(CMD_STREAM_DESTROY, 9) + b"x")
    s += cmd(resource_create(9, Q_IN, 1, [(RAM_BASE, 4096)], num_entries=2))
    s += cmd(resource_create(9, Q_IN, 2, [(RAM_BASE + (4 << 20) - 16, 4096)]))  # past the RAM
    s += cmd(resource_create(9, Q_IN, 3, [(0xFFFFFFFFFFFFF000, 0x2000)]))  # wraps
    s += cmd(resource_create(9, Q_OUT, 4, [(RAM_BASE, 4096), (RAM_BASE + 8192, 4096)], layout=2,
                             planes=2))
    s += cmd(resource_create(9, Q_IN, 5, [(RAM_BASE, 4096)], planes=9))
    s += cmd(resource_queue(9, Q_IN, 42, 0, [16]))
    s += cmd(resource_create(9, Q_IN, 6, [(RAM_BASE, 4096)]))
    s += cmd(resource_queue(9, Q_IN, 6, 0, [8192]))  # bigger than the resource
    s += cmd(resource_queue(9, Q_IN, 6, 0, []))  # empty
    s += cmd(queue_cmd(CMD_GET_PARAMS, 9, 0x55))
    s += cmd(queue_cmd(CMD_GET_PARAMS_EXT, 9, Q_OUT), capacity=8)
    s += cmd(stream_create(11, FMT_H264, MEM_OBJECT, MEM_OBJECT))
    s += cmd(object_resource_create(11, Q_IN, 1, bytes(range(16))))
    s += cmd(set_params(11, Q_IN, FMT_H264, resource_type=MEM_PAGES))
    s += cmd(queue_cmd(CMD_QUEUE_CLEAR, 11, Q_IN)) + cmd(queue_cmd(CMD_QUEUE_CLEAR, 11, Q_OUT))
    seeds["errors"] = b"\0" + s

    # Parser mode: one well-formed request of each kind.
    parser = {
        "query_capability": queue_cmd(CMD_QUERY_CAPABILITY, 0, Q_IN),
        "stream_create": stream_create(1, FMT_H264),
        "stream_destroy": hdr(CMD_STREAM_DESTROY, 1),
        "stream_drain": hdr(CMD_STREAM_DRAIN, 1),
        "resource_create": resource_create(1, Q_OUT, 3, [(RAM_BASE, 4096), (RAM_BASE + 8192, 100)],
                                           layout=2, num_entries=2),
        "resource_queue": resource_queue(1, Q_IN, 3, 123, [4096]),
        "resource_destroy_all": queue_cmd(CMD_RESOURCE_DESTROY_ALL, 1, Q_OUT),
        "queue_clear": queue_cmd(CMD_QUEUE_CLEAR, 1, Q_IN),
        "get_params_ext": queue_cmd(CMD_GET_PARAMS_EXT, 1, Q_OUT),
        "set_params": set_params(1, Q_OUT, FMT_NV12, ext=False),
        "set_params_ext": set_params(1, Q_IN, FMT_HEVC, width=640, height=480),
        "query_control": query_control(0, CONTROL_LEVEL, FMT_H264),
        "get_control": get_control(1, CONTROL_PROFILE),
        "set_control": set_control(1, CONTROL_BITRATE, 5),
    }
    for name, request in parser.items():
        seeds["parse_" + name] = b"\x80" + request
    for name, request in media_requests().items():
        seeds["media_" + name] = b"\xc0" + request
    # virtio-media device mode (first byte 0xE0 | threads): a whole decode through MediaDevice.
    seeds["device_media_decode_h264"] = b"\xe0" + media_decode_script(one)
    return seeds


# virtio-media commandq requests (vdec/protocol/virtio_media.h, v4l2.h), for the media parser mode.
MEDIA_OPEN, MEDIA_CLOSE, MEDIA_IOCTL, MEDIA_MMAP, MEDIA_MUNMAP = 1, 2, 3, 4, 5
V4L2_MEMORY_MMAP, V4L2_MEMORY_USERPTR, V4L2_MEMORY_DMABUF = 1, 2, 4
V4L2_OUTPUT, V4L2_CAPTURE_MPLANE = 2, 9


def media_ioctl(code, payload, session=1):
    return struct.pack("<IIII", MEDIA_IOCTL, 0, session, code) + payload


def v4l2_buffer(buf_type, memory, length, index=0):
    # index type bytesused flags field pad; timestamp; timecode; sequence memory m length ...
    return (struct.pack("<IIIIII", index, buf_type, 0, 0, 1, 0) + bytes(16) + bytes(16) +
            struct.pack("<IIQIIII", 0, memory, 0, length, 0, 0, 0))


def v4l2_plane(length):
    return struct.pack("<IIQI", 0, length, 0, 0) + bytes(44)


def sg(start, length):
    return struct.pack("<QII", start, length, 0)


def media_requests():
    return {
        "open": struct.pack("<II", MEDIA_OPEN, 0),
        "close": struct.pack("<IIII", MEDIA_CLOSE, 0, 1, 0),
        "mmap": struct.pack("<IIIII", MEDIA_MMAP, 0, 1, 1, 0x1000),
        "munmap": struct.pack("<IIQ", MEDIA_MUNMAP, 0, 0x1000),
        "g_fmt": media_ioctl(4, struct.pack("<I", V4L2_CAPTURE_MPLANE) + bytes(204)),
        "streamon": media_ioctl(18, struct.pack("<I", V4L2_OUTPUT)),
        "qbuf_mmap": media_ioctl(15, v4l2_buffer(V4L2_OUTPUT, V4L2_MEMORY_MMAP, 4096)),
        "qbuf_userptr": media_ioctl(15, v4l2_buffer(V4L2_OUTPUT, V4L2_MEMORY_USERPTR, 6000) +
                                    sg(0x10000, 4096) + sg(0x30000, 4096)),
        "qbuf_userptr_mplane": media_ioctl(
            15, v4l2_buffer(V4L2_CAPTURE_MPLANE, V4L2_MEMORY_USERPTR, 2) + v4l2_plane(8192) +
            v4l2_plane(100) + sg(0x1000, 8192) + sg(0x9000, 100)),
        "qbuf_dmabuf_mplane": media_ioctl(
            15, v4l2_buffer(V4L2_CAPTURE_MPLANE, V4L2_MEMORY_DMABUF, 2) + v4l2_plane(100) +
            v4l2_plane(50) + bytes(range(16)) + bytes(range(16, 32))),
        "s_ext_ctrls": media_ioctl(
            72, struct.pack("<IIIiIIQ", 0x990000, 2, 0, 0, 0, 0, 0) +
            struct.pack("<IIIQ", 0x990a6b, 0, 0, 3) + struct.pack("<IIIQ", 0x990a6c, 12, 0, 0) +
            sg(0x7000, 12)),
        "querycap_enotty": media_ioctl(0, bytes(104)),
    }


V4L2_OUTPUT_MPLANE = 10
V4L2_EVENT_SOURCE_CHANGE, V4L2_EVENT_EOS = 5, 2


def media_decode_script(bitstream, session=0):
    """OPEN, S_FMT(H264), events, OUTPUT REQBUFS/QBUF/STREAMON, then CAPTURE set-up after the
    source change, a drain (DECODER_CMD STOP) and CLOSE (no writable part)."""
    out_base = OUT_BASE
    s = ram(0, bitstream)
    s += cmd(struct.pack("<II", MEDIA_OPEN, 0))
    fmt = struct.pack("<II", V4L2_OUTPUT_MPLANE, 0) + struct.pack("<IIII", 320, 180, 0x34363248, 1)
    s += cmd(media_ioctl(5, fmt + bytes(208 - len(fmt)), session))
    for event in (V4L2_EVENT_SOURCE_CHANGE, V4L2_EVENT_EOS):
        s += cmd(media_ioctl(90, struct.pack("<I", event) + bytes(28), session))
    s += cmd(media_ioctl(8, struct.pack("<IIIIB3x", 1, V4L2_OUTPUT_MPLANE, V4L2_MEMORY_USERPTR,
                                        0, 0), session))
    length = (len(bitstream) + 4095) // 4096 * 4096
    plane = struct.pack("<IIQI", len(bitstream), length, 0, 0) + bytes(44)
    sgs = b"".join(sg(RAM_BASE + o, 4096) for o in range(0, length, 4096))
    s += cmd(media_ioctl(15, v4l2_buffer(V4L2_OUTPUT_MPLANE, V4L2_MEMORY_USERPTR, 1) + plane +
                         sgs, session))
    s += cmd(media_ioctl(18, struct.pack("<I", V4L2_OUTPUT_MPLANE), session))
    s += wait(100, WAIT_EVENT) + events()
    s += cmd(media_ioctl(8, struct.pack("<IIIIB3x", 8, V4L2_CAPTURE_MPLANE, V4L2_MEMORY_USERPTR,
                                        0, 0), session))
    for i in range(8):
        plane = struct.pack("<IIQI", 0, OUT_SIZE, 0, 0) + bytes(44)
        sgs = b"".join(sg(out_base + i * OUT_SIZE + o, 4096) for o in range(0, OUT_SIZE, 4096))
        s += cmd(media_ioctl(15, v4l2_buffer(V4L2_CAPTURE_MPLANE, V4L2_MEMORY_USERPTR, 1, i) +
                             plane + sgs, session), capacity=1024)
    s += cmd(media_ioctl(18, struct.pack("<I", V4L2_CAPTURE_MPLANE), session))
    s += cmd(media_ioctl(96, struct.pack("<II", 1, 0) + bytes(64), session))  # STOP
    s += wait(100) + events()
    s += cmd(struct.pack("<IIII", MEDIA_CLOSE, 0, session, 0), capacity=0)
    return s


# ---- bitstream_fuzzer -----------------------------------------------------------------------

CODEC_H264, CODEC_HEVC, CODEC_VP8, CODEC_VP9 = 0, 1, 2, 3
PIXEL_AV1 = 3  # bitstream_fuzzer: pixel format field 3 selects AV1


def ffmpeg_encode(args, suffix):
    """Encodes 6 frames of testsrc2 at 64x64 with the given encoder args; None if unavailable."""
    if not shutil.which("ffmpeg"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out." + suffix)
        command = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                   "testsrc2=size=64x64:rate=25:duration=0.24", "-pix_fmt", "yuv420p"]
        command += args + ["-y", path]
        if subprocess.run(command, check=False).returncode != 0:
            return None
        with open(path, "rb") as f:
            return f.read()


def ivf_frames(data):
    frames = []
    offset = struct.unpack_from("<H", data, 6)[0]  # header length
    while offset + 12 <= len(data):
        size = struct.unpack_from("<I", data, offset)[0]
        frames.append(data[offset + 12:offset + 12 + size])
        offset += 12 + size
    return frames


def frame_records(frames, control=()):
    """Record mode: [op][u16 length][bytes], op 0 = decode; `control` inserts (index, op)."""
    out = b""
    extra = dict(control)
    for i, frame in enumerate(frames):
        if i in extra:
            out += struct.pack("<BH", extra[i], 0)
        out += struct.pack("<BH", 0, len(frame)) + frame
    return out


def bitstream_seeds():
    seeds = {}
    h264 = h264_frames(3)
    # byte 0: codec | pixel format << 2 | flags; byte 1: chunk size / 16 (0 = record mode).
    seeds["h264_3frames_chunk4k"] = bytes([CODEC_H264, 0]) + frame_records([h264])
    seeds["h264_3frames_chunk256"] = bytes([CODEC_H264, 16]) + h264
    seeds["h264_3frames_i420_chunk1k_small"] = bytes([CODEC_H264 | 1 << 2 | 0x10, 64]) + h264
    seeds["h264_prefix_8k_yv12"] = bytes([CODEC_H264 | 2 << 2 | 0x60, 255]) + h264_sample()[:8192]
    seeds["h264_reset_clear"] = bytes([CODEC_H264 | 0x20, 0]) + frame_records(
        [h264[:2000], h264[2000:], h264], control=((1, 6), (2, 7)))
    hevc = ffmpeg_encode(["-c:v", "libx265", "-x265-params", "log-level=none:bframes=2",
                          "-f", "hevc"], "hevc")
    if hevc:
        seeds["hevc_64x64_chunk512"] = bytes([CODEC_HEVC, 32]) + hevc
        seeds["hevc_64x64_whole"] = bytes([CODEC_HEVC | 1 << 2, 0]) + frame_records([hevc])
    vp8 = ffmpeg_encode(["-c:v", "libvpx", "-b:v", "100k", "-f", "ivf"], "ivf")
    if vp8:
        frames = ivf_frames(vp8)
        seeds["vp8_64x64_frames"] = bytes([CODEC_VP8, 0]) + frame_records(frames)
        seeds["vp8_64x64_clear"] = bytes([CODEC_VP8 | 0x40, 0]) + frame_records(
            frames, control=((3, 6),))
    vp9 = ffmpeg_encode(["-c:v", "libvpx-vp9", "-b:v", "100k", "-f", "ivf"], "ivf")
    if vp9:
        frames = ivf_frames(vp9)
        seeds["vp9_64x64_frames"] = bytes([CODEC_VP9, 0]) + frame_records(frames)
        seeds["vp9_64x64_chunk64"] = bytes([CODEC_VP9 | 2 << 2, 4]) + b"".join(frames)
    av1 = ffmpeg_encode(["-c:v", "libaom-av1", "-cpu-used", "8", "-f", "ivf"], "ivf")
    if av1:
        # Pixel format field 3 selects AV1; bits 0-1 are then the pixel format (i420).
        frames = ivf_frames(av1)
        seeds["av1_64x64_frames"] = bytes([PIXEL_AV1 << 2 | 1, 0]) + frame_records(frames)
        seeds["av1_64x64_reset"] = bytes([PIXEL_AV1 << 2 | 0x20, 0]) + frame_records(
            frames, control=((2, 7),))
    return seeds


# ---- descriptor_chain_fuzzer ----------------------------------------------------------------

DC_RAM_BASE = 0x40000000  # descriptor_chain_fuzzer.cpp kRamBase
DC_RAM_SIZE = 1 << 20
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


class Ring:
    """A split virtqueue image at the start of guest RAM: desc at 0, avail, used after it."""

    def __init__(self, size, next_avail=0):
        self.size = size
        self.next_avail = next_avail
        self.desc_off = 0
        self.avail_off = 16 * size
        self.used_off = (self.avail_off + 6 + 2 * size + 3) // 4 * 4
        self.image = bytearray(self.used_off + 6 + 8 * size)
        self.heads = []

    def desc(self, index, offset, length, flags=0, next_index=0, absolute=False):
        addr = offset if absolute else DC_RAM_BASE + offset
        struct.pack_into("<QIHH", self.image, self.desc_off + 16 * index, addr, length, flags,
                         next_index)

    def table(self, offset, entries):
        """An indirect table at `offset` in the image: (offset, length, flags, next) entries."""
        end = offset + 16 * len(entries)
        if len(self.image) < end:
            self.image.extend(b"\0" * (end - len(self.image)))
        for i, (addr, length, flags, nxt) in enumerate(entries):
            struct.pack_into("<QIHH", self.image, offset + 16 * i, DC_RAM_BASE + addr, length,
                             flags, nxt)

    def publish(self, *heads):
        for head in heads:
            slot = (self.next_avail + len(self.heads)) % self.size
            struct.pack_into("<H", self.image, self.avail_off + 4 + 2 * slot, head)
            self.heads.append(head)
        struct.pack_into("<H", self.image, self.avail_off + 2,
                         (self.next_avail + len(self.heads)) & 0xFFFF)

    def seed(self, ops):
        header = struct.pack("<BHIII", self.size.bit_length() - 1, self.next_avail,
                             self.desc_off, self.avail_off, self.used_off)
        return header + struct.pack("<H", len(self.image)) + bytes(self.image) + ops


OP_POP, OP_DRAIN = b"\0", b"\3"


def op_publish(idx):
    return b"\1" + struct.pack("<H", idx)


def op_poke(offset, value):
    return b"\2" + struct.pack("<IB", offset, value)


def descriptor_chain_seeds():
    seeds = {}
    r = Ring(8)
    r.desc(0, 0x1000, 16, F_NEXT, 1)
    r.desc(1, 0x2000, 64, F_WRITE)
    r.desc(2, 0x1100, 88)
    r.desc(3, 0x1200, 8, F_NEXT, 4)
    r.desc(4, 0x1300, 0, F_NEXT, 5)  # zero length: legal
    r.desc(5, 0x3000, 4096, F_WRITE | F_NEXT, 6)
    r.desc(6, 0x4000, 24, F_WRITE)
    r.publish(0, 2, 3)
    seeds["basic"] = r.seed(OP_POP * 4)

    r = Ring(4)
    r.desc(0, 0x800, 48, F_INDIRECT)
    r.table(0x800, [(0x1000, 16, F_NEXT, 1), (0x1100, 72, F_NEXT, 2), (0x2000, 128, F_WRITE, 0)])
    r.desc(1, 0x900, 32, F_INDIRECT)
    r.table(0x900, [(0x1000, 8, F_NEXT, 1), (0x2000, 8, F_WRITE, 0)])
    r.publish(0, 1)
    seeds["indirect"] = r.seed(OP_DRAIN)

    r = Ring(16)
    r.desc(0, 0x1000, 16, F_NEXT, 0)  # loops on itself
    r.desc(1, 0x1000, 16, F_NEXT, 40)  # next outside the table
    r.desc(2, 0x2000, 16, F_WRITE | F_NEXT, 3)
    r.desc(3, 0x1000, 16)  # readable after writable
    r.desc(4, 0xA00, 16, F_INDIRECT)
    r.table(0xA00, [(0xA00, 16, F_INDIRECT, 0)])  # nested indirect
    r.desc(5, 0xFFFFFFFFFFFFFFF0, 64, absolute=True)  # wraps
    r.desc(6, DC_RAM_SIZE - 8, 16)  # crosses into the separately mapped region
    r.desc(7, 0x1000, 0xFFFFFFFF, F_NEXT, 8)
    r.desc(8, 0x1000, 0xFFFFFFFF)  # over kMaxChainBytes
    r.desc(9, 0xB00, 24, F_INDIRECT)  # length not a multiple of 16
    r.desc(10, 0xC00, 16, F_INDIRECT | F_NEXT, 11)
    r.desc(11, DC_RAM_SIZE + 0x100, 32, F_WRITE)  # in the second region: fine
    r.publish(0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 99)  # 99: head outside the queue
    seeds["malformed"] = r.seed(OP_DRAIN + op_publish(0x200) + OP_POP)

    r = Ring(4, next_avail=0xFFFE)
    for i in range(4):
        r.desc(i, 0x1000 + 0x100 * i, 32, F_WRITE)
    r.publish(0, 1, 2, 3)
    seeds["wraparound"] = r.seed(OP_DRAIN + op_publish(3) + OP_POP + op_publish(0xFFFE) + OP_POP)

    r = Ring(256)
    for i in range(0, 256, 2):
        r.desc(i, 0x8000 + 0x40 * i, 40, F_NEXT, i + 1)
        r.desc(i + 1, 0x10000 + 0x40 * i, 64, F_WRITE)
    r.publish(*range(0, 64, 2))
    seeds["big_queue"] = r.seed(OP_POP * 8 + OP_DRAIN)

    r = Ring(8)
    r.desc(0, 0x1000, 16, F_NEXT, 1)
    r.desc(1, 0x2000, 64, F_WRITE)
    r.publish(0, 0)
    ops = OP_POP + op_poke(r.desc_off + 14, 0)  # the guest rewrites desc 0's next
    ops += op_poke(r.desc_off + 12, F_NEXT | F_WRITE) + OP_POP
    ops += op_poke(r.avail_off + 4, 7) + op_publish(3) + OP_DRAIN
    seeds["guest_rewrites"] = r.seed(ops)
    return seeds


# ---- vhost_user_fuzzer ----------------------------------------------------------------------

VU_GET_FEATURES, VU_SET_FEATURES, VU_SET_OWNER, VU_RESET_OWNER, VU_SET_MEM_TABLE = 1, 2, 3, 4, 5
VU_SET_LOG_BASE = 6
VU_SET_VRING_NUM, VU_SET_VRING_ADDR, VU_SET_VRING_BASE, VU_GET_VRING_BASE = 8, 9, 10, 11
VU_SET_VRING_KICK, VU_SET_VRING_CALL, VU_SET_VRING_ERR = 12, 13, 14
VU_GET_PROTOCOL_FEATURES, VU_SET_PROTOCOL_FEATURES, VU_GET_QUEUE_NUM = 15, 16, 17
VU_SET_VRING_ENABLE, VU_SET_BACKEND_REQ_FD, VU_GET_CONFIG, VU_SET_CONFIG = 18, 21, 24, 25
VU_RESET_DEVICE, VU_GET_MAX_MEM_SLOTS, VU_SET_STATUS, VU_GET_STATUS = 34, 36, 39, 40
VU_VERSION, VU_NEED_REPLY = 0x1, 0x8
VU_NOFD = 0x100
VU_FEATURES = (1 << 32) | (1 << 28) | (1 << 30) | 0b111
VU_PROTOCOL = (1 << 0) | (1 << 3) | (1 << 5) | (1 << 9) | (1 << 10) | (1 << 13) | (1 << 16) | (1 << 18)
VU_USER = 0x7F0000000000  # front-end address of guest RAM in the seeds (gpa 0)
FD_MEMFD, FD_EVENT, FD_SOCKET = 1 << 2, 0x10, 0x20


def vu(request, payload=b"", fds=0, flags=VU_VERSION):
    body = struct.pack("<II", request, flags) + payload
    return struct.pack("<BH", fds, len(body)) + body


def vu_raw(data):
    return struct.pack("<BH", 1, len(data)) + data


def vu_kick():
    return struct.pack("<BH", 2, 0)


def vu_ram(offset, data):
    return struct.pack("<BH", 3, 4 + len(data)) + struct.pack("<I", offset) + data


def u64(value):
    return struct.pack("<Q", value)


def vring_state(index, num):
    return struct.pack("<II", index, num)


def handshake():
    s = vu(VU_GET_FEATURES) + vu(VU_SET_FEATURES, u64(VU_FEATURES))
    s += vu(VU_GET_PROTOCOL_FEATURES) + vu(VU_SET_PROTOCOL_FEATURES, u64(VU_PROTOCOL))
    s += vu(VU_SET_OWNER) + vu(VU_GET_QUEUE_NUM) + vu(VU_GET_MAX_MEM_SLOTS)
    return s


def mem_table(regions):
    payload = struct.pack("<II", len(regions), 0)
    for gpa, size, user, offset in regions:
        payload += struct.pack("<QQQQ", gpa, size, user, offset)
    return vu(VU_SET_MEM_TABLE, payload, fds=FD_MEMFD * len(regions))


def ring_setup(index, size, desc, avail, used):
    s = vu(VU_SET_VRING_NUM, vring_state(index, size))
    s += vu(VU_SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, VU_USER + desc, VU_USER + used,
                                           VU_USER + avail, 0))
    s += vu(VU_SET_VRING_BASE, vring_state(index, 0))
    s += vu(VU_SET_VRING_CALL, u64(index), fds=FD_EVENT)
    s += vu(VU_SET_VRING_KICK, u64(index), fds=FD_EVENT)
    s += vu(VU_SET_VRING_ENABLE, vring_state(index, 1))
    return s


def command_ring_image(requests):
    """Ring 0 (size 8) at 0x0/0x100/0x200 holding one chain per request, request bytes at
    0x1000 + 0x400 * i and a 1 KiB response buffer at 0x4000 + 0x400 * i."""
    ring = bytearray(0x208 + 8 * 8)
    data = b""
    for i, request in enumerate(requests):
        req_addr = 0x1000 + 0x400 * i
        struct.pack_into("<QIHH", ring, 32 * i, req_addr, len(request), F_NEXT, 2 * i + 1)
        struct.pack_into("<QIHH", ring, 32 * i + 16, 0x4000 + 0x400 * i, 1024, F_WRITE, 0)
        struct.pack_into("<H", ring, 0x104 + 2 * i, 2 * i)
        data += vu_ram(req_addr, request)
    struct.pack_into("<H", ring, 0x102, len(requests))
    return vu_ram(0, bytes(ring)) + data


def event_ring_image():
    """Ring 1 (size 8) at 0x800/0x900/0xA00 with four 8-byte event buffers at 0x8000."""
    ring = bytearray(0x208 + 8 * 8)
    for i in range(4):
        struct.pack_into("<QIHH", ring, 16 * i, 0x8000 + 8 * i, 8, F_WRITE, 0)
        struct.pack_into("<H", ring, 0x104 + 2 * i, i)
    struct.pack_into("<H", ring, 0x102, 4)
    return vu_ram(0x800, bytes(ring))


def vhost_user_seeds():
    seeds = {}
    s = handshake()
    s += vu(VU_GET_CONFIG, struct.pack("<III", 0, 44, 0) + b"\0" * 44)
    s += vu(VU_GET_CONFIG, struct.pack("<III", 40, 8, 0) + b"\0" * 8)  # past the end
    s += vu(VU_SET_STATUS, u64(0xF)) + vu(VU_GET_STATUS)
    s += vu(VU_SET_CONFIG, struct.pack("<III", 0, 4, 0) + b"\0" * 4, flags=VU_VERSION | VU_NEED_REPLY)
    seeds["handshake"] = s

    ram = [(0, 1 << 20, VU_USER, 0)]
    requests = [
        queue_cmd(CMD_QUERY_CAPABILITY, 0, Q_IN),
        stream_create(1, FMT_H264),
        queue_cmd(CMD_GET_PARAMS_EXT, 1, Q_OUT),
        resource_create(1, Q_IN, 1, [(0x20000, 0x10000)]),
        hdr(CMD_STREAM_DESTROY, 1),
    ]
    s = handshake() + mem_table(ram)
    s += command_ring_image(requests) + event_ring_image()
    s += ring_setup(0, 8, 0x0, 0x100, 0x200) + ring_setup(1, 8, 0x800, 0x900, 0xA00)
    s += vu_kick() + vu(VU_GET_VRING_BASE, vring_state(0, 0))
    s += vu(VU_GET_VRING_BASE, vring_state(1, 0))
    seeds["rings_commands"] = s

    # Decoding through the rings: H.264 bytes in guest RAM, queued as an input resource.
    bitstream = h264_frames(5)
    requests = [
        stream_create(1, FMT_H264),
        resource_create(1, Q_IN, 1, [(0x20000, 0x10000)]),
        resource_create(1, Q_OUT, 2, [(0x40000, 0x20000)]),
        resource_queue(1, Q_IN, 1, 7, [len(bitstream)]),
        resource_queue(1, Q_OUT, 2, 0, []),
        hdr(CMD_STREAM_DRAIN, 1),
    ]
    s = handshake() + mem_table(ram) + vu_ram(0x20000, bitstream)
    s += command_ring_image(requests) + event_ring_image()
    s += ring_setup(1, 8, 0x800, 0x900, 0xA00) + ring_setup(0, 8, 0x0, 0x100, 0x200)
    s += vu_kick() + vu(VU_GET_FEATURES) + vu(VU_RESET_DEVICE)
    seeds["rings_decode"] = s

    # Protocol errors: short payloads, wrong fd counts, bad indices and sizes, unknown requests.
    s = handshake()
    s += vu(VU_SET_FEATURES, u64(1 << 63), flags=VU_VERSION | VU_NEED_REPLY)
    s += vu(VU_SET_FEATURES, b"\1\2")
    s += vu(VU_SET_MEM_TABLE, struct.pack("<II", 2, 0) + struct.pack("<QQQQ", 0, 4096, 0, 0),
            fds=FD_MEMFD)
    s += mem_table([(0, 1 << 20, VU_USER, 0), (0x80000, 1 << 20, VU_USER + 0x80000, 0)])  # overlap
    s += vu(VU_SET_VRING_NUM, vring_state(5, 8)) + vu(VU_SET_VRING_NUM, vring_state(0, 3))
    s += vu(VU_SET_VRING_NUM, vring_state(0, 4096))
    s += vu(VU_SET_VRING_KICK, u64(0)) + vu(VU_SET_VRING_CALL, u64(1 | VU_NOFD))
    s += vu(VU_SET_VRING_ERR, u64(0), fds=FD_EVENT)
    s += vu(VU_SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, 3, 5, 7, 0))  # misaligned
    s += vu(VU_SET_VRING_ENABLE, vring_state(0, 1)) + vu(VU_GET_VRING_BASE, b"\0")
    s += vu(VU_SET_BACKEND_REQ_FD) + vu(VU_SET_BACKEND_REQ_FD, fds=FD_SOCKET)
    s += vu(VU_SET_LOG_BASE, u64(0), flags=VU_VERSION | VU_NEED_REPLY) + vu(99) + vu(VU_RESET_OWNER)
    s += vu_raw(struct.pack("<III", VU_GET_FEATURES, VU_VERSION, 2))  # truncated message
    seeds["errors"] = s

    seeds["oversized"] = handshake() + vu_raw(struct.pack("<III", VU_SET_MEM_TABLE, 1, 1 << 20))
    return seeds


TARGETS = {
    "command_fuzzer": command_seeds,
    "bitstream_fuzzer": bitstream_seeds,
    "descriptor_chain_fuzzer": descriptor_chain_seeds,
    "vhost_user_fuzzer": vhost_user_seeds,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(TARGETS))
    args = parser.parse_args()
    for target, make in TARGETS.items():
        if args.only and target != args.only:
            continue
        write_corpus(target, make())
    return 0


if __name__ == "__main__":
    sys.exit(main())
