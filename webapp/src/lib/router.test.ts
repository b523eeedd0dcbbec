import { describe, expect, it } from 'vitest'
import { buildHash, parseHash } from './router'

describe('parseHash', () => {
  it('defaults to results', () => {
    expect(parseHash('').name).toBe('results')
    expect(parseHash('#/').name).toBe('results')
    expect(parseHash('#/nowhere').name).toBe('results')
  })

  it('reads the log route and its query', () => {
    const route = parseHash('#/log?band=A%20B&cursor=x')
    expect(route.name).toBe('log')
    expect(route.query.get('band')).toBe('A B')
    expect(route.query.get('cursor')).toBe('x')
    expect(parseHash('#/log/').name).toBe('log')
  })

  it('reads the receipt route and its code', () => {
    const route = parseHash('#/receipt?code=ab12')
    expect(route.name).toBe('receipt')
    expect(route.query.get('code')).toBe('ab12')
    expect(parseHash('#/receipts').name).toBe('results')
  })
})

describe('buildHash', () => {
  it('builds hashes that parse back', () => {
    expect(buildHash('results')).toBe('#/')
    expect(buildHash('log')).toBe('#/log')
    expect(buildHash('receipt', new URLSearchParams({ code: 'ab12' }))).toBe('#/receipt?code=ab12')
    const hash = buildHash('log', new URLSearchParams({ band: 'AC/DC' }))
    expect(hash).toBe('#/log?band=AC%2FDC')
    expect(parseHash(hash).query.get('band')).toBe('AC/DC')
  })
})
