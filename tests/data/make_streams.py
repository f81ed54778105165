#!/usr/bin/env python3
"""Regenerates the small H.264 field-coding and reordering test streams in tests/data.

Needs the `ffmpeg` tool with libx264 (Debian 12: ffmpeg 5.1, x264 0.164). Pure stdlib Python.
Run from anywhere:  python3 tests/data/make_streams.py [outdir]

x264 output depends on the x264 build, so a rerun elsewhere gives equivalent, not identical,
files; the committed files are the reference. Every stream is 176x144, 30 pictures or fewer.

Streams:
  mbaff_tff_b.h264      MBAFF, top field first (POC and pic_struct SEI agree), B-pyramid
  mbaff_bff_b.h264      MBAFF, bottom field first, B-pyramid
  fake_interlaced_b.h264  frame_mbs_only_flag=0 but every picture a frame (x264 fake-interlaced)
  paff_fields_p.h264    PAFF: every picture a pair of field pictures (field_pic_flag=1),
                        synthesised from a CAVLC half-height x264 encode (x264 cannot do PAFF)
  noreorder_vui_b.h264  B-pyramid (2 reorder frames) with the VUI bitstream_restriction removed
  reorder_grows.h264    first 14 pictures I/P only, then B-pyramid, one SPS without
                        bitstream_restriction (even the ffmpeg tool loses one picture)
  damaged_mbaff_tff_b.h264   mbaff_tff_b with 24 garbage bytes in the middle of slice 5 (a P
                        slice) and slice 17 (P) cut to 40%: two really damaged pictures
  damaged_paff_fields_p.h264 paff_fields_p with garbage in slice 5 (CAVLC: parses as valid
                        syntax, libavcodec notices nothing) and slice 12 (top field of frame 6)
                        cut to 40%

Measured with libavcodec 59.37 (plain send_packet/receive_frame loop, h264 parser):
  clean streams: decode_error_flags 0, no AV_FRAME_FLAG_CORRUPT, identical pictures with 1 thread
  and with 2-16 frame threads. noreorder_vui_b and reorder_grows: default libavcodec logs
  "Increasing reorder buffer to 1" then "... to 2" and outputs 29 of 30 pictures; with
  strict_std_compliance = FF_COMPLIANCE_STRICT it outputs all 30 (has_b_frames = 9, the level's
  DPB size). damaged_mbaff_tff_b: decode_error_flags 12 (CONCEALMENT_ACTIVE | DECODE_SLICES)
  on the damaged pictures single-threaded; with frame threads the flag is sometimes missing.
  damaged_paff_fields_p: flags 8 only (no error concealment on field pictures).
"""
import os
import subprocess
import sys

# ---------------------------------------------------------------- NAL and bit helpers

def split_nals(data):
    """Annex-B byte stream -> list of NAL unit payloads (with header byte, still escaped)."""
    out, i, n = [], 0, len(data)
    starts = []
    while i + 3 <= n:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            starts.append(i + 3)
            i += 3
        else:
            i += 1
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else n
        while e > s and data[e - 1] == 0:  # zero_byte of the next start code / trailing zeros
            e -= 1
        out.append(bytes(data[s:e]))
    return out


def join_nals(nals):
    return b"".join(b"\x00\x00\x00\x01" + n for n in nals)


def unescape(nal):
    out, zeros = bytearray(), 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def escape(rbsp):
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u(self, n):
        v = 0
        for _ in range(n):
            v = (v << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self):
        z = 0
        while self.u(1) == 0:
            z += 1
        return (1 << z) - 1 + self.u(z)

    def se(self):
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)

    def bits_left(self):
        return len(self.data) * 8 - self.pos


class Writer:
    def __init__(self):
        self.bits = []

    def u(self, n, v):
        for i in range(n - 1, -1, -1):
            self.bits.append((v >> i) & 1)

    def ue(self, v):
        v += 1
        n = v.bit_length()
        self.u(n - 1, 0)
        self.u(n, v)

    def se(self, v):
        self.ue(2 * v - 1 if v > 0 else -2 * v)

    def copy(self, r, nbits):
        for _ in range(nbits):
            self.bits.append(r.u(1))

    def trailing(self):  # rbsp_trailing_bits
        self.bits.append(1)
        while len(self.bits) % 8:
            self.bits.append(0)

    def tobytes(self):
        assert len(self.bits) % 8 == 0
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            b = 0
            for bit in self.bits[i:i + 8]:
                b = (b << 1) | bit
            out.append(b)
        return bytes(out)


class Recorder:
    """Reads syntax elements in order and keeps (name, kind, value) so they can be edited and
    written back. kind: ('u', n) | 'ue' | 'se'."""

    def __init__(self, r):
        self.r, self.items = r, []

    def u(self, name, n):
        v = self.r.u(n)
        self.items.append([name, ("u", n), v])
        return v

    def ue(self, name):
        v = self.r.ue()
        self.items.append([name, "ue", v])
        return v

    def se(self, name):
        v = self.r.se()
        self.items.append([name, "se", v])
        return v

    def index(self, name):
        return next(i for i, it in enumerate(self.items) if it[0] == name)

    def get(self, name):
        return self.items[self.index(name)][2]

    def set(self, name, v):
        self.items[self.index(name)][2] = v

    def emit(self, w, items=None):
        for name, kind, v in (self.items if items is None else items):
            if kind == "ue":
                w.ue(v)
            elif kind == "se":
                w.se(v)
            else:
                w.u(kind[1], v)

# ---------------------------------------------------------------- SPS

def parse_hrd(c, p):
    cnt = c.ue(p + "cpb_cnt_minus1")
    c.u(p + "bit_rate_scale", 4)
    c.u(p + "cpb_size_scale", 4)
    for i in range(cnt + 1):
        c.ue(p + "bit_rate_value_minus1_%d" % i)
        c.ue(p + "cpb_size_value_minus1_%d" % i)
        c.u(p + "cbr_flag_%d" % i, 1)
    for name in ("initial_cpb_removal_delay_length_minus1", "cpb_removal_delay_length_minus1",
                 "dpb_output_delay_length_minus1", "time_offset_length"):
        c.u(p + name, 5)


def parse_sps(rbsp):
    """Returns a Recorder holding the whole SPS; every element name is unique."""
    c = Recorder(Reader(rbsp))
    c.u("nal_header", 8)
    profile = c.u("profile_idc", 8)
    c.u("constraint_flags", 8)
    c.u("level_idc", 8)
    c.ue("seq_parameter_set_id")
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        cf = c.ue("chroma_format_idc")
        if cf == 3:
            c.u("separate_colour_plane_flag", 1)
        c.ue("bit_depth_luma_minus8")
        c.ue("bit_depth_chroma_minus8")
        c.u("qpprime_y_zero_transform_bypass_flag", 1)
        if c.u("seq_scaling_matrix_present_flag", 1):
            raise ValueError("scaling matrices not handled")
    c.ue("log2_max_frame_num_minus4")
    poc = c.ue("pic_order_cnt_type")
    if poc == 0:
        c.ue("log2_max_pic_order_cnt_lsb_minus4")
    elif poc == 1:
        raise ValueError("poc type 1 not handled")
    c.ue("max_num_ref_frames")
    c.u("gaps_in_frame_num_value_allowed_flag", 1)
    c.ue("pic_width_in_mbs_minus1")
    c.ue("pic_height_in_map_units_minus1")
    if not c.u("frame_mbs_only_flag", 1):
        c.u("mb_adaptive_frame_field_flag", 1)
    c.u("direct_8x8_inference_flag", 1)
    if c.u("frame_cropping_flag", 1):
        for s in ("left", "right", "top", "bottom"):
            c.ue("frame_crop_%s_offset" % s)
    if c.u("vui_parameters_present_flag", 1):
        if c.u("aspect_ratio_info_present_flag", 1):
            if c.u("aspect_ratio_idc", 8) == 255:
                c.u("sar_width", 16)
                c.u("sar_height", 16)
        if c.u("overscan_info_present_flag", 1):
            c.u("overscan_appropriate_flag", 1)
        if c.u("video_signal_type_present_flag", 1):
            c.u("video_format", 3)
            c.u("video_full_range_flag", 1)
            if c.u("colour_description_present_flag", 1):
                c.u("colour_primaries", 8)
                c.u("transfer_characteristics", 8)
                c.u("matrix_coefficients", 8)
        if c.u("chroma_loc_info_present_flag", 1):
            c.ue("chroma_sample_loc_type_top_field")
            c.ue("chroma_sample_loc_type_bottom_field")
        if c.u("timing_info_present_flag", 1):
            c.u("num_units_in_tick", 32)
            c.u("time_scale", 32)
            c.u("fixed_frame_rate_flag", 1)
        nal_hrd = c.u("nal_hrd_parameters_present_flag", 1)
        if nal_hrd:
            parse_hrd(c, "nal_")
        vcl_hrd = c.u("vcl_hrd_parameters_present_flag", 1)
        if vcl_hrd:
            parse_hrd(c, "vcl_")
        if nal_hrd or vcl_hrd:
            c.u("low_delay_hrd_flag", 1)
        c.u("pic_struct_present_flag", 1)
        if c.u("bitstream_restriction_flag", 1):
            c.u("motion_vectors_over_pic_boundaries_flag", 1)
            c.ue("max_bytes_per_pic_denom")
            c.ue("max_bits_per_mb_denom")
            c.ue("log2_max_mv_length_horizontal")
            c.ue("log2_max_mv_length_vertical")
            c.ue("max_num_reorder_frames")
            c.ue("max_dec_frame_buffering")
    return c


def write_sps(c, items=None):
    w = Writer()
    c.emit(w, items)
    w.trailing()
    return escape(w.tobytes())


def drop_bitstream_restriction(nal):
    """SPS NAL -> the same SPS with bitstream_restriction_flag = 0 (its fields removed)."""
    c = parse_sps(unescape(nal))
    if c.get("vui_parameters_present_flag") == 0:
        return nal
    i = c.index("bitstream_restriction_flag")
    items = c.items[:i + 1]
    items[i] = ["bitstream_restriction_flag", ("u", 1), 0]
    return write_sps(c, items)


def sps_info(nal):
    c = parse_sps(unescape(nal))
    return {it[0]: it[2] for it in c.items}

# ---------------------------------------------------------------- helpers on streams

def nal_type(nal):
    return nal[0] & 0x1F


def rewrite_sps_nals(data, fn):
    return join_nals([fn(n) if nal_type(n) == 7 else n for n in split_nals(data)])


def slice_poc_fields(rbsp, sps, pps_bottom_present):
    """Reads a slice header up to delta_pic_order_cnt_bottom; returns bit positions."""
    r = Reader(rbsp)
    r.u(8)
    r.ue()  # first_mb_in_slice
    r.ue()  # slice_type
    r.ue()  # pps id
    r.u(sps["log2_max_frame_num_minus4"] + 4)
    field = 0
    if not sps["frame_mbs_only_flag"]:
        field = r.u(1)
        if field:
            r.u(1)
    if nal_type_of_rbsp(rbsp) == 5:
        r.ue()
    assert sps["pic_order_cnt_type"] == 0
    lsb_pos = r.pos
    nlsb = sps["log2_max_pic_order_cnt_lsb_minus4"] + 4
    lsb = r.u(nlsb)
    delta_pos, delta = None, None
    if pps_bottom_present and not field:
        delta_pos = r.pos
        delta = r.se()
    return lsb_pos, nlsb, lsb, delta_pos, delta, r.pos


def nal_type_of_rbsp(rbsp):
    return rbsp[0] & 0x1F


def pps_bottom_field_pic_order_present(rbsp):
    r = Reader(rbsp)
    r.u(8)
    r.ue()  # pps id
    r.ue()  # sps id
    r.u(1)  # entropy_coding_mode_flag
    return r.u(1)


def set_bits(buf, pos, n, v):
    for i in range(n):
        bit = (v >> (n - 1 - i)) & 1
        byte, off = (pos + i) >> 3, 7 - ((pos + i) & 7)
        buf[byte] = (buf[byte] & ~(1 << off)) | (bit << off)


def make_mbaff_top_first(data):
    """x264 (0.164, as used by ffmpeg 5.1) codes bottom POC = top POC - 1 even with tff=1, so
    libavcodec, which takes the field order from the POCs, calls every picture bottom-first while
    the pic_struct SEI says top-bottom. Rewrites each slice so that top POC = 2n and bottom POC =
    2n + 1 (delta_pic_order_cnt_bottom = +1); same bit lengths, slice data untouched."""
    nals = split_nals(data)
    sps = pps_bottom = None
    out = []
    for n in nals:
        t = nal_type(n)
        if t == 7:
            sps = sps_info(n)
        elif t == 8:
            pps_bottom = pps_bottom_field_pic_order_present(unescape(n))
        elif t in (1, 5):
            rbsp = bytearray(unescape(n))
            lsb_pos, nlsb, lsb, dpos, delta, _ = slice_poc_fields(rbsp, sps, pps_bottom)
            assert delta == -1 and lsb & 1, (lsb, delta)
            set_bits(rbsp, lsb_pos, nlsb, lsb - 1)
            set_bits(rbsp, dpos, 3, 0b010)  # se(+1) = 010, se(-1) = 011
            n = escape(bytes(rbsp))
        out.append(n)
    return join_nals(out)


def make_paff(data):
    """Turns a CAVLC, P-only, one-reference x264 encode of half-height pictures (POC type 2) into a
    PAFF stream: half-height picture 2k becomes the top field and 2k+1 the bottom field of frame k.
    SPS: Main profile, level 2.1, frame_mbs_only_flag = 0, mb_adaptive_frame_field_flag = 0 (so the
    map units are fields and the frame is twice as high; crop offsets count twice). Slices:
    frame_num = k, field_pic_flag = 1, bottom_field_flag = parity, and an explicit
    ref_pic_list_modification that puts the field x264 predicted from (the previous half-height
    picture) at index 0. Residuals are read with the field scan, so the pictures are not x264's
    reconstruction, but the stream is a valid PAFF stream and decodes deterministically."""
    nals = split_nals(data)
    sps = None
    out, pic = [], -1
    for n in nals:
        t = nal_type(n)
        if t == 7:
            c = parse_sps(unescape(n))
            assert c.get("pic_order_cnt_type") == 2
            c.set("profile_idc", 77)
            c.set("constraint_flags", 0x40)  # constraint_set1 (Main)
            c.set("level_idc", 21)
            i = c.index("frame_mbs_only_flag")
            c.items[i][2] = 0
            c.items.insert(i + 1, ["mb_adaptive_frame_field_flag", ("u", 1), 0])
            assert c.get("direct_8x8_inference_flag") == 1
            sps = {it[0]: it[2] for it in c.items}
            n = write_sps(c)
        elif t == 8:
            r = Reader(unescape(n))
            r.u(8)
            r.ue()
            r.ue()
            assert r.u(1) == 0, "PAFF synthesis needs CAVLC"
        elif t in (1, 5):
            rbsp = unescape(n)
            r = Reader(rbsp)
            w = Writer()
            w.u(8, r.u(8))
            first_mb = r.ue()
            assert first_mb == 0, "one slice per picture"
            w.ue(first_mb)
            slice_type = r.ue()
            w.ue(slice_type)
            w.ue(r.ue())  # pps id
            nfn = sps["log2_max_frame_num_minus4"] + 4
            r.u(nfn)
            pic += 1
            frame, bottom = pic // 2, pic % 2
            w.u(nfn, frame % (1 << nfn))
            w.u(1, 1)       # field_pic_flag
            w.u(1, bottom)  # bottom_field_flag
            if t == 5:
                assert pic == 0, "only the first field may be IDR"
                w.ue(r.ue())  # idr_pic_id
            st = slice_type % 5
            if st == 0:  # P
                override = r.u(1)
                w.u(1, override)
                if override:
                    num = r.ue()
                    assert num == 0
                    w.ue(num)
                assert r.u(1) == 0, "x264 wrote its own ref list modification"
                # CurrPicNum = 2*frame_num + 1. The wanted reference is the previous field:
                # top field k -> bottom field of k-1, PicNum 2(k-1)  (abs_diff 3)
                # bottom field k -> top field of k,  PicNum 2k      (abs_diff 1)
                w.u(1, 1)
                w.ue(0)                   # modification_of_pic_nums_idc: subtract
                w.ue(2 if bottom == 0 else 0)  # abs_diff_pic_num_minus1
                w.ue(3)
            else:
                assert st == 2, "P and I slices only"
            w.copy(r, r.bits_left())
            bits = w.bits
            # the copied rest ends with the old rbsp trailing bits: strip them and redo
            while bits and bits[-1] == 0:
                bits.pop()
            bits.pop()
            w.trailing()
            n = escape(w.tobytes())
        out.append(n)
    return join_nals(out)

# ---------------------------------------------------------------- damage

def slice_type_of(nal):
    r = Reader(unescape(nal[:16]))
    r.u(8)
    r.ue()
    return r.ue() % 5  # 0 P, 1 B, 2 I


def garbage(n, seed):
    """Deterministic bytes (an LCG, so every Python gives the same)."""
    out, x = bytearray(), seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def damage(data, garbage_at, truncate_at, drop_at=None):
    """Indexes count slice NALs (types 1 and 5) in decoding order. garbage_at: a P slice whose
    middle 24 bytes become garbage; truncate_at: a slice cut to its first 40%; drop_at: a slice
    removed altogether. The NAL headers stay intact, so the damage is inside the slice data."""
    out, k = [], -1
    for n in split_nals(data):
        if nal_type(n) in (1, 5):
            k += 1
            if k == garbage_at:
                assert slice_type_of(n) == 0, "garbage goes into a P slice"
                mid = len(n) // 2
                g = bytes(b if b > 3 else b | 0x80 for b in garbage(24, 1234))  # no start code
                n = n[:mid] + g + n[mid + 24:]
            elif k == truncate_at:
                n = n[:max(8, len(n) * 4 // 10)]
            elif k == drop_at:
                continue
        out.append(n)
    return join_nals(out)

# ---------------------------------------------------------------- encodes

SRC = "testsrc2=s=176x144:r=50,tinterlace=mode=interleave_top"


def ffmpeg(args, out):
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"] + args + [out]
    print(" ".join(cmd))
    subprocess.run(cmd, check=True)
    with open(out, "rb") as f:
        return f.read()


def x264(src, frames, params, out, extra=()):
    return ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", str(frames), "-pix_fmt", "yuv420p",
                   "-c:v", "libx264", "-preset", "medium", "-crf", "30", *extra,
                   "-x264-params", params, "-f", "h264"], out)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    tmp = os.path.join(outdir, ".tmp_make_streams.h264")
    p = lambda name: os.path.join(outdir, name)
    bpyr = "bframes=3:b-pyramid=normal:b-adapt=0:ref=3:keyint=30:threads=1"

    # MBAFF, top field first: x264 writes bottom-first POCs, fixed by make_mbaff_top_first.
    d = x264(SRC, 30, "interlaced=1:tff=1:" + bpyr, tmp)
    open(p("mbaff_tff_b.h264"), "wb").write(make_mbaff_top_first(d))
    # MBAFF, bottom field first (x264's POCs and pic_struct = 4 agree).
    x264("testsrc2=s=176x144:r=50,tinterlace=mode=interleave_bottom", 30,
         "interlaced=1:bff=1:" + bpyr, p("mbaff_bff_b.h264"))
    # frame_mbs_only_flag = 0, every picture a frame, no field MBs.
    x264(SRC, 30, "fake-interlaced=1:pic-struct=1:" + bpyr, p("fake_interlaced_b.h264"))
    # PAFF from a half-height CAVLC encode (x264 has no field pictures); 24 fields = 12 frames.
    d = x264("testsrc2=s=176x72:r=50", 24,
             "cabac=0:bframes=0:ref=1:weightp=0:8x8dct=0:keyint=250:scenecut=0:threads=1", tmp)
    open(p("paff_fields_p.h264"), "wb").write(make_paff(d))
    # B-pyramid (2 reorder frames) without VUI bitstream_restriction.
    d = x264("testsrc2=s=176x144:r=25", 30, bpyr, tmp)
    open(p("noreorder_vui_b.h264"), "wb").write(rewrite_sps_nals(d, drop_bitstream_restriction))
    # Reordering grows mid-stream, one SPS: 12 pictures of a still image (x264's b-adapt picks P,
    # skip is as cheap as B), then 18 of temporal noise (it picks a B-pyramid: I P*13 then BBBP);
    # bitstream_restriction removed. b-bias=-20 keeps the still part P-only.
    src = ("testsrc2=s=176x144:r=25,trim=end_frame=1,loop=loop=-1:size=1,setpts=N/25/TB,"
           "trim=end_frame=12[a];"
           "color=c=gray:s=176x144:r=25,format=yuv420p,noise=alls=60:allf=t+u,trim=end_frame=18,"
           "setpts=N/25/TB[b];[a][b]concat=n=2:v=1")
    d = x264(src, 30, "bframes=3:b-pyramid=normal:b-adapt=2:b-bias=-20:ref=3:keyint=60:"
             "scenecut=0:threads=1", tmp, extra=("-crf", "36"))
    open(p("reorder_grows.h264"), "wb").write(rewrite_sps_nals(d, drop_bitstream_restriction))
    # Really damaged streams (deterministic damage, see damage()).
    with open(p("mbaff_tff_b.h264"), "rb") as f:
        open(p("damaged_mbaff_tff_b.h264"), "wb").write(damage(f.read(), 5, 17))
    with open(p("paff_fields_p.h264"), "rb") as f:
        open(p("damaged_paff_fields_p.h264"), "wb").write(damage(f.read(), 5, 12))
    os.remove(tmp)


if __name__ == "__main__":
    main()
