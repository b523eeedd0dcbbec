// Bytes for the receipt check: hex, strict base64, UTF-8, and SHA-256 by WebCrypto.

export type Bytes = Uint8Array<ArrayBuffer>

/** A format or a check that does not hold; the message says which, fit to show the voter. */
export class CheckError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CheckError'
  }
}

export function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function toHex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Bytes of an even number of hex digits (either case); null for anything else. */
export function fromHex(text: string): Bytes | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function toBase64(data: Uint8Array): string {
  let binary = ''
  for (const b of data) binary += String.fromCharCode(b)
  return btoa(binary)
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Canonical standard base64 (padded, no spaces, zero trailing bits), as the C2SP formats
 * write it; null for anything else. */
export function fromBase64(text: string): Bytes | null {
  if (!BASE64.test(text)) return null
  const binary = atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return toBase64(out) === text ? out : null
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function utf8(text: string): Bytes {
  return encoder.encode(text) as Bytes
}

/** The text of UTF-8 bytes; null when they are not UTF-8. */
export function fromUtf8(data: Uint8Array): string | null {
  try {
    return decoder.decode(data)
  } catch {
    return null
  }
}

/** WebCrypto's SubtleCrypto, or a clear error where the browser withholds it (it does on a
 * page not served over HTTPS or from localhost). */
export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle
  if (!s) {
    throw new CheckError(
      'This browser offers no WebCrypto here (a page must come over HTTPS for it), so it cannot check anything: open the page over HTTPS, or use `boleta receipt check`.',
    )
  }
  return s
}

export async function sha256(...parts: Uint8Array[]): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-256', concat(...parts)))
}
