import { describe, expect, it } from 'vitest'
import { fromBase64, fromHex, fromUtf8, sha256, toBase64, toHex, utf8 } from './bytes'

describe('base64', () => {
  it('reads canonical standard base64 and writes it back', () => {
    for (const text of ['', 'AA==', 'AAE=', 'AAEC', '+/+/', 'l0AfMvlz77+KVwa/98F9KVvceaivFuRYn+rrgEI3pMM=']) {
      const data = fromBase64(text)
      expect(data).not.toBeNull()
      expect(toBase64(data!)).toBe(text)
    }
  })

  it('refuses what is not canonical standard base64', () => {
    // no padding, spaces, URL alphabet, non-zero trailing bits, padding inside
    for (const text of ['AA', 'AA= ', ' AAE=', 'A A=', '-_==', 'AB==', 'AAF=', 'AA==AA==', '====', 'A']) {
      expect(fromBase64(text), text).toBeNull()
    }
  })
})

describe('hex and UTF-8', () => {
  it('reads hex of either case, and only hex', () => {
    expect(toHex(fromHex('00ffAb')!)).toBe('00ffab')
    expect(fromHex('abc')).toBeNull()
    expect(fromHex('zz')).toBeNull()
  })

  it('refuses bytes that are not UTF-8', () => {
    expect(fromUtf8(utf8('Sigur Rós'))).toBe('Sigur Rós')
    expect(fromUtf8(Uint8Array.of(0xc3, 0x28))).toBeNull()
  })

  it('hashes with WebCrypto', async () => {
    expect(toHex(await sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(toHex(await sha256(utf8('a'), utf8('bc')))).toBe(toHex(await sha256(utf8('abc'))))
  })
})
