// C2SP tlog-proof (c2sp.org/tlog-proof), as domain/board/proof.py reads it:
//
//   c2sp.org/tlog-proof@v1
//   extra <base64 extra data>      (optional; boleta's is the board entry itself)
//   index <decimal, no leading zeroes>
//   <base64 hash>                  (the RFC 6962 inclusion proof, the leaf's sibling first)
//   ...
//   <empty line>
//   <the checkpoint, a signed note, verbatim>
import { CheckError, fromBase64, type Bytes } from './bytes'
import { HASH_SIZE } from './merkle'

export const PROOF_HEADER = 'c2sp.org/tlog-proof@v1'

export interface TLogProof {
  index: bigint
  hashes: Bytes[]
  /** The checkpoint's signed note, unchecked. */
  checkpoint: string
  extra: Bytes | null
}

export function parseTLogProof(text: string): TLogProof {
  const bad = (why: string): CheckError => new CheckError(`The board's proof is malformed: ${why}.`)
  const split = text.indexOf('\n\n')
  const checkpoint = split < 0 ? '' : text.slice(split + 2)
  if (!checkpoint) throw bad('no checkpoint after an empty line')
  const [header, ...rest] = text.slice(0, split).split('\n')
  if (header !== PROOF_HEADER) throw bad(`it does not start with the line ${PROOF_HEADER}`)
  let extra: Bytes | null = null
  if (rest[0]?.startsWith('extra ')) {
    extra = fromBase64(rest.shift()!.slice('extra '.length))
    if (!extra) throw bad('its extra data is not base64')
  }
  const index = /^index (0|[1-9][0-9]{0,19})$/.exec(rest.shift() ?? '')
  if (!index) throw bad('its index line is not "index N", N without leading zeroes')
  const hashes = rest.map((line) => {
    const hash = fromBase64(line)
    if (!hash || hash.length !== HASH_SIZE) throw bad(`a proof hash is not base64 of ${HASH_SIZE} bytes`)
    return hash
  })
  return { index: BigInt(index[1]!), hashes, checkpoint, extra }
}
