import { describe, expect, it } from 'vitest'
import { localInputToRfc3339, rfc3339ToLocalInput } from './time'
import { inTimeZone } from '../test/fakes'

describe('localInputToRfc3339', () => {
  it('reads the input in the local time zone and writes UTC', () => {
    // Guatemala: UTC-6 all year; Kathmandu: UTC+5:45; Berlin: UTC+1, +2 in summer.
    inTimeZone('America/Guatemala', () => {
      expect(localInputToRfc3339('2024-05-01T13:45')).toBe('2024-05-01T19:45:00Z')
      expect(localInputToRfc3339('2024-05-01T13:45:07')).toBe('2024-05-01T19:45:07Z')
      expect(localInputToRfc3339('2024-12-31T20:00:00')).toBe('2025-01-01T02:00:00Z')
    })
    inTimeZone('Asia/Kathmandu', () => {
      expect(localInputToRfc3339('2024-05-01T05:00')).toBe('2024-04-30T23:15:00Z')
    })
    inTimeZone('Europe/Berlin', () => {
      expect(localInputToRfc3339('2024-01-15T12:00:00')).toBe('2024-01-15T11:00:00Z')
      expect(localInputToRfc3339('2024-07-15T12:00:00')).toBe('2024-07-15T10:00:00Z')
    })
    inTimeZone('UTC', () => {
      expect(localInputToRfc3339('2024-05-01T13:45')).toBe('2024-05-01T13:45:00Z')
    })
  })

  it('drops a fraction of a second and accepts surrounding spaces', () => {
    inTimeZone('UTC', () => {
      expect(localInputToRfc3339(' 2024-05-01T13:45:07.250 ')).toBe('2024-05-01T13:45:07Z')
    })
  })

  it('keeps years before 100 as written (the Date constructor would add 1900)', () => {
    inTimeZone('UTC', () => {
      expect(localInputToRfc3339('0026-11-27T20:00:00')).toBe('0026-11-27T20:00:00Z')
    })
  })

  it('rejects malformed and impossible moments', () => {
    for (const value of ['', '2024-05-01', 'garbage', '2024-05-01 13:45', '2024-05-01T13:45Z', '2024-05-01T13:45:00+02:00']) {
      expect(localInputToRfc3339(value), value).toBeNull()
    }
    for (const value of ['2024-02-30T10:00', '2023-02-29T10:00', '2024-13-01T10:00', '2024-00-10T10:00', '2024-05-00T10:00']) {
      expect(localInputToRfc3339(value), value).toBeNull()
    }
    for (const value of ['2024-05-01T24:00', '2024-05-01T23:60', '2024-05-01T23:59:60']) {
      expect(localInputToRfc3339(value), value).toBeNull()
    }
    expect(localInputToRfc3339('2024-02-29T10:00')).not.toBeNull()
  })
})

describe('rfc3339ToLocalInput', () => {
  it('shows a UTC moment in the local time zone', () => {
    inTimeZone('America/Guatemala', () => {
      expect(rfc3339ToLocalInput('2024-05-01T19:45:07Z')).toBe('2024-05-01T13:45:07')
      expect(rfc3339ToLocalInput('2024-05-01T21:45:07+02:00')).toBe('2024-05-01T13:45:07')
    })
  })

  it('round-trips with localInputToRfc3339', () => {
    inTimeZone('Asia/Kathmandu', () => {
      const iso = localInputToRfc3339('2023-12-31T23:59:58')!
      expect(rfc3339ToLocalInput(iso)).toBe('2023-12-31T23:59:58')
    })
  })

  it('is empty for nothing or a text that is not a moment', () => {
    expect(rfc3339ToLocalInput('')).toBe('')
    expect(rfc3339ToLocalInput('not a date')).toBe('')
  })
})
