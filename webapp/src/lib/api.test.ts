import { describe, expect, it, vi } from 'vitest'
import { ApiError, errorDetail, errorFields, fetchResultsAsOf, fetchVote, fetchVotes, getJson, isResults, resultsAsOfUrl, voteUrl, votesUrl } from './api'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('urls', () => {
  it('builds the votes url with and without a query', () => {
    expect(votesUrl(new URLSearchParams())).toBe('/api/v1/votes')
    expect(votesUrl(new URLSearchParams({ band: 'A B' }))).toBe('/api/v1/votes?band=A+B')
  })
  it('escapes the vote id in the path', () => {
    expect(voteUrl('a/b?c')).toBe('/api/v1/votes/a%2Fb%3Fc')
  })
  it('asks one contest for its results as of a moment, the moment escaped', () => {
    expect(resultsAsOfUrl('best-album', '2024-05-01T19:45:00Z')).toBe(
      '/api/v1/contests/best-album/results?as_of=2024-05-01T19%3A45%3A00Z',
    )
    expect(resultsAsOfUrl('a/b', '2024-05-01T21:45:00+02:00')).toBe(
      '/api/v1/contests/a%2Fb/results?as_of=2024-05-01T21%3A45%3A00%2B02%3A00',
    )
  })
})

describe('errorDetail', () => {
  it('uses detail and appends validation messages from extra', () => {
    expect(
      errorDetail(400, {
        status_code: 400,
        detail: 'Validation failed for GET /api/v1/votes',
        extra: [{ message: 'Expected `int`', key: 'year', source: 'query' }, { message: 'bad cursor' }],
      }),
    ).toBe('Validation failed for GET /api/v1/votes (year: Expected `int`; bad cursor)')
  })
  it('does not repeat a field problem the detail already says (the API names the field in both)', () => {
    const message = "'yesterday' is not an RFC 3339 date-time; accepted: an RFC 3339 date-time"
    const body = { status_code: 400, detail: `as_of: ${message}`, extra: [{ key: 'as_of', source: 'query', message }] }
    expect(errorDetail(400, body)).toBe(`as_of: ${message}`)
  })
  it('uses detail alone when extra is not a list', () => {
    expect(errorDetail(400, { detail: 'invalid cursor', extra: { cursor: 'x' } })).toBe('invalid cursor')
  })
  it('falls back to the status code', () => {
    expect(errorDetail(502, null)).toBe('The server answered HTTP 502.')
    expect(errorDetail(500, { detail: '' })).toBe('The server answered HTTP 500.')
  })
})

describe('errorFields', () => {
  it('reads each field and its message from extra', () => {
    const body = { detail: 'x', extra: [{ key: 'as_of', source: 'query', message: 'in the future' }, { message: 'bad' }, 'junk', { key: 'y' }] }
    expect(errorFields(body)).toEqual([
      { key: 'as_of', message: 'in the future' },
      { key: '', message: 'bad' },
    ])
  })
  it('is empty without a list of fields', () => {
    expect(errorFields(null)).toEqual([])
    expect(errorFields({ detail: 'x', extra: { cursor: 'x' } })).toEqual([])
  })
})

describe('getJson', () => {
  it('returns the body of a 200', async () => {
    const fetchImpl = vi.fn(async () => jsonResponse(200, { votes: [], next_cursor: null }))
    await expect(fetchVotes(new URLSearchParams({ year: '1999' }), undefined, fetchImpl)).resolves.toEqual({
      votes: [],
      next_cursor: null,
    })
    expect(fetchImpl).toHaveBeenCalledWith('/api/v1/votes?year=1999', expect.objectContaining({}))
  })

  it('throws ApiError with the detail of a 400', async () => {
    const fetchImpl = async () => jsonResponse(400, { status_code: 400, detail: 'since must be RFC 3339' })
    const err = await getJson('/x', undefined, fetchImpl).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 400, detail: 'since must be RFC 3339' })
  })

  it("keeps the fields an error answer names", async () => {
    const body = { status_code: 404, detail: 'as_of: 2099 is in the future', extra: [{ key: 'as_of', source: 'query', message: '2099 is in the future' }] }
    const err = await fetchResultsAsOf('main', '2099-01-01T00:00:00Z', undefined, async () => jsonResponse(404, body)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 404, detail: 'as_of: 2099 is in the future', fields: [{ key: 'as_of', message: '2099 is in the future' }] })
  })

  it('throws ApiError 404 for a missing vote', async () => {
    const fetchImpl = async () => jsonResponse(404, { status_code: 404, detail: 'vote not found' })
    await expect(fetchVote('nope', undefined, fetchImpl)).rejects.toMatchObject({ status: 404 })
  })

  it('reports a non-JSON error page by status', async () => {
    const fetchImpl = async () => new Response('<html>Bad gateway</html>', { status: 502 })
    await expect(getJson('/x', undefined, fetchImpl)).rejects.toMatchObject({
      status: 502,
      detail: 'The server answered HTTP 502.',
    })
  })

  it('reports a non-JSON 200 as an error', async () => {
    const fetchImpl = async () => new Response('<html>index</html>', { status: 200 })
    await expect(getJson('/x', undefined, fetchImpl)).rejects.toMatchObject({ status: 200 })
  })

  it('turns a network failure into status 0', async () => {
    const fetchImpl = async (): Promise<Response> => {
      throw new TypeError('Failed to fetch')
    }
    await expect(getJson('/x', undefined, fetchImpl)).rejects.toMatchObject({ status: 0 })
  })

  it('lets an abort through untouched', async () => {
    const fetchImpl = async (): Promise<Response> => {
      throw new DOMException('aborted', 'AbortError')
    }
    await expect(getJson('/x', undefined, fetchImpl)).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('isResults', () => {
  const good = { total: 1, bands: [{ band: 'A', votes: 1, albums: [] }], per_second: [], checkpoints: {}, lag: 0, as_of: 'x' }
  it('accepts a results payload', () => {
    expect(isResults(good)).toBe(true)
  })
  it('rejects wrong shapes', () => {
    expect(isResults(null)).toBe(false)
    expect(isResults({ ...good, total: '1' })).toBe(false)
    expect(isResults({ ...good, bands: [{ band: 'A' }] })).toBe(false)
    expect(isResults({ ...good, lag: undefined })).toBe(false)
  })
})
