// The board test vectors (board-vectors.json, made by webapp/scripts/board_vectors.py from the
// Python reference) and a fake board's server for the receipt check.
import type { Board, BoardAnswer } from '../lib/board/check'
import vectors from './board-vectors.json'

export { vectors }

export type ProofCase = (typeof vectors.proofs)[number]

export function proofCase(name: string): ProofCase {
  const found = vectors.proofs.find((c) => c.name === name)
  if (!found) throw new Error(`no proof case ${name}`)
  return found
}

/** A board's server that answers each code from `answers` (404 for others) and lists `key`. */
export function fakeBoard(answers: Record<string, unknown>, key: string = vectors.key): Board & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    serverKey: async () => {
      asked.push('key')
      return key
    },
    receipt: async (code: string): Promise<BoardAnswer> => {
      asked.push(code)
      return code in answers ? { status: 200, body: answers[code] } : { status: 404, detail: `no board entry has tracking code ${code} (yet)` }
    },
  }
}
