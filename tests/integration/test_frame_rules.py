"""Server-side frame rules (RFC 6455 §5, §7.4, §8.1; DESIGN.md "Frame
rules"): every protocol violation by the client gets a close frame with
1002, invalid UTF-8 (also split across fragments, also truncated at the end
of the message, also in a close reason) gets 1007, a message over
max_message (one frame or fragments adding up) gets 1009, and after the
close frame the server closes the TCP connection and sends nothing more.
Valid close codes are echoed, pings get pongs with the same payload,
control frames may be interleaved in a fragmented message, and every
server frame is unmasked (checked by RawWS.read_frame)."""

import struct
import time

import harness as h
from harness import (check, encode_frame, close_payload, OP_CONT, OP_TEXT,
                     OP_BINARY, OP_CLOSE, OP_PING, OP_PONG)

MAX_MESSAGE = 1024


def gate():
    return h.start_wsgate(h.config(
        [h.ECHO_ROUTE],
        limits={"max_message": "1KiB", "close_timeout": "1s"}))


def violation(gw, frames, code, what):
    """Sends frames (bytes) on a fresh connection; expects close `code`
    and the server closing TCP."""
    ws = h.ws_connect_raw(gw.port)
    try:
        ws.send(b"".join(frames))
        ws.expect_close(code)
        ws.expect_eof()
    except h.TestFailure as e:
        raise h.TestFailure("%s: %s" % (what, e))
    finally:
        ws.close()


def run_cases(gw, cases, code):
    bad = []
    for what, frames in cases:
        try:
            violation(gw, frames, code, what)
        except h.TestFailure as e:
            bad.append(str(e))
    check(not bad, "%d of %d cases failed:\n  %s"
          % (len(bad), len(cases), "\n  ".join(bad)))


def test_unmasked_client_frame_is_1002():
    gw = gate()
    run_cases(gw, [
        ("unmasked text", [encode_frame(OP_TEXT, b"hi", mask=False)]),
        ("unmasked ping", [encode_frame(OP_PING, b"", mask=False)]),
    ], 1002)


def test_rsv_bits_are_1002():
    gw = gate()
    run_cases(gw, [
        ("RSV%d" % i, [encode_frame(OP_TEXT, b"hi", rsv=1 << (3 - i))])
        for i in (1, 2, 3)
    ] + [("RSV1 on a ping", [encode_frame(OP_PING, b"", rsv=4)])], 1002)


def test_unknown_opcodes_are_1002():
    gw = gate()
    run_cases(gw, [("opcode %#x" % op, [encode_frame(op, b"x")])
                   for op in (0x3, 0x7, 0xB, 0xF)], 1002)


def test_bad_control_frames_are_1002():
    gw = gate()
    run_cases(gw, [
        ("fragmented ping", [encode_frame(OP_PING, b"a", fin=False)]),
        ("fragmented close", [encode_frame(OP_CLOSE, close_payload(1000),
                                           fin=False)]),
        ("ping of 126 bytes", [encode_frame(OP_PING, b"p" * 126)]),
        ("close of 126 bytes",
         [encode_frame(OP_CLOSE, close_payload(1000, b"r" * 124))]),
        ("pong of 200 bytes", [encode_frame(OP_PONG, b"q" * 200)]),
        ("close payload of 1 byte", [encode_frame(OP_CLOSE, b"\x03")]),
    ], 1002)


def test_fragmentation_errors_are_1002():
    gw = gate()
    run_cases(gw, [
        ("continuation without start", [encode_frame(OP_CONT, b"abc")]),
        ("text inside a fragmented message",
         [encode_frame(OP_TEXT, b"ab", fin=False),
          encode_frame(OP_TEXT, b"cd")]),
        ("binary inside a fragmented message",
         [encode_frame(OP_BINARY, b"ab", fin=False),
          encode_frame(OP_BINARY, b"cd", fin=False)]),
    ], 1002)


def test_64bit_length_with_top_bit_is_1002():
    gw = gate()
    head = struct.pack("!BBQ", 0x82, 0x80 | 127, 1 << 63) + b"\x01\x02\x03\x04"
    run_cases(gw, [("length 2^63", [head])], 1002)


def test_invalid_close_codes_are_1002():
    gw = gate()
    run_cases(gw, [
        ("close code %d" % c, [encode_frame(OP_CLOSE, close_payload(c))])
        for c in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                  5000, 65535)
    ], 1002)


def test_invalid_utf8_is_1007():
    gw = gate()
    run_cases(gw, [
        ("bad byte in a text frame",
         [encode_frame(OP_TEXT, b"abc\xffdef")]),
        ("overlong encoding", [encode_frame(OP_TEXT, b"\xc0\xaf")]),
        ("UTF-16 surrogate", [encode_frame(OP_TEXT, b"\xed\xa0\x80")]),
        ("code point above U+10FFFF",
         [encode_frame(OP_TEXT, b"\xf4\x90\x80\x80")]),
        ("bad continuation split across fragments",
         [encode_frame(OP_TEXT, b"ok \xe2\x82", fin=False),
          encode_frame(OP_CONT, b"\x28 rest")]),
        ("bad byte in a later fragment",
         [encode_frame(OP_TEXT, b"fine", fin=False),
          encode_frame(OP_CONT, b"also fine", fin=False),
          encode_frame(OP_CONT, b"\x80")]),
        ("incomplete sequence at the end of a message",
         [encode_frame(OP_TEXT, b"euro \xe2\x82")]),
        ("incomplete sequence at the end of a fragmented message",
         [encode_frame(OP_TEXT, b"euro ", fin=False),
          encode_frame(OP_CONT, b"\xf0\x9f\x98")]),
        ("invalid close reason",
         [encode_frame(OP_CLOSE, close_payload(1000, b"bye \xff"))]),
    ], 1007)


def test_message_over_max_message_is_1009():
    gw = gate()
    run_cases(gw, [
        ("one binary frame of max+1",
         [encode_frame(OP_BINARY, b"b" * (MAX_MESSAGE + 1))]),
        ("one text frame of 2 KiB",
         [encode_frame(OP_TEXT, b"t" * (2 * MAX_MESSAGE))]),
        ("fragments adding up to 1536 bytes",
         [encode_frame(OP_BINARY, b"f" * 512, fin=False),
          encode_frame(OP_CONT, b"f" * 512, fin=False),
          encode_frame(OP_CONT, b"f" * 512)]),
        ("text fragments adding up to max+1",
         [encode_frame(OP_TEXT, b"t" * 1000, fin=False),
          encode_frame(OP_CONT, b"t" * 25)]),
    ], 1009)


def test_message_of_exactly_max_message_is_echoed():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    payload = bytes(range(256)) * 4
    ws.send_frame(OP_BINARY, payload)
    check(ws.read_message() == (OP_BINARY, payload), "1024-byte message")
    ws.send_frame(OP_TEXT, b"a" * 1000, fin=False)
    ws.send_frame(OP_CONT, b"b" * 24)
    check(ws.read_message() == (OP_TEXT, b"a" * 1000 + b"b" * 24),
          "1024-byte fragmented text message")


def test_valid_close_codes_are_echoed():
    gw = gate()
    bad = []
    for code in (1000, 1001, 1003, 1007, 1011, 3000, 4000, 4999):
        ws = h.ws_connect_raw(gw.port)
        try:
            ws.send_frame(OP_CLOSE, close_payload(code, "done"))
            ws.expect_close(code, skip_data=False)
            ws.expect_eof()
        except h.TestFailure as e:
            bad.append("close %d: %s" % (code, e))
        finally:
            ws.close()
    check(not bad, "\n  ".join(bad))


def test_empty_close_is_answered():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    ws.send_frame(OP_CLOSE, b"")
    f = ws.expect_close(None, skip_data=False)
    check(f.close_code in (None, 1000),
          "reply to an empty close carries code %r" % f.close_code)
    ws.expect_eof()


def test_ping_gets_pong_with_same_payload():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    for payload in (b"", b"hello", bytes(range(125))):
        ws.send_frame(OP_PING, payload)
        f = ws.read_frame()
        check(f.opcode == OP_PONG and f.payload == payload,
              "ping %r answered by %r" % (payload[:20], f))
    # The connection still echoes afterwards.
    ws.send_frame(OP_TEXT, "after pings")
    check(ws.read_message() == (OP_TEXT, b"after pings"), "echo after pings")


def test_unsolicited_pong_is_ignored():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    ws.send_frame(OP_PONG, b"unsolicited")
    ws.send_frame(OP_TEXT, "still here")
    check(ws.read_message() == (OP_TEXT, b"still here"),
          "echo after an unsolicited pong")


def test_control_frames_inside_fragmented_message():
    # RFC 6455 §5.4: control frames may be injected between fragments.
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    ws.send(encode_frame(OP_TEXT, "frag", fin=False)
            + encode_frame(OP_PING, b"mid")
            + encode_frame(OP_CONT, "ment", fin=False)
            + encode_frame(OP_PONG, b"")
            + encode_frame(OP_CONT, "ed"))
    pong = None
    parts, op = [], None
    while True:
        f = ws.read_frame()
        if f.opcode == OP_PONG:
            pong = f
            continue
        if op is None:
            op = f.opcode
        parts.append(f.payload)
        if f.fin:
            break
    check(op == OP_TEXT and b"".join(parts) == b"fragmented",
          "reassembled message: %r %r" % (op, parts))
    if pong is None:
        pong = ws.read_frame()
    check(pong.opcode == OP_PONG and pong.payload == b"mid",
          "pong for the interleaved ping: %r" % pong)


def test_valid_utf8_split_across_fragments_is_echoed():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    text = "€ and 😀 and ü".encode("utf-8")
    # Split inside the 3-byte euro sign and inside the 4-byte emoji.
    ws.send(encode_frame(OP_TEXT, text[:1], fin=False)
            + encode_frame(OP_CONT, text[1:10], fin=False)
            + encode_frame(OP_CONT, text[10:]))
    check(ws.read_message() == (OP_TEXT, text), "split UTF-8 text")
    ws.send_frame(OP_TEXT, b"")
    check(ws.read_message() == (OP_TEXT, b""), "empty text message")
    edge = "\U0010ffff \uffff \ufeff \u07ff \u0800".encode("utf-8")
    ws.send_frame(OP_TEXT, edge)
    check(ws.read_message() == (OP_TEXT, edge), "edge code points")


def test_frame_trickled_byte_by_byte():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    payload = ("byte by byte ü " * 20).encode("utf-8")[:300]
    payload = payload.decode("utf-8", "ignore").encode("utf-8")
    frame = encode_frame(OP_TEXT, payload)
    for i in range(len(frame)):
        ws.send(frame[i:i + 1])
        time.sleep(0.001)
    check(ws.read_message() == (OP_TEXT, payload), "trickled frame")


def test_many_frames_in_one_write():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    msgs = [(OP_TEXT if i % 2 else OP_BINARY, b"msg %03d" % i)
            for i in range(200)]
    ws.send(b"".join(encode_frame(op, p) for op, p in msgs))
    for i, want in enumerate(msgs):
        got = ws.read_message()
        check(got == want, "message %d: %r, expected %r" % (i, got, want))


if __name__ == "__main__":
    h.main(globals())
