// C2SP signed notes, verifier keys and checkpoints (c2sp.org/signed-note, /tlog-checkpoint),
// as domain/board/note.py reads them, and the Ed25519 check of a note by WebCrypto.
//
// A note is its text (ending in a newline), a blank line, and one line per signature:
// "— <key name> <base64(4-byte key id || signature)>". An Ed25519 key's id is the first 4
// bytes of SHA-256(name || 0x0A || 0x01 || public key); its verifier key is
// "<name>+<hex key id>+<base64(0x01 || public key)>".
import { CheckError, equalBytes, fromBase64, sha256, subtle, toHex, utf8, type Bytes } from './bytes'
import { HASH_SIZE } from './merkle'

const ED25519 = 0x01
const DASH = '\u2014'
const MAX_SIGNATURES = 100

export interface VerifierKey {
  name: string
  keyId: Bytes
  publicKey: Bytes
  /** The key's text, as given. */
  text: string
}

export interface Signature {
  name: string
  keyId: Bytes
  signature: Bytes
}

export interface SignedNote {
  text: string
  signatures: Signature[]
}

export interface Checkpoint {
  origin: string
  size: bigint
  root: Bytes
}

function checkName(name: string, what: string): void {
  if (!name || name.includes('+') || /\s/u.test(name)) {
    throw new CheckError(`${what}: a key name is not empty and has no spaces or "+" (${JSON.stringify(name)}).`)
  }
}

export async function keyId(name: string, publicKey: Uint8Array): Promise<Bytes> {
  return (await sha256(utf8(name), Uint8Array.of(0x0a, ED25519), publicKey)).slice(0, 4)
}

/** The verifier key of its text `<name>+<hex id>+<base64(0x01 || key)>`. */
export async function parseVerifierKey(input: string): Promise<VerifierKey> {
  const text = input.trim()
  const bad = (why: string): CheckError =>
    new CheckError(`That is not a board verifier key (name+id+base64, as \`boleta board key\` prints it): ${why}.`)
  const first = text.indexOf('+')
  const second = first < 0 ? -1 : text.indexOf('+', first + 1) // the base64 may hold a "+"
  if (second < 0) throw bad('it has not three parts separated by "+"')
  const name = text.slice(0, first)
  const hexId = text.slice(first + 1, second)
  const material = fromBase64(text.slice(second + 1))
  checkName(name, 'The verifier key')
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw bad('its key id is not 8 lowercase hex digits')
  if (!material) throw bad('its key is not base64')
  if (material.length !== 33 || material[0] !== ED25519) throw bad('it is not an Ed25519 key')
  const publicKey = material.slice(1)
  const id = await keyId(name, publicKey)
  if (toHex(id) !== hexId) throw bad('its key id does not match its name and key (a character is wrong or missing)')
  return { name, keyId: id, publicKey, text }
}

/** The text and signatures of a signed note, none of them checked. */
export function parseSignedNote(note: string): SignedNote {
  const bad = (why: string): CheckError => new CheckError(`The signed note is malformed: ${why}.`)
  if ([...note].some((c) => c < ' ' && c !== '\n')) throw bad('it holds control characters other than newlines')
  const split = note.lastIndexOf('\n\n')
  if (split < 0) throw bad('no blank line before its signatures')
  const text = note.slice(0, split + 1)
  const block = note.slice(split + 2)
  if (!block.endsWith('\n')) throw bad('it does not end with a newline')
  const signatures = block
    .slice(0, -1)
    .split('\n')
    .map((line): Signature => {
      if (!line.startsWith(`${DASH} `)) throw bad(`a signature line does not start with an em dash: ${JSON.stringify(line)}`)
      const rest = line.slice(2)
      const space = rest.indexOf(' ')
      const name = space < 0 ? rest : rest.slice(0, space)
      checkName(name, 'A signature')
      const raw = space < 0 ? null : fromBase64(rest.slice(space + 1))
      if (!raw || raw.length < 5) throw bad(`the signature by ${name} is not base64 of a key id and a signature`)
      return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) }
    })
  if (signatures.length > MAX_SIGNATURES) throw bad(`more than ${MAX_SIGNATURES} signatures`)
  return { text, signatures }
}

async function ed25519Verify(publicKey: Bytes, signature: Bytes, message: Bytes): Promise<boolean> {
  let key: CryptoKey
  try {
    key = await subtle().importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify'])
  } catch (err) {
    if (err instanceof CheckError) throw err
    throw new CheckError(
      'This browser cannot check Ed25519 signatures (WebCrypto): use a current browser, or `boleta receipt check`.',
    )
  }
  return subtle().verify({ name: 'Ed25519' }, key, signature, message)
}

function describe(sig: { name: string; keyId: Uint8Array }): string {
  return `${sig.name} (key id ${toHex(sig.keyId)})`
}

/** The text of a signed note that `key` signed. Signatures by other keys are ignored
 * (c2sp.org/signed-note); none by `key`, or a wrong one, throws a CheckError. */
export async function openNote(note: string, key: VerifierKey, what: string): Promise<string> {
  const parsed = parseSignedNote(note)
  const ours = parsed.signatures.filter((s) => s.name === key.name && equalBytes(s.keyId, key.keyId))
  if (ours.length === 0) {
    const by = parsed.signatures.map(describe).join(', ')
    throw new CheckError(
      `The ${what}'s signature does not verify with this key: it carries no signature by ${describe(key)}, only by ${by}.`,
    )
  }
  for (const sig of ours) {
    if (!(await ed25519Verify(key.publicKey, sig.signature, utf8(parsed.text)))) {
      throw new CheckError(
        `The ${what}'s signature does not verify with this key: the signature by ${describe(key)} is not of this text (it was changed after signing, or forged).`,
      )
    }
  }
  return parsed.text
}

/** A checkpoint's body: `<origin>\n<size>\n<base64 root>\n` and optional extension lines. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string): CheckError => new CheckError(`The checkpoint is malformed: ${why}.`)
  if (!text.endsWith('\n')) throw bad('it does not end with a newline')
  const lines = text.slice(0, -1).split('\n')
  const [origin, size, root, ...extensions] = lines
  if (origin === undefined || size === undefined || root === undefined) throw bad('it has fewer than three lines')
  if (!origin) throw bad('its origin is empty')
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw bad(`its size is not a decimal without leading zeroes: ${JSON.stringify(size)}`)
  const hash = fromBase64(root)
  if (!hash || hash.length !== HASH_SIZE) throw bad('its root is not base64 of 32 bytes')
  if (extensions.some((line) => !line)) throw bad('it has an empty extension line')
  return { origin, size: BigInt(size), root: hash }
}
