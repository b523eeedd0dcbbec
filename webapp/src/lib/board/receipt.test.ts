import { describe, expect, it } from 'vitest'
import { instantMs, parseReceiptInput, parseStatement } from './receipt'
import { parseSignedNote } from './note'
import { vectors } from '../../test/board'

const { one, batch } = vectors.receipts

describe('receipt statements', () => {
  it('reads one vote\'s receipt', () => {
    const [receipt, ...more] = parseStatement(parseSignedNote(one.note).text)
    expect(more).toEqual([])
    expect(receipt).toEqual({
      origin: vectors.origin,
      partition: '2',
      offset: String(vectors.entries[1]!.offset),
      trackingCode: one.code,
      castAt: one.cast_at,
      publishBy: one.publish_by,
    })
  })

  it("reads a batch's receipt, one per vote in order", () => {
    const receipts = parseStatement(parseSignedNote(batch.note).text)
    expect(receipts.map((r) => r.trackingCode)).toEqual(batch.codes)
    expect(new Set(receipts.map((r) => r.publishBy))).toEqual(new Set([batch.publish_by]))
  })

  it('refuses a statement that is not canonical', () => {
    const text = parseSignedNote(one.note).text
    const lines = text.split('\n')
    for (const bad of [
      text.replace('boleta receipt v1', 'boleta receipt v2'),
      text.slice(0, -1),
      text.replace(one.code, one.code.toUpperCase()),
      text.replace(`\n${lines[3]}\n`, `\n0${lines[3]}\n`),
      text.replace(one.publish_by, one.cast_at),
      text.replace(one.cast_at, one.cast_at.replace('.007Z', 'Z')),
      `${text}extra\n`,
    ]) {
      expect(() => parseStatement(bad), bad).toThrow(/receipt is malformed/)
    }
  })
})

describe('parseReceiptInput', () => {
  it('reads the lines of a receipts file', () => {
    const notes = parseReceiptInput(`${one.line}\r\n\n${batch.line}\n`)
    expect(notes.map((n) => n.note)).toEqual([one.note, batch.note])
    expect(notes[0]!.voteIds).toEqual(['vote-1'])
  })

  it('reads a signed note pasted as it is, its last newline restored', () => {
    expect(parseReceiptInput(one.note.trimEnd())).toEqual([{ note: one.note, voteIds: [] }])
    expect(parseReceiptInput('  \n')).toEqual([])
  })

  it('says which line is not a receipts line', () => {
    expect(() => parseReceiptInput(`${one.line}\n{"vote_ids": []}`)).toThrow('Receipt line 2 is not a line of a receipts file')
  })
})

describe('instantMs', () => {
  it("reads an entry's and a receipt's moments as the same instant", () => {
    expect(instantMs('2026-03-01T12:00:03.345000Z')).toBe(instantMs('2026-03-01T12:00:03.345Z'))
    expect(instantMs('2026-03-01T12:00:00Z')).toBe(Date.UTC(2026, 2, 1, 12))
    expect(instantMs('0099-01-01T00:00:00Z')).toBe(new Date('0099-01-01T00:00:00Z').getTime())
    for (const bad of ['2026-02-30T00:00:00Z', '2026-03-01T24:00:00Z', '2026-03-01T12:00:00+00:00', '2026-03-01 12:00:00Z']) {
      expect(instantMs(bad), bad).toBeNull()
    }
  })
})
