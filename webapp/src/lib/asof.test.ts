import { describe, expect, it } from 'vitest'
import { ApiError } from './api'
import { asOfProblem } from './asof'
import { inTimeZone } from '../test/fakes'

const MOMENT = '2024-05-01T19:45:00Z'

describe('asOfProblem', () => {
  it('names the moment in local time and lists the refused fields of a 400', () => {
    const field = { key: 'as_of', message: "'0026-11-27T20:00:00Z' is before 1970-01-01T00:00:00Z; accepted: ..." }
    const problem = inTimeZone('America/Guatemala', () =>
      asOfProblem(new ApiError(400, `as_of: ${field.message}`, [field]), MOMENT),
    )
    expect(problem).toEqual({
      title: 'The server refused the moment 2024-05-01 13:45:00.',
      detail: '',
      fields: [field],
      retry: false,
    })
  })

  it('shows the detail of a 400 that names no field', () => {
    const problem = asOfProblem(new ApiError(400, 'unknown query parameter(s): x'), MOMENT)
    expect(problem).toMatchObject({ detail: 'unknown query parameter(s): x', fields: [], retry: false })
  })

  it('says a future moment has not come (a 404 naming as_of)', () => {
    const field = { key: 'as_of', message: '2099-01-01T00:00:00+00:00 is in the future (now 2026-...)' }
    const problem = inTimeZone('UTC', () => asOfProblem(new ApiError(404, `as_of: ${field.message}`, [field]), '2099-01-01T00:00:00Z'))
    expect(problem.title).toBe('No results as of 2099-01-01 00:00:00 yet: that moment has not come. Choose an earlier one.')
    expect(problem.fields).toEqual([field])
    expect(problem.retry).toBe(false)
  })

  it('tells an unknown contest (a 404 naming no field) from a future moment', () => {
    const problem = asOfProblem(new ApiError(404, "no contest 'nope': GET /api/v1/contests lists them"), MOMENT)
    expect(problem).toEqual({
      title: 'No such contest.',
      detail: "no contest 'nope': GET /api/v1/contests lists them",
      fields: [],
      retry: false,
    })
  })

  it('offers to try again when the log cannot be read (503)', () => {
    const problem = asOfProblem(new ApiError(503, 'the log (Kafka) could not be read: transport failure'), MOMENT)
    expect(problem).toEqual({
      title: 'Results as of a moment cannot be computed right now (they are read from the log).',
      detail: 'the log (Kafka) could not be read: transport failure',
      fields: [],
      retry: true,
    })
  })

  it('offers to try again after a network failure or another status', () => {
    expect(asOfProblem(new ApiError(0, 'Could not reach the server.'), MOMENT)).toMatchObject({
      title: 'Could not reach the server.',
      retry: true,
    })
    expect(asOfProblem(new ApiError(500, 'Internal Server Error (request id r1)'), MOMENT)).toEqual({
      title: 'The server could not answer (HTTP 500).',
      detail: 'Internal Server Error (request id r1)',
      fields: [],
      retry: true,
    })
    expect(asOfProblem(new TypeError('boom'), MOMENT)).toMatchObject({ detail: 'TypeError: boom', retry: true })
  })
})
