// Test doubles shared by component tests.
import type { Results, Vote } from '../lib/api'

export class FakeEventSource {
  static instances: FakeEventSource[] = []
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  readyState = 0
  onopen: ((ev: Event) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  closed = false
  private listeners: Record<string, ((ev: MessageEvent) => void)[]> = {}

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this)
  }
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void {
    ;(this.listeners[type] ??= []).push(listener)
  }
  close(): void {
    this.closed = true
    this.readyState = 2
  }
  open(): void {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  send(results: Results): void {
    for (const l of this.listeners.results ?? []) l(new MessageEvent('results', { data: JSON.stringify(results) }))
  }
  fail(state: number): void {
    this.readyState = state
    this.onerror?.(new Event('error'))
  }
}

export function makeResults(overrides: Partial<Results> = {}): Results {
  return {
    total: 1500,
    bands: [
      {
        band: 'Radiohead',
        votes: 1000,
        albums: [
          { album: 'OK Computer', votes: 700 },
          { album: 'Kid A', votes: 300 },
        ],
      },
      { band: 'Björk', votes: 500, albums: [{ album: 'Homogenic', votes: 500 }] },
    ],
    per_second: [{ second: 1_700_000_000, votes: 12 }],
    checkpoints: { '0': 750, '1': 750 },
    lag: 0,
    as_of: '2023-11-14T22:13:20Z',
    ...overrides,
  }
}

export function makeVote(n: number, overrides: Partial<Vote> = {}): Vote {
  return {
    event_id: `evt-${n}`,
    vote_id: `0191f0a2-0000-7000-8000-${String(n).padStart(12, '0')}`,
    contest: 'best-album',
    band: 'Radiohead',
    album: 'OK Computer',
    year: 1997,
    rank: 1,
    cast_at: '2024-05-01T12:00:00Z',
    partition: 0,
    offset: n,
    ...overrides,
  }
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/** Runs `fn` with the process's local time zone set to `zone` (Node reads TZ on each use). */
export function inTimeZone<T>(zone: string, fn: () => T): T {
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env
  const before = env.TZ
  env.TZ = zone
  try {
    return fn()
  } finally {
    if (before === undefined) delete env.TZ
    else env.TZ = before
  }
}
