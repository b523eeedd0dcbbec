// A hash router: "#/" (results), "#/log?query" (audit log) and "#/receipt?code=" (the
// receipt check).
// Hash URLs need no server-side fallback: the service only has to serve index.html at "/".
import { computed, shallowRef, type ComputedRef } from 'vue'

export type RouteName = 'results' | 'log' | 'receipt'

const PATHS: Record<RouteName, string> = { results: '', log: 'log', receipt: 'receipt' }

export interface Route {
  name: RouteName
  query: URLSearchParams
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '')
  const qIndex = raw.indexOf('?')
  const path = (qIndex >= 0 ? raw.slice(0, qIndex) : raw).replace(/\/+$/, '')
  const query = new URLSearchParams(qIndex >= 0 ? raw.slice(qIndex + 1) : '')
  const name = (Object.keys(PATHS) as RouteName[]).find((n) => PATHS[n] && `/${PATHS[n]}` === path)
  return { name: name ?? 'results', query }
}

export function buildHash(name: RouteName, query?: URLSearchParams): string {
  const qs = query?.toString() ?? ''
  return `#/${PATHS[name]}${qs ? `?${qs}` : ''}`
}

const current = shallowRef<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash))
let listening = false

export function useRoute(): ComputedRef<Route> {
  if (!listening && typeof window !== 'undefined') {
    listening = true
    window.addEventListener('hashchange', () => {
      current.value = parseHash(location.hash)
    })
  }
  return computed(() => current.value)
}

export function navigate(name: RouteName, query?: URLSearchParams): void {
  const hash = buildHash(name, query)
  if (location.hash === hash) return
  location.hash = hash
}
