import { describe, expect, it } from 'vitest'
import { toHex } from './bytes'
import { keyId, openNote, parseCheckpoint, parseSignedNote, parseVerifierKey } from './note'
import { vectors } from '../../test/board'

describe('parseVerifierKey', () => {
  it("reads the board's key: its name, its id (SHA-256 of name, newline, 0x01, key) and its key", async () => {
    const key = await parseVerifierKey(`  ${vectors.key}\n`)
    expect(key.name).toBe(vectors.key_name)
    expect(toHex(key.keyId)).toBe(vectors.key_id)
    expect(toHex(key.publicKey)).toBe(vectors.public_key)
    expect(toHex(await keyId(key.name, key.publicKey))).toBe(vectors.key_id)
  })

  it('says what is wrong with a key that is not one', async () => {
    const [name, id, material] = vectors.key.split('+') as [string, string, string]
    const cases: [string, RegExp][] = [
      ['', /three parts/],
      [`${name}+${id}`, /three parts/],
      [`${name}+${id.toUpperCase()}+${material}`, /8 lowercase hex/],
      [`${name}+${id}+${material.slice(0, -2)}`, /not base64/],
      [`${name}+${id}+AgAA`, /not an Ed25519 key/],
      [`${name}+00000000+${material}`, /does not match its name and key/],
      [`other+${id}+${material}`, /does not match its name and key/],
      [`a name+${id}+${material}`, /no spaces/],
    ]
    for (const [text, why] of cases) await expect(parseVerifierKey(text), text).rejects.toThrow(why)
  })
})

describe('signed notes', () => {
  it('splits a note into its text and signatures', () => {
    const note = parseSignedNote(vectors.checkpoint)
    expect(note.text).toBe(`${vectors.origin}\n${vectors.size}\n${vectors.checkpoint.split('\n')[2]}\n`)
    expect(note.signatures.map((s) => [s.name, toHex(s.keyId), s.signature.length])).toEqual([[vectors.key_name, vectors.key_id, 64]])
  })

  it('refuses a malformed note', () => {
    const text = vectors.checkpoint
    for (const bad of [
      text.replace('\n\n', '\n'), // no blank line
      text.slice(0, -1), // no final newline
      text.replace('\u2014', '-'), // a hyphen for the em dash
      text.replace(`${vectors.origin}\n`, `${vectors.origin}\t\n`), // a control character
      text.replace(/ (\S+)\n$/, ' AAAA\n'), // a signature too short for a key id and a signature
    ]) {
      expect(() => parseSignedNote(bad), JSON.stringify(bad)).toThrow(/malformed/)
    }
  })

  it('opens a note the key signed, ignoring signatures by other keys', async () => {
    const key = await parseVerifierKey(vectors.key)
    expect(await openNote(vectors.checkpoint, key, 'checkpoint')).toBe(parseSignedNote(vectors.checkpoint).text)
    const cosigned = vectors.proofs.find((c) => c.name.startsWith('cosigned'))!.answer.tlog_proof
    const note = cosigned.slice(cosigned.indexOf('\n\n') + 2)
    expect(parseSignedNote(note).signatures).toHaveLength(2)
    expect(await openNote(note, key, 'checkpoint')).toBe(parseSignedNote(vectors.checkpoint).text)
  })

  it('refuses a note another key signed, and a changed text', async () => {
    const other = await parseVerifierKey(vectors.other_key)
    await expect(openNote(vectors.checkpoint, other, 'checkpoint')).rejects.toThrow(
      `The checkpoint's signature does not verify with this key: it carries no signature by boleta.test/other (key id ${toHex(other.keyId)}), only by ${vectors.key_name} (key id ${vectors.key_id}).`,
    )
    const impostor = await parseVerifierKey(vectors.impostor_key)
    await expect(openNote(vectors.checkpoint, impostor, 'checkpoint')).rejects.toThrow('carries no signature by boleta.test/board')
    const key = await parseVerifierKey(vectors.key)
    const changed = vectors.checkpoint.replace(`\n${vectors.size}\n`, `\n${vectors.size - 1}\n`)
    await expect(openNote(changed, key, 'checkpoint')).rejects.toThrow(/signature does not verify with this key: the signature by .* is not of this text/)
  })
})

describe('parseCheckpoint', () => {
  it('reads origin, size and root', () => {
    const checkpoint = parseCheckpoint(parseSignedNote(vectors.checkpoint).text)
    expect(checkpoint.origin).toBe(vectors.origin)
    expect(checkpoint.size).toBe(BigInt(vectors.size))
    expect(toHex(checkpoint.root)).toBe(vectors.root)
    expect(parseCheckpoint(`${parseSignedNote(vectors.checkpoint).text}an extension\n`).origin).toBe(vectors.origin)
  })

  it('refuses a malformed checkpoint', () => {
    const root = vectors.checkpoint.split('\n')[2]!
    for (const bad of [`o\n1\n${root}`, `o\n1\n`, `\n1\n${root}\n`, `o\n01\n${root}\n`, `o\n-1\n${root}\n`, `o\n1\nAAAA\n`, `o\n1\n${root}\n\n`]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(/checkpoint is malformed/)
    }
  })
})
