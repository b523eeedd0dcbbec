import { describe, expect, it } from 'vitest'
import { fromUtf8, toBase64 } from './bytes'
import { parseTLogProof } from './proof'
import { proofCase, vectors } from '../../test/board'

describe('parseTLogProof', () => {
  it("reads the service's proof: its entry, index, hashes and checkpoint", () => {
    const answer = proofCase('leaf 5 of 13').answer
    const proof = parseTLogProof(answer.tlog_proof)
    expect(proof.index).toBe(5n)
    expect(fromUtf8(proof.extra!)).toBe(answer.entry)
    expect(proof.hashes.map(toBase64)).toEqual(answer.tlog_proof.split('\n\n')[0]!.split('\n').slice(3))
    expect(proof.checkpoint).toBe(vectors.checkpoint)
  })

  it('reads a proof without extra data', () => {
    const proof = parseTLogProof(proofCase('a proof without its entry').answer.tlog_proof)
    expect(proof.extra).toBeNull()
    expect(proof.index).toBe(5n)
  })

  it('refuses a malformed proof', () => {
    const text = proofCase('leaf 5 of 13').answer.tlog_proof
    const hash = text.split('\n')[3]!
    for (const bad of [
      text.replace('c2sp.org/tlog-proof@v1', 'c2sp.org/tlog-proof@v2'),
      text.replace('\nindex 5\n', '\nindex 05\n'),
      text.replace('\nindex 5\n', '\n'),
      text.replace('\nextra ', '\nextra !'),
      text.replace(hash, hash.slice(4)),
      text.slice(0, text.indexOf('\n\n')),
    ]) {
      expect(() => parseTLogProof(bad)).toThrow(/proof is malformed/)
    }
  })
})
