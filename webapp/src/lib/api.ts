// Types and fetch helpers for the query service's HTTP API (/api/v1) and its board (/board).
import type { Board, BoardAnswer } from './board/check'

export const API_BASE = '/api/v1'

export interface AlbumResult {
  album: string
  votes: number
}

export interface BandResult {
  band: string
  votes: number
  albums: AlbumResult[]
}

export interface PerSecond {
  second: number
  votes: number
}

/** upcoming: not open yet; open: accepting votes; closed: the results are final. */
export type ContestStatus = 'upcoming' | 'open' | 'closed'

export interface Contest {
  id: string
  title: string
  opens_at: string | null
  closes_at: string | null
  status: ContestStatus
  total: number
}

export interface ContestList {
  default: string
  contests: Contest[]
}

export interface Results {
  contest?: string
  status?: ContestStatus
  total: number
  bands: BandResult[]
  per_second: PerSecond[]
  checkpoints: Record<string, number>
  lag: number
  /** 'log': read from the log's end offsets; 'worker': the tallies worker's own view. */
  lag_source?: 'log' | 'worker'
  /** Live: when the tallies were read. As of a moment (`?as_of=`): that moment. */
  as_of: string
  /** As of a moment: true once no vote cast by then can still reach the log. */
  final?: boolean
}

export interface Vote {
  event_id: string
  vote_id: string
  contest: string
  band: string
  album: string
  year: number
  rank: number
  cast_at: string
  partition: number
  offset: number
  /** A keyed pseudonym of the voter (32 hex characters), or null: never the voter's id. */
  voter?: string | null
  /** One vote per voter: the voter's counted vote, when this later one is not counted. */
  superseded_by?: string | null
}

export interface VotesPage {
  votes: Vote[]
  next_cursor: string | null
}

/** One refused input of an error answer: the field and why (with what it accepts). */
export interface FieldProblem {
  key: string
  message: string
}

/** An HTTP or network failure, with a message fit to show the user. */
export class ApiError extends Error {
  readonly status: number
  readonly detail: string
  /** The fields the answer named (its `extra`), if any. */
  readonly fields: FieldProblem[]

  constructor(status: number, detail: string, fields: FieldProblem[] = []) {
    super(detail)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.fields = fields
  }
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The fields an error body (Litestar: {status_code, detail, extra}) names in `extra`. */
export function errorFields(body: unknown): FieldProblem[] {
  if (!isRecord(body) || !Array.isArray(body.extra)) return []
  return body.extra
    .filter(isRecord)
    .map((e) => ({
      key: typeof e.key === 'string' ? e.key : '',
      message: typeof e.message === 'string' ? e.message : '',
    }))
    .filter((f) => f.message !== '')
}

/** Turns an error body into one line: its detail, and each field problem it does not already say. */
export function errorDetail(status: number, body: unknown): string {
  if (isRecord(body) && typeof body.detail === 'string' && body.detail !== '') {
    const detail = body.detail
    const parts = errorFields(body)
      .map((f) => (f.key ? `${f.key}: ${f.message}` : f.message))
      .filter((part) => !detail.includes(part))
    return parts.length > 0 ? `${detail} (${parts.join('; ')})` : detail
  }
  return `The server answered HTTP ${status}.`
}

export async function getJson<T>(url: string, signal?: AbortSignal, fetchImpl: FetchLike = fetch): Promise<T> {
  let response: Response
  try {
    response = await fetchImpl(url, { signal, headers: { Accept: 'application/json' } })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'Could not reach the server. Check your connection and try again.')
  }
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    body = null
  }
  if (!response.ok) throw new ApiError(response.status, errorDetail(response.status, body), errorFields(body))
  if (body === null) throw new ApiError(response.status, 'The server sent a response that is not JSON.')
  return body as T
}

export function votesUrl(params: URLSearchParams): string {
  const qs = params.toString()
  return `${API_BASE}/votes${qs ? `?${qs}` : ''}`
}

export function voteUrl(voteId: string): string {
  return `${API_BASE}/votes/${encodeURIComponent(voteId)}`
}

export const resultsStreamUrl = `${API_BASE}/results/stream`
export const contestsUrl = `${API_BASE}/contests`

/** One contest's results as of a moment (RFC 3339, passed as given: the API judges it). */
export function resultsAsOfUrl(contest: string, asOf: string): string {
  return `${contestsUrl}/${encodeURIComponent(contest)}/results?${new URLSearchParams({ as_of: asOf })}`
}

/** The stream of one contest's results (the default contest's when none is given). */
export function contestStreamUrl(contest?: string): string {
  return contest ? `${contestsUrl}/${encodeURIComponent(contest)}/results/stream` : resultsStreamUrl
}

export function fetchContests(signal?: AbortSignal, fetchImpl?: FetchLike): Promise<ContestList> {
  return getJson<ContestList>(contestsUrl, signal, fetchImpl)
}

export function fetchResultsAsOf(contest: string, asOf: string, signal?: AbortSignal, fetchImpl?: FetchLike): Promise<Results> {
  return getJson<Results>(resultsAsOfUrl(contest, asOf), signal, fetchImpl)
}

export function fetchVotes(params: URLSearchParams, signal?: AbortSignal, fetchImpl?: FetchLike): Promise<VotesPage> {
  return getJson<VotesPage>(votesUrl(params), signal, fetchImpl)
}

export function fetchVote(voteId: string, signal?: AbortSignal, fetchImpl?: FetchLike): Promise<Vote> {
  return getJson<Vote>(voteUrl(voteId), signal, fetchImpl)
}

export const boardUrl = '/board'

/** Where a tracking code's board entry and inclusion proof are (any case: the API takes both). */
export function receiptUrl(code: string): string {
  return `${API_BASE}/receipts/${encodeURIComponent(code)}`
}

/** The board's server, for the receipt check: what it answers is data to check, not trust. */
export function httpBoard(signal?: AbortSignal, fetchImpl?: FetchLike): Board {
  return {
    async serverKey(): Promise<string> {
      const listing = await getJson<{ verifier_key?: unknown }>(boardUrl, signal, fetchImpl)
      if (typeof listing.verifier_key !== 'string') throw new ApiError(200, 'The board lists no verifier key.')
      return listing.verifier_key
    },
    async receipt(code: string): Promise<BoardAnswer> {
      try {
        return { status: 200, body: await getJson<unknown>(receiptUrl(code), signal, fetchImpl) }
      } catch (err) {
        if (err instanceof ApiError) return { status: err.status, detail: err.detail }
        throw err
      }
    },
  }
}

/** Light shape check for data arriving over SSE, so bad payloads are not rendered. */
export function isResults(value: unknown): value is Results {
  return (
    isRecord(value) &&
    typeof value.total === 'number' &&
    Array.isArray(value.bands) &&
    value.bands.every((b) => isRecord(b) && typeof b.band === 'string' && typeof b.votes === 'number' && Array.isArray(b.albums)) &&
    Array.isArray(value.per_second) &&
    typeof value.lag === 'number' &&
    typeof value.as_of === 'string'
  )
}
