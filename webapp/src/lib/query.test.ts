import { describe, expect, it } from 'vitest'
import {
  emptyFilters,
  filtersToForm,
  formToFilters,
  listKey,
  logQueryToParams,
  parseLogQuery,
  votesApiParams,
} from './query'
import { localInputToRfc3339 } from './time'

describe('parseLogQuery / logQueryToParams', () => {
  it('round-trips filters, cursor, limit and vote', () => {
    const params = new URLSearchParams(
      'band=Led+Zeppelin&album=IV&year=1971&since=2024-01-01T00%3A00%3A00Z&limit=20&cursor=abc%3D%3D&vote=v1',
    )
    const q = parseLogQuery(params)
    expect(q.filters).toEqual({ contest: '', band: 'Led Zeppelin', album: 'IV', year: '1971', since: '2024-01-01T00:00:00Z', until: '' })
    expect(q).toMatchObject({ cursor: 'abc==', limit: '20', vote: 'v1' })
    expect(parseLogQuery(logQueryToParams(q))).toEqual(q)
  })

  it('treats blank values as absent and omits them', () => {
    const q = parseLogQuery(new URLSearchParams('band=%20%20&cursor=&year=1999'))
    expect(q.filters.band).toBe('')
    expect(q.cursor).toBeNull()
    expect(logQueryToParams(q).toString()).toBe('year=1999')
  })
})

describe('votesApiParams', () => {
  it('sends filters, limit and cursor but not the looked-up vote', () => {
    const q = { filters: { ...emptyFilters(), band: 'A&B' }, cursor: 'c/1+', limit: '10', vote: 'v' }
    const params = votesApiParams(q)
    expect(params.get('band')).toBe('A&B')
    expect(params.get('cursor')).toBe('c/1+')
    expect(params.get('limit')).toBe('10')
    expect(params.has('vote')).toBe(false)
    expect(params.toString()).toBe('band=A%26B&limit=10&cursor=c%2F1%2B')
  })

  it('is empty without filters', () => {
    expect(votesApiParams(parseLogQuery(new URLSearchParams())).toString()).toBe('')
  })
})

describe('listKey', () => {
  it('ignores the looked-up vote but not the cursor', () => {
    const base = parseLogQuery(new URLSearchParams('band=A'))
    expect(listKey({ ...base, vote: 'x' })).toBe(listKey(base))
    expect(listKey({ ...base, cursor: 'c' })).not.toBe(listKey(base))
  })
})

describe('formToFilters', () => {
  const form = { contest: ' Best-Album ', band: ' Queen ', album: '', year: ' 1975 ', since: '2024-01-01T00:00', until: '' }

  it('trims and converts times', () => {
    const result = formToFilters(form)
    expect('filters' in result && result.filters).toEqual({
      contest: 'best-album',
      band: 'Queen',
      album: '',
      year: '1975',
      since: localInputToRfc3339('2024-01-01T00:00'),
      until: '',
    })
  })

  it('rejects a non-integer year', () => {
    expect(formToFilters({ ...form, year: '19x5' })).toEqual({ error: 'Year must be a whole number.' })
  })

  it('rejects a contest that is not a contest id', () => {
    expect(formToFilters({ ...form, contest: 'best album' })).toEqual({
      error: 'Contest is a contest id: lowercase letters, digits and hyphens.',
    })
  })

  it('rejects since after until', () => {
    const result = formToFilters({ ...form, since: '2024-02-01T00:00', until: '2024-01-01T00:00' })
    expect(result).toEqual({ error: '"Since" must not be later than "Until".' })
  })

  it('rejects an unparseable time', () => {
    expect(formToFilters({ ...form, until: 'soon' })).toEqual({ error: '"Until" is not a valid date and time.' })
  })

  it('is the inverse of filtersToForm', () => {
    const filters = { contest: 'main', band: 'A', album: 'B', year: '2000', since: '2024-03-04T05:06:07Z', until: '' }
    expect(formToFilters(filtersToForm(filters))).toEqual({ filters })
  })
})
