"""The protocol vectors, firmware end, on the MicroPython VM: each request, sent to a freshly
booted board through the firmware's real main loop, gets exactly the vector's response.
MicroPython code (run by run.py); CASES holds one test per vector, named "vector: NAME"."""

from harness import ScriptedFirmware, load_vectors, matches

VECTORS = load_vectors()["vectors"]


def _vector_test(vector):
    def run():
        with ScriptedFirmware(vector.get("board", {})) as fw:
            for line in vector.get("before", []):
                fw.exchange(line.encode() + b"\n", 0)
            answer = fw.exchange(vector["request"].encode() + b"\n", 0)
            assert len(answer) == 1, answer
            assert matches(vector["response"], answer[0]), (vector["response"], answer[0])
            assert fw.reader.reset_requested is vector.get("resets", False)

    return run


CASES = [("vector: " + v["name"], _vector_test(v)) for v in VECTORS]


def test_hello_reports_the_repository_version():
    from app.version import PROTOCOL, VERSION

    with ScriptedFirmware() as fw:
        answers = fw.exchange(b'{"id":1,"op":"hello"}\n', 0)
        assert len(answers) == 1, answers
        assert answers[0]["fw"] == VERSION
        assert answers[0]["proto"] == PROTOCOL == load_vectors()["protocol"]


def test_every_op_has_a_vector():
    from app.controller import OPS

    covered = set()
    for v in VECTORS:
        if '"op":"' in v["request"]:
            covered.add(v["request"].split('"op":"')[1].split('"')[0])
    missing = [op for op in OPS if op not in covered]
    assert not missing, missing
