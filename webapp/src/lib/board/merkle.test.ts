import { describe, expect, it } from 'vitest'
import { fromHex, toHex, utf8, type Bytes } from './bytes'
import { leafHash, nodeHash, verifyInclusion } from './merkle'
import { vectors } from '../../test/board'

const hex = (text: string): Bytes => fromHex(text)!

describe('RFC 6962 hashes', () => {
  it('hashes a leaf and a node with their prefixes', async () => {
    const entry = vectors.entries[0]!
    expect(toHex(await leafHash(utf8(entry.bytes)))).toBe(entry.code)
    // RFC 6962's empty leaf, SHA-256(0x00).
    expect(toHex(await leafHash(new Uint8Array()))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
    const [a, b] = [hex(vectors.entries[0]!.code), hex(vectors.entries[1]!.code)]
    expect(toHex(await nodeHash(a, b))).not.toBe(toHex(await nodeHash(b, a)))
  })
})

describe('verifyInclusion', () => {
  it("accepts every proof the Python reference makes (trees of 1 to 12, 31, 32 and 33 leaves)", async () => {
    expect(vectors.merkle.length).toBeGreaterThan(80)
    for (const v of vectors.merkle) {
      await verifyInclusion(hex(v.leaf), BigInt(v.index), BigInt(v.size), v.proof.map(hex), hex(v.root))
    }
  })

  // (Not the size: a proof's hashes fit some other sizes too; the checkpoint's signature binds
  // the size to its root.)
  it('refuses each proof at another index, with a hash changed, dropped or added, or for another leaf', async () => {
    for (const v of vectors.merkle.filter((m) => m.size > 1)) {
      const [leaf, root, proof] = [hex(v.leaf), hex(v.root), v.proof.map(hex)]
      const index = BigInt(v.index)
      const size = BigInt(v.size)
      const other = index === 0n ? 1n : index - 1n
      await expect(verifyInclusion(leaf, other, size, proof, root), `${v.size}/${v.index}`).rejects.toThrow()
      const changed = proof.map((h, i) => (i === proof.length - 1 ? Uint8Array.from(h, (x, j) => (j === 0 ? x ^ 1 : x)) : h))
      await expect(verifyInclusion(leaf, index, size, changed, root)).rejects.toThrow(/do not lead/)
      await expect(verifyInclusion(leaf, index, size, proof.slice(1), root)).rejects.toThrow(/too short|do not lead/)
      await expect(verifyInclusion(leaf, index, size, [...proof, proof[0]!], root)).rejects.toThrow(/too long|do not lead/)
      await expect(verifyInclusion(root, index, size, proof, root)).rejects.toThrow(/do not lead/)
    }
  })

  it('refuses an index outside the tree and a hash of another length', async () => {
    const v = vectors.merkle.find((m) => m.size === 5 && m.index === 4)!
    await expect(verifyInclusion(hex(v.leaf), 5n, 5n, v.proof.map(hex), hex(v.root))).rejects.toThrow('Leaf 5 is not in a tree of size 5.')
    await expect(verifyInclusion(hex(v.leaf), 4n, 5n, [new Uint8Array(31)], hex(v.root))).rejects.toThrow('not 32 bytes')
  })

  it('climbs indexes past 2^32 (bigints, not 32-bit numbers)', async () => {
    // The leaf 2^32 + 1 of a tree of 2^32 + 2 leaves: its proof is its sibling, then the root
    // of the first 2^32 leaves (left); a 32-bit shift would read index 1 of a tree of 2.
    const leaf = hex(vectors.entries[0]!.code)
    const sibling = hex(vectors.entries[1]!.code)
    const left = hex(vectors.entries[2]!.code)
    const root = await nodeHash(left, await nodeHash(sibling, leaf))
    await verifyInclusion(leaf, 2n ** 32n + 1n, 2n ** 32n + 2n, [sibling, left], root)
    await expect(verifyInclusion(leaf, 1n, 2n, [sibling, left], root)).rejects.toThrow()
  })
})
