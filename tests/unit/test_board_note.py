"""C2SP signed notes and checkpoints: the specs' own examples parse, format back to the same
bytes and verify; our signatures verify and anything changed in a note fails; malformed
notes, checkpoints and keys are refused. (The signing adapter, boleta.board_keys, is
tested here too: it needs no services. A fresh key is made per test; none is committed.)"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from boleta.board_keys import NoteSigner, SignatureError, generate_signer_key, open_note
from domain.board.note import (
    DASH,
    Checkpoint,
    MalformedNote,
    Signature,
    format_checkpoint,
    format_signed_note,
    format_verifier_key,
    key_id,
    parse_checkpoint,
    parse_signed_note,
    parse_verifier_key,
    verifier_key,
)

# c2sp.org/signed-note's example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXm"
    "RKuwHjG1Yu72IneyaQM=\n"
).encode()
# golang.org/x/mod/sumdb/note's tests (public key and signed message only).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()
# c2sp.org/tlog-checkpoint's example body.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
ORIGIN = "boleta.example/votes/0"


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.from_text(generate_signer_key(ORIGIN))


def test_the_specs_checkpoint_parses_and_formats_back() -> None:
    checkpoint = parse_checkpoint(SPEC_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert base64.b64encode(checkpoint.root) == b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    assert format_checkpoint(checkpoint) == SPEC_CHECKPOINT


origins = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=40
)


@given(
    origins,
    st.integers(0, 2**63 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(origins, max_size=3),
)
def test_checkpoints_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(ext))
    text = format_checkpoint(checkpoint)
    assert text.count("\n") == 3 + len(ext)
    assert parse_checkpoint(text) == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  # no final newline
        "origin\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # a leading zero
        "origin\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n\u0665\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # not ASCII
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # no origin
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",  # not canonical base64
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  # no padding
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",  # not 32 bytes
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  # an empty extension
        "origin\n5\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(MalformedNote):
        parse_checkpoint(text)


@pytest.mark.parametrize("vkey", [SPEC_VKEY, GO_VKEY])
def test_verifier_keys_and_their_ids_are_the_specs(vkey: str) -> None:
    key = parse_verifier_key(vkey)
    assert key_id(key.name, key.public_key).hex() == vkey.split("+")[1]
    assert format_verifier_key(key) == vkey


@given(st.sampled_from(["example.com/foo", ORIGIN]), st.binary(min_size=32, max_size=32))
def test_verifier_keys_round_trip(name: str, public_key: bytes) -> None:
    """Any key, also one whose base64 holds a '+' (the separator of the key's parts)."""
    key = verifier_key(name, public_key)
    assert parse_verifier_key(format_verifier_key(key)) == key


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # other name
        "example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # cut key
        "example.com/foo+530d903a+BekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # not 0x01
        "example.com/foo+530d903a",
        "ex ample+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(MalformedNote):
        parse_verifier_key(vkey)


@pytest.mark.parametrize(("data", "vkey"), [(SPEC_NOTE, SPEC_VKEY), (GO_NOTE, GO_VKEY)])
def test_the_specs_notes_parse_format_back_and_verify(data: bytes, vkey: str) -> None:
    note = parse_signed_note(data)
    key = parse_verifier_key(vkey)
    assert [(s.name, s.key_id) for s in note.signatures] == [(key.name, key.key_id)]
    assert format_signed_note(note.text, note.signatures).encode() == data
    assert open_note(data, key) == note.text


def test_our_signed_checkpoints_verify(signer: NoteSigner) -> None:
    body = format_checkpoint(Checkpoint(ORIGIN, 3, bytes(32)))
    signed = signer.sign(body)
    assert signed.startswith(body + "\n" + DASH + " " + ORIGIN + " ")
    assert signed.endswith("\n")
    key = parse_verifier_key(signer.verifier_key_text)
    assert open_note(signed.encode(), key) == body
    assert parse_checkpoint(open_note(signed.encode(), key)).size == 3


def test_a_changed_note_fails(signer: NoteSigner) -> None:
    key = signer.verifier
    signed = signer.sign(format_checkpoint(Checkpoint(ORIGIN, 3, bytes(32))))
    with pytest.raises(SignatureError, match="bad signature"):
        open_note(signed.replace("\n3\n", "\n4\n").encode(), key)
    note = parse_signed_note(signed.encode())
    sig = note.signatures[0]
    forged = Signature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    with pytest.raises(SignatureError, match="bad signature"):
        open_note(format_signed_note(note.text, (forged,)).encode(), key)


def test_only_the_trusted_keys_signature_counts(signer: NoteSigner) -> None:
    """Signatures by other keys are ignored, even under the same name; without the trusted
    key's signature a note is refused."""
    body = format_checkpoint(Checkpoint(ORIGIN, 3, bytes(32)))
    impostor = NoteSigner.from_text(generate_signer_key(ORIGIN))
    witness = NoteSigner.from_text(generate_signer_key("witness.example"))
    with pytest.raises(SignatureError, match="no signature"):
        open_note(impostor.sign(body).encode(), signer.verifier)
    ours = parse_signed_note(signer.sign(body).encode()).signatures
    others = parse_signed_note(witness.sign(body).encode()).signatures
    both = format_signed_note(body, others + ours).encode()
    assert open_note(both, signer.verifier) == body


@pytest.mark.parametrize(
    "data",
    [
        b"text\n",  # no signatures
        b"text\n\n",
        b"text\n\n- example.com/foo AAAAAAA=\n",  # a hyphen, not an em dash
        "text\n\n— example.com/foo AAAAAAA=".encode(),  # no final newline
        "text\n\n— example.com/foo AAAAAA==\n".encode(),  # under 5 bytes
        "text\n\n— example.com/foo AAAAAAA\n".encode(),  # not base64
        "text\n\n— example+com AAAAAAA=\n".encode(),  # a '+' in the name
        "te\tx\n\n— example.com/foo AAAAAAA=\n".encode(),  # a control character
        b"text\xff\n\n\xe2\x80\x94 example.com/foo AAAAAAA=\n",  # not UTF-8
    ],
)
def test_malformed_notes_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedNote):
        parse_signed_note(data)


def test_a_note_with_too_many_signatures_is_refused() -> None:
    line = "— example.com/foo AAAAAAA=\n"
    assert len(parse_signed_note(f"text\n\n{line * 100}".encode()).signatures) == 100
    with pytest.raises(MalformedNote, match="more than 100"):
        parse_signed_note(f"text\n\n{line * 101}".encode())


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("two\nlines", 1, bytes(32)),
        Checkpoint("", 1, bytes(32)),
        Checkpoint("origin", -1, bytes(32)),
        Checkpoint("origin", 1, bytes(31)),
        Checkpoint("origin", 1, bytes(32), ("",)),
        Checkpoint("origin", 1, bytes(32), ("two\nlines",)),
    ],
)
def test_malformed_checkpoints_are_not_written(checkpoint: Checkpoint) -> None:
    with pytest.raises(MalformedNote):
        format_checkpoint(checkpoint)


@pytest.mark.parametrize(
    ("text", "signatures"),
    [
        ("no final newline", (Signature("example.com/foo", b"1234", b"sig"),)),
        ("text\n", ()),
        ("text\n", (Signature("example.com/foo", b"123", b"sig"),)),
        ("text\n", (Signature("example.com/foo", b"1234", b""),)),
        ("text\n", (Signature("example com", b"1234", b"sig"),)),
    ],
)
def test_malformed_notes_are_not_written(text: str, signatures: tuple[Signature, ...]) -> None:
    with pytest.raises(MalformedNote):
        format_signed_note(text, signatures)


@given(st.binary(min_size=32, max_size=32))
def test_signer_keys_round_trip(seed: bytes) -> None:
    """Any seed, also one whose base64 holds a '+' (the separator of the key's parts)."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    key_text = NoteSigner(ORIGIN, private).signer_key_text()
    assert NoteSigner.from_text(key_text).verifier == NoteSigner(ORIGIN, private).verifier


def test_signer_keys_come_from_a_file_and_never_show(tmp_path: Path) -> None:
    text = generate_signer_key(ORIGIN)
    assert text.startswith("PRIVATE+KEY+" + ORIGIN + "+")
    path = tmp_path / "board.key"
    path.write_text(text + "\n")
    signer = NoteSigner.from_file(path)
    material = text.split("+", 4)[4]
    assert material not in repr(signer)
    assert signer.verifier_key_text in repr(signer)
    assert signer.verifier_key_text.split("+")[1] == text.split("+")[3]
    head = text.removesuffix(material)
    not_ed25519 = base64.b64encode(b"\x02" + base64.b64decode(material)[1:]).decode()
    for bad in (
        head + not_ed25519,
        text.replace("PRIVATE+KEY+", ""),
        text.replace(text.split("+")[3], "00000000"),
        text[:-4],
    ):
        with pytest.raises(MalformedNote):
            NoteSigner.from_text(bad)
