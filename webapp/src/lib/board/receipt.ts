// A vote's receipt, as domain/board/receipt.py writes it: a signed note whose text is the
// statement of one vote ("boleta receipt v1") or of one batch's votes ("boleta receipts
// v1"), and the receipts file's lines (`boleta cast --receipts`, JSON Lines:
// {"receipt": "<signed note>", "vote_ids": [...]}).
import { CheckError } from './bytes'

export interface Receipt {
  origin: string
  partition: string
  offset: string
  trackingCode: string
  /** As written: YYYY-MM-DDTHH:MM:SS.mmmZ. */
  castAt: string
  publishBy: string
}

/** One signed note as pasted, and the vote ids its line names (not signed). */
export interface ReceiptNote {
  note: string
  voteIds: string[]
}

const MOMENT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/
const NATURAL = /^(0|[1-9][0-9]{0,19})$/
const CODE = /^[0-9a-f]{64}$/

/** Milliseconds since 1970 of an RFC 3339 UTC moment (`Z`, any fraction, truncated to the
 * millisecond: an entry's `.123000Z` and a receipt's `.123Z` are one instant); null for
 * anything else. */
export function instantMs(text: string): number | null {
  const m = MOMENT.exec(text)
  if (!m) return null
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms))
  date.setUTCFullYear(year) // Date.UTC reads the years 0-99 as 1900-1999
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null
  return date.getTime()
}

function statementLines(text: string, header: string): string[] {
  if (!text.endsWith('\n')) throw new CheckError('The receipt is malformed: its statement does not end with a newline.')
  const [first, ...lines] = text.slice(0, -1).split('\n')
  if (first !== header) throw new CheckError(`The receipt is malformed: its statement does not start with "${header}".`)
  return lines
}

function vote(origin: string, partition: string, offset: string, code: string, castAt: string, publishBy: string): Receipt {
  const bad = (why: string): CheckError => new CheckError(`The receipt is malformed: ${why}.`)
  if (!origin || origin !== origin.trim() || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(origin)) throw bad('its origin is not printable')
  if (!NATURAL.test(partition) || !NATURAL.test(offset)) throw bad('its partition or offset is not a decimal')
  if (!CODE.test(code)) throw bad('a tracking code is not 64 lowercase hex digits')
  const cast = /\.\d{3}Z$/.test(castAt) ? instantMs(castAt) : null
  const by = /\.\d{3}Z$/.test(publishBy) ? instantMs(publishBy) : null
  if (cast === null || by === null) throw bad('a moment is not YYYY-MM-DDTHH:MM:SS.mmmZ')
  if (by <= cast) throw bad('its publish_by is not later than its cast_at')
  return { origin, partition, offset, trackingCode: code, castAt, publishBy }
}

/** The receipts a statement (a signed note's text) states: one, or a batch's. */
export function parseStatement(text: string): Receipt[] {
  if (text.startsWith('boleta receipts v1\n')) {
    const lines = statementLines(text, 'boleta receipts v1')
    const [castAt, publishBy, ...votes] = lines
    if (castAt === undefined || publishBy === undefined || votes.length === 0) {
      throw new CheckError('The receipt is malformed: a batch receipt has two moments and at least one vote.')
    }
    return votes.map((line) => {
      const fields = line.split(' ')
      if (fields.length < 4) throw new CheckError(`The receipt is malformed: a vote's line is "partition offset code origin".`)
      const [partition, offset, code, ...origin] = fields as [string, string, string, ...string[]]
      return vote(origin.join(' '), partition, offset, code, castAt, publishBy)
    })
  }
  const lines = statementLines(text, 'boleta receipt v1')
  if (lines.length !== 6) throw new CheckError('The receipt is malformed: a receipt is seven lines.')
  const [origin, partition, offset, code, castAt, publishBy] = lines as [string, string, string, string, string, string]
  return [vote(origin, partition, offset, code, castAt, publishBy)]
}

/** The signed notes of what a voter pasted: lines of a receipts file (JSON), or one signed
 * note as it is (its trailing newline restored when the paste lost it). */
export function parseReceiptInput(input: string): ReceiptNote[] {
  const text = input.replace(/\r\n?/g, '\n').trim()
  if (!text) return []
  if (!text.startsWith('{')) return [{ note: `${text}\n`, voteIds: [] }]
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      let record: unknown
      try {
        record = JSON.parse(line)
      } catch {
        record = null
      }
      const r = record as { receipt?: unknown; vote_ids?: unknown } | null
      if (typeof r !== 'object' || r === null || typeof r.receipt !== 'string') {
        throw new CheckError(`Receipt line ${i + 1} is not a line of a receipts file ({"receipt": …, "vote_ids": […]}).`)
      }
      const ids = Array.isArray(r.vote_ids) ? r.vote_ids.filter((v): v is string => typeof v === 'string') : []
      return { note: r.receipt, voteIds: ids }
    })
}
