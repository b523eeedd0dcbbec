import { describe, expect, it } from 'vitest'
import { backoffDelay, CLOSED, connectResults, CONNECTING, OPEN, type EventSourceLike, type LiveStatus } from './live'
import type { Results } from './api'

class FakeEventSource implements EventSourceLike {
  readyState = CONNECTING
  onopen: ((ev: Event) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  closed = false
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>()
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener])
  }
  close(): void {
    this.closed = true
    this.readyState = CLOSED
  }
  open(): void {
    this.readyState = OPEN
    this.onopen?.(new Event('open'))
  }
  emit(type: string, data: string): void {
    for (const l of this.listeners.get(type) ?? []) l(new MessageEvent(type, { data }))
  }
  fail(state: number): void {
    this.readyState = state
    this.onerror?.(new Event('error'))
  }
}

const sample: Results = {
  total: 3,
  bands: [{ band: 'A', votes: 3, albums: [{ album: 'a', votes: 3 }] }],
  per_second: [{ second: 1, votes: 3 }],
  checkpoints: { '0': 10 },
  lag: 0,
  as_of: '2024-01-01T00:00:00Z',
}

function setup() {
  const sources: FakeEventSource[] = []
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = []
  const statuses: [LiveStatus, number | undefined][] = []
  const received: Results[] = []
  const bad: string[] = []
  const conn = connectResults({
    url: '/stream',
    onResults: (r) => received.push(r),
    onStatus: (s, retry) => statuses.push([s, retry]),
    onBadMessage: (m) => bad.push(m),
    createEventSource: (url) => {
      const es = new FakeEventSource(url)
      sources.push(es)
      return es
    },
    setTimer: (fn, ms) => {
      const t = { fn, ms, cleared: false }
      timers.push(t)
      return t
    },
    clearTimer: (t) => {
      ;(t as { cleared: boolean }).cleared = true
    },
    random: () => 1,
  })
  return { sources, timers, statuses, received, bad, conn }
}

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap', () => {
    const top = { random: () => 1 }
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, top))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
  })
  it('jitters between half and all of the ceiling', () => {
    expect(backoffDelay(2, { random: () => 0 })).toBe(2000)
    expect(backoffDelay(2, { random: () => 0.5 })).toBe(3000)
  })
  it('honours base and max', () => {
    expect(backoffDelay(10, { baseMs: 100, maxMs: 500, random: () => 1 })).toBe(500)
  })
})

describe('connectResults', () => {
  it('goes connecting -> live and delivers parsed results', () => {
    const { sources, statuses, received } = setup()
    expect(sources).toHaveLength(1)
    expect(sources[0]!.url).toBe('/stream')
    expect(statuses.at(-1)![0]).toBe('connecting')
    sources[0]!.open()
    expect(statuses.at(-1)![0]).toBe('live')
    sources[0]!.emit('results', JSON.stringify(sample))
    expect(received).toEqual([sample])
  })

  it('ignores bad payloads but reports them', () => {
    const { sources, received, bad } = setup()
    sources[0]!.emit('results', '{nope')
    sources[0]!.emit('results', JSON.stringify({ total: 'x' }))
    expect(received).toEqual([])
    expect(bad).toHaveLength(2)
  })

  it('shows reconnecting on a network error and lets the browser retry', () => {
    const { sources, timers, statuses } = setup()
    sources[0]!.open()
    sources[0]!.fail(CONNECTING)
    expect(statuses.at(-1)).toEqual(['reconnecting', undefined])
    expect(timers).toHaveLength(0)
    expect(sources[0]!.closed).toBe(false)
    sources[0]!.open()
    expect(statuses.at(-1)![0]).toBe('live')
  })

  it('reopens with growing backoff after the browser gives up (HTTP error)', () => {
    const { sources, timers, statuses } = setup()
    sources[0]!.fail(CLOSED)
    expect(sources[0]!.closed).toBe(true)
    expect(timers.map((t) => t.ms)).toEqual([1000])
    expect(statuses.at(-1)).toEqual(['reconnecting', 1000])

    timers[0]!.fn()
    expect(sources).toHaveLength(2)
    expect(statuses.at(-1)![0]).toBe('reconnecting')
    sources[1]!.fail(CLOSED)
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000])

    // A successful connection resets the backoff.
    timers[1]!.fn()
    sources[2]!.open()
    expect(statuses.at(-1)![0]).toBe('live')
    sources[2]!.fail(CLOSED)
    expect(timers.at(-1)!.ms).toBe(1000)
  })

  it('ignores events from a replaced source', () => {
    const { sources, timers, received, statuses } = setup()
    const first = sources[0]!
    first.fail(CLOSED)
    timers[0]!.fn()
    first.emit('results', JSON.stringify(sample))
    first.onopen?.(new Event('open'))
    expect(received).toEqual([])
    expect(statuses.at(-1)![0]).toBe('reconnecting')
  })

  it('close() stops the source and any pending retry', () => {
    const { sources, timers, statuses, conn } = setup()
    sources[0]!.fail(CLOSED)
    conn.close()
    expect(timers[0]!.cleared).toBe(true)
    expect(statuses.at(-1)![0]).toBe('closed')
    timers[0]!.fn() // even if it fires anyway
    expect(sources).toHaveLength(1)
  })

  it('close() closes an open source', () => {
    const { sources, conn } = setup()
    sources[0]!.open()
    conn.close()
    expect(sources[0]!.closed).toBe(true)
  })
})
