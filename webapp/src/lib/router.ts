// A two-page hash router: "#/" (results) and "#/log?query" (audit log).
// Hash URLs need no server-side fallback: the service only has to serve index.html at "/".
import { computed, shallowRef, type ComputedRef } from 'vue'

export type RouteName = 'results' | 'log'

export interface Route {
  name: RouteName
  query: URLSearchParams
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '')
  const qIndex = raw.indexOf('?')
  const path = (qIndex >= 0 ? raw.slice(0, qIndex) : raw).replace(/\/+$/, '')
  const query = new URLSearchParams(qIndex >= 0 ? raw.slice(qIndex + 1) : '')
  return { name: path === '/log' ? 'log' : 'results', query }
}

export function buildHash(name: RouteName, query?: URLSearchParams): string {
  const qs = query?.toString() ?? ''
  return `#/${name === 'log' ? 'log' : ''}${qs ? `?${qs}` : ''}`
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
