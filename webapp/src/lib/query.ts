// The audit log's URL query <-> filters <-> API parameters.
import { localInputToRfc3339, rfc3339ToLocalInput } from './time'

export interface VoteFilters {
  /** A contest id; empty: every contest. */
  contest: string
  band: string
  album: string
  year: string
  /** RFC 3339, as sent to the API. */
  since: string
  /** RFC 3339, as sent to the API. */
  until: string
}

export interface LogQuery {
  filters: VoteFilters
  cursor: string | null
  limit: string | null
  /** vote_id being looked up in the "find a vote" box. */
  vote: string | null
}

export const FILTER_KEYS = ['contest', 'band', 'album', 'year', 'since', 'until'] as const

export function emptyFilters(): VoteFilters {
  return { contest: '', band: '', album: '', year: '', since: '', until: '' }
}

function nonEmpty(params: URLSearchParams, key: string): string | null {
  const v = params.get(key)?.trim()
  return v ? v : null
}

export function parseLogQuery(params: URLSearchParams): LogQuery {
  const filters = emptyFilters()
  for (const key of FILTER_KEYS) filters[key] = nonEmpty(params, key) ?? ''
  return {
    filters,
    cursor: nonEmpty(params, 'cursor'),
    limit: nonEmpty(params, 'limit'),
    vote: nonEmpty(params, 'vote'),
  }
}

function filterParams(filters: VoteFilters): URLSearchParams {
  const params = new URLSearchParams()
  for (const key of FILTER_KEYS) {
    const v = filters[key].trim()
    if (v) params.set(key, v)
  }
  return params
}

/** The page's own URL query (in the hash): filters, paging and the looked-up vote. */
export function logQueryToParams(q: LogQuery): URLSearchParams {
  const params = filterParams(q.filters)
  if (q.limit) params.set('limit', q.limit)
  if (q.cursor) params.set('cursor', q.cursor)
  if (q.vote) params.set('vote', q.vote)
  return params
}

/** Parameters for GET /api/v1/votes. */
export function votesApiParams(q: LogQuery): URLSearchParams {
  const params = filterParams(q.filters)
  if (q.limit) params.set('limit', q.limit)
  if (q.cursor) params.set('cursor', q.cursor)
  return params
}

/** Identifies the list a query shows; the looked-up vote is not part of it. */
export function listKey(q: LogQuery): string {
  return votesApiParams(q).toString()
}

/** Form values (since/until as datetime-local) -> filters, or the first problem found. */
export function formToFilters(form: VoteFilters): { filters: VoteFilters } | { error: string } {
  const filters: VoteFilters = {
    contest: form.contest.trim().toLowerCase(),
    band: form.band.trim(),
    album: form.album.trim(),
    year: form.year.trim(),
    since: '',
    until: '',
  }
  if (filters.contest && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(filters.contest)) {
    return { error: 'Contest is a contest id: lowercase letters, digits and hyphens.' }
  }
  if (filters.year && !/^-?\d+$/.test(filters.year)) return { error: 'Year must be a whole number.' }
  for (const key of ['since', 'until'] as const) {
    const raw = form[key].trim()
    if (!raw) continue
    const iso = localInputToRfc3339(raw)
    if (!iso) return { error: `"${key === 'since' ? 'Since' : 'Until'}" is not a valid date and time.` }
    filters[key] = iso
  }
  if (filters.since && filters.until && Date.parse(filters.since) > Date.parse(filters.until)) {
    return { error: '"Since" must not be later than "Until".' }
  }
  return { filters }
}

/** Filters (since/until RFC 3339) -> form values (since/until datetime-local). */
export function filtersToForm(filters: VoteFilters): VoteFilters {
  return { ...filters, since: rfc3339ToLocalInput(filters.since), until: rfc3339ToLocalInput(filters.until) }
}
