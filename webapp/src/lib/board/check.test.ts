import { describe, expect, it } from 'vitest'
import { checkReceipt, type Board, type Outcome } from './check'
import { instantMs } from './receipt'
import { fakeBoard, proofCase, vectors } from '../../test/board'

const { one, batch, misplaced } = vectors.receipts
const AFTER = instantMs(one.publish_by)! + 1
const BEFORE = instantMs(one.publish_by)! - 1

function failed(outcome: Outcome): { step: string; text: string } {
  const last = outcome.steps[outcome.steps.length - 1]!
  expect(last.ok).toBe(false)
  expect(outcome.steps.slice(0, -1).every((s) => s.ok)).toBe(true)
  return { step: last.id, text: last.text }
}

describe('checkReceipt, against the Python reference', () => {
  it('decides every case of the vectors as `boleta receipt check` does, failing at the same check', async () => {
    expect(vectors.proofs.length).toBeGreaterThan(12)
    for (const c of vectors.proofs) {
      const outcome = await checkReceipt({ code: c.code, key: c.key, receipt: '' }, fakeBoard({ [c.code]: c.answer }))
      expect(outcome.verdict, c.name).toBe(c.python.proved ? 'proved' : 'failed')
      if (c.fails) expect(failed(outcome).step, c.name).toBe(c.fails)
    }
  })

  it('says plainly what was proved, and shows the entry', async () => {
    const c = proofCase('leaf 5 of 13')
    const board = fakeBoard({ [c.code]: c.answer })
    const outcome = await checkReceipt({ code: c.code.toUpperCase(), key: vectors.key, receipt: '' }, board)
    expect(outcome.summary).toBe(
      'Your vote is on board log boleta.test/board/p2 at index 5 of the checkpoint of size 13, signed by boleta.test/board.',
    )
    expect(outcome.steps.map((s) => [s.id, s.ok])).toEqual([
      ['code', true],
      ['key', true],
      ['board', true],
      ['checkpoint', true],
      ['inclusion', true],
      ['entry', true],
    ])
    expect(outcome.entry).toMatchObject({ contest: 'jury', band: 'Portishead', album: 'Dummy', year: 1994, rank: 5, cast_at: '2026-03-01T12:00:03.345000Z' })
    expect(outcome.keyFromServer).toBe(false)
    expect(board.asked).toEqual([c.code]) // lowercased; the key was given, so not asked for
  })

  it('names the failed check and why', async () => {
    const cases: [string, string, RegExp][] = [
      ['another index', 'inclusion', /do not lead from the tracking code at this index to the checkpoint's root/],
      ['a changed proof hash', 'inclusion', /do not lead/],
      ['a hash left out', 'inclusion', /too short/],
      ['another code', 'inclusion', /do not lead/],
      ['another key', 'checkpoint', /signature does not verify with this key: it carries no signature by boleta.test\/other/],
      ['a changed root under the signature', 'checkpoint', /signature does not verify with this key: the signature by boleta.test\/board .* is not of this text/],
      ['a changed entry', 'entry', /does not hash to the tracking code/],
      ['a proof without its entry', 'entry', /carries no entry/],
      ['a proof whose header is wrong', 'board', /proof is malformed/],
    ]
    for (const [name, step, why] of cases) {
      const c = proofCase(name)
      const outcome = await checkReceipt({ code: c.code, key: c.key, receipt: '' }, fakeBoard({ [c.code]: c.answer }))
      expect(failed(outcome), name).toEqual({ step, text: expect.stringMatching(why) })
      expect(outcome.summary, name).toMatch(/^The check of .* failed\. /)
      expect(outcome.entry).toBeNull()
    }
  })

  it("uses the key the board's server lists when none is given, and says so", async () => {
    const c = proofCase('leaf 0 of 13')
    const board = fakeBoard({ [c.code]: c.answer })
    const outcome = await checkReceipt({ code: c.code, key: '  ', receipt: '' }, board)
    expect(outcome.verdict).toBe('proved')
    expect(outcome.keyFromServer).toBe(true)
    expect(outcome.steps[1]!.text).toContain('proves nothing against whoever runs that server')
    expect(board.asked).toEqual(['key', c.code])
  })

  it('refuses a code that is not 64 hex digits and a key that is not a key, before asking the board', async () => {
    const board = fakeBoard({})
    let outcome = await checkReceipt({ code: 'abc', key: vectors.key, receipt: '' }, board)
    expect(failed(outcome)).toEqual({ step: 'code', text: 'A tracking code is 64 hex digits (0-9, a-f); this one has 3 characters.' })
    outcome = await checkReceipt({ code: `${'g'.repeat(64)}`, key: vectors.key, receipt: '' }, board)
    expect(failed(outcome).text).toContain('not all of them hex digits')
    outcome = await checkReceipt({ code: '', key: vectors.key, receipt: '' }, board)
    expect(failed(outcome).text).toBe('Enter your tracking code (64 hex digits).')
    outcome = await checkReceipt({ code: one.code, key: 'boleta.test/board+0000', receipt: '' }, board)
    expect(failed(outcome)).toEqual({ step: 'key', text: expect.stringContaining('not a board verifier key') })
    expect(board.asked).toEqual([])
  })
})

describe('checkReceipt, with the board answering no proof', () => {
  const refusing = (status: number, detail: string): Board => ({
    serverKey: async () => vectors.key,
    receipt: async () => ({ status, detail }),
  })

  it('says a code is not on the board (yet)', async () => {
    const outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: '' }, fakeBoard({}))
    expect(outcome.verdict).toBe('not-yet')
    expect(outcome.summary).toMatch(/^Not on the board \(yet\)/)
  })

  it("says the board cannot be read (503, or no server) and the board's refusal of a code", async () => {
    let outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: '' }, refusing(503, "The board's store (MongoDB) is unreachable"))
    expect(outcome.verdict).toBe('unavailable')
    expect(outcome.summary).toBe('The board cannot be read right now: try again shortly.')
    expect(failed(outcome)).toEqual({ step: 'board', text: "HTTP 503: The board's store (MongoDB) is unreachable" })
    outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: '' }, refusing(0, 'Could not reach the server.'))
    expect(outcome.verdict).toBe('unavailable')
    outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: '' }, refusing(400, 'tracking_code is not 64 hex digits'))
    expect(failed(outcome)).toEqual({ step: 'board', text: 'The board refused the tracking code: tracking_code is not 64 hex digits' })
    const empty: Board = { serverKey: async () => vectors.key, receipt: async () => ({ status: 200, body: { tracking_code: one.code } }) }
    outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: '' }, empty)
    expect(failed(outcome).text).toContain('without a proof')
  })

  it('fails at the key when none is given and the server lists none', async () => {
    const board: Board = { serverKey: () => Promise.reject(new Error('The server answered HTTP 503.')), receipt: async () => ({ status: 404, detail: '' }) }
    const outcome = await checkReceipt({ code: one.code, key: '', receipt: '' }, board)
    expect(failed(outcome)).toEqual({ step: 'key', text: expect.stringContaining("did not list one: The server answered HTTP 503. Paste the organiser's key.") })
  })
})

describe('checkReceipt, with a receipt', () => {
  it("checks the receipt's signature and shows its promise", async () => {
    for (const receipt of [one.line, one.note, `${batch.line}\n${one.line}`]) {
      const outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt }, fakeBoard({ [one.code]: one.answer }))
      expect(outcome.verdict, receipt).toBe('proved')
      expect(outcome.steps.map((s) => s.id)).toEqual(['code', 'key', 'receipt', 'board', 'checkpoint', 'inclusion', 'entry'])
      expect(outcome.steps[2]!.text).toBe(
        `Signed by boleta.test/board: the service promised this vote on board log boleta.test/board/p2 by ${one.publish_by} (cast ${one.cast_at}).`,
      )
      expect(outcome.receipt).toMatchObject({ publishBy: one.publish_by, note: one.note })
      expect(outcome.steps[6]!.text).toBe('It hashes to the tracking code, and is the vote your receipt describes.')
    }
  })

  it('takes the code of a receipt of one vote, and asks which vote of a batch', async () => {
    let outcome = await checkReceipt({ code: '', key: vectors.key, receipt: one.line }, fakeBoard({ [one.code]: one.answer }))
    expect(outcome.verdict).toBe('proved')
    expect(outcome.code).toBe(one.code)
    outcome = await checkReceipt({ code: '', key: vectors.key, receipt: batch.line }, fakeBoard({}))
    expect(failed(outcome)).toEqual({ step: 'code', text: 'Your receipt covers 3 votes: enter the tracking code of the one to check.' })
    const code = batch.codes[2]!
    outcome = await checkReceipt({ code, key: vectors.key, receipt: batch.line }, fakeBoard({ [code]: batch.answers[2] }))
    expect(outcome.verdict).toBe('proved')
    expect(outcome.receipt?.publishBy).toBe(batch.publish_by)
  })

  it('refuses a receipt the key did not sign, a changed one, and one without the code', async () => {
    const board = fakeBoard({ [one.code]: one.answer })
    let outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: vectors.receipts.by_other_key }, board)
    expect(failed(outcome)).toEqual({ step: 'receipt', text: expect.stringMatching(/^The receipt's signature does not verify with this key: it carries no signature by boleta.test\/board/) })
    outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: vectors.receipts.forged_publish_by }, board)
    expect(failed(outcome)).toEqual({ step: 'receipt', text: expect.stringMatching(/is not of this text/) })
    outcome = await checkReceipt({ code: vectors.receipts.not_in_receipt, key: vectors.key, receipt: one.line }, board)
    expect(failed(outcome)).toEqual({ step: 'receipt', text: `Your receipt does not include this tracking code: it covers ${one.code}.` })
    outcome = await checkReceipt({ code: one.code, key: vectors.key, receipt: 'not a receipt' }, board)
    expect(failed(outcome).step).toBe('receipt')
    expect(board.asked).toEqual([])
  })

  it("refuses an entry that is not the vote the receipt describes (as the Python check does)", async () => {
    expect(misplaced.python.proved).toBe(false)
    const outcome = await checkReceipt({ code: misplaced.code, key: vectors.key, receipt: misplaced.note }, fakeBoard({ [misplaced.code]: misplaced.answer }))
    expect(failed(outcome)).toEqual({ step: 'entry', text: expect.stringMatching(/^The entry is not the vote your receipt describes: offset 12 .* the receipt says offset 14 /) })
  })

  it('calls a code missing after publish_by a broken promise, the receipt its evidence', async () => {
    const receipt = { code: one.code, key: vectors.key, receipt: one.line }
    let outcome = await checkReceipt(receipt, fakeBoard({}), AFTER)
    expect(outcome.verdict).toBe('broken-promise')
    expect(outcome.summary).toBe(`Not on the board, and the service promised it by ${one.publish_by}: a broken promise. Your signed receipt below is the evidence.`)
    expect(outcome.receipt?.note).toBe(one.note)
    outcome = await checkReceipt(receipt, fakeBoard({}), BEFORE)
    expect(outcome.verdict).toBe('not-yet')
    expect(outcome.summary).toContain(`The service promised it by ${one.publish_by}.`)
  })
})
