"""Batched I/O in the serve loop: many task lines in one write (and a line split across
writes) are all run and answered in order, a progress line still comes before its task's
answer; the line reader hands out lines whole, cut only where a limit says."""

import json
import os

from conftest import task_message

from stem_sdk.lines import LineReader


def lines(*messages):
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def test_a_batch_of_lines_in_one_write_is_answered_in_order(spawn):
    child = spawn("vector_tasks.py", isolation="pool")
    child.recv()
    batch = lines(
        task_message("t-1", "add", [1, 2]),
        task_message("t-2", "progress", [2]),
        task_message("t-3", "nobody"),
        task_message("t-4", "boom", ["bad"]),
    ) + b"not json\n" + lines(task_message("t-5", "add", [2, 3]))
    child.proc.stdin.write(batch)
    child.proc.stdin.flush()
    child.expect({"type": "result", "id": "t-1", "value": 3})
    child.expect({"type": "progress", "id": "t-2", "progress": {"current": 1, "total": 2}})
    child.expect({"type": "progress", "id": "t-2", "progress": {"current": 2, "total": 2}})
    child.expect({"type": "heartbeat", "id": "t-2"})
    child.expect({"type": "log", "id": "t-2", "level": "info", "message": "done 2"})
    child.expect({"type": "result", "id": "t-2", "value": 2})
    child.expect({"type": "error", "id": "t-3", "error": {"type": "UnknownTask", "message": "<any>",
                                                           "traceback": "<any>", "retryable": False}})
    assert child.recv()["id"] == "t-4"
    child.expect({"type": "result", "id": "t-5", "value": 5})
    # A line split across two writes is read whole.
    data = lines(task_message("t-6", "add", [20, 22]))
    child.proc.stdin.write(data[:10])
    child.proc.stdin.flush()
    child.proc.stdin.write(data[10:])
    child.proc.stdin.flush()
    child.expect({"type": "result", "id": "t-6", "value": 42})
    assert child.finish() == 0


def read_all(reader, limit=-1):
    out = []
    while True:
        line = reader.readline(limit)
        if not line:
            return out
        out.append(line)


def test_line_reader_splits_chunks_and_keeps_an_unterminated_tail():
    r, w = os.pipe()
    os.write(w, b"one\ntw")
    reader = LineReader(r)
    assert reader.readline() == b"one\n"
    assert not reader.waiting()
    os.write(w, b"o\nthree\nfo")
    assert reader.readline() == b"two\n"
    assert reader.waiting()
    os.close(w)
    assert read_all(reader) == [b"three\n", b"fo"]
    reader.close()


def test_line_reader_cuts_at_the_limit():
    r, w = os.pipe()
    os.write(w, b"abcdefgh\nxy\n0123456789")
    os.close(w)
    reader = LineReader(r)
    assert reader.readline(5) == b"abcde"
    assert reader.readline(5) == b"fgh\n"
    assert reader.readline(5) == b"xy\n"
    assert read_all(reader, 4) == [b"0123", b"4567", b"89"]
    reader.close()


def test_line_reader_poll_takes_what_came_without_blocking():
    r, w = os.pipe()
    reader = LineReader(r)
    reader.poll()  # nothing came: back at once
    assert not reader.waiting()
    os.write(w, b"one\ntw")
    reader.poll()
    assert reader.waiting()
    os.write(w, b"o\n")
    reader.poll()
    assert read_all_waiting(reader) == [b"one\n", b"two\n"]
    os.close(w)
    reader.poll()
    reader.poll()  # at EOF: no read
    assert reader.readline() == b""
    reader.close()


def read_all_waiting(reader):
    out = []
    while reader.waiting():
        out.append(reader.readline())
    return out


def test_line_reader_sets_marked_lines_aside_saying_whether_lines_wait_ahead():
    r, w = os.pipe()
    reader = LineReader(r)
    offered = []

    def take(line, queued):
        offered.append((line, queued))
        return line.startswith(b"MARK")

    reader.set_aside(b"MARK", take)
    os.write(w, b"MARK first\nx\nMARK second\nnot MARK\ny\nMA")
    assert reader.readline() == b"x\n"
    os.write(w, b"RK split\nz\n")
    assert read_all_waiting(reader) == [b"not MARK\n", b"y\n"]
    assert reader.readline() == b"z\n"
    assert offered == [(b"MARK first\n", False), (b"MARK second\n", True), (b"not MARK\n", True),
                       (b"MARK split\n", False)]
    os.close(w)
    reader.close()
