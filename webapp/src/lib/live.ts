// Keeps a Server-Sent Events connection to the results stream alive.
//
// EventSource retries by itself after a network error (readyState goes back
// to CONNECTING), but gives up for good on an HTTP error or a wrong content
// type (readyState CLOSED). In that case we open a new one after a backoff.
import { isResults, type Results } from './api'

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed'

/** The subset of EventSource used here, so tests can pass a fake. */
export interface EventSourceLike {
  readonly readyState: number
  onopen: ((ev: Event) => unknown) | null
  onerror: ((ev: Event) => unknown) | null
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void
  close(): void
}

export const CONNECTING = 0
export const OPEN = 1
export const CLOSED = 2

export interface BackoffOptions {
  baseMs?: number
  maxMs?: number
  random?: () => number
}

/** Exponential backoff with "equal jitter": between half and all of min(max, base * 2^attempt). */
export function backoffDelay(attempt: number, { baseMs = 1000, maxMs = 30000, random = Math.random }: BackoffOptions = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.round(ceiling / 2 + (ceiling / 2) * random())
}

export interface LiveOptions extends BackoffOptions {
  url: string
  onResults: (results: Results) => void
  onStatus: (status: LiveStatus, retryInMs?: number) => void
  /** A payload that could not be used; the connection stays open. */
  onBadMessage?: (reason: string) => void
  createEventSource?: (url: string) => EventSourceLike
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
}

export interface LiveConnection {
  close(): void
}

export function connectResults(options: LiveOptions): LiveConnection {
  const create = options.createEventSource ?? ((url: string) => new EventSource(url) as unknown as EventSourceLike)
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>))
  let source: EventSourceLike | null = null
  let timer: unknown = null
  let attempt = 0
  let stopped = false

  function open(): void {
    timer = null
    if (stopped) return
    options.onStatus(attempt === 0 ? 'connecting' : 'reconnecting')
    const es = create(options.url)
    source = es
    es.onopen = () => {
      if (source !== es) return
      attempt = 0
      options.onStatus('live')
    }
    es.addEventListener('results', (ev) => {
      if (source !== es) return
      let data: unknown
      try {
        data = JSON.parse(String(ev.data))
      } catch {
        options.onBadMessage?.('The results stream sent data that is not JSON.')
        return
      }
      if (!isResults(data)) {
        options.onBadMessage?.('The results stream sent data in an unexpected shape.')
        return
      }
      attempt = 0
      options.onStatus('live')
      options.onResults(data)
    })
    es.onerror = () => {
      if (source !== es || stopped) return
      if (es.readyState === CLOSED) {
        // The browser gave up (HTTP error or bad content type): retry ourselves.
        es.close()
        source = null
        const delay = backoffDelay(attempt, options)
        attempt += 1
        options.onStatus('reconnecting', delay)
        timer = setTimer(open, delay)
      } else {
        // Network error: the browser is already reconnecting.
        options.onStatus('reconnecting')
      }
    }
  }

  open()

  return {
    close() {
      stopped = true
      if (timer !== null) clearTimer(timer)
      timer = null
      source?.close()
      source = null
      options.onStatus('closed')
    },
  }
}
