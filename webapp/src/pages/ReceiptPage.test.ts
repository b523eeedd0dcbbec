import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import ReceiptPage from './ReceiptPage.vue'
import { jsonResponse } from '../test/fakes'
import { proofCase, vectors } from '../test/board'

let fetchMock: ReturnType<typeof vi.fn>

beforeEach(() => {
  fetchMock = vi.fn()
  vi.stubGlobal('fetch', fetchMock)
})

/** A board's server: GET /board lists the vectors' key; a receipt's code gets `answers`'. */
function serve(answers: Record<string, unknown>, status = 404): void {
  fetchMock.mockImplementation(async (url: string) => {
    if (url === '/board') return jsonResponse(200, { verifier_key: vectors.key, logs: [] })
    const code = url.replace('/api/v1/receipts/', '')
    if (code in answers) return jsonResponse(200, answers[code])
    return jsonResponse(status, { status_code: status, detail: status === 404 ? `no board entry has tracking code ${code} (yet)` : 'The board is down' })
  })
}

async function check(wrapper: VueWrapper, fields: { code?: string; key?: string; receipt?: string }): Promise<HTMLElement> {
  if (fields.code !== undefined) await wrapper.find('[data-testid="receipt-code"]').setValue(fields.code)
  if (fields.key !== undefined) await wrapper.find('[data-testid="receipt-key"]').setValue(fields.key)
  if (fields.receipt !== undefined) await wrapper.find('[data-testid="receipt-text"]').setValue(fields.receipt)
  await wrapper.find('form').trigger('submit')
  await vi.waitUntil(() => wrapper.find('[data-testid="receipt-verdict"]').exists())
  return wrapper.find('[data-testid="receipt-verdict"]').element as HTMLElement
}

describe('ReceiptPage', () => {
  it('has a label for every field, and takes the code from the address', () => {
    const wrapper = mount(ReceiptPage, { props: { query: new URLSearchParams('code=abc') } })
    for (const id of ['receipt-code', 'receipt-key', 'receipt-text']) {
      expect(wrapper.find(`label[for="${id}"]`).exists(), id).toBe(true)
      expect(wrapper.find(`#${id}`).attributes('aria-describedby')).toBeTruthy()
    }
    expect((wrapper.find('[data-testid="receipt-code"]').element as HTMLInputElement).value).toBe('abc')
    expect(fetchMock).not.toHaveBeenCalled()
  })

  it('proves a vote with the given key, and shows its entry and each check', async () => {
    const c = proofCase('leaf 8 of 13')
    serve({ [c.code]: c.answer })
    const wrapper = mount(ReceiptPage, { props: { query: new URLSearchParams() }, attachTo: document.body })
    const verdict = await check(wrapper, { code: c.code, key: vectors.key })
    expect(verdict.dataset.verdict).toBe('proved')
    expect(verdict.textContent).toContain(
      'Proved. Your vote is on board log boleta.test/board/p2 at index 8 of the checkpoint of size 13, signed by boleta.test/board.',
    )
    expect(document.activeElement).toBe(verdict)
    expect(fetchMock.mock.calls.map((call) => call[0])).toEqual([`/api/v1/receipts/${c.code}`])
    const steps = wrapper.findAll('[data-testid="receipt-step"]')
    expect(steps.map((s) => [s.attributes('data-step'), s.attributes('data-ok')])).toEqual(
      ['code', 'key', 'board', 'checkpoint', 'inclusion', 'entry'].map((id) => [id, 'true']),
    )
    expect(steps[4]!.text()).toContain('Holds:')
    const entry = wrapper.find('[data-testid="receipt-entry"]').text()
    for (const shown of ['Soda Stereo', 'Canción Animal', '1990', 'main', '2026-03-01T12:00:08Z']) expect(entry).toContain(shown)
    expect(wrapper.find('[data-testid="receipt-key-warning"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it("warns that a key from the board's own server proves nothing against it", async () => {
    const c = proofCase('leaf 0 of 13')
    serve({ [c.code]: c.answer })
    const wrapper = mount(ReceiptPage, { props: { query: new URLSearchParams() } })
    const verdict = await check(wrapper, { code: c.code })
    expect(verdict.dataset.verdict).toBe('proved')
    expect(wrapper.find('[data-testid="receipt-key-warning"]').text()).toContain("a key from the operator's own server proves nothing against the operator")
    expect(fetchMock.mock.calls.map((call) => call[0])).toEqual(['/board', `/api/v1/receipts/${c.code}`])
  })

  it('says which check failed: another key, a changed entry', async () => {
    const c = proofCase('leaf 5 of 13')
    serve({ [c.code]: c.answer })
    const wrapper = mount(ReceiptPage, { props: { query: new URLSearchParams() } })
    let verdict = await check(wrapper, { code: c.code, key: vectors.other_key })
    expect(verdict.dataset.verdict).toBe('failed')
    expect(verdict.textContent).toContain("Not proved. The check of the checkpoint's signature failed. The checkpoint's signature does not verify with this key")
    const failed = wrapper.find('[data-testid="receipt-step"][data-ok="false"]')
    expect(failed.attributes('data-step')).toBe('checkpoint')
    expect(failed.text()).toContain('Fails:')

    const changed = proofCase('a changed entry')
    serve({ [changed.code]: changed.answer })
    verdict = await check(wrapper, { key: vectors.key })
    expect(verdict.dataset.verdict).toBe('failed')
    expect(wrapper.find('[data-testid="receipt-step"][data-ok="false"]').attributes('data-step')).toBe('entry')
    expect(wrapper.find('[data-testid="receipt-entry"]').exists()).toBe(false)
  })

  it("shows a receipt's promise, and a code missing after it as a broken promise with the receipt as evidence", async () => {
    const { one } = vectors.receipts
    serve({ [one.code]: one.answer })
    const wrapper = mount(ReceiptPage, { props: { query: new URLSearchParams() } })
    let verdict = await check(wrapper, { key: vectors.key, receipt: one.line })
    expect(verdict.dataset.verdict).toBe('proved')
    expect(wrapper.find('[data-testid="receipt-promise"]').text()).toContain(one.publish_by)
    expect(wrapper.find('[data-testid="receipt-evidence"]').attributes('open')).toBeUndefined()

    serve({}) // the board lost it; the vectors' publish_by is long past
    verdict = await check(wrapper, {})
    expect(verdict.dataset.verdict).toBe('broken-promise')
    expect(verdict.textContent).toContain(`Broken promise. Not on the board, and the service promised it by ${one.publish_by}`)
    const evidence = wrapper.find('[data-testid="receipt-evidence"]')
    expect(evidence.attributes('open')).toBeDefined()
    expect(evidence.find('pre').text()).toBe(one.note.trim())
  })

  it('shows a code not on the board, a board that is down, and a server out of reach as messages', async () => {
    const wrapper = mount(ReceiptPage, { props: { query: new URLSearchParams() } })
    serve({})
    let verdict = await check(wrapper, { code: vectors.receipts.not_in_receipt, key: vectors.key })
    expect(verdict.dataset.verdict).toBe('not-yet')
    expect(verdict.textContent).toContain('Not on the board (yet).')
    serve({}, 503)
    verdict = await check(wrapper, {})
    expect(verdict.dataset.verdict).toBe('unavailable')
    expect(wrapper.find('[data-testid="receipt-step"][data-ok="false"]').text()).toContain('HTTP 503: The board is down')
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    verdict = await check(wrapper, {})
    expect(verdict.textContent).toContain('The board cannot be read right now')
    expect(wrapper.text()).toContain('Could not reach the server.')
  })
})
