import { describe, expect, it } from 'vitest'
import { formatCount, formatLocalTime, formatShare, lagLabel, lagTitle, shortenId } from './format'

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0')
    expect(formatCount(1234567)).toBe('1,234,567')
  })
})

describe('formatShare', () => {
  it('gives one decimal and drops a trailing .0', () => {
    expect(formatShare(1, 3)).toBe('33.3%')
    expect(formatShare(1, 2)).toBe('50%')
    expect(formatShare(3, 3)).toBe('100%')
  })
  it('is 0% for an empty total instead of NaN', () => {
    expect(formatShare(0, 0)).toBe('0%')
  })
})

describe('formatLocalTime', () => {
  it('renders in local time, whatever the time zone', () => {
    const local = new Date(2024, 0, 2, 3, 4, 5)
    expect(formatLocalTime(local.toISOString())).toBe('2024-01-02 03:04:05')
    expect(formatLocalTime(local)).toBe('2024-01-02 03:04:05')
  })
  it('returns unparseable input unchanged', () => {
    expect(formatLocalTime('yesterday')).toBe('yesterday')
  })
})

describe('shortenId', () => {
  it('keeps 8 characters and adds an ellipsis', () => {
    expect(shortenId('0191f0a2-7c3e-7a55-9d1b-1f2e3d4c5b6a')).toBe('0191f0a2…')
  })
  it('leaves short ids alone', () => {
    expect(shortenId('abc')).toBe('abc')
    expect(shortenId('123456789')).toBe('123456789')
  })
})

describe('lagLabel', () => {
  it('says up to date at zero lag', () => {
    expect(lagLabel(0)).toBe('up to date')
  })
  it('says how far behind otherwise', () => {
    expect(lagLabel(1)).toBe('1 behind')
    expect(lagLabel(12500)).toBe('12,500 behind')
  })
})

describe('lagTitle', () => {
  it('says what the lag counts', () => {
    expect(lagTitle(0)).toBe('All messages in the log are counted')
    expect(lagTitle(3, 'log')).toBe('Messages in the log not yet counted')
  })
  it("says when the lag is the worker's view, not the log's", () => {
    expect(lagTitle(3, 'worker')).toContain('as the tallies worker last saw the log')
    expect(lagTitle(3, 'log')).not.toContain('worker')
  })
})
