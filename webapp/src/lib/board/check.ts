// The receipt check, step by step, as `boleta receipt check` does it (boleta/receipt_cli.py):
// the key, the receipt's signature (when one is given), the board's answer, the checkpoint's
// signature, the inclusion proof, and the entry. Every step runs here, in the browser, with
// WebCrypto; the board only supplies the data.
import { CheckError, fromHex, fromUtf8, toHex } from './bytes'
import { leafHash, verifyInclusion } from './merkle'
import { openNote, parseCheckpoint, parseSignedNote, parseVerifierKey, type VerifierKey } from './note'
import { parseTLogProof, type TLogProof } from './proof'
import { instantMs, parseReceiptInput, parseStatement, type Receipt } from './receipt'

export type StepId = 'code' | 'key' | 'receipt' | 'board' | 'checkpoint' | 'inclusion' | 'entry'

export const STEP_LABELS: Record<StepId, string> = {
  code: 'Tracking code',
  key: 'Verifier key',
  receipt: 'Your receipt',
  board: "The board's answer",
  checkpoint: "The checkpoint's signature",
  inclusion: 'The inclusion proof',
  entry: 'The entry',
}

export interface Step {
  id: StepId
  ok: boolean
  text: string
}

/** The public part of a vote, as the board holds it (ADR 8). */
export interface BoardEntry {
  contest: string
  band: string
  album: string
  year: number
  rank: number
  cast_at: string
  offset: number
  one_vote_per_voter: boolean
}

/** proved: every check holds. not-yet: no entry with this code (and no promise broken).
 * broken-promise: none, after the receipt's publish_by. unavailable: try again later.
 * failed: a check failed (the last step says which). */
export type Verdict = 'proved' | 'not-yet' | 'broken-promise' | 'unavailable' | 'failed'

export interface Outcome {
  verdict: Verdict
  summary: string
  steps: Step[]
  code: string
  /** The key was the one the board's own server lists (it proves nothing against it). */
  keyFromServer: boolean
  entry: BoardEntry | null
  /** The signed receipt the check used, and what it promises. */
  receipt: (Receipt & { note: string }) | null
}

/** The body of GET /api/v1/receipts/{code} (queries/receipts_api.py). */
export interface ReceiptProof {
  tracking_code: string
  partition: number
  index: number
  origin: string
  checkpoint_size: number
  entry: string
  tlog_proof: string
}

export type BoardAnswer = { status: 200; body: unknown } | { status: number; detail: string }

/** What the check asks of the board's server. Its answers are data to check, never trusted. */
export interface Board {
  /** The verifier key GET /board lists (throws an Error with a message to show). */
  serverKey(): Promise<string>
  /** GET /api/v1/receipts/{code}; status 0 when the server could not be reached. */
  receipt(code: string): Promise<BoardAnswer>
}

export interface CheckInput {
  code: string
  key: string
  receipt: string
}

const CODE = /^[0-9a-fA-F]{64}$/

/** The board has no proof to give: not a failed check, an answer (with the step's line). */
class Stop extends Error {
  constructor(
    readonly verdict: Verdict,
    readonly step: string,
    readonly summary: string,
  ) {
    super(summary)
  }
}

function entryOf(extra: Uint8Array): BoardEntry {
  const text = fromUtf8(extra)
  let value: unknown = null
  try {
    value = text === null ? null : JSON.parse(text)
  } catch {
    value = null
  }
  const e = value as Record<string, unknown> | null
  const ok =
    typeof e === 'object' &&
    e !== null &&
    e.v === 1 &&
    ['contest', 'band', 'album', 'cast_at'].every((k) => typeof e[k] === 'string') &&
    ['year', 'rank', 'offset'].every((k) => Number.isInteger(e[k])) &&
    typeof e.one_vote_per_voter === 'boolean'
  if (!ok) throw new CheckError('The entry hashes to the tracking code but is not a version 1 board entry.')
  return e as unknown as BoardEntry
}

type Stated = { note: string; receipts: Receipt[] }

/** The statements of the pasted receipts, unchecked (their signatures are checked once the
 * key is known). */
function statedReceipts(input: string): Stated[] {
  return parseReceiptInput(input).map((n) => ({ note: n.note, receipts: parseStatement(parseSignedNote(n.note).text) }))
}

/** The code to check: the one given, or the one vote's of the receipt. */
function chooseCode(given: string, stated: Stated[]): string {
  let code = given.trim().toLowerCase()
  if (!code) {
    const codes = stated.flatMap((n) => n.receipts.map((r) => r.trackingCode))
    if (codes.length !== 1) {
      throw new CheckError(
        codes.length === 0
          ? 'Enter your tracking code (64 hex digits).'
          : `Your receipt covers ${codes.length} votes: enter the tracking code of the one to check.`,
      )
    }
    code = codes[0]!
  }
  if (!CODE.test(code)) {
    const notHex = /[^0-9a-f]/.test(code) ? ', not all of them hex digits' : ''
    throw new CheckError(`A tracking code is 64 hex digits (0-9, a-f); this one has ${code.length} characters${notHex}.`)
  }
  return code
}

async function serverKey(board: Board): Promise<string> {
  try {
    return await board.serverKey()
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new CheckError(`No key was given, and the board's server did not list one: ${why} Paste the organiser's key.`)
  }
}

/** The receipt of `code` among the pasted ones, its signature checked with `key`. */
async function signedReceipt(stated: Stated[], code: string, key: VerifierKey): Promise<Receipt & { note: string }> {
  const mine = stated.find((n) => n.receipts.some((r) => r.trackingCode === code))
  if (!mine) {
    const codes = stated.flatMap((n) => n.receipts.map((r) => r.trackingCode))
    throw new CheckError(`Your receipt does not include this tracking code: it covers ${codes.join(', ')}.`)
  }
  const verified = parseStatement(await openNote(mine.note, key, 'receipt'))
  return { ...verified.find((r) => r.trackingCode === code)!, note: mine.note }
}

/** The board's tlog-proof of `out.code`, or a Stop / CheckError for any other answer. */
async function boardProof(board: Board, out: Outcome, now: number): Promise<TLogProof> {
  const answer = await board.receipt(out.code)
  if (!('body' in answer)) throw boardRefusal(answer, out.receipt, now)
  const body = answer.body as Partial<ReceiptProof> | null
  if (typeof body?.tlog_proof !== 'string') throw new CheckError('The board answered without a proof (no tlog_proof).')
  return parseTLogProof(body.tlog_proof)
}

/** The entry the proof carries, once it hashes to the code and is the receipt's vote. */
async function provedEntry(proof: TLogProof, code: string, receipt: Receipt | null): Promise<BoardEntry> {
  if (!proof.extra) throw new CheckError('The proof carries no entry (no extra data).')
  if (toHex(await leafHash(proof.extra)) !== code) {
    throw new CheckError('The entry the proof carries does not hash to the tracking code: it is not the entry on the board.')
  }
  const entry = entryOf(proof.extra)
  if (receipt && (String(entry.offset) !== receipt.offset || instantMs(entry.cast_at) !== instantMs(receipt.castAt))) {
    throw new CheckError(
      `The entry is not the vote your receipt describes: offset ${entry.offset} cast ${entry.cast_at}, the receipt says offset ${receipt.offset} cast ${receipt.castAt}.`,
    )
  }
  return entry
}

/** Checks that the board holds the vote of `input`'s tracking code; never throws: every
 * failure is an outcome, its last step the check that failed. */
export async function checkReceipt(input: CheckInput, board: Board, now: number = Date.now()): Promise<Outcome> {
  const out: Outcome = { verdict: 'failed', summary: '', steps: [], code: '', keyFromServer: false, entry: null, receipt: null }
  let current: StepId = 'receipt' // the receipts are read first: one vote's may give the code
  const pass = (text: string): void => {
    out.steps.push({ id: current, ok: true, text })
  }
  try {
    const stated = statedReceipts(input.receipt)
    current = 'code'
    out.code = chooseCode(input.code, stated)
    pass(out.code)

    current = 'key'
    out.keyFromServer = !input.key.trim()
    const key = await parseVerifierKey(out.keyFromServer ? await serverKey(board) : input.key)
    const id = `${key.name} (key id ${toHex(key.keyId)})`
    pass(out.keyFromServer ? `${id}, the key the board's own server lists: it proves nothing against whoever runs that server.` : `${id}, the key you gave.`)

    if (stated.length > 0) {
      current = 'receipt'
      const receipt = (out.receipt = await signedReceipt(stated, out.code, key))
      pass(`Signed by ${key.name}: the service promised this vote on board log ${receipt.origin} by ${receipt.publishBy} (cast ${receipt.castAt}).`)
    }

    current = 'board'
    const proof = await boardProof(board, out, now)
    const n = proof.hashes.length
    pass(`An entry and its proof of inclusion in the latest checkpoint (c2sp.org/tlog-proof, ${n} hash${n === 1 ? '' : 'es'}).`)

    current = 'checkpoint'
    const checkpoint = parseCheckpoint(await openNote(proof.checkpoint, key, 'checkpoint'))
    if (out.receipt && checkpoint.origin !== out.receipt.origin) {
      throw new CheckError(`The checkpoint is of board log ${checkpoint.origin}, not ${out.receipt.origin}, the one your receipt names.`)
    }
    pass(`The checkpoint of board log ${checkpoint.origin} (size ${checkpoint.size}) is signed by ${key.name}.`)

    current = 'inclusion'
    await verifyInclusion(fromHex(out.code)!, proof.index, checkpoint.size, proof.hashes, checkpoint.root)
    pass(`The tracking code is leaf ${proof.index} of that checkpoint's tree: the proof's hashes lead to its signed root.`)

    current = 'entry'
    out.entry = await provedEntry(proof, out.code, out.receipt)
    pass(`It hashes to the tracking code${out.receipt ? ', and is the vote your receipt describes' : ''}.`)

    out.verdict = 'proved'
    out.summary = `Your vote is on board log ${checkpoint.origin} at index ${proof.index} of the checkpoint of size ${checkpoint.size}, signed by ${key.name}.`
  } catch (err) {
    if (err instanceof Stop) {
      out.steps.push({ id: current, ok: false, text: err.step })
      out.verdict = err.verdict
      out.summary = err.summary
    } else {
      const message = err instanceof CheckError ? err.message : `Unexpected error: ${err instanceof Error ? err.message : String(err)}`
      out.steps.push({ id: current, ok: false, text: message })
      out.verdict = 'failed'
      out.summary = `The check of ${STEP_LABELS[current].toLowerCase()} failed. ${message}`
    }
  }
  return out
}

function boardRefusal(answer: { status: number; detail: string }, receipt: Receipt | null, now: number): Error {
  switch (answer.status) {
    case 404: {
      if (receipt && now > instantMs(receipt.publishBy)!) {
        return new Stop(
          'broken-promise',
          `No entry with this tracking code (HTTP 404), after ${receipt.publishBy}.`,
          `Not on the board, and the service promised it by ${receipt.publishBy}: a broken promise. Your signed receipt below is the evidence.`,
        )
      }
      const promise = receipt ? ` The service promised it by ${receipt.publishBy}.` : ''
      return new Stop(
        'not-yet',
        'No entry with this tracking code in a signed checkpoint (HTTP 404).',
        `Not on the board (yet): no entry with this tracking code is in a signed checkpoint.${promise} A vote reaches the board shortly after it is cast: check again later, and check the code for typos.`,
      )
    }
    case 0:
    case 502:
    case 503:
    case 504:
      return new Stop('unavailable', answer.status ? `HTTP ${answer.status}: ${answer.detail}` : answer.detail, 'The board cannot be read right now: try again shortly.')
    case 400:
      return new CheckError(`The board refused the tracking code: ${answer.detail}`)
    default:
      return new CheckError(`The board answered HTTP ${answer.status}: ${answer.detail}`)
  }
}
