// RFC 6962 Merkle trees (RFC 9162 section 2.1): leaf and node hashes, and the check of an
// inclusion proof (2.1.3.2), ported from domain/board/merkle.py (verify_inclusion, _climb).
import { CheckError, equalBytes, sha256, type Bytes } from './bytes'

export const HASH_SIZE = 32

export function leafHash(entry: Uint8Array): Promise<Bytes> {
  return sha256(Uint8Array.of(0), entry)
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Bytes> {
  return sha256(Uint8Array.of(1), left, right)
}

/** Hash `path` up from leaf `fn` of a tree whose last leaf is `sn` (RFC 9162's loop): the
 * root. Indexes are bigints: a log's index may pass 2^32, where `>>` on numbers breaks. */
async function climb(fn: bigint, sn: bigint, seed: Bytes, path: readonly Uint8Array[]): Promise<Bytes> {
  let r = seed
  for (const c of path) {
    if (sn === 0n) throw new CheckError('The proof is too long for a tree of this size.')
    if (fn & 1n || fn === sn) {
      r = await nodeHash(c, r)
      while (fn !== 0n && !(fn & 1n)) {
        fn >>= 1n
        sn >>= 1n
      }
    } else {
      r = await nodeHash(r, c)
    }
    fn >>= 1n
    sn >>= 1n
  }
  if (sn !== 0n) throw new CheckError('The proof is too short for a tree of this size.')
  return r
}

/** Checks that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose root
 * is `root`; throws a CheckError saying why not. */
export async function verifyInclusion(
  leaf: Bytes,
  index: bigint,
  size: bigint,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<void> {
  if (proof.some((h) => h.length !== HASH_SIZE)) throw new CheckError(`A proof hash is not ${HASH_SIZE} bytes.`)
  if (index < 0n || index >= size) throw new CheckError(`Leaf ${index} is not in a tree of size ${size}.`)
  if (!equalBytes(await climb(index, size - 1n, leaf, proof), root)) {
    throw new CheckError("The proof's hashes do not lead from the tracking code at this index to the checkpoint's root.")
  }
}
